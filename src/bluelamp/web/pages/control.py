"""Command and control pages: call taking and the control room.

Call taking (``/control/call``) is a plain form posted to the server, so nothing is lost
without script; the script adds the category search, the map click and the duplicate
suggestions (an htmx partial from ``command.duplicates.find_duplicates``). An
idempotency key made when the form is drawn means a double submission creates one
incident.

The control room (``/control``) draws the queue and the map from the live feed
(``/ws/live``: the snapshot carries the active queue, then ``IncidentChanged`` and unit
events). The open incident's panel and the tasks are rendered here from the command
services and fetched again when the feed says they changed; every action in them posts
to a route below that calls one service, publishes its events after the commit and
answers with the part re-rendered (messages next to the fields when refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bluelamp.access import service as access_service
from bluelamp.access.model import Force
from bluelamp.access.policy import Action
from bluelamp.clock import Clock
from bluelamp.command import dispatch, duplicates, recommend
from bluelamp.command import queries as command_queries
from bluelamp.command import service as incidents
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.config import FAMILY_NAMES, CommandSettings, Family
from bluelamp.command.model import ACTIVE_STATUSES, IncidentStatus, Source, TaskKind
from bluelamp.errors import BluelampError, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.storage import Database
from bluelamp.tracking import feed
from bluelamp.tracking.runtime import apply_status
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages.resources import FRESHNESS_LABELS, STATUS_DISPLAY
from bluelamp.web.pages.resources import labels as unit_labels

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem("Take a call", "/control/call", order=10, action=Action.INCIDENT_CREATE),
    NavItem("Control room", "/control", order=11, action=Action.INCIDENT_READ),
]

Reader = Annotated[Caller, Depends(allow(Action.INCIDENT_READ))]
Creator = Annotated[Caller, Depends(allow(Action.INCIDENT_CREATE))]
Updater = Annotated[Caller, Depends(allow(Action.INCIDENT_UPDATE))]
Dispatcher = Annotated[Caller, Depends(allow(Action.INCIDENT_DISPATCH))]
Closer = Annotated[Caller, Depends(allow(Action.INCIDENT_CLOSE))]
Approver = Annotated[Caller, Depends(allow(Action.INCIDENT_APPROVE_DOWNGRADE))]
Text = Annotated[str, Form()]
Many = Annotated[list[str], Form()]

# Where a map opens before it knows better (the demo force: Staffordshire).
DEFAULT_CENTRE = (52.80, -2.05)
SOURCES = [
    (Source.EMERGENCY_999.value, "999"),
    (Source.NON_EMERGENCY_101.value, "101"),
    (Source.ONLINE.value, "Online"),
    (Source.OFFICER.value, "Officer-generated"),
    (Source.ALARM.value, "Alarm"),
]
THRIVE_FIELDS = [
    ("threat", "T", "Threat", "What threat is there, to whom?"),
    ("harm", "H", "Harm", "What harm has been or could be done?"),
    ("risk", "R", "Risk", "How likely is harm, how soon?"),
    ("investigation", "I", "Investigation", "Evidence, scene, witnesses, CCTV"),
    ("vulnerability", "V", "Vulnerability", "Is anyone vulnerable? Why?"),
    ("engagement", "E", "Engagement", "What response does the caller need?"),
]
THRIVE_NAMES = [name for name, *_ in THRIVE_FIELDS]
INCIDENT_STATUS_LABELS = {
    IncidentStatus.OPEN: "Awaiting unit",
    IncidentStatus.DISPATCHED: "Dispatched",
    IncidentStatus.AT_SCENE: "At scene",
    IncidentStatus.SCHEDULED: "Scheduled",
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.CLOSED: "Closed",
    IncidentStatus.MERGED: "Merged",
}
TASK_LABELS = {
    TaskKind.CALL_BACK: "Call back",
    TaskKind.REASSESSMENT: "Re-assess",
    TaskKind.DOWNGRADE_APPROVAL: "Downgrade approval",
    TaskKind.BACKUP: "Backup requested",
}
# The service names what it refuses; the form names its fields (the caller's in one group).
CALL_FIELDS = {
    "caller.name": "caller_name",
    "caller.phone": "caller_phone",
    "caller.callback_consent": "callback_consent",
    **{f"thrive.{name}": name for name in THRIVE_NAMES},
}
DONE = {
    "created": "Incident created.",
    "attached": "The call was added to this incident as another caller.",
    "repeat": "That call was already recorded (the form was sent twice): nothing new was created.",
}


# ---------------------------------------------------------------- the force's configuration


@dataclass(frozen=True)
class ForceView:
    """What the pages need of the caller's force: its row and its incident vocabulary
    (categories, qualifiers, grades, closing results) from the command service."""

    force: Force | None
    catalogue: incidents.Catalogue

    @property
    def command(self) -> CommandSettings:
        return self.catalogue.command

    @property
    def grades(self) -> list[tuple[str, str]]:
        return [(value, target.name) for value, target in sorted(self.catalogue.grades.items())]

    @property
    def results(self) -> dict[str, str]:
        return self.catalogue.results

    @property
    def category_names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.command.categories}

    def category_groups(self) -> list[tuple[str, str, list]]:
        return [
            (family.value, FAMILY_NAMES[family], [c for c in self.command.categories if c.family == family])
            for family in Family
        ]

    def centre(self) -> tuple[float, float]:
        area = self.command.force_area
        if area is None:
            return DEFAULT_CENTRE
        points = list(_points(area.geometry["coordinates"]))
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        return ((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2)


def _points(coordinates):
    if coordinates and isinstance(coordinates[0], int | float):
        yield coordinates
        return
    for part in coordinates:
        yield from _points(part)


def force_view(session, caller: Caller) -> ForceView:
    force = access_service.get_force(session, caller.actor.force_id) if caller.actor.force_id else None
    return ForceView(force, incidents.catalogue(session, caller.actor))


def _templates(request: Request):
    return request.app.state.templates


def _publish(request: Request, events) -> None:
    for event in events:
        request.app.state.bus.publish(event)


def _after_dispatch(request: Request, result) -> None:
    """Move the units in the live index, then tell the screens (after the commit)."""
    publish = request.app.state.bus.publish
    for changed in result.status_changes:
        apply_status(request.app.state.tracking, changed, publish)
    for event in result.events:
        publish(event)


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# ---------------------------------------------------------------- call taking


def _blank_form(clock: Clock) -> dict[str, Any]:
    form: dict[str, Any] = {
        "source": Source.EMERGENCY_999.value,
        "category": "",
        "qualifiers": [],
        "caller_name": "",
        "caller_phone": "",
        "callback_consent": False,
        "address": "",
        "lat": "",
        "lon": "",
        "outside_area_reason": "",
        "description": "",
        "grade": "",
        # One key per form drawn: the same form submitted twice makes one incident.
        "idempotency_key": clock.new_id(),
    }
    form.update({name: "" for name in THRIVE_NAMES})
    return form


def _call_page(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    form: dict[str, Any],
    *,
    field_errors: dict[str, str] | None = None,
    ask_outside_reason: bool = False,
    status: int = 200,
) -> Response:
    with db.read() as session:
        view = force_view(session, caller)
        found, checked = _find_duplicates(session, caller, form, clock)
    context = {
        "me": caller,
        "force": view.force,
        "form": form,
        "field_errors": field_errors or {},
        "ask_outside_reason": ask_outside_reason or bool(form.get("outside_area_reason")),
        "sources": SOURCES,
        "category_groups": view.category_groups(),
        "qualifiers": view.command.qualifiers,
        "default_grades": {c.code: c.default_grade for c in view.command.categories if c.default_grade},
        "grades": view.grades,
        "thrive_fields": THRIVE_FIELDS,
        "tile_url": request.app.state.settings.tile_url,
        "centre": view.centre(),
        "duplicates": found,
        "checked": checked,
        "category_names": view.category_names,
        "incident_statuses": INCIDENT_STATUS_LABELS,
    }
    return _templates(request).TemplateResponse(request, "control/call.html", context, status_code=status)


def _coordinate(text: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    value = float(text)  # ValueError for words; the caller turns it into a message
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _find_duplicates(session, caller: Caller, form: dict[str, Any], clock: Clock) -> tuple[list, bool]:
    """Open incidents near the call's place and time (nothing until there is a category
    and a location); the flag says whether a check was made."""
    try:
        lat, lon = _coordinate(form.get("lat", "")), _coordinate(form.get("lon", ""))
    except ValueError:
        return [], False
    category = (form.get("category") or "").strip()
    if not category or lat is None or lon is None or not caller.actor.can(Action.INCIDENT_READ):
        return [], False
    try:
        return duplicates.find_duplicates(session, caller.actor, category, lat, lon, clock), True
    except InvalidInput:
        return [], False  # an unknown category or a point off the globe: the form says so when sent


@router.get("/control/call", response_class=HTMLResponse)
def call_page(request: Request, caller: Creator, db: Db, clock: Now):
    """The call-taking form, with a fresh idempotency key."""
    return _call_page(request, caller, db, clock, _blank_form(clock))


@router.get("/control/call/duplicates", response_class=HTMLResponse)
def call_duplicates(
    request: Request, caller: Creator, db: Db, clock: Now, category: str = "", lat: str = "", lon: str = ""
):
    """Possible duplicates of the call being taken (a partial for the call form)."""
    with db.read() as session:
        view = force_view(session, caller)
        found, checked = _find_duplicates(session, caller, {"category": category, "lat": lat, "lon": lon}, clock)
    context = {
        "duplicates": found,
        "checked": checked,
        "category_names": view.category_names,
        "incident_statuses": INCIDENT_STATUS_LABELS,
    }
    return _templates(request).TemplateResponse(request, "control/_duplicates.html", context)


@router.post("/control/call", response_class=HTMLResponse)
def take_call(
    request: Request,
    caller: Creator,
    db: Db,
    clock: Now,
    source: Text = "",
    category: Text = "",
    qualifiers: Many = (),
    caller_name: Text = "",
    caller_phone: Text = "",
    callback_consent: Text = "",
    address: Text = "",
    lat: Text = "",
    lon: Text = "",
    outside_area_reason: Text = "",
    description: Text = "",
    threat: Text = "",
    harm: Text = "",
    risk: Text = "",
    investigation: Text = "",
    vulnerability: Text = "",
    engagement: Text = "",
    grade: Text = "",
    idempotency_key: Text = "",
    attach_to: Text = "",
):
    """Create the incident (or attach the call to one), then open it in the control room."""
    form = {
        "source": source,
        "category": category,
        "qualifiers": list(qualifiers),
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        "callback_consent": bool(callback_consent),
        "address": address,
        "lat": lat,
        "lon": lon,
        "outside_area_reason": outside_area_reason,
        "description": description,
        "threat": threat,
        "harm": harm,
        "risk": risk,
        "investigation": investigation,
        "vulnerability": vulnerability,
        "engagement": engagement,
        "grade": grade,
        "idempotency_key": idempotency_key or clock.new_id(),
    }
    problems = []
    coordinates = {}
    for name, text in (("lat", lat), ("lon", lon)):
        try:
            coordinates[name] = _coordinate(text)
        except ValueError:
            coordinates[name] = None
            problems.append(FieldProblem(name, "enter a number in decimal degrees, like 52.8066 or -2.1171"))
    if problems:
        return _call_page(
            request, caller, db, clock, form, field_errors=by_field(InvalidInput("", problems=problems)), status=422
        )
    thrive_given = any(form[name].strip() for name in THRIVE_NAMES)
    command = NewIncident(
        source=source,
        category=category.strip(),
        lat=coordinates["lat"],
        lon=coordinates["lon"],
        address=address.strip(),
        description=description.strip(),
        qualifiers=tuple(qualifiers),
        grade=grade or None,
        thrive=Thrive(*(form[name].strip() for name in THRIVE_NAMES)) if thrive_given or not attach_to else None,
        caller=CallerDetails(caller_name.strip() or None, caller_phone.strip() or None, bool(callback_consent)),
        outside_area_reason=outside_area_reason.strip() or None,
        idempotency_key=form["idempotency_key"],
        attach_to=attach_to or None,
    )
    try:
        with db.unit_of_work() as session:
            intake = incidents.create_incident(session, caller.actor, command, clock)
    except (InvalidInput, Conflict, NotFound) as error:
        messages = _call_messages(error)
        ask = "outside_area_reason" in messages
        return _call_page(
            request, caller, db, clock, form, field_errors=messages, ask_outside_reason=ask, status=_status(error)
        )
    _publish(request, intake.events)
    done = "repeat" if not intake.created else "attached" if intake.attached else "created"
    return RedirectResponse(f"/control?incident={intake.incident.id}&done={done}", status_code=303)


def _call_messages(error: BluelampError) -> dict[str, str]:
    messages = by_field(error, rename=CALL_FIELDS)
    if isinstance(error, NotFound):
        return {"form": "The incident to attach the call to is no longer there: create a new one instead."}
    if not error.problems and isinstance(error, Conflict) and "outside" in error.code:
        return {"outside_area_reason": messages.get("form", "Say why this incident is for us.")}
    return messages


def _status(error: BluelampError) -> int:
    return 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 422


# ---------------------------------------------------------------- the control room


def room_labels(view: ForceView) -> dict[str, Any]:
    """Everything the control room's script needs to name things as the server does."""
    return {
        **unit_labels(),
        "incident_status": {s.value: label for s, label in INCIDENT_STATUS_LABELS.items()},
        "active": sorted(s.value for s in ACTIVE_STATUSES),
        "grades": dict(view.grades),
        "categories": {c.code: {"name": c.name, "family": FAMILY_NAMES[c.family]} for c in view.command.categories},
    }


@router.get("/control", response_class=HTMLResponse)
def control_room(request: Request, caller: Reader, db: Db, incident: str = "", done: str = ""):
    """The live queue, the map of incidents and units, the open incident and the tasks."""
    settings = request.app.state.settings
    with db.read() as session:
        view = force_view(session, caller)
    context = {
        "me": caller,
        "force": view.force,
        "labels": room_labels(view),
        "statuses": [(s.value, *STATUS_DISPLAY[s]) for s in STATUS_DISPLAY],
        "freshness_labels": FRESHNESS_LABELS,
        "tile_url": settings.tile_url,
        "centre": view.centre(),
        "stale_seconds": settings.position_stale_seconds,
        "offline_seconds": settings.position_offline_seconds,
        "open_id": incident[:64],
        "notice": DONE.get(done),
        "can_create": caller.actor.can(Action.INCIDENT_CREATE),
    }
    return _templates(request).TemplateResponse(request, "control/room.html", context)


@router.get("/control/incidents/{incident_id}/row")
def queue_row(caller: Reader, db: Db, clock: Now, incident_id: str):
    """One incident as the queue shows it (JSON): how a screen learns of a need-to-know
    incident's change, which the feed carries as an id only. Not found for anyone not
    allowed to see it (the read is audited)."""
    with db.unit_of_work() as session:
        incident = incidents.get_incident(session, caller.actor, incident_id, clock)
        return JSONResponse(feed.incident_view(incident))


# ---------------------------------------------------------------- the incident panel


def _panel(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    incident_id: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    """The incident panel (a partial), or a page that opens it for a plain request.

    ``errors`` holds messages by section (note, assign, units, close, assess, downgrade)
    and then by field."""
    if not _is_htmx(request) and request.method == "GET":
        return RedirectResponse(f"/control?incident={incident_id}", status_code=303)
    try:
        with db.unit_of_work() as session:
            view = force_view(session, caller)
            detail = incidents.incident_detail(session, caller.actor, incident_id, clock)
            advice = _recommendations(request, session, caller, detail.incident, clock)
    except NotFound:
        return _templates(request).TemplateResponse(
            request, "control/_missing.html", {"incident_id": incident_id}, status_code=404
        )
    actor = caller.actor
    context = {
        "me": caller,
        "d": detail,
        "incident": detail.incident,
        "advice": advice,
        "errors": errors or {},
        "view": view,
        "category_names": view.category_names,
        "grade_names": dict(view.grades),
        "incident_statuses": INCIDENT_STATUS_LABELS,
        "task_labels": TASK_LABELS,
        "thrive_fields": THRIVE_FIELDS,
        "unit_statuses": {s.value: (label, letter, shape) for s, (label, letter, shape) in STATUS_DISPLAY.items()},
        "active": detail.incident.status in ACTIVE_STATUSES,
        "can": {
            "update": actor.can(Action.INCIDENT_UPDATE),
            "dispatch": actor.can(Action.INCIDENT_DISPATCH),
            "close": actor.can(Action.INCIDENT_CLOSE),
            "approve": actor.can(Action.INCIDENT_APPROVE_DOWNGRADE),
        },
        "results": view.results,
        "eta_words": recommend.duration_words,
    }
    return _templates(request).TemplateResponse(request, "control/_incident.html", context, status_code=status)


def _recommendations(request: Request, session, caller: Caller, incident, clock: Clock):
    """The units to suggest, for those who may send them, while the incident is active."""
    actor = caller.actor
    if not (actor.can(Action.INCIDENT_DISPATCH) and actor.can(Action.UNIT_READ)):
        return None
    if incident.status not in ACTIVE_STATUSES:
        return None
    state = request.app.state
    return recommend.recommend_for_incident(session, actor, incident.id, state.tracking, state.router, clock)


@router.get("/control/incidents/{incident_id}", response_class=HTMLResponse)
def incident_panel(request: Request, caller: Reader, db: Db, clock: Now, incident_id: str):
    """The open incident: THRIVE, callers, log, units, recommendations, actions."""
    return _panel(request, caller, db, clock, incident_id)


def _act(
    request: Request, caller: Caller, db: Database, clock: Clock, incident_id: str, section: str, work, rename=None
):
    """Run one action (``work(session)`` returns its result), publish what it changed,
    and answer with the panel: re-rendered, or with the refusal next to its fields."""
    try:
        with db.unit_of_work() as session:
            result = work(session)
    except (InvalidInput, Conflict) as error:
        messages = by_field(error, rename=rename)
        return _panel(request, caller, db, clock, incident_id, errors={section: messages}, status=_status(error))
    if hasattr(result, "status_changes"):
        _after_dispatch(request, result)
    else:
        _publish(request, getattr(result, "events", None) or [])
    if not _is_htmx(request):
        return RedirectResponse(f"/control?incident={incident_id}", status_code=303)
    return _panel(request, caller, db, clock, incident_id)


@router.post("/control/incidents/{incident_id}/notes", response_class=HTMLResponse)
def add_note(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, text: Text = ""):
    """A free-text update on the incident's log."""
    return _act(
        request,
        caller,
        db,
        clock,
        incident_id,
        "note",
        lambda session: incidents.add_note(session, caller.actor, incident_id, text, clock),
    )


@router.post("/control/incidents/{incident_id}/assign", response_class=HTMLResponse)
def assign_unit(
    request: Request,
    caller: Dispatcher,
    db: Db,
    clock: Now,
    incident_id: str,
    unit_id: Text = "",
    rank: Text = "",
    eta_seconds: Text = "",
    divert_reason: Text = "",
    override_reason: Text = "",
):
    """Send a unit (one click from the recommendations)."""
    rank_number = int(rank) if rank.isdigit() else None
    eta = int(eta_seconds) if eta_seconds.isdigit() else None

    def work(session):
        return dispatch.assign(
            session,
            caller.actor,
            incident_id,
            unit_id,
            clock,
            divert_reason=divert_reason or None,
            override_reason=override_reason or None,
            recommended_rank=rank_number,
            eta_seconds=eta,
        )

    return _act(request, caller, db, clock, incident_id, "assign", work)


STEPS = {"acknowledge": dispatch.acknowledge, "arrive": dispatch.arrive}


@router.post("/control/incidents/{incident_id}/units/{unit_id}/{step}", response_class=HTMLResponse)
def move_unit(
    request: Request,
    caller: Dispatcher,
    db: Db,
    clock: Now,
    incident_id: str,
    unit_id: str,
    step: str,
    reason: Text = "",
):
    """A unit's next step: acknowledge (en route), arrive (at scene) or release."""
    if step == "release":

        def work(session):
            return dispatch.release(session, caller.actor, incident_id, unit_id, reason or None, clock)

    elif step in STEPS:

        def work(session):
            return STEPS[step](session, caller.actor, incident_id, unit_id, clock)

    else:
        raise NotFound(f"no step {step!r}: acknowledge, arrive or release")
    return _act(request, caller, db, clock, incident_id, f"unit-{unit_id}", work)


@router.post("/control/incidents/{incident_id}/close", response_class=HTMLResponse)
def close_incident(
    request: Request,
    caller: Closer,
    db: Db,
    clock: Now,
    incident_id: str,
    closing_category: Text = "",
    result: Text = "",
    summary: Text = "",
    crime_reference: Text = "",
):
    """Close the incident with its closing category, result and summary."""

    def work(session):
        return incidents.close_incident(
            session,
            caller.actor,
            incident_id,
            closing_category,
            result,
            summary,
            clock,
            crime_reference=crime_reference.strip() or None,
        )

    return _act(request, caller, db, clock, incident_id, "close", work)


@router.post("/control/incidents/{incident_id}/assess", response_class=HTMLResponse)
def reassess(
    request: Request,
    caller: Updater,
    db: Db,
    clock: Now,
    incident_id: str,
    grade: Text = "",
    reason: Text = "",
    threat: Text = "",
    harm: Text = "",
    risk: Text = "",
    investigation: Text = "",
    vulnerability: Text = "",
    engagement: Text = "",
):
    """Re-assess: THRIVE again and a grade (a downgrade waits for a supervisor)."""
    thrive = Thrive(threat, harm, risk, investigation, vulnerability, engagement)

    def work(session):
        return incidents.assess(session, caller.actor, incident_id, grade, thrive, reason, clock)

    rename = {f"thrive.{name}": name for name in THRIVE_NAMES}
    return _act(request, caller, db, clock, incident_id, "assess", work, rename=rename)


@router.post("/control/incidents/{incident_id}/downgrades/{request_id}", response_class=HTMLResponse)
def decide_downgrade(
    request: Request,
    caller: Approver,
    db: Db,
    clock: Now,
    incident_id: str,
    request_id: str,
    decision: Text = "",
    note: Text = "",
):
    """A supervisor approves or refuses a requested downgrade."""
    if decision not in {"approve", "refuse"}:
        error = InvalidInput("choose approve or refuse", problems=[FieldProblem("decision", "approve or refuse")])
        return _panel(request, caller, db, clock, incident_id, errors={"downgrade": by_field(error)}, status=422)

    def work(session):
        return incidents.decide_downgrade(session, caller.actor, request_id, decision == "approve", note, clock)

    return _act(request, caller, db, clock, incident_id, "downgrade", work)


# ---------------------------------------------------------------- tasks


def _tasks(
    request: Request, caller: Caller, db: Database, *, errors: dict[str, dict[str, str]] | None = None, status=200
) -> Response:
    with db.read() as session:
        open_tasks = incidents.open_tasks(session, caller.actor)
        # The tasks are already those of incidents the caller may see; their references
        # are a plain lookup (no personal data).
        ids = sorted({t.incident_id for t in open_tasks})
        references = command_queries.incident_references(session, caller.actor.force_id, ids)
    context = {
        "me": caller,
        "tasks": open_tasks,
        "references": references,
        "task_labels": TASK_LABELS,
        "errors": errors or {},
        "can_update": caller.actor.can(Action.INCIDENT_UPDATE),
    }
    return _templates(request).TemplateResponse(request, "control/_tasks.html", context, status_code=status)


@router.get("/control/tasks", response_class=HTMLResponse)
def tasks_panel(request: Request, caller: Reader, db: Db):
    """Open call-back, re-assessment and downgrade approval tasks, those due first."""
    return _tasks(request, caller, db)


@router.post("/control/tasks/{task_id}/close", response_class=HTMLResponse)
def close_task(request: Request, caller: Updater, db: Db, clock: Now, task_id: str, outcome: Text = ""):
    """Close a call-back or re-assessment task with what was done."""
    try:
        with db.unit_of_work() as session:
            changed = incidents.close_task(session, caller.actor, task_id, outcome, clock)
    except (InvalidInput, Conflict) as error:
        return _tasks(request, caller, db, errors={task_id: by_field(error)}, status=_status(error))
    _publish(request, changed.events)
    if not _is_htmx(request):
        return RedirectResponse("/control", status_code=303)
    return _tasks(request, caller, db)
