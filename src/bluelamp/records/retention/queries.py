"""MoPI reviews and disposal: which persons and events are due for review, the review
queue, decided reviews with the tombstones disposals left, and the deletes that remove a
disposed person's or event's data (its scene's too). A review is shown only when the actor
may see the record it names (disposed or not)."""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, or_, select, union
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import (
    Event,
    InvestigationEntry,
    Link,
    MergeCandidate,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    Review,
    Victim,
    VictimUpdate,
    WarningMarker,
)

# ---------------------------------------------------------------- reviews


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


# ---------------------------------------------------------------- decided reviews and tombstones (the review pages)


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


# ---------------------------------------------------------------- disposal


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
