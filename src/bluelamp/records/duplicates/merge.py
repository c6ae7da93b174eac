"""Merging duplicate persons into a golden nominal, undoing a merge, and the queue of merge
candidates the dedupe job (``dedupe.py`` beside it) fills.

Decisions this module makes (issue 6):

- **A merge moves, never copies or deletes.** The merged person's names become names of
  the survivor (its primary name an alias; aliases, previous names and nicknames keep
  their kind; search-only rows of double-barrelled parts stay search-only), and its
  identifiers, warning markers, addresses, victim records and links move to the
  survivor. ``Merge.moved`` lists exactly which rows moved and what each was before, so
  ``unmerge`` puts every one of them back.
- **The merged person stays a record** with ``merged_into_id`` set: its own columns (the
  name and date of birth it was recorded with) are kept, every source record's history
  with it, and ``resolve`` turns its id into the survivor's.
- **Gaps in the golden nominal are filled** from the merged person (date of birth when the
  survivor has none, gender, place of birth, ethnicity codes) and the survivor keeps the
  stricter MoPI retention (the lower group, the later review date): the merged record's
  information must be kept as long as its own rules say. Undo restores all of it.
- **Both persons must be visible to the merging user**; a person of another force answers
  like a missing one (house rule), and the survivor must carry at least the merged
  person's marking (and its need-to-know restriction), or merging would show the
  merged person's data to people not cleared for it: merge the other way round.
- **Links between the two persons stay as they are** (moving them would link the golden
  nominal to itself); they read as links to a merged record.
- **Undo** is refused while the survivor is itself merged into another person (undo that
  merge first). It restores the candidate the merge decided to its earlier state.
- **Rejecting a candidate** ("not the same person") keeps it, decided, so the next dedupe
  run does not raise the pair again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import queries as records_queries
from bluelamp.records.duplicates import queries
from bluelamp.records.model import (
    Link,
    Location,
    Merge,
    MergeCandidate,
    NameKind,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    WarningMarker,
)
from bluelamp.records.names import PART_KIND

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("merge.same_person", InvalidInput, "A person cannot be merged into itself."),
    (
        "merge.cross_force",
        Conflict,
        "Both persons of a merge must belong to the same force (a person of another force answers as not found).",
    ),
    (
        "merge.already_merged",
        Conflict,
        "One of the persons is already merged into another; `person_id` and `merged_into_id` say which. "
        "Merge into the survivor, or undo the earlier merge first.",
    ),
    (
        "merge.marking",
        Conflict,
        "The person to merge carries a higher marking or a need-to-know restriction the survivor lacks; "
        "merge the other way round.",
    ),
    ("merge.undone", Conflict, "The merge was already undone."),
    (
        "merge.survivor_merged",
        Conflict,
        "The survivor has since been merged into another person (`merged_into_id`); undo that merge first.",
    ),
    ("merge.candidate_decided", Conflict, "The merge candidate was already decided (merged or rejected)."),
    ("merge.reason_required", InvalidInput, "A merge and an undo each need a reason (it is audited)."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

# Person columns a merge fills on the survivor when it has no value and the merged person has one.
FILLED = ("gender", "birth_place", "self_defined_ethnicity", "officer_ethnicity")
DOB = ("dob_year", "dob_month", "dob_day")
QUEUE_PURPOSE = "duplicate review (merge queue)"
RESOLVE_DEPTH = 64  # merge chains are short; a longer one is a cycle (never written) or corruption


class CandidateStatus:
    OPEN = "open"
    MERGED = "merged"
    REJECTED = "rejected"
    ALL = ("open", "merged", "rejected")


@dataclass(frozen=True)
class Candidate:
    """A likely duplicate pair in the queue, with both persons."""

    candidate: MergeCandidate
    left: Person
    right: Person


# ---------------------------------------------------------------- helpers


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "say why", code="merge.reason_required", problems=[FieldProblem("reason", "a reason is required")]
        )
    return text[:2000]


def _force(actor: Actor) -> str:
    if actor.force_id is None:
        raise NotFound("no force: records belong to a force")
    return actor.force_id


def _person(session: Session, actor: Actor, person_id: str) -> Person:
    found = records_queries.visible_person(session, actor, (person_id or "").strip(), for_update=True)
    if found is None:
        raise NotFound(f"no person {person_id!r}")
    return found


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _stricter_group(a: str | None, b: str | None) -> str | None:
    """MoPI: group 1 is kept longest, then 2, then 3 (and 4, miscellaneous)."""
    groups = [g for g in (a, b) if g]
    return min(groups, key=lambda g: (not g.isdigit(), g)) if groups else None


def resolve(session: Session, person_id: str) -> str:
    """The id a person's records now live under: the survivor of any merge (followed along a
    chain of merges), or the id itself when the person was never merged away."""
    current = person_id
    for _ in range(RESOLVE_DEPTH):
        into = queries.merged_into(session, current)
        if into is None:
            return current
        current = into
    return current


# ---------------------------------------------------------------- merge


def merge(session: Session, actor: Actor, survivor_id: str, merged_id: str, reason: str | None, clock: Clock) -> Merge:
    """Merge one person into another (the survivor, the golden nominal): the merged person's
    names (its primary name as an alias), identifiers, markers, addresses, victim records and
    links move to the survivor; the merged person is kept with ``merged_into_id``. Audited;
    undone by ``unmerge``."""
    require(actor, Action.PERSON_MERGE)
    force_id = _force(actor)
    text = _reason(reason)
    if (survivor_id or "").strip() == (merged_id or "").strip():
        raise InvalidInput(
            "a person cannot be merged into itself",
            code="merge.same_person",
            problems=[FieldProblem("other_id", "the same person as the survivor")],
        )
    survivor = _person(session, actor, survivor_id)
    merged = _person(session, actor, merged_id)
    if survivor.force_id != merged.force_id or survivor.force_id != force_id:
        raise Conflict("both persons of a merge must belong to the same force", code="merge.cross_force")
    for person in (survivor, merged):
        if person.merged_into_id is not None:
            raise Conflict(
                f"person {person.id} is already merged into {person.merged_into_id}",
                code="merge.already_merged",
                extra={"person_id": person.id, "merged_into_id": person.merged_into_id},
            )
    if not Marking(survivor.marking).covers(merged.marking) or (merged.need_to_know and not survivor.need_to_know):
        raise Conflict(
            f"person {merged.id} is marked {merged.marking}"
            + (" (need to know)" if merged.need_to_know else "")
            + f" and the survivor {survivor.marking}: merge the other way round",
            code="merge.marking",
        )

    now = clock.now()
    row = Merge(
        id=clock.new_id(),
        force_id=force_id,
        survivor_id=survivor.id,
        merged_id=merged.id,
        at=now,
        by=actor.username,
        reason=text,
    )
    moved: dict[str, Any] = {"survivor": _golden(session, survivor, merged)}
    parts = queries.person_parts(session, merged.id)
    moved["names"] = [{"id": n.id, "kind": n.kind} for n in parts["names"]]
    for name in parts["names"]:
        name.person_id = survivor.id
        if name.kind == NameKind.PRIMARY:
            name.kind = NameKind.ALIAS.value
    for part in ("identifiers", "markers", "addresses"):
        moved[part] = [r.id for r in parts[part]]
        for part_row in parts[part]:
            part_row.person_id = survivor.id
    # A victim record moves unless the survivor is already a victim of that crime (one row each).
    survivor_events = {v.event_id for v in queries.person_parts(session, survivor.id)["victims"]}
    moved["victims"] = []
    for victim in parts["victims"]:
        if victim.event_id not in survivor_events:
            victim.person_id = survivor.id
            moved["victims"].append(victim.id)
    moved["links"] = []
    for link in queries.person_links(session, force_id, merged.id):
        if _joins(link, survivor.id, merged.id):
            continue
        end = "from" if (link.from_type, link.from_id) == ("person", merged.id) else "to"
        moved["links"].append({"id": link.id, "end": end, "moved_by_merge_id": link.moved_by_merge_id})
        if end == "from":
            link.from_id = survivor.id
        else:
            link.to_id = survivor.id
        link.moved_by_merge_id = row.id
    candidate = queries.candidate_for_pair(session, force_id, survivor.id, merged.id)
    moved["candidate"] = None
    if candidate is not None:
        moved["candidate"] = {
            "id": candidate.id,
            "status": candidate.status,
            "decided_at": candidate.decided_at.isoformat() if candidate.decided_at else None,
            "decided_by": candidate.decided_by,
        }
        candidate.status = CandidateStatus.MERGED
        candidate.decided_at = now
        candidate.decided_by = actor.username
    row.moved = moved
    merged.merged_into_id = survivor.id
    merged.updated_at = now
    survivor.updated_at = now
    session.add(row)
    session.flush()
    _audit_both(session, actor, "person.merge", row, text, _counts(moved), clock)
    return row


def _audit_both(
    session: Session, actor: Actor, action: str, row: Merge, reason: str, counts: dict[str, int], clock: Clock
) -> None:
    """One entry on each person's record, so that a search of the audit log by either finds it."""
    for record_id, other in (
        (row.survivor_id, {"merged_id": row.merged_id}),
        (row.merged_id, {"survivor_id": row.survivor_id}),
    ):
        detail = {"merge_id": row.id, **other, "moved": counts}
        audit.append(
            session,
            actor,
            Audit(action, record_type="person", record_id=record_id, reason=reason, detail=detail),
            clock,
        )


def _joins(link: Link, a: str, b: str) -> bool:
    """True for a link between the two persons (either way round)."""
    ends = {(link.from_type, link.from_id), (link.to_type, link.to_id)}
    return ends == {("person", a), ("person", b)}


def _golden(session: Session, survivor: Person, merged: Person) -> dict[str, Any]:
    """Fill the survivor's gaps from the merged person and give it the stricter retention
    (before anything moves: the survivor's own name rows are still its only ones); return
    what the survivor had before, for undo."""
    before: dict[str, Any] = {
        "retention_group": survivor.retention_group,
        "review_at": _iso(survivor.review_at),
        "filled": {},
    }
    if survivor.dob_year is None and merged.dob_year is not None:
        for column in DOB:
            before["filled"][column] = getattr(survivor, column)
            setattr(survivor, column, getattr(merged, column))
        # The survivor's own name rows carry its year of birth for search (copied from the person).
        before["name_years"] = {}
        for name in queries.person_parts(session, survivor.id)["names"]:
            if name.dob_year is None:
                before["name_years"][str(name.id)] = None
                name.dob_year = survivor.dob_year
    for column in FILLED:
        if not getattr(survivor, column) and getattr(merged, column):
            before["filled"][column] = getattr(survivor, column)
            setattr(survivor, column, getattr(merged, column))
    survivor.retention_group = _stricter_group(survivor.retention_group, merged.retention_group) or "3"
    reviews = [d for d in (survivor.review_at, merged.review_at) if d]
    survivor.review_at = max(reviews) if reviews else None
    return before


def _counts(moved: dict[str, Any]) -> dict[str, int]:
    return {k: len(v) for k, v in moved.items() if isinstance(v, list)}


# ---------------------------------------------------------------- unmerge


def unmerge(session: Session, actor: Actor, merge_id: str, reason: str | None, clock: Clock) -> Merge:
    """Undo a merge: every row it moved goes back to the merged person as it was (kinds, link
    ends), the survivor's filled gaps and retention are restored, the merged person is live
    again, and the candidate returns to its earlier state. Audited."""
    require(actor, Action.PERSON_MERGE)
    force_id = _force(actor)
    text = _reason(reason)
    row = queries.merge_by_id(session, force_id, (merge_id or "").strip(), for_update=True)
    if row is None:
        raise NotFound(f"no merge {merge_id!r}")
    survivor = records_queries.visible_person(session, actor, row.survivor_id, for_update=True)
    merged = records_queries.visible_person(session, actor, row.merged_id, for_update=True)
    if survivor is None or merged is None:
        raise NotFound(f"no merge {merge_id!r}")
    if row.undone_at is not None:
        raise Conflict(
            f"merge {row.id} was already undone", code="merge.undone", extra={"undone_at": row.undone_at.isoformat()}
        )
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"the survivor {survivor.id} has since been merged into {survivor.merged_into_id}: undo that first",
            code="merge.survivor_merged",
            extra={"merged_into_id": survivor.merged_into_id},
        )
    moved = row.moved or {}
    now = clock.now()
    kinds = {entry["id"]: entry["kind"] for entry in moved.get("names", [])}
    for name in queries.parts_by_ids(session, "names", list(kinds)):
        name.person_id = merged.id
        name.kind = kinds[name.id]
    for part in ("identifiers", "markers", "addresses", "victims"):
        for part_row in queries.parts_by_ids(session, part, moved.get(part, [])):
            part_row.person_id = merged.id
    ends = {entry["id"]: entry for entry in moved.get("links", [])}
    for link in queries.links_by_ids(session, list(ends)):
        entry = ends[link.id]
        if entry["end"] == "from":
            link.from_id = merged.id
        else:
            link.to_id = merged.id
        link.moved_by_merge_id = entry.get("moved_by_merge_id")
    before = moved.get("survivor") or {}
    if before:
        for column, value in before.get("filled", {}).items():
            setattr(survivor, column, value)
        years = before.get("name_years", {})
        for name in queries.parts_by_ids(session, "names", [int(k) for k in years]):
            name.dob_year = years[str(name.id)]
        survivor.retention_group = before.get("retention_group") or survivor.retention_group
        survivor.review_at = date.fromisoformat(before["review_at"]) if before.get("review_at") else None
    if moved.get("candidate"):
        state = moved["candidate"]
        candidate = queries.candidate_by_id(session, force_id, state["id"])
        if candidate is not None:
            candidate.status = state["status"]
            candidate.decided_at = _moment(state.get("decided_at"))
            candidate.decided_by = state.get("decided_by")
    merged.merged_into_id = None
    merged.updated_at = now
    survivor.updated_at = now
    row.undone_at = now
    row.undone_by = actor.username
    session.flush()
    _audit_both(session, actor, "person.unmerge", row, text, _counts(moved), clock)
    return row


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# ---------------------------------------------------------------- the candidate queue


def candidates(
    session: Session, actor: Actor, clock: Clock, *, status: str = CandidateStatus.OPEN, limit: int = 100
) -> list[Candidate]:
    """The merge queue: likely duplicate pairs of the actor's force whose persons the actor
    can see, highest match weight first. Audited with the reason stated, or the queue's own
    purpose (as the MoPI review queue is): working the queue is the reason."""
    require(actor, Action.PERSON_MERGE)
    _force(actor)
    if status not in CandidateStatus.ALL:
        raise InvalidInput(
            f"status must be one of {', '.join(CandidateStatus.ALL)}",
            problems=[FieldProblem("status", f"use one of {', '.join(CandidateStatus.ALL)}")],
        )
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be 1 to 1000", problems=[FieldProblem("limit", "use 1 to 1000")])
    why = actor.reason or QUEUE_PURPOSE
    found = [Candidate(c, a, b) for c, a, b in queries.candidate_queue(session, actor, status=status, limit=limit)]
    audit.append(
        session,
        actor,
        Audit(
            "merge_candidate.list",
            record_type="merge_candidate",
            reason=why,
            detail={"status": status, "count": len(found), "ids": [c.candidate.id for c in found][:100]},
        ),
        clock,
    )
    return found


def reject_candidate(
    session: Session, actor: Actor, candidate_id: str, clock: Clock, *, reason: str | None = None
) -> MergeCandidate:
    """Decide that a candidate pair is not the same person: the pair stays in the table as
    rejected, so later dedupe runs do not raise it again. Audited."""
    require(actor, Action.PERSON_MERGE)
    force_id = _force(actor)
    text = (reason or "").strip() or "not the same person"
    candidate = queries.candidate_by_id(session, force_id, (candidate_id or "").strip())
    if candidate is None or any(
        records_queries.visible_person(session, actor, pid) is None for pid in (candidate.left_id, candidate.right_id)
    ):
        raise NotFound(f"no merge candidate {candidate_id!r}")
    if candidate.status != CandidateStatus.OPEN:
        raise Conflict(
            f"the candidate was already {candidate.status}",
            code="merge.candidate_decided",
            extra={"candidate_status": candidate.status},
        )
    candidate.status = CandidateStatus.REJECTED
    candidate.decided_at = clock.now()
    candidate.decided_by = actor.username
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "merge_candidate.reject",
            record_type="merge_candidate",
            record_id=candidate.id,
            reason=text[:2000],
            detail={"left_id": candidate.left_id, "right_id": candidate.right_id},
        ),
        clock,
    )
    return candidate


# ---------------------------------------------------------------- the queue's pages: comparing, recent merges


@dataclass(frozen=True)
class PersonSide:
    """One person of a candidate pair as the comparison shows it."""

    person: Person
    names: list[PersonName]  # the primary name first; search-only rows left out
    identifiers: list[PersonIdentifier]
    markers: list[WarningMarker]  # current and past, newest first
    addresses: list[tuple[PersonAddress, Location]]  # at locations the actor may see


@dataclass(frozen=True)
class Comparison:
    """A candidate pair side by side, for the decision to merge or reject."""

    candidate: MergeCandidate
    left: PersonSide
    right: PersonSide


@dataclass(frozen=True)
class MergeView:
    """A merge with both persons, as the list of recent merges shows it."""

    merge: Merge
    survivor: Person
    merged: Person


def _side(session: Session, actor: Actor, person: Person) -> PersonSide:
    return PersonSide(
        person=person,
        names=[n for n in records_queries.names_of(session, person.id) if n.kind != PART_KIND],
        identifiers=records_queries.identifiers_of(session, person.id),
        markers=records_queries.markers_of(session, person.id),
        addresses=records_queries.addresses_of(session, actor, person.id),
    )


def compare_candidate(session: Session, actor: Actor, candidate_id: str, clock: Clock) -> Comparison:
    """A candidate pair side by side: each person's identity, names, identifiers, warning
    markers and addresses. A candidate of another force, or with a person the actor cannot
    see, answers like a missing one. Audited (``merge_candidate.compare``) with the reason
    stated, or the queue's own purpose."""
    require(actor, Action.PERSON_MERGE)
    force_id = _force(actor)
    candidate = queries.candidate_by_id(session, force_id, (candidate_id or "").strip())
    people = []
    if candidate is not None:
        people = [
            records_queries.visible_person(session, actor, pid) for pid in (candidate.left_id, candidate.right_id)
        ]
    if candidate is None or any(p is None for p in people):
        raise NotFound(f"no merge candidate {candidate_id!r}")
    left, right = (_side(session, actor, p) for p in people)
    audit.append(
        session,
        actor,
        Audit(
            "merge_candidate.compare",
            record_type="merge_candidate",
            record_id=candidate.id,
            reason=actor.reason or QUEUE_PURPOSE,
            detail={"left_id": candidate.left_id, "right_id": candidate.right_id},
        ),
        clock,
    )
    return Comparison(candidate, left, right)


def recent_merges(session: Session, actor: Actor, clock: Clock, *, limit: int = 20) -> list[MergeView]:
    """The force's merges, newest first (undone ones too, saying so), whose persons the
    actor can see: where a merge is undone from. Audited (``merge.list``) with the reason
    stated, or the queue's own purpose."""
    require(actor, Action.PERSON_MERGE)
    _force(actor)
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be 1 to 200", problems=[FieldProblem("limit", "use 1 to 200")])
    found = [MergeView(row, a, b) for row, a, b in queries.recent_merges(session, actor, limit)]
    audit.append(
        session,
        actor,
        Audit(
            "merge.list",
            record_type="merge",
            reason=actor.reason or QUEUE_PURPOSE,
            detail={"count": len(found), "ids": [m.merge.id for m in found]},
        ),
        clock,
    )
    return found


# ---------------------------------------------------------------- a person's merges (profile pages)


@dataclass(frozen=True)
class MergeHistory:
    """What merges say about a person: the merge that moved it into a golden nominal (if
    any) and the person its records now live under; the persons merged into it."""

    merged_by: Merge | None  # the merge that moved this person away, when it was merged
    golden: Person | None  # where its records now live (``resolve``), when the actor may see it
    merged_from: list[tuple[Merge, Person]]  # persons merged into this one that the actor may see


def history(session: Session, actor: Actor, person_id: str) -> MergeHistory:
    """A person's merges, for its profile (the caller has read the person: a reason asked,
    audited). Merges that were undone are left out; so are persons the actor may not see."""
    require(actor, Action.PERSON_READ)
    force_id = _force(actor)
    merged_by = None
    merged_from = []
    for row in queries.merges_of_person(session, force_id, person_id):
        if row.merged_id == person_id:
            merged_by = row
        else:
            source = records_queries.visible_person(session, actor, row.merged_id)
            if source is not None:
                merged_from.append((row, source))
    golden = None
    if merged_by is not None:
        target = resolve(session, person_id)
        golden = records_queries.visible_person(session, actor, target) if target != person_id else None
    return MergeHistory(merged_by, golden, merged_from)
