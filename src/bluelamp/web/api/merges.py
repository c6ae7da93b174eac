"""Duplicate persons API: the merge-candidate queue the dedupe job fills, rejecting a
candidate, merging one person into another (the golden nominal) and undoing a merge.

Each route parses, calls one service in one unit of work and renders. A person or merge
of another force answers like a missing one, and the attempt is audited as a refusal.
Errors are problem details (web/errors.py): ``merge.same_person``, ``merge.already_merged``,
``merge.marking``, ``merge.undone``, ``merge.survivor_merged``, ``merge.candidate_decided``,
``merge.reason_required``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.records import pole
from bluelamp.records.duplicates import merge
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["merges"]

Merger = Annotated[Caller, Depends(allow(Action.PERSON_MERGE))]


class PersonBrief(BaseModel):
    """One side of a candidate pair."""

    id: str
    label: str
    given_names: str
    family_name: str
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    gender: str | None
    marking: str

    @classmethod
    def of(cls, person) -> PersonBrief:
        return cls(
            id=person.id,
            label=pole.label(person),
            given_names=person.given_names,
            family_name=person.family_name,
            dob_year=person.dob_year,
            dob_month=person.dob_month,
            dob_day=person.dob_day,
            gender=person.gender,
            marking=person.marking,
        )


class CandidateOut(BaseModel):
    """A likely duplicate pair, with Splink's match weight, probability and explanation
    (each comparison's level and weight)."""

    id: str
    status: str
    match_weight: float
    probability: float
    explanation: dict[str, Any]
    found_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    left: PersonBrief | None = None
    right: PersonBrief | None = None

    @classmethod
    def of(cls, candidate, left=None, right=None) -> CandidateOut:
        return cls(
            id=candidate.id,
            status=candidate.status,
            match_weight=candidate.match_weight,
            probability=candidate.probability,
            explanation=candidate.explanation or {},
            found_at=candidate.found_at,
            decided_at=candidate.decided_at,
            decided_by=candidate.decided_by,
            left=PersonBrief.of(left) if left is not None else None,
            right=PersonBrief.of(right) if right is not None else None,
        )


class MergeOut(BaseModel):
    """A merge: who survived, who was merged into it, what moved, and whether it was undone."""

    id: str
    survivor_id: str
    merged_id: str
    at: datetime
    by: str
    reason: str
    moved: dict[str, Any]
    undone_at: datetime | None
    undone_by: str | None

    @classmethod
    def of(cls, row) -> MergeOut:
        return cls(
            id=row.id,
            survivor_id=row.survivor_id,
            merged_id=row.merged_id,
            at=row.at,
            by=row.by,
            reason=row.reason,
            moved=row.moved or {},
            undone_at=row.undone_at,
            undone_by=row.undone_by,
        )


class MergeIn(BaseModel):
    other_id: str = Field(description="The person merged into this one (the survivor)", max_length=64)
    reason: str = Field("", description="Why they are the same person (audited)", max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field("", description="Why (audited)", max_length=2000)


def _refusal(action: str, record_type: str, record_id: str) -> Audit:
    return Audit(action, Outcome.DENIED, record_type, record_id[:64], {"why": "not found in the caller's force"})


@router.get(
    "/api/v1/merge-candidates", response_model=list[CandidateOut], tags=TAG, summary="The merge-candidate queue"
)
def list_candidates(
    caller: Merger,
    db: Db,
    clock: Now,
    status: Annotated[str, Query(description="open, merged or rejected")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """Likely duplicate pairs of the caller's force whose persons the caller can see,
    highest match weight first. Shows personal data: asks for a reason; audited."""
    with db.unit_of_work() as session:
        found = merge.candidates(session, caller.actor, clock, status=status, limit=limit)
        return [CandidateOut.of(c.candidate, c.left, c.right) for c in found]


@router.post(
    "/api/v1/merge-candidates/{candidate_id}/reject",
    response_model=CandidateOut,
    tags=TAG,
    summary="Not the same person",
)
def reject(caller: Merger, db: Db, clock: Now, candidate_id: str, body: ReasonIn | None = None):
    """Mark a candidate as not a duplicate: the next dedupe run does not raise it again.
    409 ``merge.candidate_decided`` when it was already merged or rejected."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _refusal("merge_candidate.reject", "merge_candidate", candidate_id)),
    ):
        row = merge.reject_candidate(session, caller.actor, candidate_id, clock, reason=body.reason if body else None)
        return CandidateOut.of(row)


@router.post(
    "/api/v1/persons/{person_id}/merge",
    response_model=MergeOut,
    status_code=201,
    tags=TAG,
    summary="Merge another person into this one",
)
def merge_into(caller: Merger, db: Db, clock: Now, person_id: str, body: MergeIn):
    """Merge ``other_id`` into this person (the survivor): names, identifiers, markers,
    addresses and links move; the other person stays, marked as merged. 422
    ``merge.same_person``, 409 ``merge.already_merged`` or ``merge.marking``; a person of
    another force answers 404 like a missing one."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _refusal("person.merge", "person", f"{person_id}<-{body.other_id}")),
    ):
        return MergeOut.of(merge.merge(session, caller.actor, person_id, body.other_id, body.reason, clock))


@router.post("/api/v1/merges/{merge_id}/undo", response_model=MergeOut, tags=TAG, summary="Undo a merge")
def undo(caller: Merger, db: Db, clock: Now, merge_id: str, body: ReasonIn):
    """Move everything the merge moved back and make the merged person live again. 409
    ``merge.undone`` or ``merge.survivor_merged``."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _refusal("person.unmerge", "merge", merge_id)),
    ):
        return MergeOut.of(merge.unmerge(session, caller.actor, merge_id, body.reason, clock))
