"""Recording a crime: the form, blank or filled in from a command incident, and the post
that records it and opens the new crime.

A refusal draws the form again with every message next to its field and what was typed
kept. Times are typed in UK time (Europe/London).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.policy import Action, Marking
from bluelamp.clock import Clock, to_local
from bluelamp.command import service as incidents
from bluelamp.errors import FieldProblem, InvalidInput, NotFound
from bluelamp.records import crime
from bluelamp.web.auth import Caller
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import CrimeRecorder, Text

router = APIRouter(include_in_schema=False)
NAV = []

# A first guess at the Home Office offence from the incident's NSIR category, for the
# officer to confirm or change (the form says so): never recorded without their choice.
SUGGESTED_OFFENCES = {
    "assault": "105A",
    "violence_in_progress": "8N",
    "robbery": "34B",
    "burglary_dwelling": "28E",
    "burglary_business": "30C",
    "theft": "49",
    "shoplifting": "46",
    "vehicle_crime": "45",
    "criminal_damage": "58A",
    "arson": "56B",
    "weapons": "10D",
    "drugs": "92D",
    "public_order": "66",
}


def _local_input(moment: datetime | None) -> str:
    """A stored time as a datetime-local input's value (UK time)."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _blank_crime_form() -> dict[str, str]:
    return {
        "source": crime.CrimeSource.DIRECT.value,
        "offence_code": "",
        "summary": "",
        "narrative": "",
        "reported_at": "",
        "occurred_from": "",
        "occurred_to": "",
        "incident": "",
        "report_reference": "",
        "officer_in_charge": "",
        "marking": Marking.OFFICIAL.value,
    }


@dataclass
class IncidentPrefill:
    """What the form shows of the incident a crime is recorded from."""

    id: str
    reference: str
    category: str
    reported_at: datetime
    suggested: str | None


def _prefill_from_incident(session, caller: Caller, incident_id: str, clock: Clock, form: dict) -> IncidentPrefill:
    found = incidents.get_incident(session, caller.actor, incident_id, clock)
    names = {c.code: c.name for c in incidents.catalogue(session, caller.actor).command.categories}
    category = found.closing_category or found.opening_category
    suggested = SUGGESTED_OFFENCES.get(category)
    summary = " — ".join(p for p in (names.get(category, category), found.address) if p)
    form.update(
        source=crime.CrimeSource.INCIDENT.value,
        incident=found.reference,
        summary=summary[:300],
        narrative=found.description or "",
        reported_at=_local_input(found.created_at),
        offence_code=suggested or "",
    )
    return IncidentPrefill(found.id, found.reference, names.get(category, category), found.created_at, suggested)


def _crime_form(
    request: Request,
    caller: Caller,
    form: dict[str, str],
    *,
    field_errors: dict[str, str] | None = None,
    prefill: IncidentPrefill | None = None,
    status: int = 200,
) -> Response:
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors or {},
        "prefill": prefill,
        "offence_groups": common.offence_groups(),
        "sources": [(s.value, label) for s, label in common.SOURCE_LABELS.items()],
        "markings": common.markings(caller),
        "can_read_incidents": caller.actor.can(Action.INCIDENT_READ),
        **common.crime_tabs("new", caller),
    }
    return common.render(request, "crimes/new.html", context, status=status)


@router.get("/records/crimes/new", response_class=HTMLResponse)
def new_crime(request: Request, caller: CrimeRecorder, db: Db, clock: Now, incident: str = ""):
    """The record-a-crime form: blank, or filled in from a command incident (``?incident=ID``)."""
    form = _blank_crime_form()
    if not incident.strip():
        return _crime_form(request, caller, form)
    if not caller.actor.can(Action.INCIDENT_READ):
        return _crime_form(request, caller, form, field_errors={"incident": "You may not read incidents."}, status=403)
    try:
        with db.unit_of_work() as session:
            prefill = _prefill_from_incident(session, caller, incident.strip(), clock, form)
    except NotFound:
        errors = {"incident": f"There is no incident {incident.strip()[:64]!r} you may see."}
        return _crime_form(request, caller, form | {"source": "incident"}, field_errors=errors, status=404)
    return _crime_form(request, caller, form, prefill=prefill)


def _incident_id(session, caller: Caller, text: str, clock: Clock) -> str:
    """The id of the incident named by its reference (SP-20261128-0042) or id."""
    text = text.strip()
    try:
        return incidents.get_incident_by_reference(session, caller.actor, text, clock).id
    except NotFound:
        return incidents.get_incident(session, caller.actor, text, clock).id


@router.post("/records/crimes/new", response_class=HTMLResponse)
def record_crime(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    source: Text = "",
    offence_code: Text = "",
    summary: Text = "",
    narrative: Text = "",
    reported_at: Text = "",
    occurred_from: Text = "",
    occurred_to: Text = "",
    incident: Text = "",
    report_reference: Text = "",
    officer_in_charge: Text = "",
    marking: Text = "",
):
    """Record the crime and open it; a refusal shows the form again with every message next to its field."""
    form = {
        "source": source,
        "offence_code": offence_code,
        "summary": summary,
        "narrative": narrative,
        "reported_at": reported_at,
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "incident": incident,
        "report_reference": report_reference,
        "officer_in_charge": officer_in_charge,
        "marking": marking or Marking.OFFICIAL.value,
    }
    times, problems = common.moments(
        {"reported_at": reported_at, "occurred_from": occurred_from, "occurred_to": occurred_to}
    )
    if problems:
        return _crime_form(
            request, caller, form, field_errors=by_field(InvalidInput("", problems=problems)), status=422
        )
    try:
        with db.unit_of_work() as session:
            incident_id = None
            if source == crime.CrimeSource.INCIDENT and incident.strip():
                try:
                    incident_id = _incident_id(session, caller, incident, clock)
                except NotFound:
                    raise InvalidInput(
                        "no such incident",
                        problems=[FieldProblem("incident", f"there is no incident {incident.strip()[:64]!r}")],
                    ) from None
            elif source == crime.CrimeSource.INCIDENT:
                incident_id = ""  # the service says an incident must be named
            elif incident.strip():
                incident_id = incident.strip()  # the service says only a crime from an incident names one
            changed = crime.record_crime(
                session,
                caller.actor,
                crime.NewCrime(
                    source=source,
                    offence_code=offence_code,
                    summary=summary,
                    narrative=narrative,
                    reported_at=times["reported_at"],
                    occurred_from=times["occurred_from"],
                    occurred_to=times["occurred_to"],
                    incident_id=incident_id,
                    report_reference=report_reference,
                    officer_in_charge=officer_in_charge,
                    marking=marking or None,
                ),
                clock,
            )
    except InvalidInput as error:
        errors = by_field(error, rename={"incident_id": "incident"})
        return _crime_form(request, caller, form, field_errors=errors, status=422)
    common.publish(request, changed.events)
    return common.redirect(f"/records/crimes/{changed.event.id}?done=recorded")
