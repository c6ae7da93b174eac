"""Records' read side. Every lookup of a record is scoped by force, marking and access
list in SQL (``access.queries.visible``): a record the actor may not see is simply not
found, exactly like a missing one. Disposed persons and events (MoPI) are not found
either: only their tombstone remains.

Sections: POLE records (persons, objects, locations, events), links and addresses (for
profiles and the link chart), reference numbers. Other records modules append their
own sections below."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import and_, column, delete, exists, func, literal_column, or_, select, table, tuple_, union
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import (
    Crime,
    Event,
    Intelligence,
    InvestigationEntry,
    Link,
    Location,
    Merge,
    MergeCandidate,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordObject,
    ReferenceCounter,
    Review,
    Victim,
    VictimUpdate,
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


def addresses_of(session: Session, actor: Actor, person_id: str) -> list[tuple[PersonAddress, Location]]:
    """A person's addresses at locations the actor may see, newest first."""
    rows = session.execute(
        select(PersonAddress, Location)
        .join(Location, Location.id == PersonAddress.location_id)
        .where(PersonAddress.person_id == person_id, visible(actor, Location))
        .order_by(PersonAddress.to_date.is_(None).desc(), PersonAddress.from_date.desc(), PersonAddress.id.desc())
    ).all()
    return [(address, location) for address, location in rows]


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


# ---------------------------------------------------------------- crimes and victims (records/crime.py, victims.py)


def visible_crime(session: Session, actor: Actor, event_id: str, *, for_update: bool = False):
    """(event, crime) if the actor may see the crime (and it is not disposed), else None."""
    statement = (
        select(Event, Crime)
        .join(Crime, Crime.event_id == Event.id)
        .where(Event.id == event_id, Event.kind == "crime", Event.disposed_at.is_(None), visible(actor, Event))
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.execute(statement).one_or_none()
    return None if row is None else (row[0], row[1])


def visible_crimes(
    session: Session,
    actor: Actor,
    *,
    officer: str | None = None,
    status: str | None = None,
    late: bool | None = None,
    limit: int = 200,
) -> list[tuple[Event, Crime]]:
    """Crimes the actor may see, newest recorded first, filtered before the limit."""
    statement = (
        select(Event, Crime)
        .join(Crime, Crime.event_id == Event.id)
        .where(Event.kind == "crime", Event.disposed_at.is_(None), visible(actor, Event))
    )
    if officer is not None:
        statement = statement.where(Crime.officer_in_charge == officer)
    if status is not None:
        statement = statement.where(Crime.status == status)
    if late is not None:
        statement = statement.where(Crime.recorded_late.is_(late))
    rows = session.execute(statement.order_by(Crime.recorded_at.desc(), Event.id).limit(limit)).all()
    return [(event, crime) for event, crime in rows]


def investigation_log(session: Session, event_id: str) -> list[InvestigationEntry]:
    """A crime's investigation log in the order it was written."""
    return list(
        session.scalars(
            select(InvestigationEntry).where(InvestigationEntry.event_id == event_id).order_by(InvestigationEntry.id)
        )
    )


def investigation_entry(session: Session, event_id: str, entry_id: int) -> InvestigationEntry | None:
    return session.scalars(
        select(InvestigationEntry).where(InvestigationEntry.event_id == event_id, InvestigationEntry.id == entry_id)
    ).one_or_none()


def persons_linked(session: Session, event_id: str, role: str) -> list[Person]:
    """The (not disposed) persons linked to an event with a role (person -suspect-> event)."""
    return list(
        session.scalars(
            select(Person)
            .join(Link, and_(Link.from_type == "person", Link.from_id == Person.id))
            .where(Link.to_type == "event", Link.to_id == event_id, Link.role == role, Person.disposed_at.is_(None))
            .order_by(Person.id)
        )
    )


def victim_of(session: Session, event_id: str, person_id: str) -> Victim | None:
    return session.scalars(
        select(Victim).where(Victim.event_id == event_id, Victim.person_id == person_id)
    ).one_or_none()


def victims_of(session: Session, event_id: str, *, for_update: bool = False) -> list[Victim]:
    """Every victim row of a crime (whoever can see their persons), for its clocks."""
    statement = select(Victim).where(Victim.event_id == event_id).order_by(Victim.id)
    if for_update:
        statement = statement.with_for_update()
    return list(session.scalars(statement))


def visible_victims(session: Session, actor: Actor, event_id: str) -> list[tuple[Victim, Person]]:
    """A crime's victims whose person records the actor may see (others are simply absent)."""
    rows = session.execute(
        select(Victim, Person)
        .join(Person, Person.id == Victim.person_id)
        .where(Victim.event_id == event_id, Person.disposed_at.is_(None), visible(actor, Person))
        .order_by(Victim.id)
    ).all()
    return [(victim, person) for victim, person in rows]


def visible_victim(session: Session, actor: Actor, victim_id: str, *, for_update: bool = False):
    """(victim, event, crime, person) when the actor may see the crime and the person, else None."""
    statement = (
        select(Victim, Event, Crime, Person)
        .join(Event, Event.id == Victim.event_id)
        .join(Crime, Crime.event_id == Event.id)
        .join(Person, Person.id == Victim.person_id)
        .where(
            Victim.id == victim_id,
            Event.disposed_at.is_(None),
            Person.disposed_at.is_(None),
            visible(actor, Event),
            visible(actor, Person),
        )
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.execute(statement).one_or_none()
    return None if row is None else tuple(row)


def victim_updates(session: Session, victim_ids: list[str]) -> list[VictimUpdate]:
    if not victim_ids:
        return []
    return list(
        session.scalars(select(VictimUpdate).where(VictimUpdate.victim_id.in_(victim_ids)).order_by(VictimUpdate.id))
    )


def overdue_victims(session: Session, actor: Actor, now, *, officer: str | None = None, limit: int = 1000):
    """(victim, event, crime) for every victim whose next update was due by ``now`` and who
    has not opted out, on crimes the actor may see; by officer in charge, then due time."""
    statement = (
        select(Victim, Event, Crime)
        .join(Event, Event.id == Victim.event_id)
        .join(Crime, Crime.event_id == Event.id)
        .where(
            Victim.next_update_due.is_not(None),
            Victim.next_update_due <= now,
            Victim.opted_out.is_(False),
            Event.disposed_at.is_(None),
            visible(actor, Event),
        )
    )
    if officer is not None:
        statement = statement.where(Crime.officer_in_charge == officer)
    statement = statement.order_by(
        Crime.officer_in_charge.is_(None), Crime.officer_in_charge, Victim.next_update_due, Victim.id
    ).limit(limit)
    return [(victim, event, crime) for victim, event, crime in session.execute(statement).all()]


# ---------------------------------------------------------------- intelligence (records/intelligence.py)


def visible_intelligence(session: Session, actor: Actor, event_id: str):
    """(event, intelligence) if the actor may see the report (and it is not disposed), else None."""
    row = session.execute(
        select(Event, Intelligence)
        .join(Intelligence, Intelligence.event_id == Event.id)
        .where(Event.id == event_id, Event.kind == "intelligence", Event.disposed_at.is_(None), visible(actor, Event))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def visible_intelligence_reports(session: Session, actor: Actor, *, limit: int = 200):
    """Intelligence reports the actor may see, newest first."""
    rows = session.execute(
        select(Event, Intelligence)
        .join(Intelligence, Intelligence.event_id == Event.id)
        .where(Event.kind == "intelligence", Event.disposed_at.is_(None), visible(actor, Event))
        .order_by(Event.created_at.desc(), Event.id)
        .limit(limit)
    ).all()
    return [(event, report) for event, report in rows]


# ---------------------------------------------------------------- MoPI reviews (records/mopi.py)

_RETAINED = {"person": Person, "event": Event}


def records_due_for_review(session: Session, record_type: str, today, force_id: str | None, limit: int):
    """Persons or events whose review date has passed, not disposed and not already waiting
    in the review queue (an open review), oldest review date first."""
    model = _RETAINED[record_type]
    waiting = exists().where(
        Review.record_type == record_type, Review.record_id == model.id, Review.decided_at.is_(None)
    )
    statement = select(model).where(model.review_at <= today, model.disposed_at.is_(None), ~waiting)
    if force_id is not None:
        statement = statement.where(model.force_id == force_id)
    return list(session.scalars(statement.order_by(model.review_at, model.id).limit(limit)))


def open_reviews(session: Session, actor: Actor, force_id: str, *, limit: int = 200) -> list[Review]:
    """A force's review queue: undecided reviews of records the actor may see (force and
    clearance, every kind of event), the longest overdue first."""
    seen_person = exists().where(Person.id == Review.record_id, visible(actor, Person))
    seen_event = exists().where(Event.id == Review.record_id, visible(actor, Event))
    return list(
        session.scalars(
            select(Review)
            .where(
                Review.force_id == force_id,
                Review.decided_at.is_(None),
                or_(
                    and_(Review.record_type == "person", seen_person),
                    and_(Review.record_type == "event", seen_event),
                ),
            )
            .order_by(Review.due_on, Review.queued_at, Review.id)
            .limit(limit)
        )
    )


def review_in_force(session: Session, force_id: str, review_id: str, *, for_update: bool = False) -> Review | None:
    statement = select(Review).where(Review.id == review_id, Review.force_id == force_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def reviewable(session: Session, actor: Actor, record_type: str, ids, *, for_update: bool = False) -> dict:
    """Records under review the actor may see (force and clearance; every kind of event),
    not disposed, by id."""
    ids = list(ids)
    if not ids:
        return {}
    model = _RETAINED[record_type]
    statement = select(model).where(model.id.in_(ids), model.disposed_at.is_(None), visible(actor, model))
    if for_update:
        statement = statement.with_for_update()
    return {row.id: row for row in session.scalars(statement)}


def _delete(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def _delete_victims(session: Session, condition) -> tuple[int, int]:
    ids = select(Victim.id).where(condition)
    updates = _delete(session, delete(VictimUpdate).where(VictimUpdate.victim_id.in_(ids)))
    return _delete(session, delete(Victim).where(condition)), updates


def _delete_links(session: Session, record_type: str, record_id: str) -> int:
    return _delete(
        session,
        delete(Link).where(
            or_(
                and_(Link.from_type == record_type, Link.from_id == record_id),
                and_(Link.to_type == record_type, Link.to_id == record_id),
            )
        ),
    )


def remove_person_data(session: Session, person_id: str) -> dict[str, int]:
    """Delete the rows that hold a disposed person's personal data (MoPI disposal); how many of each."""
    victims, updates = _delete_victims(session, Victim.person_id == person_id)
    removed = {
        "names": _delete(session, delete(PersonName).where(PersonName.person_id == person_id)),
        "identifiers": _delete(session, delete(PersonIdentifier).where(PersonIdentifier.person_id == person_id)),
        "markers": _delete(session, delete(WarningMarker).where(WarningMarker.person_id == person_id)),
        "addresses": _delete(session, delete(PersonAddress).where(PersonAddress.person_id == person_id)),
        "victim_entries": victims,
        "victim_updates": updates,
        "links": _delete_links(session, "person", person_id),
        "merge_candidates": _delete(
            session,
            delete(MergeCandidate).where(
                MergeCandidate.status == "open",
                or_(MergeCandidate.left_id == person_id, MergeCandidate.right_id == person_id),
            ),
        ),
    }
    session.expire_all()
    return removed


def remove_event_data(session: Session, event_id: str) -> dict[str, int]:
    """Delete the rows that tie a disposed event to people (victims and their updates, links)
    or tell what happened to them (a crime's investigation log, and what was recorded at the
    scene: ``remove_scene_data``); how many of each. The event must already be marked
    disposed of and flushed: the database refuses to delete the log and the scene rows of an
    event that is not (migration 0010)."""
    victims, updates = _delete_victims(session, Victim.event_id == event_id)
    removed = {
        "victim_entries": victims,
        "victim_updates": updates,
        "links": _delete_links(session, "event", event_id),
        # One statement: corrections refer to entries of the same log.
        "investigation_log_entries": _delete(
            session, delete(InvestigationEntry).where(InvestigationEntry.event_id == event_id)
        ),
        **remove_scene_data(session, event_id),
    }
    session.expire_all()
    return removed


# ---------------------------------------------------------------- duplicates: dedupe and merge
# (records/dedupe.py and records/merge.py)


def dedupe_persons(session: Session, actor: Actor, *, batch: int) -> Iterator[list[tuple]]:
    """The live persons of the actor's force that the actor may see (not merged away, not
    disposed): id, date-of-birth parts and gender, in batches (a server-side cursor on
    PostgreSQL: never every row at once)."""
    statement = select(Person.id, Person.dob_year, Person.dob_month, Person.dob_day, Person.gender).where(
        visible(actor, Person), Person.merged_into_id.is_(None), Person.disposed_at.is_(None)
    )
    yield from _stream(session, statement, batch)


def dedupe_names(session: Session, force_id: str, *, batch: int) -> Iterator[list[tuple]]:
    """Every name row of a force with its normalised forms and keys, in batches."""
    statement = select(
        PersonName.id,
        PersonName.person_id,
        PersonName.kind,
        PersonName.given_norm,
        PersonName.family_norm,
        PersonName.given_key,
        PersonName.family_key,
    ).where(PersonName.force_id == force_id)
    yield from _stream(session, statement, batch)


def dedupe_addresses(session: Session, force_id: str, *, batch: int) -> Iterator[list[tuple]]:
    """The open (no end date) addresses of a force's persons with their postcodes, in batches."""
    statement = (
        select(PersonAddress.person_id, Location.postcode_norm, PersonAddress.kind, PersonAddress.from_date)
        .join(Location, Location.id == PersonAddress.location_id)
        .where(PersonAddress.force_id == force_id, PersonAddress.to_date.is_(None))
    )
    yield from _stream(session, statement, batch)


def _stream(session: Session, statement, batch: int) -> Iterator[list[tuple]]:
    """Plain tuples in batches straight from the driver's cursor (a server-side cursor on
    PostgreSQL): a million rows without building a Row, let alone an ORM object, for each."""
    connection = session.connection()
    dialect = connection.dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor(name=f"bluelamp_stream_{id(statement)}") if dialect.name == "postgresql" else raw.cursor()
    try:
        if dialect.name == "postgresql":
            cursor.itersize = batch
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def decided_candidate_pairs(session: Session, force_id: str) -> set[tuple[str, str]]:
    """(left, right) of every candidate of the force already decided (merged or rejected)."""
    rows = session.execute(
        select(MergeCandidate.left_id, MergeCandidate.right_id).where(
            MergeCandidate.force_id == force_id, MergeCandidate.status != "open"
        )
    )
    return {(left, right) for left, right in rows}


def delete_open_candidates(session: Session, actor: Actor) -> int:
    """Remove the open candidates of the actor's force whose two persons the actor can see
    (a new dedupe run, which sees the same persons, replaces them; pairs it cannot see stay);
    how many went."""
    seen = select(Person.id).where(visible(actor, Person))
    result = session.execute(
        delete(MergeCandidate)
        .where(MergeCandidate.force_id == actor.force_id, MergeCandidate.status == "open")
        .where(MergeCandidate.left_id.in_(seen), MergeCandidate.right_id.in_(seen))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


CANDIDATE_COLUMNS = ("id", "force_id", "left_id", "right_id", "match_weight", "probability", "explanation")


def insert_candidates(session: Session, rows: list[tuple], found_at: datetime) -> int:
    """Write open merge candidates, each (id, force_id, left_id, right_id, match_weight,
    probability, explanation as JSON text), found at ``found_at``, in one driver-level
    executemany (a dedupe run writes hundreds of thousands); how many were written."""
    if not rows:
        return 0
    connection = session.connection()
    columns = ", ".join((*CANDIDATE_COLUMNS, "found_at", "status"))
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in range(len(CANDIDATE_COLUMNS) + 2))
        at: object = found_at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    else:
        marks = "%s, %s, %s, %s, %s, %s, CAST(%s AS jsonb), %s, %s"
        at = found_at
    connection.exec_driver_sql(
        f"INSERT INTO records_merge_candidate ({columns}) VALUES ({marks})", [(*r, at, "open") for r in rows]
    )
    return len(rows)


def candidate_queue(session: Session, actor: Actor, *, status: str, limit: int):
    """(candidate, left person, right person) of the actor's force, both persons visible and
    live, highest match weight first."""
    left, right = aliased(Person), aliased(Person)
    statement = (
        select(MergeCandidate, left, right)
        .join(left, left.id == MergeCandidate.left_id)
        .join(right, right.id == MergeCandidate.right_id)
        .where(MergeCandidate.force_id == actor.force_id, MergeCandidate.status == status)
        .where(visible(actor, left), visible(actor, right))
        .order_by(MergeCandidate.match_weight.desc(), MergeCandidate.id)
        .limit(limit)
    )
    if status == "open":
        statement = statement.where(
            left.merged_into_id.is_(None),
            right.merged_into_id.is_(None),
            left.disposed_at.is_(None),
            right.disposed_at.is_(None),
        )
    return [(candidate, a, b) for candidate, a, b in session.execute(statement)]


def candidate_by_id(session: Session, force_id: str, candidate_id: str) -> MergeCandidate | None:
    return session.scalars(
        select(MergeCandidate).where(MergeCandidate.id == candidate_id, MergeCandidate.force_id == force_id)
    ).one_or_none()


def candidate_for_pair(session: Session, force_id: str, left_id: str, right_id: str) -> MergeCandidate | None:
    """The candidate for a pair of persons (in either order), if the dedupe job found one."""
    low, high = sorted((left_id, right_id))
    return session.scalars(
        select(MergeCandidate).where(
            MergeCandidate.force_id == force_id, MergeCandidate.left_id == low, MergeCandidate.right_id == high
        )
    ).one_or_none()


def merge_by_id(session: Session, force_id: str, merge_id: str, *, for_update: bool = False) -> Merge | None:
    statement = select(Merge).where(Merge.id == merge_id, Merge.force_id == force_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def merged_into(session: Session, person_id: str) -> str | None:
    """The person this one was merged into (None when it is not merged away)."""
    return session.scalar(select(Person.merged_into_id).where(Person.id == person_id))


def person_parts(session: Session, person_id: str) -> dict[str, list]:
    """Everything that hangs off a person and moves with a merge: names (search-only rows
    too), identifiers, warning markers, addresses and victim records."""
    return {
        "names": list(
            session.scalars(select(PersonName).where(PersonName.person_id == person_id).order_by(PersonName.id))
        ),
        "identifiers": list(
            session.scalars(
                select(PersonIdentifier).where(PersonIdentifier.person_id == person_id).order_by(PersonIdentifier.id)
            )
        ),
        "markers": list(
            session.scalars(
                select(WarningMarker).where(WarningMarker.person_id == person_id).order_by(WarningMarker.id)
            )
        ),
        "addresses": list(
            session.scalars(
                select(PersonAddress).where(PersonAddress.person_id == person_id).order_by(PersonAddress.id)
            )
        ),
        "victims": list(session.scalars(select(Victim).where(Victim.person_id == person_id).order_by(Victim.id))),
    }


PART_MODELS = {
    "names": PersonName,
    "identifiers": PersonIdentifier,
    "markers": WarningMarker,
    "addresses": PersonAddress,
    "victims": Victim,
}


def parts_by_ids(session: Session, part: str, ids: list) -> list:
    """Rows of one kind of person part by id (those that still exist)."""
    if not ids:
        return []
    model = PART_MODELS[part]
    return list(session.scalars(select(model).where(model.id.in_(ids))))


def person_links(session: Session, force_id: str, person_id: str) -> list[Link]:
    """Every link of the force from or to a person."""
    return list(
        session.scalars(
            select(Link)
            .where(
                Link.force_id == force_id,
                or_(
                    and_(Link.from_type == "person", Link.from_id == person_id),
                    and_(Link.to_type == "person", Link.to_id == person_id),
                ),
            )
            .order_by(Link.id)
        )
    )


def links_by_ids(session: Session, ids: list[str]) -> list[Link]:
    if not ids:
        return []
    return list(session.scalars(select(Link).where(Link.id.in_(ids))))


# ---------------------------------------------------------------- search (records/search.py)
# Candidates come only from indexed look-ups on records_person_name (migration 0006 adds the
# composite indexes each look-up is answered from); access is applied in the same statement,
# joined on the person, before anything is ranked.


def _next_prefix(prefix: str) -> str:
    """A string after every string starting with ``prefix`` and before any other (for an
    index range scan over upper-case letters and digits): "SM" → "SN", "SZ" → "T",
    "0779" → "078". Carrying past Z and 9 keeps the bound a letter or digit, which every
    collation orders the same way."""
    while prefix:
        last = prefix[-1]
        if last not in "Z9":
            return prefix[:-1] + chr(ord(last) + 1)
        prefix = prefix[:-1]
    return "\U0010ffff"


def _starting(column, prefixes):
    """``column`` starts with one of the prefixes, as index ranges."""
    return or_(*(and_(column >= p, column < _next_prefix(p)) for p in prefixes))


def _name_lookup(force_id: str, lookup: tuple) -> list:
    """One look-up as SELECTs of name-row ids, each an index range. Kinds:
    ("family", family_keys, years): family key (born in the years when given);
    ("family_initials", family_keys, initials, years): family key, a given key starting with
    one of the initials (or longer prefixes; born in the years when given);
    ("family_given", family_keys, given_keys, years): both keys (born in the years, or of
    unknown year, when given);
    ("family_letters", family_keys, letters, years): family key, the given names' first or
    second letter one of ``letters`` (read from the name row: fewer persons to join);
    ("given", given_keys, years): given key (born in the years when given);
    ("given_first", given_keys, first_names, spelling, years): given key, and the first given
    name one of ``first_names`` or spelt like ``spelling`` (the same first letter, and the
    same second or third; born in the years when given);
    ("given_prefix", given_keys, prefixes): given key, family name starting with a prefix;
    ("family_prefix", prefixes, given_keys, years): family name starting with a prefix (a
    given key and years when given);
    ("key_prefix", family_prefixes, given_prefixes, year): born in the year, family and given
    keys starting with the prefixes, or the other way round (one range per prefix)."""
    n = PersonName
    kind, *args = lookup
    where = [n.force_id == force_id]
    if kind == "key_prefix":
        family_prefixes, given_prefixes, year = args
        pairs = [(f, given_prefixes) for f in family_prefixes] + [(g, family_prefixes) for g in given_prefixes]
        return [
            select(n.id).where(*where, n.dob_year == year, _starting(n.family_key, [f]), _starting(n.given_key, gs))
            for f, gs in pairs
        ]
    if kind == "family":
        family_keys, years = args
        where.append(n.family_key.in_(family_keys))
    elif kind == "family_initials":
        family_keys, initials, years = args
        where += [n.family_key.in_(family_keys), _starting(n.given_key, initials)]

    elif kind == "family_given":
        family_keys, given_keys, years = args
        where += [n.family_key.in_(family_keys), n.given_key.in_(given_keys)]
        if years:
            where.append(or_(_born_in(n, years), n.dob_year.is_(None)))
            years = None
    elif kind == "family_letters":
        family_keys, letters, years = args
        first, second = func.substr(n.given_norm, 1, 1), func.substr(n.given_norm, 2, 1)
        where += [n.family_key.in_(family_keys), or_(first.in_(letters), second.in_(letters))]
    elif kind == "given_first":
        given_keys, first_names, spelling, years = args
        letter = [func.substr(n.given_norm, i, 1) for i in (1, 2, 3)]
        like = and_(letter[0] == spelling[0], or_(letter[1] == spelling[1:2], letter[2] == spelling[2:3]))
        named = [n.given_norm.in_(first_names), *(n.given_norm.startswith(f"{f} ") for f in first_names)]
        where += [n.given_key.in_(given_keys), or_(like, *named)]
    elif kind == "given":
        given_keys, years = args
        where.append(n.given_key.in_(given_keys))
    elif kind == "given_prefix":
        given_keys, prefixes = args
        where += [n.given_key.in_(given_keys), _starting(n.family_norm, prefixes)]
        years = None
    elif kind == "family_prefix":
        prefixes, given_keys, years = args
        where.append(_starting(n.family_norm, prefixes))
        if given_keys:
            where.append(n.given_key.in_(given_keys))
    else:  # pragma: no cover - a programming error
        raise ValueError(f"unknown look-up {kind!r}")
    if years:
        where.append(_born_in(n, years))
    return [select(n.id).where(*where)]


def _born_in(n, years: tuple[int, int]):
    """Born in the years: an equality for one year, so that an index on the year goes on to its next columns."""
    return n.dob_year == years[0] if years[0] == years[1] else n.dob_year.between(*years)


def person_name_candidates_statement(actor: Actor, lookups: list[tuple], *, years: tuple[int, int] | None, cap: int):
    """The statement ``person_name_candidates`` runs (for tests that read its plan)."""
    n = PersonName
    selects = [select_ for lookup in lookups for select_ in _name_lookup(actor.force_id, lookup)]
    # Materialised first, so that the planner starts from the few candidates (without
    # statistics SQLite would otherwise walk every person of the force).
    found = (union(*selects) if len(selects) > 1 else selects[0]).cte("candidate_names").prefix_with("MATERIALIZED")
    statement = (
        select(
            n.person_id,
            n.kind,
            n.given_norm,
            n.family_norm,
            n.given_key,
            n.family_key,
            Person.given_names,
            Person.family_name,
            Person.dob_year,
            Person.dob_month,
            Person.dob_day,
            Person.gender,
        )
        .select_from(found)
        .join(n, n.id == found.c.id)
        .join(Person, Person.id == n.person_id)
        .where(visible(actor, Person), Person.disposed_at.is_(None), Person.merged_into_id.is_(None))
        .limit(cap)
    )
    if years is not None:
        statement = statement.where(or_(Person.dob_year.is_(None), Person.dob_year.between(*years)))
    return statement


def person_name_candidates(
    session: Session, actor: Actor, lookups: list[tuple], *, years: tuple[int, int] | None, cap: int
) -> list[tuple]:
    """Name rows found by the look-ups, with their person, for persons the actor may see
    (not disposed, not merged into another), at most ``cap`` rows. ``years`` (from an age
    range) keeps persons born in those years or of unknown year. Each row: person_id,
    kind, given_norm, family_norm, given_key, family_key, given_names, family_name,
    dob_year, dob_month, dob_day, gender."""
    if not lookups or actor.force_id is None:
        return []
    statement = person_name_candidates_statement(actor, lookups, years=years, cap=cap)
    return [tuple(row) for row in session.execute(statement)]


def vehicles_matching(session: Session, actor: Actor, prefix: str, pattern: str | None, limit: int) -> list:
    """Vehicles whose normalised VRM starts with ``prefix`` (an index range) and, when given,
    matches ``pattern`` (SQL LIKE with ``\\`` as escape), the actor may see."""
    o = RecordObject
    where = [o.force_id == actor.force_id, o.kind == "vehicle", visible(actor, RecordObject)]
    if prefix:
        where += [
            o.vrm_norm >= prefix,
            o.vrm_norm < _next_prefix(prefix),
            o.vrm_norm.startswith(prefix, autoescape=True),
        ]
    else:
        where.append(o.vrm_norm.is_not(None))
    if pattern is not None:
        where.append(o.vrm_norm.like(pattern, escape="\\"))
    return list(session.scalars(select(o).where(*where).order_by(o.vrm_norm, o.id).limit(limit)))


def phones_matching(session: Session, actor: Actor, prefix: str | None, contains: str | None, limit: int) -> list:
    """Phones whose digits start with ``prefix`` (an index range) or contain ``contains``
    (read from the force's phone index, not the objects), the actor may see."""
    o = RecordObject
    where = [o.force_id == actor.force_id, o.kind == "phone", visible(actor, RecordObject)]
    if prefix:
        where += [
            o.phone_digits >= prefix,
            o.phone_digits < _next_prefix(prefix),
            o.phone_digits.startswith(prefix, autoescape=True),
        ]
    if contains:
        where.append(o.phone_digits.contains(contains, autoescape=True))
    return list(session.scalars(select(o).where(*where).order_by(o.phone_digits, o.id).limit(limit)))


# The full-text expression on PostgreSQL, exactly as migration 0006 indexes it.
EVENT_TEXT_PG = "to_tsvector('english', coalesce(summary, '') || ' ' || coalesce(narrative, ''))"


def events_matching_text(
    session: Session, actor: Actor, fts_query: str, ts_query: str, kinds: list[str], limit: int
) -> list[tuple[Event, float, str]]:
    """Events of the given kinds the actor may see (not disposed) whose summary or narrative
    match: FTS5 ``MATCH fts_query`` on SQLite, ``to_tsquery('english', ts_query)`` on
    PostgreSQL. Best first, each with its rank (higher is better) and a snippet."""
    e = Event
    where = [e.kind.in_(kinds), e.disposed_at.is_(None), visible(actor, Event)]
    if session.get_bind().dialect.name == "sqlite":
        fts = table("records_event_fts", column("rowid"))
        matched = literal_column("records_event_fts").op("MATCH")(fts_query)
        rank = literal_column("bm25(records_event_fts)")
        snippet = literal_column("snippet(records_event_fts, -1, '[', ']', '…', 12)")
        statement = (
            select(e, -rank, snippet)
            .join(fts, fts.c.rowid == literal_column("records_event.rowid"))
            .where(matched, *where)
            .order_by(rank, e.id)
            .limit(limit)
        )
    else:
        query = func.to_tsquery("english", ts_query)
        document = literal_column(EVENT_TEXT_PG)
        rank = func.ts_rank(document, query)
        text_ = func.coalesce(e.summary, "") + " " + func.coalesce(e.narrative, "")
        snippet = func.ts_headline("english", text_, query, "StartSel=[, StopSel=], MaxWords=24, MinWords=8")
        statement = (
            select(e, rank, snippet).where(document.op("@@")(query), *where).order_by(rank.desc(), e.id).limit(limit)
        )
    return [(event, float(score), text_ or "") for event, score, text_ in session.execute(statement)]


def force_has_persons(session: Session, force_id: str) -> bool:
    """True when the force holds any person record (the demo seeds records only once)."""
    return session.scalar(select(Person.id).where(Person.force_id == force_id).limit(1)) is not None


# ---------------------------------------------------------------- the search and merge-queue pages


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


def recent_merges(session: Session, actor: Actor, limit: int) -> list[tuple[Merge, Person, Person]]:
    """(merge, survivor, merged person) of the actor's force, newest first, both persons
    visible to the actor and not disposed; undone merges included (they say so)."""
    survivor, merged = aliased(Person), aliased(Person)
    statement = (
        select(Merge, survivor, merged)
        .join(survivor, survivor.id == Merge.survivor_id)
        .join(merged, merged.id == Merge.merged_id)
        .where(Merge.force_id == actor.force_id, visible(actor, survivor), visible(actor, merged))
        .where(survivor.disposed_at.is_(None), merged.disposed_at.is_(None))
        .order_by(Merge.at.desc(), Merge.id.desc())
        .limit(limit)
    )
    return [(row, a, b) for row, a, b in session.execute(statement)]


# ---------------------------------------------------------------- record pages (web/pages/records.py)


def merges_of_person(session: Session, force_id: str, person_id: str) -> list[Merge]:
    """Merges of a force into or out of a person that were not undone, oldest first."""
    return list(
        session.scalars(
            select(Merge)
            .where(
                Merge.force_id == force_id,
                Merge.undone_at.is_(None),
                or_(Merge.survivor_id == person_id, Merge.merged_id == person_id),
            )
            .order_by(Merge.at, Merge.id)
        )
    )


def addresses_at(session: Session, actor: Actor, location_id: str) -> list[tuple[PersonAddress, Person]]:
    """Address rows at a location whose persons the actor may see (not disposed), current first."""
    rows = session.execute(
        select(PersonAddress, Person)
        .join(Person, Person.id == PersonAddress.person_id)
        .where(PersonAddress.location_id == location_id, Person.disposed_at.is_(None), visible(actor, Person))
        .order_by(PersonAddress.to_date.is_(None).desc(), PersonAddress.from_date.desc(), PersonAddress.id.desc())
    ).all()
    return [(address, person) for address, person in rows]


# ---------------------------------------------------------------- crime and review pages (web/pages/crimes.py)


def unrecorded_crime_reports(
    session: Session,
    actor: Actor,
    categories: Iterable[str],
    reported_before: datetime,
    *,
    no_crime_results: Iterable[str],
    limit: int,
) -> list:
    """Command incidents the actor may see that report a crime not yet recorded: their
    category (the closing one once closed) is one of ``categories``, they came in before
    ``reported_before``, they are not merged, not closed with one of ``no_crime_results``,
    and no crime names them (a crime recorded from the incident, or the crime reference the
    incident was closed with). Oldest first."""
    from bluelamp.command.model import Incident

    categories = list(categories)
    if not categories:
        return []
    from_incident = exists().where(Event.kind == "crime", Event.incident_id == Incident.id)
    by_reference = exists().where(
        Event.kind == "crime", Event.force_id == Incident.force_id, Event.reference == Incident.crime_reference
    )
    statement = (
        select(Incident)
        .where(
            func.coalesce(Incident.closing_category, Incident.opening_category).in_(categories),
            Incident.created_at <= reported_before,
            Incident.status != "merged",
            or_(Incident.result.is_(None), Incident.result.not_in(list(no_crime_results))),
            ~from_incident,
            or_(Incident.crime_reference.is_(None), ~by_reference),
            visible(actor, Incident),
        )
        .order_by(Incident.created_at, Incident.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def _retained_visible(actor: Actor, record_type_column, record_id_column):
    """SQL: the person or event a review row names is one the actor may see (disposed or not)."""
    seen_person = exists().where(Person.id == record_id_column, visible(actor, Person))
    seen_event = exists().where(Event.id == record_id_column, visible(actor, Event))
    return or_(and_(record_type_column == "person", seen_person), and_(record_type_column == "event", seen_event))


def decided_reviews(session: Session, actor: Actor, force_id: str, *, limit: int) -> list[tuple]:
    """A force's decided reviews of records the actor may see, newest decision first, each
    with the tombstone its disposal left (None when retained)."""
    from bluelamp.records.model import Tombstone

    statement = (
        select(Review, Tombstone)
        .outerjoin(
            Tombstone,
            and_(
                Tombstone.force_id == Review.force_id,
                Tombstone.record_type == Review.record_type,
                Tombstone.record_id == Review.record_id,
                Review.decision == "dispose",
            ),
        )
        .where(
            Review.force_id == force_id,
            Review.decided_at.is_not(None),
            _retained_visible(actor, Review.record_type, Review.record_id),
        )
        .order_by(Review.decided_at.desc(), Review.id.desc())
        .limit(limit)
    )
    return [(review, tombstone) for review, tombstone in session.execute(statement)]


def review_for_reader(session: Session, actor: Actor, force_id: str, review_id: str) -> Review | None:
    """A review of the force whose record the actor may see (disposed or not), else None."""
    return session.scalars(
        select(Review).where(
            Review.id == review_id,
            Review.force_id == force_id,
            _retained_visible(actor, Review.record_type, Review.record_id),
        )
    ).one_or_none()


def tombstone_of(session: Session, force_id: str, record_type: str, record_id: str):
    """What is left of a disposed record (None when it was not disposed)."""
    from bluelamp.records.model import Tombstone

    return session.scalars(
        select(Tombstone)
        .where(Tombstone.force_id == force_id, Tombstone.record_type == record_type, Tombstone.record_id == record_id)
        .order_by(Tombstone.id.desc())
    ).first()


# ---------------------------------------------------------------- checks from the field (mobile/checks.py)


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
    the actor may see. Not indexed: a check asks for a street name at least (mobile/checks.py)."""
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


# ---------------------------------------------------------------- MoPI disposal of a crime's scene (mobile/model.py)


def remove_scene_data(session: Session, event_id: str) -> dict[str, int]:
    """Delete what was recorded at the scene of a disposed crime: its photos, suspect
    descriptions and witness statements, then the stored bytes of those photos and
    signatures that nothing else refers to; how many of each. The event must already be
    marked disposed of and flushed (the database refuses otherwise, migration 0010)."""
    # Here, not at the top: the scene's tables belong to the mobile capability, which builds on records.
    from bluelamp.mobile.model import SceneBlob, ScenePhoto, SceneStatement, SceneSuspect

    photo_blobs = select(ScenePhoto.blob_id).where(ScenePhoto.event_id == event_id)
    signature_blobs = select(SceneStatement.signature_blob_id).where(SceneStatement.event_id == event_id)
    blob_ids = list(session.scalars(union(photo_blobs, signature_blobs)))
    removed = {
        "scene_photos": _delete(session, delete(ScenePhoto).where(ScenePhoto.event_id == event_id)),
        "scene_suspects": _delete(session, delete(SceneSuspect).where(SceneSuspect.event_id == event_id)),
        "scene_statements": _delete(session, delete(SceneStatement).where(SceneStatement.event_id == event_id)),
        "scene_blobs": 0,
    }
    if blob_ids:
        removed["scene_blobs"] = _delete(
            session,
            delete(SceneBlob).where(
                SceneBlob.id.in_(blob_ids),
                ~exists().where(ScenePhoto.blob_id == SceneBlob.id),
                ~exists().where(SceneStatement.signature_blob_id == SceneBlob.id),
            ),
        )
    return removed
