"""Factories that write real tracking rows: stations, units, officers, devices."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.storage import Database
from bluelamp.tracking import service
from bluelamp.tracking.model import Station, Unit
from tests.factories.access import ensure_force

_numbers = itertools.count(1)


def force_actor(force_id: str = "staffordshire") -> Actor:
    return Actor.system(force_id, "test")


def make_station(
    db: Database, code: str = "HQ", lat: float = 52.806, lon: float = -2.117, force_id: str = "staffordshire"
) -> Station:
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        from bluelamp.tracking import queries

        existing = queries.station_by_code(session, force_id, code)
        if existing:
            return existing
        return service.add_station(
            session, force_actor(force_id), service.AddStation(code, f"{code} station", lat, lon), Clock()
        )


def make_unit(
    db: Database,
    call_sign: str | None = None,
    unit_type: str = "response_car",
    status: str = "available",
    force_id: str = "staffordshire",
    marking: str = "OFFICIAL",
    lat: float | None = None,
    lon: float | None = None,
    **kwargs,
) -> Unit:
    ensure_force(db, force_id)
    # "TU" (test unit): the demo force's own units are named by station (SF11, SFN1, ...),
    # and tests on the live server share its database with them.
    call_sign = call_sign or f"TU{next(_numbers)}"
    with db.unit_of_work() as session:
        unit = service.add_unit(
            session,
            force_actor(force_id),
            service.AddUnit(call_sign, unit_type, status=status, marking=marking, **kwargs),
            Clock(),
        )
        if lat is not None:
            unit.last_lat, unit.last_lon = lat, lon
        return unit


def crew_unit(db: Database, unit: Unit, *skills_per_officer: tuple[str, ...], hours: int = 8) -> None:
    """Put officers with the given skills on the unit from now for ``hours``."""
    actor = force_actor(unit.force_id)
    now = Clock().now()
    collars = []
    with db.unit_of_work() as session:
        for skills in skills_per_officer:
            collar = f"{next(_numbers):05d}"
            service.add_officer(session, actor, service.AddOfficer(collar, f"PC {collar}", skills=skills), Clock())
            collars.append(collar)
        service.book_on(
            session, actor, unit.id, collars, now - timedelta(minutes=5), now + timedelta(hours=hours), Clock()
        )
