"""MoPI reviews (issue 6 item 4): the Management of Police Information (College of
Policing Authorised Professional Practice, "Information management: retention, review
and disposal") asks that every record belong to a retention group and be reviewed when
its review date comes; a review keeps it (with a reason) or disposes of it.

The retention groups and their review periods are one table, ``RETENTION_GROUPS`` below
(built on the periods in records/pole.py, which gives new records their first review
date). This module decides which group an offence puts a record in, moves due records
into the review queue and records the decisions.

Decisions this module makes:

- **An offence's group**: group 1 for the serious specified offences MoPI treats as public
  protection matters (homicide and attempts, rape, sexual offences against children,
  kidnapping, grievous bodily harm with intent, arson endangering life, firearms with
  intent, modern slavery...: ``GROUP_1_OFFENCES``); group 2 for the other violent, sexual
  and serious offences (every other offence counted as violence and sexual offences,
  possession of weapons or robbery, and aggravated burglary, violent disorder and drug
  trafficking); group 3 for all other offences. A person's group rises (never falls)
  when a crime they are the suspect of closes with an outcome that deals with them.
- **Due records join the queue** when their review date (a Europe/London date) has come
  and they are neither disposed of nor already waiting: ``review_due`` can run as often as
  wanted (``bluelamp records review-due``, or the review page's button) and queues each
  record once.
- **Retain** needs a reason and sets the next review date (given, after today; default:
  the group's period from today).
- **Dispose** needs a reason too: it is written on the tombstone. For a person, their
  names, identifiers, warning markers and addresses, their entries as victims (with the
  updates given to them), every link to or from them and open merge candidates naming
  them are deleted, and the name, date of birth, place of birth, gender, ethnicity and
  description are blanked. For an event, its summary and narrative are blanked (and, for
  an intelligence report, its text, handling conditions and source), its victims (with
  their updates) and every link to or from it are deleted: a link says who was involved,
  which is personal data. The crime's classification and outcome stay (they are counted
  and published without personal data), and its investigation log stays because the
  database refuses to delete it; it can no longer be reached. The record keeps its id with
  ``disposed_at`` set, a ``records_tombstone`` row says who disposed of it, when and why,
  and the audit log has the decision with what was removed. From then on the record
  answers like a missing one, to everyone (every records query filters ``disposed_at``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import classification, pole
from bluelamp.records.model import Event, Intelligence, Person, RecordType, Review, Tombstone
from bluelamp.records.retention import queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("review.decided", Conflict, "The review was already decided; `decision` says how."),
    ("review.reason_required", InvalidInput, "A review decision (retain or dispose) needs a reason."),
]:
    CATALOGUE.register(_code, _kind, _meaning)


@dataclass(frozen=True)
class RetentionGroup:
    group: str
    name: str
    rule: str
    review_years: int
    until_age: int | None = None


# MoPI (APP Information management, "retention, review and disposal"): the retention groups.
# The periods are pole.RETENTION_REVIEW_YEARS and pole.RETENTION_UNTIL_AGE (one source).
RETENTION_GROUPS: dict[str, RetentionGroup] = {
    "1": RetentionGroup(
        "1",
        "Certain public protection matters",
        "retained until the subject is 100 years old; reviewed every 10 years when their age is not known",
        pole.RETENTION_REVIEW_YEARS["1"],
        pole.RETENTION_UNTIL_AGE["1"],
    ),
    "2": RetentionGroup(
        "2",
        "Other sexual, violent or serious offences",
        "reviewed every 10 years",
        pole.RETENTION_REVIEW_YEARS["2"],
    ),
    "3": RetentionGroup("3", "All other offences", "reviewed after 6 years", pole.RETENTION_REVIEW_YEARS["3"]),
    "4": RetentionGroup(
        "4", "Miscellaneous (no offence, undetected)", "reviewed after 6 years", pole.RETENTION_REVIEW_YEARS["4"]
    ),
}
# How serious a group is: a record's group only rises.
_SEVERITY = {"1": 3, "2": 2, "3": 1, "4": 0}

# Serious specified offences handled as public protection matters (group 1).
GROUP_1_OFFENCES = frozenset(
    {
        "1", "4.1", "4.10", "4.2",  # homicide
        "2", "3A",  # attempted murder, conspiracy to murder
        "4.3", "4.7",  # destroying an unborn child; causing or allowing the death of a child
        "19C", "19D", "19E", "19F", "19G", "19H",  # rape
        "17B", "20B", "21", "22B", "71", "72", "88A", "70", "73",  # sexual offences against children, vulnerable people
        "36", "5D", "56A",  # kidnapping, GBH with intent, arson endangering life
        "10A", "106",  # possessing firearms with intent, modern slavery
    }
)  # fmt: skip
# Serious offences outside violence, weapons and robbery (group 2).
GROUP_2_OFFENCES = frozenset({"29", "29A", "31", "31A", "62A", "92A"})
GROUP_2_CATEGORIES = frozenset({"violent-crime", "possession-of-weapons", "robbery"})


def group_for_offence(code: str) -> str:
    """The MoPI retention group of a crime with this Home Office offence code."""
    offence = classification.offence(code)
    if offence is None:
        return "3"
    if offence.code in GROUP_1_OFFENCES:
        return "1"
    if offence.code in GROUP_2_OFFENCES or offence.police_uk_category in GROUP_2_CATEGORIES:
        return "2"
    return "3"


def _dob(record: Any) -> tuple[int | None, int | None, int | None]:
    if isinstance(record, Person):
        return record.dob_year, record.dob_month, record.dob_day
    return None, None, None


def next_review(record: Any, group: str, today: date) -> date:
    """The next review date of a record in a group, counted from today (never today or earlier)."""
    day = pole.default_review_date(group, today, *_dob(record))
    if day <= today:  # past the age limit already: the group's period from today
        day = pole.add_years(today, pole.RETENTION_REVIEW_YEARS.get(group, 6))
    return day


def assign_group(record: Person | Event, group: str, today: date, *, replace: bool = False) -> None:
    """Put a person or event in a retention group from today. The group only rises (and the
    review date only moves later) unless ``replace`` (an event's offence reclassified)."""
    group = str(group)
    current = str(record.retention_group or "3")
    if not replace and _SEVERITY.get(group, 0) < _SEVERITY.get(current, 0):
        return
    review = next_review(record, group, today)
    if not replace and record.review_at is not None and group == current:
        review = max(review, record.review_at)
    record.retention_group = group
    record.review_at = review


# ---------------------------------------------------------------- the queue


def review_due(session: Session, clock: Clock, *, force_id: str | None = None, batch: int = 1000) -> int:
    """Move every person and event whose review date has passed into the review queue (of
    one force, or all); records already waiting are not queued again. How many were queued."""
    now = clock.now()
    today = to_local(now).date()
    queued: dict[str, dict[str, int]] = {}
    for record_type in (RecordType.PERSON.value, RecordType.EVENT.value):
        while True:
            due = queries.records_due_for_review(session, record_type, today, force_id, batch)
            if not due:
                break
            for record in due:
                session.add(
                    Review(
                        id=clock.new_id(),
                        force_id=record.force_id,
                        record_type=record_type,
                        record_id=record.id,
                        due_on=record.review_at,
                        queued_at=now,
                    )
                )
                counts = queued.setdefault(record.force_id, {"person": 0, "event": 0})
                counts[record_type] += 1
            session.flush()
    for force, counts in sorted(queued.items()):
        audit.append(
            session,
            Actor.system(force, "mopi", via="job"),
            Audit("record.review_due", detail={"queued": sum(counts.values()), **counts, "today": today.isoformat()}),
            clock,
        )
    return sum(sum(c.values()) for c in queued.values())


@dataclass(frozen=True)
class QueueItem:
    """A record waiting for a review decision."""

    review: Review
    label: str
    kind: str  # person, or the event's kind
    retention_group: str
    review_at: date | None


def review_queue(session: Session, actor: Actor, clock: Clock, *, limit: int = 200) -> list[QueueItem]:
    """The force's open reviews the actor may see (records within their clearance), the
    longest overdue first; audited (the labels name persons)."""
    require(actor, Action.RECORD_REVIEW)
    force_id = pole.force_of(actor)
    reviews = queries.open_reviews(session, actor, force_id, limit=max(1, min(limit, 1000)))
    records: dict[str, dict[str, Any]] = {}
    for record_type in (RecordType.PERSON.value, RecordType.EVENT.value):
        ids = [r.record_id for r in reviews if r.record_type == record_type]
        records[record_type] = queries.reviewable(session, actor, record_type, ids)
    items = []
    for review in reviews:
        record = records[review.record_type].get(review.record_id)
        if record is not None:
            items.append(
                QueueItem(review, pole.label(record), pole.kind_of(record), record.retention_group, record.review_at)
            )
    audit.append(session, actor, Audit("record.review_queue", detail={"shown": len(items)}), clock)
    return items


# ---------------------------------------------------------------- decisions


class Decision(StrEnum):
    RETAIN = "retain"
    DISPOSE = "dispose"


@dataclass
class Decided:
    """A review decided: what happened to the record."""

    review: Review
    tombstone: Tombstone | None = None
    removed: dict[str, int] = field(default_factory=dict)


def decide(
    session: Session,
    actor: Actor,
    review_id: str,
    decision: str,
    reason: str,
    clock: Clock,
    *,
    next_review_on: date | None = None,
) -> Decided:
    """Retain a record under review (with a reason and the next review date) or dispose of
    it (personal data removed, a tombstone left); audited."""
    require(actor, Action.RECORD_REVIEW)
    force_id = pole.force_of(actor)
    review = queries.review_in_force(session, force_id, review_id, for_update=True)
    record = None
    if review is not None:
        record = queries.reviewable(session, actor, review.record_type, [review.record_id], for_update=True).get(
            review.record_id
        )
    if review is None or (record is None and review.decided_at is None):
        raise NotFound(f"no review {review_id!r}")
    if review.decided_at is not None:
        raise Conflict(
            f"the review was already decided: {review.decision}",
            code="review.decided",
            extra={"decision": review.decision, "decided_by": review.decided_by},
        )
    now = clock.now()
    today = to_local(now).date()
    problems: list[FieldProblem] = []
    choice = (decision or "").strip().lower()
    if choice not in {d.value for d in Decision}:
        problems.append(FieldProblem("decision", "use retain or dispose"))
    why = " ".join((reason or "").split())
    if not why:
        problems.append(
            FieldProblem("reason", f"say why the record should be {'disposed of' if choice == 'dispose' else 'kept'}")
        )
    if next_review_on is not None and choice == Decision.DISPOSE:
        problems.append(FieldProblem("next_review_on", "only a retained record has a next review"))
    elif next_review_on is not None and next_review_on <= today:
        problems.append(FieldProblem("next_review_on", "must be after today"))
    if problems:
        code = "review.reason_required" if [p.field for p in problems] == ["reason"] else "input.invalid"
        raise pole.invalid(problems, code)

    result = Decided(review)
    if choice == Decision.RETAIN:
        record.review_at = next_review_on or next_review(record, record.retention_group, today)
        review.next_review_on = record.review_at
    else:
        result.removed, result.tombstone = _dispose(session, actor, review, record, why, clock)
    review.decided_at = now
    review.decided_by = actor.username
    review.decision = choice
    review.reason = why
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            f"record.{choice}",
            record_type=review.record_type,
            record_id=review.record_id,
            detail={
                "review_id": review.id,
                "retention_group": str(record.retention_group),
                "next_review_on": review.next_review_on.isoformat() if review.next_review_on else None,
                "removed": result.removed,
                "why": why,
            },
        ),
        clock,
    )
    return result


def _dispose(
    session: Session, actor: Actor, review: Review, record: Any, why: str, clock: Clock
) -> tuple[dict[str, int], Tombstone]:
    now = clock.now()
    group = str(record.retention_group)
    record.disposed_at = now
    record.review_at = None
    record.updated_at = now
    # Marked disposed of in the database first: it lets the deletes of an event's log and
    # scene rows through (the database refuses them otherwise, migration 0010); and pending
    # changes are written before the deletes below expire what the session holds.
    session.flush()
    if isinstance(record, Person):
        removed = queries.remove_person_data(session, record.id)
        record.given_names = ""
        record.family_name = ""
        record.dob_year = record.dob_month = record.dob_day = None
        record.birth_place = None
        record.gender = None
        record.self_defined_ethnicity = None
        record.officer_ethnicity = None
        record.description = {}
    else:
        removed = queries.remove_event_data(session, record.id)
        record.summary = ""
        record.narrative = ""
        report = session.get(Intelligence, record.id)
        if report is not None:
            report.sanitised_text = ""
            report.handling_conditions = None
            report.source_reference = None
            report.source_details = None
    tombstone = Tombstone(
        force_id=record.force_id,
        record_type=review.record_type,
        record_id=record.id,
        retention_group=group,
        disposed_at=now,
        disposed_by=actor.username,
        reason=why,
    )
    session.add(tombstone)
    session.flush()
    return removed, tombstone


# ---------------------------------------------------------------- one review, and decisions taken (pages)


@dataclass(frozen=True)
class ReviewDetail:
    """One review as its page shows it: the record while it exists (label, kind, group,
    review date), and once decided, the decision and (after disposal) the tombstone."""

    review: Review
    label: str | None  # None once the record is disposed
    kind: str | None
    retention_group: str
    review_at: date | None
    tombstone: Tombstone | None


def review_detail(session: Session, actor: Actor, review_id: str, clock: Clock) -> ReviewDetail:
    """A review of the actor's force (a record they may see, or its tombstone); NotFound
    otherwise, alike for missing and hidden; audited (the label names a person)."""
    require(actor, Action.RECORD_REVIEW)
    force_id = pole.force_of(actor)
    review = queries.review_for_reader(session, actor, force_id, review_id)
    if review is None:
        raise NotFound(f"no review {review_id!r}")
    record = queries.reviewable(session, actor, review.record_type, [review.record_id]).get(review.record_id)
    tombstone = queries.tombstone_of(session, force_id, review.record_type, review.record_id)
    if record is not None:
        detail = ReviewDetail(
            review, pole.label(record), pole.kind_of(record), str(record.retention_group), record.review_at, None
        )
    else:
        group = tombstone.retention_group if tombstone is not None else ""
        detail = ReviewDetail(review, None, None, group, None, tombstone)
    audit.append(
        session,
        actor,
        Audit("record.review_read", record_type=review.record_type, record_id=review.record_id),
        clock,
    )
    return detail


def recent_decisions(session: Session, actor: Actor, *, limit: int = 20) -> list[tuple[Review, Tombstone | None]]:
    """The force's latest review decisions on records the actor may see, newest first, with
    the tombstone each disposal left (record types and ids only: no personal data)."""
    require(actor, Action.RECORD_REVIEW)
    return queries.decided_reviews(session, actor, pole.force_of(actor), limit=max(1, min(limit, 200)))
