"""The officer app's API: my work, one-tap status, updates to the incident log, backup
requests, the emergency button and the phone's position.

Every change takes an ``Idempotency-Key`` (the phone queues changes offline and sends
them again when the connection returns): the first answer is kept with the change, in
the same unit of work, and a repeat gets it back (``Idempotent-Replayed: true``) without
applying anything twice. Events are published after the commit; a unit status change is
applied to the live index at once, so the control room sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bluelamp.access.policy import Action
from bluelamp.command.service import THRIVE_PARTS
from bluelamp.idempotency import service as idempotency
from bluelamp.mobile.work import service as work
from bluelamp.records.pole import format_dob
from bluelamp.tracking.runtime import apply_status
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.idempotency import IdempotencyKey, replayed

router = APIRouter()
TAG = ["officer app"]

Reader = Annotated[Caller, Depends(allow(Action.UNIT_READ))]
Mover = Annotated[Caller, Depends(allow(Action.UNIT_STATUS))]
Updater = Annotated[Caller, Depends(allow(Action.INCIDENT_UPDATE))]
Reporter = Annotated[Caller, Depends(allow(Action.POSITION_REPORT))]


# ---------------------------------------------------------------- shapes


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def work_view(found: work.Work) -> dict[str, Any]:
    """My work as JSON (GET /api/v1/mobile/work, and what the phone keeps offline)."""
    officer, unit = found.officer, found.unit
    body: dict[str, Any] = {
        "officer": None,
        "unit": None,
        "crew": [],
        "on_duty_until": _iso(found.duty.ends_at) if found.duty else None,
        "phone": found.phone.id if found.phone else None,
        "status_choices": [
            {"status": c.status, "label": c.label, "current": c.current, "allowed": c.allowed, "why": c.why}
            for c in found.choices
        ],
        "emergency": None,
        "assignment": None,
        "hidden_assignment": found.hidden_assignment,
    }
    if officer is not None:
        body["officer"] = {
            "id": officer.id,
            "collar_number": officer.collar_number,
            "name": officer.name,
            "rank": officer.rank,
        }
    if unit is not None:
        body["unit"] = {
            "id": unit.id,
            "call_sign": unit.call_sign,
            "unit_type": unit.unit_type,
            "status": unit.status,
            "status_changed_at": _iso(unit.status_changed_at),
        }
        body["crew"] = [{"collar_number": o.collar_number, "name": o.name, "rank": o.rank} for o in found.crew]
    if found.emergency is not None:
        body["emergency"] = {"id": found.emergency.id, "raised_at": _iso(found.emergency.raised_at)}
    assigned = found.assignment
    if assigned is not None:
        incident, assessment = assigned.incident, assigned.assessment
        body["assignment"] = {
            "incident": {
                "id": incident.id,
                "reference": incident.reference,
                "status": incident.status,
                "grade": incident.grade,
                "category": incident.opening_category,
                "qualifiers": list(incident.qualifiers or []),
                "description": incident.description,
                "address": incident.address,
                "lat": incident.lat,
                "lon": incident.lon,
                "created_at": _iso(incident.created_at),
                "target_at": _iso(incident.target_at),
                "marking": incident.marking,
            },
            "navigate": f"geo:{incident.lat:.6f},{incident.lon:.6f}",
            "assigned_at": _iso(assigned.assigned_at),
            "acknowledged_at": _iso(assigned.acknowledged_at),
            "arrived_at": _iso(assigned.arrived_at),
            "thrive": None if assessment is None else {part: getattr(assessment, part) for part in THRIVE_PARTS},
            "callers": [
                {
                    "name": c.caller_name,
                    "phone": c.caller_phone,
                    "callback_consent": c.callback_consent,
                    "received_at": _iso(c.received_at),
                    "source": c.source,
                }
                for c in assigned.calls
            ],
            "warnings": [
                {
                    "person_id": w.person.id,
                    "name": w.name,
                    "date_of_birth": format_dob(w.person.dob_year, w.person.dob_month, w.person.dob_day) or None,
                    "why": w.why,
                    "markers": [
                        {"kind": m.kind, "reason": m.reason, "from": m.from_date.isoformat()} for m in w.markers
                    ],
                }
                for w in assigned.warnings
            ],
            "previous_incidents": [
                {
                    "id": p.incident.id,
                    "reference": p.incident.reference,
                    "category": p.incident.opening_category,
                    "status": p.incident.status,
                    "created_at": _iso(p.incident.created_at),
                    "distance_m": p.distance_m,
                    "closing_category": p.incident.closing_category,
                    "result": p.incident.result,
                }
                for p in assigned.previous
            ],
            "previous_incidents_total": assigned.previous_total,
            "previous_incidents_months": work.PREVIOUS_INCIDENTS_MONTHS,
            "log": [{"id": e.id, "at": _iso(e.at), "by": e.by, "kind": e.kind, "text": e.text} for e in assigned.log],
            "backup_requested": [
                {"task_id": t.id, "at": _iso(t.created_at), "reason": t.reason} for t in assigned.backup
            ],
        }
    return body


class StatusIn(BaseModel):
    """A one-tap status: en_route (acknowledge), at_scene, available (clear); also busy,
    transporting, at_hospital, refreshments. ``incident_id``: the assignment shown when
    the officer pressed (refused when control has since moved the unit)."""

    status: str
    incident_id: str | None = None


class UpdateIn(BaseModel):
    incident_id: str
    text: str = Field(max_length=4000)


class BackupIn(BaseModel):
    incident_id: str
    note: str | None = Field(None, max_length=500)
    lat: float | None = None
    lon: float | None = None


class EmergencyIn(BaseModel):
    """The phone's position when it has one; the emergency goes without it otherwise."""

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None


class PositionIn(BaseModel):
    """A position from the phone's browser (Geolocation API): speed in m/s, heading in degrees."""

    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing: float | None = None
    timestamp: datetime | None = Field(None, description="When the phone measured it (default: now)")


# ---------------------------------------------------------------- helpers


def _keyed(request: Request, caller: Caller, db, key: str | None, change):
    """Run ``change(session)`` -> (status code, body, after) once per Idempotency-Key; call
    ``after()`` (publishing) only when the change was applied now."""
    path = request.url.path
    with db.unit_of_work() as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, "POST", path)
        if earlier is not None:
            return replayed(earlier)
        status_code, body, after = change(session)
        idempotency.keep_answer(session, caller.actor, key, "POST", path, status_code, body, request.app.state.clock)
    after()
    return JSONResponse(body, status_code=status_code)


def _publish(request: Request, events) -> None:
    for event in events:
        request.app.state.bus.publish(event)


# ---------------------------------------------------------------- routes


@router.get("/api/v1/mobile/work", tags=TAG, summary="My unit and its current assignment")
def my_work(caller: Reader, db: Db, clock: Now):
    """The officer's unit (from their duty now), crew and status buttons, and its current
    assignment: the incident, THRIVE, callers' call-back details, warning markers of the
    persons around it, previous incidents at the location, the latest log entries. Audited.
    ``officer`` is null for a user who is not an officer; ``unit`` null when off duty."""
    with db.unit_of_work() as session:
        return work_view(work.my_work(session, caller.actor, clock))


@router.post("/api/v1/mobile/status", tags=TAG, summary="One-tap status of my unit")
def change_status(request: Request, caller: Mover, db: Db, clock: Now, body: StatusIn, key: IdempotencyKey = None):
    """The incident follows: en route acknowledges, at scene arrives, available clears.
    409 ``mobile.status_not_allowed`` / ``mobile.assignment_changed`` / ``mobile.no_assignment``
    with words to show the officer."""

    def change(session):
        moved = work.change_my_status(session, caller.actor, body.status, clock, incident_id=body.incident_id)
        answer = {
            "unit_id": moved.unit.id,
            "call_sign": moved.unit.call_sign,
            "from": moved.before,
            "status": moved.after,
            "changed": moved.before != moved.after,
            "incident": None
            if moved.incident is None
            else {"id": moved.incident.id, "reference": moved.incident.reference, "status": moved.incident.status},
        }

        def after():
            apply_status(request.app.state.tracking, moved.changed, request.app.state.bus.publish)
            _publish(request, moved.events)

        return 200, answer, after

    return _keyed(request, caller, db, key, change)


@router.post("/api/v1/mobile/updates", status_code=201, tags=TAG, summary="An update to the incident's log")
def add_update(request: Request, caller: Updater, db: Db, clock: Now, body: UpdateIn, key: IdempotencyKey = None):
    def change(session):
        changed = work.add_update(session, caller.actor, body.incident_id, body.text, clock)
        entry = changed.entry
        answer = {
            "incident_id": changed.incident.id,
            "reference": changed.incident.reference,
            "entry": {"id": entry.id, "at": _iso(entry.at), "by": entry.by, "kind": entry.kind, "text": entry.text},
        }
        return 201, answer, lambda: _publish(request, changed.events)

    return _keyed(request, caller, db, key, change)


@router.post("/api/v1/mobile/backup", status_code=201, tags=TAG, summary="Ask control for backup")
def request_backup(request: Request, caller: Updater, db: Db, clock: Now, body: BackupIn, key: IdempotencyKey = None):
    """A ``backup`` task on the incident (the control room lists it until a dispatcher
    closes it) and a flagged log entry; 200 with the open request when there is one."""

    def change(session):
        asked = work.request_backup(
            session, caller.actor, body.incident_id, body.note, clock, lat=body.lat, lon=body.lon
        )
        answer = {
            "incident_id": asked.incident.id,
            "reference": asked.incident.reference,
            "task_id": asked.task.id,
            "requested_at": _iso(asked.task.created_at),
            "already_requested": asked.already,
        }
        return (200 if asked.already else 201), answer, lambda: _publish(request, asked.events)

    return _keyed(request, caller, db, key, change)


@router.post("/api/v1/mobile/emergency", status_code=201, tags=TAG, summary="The emergency button")
def raise_emergency(
    request: Request, caller: Mover, db: Db, clock: Now, body: EmergencyIn | None = None, key: IdempotencyKey = None
):
    """An emergency for the unit the officer crews (on top of every control-room screen
    until acknowledged), with the phone's position when given. 200 with the open one when
    the unit already has one. Never refused for a missing or bad position."""
    body = body or EmergencyIn()

    def change(session):
        raised = work.raise_my_emergency(session, caller.actor, clock, lat=body.lat, lon=body.lon)
        emergency = raised.emergency
        answer = {
            "emergency_id": emergency.id,
            "raised_at": _iso(emergency.raised_at),
            "call_sign": raised.unit.call_sign if raised.unit is not None else None,
            "lat": emergency.lat,
            "lon": emergency.lon,
            "already_raised": raised.already,
        }

        def after():
            if raised.changed is not None:
                apply_status(request.app.state.tracking, raised.changed, request.app.state.bus.publish)
            _publish(request, raised.events)

        return (200 if raised.already else 201), answer, after

    return _keyed(request, caller, db, key, change)


@router.post("/api/v1/mobile/position", tags=TAG, summary="My phone's position (location sharing)")
def report_position(request: Request, caller: Reporter, db: Db, clock: Now, body: PositionIn):
    """Through tracking's ingest as the officer's registered phone, only while they are on
    duty. Not keyed: positions are sent live and never queued (a repeat stores the same fix)."""
    measured = body.timestamp
    if measured is not None:
        measured = measured.replace(tzinfo=UTC) if measured.tzinfo is None else measured.astimezone(UTC)
    with db.read() as session:
        phone = work.my_phone(session, caller.actor, clock)
    reported = work.report_position(
        request.app.state.tracking.ingest,
        phone,
        work.PhonePosition(body.lat, body.lon, measured, body.accuracy_m, body.speed_mps, body.bearing),
        clock,
    )
    return {"device_id": reported.device_id, "at": _iso(reported.fix_at), "lat": reported.lat, "lon": reported.lon}
