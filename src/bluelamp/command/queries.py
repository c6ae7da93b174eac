"""Command and control's read side. Every lookup is scoped by force and clearance in SQL
(``access.queries.visible``): an incident the actor may not see is simply not found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.command.model import Incident


def visible_incident(session: Session, actor: Actor, incident_id: str, *, for_update: bool = False) -> Incident | None:
    """The incident if the actor may see it, else None (missing and hidden answer alike)."""
    statement = select(Incident).where(Incident.id == incident_id, visible(actor, Incident))
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def visible_incident_by_reference(session: Session, actor: Actor, reference: str) -> Incident | None:
    statement = select(Incident).where(Incident.reference == reference.strip().upper(), visible(actor, Incident))
    return session.scalars(statement).one_or_none()
