"""Victims' Code pages: victims whose update is overdue, by officer in charge, and on a
crime, recording a victim, an update given to them, their enhanced service and their choice
to opt out of updates (each a post that goes back to the crime, like its other changes).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bluelamp.access.policy import Action
from bluelamp.errors import FieldProblem, InvalidInput, NotFound
from bluelamp.records import victims
from bluelamp.web.deps import Db, Now
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import CrimeReader, Text
from bluelamp.web.pages.crime_record import Change

router = APIRouter(include_in_schema=False)
NAV = []


@router.get("/records/victims/overdue", response_class=HTMLResponse)
def overdue_victims(request: Request, caller: CrimeReader, db: Db, clock: Now, officer: str = "", everyone: str = ""):
    """Victims whose Victims' Code update is overdue, by officer in charge: an officer's own
    crimes first (they may look at everyone's), everyone's for a supervisor."""
    is_officer = caller.actor.can(Action.CRIME_RECORD)
    wanted = officer.strip().lower()
    if not wanted and not everyone and is_officer:
        wanted = caller.actor.username
    with db.read() as session:
        found = victims.overdue_updates(session, caller.actor, officer=wanted or None, clock=clock)
    groups: dict[str | None, list] = {}
    for item in found:
        groups.setdefault(item.officer, []).append(item)
    context = {
        "me": caller,
        "groups": list(groups.items()),
        "officer": wanted,
        "is_officer": is_officer,
        "mine": wanted == caller.actor.username,
        "count": len(found),
        **common.crime_tabs("overdue", caller),
    }
    return common.render(request, "crimes/overdue.html", context)


@router.post("/records/crimes/{crime_id}/victims", response_class=HTMLResponse)
def add_victim(
    change: Change,
    person_id: Text = "",
    enhanced: Text = "",
    enhanced_reason: Text = "",
    contact_preference: Text = "",
):
    """Record a person as a victim of the crime: their Victims' Code clock starts."""
    form = {
        "person_id": person_id,
        "enhanced": enhanced,
        "enhanced_reason": enhanced_reason,
        "contact_preference": contact_preference,
    }

    def work(session):
        if not person_id.strip():
            raise InvalidInput("name the person", problems=[FieldProblem("person_id", "give the person's record id")])
        try:
            return victims.add_victim(
                session,
                change.actor,
                change.crime_id,
                person_id.strip(),
                change.clock,
                enhanced=bool(enhanced),
                enhanced_reason=enhanced_reason,
                contact_preference=contact_preference,
            )
        except NotFound as error:
            if error.detail.startswith("no person"):
                raise InvalidInput(
                    "no such person", problems=[FieldProblem("person_id", f"there is no person {person_id.strip()!r}")]
                ) from None
            raise

    return change("victim", form, work, "victims")


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/updates", response_class=HTMLResponse)
def victim_update(change: Change, victim_id: str, method: Text = "", text: Text = ""):
    """Record an update given to a victim: their clock restarts."""

    def work(session):
        return victims.record_update(session, change.actor, victim_id, method, text, change.clock)

    return change(f"victim_update:{victim_id}", {"method": method, "text": text}, work, f"victim-{victim_id}")


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/enhanced", response_class=HTMLResponse)
def victim_enhanced(change: Change, victim_id: str, enhanced: Text = "", reason: Text = ""):
    """Give a victim the enhanced service (with why) or the standard one."""

    def work(session):
        return victims.set_enhanced(session, change.actor, victim_id, enhanced == "yes", reason, change.clock)

    return change(f"enhanced:{victim_id}", {"enhanced": enhanced, "reason": reason}, work, f"victim-{victim_id}")


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/opt-out", response_class=HTMLResponse)
def victim_opt_out(change: Change, victim_id: str, opted_out: Text = "", reason: Text = ""):
    """The victim opts out of updates, or back in."""

    def work(session):
        return victims.set_opted_out(session, change.actor, victim_id, opted_out == "yes", reason, change.clock)

    return change(f"opt_out:{victim_id}", {"opted_out": opted_out, "reason": reason}, work, f"victim-{victim_id}")
