"""Records pages: crimes with victim clocks, the NCRS list, victims' overdue updates,
intelligence reports, and the MoPI review queue.

Every page calls the records services (records/crime.py, victims.py, intelligence.py,
mopi.py), which check permissions, scope by force and clearance in SQL and audit reads
of personal data; a record of another force answers exactly like a missing one (the
same 404 page). Reading a crime or an intelligence report asks for a reason: the service
refuses without one and web/errors.py sends the browser to state it, then back.

Forms are plain posts (no script needed): a change redirects back to the page (303);
a refusal draws the page again with the message next to its field and what was typed
kept. Times are shown and typed in UK time (Europe/London).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action, Marking, markings_up_to
from bluelamp.clock import LONDON, Clock, parse_moment, to_local
from bluelamp.command import service as incidents
from bluelamp.errors import BluelampError, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import classification, crime, intelligence, mopi, pole, victims
from bluelamp.records.model import EventKind, LinkRole, RecordType
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem("Crimes", "/records/crimes", order=32, action=Action.CRIME_READ),
    NavItem("Intelligence", "/records/intelligence", order=34, action=Action.INTELLIGENCE_READ),
    NavItem("Reviews", "/records/reviews", order=84, action=Action.RECORD_REVIEW),
]

CrimeReader = Annotated[Caller, Depends(allow(Action.CRIME_READ))]
CrimeRecorder = Annotated[Caller, Depends(allow(Action.CRIME_RECORD))]
IntelligenceReader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_READ))]
IntelligenceCreator = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_CREATE))]
SourceReader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_SOURCE_READ))]
Reviewer = Annotated[Caller, Depends(allow(Action.RECORD_REVIEW))]
Text = Annotated[str, Form()]

LIST_LIMIT = 200
STATUS_LABELS = {crime.CrimeStatus.INVESTIGATING: "Under investigation", crime.CrimeStatus.CLOSED: "Closed"}
SOURCE_LABELS = {
    crime.CrimeSource.INCIDENT: "From a command incident",
    crime.CrimeSource.ONLINE: "From an online report",
    crime.CrimeSource.DIRECT: "Recorded directly",
}
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
# The 3x5x2 grading explained next to each field (College of Policing APP, intelligence management).
SOURCE_HELP = {
    "1": "the source's reliability is not in doubt, or they have proved reliable every time",
    "2": "a new source, or one whose reliability cannot yet be judged",
    "3": "there is doubt about the source's authenticity, trustworthiness or competence",
}
ASSESSMENT_HELP = {
    "A": "the source saw or heard it themselves",
    "B": "the source was told it, and something else confirms it",
    "C": "the source was told it, with nothing to confirm it",
    "D": "the intelligence cannot be judged",
    "E": "it may be false, or malicious",
}
HANDLING_HELP = {
    "P": "may be shared within the law, with no further conditions",
    "C": "write the conditions down: whoever shares it must follow them",
}
RECORD_KINDS = {"person": "Person", "object": "Object", "location": "Location", "event": "Event"}


# ---------------------------------------------------------------- presentation helpers


def duration_words(delta: timedelta) -> str:
    """A length of time as people say it: 2 days 3 h, 5 h 20 min, 12 min."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'' if days == 1 else 's'}"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins and not days:
        parts.append(f"{mins} min")
    return " ".join(parts)


def day_words(moment: datetime) -> str:
    """A moment as a UK date and time; a Victims' Code deadline (local midnight) as the end of the day before."""
    local = to_local(moment)
    if local.time() == time(0):
        day = local - timedelta(days=1)
        return f"the end of {day:%a} {day.day} {day:%b %Y}"
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def working_days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


def record_path(record_type: str, record_id: str, kind: str | None = None) -> str:
    """Where a record's page is (persons, objects, locations and other events: records pages)."""
    if record_type == RecordType.EVENT and kind == EventKind.CRIME:
        return f"/records/crimes/{record_id}"
    if record_type == RecordType.EVENT and kind == EventKind.INTELLIGENCE:
        return f"/records/intelligence/{record_id}"
    return f"/records/{record_type}s/{record_id}"


def person_name(person) -> str:
    return ", ".join(p for p in (person.family_name.upper(), person.given_names) if p) or "(no name)"


def _local_input(moment: datetime | None) -> str:
    """A stored time as a datetime-local input's value (UK time)."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


HELPERS = {
    "duration_words": duration_words,
    "day_words": day_words,
    "working_days": working_days,
    "record_path": record_path,
    "person_name": person_name,
    "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
    "source_labels": {s.value: label for s, label in SOURCE_LABELS.items()},
}


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, {**HELPERS, **context}, status_code=status)


def _missing(request: Request, caller: Caller, what: str, back: str, back_label: str) -> Response:
    """The one answer for a record that is missing or not the caller's to see."""
    context = {"me": caller, "what": what, "back": back, "back_label": back_label}
    return _render(request, "crimes/missing.html", context, status=404)


def _status(error: BluelampError) -> int:
    return 409 if isinstance(error, Conflict) else 422


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _publish(request: Request, events) -> None:
    for event in events:
        request.app.state.bus.publish(event)


def _moments(values: dict[str, str]) -> tuple[dict[str, datetime | None], list[FieldProblem]]:
    """Times typed in UK time, by field; the problems with those that are not times."""
    found: dict[str, datetime | None] = {}
    problems: list[FieldProblem] = []
    for name, text in values.items():
        try:
            found[name] = parse_moment(text, name, zone=LONDON)
        except InvalidInput as error:
            found[name] = None
            problems.extend(error.problems)
    return found, problems


def _markings(caller: Caller) -> list[str]:
    return markings_up_to(caller.actor.clearance)


# ---------------------------------------------------------------- crimes: lists


def _nav(section: str, caller: Caller) -> dict[str, Any]:
    return {"section": section, "can_record": caller.actor.can(Action.CRIME_RECORD)}


@router.get("/records/crimes", response_class=HTMLResponse)
def crimes_list(
    request: Request,
    caller: CrimeReader,
    db: Db,
    status: str = "",
    officer: str = "",
    mine: str = "",
):
    """Crimes the caller may see, newest recorded first: by status, officer in charge, or their own."""
    form = {"status": status, "officer": officer, "mine": bool(mine)}
    wanted = caller.actor.username if mine else officer
    field_errors: dict[str, str] = {}
    rows = []
    try:
        with db.read() as session:
            found = crime.list_crimes(
                session, caller.actor, officer=wanted or None, status=status or None, limit=LIST_LIMIT
            )
    except InvalidInput as error:
        field_errors, found = by_field(error), []
    for event, row in found:
        rows.append((event, row, classification.offence(row.offence_code), crime.late_by(row)))
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors,
        "rows": rows,
        "limit": LIST_LIMIT,
        "statuses": [(s.value, label) for s, label in STATUS_LABELS.items()],
        **_nav("crimes", caller),
    }
    return _render(request, "crimes/list.html", context, status=422 if field_errors else 200)


@router.get("/records/crimes/ncrs", response_class=HTMLResponse)
def ncrs_list(request: Request, caller: CrimeReader, db: Db, clock: Now):
    """NCRS (record within 24 hours of the report): crimes recorded late, and crimes reported
    more than 24 hours ago that are still not recorded, with how late each is."""
    with db.read() as session:
        late = crime.list_crimes(session, caller.actor, late=True, limit=LIST_LIMIT)
        unrecorded = crime.unrecorded_reports(session, caller.actor, clock, limit=LIST_LIMIT)
    context = {
        "me": caller,
        "late": [(event, row, classification.offence(row.offence_code), crime.late_by(row)) for event, row in late],
        "unrecorded": unrecorded,
        "limit": LIST_LIMIT,
        "can_read_incidents": caller.actor.can(Action.INCIDENT_READ),
        **_nav("ncrs", caller),
    }
    return _render(request, "crimes/ncrs.html", context)


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
        **_nav("overdue", caller),
    }
    return _render(request, "crimes/overdue.html", context)


# ---------------------------------------------------------------- crimes: recording


def _offence_groups() -> list[tuple[str, list[classification.Offence]]]:
    groups: dict[str, list[classification.Offence]] = {}
    for offence in classification.offences():
        if offence.recordable:
            groups.setdefault(offence.group, []).append(offence)
    return list(groups.items())


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
        "offence_groups": _offence_groups(),
        "sources": [(s.value, label) for s, label in SOURCE_LABELS.items()],
        "markings": _markings(caller),
        "can_read_incidents": caller.actor.can(Action.INCIDENT_READ),
        **_nav("new", caller),
    }
    return _render(request, "crimes/new.html", context, status=status)


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
    times, problems = _moments({"reported_at": reported_at, "occurred_from": occurred_from, "occurred_to": occurred_to})
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
    _publish(request, changed.events)
    return _redirect(f"/records/crimes/{changed.event.id}?done=recorded")


# ---------------------------------------------------------------- crimes: one crime


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
        return _missing(request, caller, "crime", "/records/crimes", "Crimes")
    now = clock.now()
    row = found.crime
    people: dict[str, list] = {"suspect": [], "victim": [], "witness": [], "other": []}
    others, places = [], []
    links, withheld = _openable(caller, found.links)
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
        "offence_groups": _offence_groups(),
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
        **_nav("crime", caller),
    }
    return _render(request, "crimes/crime.html", context, status=status)


@router.get("/records/crimes/{crime_id}", response_class=HTMLResponse)
def crime_page(request: Request, caller: CrimeReader, db: Db, clock: Now, crime_id: str, done: str = ""):
    """One crime: classification, NCRS clock, officer, persons, victims' clocks, log, outcome."""
    return _crime_page(request, caller, db, clock, crime_id, done=done)


def _crime_act(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    crime_id: str,
    section: str,
    form: dict[str, str],
    work,
    anchor: str,
) -> Response:
    """Run one change (``work(session)`` returns its result) and go back to the crime; a
    refusal draws the crime again with the message next to its field and the form kept."""
    try:
        with db.unit_of_work() as session:
            changed = work(session)
    except (InvalidInput, Conflict, NotFound) as error:
        messages = by_field(error)
        return _crime_page(
            request,
            caller,
            db,
            clock,
            crime_id,
            errors={section: messages},
            forms={section: form},
            status=_status(error),
        )
    _publish(request, getattr(changed, "events", None) or [])
    event = getattr(changed, "event", None)
    target = event.id if event is not None else crime_id
    done = section.split(":")[0]
    return _redirect(f"/records/crimes/{target}?done={done}#{anchor}")


@router.post("/records/crimes/{crime_id}/log", response_class=HTMLResponse)
def add_log_entry(request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str, text: Text = ""):
    """Add an entry to the investigation log."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        "note",
        {"text": text},
        lambda session: crime.add_note(session, caller.actor, crime_id, text, clock),
        "log",
    )


@router.post("/records/crimes/{crime_id}/corrections", response_class=HTMLResponse)
def correct_log_entry(
    request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str, entry_id: Text = "", text: Text = ""
):
    """Correct a log entry with a new entry naming it (nothing is edited)."""
    number = int(entry_id) if entry_id.strip().isdigit() else None

    def work(session):
        if number is None:
            raise InvalidInput("choose an entry", problems=[FieldProblem("entry_id", "choose the entry to correct")])
        return crime.correct(session, caller.actor, crime_id, number, text, clock)

    form = {"entry_id": entry_id, "text": text}
    return _crime_act(request, caller, db, clock, crime_id, "correct", form, work, "log")


@router.post("/records/crimes/{crime_id}/officer", response_class=HTMLResponse)
def assign_officer(
    request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str, officer_in_charge: Text = ""
):
    """Make a user of the force the officer in charge."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        "officer",
        {"officer_in_charge": officer_in_charge},
        lambda session: crime.assign_officer(session, caller.actor, crime_id, officer_in_charge, clock),
        "summary",
    )


@router.post("/records/crimes/{crime_id}/classification", response_class=HTMLResponse)
def reclassify(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    crime_id: str,
    offence_code: Text = "",
    reason: Text = "",
):
    """Change the Home Office offence, with a reason."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        "classification",
        {"offence_code": offence_code, "reason": reason},
        lambda session: crime.reclassify(session, caller.actor, crime_id, offence_code, reason, clock),
        "classification",
    )


@router.post("/records/crimes/{crime_id}/outcome", response_class=HTMLResponse)
def close_crime(
    request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str, outcome: Text = "", text: Text = ""
):
    """Close the crime with a Home Office outcome and why."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        "outcome",
        {"outcome": outcome, "text": text},
        lambda session: crime.close_crime(session, caller.actor, crime_id, outcome, text, clock),
        "outcome",
    )


@router.post("/records/crimes/{crime_id}/reopen", response_class=HTMLResponse)
def reopen_crime(request: Request, caller: CrimeRecorder, db: Db, clock: Now, crime_id: str, reason: Text = ""):
    """Reopen a closed crime, with a reason."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        "reopen",
        {"reason": reason},
        lambda session: crime.reopen_crime(session, caller.actor, crime_id, reason, clock),
        "outcome",
    )


@router.post("/records/crimes/{crime_id}/victims", response_class=HTMLResponse)
def add_victim(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    crime_id: str,
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
                caller.actor,
                crime_id,
                person_id.strip(),
                clock,
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

    return _crime_act(request, caller, db, clock, crime_id, "victim", form, work, "victims")


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/updates", response_class=HTMLResponse)
def victim_update(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    crime_id: str,
    victim_id: str,
    method: Text = "",
    text: Text = "",
):
    """Record an update given to a victim: their clock restarts."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        f"victim_update:{victim_id}",
        {"method": method, "text": text},
        lambda session: victims.record_update(session, caller.actor, victim_id, method, text, clock),
        f"victim-{victim_id}",
    )


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/enhanced", response_class=HTMLResponse)
def victim_enhanced(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    crime_id: str,
    victim_id: str,
    enhanced: Text = "",
    reason: Text = "",
):
    """Give a victim the enhanced service (with why) or the standard one."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        f"enhanced:{victim_id}",
        {"enhanced": enhanced, "reason": reason},
        lambda session: victims.set_enhanced(session, caller.actor, victim_id, enhanced == "yes", reason, clock),
        f"victim-{victim_id}",
    )


@router.post("/records/crimes/{crime_id}/victims/{victim_id}/opt-out", response_class=HTMLResponse)
def victim_opt_out(
    request: Request,
    caller: CrimeRecorder,
    db: Db,
    clock: Now,
    crime_id: str,
    victim_id: str,
    opted_out: Text = "",
    reason: Text = "",
):
    """The victim opts out of updates, or back in."""
    return _crime_act(
        request,
        caller,
        db,
        clock,
        crime_id,
        f"opt_out:{victim_id}",
        {"opted_out": opted_out, "reason": reason},
        lambda session: victims.set_opted_out(session, caller.actor, victim_id, opted_out == "yes", reason, clock),
        f"victim-{victim_id}",
    )


# ---------------------------------------------------------------- intelligence


def _openable(caller: Caller, links: list[pole.LinkView]) -> tuple[list[pole.LinkView], int]:
    """The links whose other end the caller's roles let them open (persons, objects and
    locations need person.read; events their kind's read), and how many others are withheld."""
    shown = []
    for view in links:
        if view.other.type == RecordType.EVENT:
            action = pole.EVENT_READ.get(view.other_kind, Action.PERSON_READ)
        else:
            action = Action.PERSON_READ
        if caller.actor.can(action):
            shown.append(view)
    return shown, len(links) - len(shown)


def _grading_words(view: intelligence.IntelligenceView) -> dict[str, str]:
    return {
        "source": intelligence.SOURCE_NAMES[view.source_evaluation],
        "assessment": intelligence.ASSESSMENT_NAMES[view.intelligence_assessment],
        "handling": intelligence.HANDLING_NAMES[view.handling_code],
    }


@router.get("/records/intelligence", response_class=HTMLResponse)
def intelligence_list(request: Request, caller: IntelligenceReader, db: Db):
    """Intelligence reports the caller may see, newest first: reference, summary and grading."""
    with db.read() as session:
        reports = intelligence.list_intelligence(session, caller.actor, limit=LIST_LIMIT)
    context = {
        "me": caller,
        "reports": [(view, _grading_words(view)) for view in reports],
        "limit": LIST_LIMIT,
        "can_create": caller.actor.can(Action.INTELLIGENCE_CREATE),
    }
    return _render(request, "crimes/intelligence_list.html", context)


def _blank_report_form(subjects: list[str]) -> dict[str, str]:
    return {
        "summary": "",
        "sanitised_text": "",
        "source_evaluation": "",
        "intelligence_assessment": "",
        "handling_code": "",
        "handling_conditions": "",
        "source_reference": "",
        "source_details": "",
        "occurred_from": "",
        "occurred_to": "",
        "marking": Marking.OFFICIAL.value,
        "subjects": "\n".join(subjects),
    }


def _report_form(
    request: Request, caller: Caller, form: dict[str, str], field_errors: dict[str, str] | None = None, status=200
) -> Response:
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors or {},
        "source_help": SOURCE_HELP,
        "assessment_help": ASSESSMENT_HELP,
        "handling_help": HANDLING_HELP,
        "source_names": intelligence.SOURCE_NAMES,
        "assessment_names": intelligence.ASSESSMENT_NAMES,
        "handling_names": intelligence.HANDLING_NAMES,
        "markings": _markings(caller),
    }
    return _render(request, "crimes/intelligence_new.html", context, status=status)


@router.get("/records/intelligence/new", response_class=HTMLResponse)
def new_report(request: Request, caller: IntelligenceCreator, subject: Annotated[list[str] | None, Query()] = None):
    """The submit form, the 3x5x2 grading explained next to each field; ``?subject=person:ID`` names who it is about."""
    return _report_form(request, caller, _blank_report_form([s[:80] for s in subject or []][:20]))


def _subjects(text: str) -> tuple[tuple[tuple[str, str], ...], list[FieldProblem]]:
    """Records the report is about, one a line: ``person:ID`` (object, location alike)."""
    found, problems = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        kind, _, record_id = line.replace(" ", ":", 1).partition(":")
        kind, record_id = kind.strip().lower(), record_id.strip()
        if kind not in {"person", "object", "location"} or not record_id:
            problems.append(FieldProblem("subjects", f"{line[:60]!r}: write person:ID, object:ID or location:ID"))
            continue
        found.append((kind, record_id))
    return tuple(found), problems


@router.post("/records/intelligence/new", response_class=HTMLResponse)
def submit_report(
    request: Request,
    caller: IntelligenceCreator,
    db: Db,
    clock: Now,
    summary: Text = "",
    sanitised_text: Text = "",
    source_evaluation: Text = "",
    intelligence_assessment: Text = "",
    handling_code: Text = "",
    handling_conditions: Text = "",
    source_reference: Text = "",
    source_details: Text = "",
    occurred_from: Text = "",
    occurred_to: Text = "",
    marking: Text = "",
    subjects: Text = "",
):
    """Submit the report and open it; a refusal shows the form again, messages next to the fields."""
    form = {
        "summary": summary,
        "sanitised_text": sanitised_text,
        "source_evaluation": source_evaluation,
        "intelligence_assessment": intelligence_assessment,
        "handling_code": handling_code,
        "handling_conditions": handling_conditions,
        "source_reference": source_reference,
        "source_details": source_details,
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "marking": marking or Marking.OFFICIAL.value,
        "subjects": subjects,
    }
    times, problems = _moments({"occurred_from": occurred_from, "occurred_to": occurred_to})
    about, subject_problems = _subjects(subjects)
    problems += subject_problems
    if problems:
        return _report_form(request, caller, form, by_field(InvalidInput("", problems=problems)), status=422)
    command = intelligence.NewIntelligence(
        summary=summary,
        sanitised_text=sanitised_text,
        source_evaluation=source_evaluation,
        intelligence_assessment=intelligence_assessment,
        handling_code=handling_code,
        handling_conditions=handling_conditions,
        source_reference=source_reference,
        source_details=source_details,
        occurred_from=times["occurred_from"],
        occurred_to=times["occurred_to"],
        marking=marking or None,
        subjects=about,
    )
    try:
        with db.unit_of_work() as session:
            view = intelligence.create_intelligence(session, caller.actor, command, clock)
    except InvalidInput as error:
        return _report_form(request, caller, form, by_field(error), status=422)
    except NotFound as error:
        return _report_form(request, caller, form, {"subjects": by_field(error)["form"]}, status=422)
    return _redirect(f"/records/intelligence/{view.event.id}?done=submitted")


def _missing_report_audit(action: str, event_id: str) -> Audit:
    return Audit(action, Outcome.DENIED, "event", event_id[:64], {"why": "not found in the caller's force"})


def _report_page(
    request: Request, caller: Caller, db: Database, clock: Clock, event_id: str, *, with_source: bool, done: str = ""
) -> Response:
    try:
        with (
            audited(db, caller.trail) as session,
            refused_if_missing(caller.trail, _missing_report_audit("intelligence.read", event_id)),
        ):
            view = intelligence.get_intelligence(session, caller.actor, event_id, clock)
            source = intelligence.read_source(session, caller.actor, event_id, clock) if with_source else None
            links, withheld = _openable(caller, pole.links_of(session, caller.actor, pole.ref(view.event)))
    except NotFound:
        return _missing(request, caller, "intelligence report", "/records/intelligence", "Intelligence")
    context = {
        "me": caller,
        "view": view,
        "event": view.event,
        "words": _grading_words(view),
        "source_help": SOURCE_HELP,
        "assessment_help": ASSESSMENT_HELP,
        "handling_help": HANDLING_HELP,
        "source": source,
        "links": [link for link in links if link.link.role != LinkRole.OCCURRED_AT],
        "places": [link for link in links if link.link.role == LinkRole.OCCURRED_AT],
        "withheld": withheld,
        "can_source": caller.actor.can(Action.INTELLIGENCE_SOURCE_READ),
        "notice": "Intelligence report submitted." if done == "submitted" else None,
    }
    return _render(request, "crimes/intelligence.html", context)


@router.get("/records/intelligence/{event_id}", response_class=HTMLResponse)
def report_page(request: Request, caller: IntelligenceReader, db: Db, clock: Now, event_id: str, done: str = ""):
    """A report's grading in words, handling, sanitised text and linked records (never its source)."""
    return _report_page(request, caller, db, clock, event_id, with_source=False, done=done)


@router.get("/records/intelligence/{event_id}/source", response_class=HTMLResponse)
def report_source_page(request: Request, caller: SourceReader, db: Db, clock: Now, event_id: str):
    """The report with its source's identity: source handlers only; audited as a source read."""
    return _report_page(request, caller, db, clock, event_id, with_source=True)


# ---------------------------------------------------------------- MoPI reviews

REVIEW_DONE = {
    "retain": "Record kept; its next review date is set.",
    "dispose": "Record disposed of: its personal data is removed and a tombstone kept.",
}


@router.get("/records/reviews", response_class=HTMLResponse)
def review_queue(request: Request, caller: Reviewer, db: Db, clock: Now, queued: str = ""):
    """Records due for a MoPI review decision, the longest overdue first, and recent decisions."""
    with db.unit_of_work() as session:
        items = mopi.review_queue(session, caller.actor, clock, limit=LIST_LIMIT)
        decided = mopi.recent_decisions(session, caller.actor)
    today = to_local(clock.now()).date()
    context = {
        "me": caller,
        "items": items,
        "decided": decided,
        "groups": mopi.RETENTION_GROUPS,
        "today": today,
        "limit": LIST_LIMIT,
        "queued": int(queued) if queued.isdigit() else None,
        "kinds": RECORD_KINDS,
    }
    return _render(request, "crimes/reviews.html", context)


@router.post("/records/reviews/due", response_class=HTMLResponse)
def queue_due(request: Request, caller: Reviewer, db: Db, clock: Now):
    """Move the force's records whose review date has come into the queue (each once)."""
    with db.unit_of_work() as session:
        count = mopi.review_due(session, clock, force_id=pole.force_of(caller.actor))
    return _redirect(f"/records/reviews?queued={count}")


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
        return _missing(request, caller, "review", "/records/reviews", "Reviews")
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
        "kinds": RECORD_KINDS,
        "record_link": _review_record_link(caller, detail),
    }
    return _render(request, "crimes/review.html", context, status=status)


def _review_record_link(caller: Caller, detail: mopi.ReviewDetail) -> str | None:
    """The record's own page, when it still exists and the reviewer may open it."""
    if detail.label is None:
        return None
    review = detail.review
    if review.record_type == RecordType.PERSON:
        return record_path("person", review.record_id) if caller.actor.can(Action.PERSON_READ) else None
    read = pole.EVENT_READ.get(detail.kind or "", Action.PERSON_READ)
    return record_path("event", review.record_id, detail.kind) if caller.actor.can(read) else None


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
            request, caller, db, clock, review_id, field_errors=errors, form=form, status=_status(error)
        )
    except NotFound:
        return _missing(request, caller, "review", "/records/reviews", "Reviews")
    return _redirect(f"/records/reviews/{review_id}?done={decision}")
