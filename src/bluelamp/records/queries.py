"""Records' read side for persons, objects, locations and events (POLE) and the links
between them. Every lookup of a record is scoped by force, marking and access list in SQL
(``access.queries.visible``): a record the actor may not see is simply not found, exactly
like a missing one. Disposed persons and events (MoPI) are not found either: only their
tombstone remains.

Sections: POLE records, a person's names, identifiers, warning markers and addresses,
links (for profiles, the link chart and checks from the field), places and who lives there,
reference numbers. The reads of the records built on these are beside them:
``records/crimes/queries.py`` (crimes, victims, intelligence reports),
``records/retention/queries.py`` (MoPI reviews and disposal), ``records/lookup/queries.py``
(search's indexed look-ups) and ``records/duplicates/queries.py`` (dedupe and merge)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import (
    Event,
    Link,
    Location,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordObject,
    ReferenceCounter,
    WarningMarker,
)

# ---------------------------------------------------------------- POLE records


def visible_person(session: Session, actor: Actor, person_id: str, *, for_update: bool = False) -> Person | None:
    """The person if the actor may see it (and it is not disposed), else None."""
    statement = select(Person).where(Person.id == person_id, Person.disposed_at.is_(None), visible(actor, Person))
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def visible_location(session: Session, actor: Actor, location_id: str) -> Location | None:
    return session.scalars(select(Location).where(Location.id == location_id, visible(actor, Location))).one_or_none()


def visible_object(session: Session, actor: Actor, object_id: str) -> RecordObject | None:
    return session.scalars(
        select(RecordObject).where(RecordObject.id == object_id, visible(actor, RecordObject))
    ).one_or_none()


def visible_event(session: Session, actor: Actor, event_id: str, kinds: Iterable[str]) -> Event | None:
    """The event if the actor may see it and may read events of its kind, else None."""
    return session.scalars(
        select(Event).where(
            Event.id == event_id,
            Event.disposed_at.is_(None),
            Event.kind.in_(list(kinds)),
            visible(actor, Event),
        )
    ).one_or_none()


def visible_ids(session: Session, actor: Actor, record_type: str, ids: Iterable[str], event_kinds: Iterable[str]):
    """The records of one type among ``ids`` that the actor may see, by id (one query)."""
    ids = list(ids)
    if not ids:
        return {}
    if record_type == "person":
        statement = select(Person).where(Person.id.in_(ids), Person.disposed_at.is_(None), visible(actor, Person))
    elif record_type == "object":
        statement = select(RecordObject).where(RecordObject.id.in_(ids), visible(actor, RecordObject))
    elif record_type == "location":
        statement = select(Location).where(Location.id.in_(ids), visible(actor, Location))
    elif record_type == "event":
        statement = select(Event).where(
            Event.id.in_(ids), Event.disposed_at.is_(None), Event.kind.in_(list(event_kinds)), visible(actor, Event)
        )
    else:
        return {}
    return {row.id: row for row in session.scalars(statement)}


def force_has_persons(session: Session, force_id: str) -> bool:
    """True when the force holds any person record (the demo seeds records only once)."""
    return session.scalar(select(Person.id).where(Person.force_id == force_id).limit(1)) is not None


# ---------------------------------------------------------------- a person's names, identifiers, markers and addresses


def names_of(session: Session, person_id: str) -> list[PersonName]:
    """A person's names: the primary name first, then aliases and previous names by date."""
    rows = list(session.scalars(select(PersonName).where(PersonName.person_id == person_id).order_by(PersonName.id)))
    return sorted(rows, key=lambda n: (n.kind != "primary", n.id))


def primary_name(session: Session, person_id: str) -> PersonName | None:
    return session.scalars(
        select(PersonName).where(PersonName.person_id == person_id, PersonName.kind == "primary")
    ).first()


def identifiers_of(session: Session, person_id: str) -> list[PersonIdentifier]:
    return list(
        session.scalars(
            select(PersonIdentifier)
            .where(PersonIdentifier.person_id == person_id)
            .order_by(PersonIdentifier.kind, PersonIdentifier.id)
        )
    )


def identifier_holder(session: Session, force_id: str, kind: str, value: str) -> PersonIdentifier | None:
    """Who holds an identifier in a force (whoever can see them: the uniqueness rule is the force's)."""
    return session.scalars(
        select(PersonIdentifier).where(
            PersonIdentifier.force_id == force_id, PersonIdentifier.kind == kind, PersonIdentifier.value == value
        )
    ).first()


def markers_of(session: Session, person_id: str) -> list[WarningMarker]:
    return list(
        session.scalars(
            select(WarningMarker)
            .where(WarningMarker.person_id == person_id)
            .order_by(WarningMarker.from_date.desc(), WarningMarker.id)
        )
    )


def marker(session: Session, person_id: str, marker_id: str) -> WarningMarker | None:
    return session.scalars(
        select(WarningMarker).where(WarningMarker.id == marker_id, WarningMarker.person_id == person_id)
    ).one_or_none()


def current_markers_of(session: Session, person_ids: list[str], today) -> list[WarningMarker]:
    """The warning markers in force today (begun, not ended) of several persons, in one query."""
    if not person_ids:
        return []
    return list(
        session.scalars(
            select(WarningMarker)
            .where(
                WarningMarker.person_id.in_(person_ids),
                WarningMarker.from_date <= today,
                or_(WarningMarker.to_date.is_(None), WarningMarker.to_date > today),
            )
            .order_by(WarningMarker.person_id, WarningMarker.kind, WarningMarker.id)
        )
    )


def addresses_of(session: Session, actor: Actor, person_id: str) -> list[tuple[PersonAddress, Location]]:
    """A person's addresses at locations the actor may see, newest first."""
    rows = session.execute(
        select(PersonAddress, Location)
        .join(Location, Location.id == PersonAddress.location_id)
        .where(PersonAddress.person_id == person_id, visible(actor, Location))
        .order_by(PersonAddress.to_date.is_(None).desc(), PersonAddress.from_date.desc(), PersonAddress.id.desc())
    ).all()
    return [(address, location) for address, location in rows]


def persons_with_postcode(
    session: Session, actor: Actor, person_ids: list[str], postcode_norm: str, *, outward_only: bool
) -> set[str]:
    """Those of ``person_ids`` with an address (at any time) at the postcode (normalised, no
    space), or anywhere in the postcode district when ``outward_only`` ("ST16": ST16 and an
    inward code of three characters), at a location the actor may see."""
    if not person_ids:
        return set()
    p = PersonAddress
    if outward_only:
        matches = Location.postcode_norm.like(postcode_norm + "___")
    else:
        matches = Location.postcode_norm == postcode_norm
    statement = (
        select(p.person_id)
        .join(Location, Location.id == p.location_id)
        .where(p.person_id.in_(person_ids), Location.force_id == actor.force_id, matches, visible(actor, Location))
        .distinct()
    )
    return set(session.scalars(statement))


# ---------------------------------------------------------------- links


def links_touching(session: Session, force_id: str, ends: Iterable[tuple[str, str]]) -> list[Link]:
    """Every link of the force from or to any of ``ends`` ((type, id) pairs), in one query."""
    ends = list(ends)
    if not ends:
        return []
    return list(
        session.scalars(
            select(Link)
            .where(
                Link.force_id == force_id,
                or_(tuple_(Link.from_type, Link.from_id).in_(ends), tuple_(Link.to_type, Link.to_id).in_(ends)),
            )
            .order_by(Link.created_at, Link.id)
        )
    )


def addresses_touching(session: Session, force_id: str, person_ids: list[str], location_ids: list[str]):
    """Address rows of the force for any of these persons or at any of these locations."""
    if not person_ids and not location_ids:
        return []
    conditions = []
    if person_ids:
        conditions.append(PersonAddress.person_id.in_(person_ids))
    if location_ids:
        conditions.append(PersonAddress.location_id.in_(location_ids))
    return list(
        session.scalars(
            select(PersonAddress).where(PersonAddress.force_id == force_id, or_(*conditions)).order_by(PersonAddress.id)
        )
    )


def link_by_id(session: Session, force_id: str, link_id: str) -> Link | None:
    return session.scalars(select(Link).where(Link.id == link_id, Link.force_id == force_id)).one_or_none()


def open_link(session: Session, force_id: str, from_ref, role: str, to_ref) -> Link | None:
    """The same link (ends and role) still open (no end date), if there is one."""
    return session.scalars(
        select(Link).where(
            Link.force_id == force_id,
            Link.from_type == from_ref[0],
            Link.from_id == from_ref[1],
            Link.role == role,
            Link.to_type == to_ref[0],
            Link.to_id == to_ref[1],
            Link.to_date.is_(None),
        )
    ).first()


def events_linked_to(session: Session, actor: Actor, record_type: str, record_id: str, kinds: Iterable[str]):
    """(link, event) for every event the record is linked to that the actor may see and read."""
    rows = session.execute(
        select(Link, Event)
        .join(Event, and_(Link.to_type == "event", Link.to_id == Event.id))
        .where(
            Link.from_type == record_type,
            Link.from_id == record_id,
            Event.disposed_at.is_(None),
            Event.kind.in_(list(kinds)),
            visible(actor, Event),
        )
    ).all()
    return [(link, event) for link, event in rows]


def events_linked_from(
    session: Session,
    actor: Actor,
    record_type: str,
    record_ids: list[str],
    kinds: Iterable[str],
    *,
    since: datetime | None = None,
    open_kind: str | None = None,
    open_role: str | None = None,
    limit: int = 1000,
) -> list[tuple[Link, Event]]:
    """(link, event) for the events that any of ``record_ids`` (persons or objects) is linked
    to, that the actor may see and read, newest first (when it happened, else when reported),
    in one query. With ``since``, only events since then, and also, whenever they began,
    those of ``open_kind`` not yet ended (``occurred_to`` empty) that link with ``open_role``
    (a missing person still missing)."""
    kinds = list(kinds)
    if not record_ids or not kinds:
        return []
    when = func.coalesce(Event.occurred_from, Event.reported_at)
    where = [
        Link.from_type == record_type,
        Link.from_id.in_(list(record_ids)),
        Link.force_id == actor.force_id,
        Event.disposed_at.is_(None),
        Event.kind.in_(kinds),
        visible(actor, Event),
    ]
    if since is not None:
        recent = when >= since
        if open_kind is not None:
            still_open = and_(Event.kind == open_kind, Event.occurred_to.is_(None))
            if open_role is not None:
                still_open = and_(still_open, Link.role == open_role)
            recent = or_(recent, still_open)
        where.append(recent)
    statement = (
        select(Link, Event)
        .join(Event, and_(Link.to_type == "event", Link.to_id == Event.id))
        .where(*where)
        .order_by(when.desc(), Event.reference.desc(), Link.id)
        .limit(limit)
    )
    return [(link, event) for link, event in session.execute(statement)]


# ---------------------------------------------------------------- places and who lives there


def addresses_at(session: Session, actor: Actor, location_id: str) -> list[tuple[PersonAddress, Person]]:
    """Address rows at a location whose persons the actor may see (not disposed), current first."""
    rows = session.execute(
        select(PersonAddress, Person)
        .join(Person, Person.id == PersonAddress.person_id)
        .where(PersonAddress.location_id == location_id, Person.disposed_at.is_(None), visible(actor, Person))
        .order_by(PersonAddress.to_date.is_(None).desc(), PersonAddress.from_date.desc(), PersonAddress.id.desc())
    ).all()
    return [(address, person) for address, person in rows]


def visible_locations_at_postcode(session: Session, actor: Actor, postcode_norm: str, limit: int) -> list[Location]:
    """Locations of the actor's force at a postcode (normalised, no space) the actor may see."""
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.force_id == actor.force_id,
                Location.postcode_norm == postcode_norm,
                visible(actor, Location),
            )
            .order_by(Location.line1, Location.id)
            .limit(limit)
        )
    )


def visible_locations_by_address(session: Session, actor: Actor, words: str, limit: int) -> list[Location]:
    """Locations of the actor's force whose first address line holds ``words`` (any case)
    the actor may see. Not indexed: a check asks for a street name at least (mobile/checks/location.py)."""
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.force_id == actor.force_id,
                func.lower(Location.line1).contains(words.lower(), autoescape=True),
                visible(actor, Location),
            )
            .order_by(Location.line1, Location.id)
            .limit(limit)
        )
    )


def visible_locations_in_box(
    session: Session, actor: Actor, south: float, north: float, west: float, east: float, limit: int
) -> list[Location]:
    """Locations with a point inside a latitude/longitude box that the actor may see (the
    exact distance is cut by the caller)."""
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.force_id == actor.force_id,
                Location.lat.between(south, north),
                Location.lon.between(west, east),
                visible(actor, Location),
            )
            .order_by(Location.id)
            .limit(limit)
        )
    )


def current_residents(session: Session, actor: Actor, location_ids: list[str], today) -> list[tuple[str, str, Person]]:
    """(location id, how, person) for everyone living at any of the locations today, whom the
    actor may see (not disposed, not merged into another): an address row in force today
    (``how`` is its kind: home, work, care_of...) or an open ``resides_at`` link (``how`` is
    resides_at). Two statements, whatever the number of locations."""
    if not location_ids:
        return []
    alive = [Person.disposed_at.is_(None), Person.merged_into_id.is_(None), visible(actor, Person)]
    a = PersonAddress
    addressed = session.execute(
        select(a.location_id, a.kind, Person)
        .join(Person, Person.id == a.person_id)
        .where(
            a.location_id.in_(location_ids),
            a.kind != "previous",
            or_(a.from_date.is_(None), a.from_date <= today),
            or_(a.to_date.is_(None), a.to_date > today),
            *alive,
        )
        .order_by(a.location_id, Person.family_name, Person.given_names, Person.id)
    ).all()
    linked = session.execute(
        select(Link.to_id, Link.role, Person)
        .join(Person, and_(Link.from_type == "person", Link.from_id == Person.id))
        .where(
            Link.force_id == actor.force_id,
            Link.to_type == "location",
            Link.to_id.in_(location_ids),
            Link.role == "resides_at",
            or_(Link.from_date.is_(None), Link.from_date <= today),
            or_(Link.to_date.is_(None), Link.to_date > today),
            *alive,
        )
        .order_by(Link.to_id, Person.family_name, Person.given_names, Person.id)
    ).all()
    return [(location_id, how, person) for location_id, how, person in [*addressed, *linked]]


# ---------------------------------------------------------------- references


def next_event_number(session: Session, force_id: str, kind: str, year: int) -> int:
    """The next event number of a force, kind and year, in one atomic upsert (the counter's
    row stays locked until the transaction ends: no two events share a number)."""
    table = ReferenceCounter.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(force_id=force_id, kind=kind, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[table.c.force_id, table.c.kind, table.c.year], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    return session.execute(statement).scalar_one()
