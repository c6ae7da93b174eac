"""MoPI review pages: the queue of records due for a review decision (the longest overdue
first) with recent decisions, queueing the records whose review date has come, and one
review: retain with a reason and the next review date, or dispose of, confirmed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.policy import Action
from bluelamp.clock import Clock, to_local
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import mopi, pole
from bluelamp.records.model import RecordType
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import Text
from bluelamp.web.pages.records import TYPE_LABELS

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Reviews", "/records/reviews", order=84, action=Action.RECORD_REVIEW)]

Reviewer = Annotated[Caller, Depends(allow(Action.RECORD_REVIEW))]


REVIEW_DONE = {
    "retain": "Record kept; its next review date is set.",
    "dispose": "Record disposed of: its personal data is removed and a tombstone kept.",
}


@router.get("/records/reviews", response_class=HTMLResponse)
def review_queue(request: Request, caller: Reviewer, db: Db, clock: Now, queued: str = ""):
    """Records due for a MoPI review decision, the longest overdue first, and recent decisions."""
    with db.unit_of_work() as session:
        items = mopi.review_queue(session, caller.actor, clock, limit=common.LIST_LIMIT)
        decided = mopi.recent_decisions(session, caller.actor)
    today = to_local(clock.now()).date()
    context = {
        "me": caller,
        "items": items,
        "decided": decided,
        "groups": mopi.RETENTION_GROUPS,
        "today": today,
        "limit": common.LIST_LIMIT,
        "queued": int(queued) if queued.isdigit() else None,
        "kinds": TYPE_LABELS,
    }
    return common.render(request, "crimes/reviews.html", context)


@router.post("/records/reviews/due", response_class=HTMLResponse)
def queue_due(request: Request, caller: Reviewer, db: Db, clock: Now):
    """Move the force's records whose review date has come into the queue (each once)."""
    with db.unit_of_work() as session:
        count = mopi.review_due(session, clock, force_id=pole.force_of(caller.actor))
    return common.redirect(f"/records/reviews?queued={count}")


def _review_page(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    review_id: str,
    *,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    try:
        with db.unit_of_work() as session:
            detail = mopi.review_detail(session, caller.actor, review_id, clock)
    except NotFound:
        return common.missing(request, caller, "review", "/records/reviews", "Reviews")
    today = to_local(clock.now()).date()
    group = mopi.RETENTION_GROUPS.get(detail.retention_group)
    default_next = mopi.next_review(None, detail.retention_group, today) if detail.tombstone is None else None
    context = {
        "me": caller,
        "d": detail,
        "review": detail.review,
        "group": group,
        "today": today,
        "default_next": default_next,
        "field_errors": field_errors or {},
        "form": form or {"decision": "", "reason": "", "next_review_on": "", "confirm": ""},
        "notice": REVIEW_DONE.get(done),
        "kinds": TYPE_LABELS,
        "record_link": _review_record_link(caller, detail),
    }
    return common.render(request, "crimes/review.html", context, status=status)


def _review_record_link(caller: Caller, detail: mopi.ReviewDetail) -> str | None:
    """The record's own page, when it still exists and the reviewer may open it."""
    if detail.label is None:
        return None
    review = detail.review
    if review.record_type == RecordType.PERSON:
        return common.record_path("person", review.record_id) if caller.actor.can(Action.PERSON_READ) else None
    read = pole.EVENT_READ.get(detail.kind or "", Action.PERSON_READ)
    return common.record_path("event", review.record_id, detail.kind) if caller.actor.can(read) else None


@router.get("/records/reviews/{review_id}", response_class=HTMLResponse)
def review_page(request: Request, caller: Reviewer, db: Db, clock: Now, review_id: str, done: str = ""):
    """One review: the record, its retention group and review date, the decision form; once
    decided, the decision, and after disposal the tombstone."""
    return _review_page(request, caller, db, clock, review_id, done=done)


@router.post("/records/reviews/{review_id}/decision", response_class=HTMLResponse)
def decide_review(
    request: Request,
    caller: Reviewer,
    db: Db,
    clock: Now,
    review_id: str,
    decision: Text = "",
    reason: Text = "",
    next_review_on: Text = "",
    confirm: Text = "",
):
    """Retain (a reason, the next review date) or dispose (a reason, confirmed): MoPI."""
    form = {"decision": decision, "reason": reason, "next_review_on": next_review_on, "confirm": confirm}
    problems: list[FieldProblem] = []
    next_on: date | None = None
    if decision == mopi.Decision.RETAIN and next_review_on.strip():
        try:
            next_on = date.fromisoformat(next_review_on.strip())
        except ValueError:
            problems.append(FieldProblem("next_review_on", "use a date like 2032-03-01"))
    if decision == mopi.Decision.DISPOSE and not confirm:
        problems.append(
            FieldProblem("confirm", "confirm that the record's personal data is to be removed: it cannot be undone")
        )
    if problems and not reason.strip():  # say everything at once: the service would refuse it next
        kept = "disposed of" if decision == mopi.Decision.DISPOSE else "kept"
        problems.insert(0, FieldProblem("reason", f"say why the record should be {kept}"))
    if problems:
        errors = by_field(InvalidInput("", problems=problems))
        return _review_page(request, caller, db, clock, review_id, field_errors=errors, form=form, status=422)
    try:
        with db.unit_of_work() as session:
            mopi.decide(session, caller.actor, review_id, decision, reason, clock, next_review_on=next_on)
    except (InvalidInput, Conflict) as error:
        errors = by_field(error)
        return _review_page(
            request, caller, db, clock, review_id, field_errors=errors, form=form, status=common.error_status(error)
        )
    except NotFound:
        return common.missing(request, caller, "review", "/records/reviews", "Reviews")
    return common.redirect(f"/records/reviews/{review_id}?done={decision}")
