"""MoPI reviews API: the review queue (records whose review date has passed), moving due
records into it, and deciding a review (retain with a reason and the next review date,
or dispose: personal data removed, a tombstone left). Data protection officers only.
Errors are problem details (web/errors.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bluelamp.access.policy import Action
from bluelamp.records import mopi
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["reviews"]

Reviewer = Annotated[Caller, Depends(allow(Action.RECORD_REVIEW))]


class ReviewOut(BaseModel):
    id: str
    record_type: str
    record_id: str
    due_on: date
    queued_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision: str | None
    reason: str | None
    next_review_on: date | None

    @classmethod
    def of(cls, review) -> ReviewOut:
        return cls(**{name: getattr(review, name) for name in cls.model_fields})


class QueueItemOut(BaseModel):
    review: ReviewOut
    label: str
    kind: str
    retention_group: str
    retention_rule: str


class TombstoneOut(BaseModel):
    record_type: str
    record_id: str
    retention_group: str
    disposed_at: datetime
    disposed_by: str
    reason: str


class DecidedOut(BaseModel):
    review: ReviewOut
    tombstone: TombstoneOut | None
    removed: dict[str, int] = Field(description="What disposal removed, by kind")


class QueuedOut(BaseModel):
    queued: int


class DecisionIn(BaseModel):
    decision: str = Field(description="retain or dispose")
    reason: str = ""
    next_review_on: date | None = Field(None, description="Retain: the next review (default: the group's period)")


@router.get("/api/v1/reviews", response_model=list[QueueItemOut], tags=TAG, summary="The review queue")
def queue(caller: Reviewer, db: Db, clock: Now, limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    """Records waiting for a review decision, the longest overdue first; audited."""
    with db.unit_of_work() as session:
        items = mopi.review_queue(session, caller.actor, clock, limit=limit)
        return [
            QueueItemOut(
                review=ReviewOut.of(item.review),
                label=item.label,
                kind=item.kind,
                retention_group=item.retention_group,
                retention_rule=mopi.RETENTION_GROUPS[item.retention_group].rule
                if item.retention_group in mopi.RETENTION_GROUPS
                else "",
            )
            for item in items
        ]


@router.post("/api/v1/reviews/due", response_model=QueuedOut, tags=TAG, summary="Queue due records")
def due(caller: Reviewer, db: Db, clock: Now):
    """Move the force's records whose review date has passed into the queue (each once)."""
    with db.unit_of_work() as session:
        return QueuedOut(queued=mopi.review_due(session, clock, force_id=caller.actor.force_id or ""))


@router.post("/api/v1/reviews/{review_id}/decision", response_model=DecidedOut, tags=TAG, summary="Decide a review")
def decide(caller: Reviewer, db: Db, clock: Now, review_id: str, body: DecisionIn):
    """Retain (a reason; the next review date) or dispose (a reason; personal data removed,
    a tombstone left; the record then answers like a missing one). Audited."""
    with db.unit_of_work() as session:
        found = mopi.decide(
            session, caller.actor, review_id, body.decision, body.reason, clock, next_review_on=body.next_review_on
        )
        tombstone = found.tombstone
        return DecidedOut(
            review=ReviewOut.of(found.review),
            tombstone=None
            if tombstone is None
            else TombstoneOut(**{name: getattr(tombstone, name) for name in TombstoneOut.model_fields}),
            removed=found.removed,
        )
