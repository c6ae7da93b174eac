"""Seeding the demo forces; safe to run again (it keeps what is there)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bluelamp.access.model import Force
from bluelamp.access.policy import Actor
from bluelamp.access.service import AddForce, add_force
from bluelamp.clock import Clock

STAFFORDSHIRE = AddForce(
    id="staffordshire",
    name="Staffordshire Police",
    reference_prefix="SP",
    url="https://www.staffordshire.police.uk",
    telephone="101",
    description="Demo force: Stoke-on-Trent and Staffordshire (population about 1.13 million).",
)


@dataclass
class SeedReport:
    """What a seeding run created and what it found already there."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def seed_demo(session: Session, clock: Clock) -> SeedReport:
    """Create the demo force unless it exists."""
    report = SeedReport()
    if session.get(Force, STAFFORDSHIRE.id) is None:
        add_force(session, Actor.system(None, "demo"), STAFFORDSHIRE, clock)
        report.created.append(f"force {STAFFORDSHIRE.id}")
    else:
        report.kept.append(f"force {STAFFORDSHIRE.id}")
    return report
