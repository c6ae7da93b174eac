"""Factories for the dispatch tests: incidents written as real rows (without the
intake service, so that recommendation and dispatch are tested on their own), units
placed on the map, and officers who crew a unit and can sign in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bluelamp.access.policy import Actor, Role
from bluelamp.clock import Clock, FixedClock
from bluelamp.command.model import Incident
from bluelamp.storage import Database
from bluelamp.tracking import service
from bluelamp.tracking.runtime import Tracking
from tests.factories.access import ensure_force
from tests.factories.tracking import force_actor

_numbers = itertools.count(1)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# Stoke-on-Trent city centre (Hanley), and points around it.
HANLEY = (53.0245, -2.1747)

TARGETS = {"1": 15, "2": 60, "3": 48 * 60, "4": None}


def make_incident(
    db: Database,
    *,
    lat: float = HANLEY[0],
    lon: float = HANLEY[1],
    category: str = "assault",
    qualifiers: tuple[str, ...] = (),
    grade: str = "2",
    status: str = "open",
    marking: str = "OFFICIAL",
    force_id: str = "staffordshire",
    created_at: datetime | None = None,
) -> Incident:
    """An incident row as the intake would leave it (target set from the default grades)."""
    ensure_force(db, force_id)
    created_at = created_at or NOON
    n = next(_numbers)
    minutes = TARGETS[grade]
    with db.unit_of_work() as session:
        incident = Incident(
            id=f"inc{n:029d}",
            force_id=force_id,
            marking=marking,
            reference=f"SP-{created_at:%Y%m%d}-{n:04d}",
            source="999",
            opening_category=category,
            qualifiers=list(qualifiers),
            description="",
            lat=lat,
            lon=lon,
            address="",
            area_kind="urban",
            grade=grade,
            status=status,
            created_at=created_at,
            created_by="call-handler",
            target_minutes=minutes,
            target_at=created_at + timedelta(minutes=minutes) if minutes else None,
            updated_at=created_at,
        )
        session.add(incident)
    return incident


def dispatcher(force_id: str = "staffordshire", clearance: str = "OFFICIAL", name: str = "dispatcher") -> Actor:
    return Actor(
        user_id=None, username=name, force_id=force_id, roles=frozenset({Role.DISPATCHER}), clearance=clearance
    )


def tracking_for(db: Database, clock: FixedClock) -> Tracking:
    """The running tracking machinery (index loaded from the store), as the app holds it."""
    tracking = Tracking(db, clock, lambda event: None, background_writer=False)
    tracking.rebuild_index()
    return tracking


def place(tracking: Tracking, unit, lat: float, lon: float, age: timedelta = timedelta(seconds=10)) -> None:
    """A fix for the unit ``age`` ago, as the ingest records it in the index."""
    tracking.refresh_unit(unit.id)
    state = tracking.index.units[unit.id]
    state.fix_at = None  # a new placement, not a later fix
    tracking.index.move(unit.id, lat, lon, tracking.clock.now() - age)


def crew_member(db: Database, unit, user) -> None:
    """Put the (response officer) user on the unit's crew, on duty now and at NOON."""
    actor = force_actor(unit.force_id)
    collar = f"{next(_numbers) + 7000:05d}"
    now = Clock().now()
    starts, ends = min(now, NOON) - timedelta(days=1), max(now, NOON) + timedelta(days=1)
    with db.unit_of_work() as session:
        service.add_officer(session, actor, service.AddOfficer(collar, f"PC {collar}", user_id=user.id), Clock())
        service.book_on(session, actor, unit.id, [collar], starts, ends, Clock())
