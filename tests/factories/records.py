"""Factories that write real records rows through the records services: persons (with
their names and search keys), locations, objects, events and links; and actors for
records work (with a stated reason, as reading a person needs one).

Each maker takes the database, optionally a clock and an actor, and the command's fields
as keyword arguments; it returns the row written (usable after its unit of work)."""

from __future__ import annotations

import itertools
from dataclasses import fields, replace
from datetime import date

from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.clock import Clock
from bluelamp.records import persons, pole
from bluelamp.records.model import Event, Link, Location, Person, RecordObject
from bluelamp.storage import Database
from tests.factories.access import ensure_force

_numbers = itertools.count(1)


def officer(
    role: str = "investigator",
    force_id: str = "staffordshire",
    *,
    name: str | None = None,
    reason: str | None = "investigation SP-CR-2026-000001",
    clearance: str = "OFFICIAL",
    **kwargs,
) -> Actor:
    """Someone doing records work with one role (default: an investigator) and a stated reason."""
    name = name or f"{role.replace('_', '-')}-{next(_numbers)}"
    return Actor(
        user_id=f"u-{name}",
        username=name,
        force_id=force_id,
        roles=frozenset({Role(role)}),
        clearance=Marking(clearance),
        reason=reason,
        **kwargs,
    )


def _command(kind, defaults: dict, changes: dict):
    names = {f.name for f in fields(kind)}
    unknown = set(changes) - names
    if unknown:
        raise TypeError(f"{kind.__name__} has no field(s) {sorted(unknown)}")
    return replace(kind(**defaults), **changes)


def make_person(
    db: Database, clock: Clock | None = None, actor: Actor | None = None, force_id: str = "staffordshire", **changes
) -> Person:
    """A person through ``persons.add_person`` (John Smith born 12/03/1985 unless told
    otherwise; no likely-duplicate check unless ``check_duplicates=True``)."""
    ensure_force(db, force_id)
    defaults = {"given_names": "John", "family_name": "Smith", "dob_year": 1985, "dob_month": 3, "dob_day": 12}
    command = _command(persons.NewPerson, {**defaults, "check_duplicates": False}, changes)
    with db.unit_of_work() as session:
        return persons.add_person(session, actor or officer(force_id=force_id), command, clock or Clock()).person


def make_location(
    db: Database, clock: Clock | None = None, actor: Actor | None = None, force_id: str = "staffordshire", **changes
) -> Location:
    """A location through ``pole.add_location`` (an address in Stafford unless told otherwise)."""
    ensure_force(db, force_id)
    defaults = {"line1": "1 Market Square", "town": "Stafford", "postcode": "ST16 2JP", "lat": 52.806, "lon": -2.117}
    command = _command(pole.NewLocation, defaults, changes)
    with db.unit_of_work() as session:
        return pole.add_location(session, actor or officer(force_id=force_id), command, clock or Clock())


OBJECT_DEFAULTS = {
    "vehicle": {"vrm": "AB12 CDE", "make": "Ford", "model": "Focus", "colour": "silver"},
    "phone": {"phone_number": "07700 900123", "imei": "490154203237518"},
    "property": {"description": "black rucksack"},
    "weapon": {"description": "kitchen knife, 20 cm blade"},
    "document": {"description": "passport in another name"},
}


def make_object(
    db: Database,
    kind: str = "vehicle",
    clock: Clock | None = None,
    actor: Actor | None = None,
    force_id: str = "staffordshire",
    **changes,
) -> RecordObject:
    """An object through ``pole.add_object`` (a silver Ford Focus AB12 CDE unless told otherwise)."""
    ensure_force(db, force_id)
    command = _command(pole.NewObject, {"kind": kind, **OBJECT_DEFAULTS.get(kind, {})}, changes)
    with db.unit_of_work() as session:
        return pole.add_object(session, actor or officer(force_id=force_id), command, clock or Clock())


def make_event(
    db: Database,
    kind: str = "incident",
    clock: Clock | None = None,
    actor: Actor | None = None,
    force_id: str = "staffordshire",
    **changes,
) -> Event:
    """An event through ``pole.create_event`` (any kind: a crime or intelligence event here is
    the event row alone; records/crime.py and intelligence.py add their own parts)."""
    ensure_force(db, force_id)
    command = _command(pole.NewEvent, {"kind": kind, "summary": f"{kind.replace('_', ' ')} in Stafford"}, changes)
    with db.unit_of_work() as session:
        return pole.create_event(session, actor or Actor.system(force_id, "test"), command, clock or Clock())


def make_link(
    db: Database,
    from_record,
    role: str,
    to_record,
    clock: Clock | None = None,
    actor: Actor | None = None,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    note: str | None = None,
) -> Link:
    """A link through ``pole.link`` between two rows (or (type, id) pairs) of one force."""
    force_id = getattr(from_record, "force_id", None) or "staffordshire"
    with db.unit_of_work() as session:
        return pole.link(
            session,
            actor or Actor.system(force_id, "test"),
            from_record,
            role,
            to_record,
            clock or Clock(),
            from_date=from_date,
            to_date=to_date,
            note=note,
        )
