"""One crime: its page (classification, NCRS clock, officer in charge, linked persons and
places, victims' clocks, investigation log, outcome) and the investigation's changes: a log
entry, a correction, the officer in charge, reclassification, closing with an outcome and
reopening.

Reading a crime asks for a reason: the service refuses without one and web/errors.py sends
the browser to state it, then back. A crime of another force answers exactly like a missing
one. Each change is a plain post that redirects back to the crime (303); a refusal draws the
crime again with the message next to its field and what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.clock import Clock
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import classification, crime, mopi, victims
from bluelamp.records.model import LinkRole, RecordType
from bluelamp.storage import Database
from bluelamp.web.auth import Caller
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import CrimeReader, CrimeRecorder, Text

router = APIRouter(include_in_schema=False)
NAV = []

LOG_KIND_LABELS = {
    "recorded": "Recorded",
    "note": "Note",
    "correction": "Correction",
    "officer": "Officer in charge",
    "classification": "Classification",
    "victim": "Victim",
    "victim_update": "Victim update",
    "outcome": "Outcome",
    "reopened": "Reopened",
}
UPDATE_METHODS = [(m.value, m.value.capitalize()) for m in victims.UpdateMethod]
CRIME_DONE = {
    "recorded": "Crime recorded.",
    "note": "Added to the investigation log.",
    "correct": "Correction added to the investigation log.",
    "officer": "Officer in charge changed.",
    "classification": "Crime reclassified.",
    "outcome": "Crime closed with its outcome. Each victim is due an update about it.",
    "reopen": "Crime reopened. Each victim is due an update about it.",
    "victim": "Victim recorded; their first update is due as shown.",
    "victim_update": "Update recorded; the victim's clock has restarted.",
    "enhanced": "Victim's service changed.",
    "opt_out": "Victim's choice about updates recorded.",
}


def _missing_crime_audit(crime_id: str) -> Audit:
    return Audit("crime.read", Outcome.DENIED, "event", crime_id[:64], {"why": "not found in the caller's force"})


@dataclass
class VictimView:
    victim: Any
    person: Any
    clock: victims.UpdateClock
    updates: list


def _crime_page(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    crime_id: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    """A crime in full (the read asks for a reason; audited), with the forms its actions need."""
    try:
        with (
            audited(db, caller.trail) as session,
            refused_if_missing(caller.trail, _missing_crime_audit(crime_id)),
        ):
            found = crime.get_crime(session, caller.actor, crime_id, clock)
            updates: dict[str, list] = {}
            for update in victims.updates_of(session, [v.id for v, _ in found.victims]):
                updates.setdefault(update.victim_id, []).append(update)
    except NotFound:
        return common.missing(request, caller, "crime", "/records/crimes", "Crimes")
    now = clock.now()
    row = found.crime
    people: dict[str, list] = {"suspect": [], "victim": [], "witness": [], "other": []}
    others, places = [], []
    links, withheld = common.openable(caller, found.links)
    for view in links:
        if view.other.type == RecordType.PERSON:
            key = view.link.role if view.link.role in people else "other"
            people[key].append(view)
        elif view.link.role == LinkRole.OCCURRED_AT:
            places.append(view)
        else:
            others.append(view)
    context = {
        "me": caller,
        "event": found.event,
        "crime": row,
        "offence": classification.offence(row.offence_code),
        "outcome": classification.outcome(row.outcome_code) if row.outcome_code else None,
        "late_by": crime.late_by(row),
        "recorded_after": row.recorded_at - row.reported_at,
        "people": people,
        "places": places,
        "others": others,
        "withheld": withheld,
        "victims": [VictimView(v, p, victims.update_clock(v, now), updates.get(v.id, [])) for v, p in found.victims],
        "log": found.log,
        "log_kinds": LOG_KIND_LABELS,
        "retention": mopi.RETENTION_GROUPS.get(str(found.event.retention_group)),
        "outcomes": list(classification.OUTCOMES.values()),
        "offence_groups": common.offence_groups(),
        "methods": UPDATE_METHODS,
        "errors": errors or {},
        "forms": forms or {},
        "notice": CRIME_DONE.get(done),
        "can": {
            "record": caller.actor.can(Action.CRIME_RECORD),
            "persons": caller.actor.can(Action.PERSON_READ),
            "incidents": caller.actor.can(Action.INCIDENT_READ),
        },
        "closed": row.status == crime.CrimeStatus.CLOSED,
        **common.crime_tabs("crime", caller),
    }
    return common.render(request, "crimes/crime.html", context, status=status)


@router.get("/records/crimes/{crime_id}", response_class=HTMLResponse)
def crime_page(request: Request, caller: CrimeReader, db: Db, clock: Now, crime_id: str, done: str = ""):
    """One crime: classification, NCRS clock, officer, persons, victims' clocks, log, outcome."""
    return _crime_page(request, caller, db, clock, crime_id, done=done)


@dataclass(frozen=True)
class CrimeChange:
    """One change to a crime from its page (every change route takes one): ``change(section,
    form, work, anchor)`` runs ``work(session)`` in a unit of work and goes back to the
    crime; a refusal draws the crime again with the message next to its field and the
    form kept."""

    request: Request
    caller: Caller
    db: Database
    clock: Clock
    crime_id: str

    @property
    def actor(self):
        return self.caller.actor

    def __call__(self, section: str, form: dict[str, str], work, anchor: str) -> Response:
        try:
            with self.db.unit_of_work() as session:
                changed = work(session)
        except (InvalidInput, Conflict, NotFound) as error:
            return _crime_page(
                self.request,
                self.caller,
                self.db,
                self.clock,
                self.crime_id,
                errors={section: by_field(error)},
                forms={section: form},
                status=common.error_status(error),
            )
        common.publish(self.request, getattr(changed, "events", None) or [])
        event = getattr(changed, "event", None)
        target = event.id if event is not None else self.crime_id
        done = section.split(":")[0]
        return common.redirect(f"/records/crimes/{target}?done={done}#{anchor}")


def _crime_change(request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str) -> CrimeChange:
    return CrimeChange(request, caller, db, clock, crime_id)


Change = Annotated[CrimeChange, Depends(_crime_change)]  # crime.record, as CrimeRecorder


@router.post("/records/crimes/{crime_id}/log", response_class=HTMLResponse)
def add_log_entry(change: Change, text: Text = ""):
    """Add an entry to the investigation log."""

    def work(session):
        return crime.add_note(session, change.actor, change.crime_id, text, change.clock)

    return change("note", {"text": text}, work, "log")


@router.post("/records/crimes/{crime_id}/corrections", response_class=HTMLResponse)
def correct_log_entry(change: Change, entry_id: Text = "", text: Text = ""):
    """Correct a log entry with a new entry naming it (nothing is edited)."""
    number = int(entry_id) if entry_id.strip().isdigit() else None

    def work(session):
        if number is None:
            raise InvalidInput("choose an entry", problems=[FieldProblem("entry_id", "choose the entry to correct")])
        return crime.correct(session, change.actor, change.crime_id, number, text, change.clock)

    return change("correct", {"entry_id": entry_id, "text": text}, work, "log")


@router.post("/records/crimes/{crime_id}/officer", response_class=HTMLResponse)
def assign_officer(change: Change, officer_in_charge: Text = ""):
    """Make a user of the force the officer in charge."""

    def work(session):
        return crime.assign_officer(session, change.actor, change.crime_id, officer_in_charge, change.clock)

    return change("officer", {"officer_in_charge": officer_in_charge}, work, "summary")


@router.post("/records/crimes/{crime_id}/classification", response_class=HTMLResponse)
def reclassify(change: Change, offence_code: Text = "", reason: Text = ""):
    """Change the Home Office offence, with a reason."""

    def work(session):
        return crime.reclassify(session, change.actor, change.crime_id, offence_code, reason, change.clock)

    return change("classification", {"offence_code": offence_code, "reason": reason}, work, "classification")


@router.post("/records/crimes/{crime_id}/outcome", response_class=HTMLResponse)
def close_crime(change: Change, outcome: Text = "", text: Text = ""):
    """Close the crime with a Home Office outcome and why."""

    def work(session):
        return crime.close_crime(session, change.actor, change.crime_id, outcome, text, change.clock)

    return change("outcome", {"outcome": outcome, "text": text}, work, "outcome")


@router.post("/records/crimes/{crime_id}/reopen", response_class=HTMLResponse)
def reopen_crime(change: Change, reason: Text = ""):
    """Reopen a closed crime, with a reason."""

    def work(session):
        return crime.reopen_crime(session, change.actor, change.crime_id, reason, change.clock)

    return change("reopen", {"reason": reason}, work, "outcome")
