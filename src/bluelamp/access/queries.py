"""Read side for forces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.access.model import Force


def list_forces(session: Session) -> list[Force]:
    """Every force on the platform, by name."""
    return list(session.scalars(select(Force).order_by(Force.name)))
