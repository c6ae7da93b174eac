"""Duplicate persons' reads and writes: the rows the dedupe job streams in, the merge
candidates it writes and the queue merge.py reads (``duplicates/merge.py``), and merges with
the person parts they move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, aliased

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import (
    Link,
    Location,
    Merge,
    MergeCandidate,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    Victim,
    WarningMarker,
)

# ---------------------------------------------------------------- the dedupe job's input (duplicates/extract.py)


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


# ---------------------------------------------------------------- merge candidates


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


# ---------------------------------------------------------------- merges (duplicates/merge.py)


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
