"""Command and control's use cases for incidents: intake (new calls, duplicate calls
attached, the same call twice), THRIVE and grading, the rules (the target clock from
creation, re-assessment prompts, downgrade approval, call-backs when attendance
changes, breaches, grade 3 appointments), the append-only log, link and merge, close.

Dispatch (assigning units) lives in ``dispatch.py``, recommendations in
``recommend.py``, EIDO in ``eido.py``; they call the functions here for what an
incident does (``reevaluate`` when a unit leaves, ``transition`` for a status change).

Decisions this module makes (issue 5):

- **THRIVE is required for every grade**, 4 included: resolving a call without
  deployment is exactly the decision an inspector reviews, so its risk assessment must
  be on record like any other.
- **Grade 3 books a slot at intake**: ``create_incident`` books the slot the caller
  chose (``appointment_at``) or, when none is given, the earliest free one within the
  grade 3 target; the call handler can move it with ``book_appointment`` (a reschedule,
  which, like every change to attendance, opens call-back tasks). With no free slot in
  the window the incident stays open and the intake says so in its warnings.
- **Duplicate calls** are offered by the new call's category: its radius and window,
  any category of active incident (callers describe the same fight differently).
- **Merging** refuses a duplicate that still has units assigned (release or divert
  them first: moving units is dispatch's decision) and one with a booked appointment
  (cancel it first, which calls the caller back).
- **A breach** is the moment the target passed (``breached_at = target_at``), recorded
  by the sweep with a cause derived from the incident's state; a supervisor may amend it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force, ForceSettings
from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import force_settings, require
from bluelamp.clock import LONDON, Clock, to_local
from bluelamp.command import log, queries, targets, tasks
from bluelamp.command.commands import NewIncident, Thrive
from bluelamp.command.config import FAMILY_NAMES, CommandSettings, command_settings
from bluelamp.command.model import (
    ACTIVE_STATUSES,
    Appointment,
    Assessment,
    Assignment,
    Call,
    DowngradeRequest,
    Grade,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    Source,
    Task,
    TaskKind,
)
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("incident.location_required", InvalidInput, "An incident needs a location: a map click or coordinates."),
    (
        "incident.outside_area",
        InvalidInput,
        "The location is outside the force's area; give `outside_area_reason` to record it anyway.",
    ),
    ("incident.unknown_category", InvalidInput, "The category is not one of the force's incident categories."),
    ("incident.thrive_required", InvalidInput, "Every part of THRIVE must be recorded before an incident is graded."),
    (
        "incident.illegal_status",
        Conflict,
        "The incident cannot move to that status from its current one; `allowed` lists what can follow.",
    ),
    ("incident.inactive", Conflict, "The incident is closed, resolved or merged; reopen or unmerge it first."),
    ("incident.units_assigned", Conflict, "Units are still assigned to the incident; `units` lists them."),
    ("incident.open_call_backs", Conflict, "Call-back tasks are still open; `tasks` lists them. Close them first."),
    (
        "incident.appointment_booked",
        Conflict,
        "A future appointment is booked; cancel it first (the caller is called back).",
    ),
    ("incident.link_cycle", Conflict, "Linking these incidents would make an incident its own ancestor."),
    ("incident.already_linked", Conflict, "The incident already has a parent incident; unlink it first."),
    ("incident.not_linked", Conflict, "The incident is not a child of that parent."),
    ("incident.has_merged", Conflict, "Other incidents are merged into this one; it cannot itself be merged."),
    ("incident.not_merged", Conflict, "The incident is not merged into another."),
    ("incident.not_breached", Conflict, "The incident has not breached its target."),
    (
        "incident.idempotency_key_used",
        Conflict,
        "That idempotency key was already used for a call you may not see; send a new key.",
    ),
    ("downgrade.reason_required", InvalidInput, "A downgrade needs a reason."),
    ("downgrade.pending", Conflict, "A downgrade of the incident already awaits a supervisor's decision."),
    ("downgrade.decided", Conflict, "The downgrade request was already decided."),
    ("downgrade.self_approval", Conflict, "A downgrade must be decided by a supervisor other than the requester."),
    ("task.closed", Conflict, "The task is already closed."),
    ("task.needs_decision", Conflict, "A downgrade approval task closes with the supervisor's decision."),
    ("appointment.grade", Conflict, "Only grade 3 (scheduled) incidents book appointments."),
    ("appointment.not_a_slot", InvalidInput, "That time is not an appointment slot within the grade 3 target."),
    ("appointment.full", Conflict, "That appointment slot is full; choose another."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

# The control-room supervisor's action: approving downgrades, amending a breach's cause.
SUPERVISE = Action.INCIDENT_APPROVE_DOWNGRADE
# Who the rules sweep writes log entries as.
RULES = "rules"

S = IncidentStatus
# Which status may follow which. DISPATCHED and AT_SCENE follow dispatch; SCHEDULED
# follows a booked appointment; MERGED is left only by unmerging (to what it was).
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.OPEN: frozenset({S.DISPATCHED, S.AT_SCENE, S.SCHEDULED, S.RESOLVED, S.CLOSED, S.MERGED}),
    S.DISPATCHED: frozenset({S.OPEN, S.AT_SCENE, S.CLOSED}),
    S.AT_SCENE: frozenset({S.OPEN, S.DISPATCHED, S.CLOSED}),
    S.SCHEDULED: frozenset({S.OPEN, S.DISPATCHED, S.AT_SCENE, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED, S.MERGED}),
    S.CLOSED: frozenset({S.OPEN}),
    S.MERGED: frozenset({S.OPEN, S.RESOLVED}),
}
# The statuses a person sets directly; the others have their own action (dispatch,
# book_appointment, close_incident, merge).
MANUAL_STATUSES = frozenset({S.OPEN, S.RESOLVED})

# How an incident ended (the closing result), beside its closing NSIR category.
RESULTS: dict[str, str] = {
    "resolved": "Resolved",
    "advice_given": "Advice given",
    "crime_recorded": "Crime recorded",
    "no_trace": "No trace",
    "false_report": "False report",
    "referred_to_partner": "Referred to a partner agency",
    "duplicate": "Duplicate of another incident",
    "transferred": "Transferred to another force or agency",
}

ATTENDANCE_CHANGES = {"delay": "delayed", "cancel": "cancelled", "reschedule": "rescheduled"}
THRIVE_PARTS = ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")


# ---------------------------------------------------------------- results


@dataclass
class Intake:
    """What a new call did: the incident it created or joined, and the call's own record."""

    incident: Incident
    call: Call
    created: bool  # False: the same submission was already received (idempotency key)
    attached: bool  # True: the call joined an existing incident
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    appointment: Appointment | None = None


@dataclass
class Changed:
    """What a change to an incident did, and the events to publish after the commit."""

    incident: Incident
    events: list[Event] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)  # tasks it opened
    downgrade: DowngradeRequest | None = None
    appointment: Appointment | None = None
    entry: LogEntry | None = None


@dataclass
class Detail:
    """Everything about one incident, for its detail screen."""

    incident: Incident
    calls: list[Call]  # its own and those of duplicates merged into it
    assessments: list[Assessment]
    log: list[LogEntry]
    assignments: list[Assignment]
    call_signs: dict[str, str]  # unit id -> call sign, for the assignments
    tasks: list[Task]  # open and closed
    downgrades: list[DowngradeRequest]
    appointment: Appointment | None
    parent: Incident | None
    children: list[Incident]
    merged: list[Incident]  # duplicates merged into this incident


@dataclass(frozen=True)
class Slot:
    """A grade 3 appointment slot with room left."""

    starts_at: datetime
    ends_at: datetime
    free: int


@dataclass(frozen=True)
class Catalogue:
    """A force's incident vocabulary: categories, qualifiers, grades and targets, results."""

    command: CommandSettings
    grades: dict[str, object]
    families: dict[str, str]
    results: dict[str, str]
    sources: list[str]


# ---------------------------------------------------------------- settings and helpers


def settings_of(session: Session, force_id: str | None) -> tuple[Force, ForceSettings, CommandSettings]:
    """A force's row, its settings and its command-and-control settings."""
    force = session.get(Force, force_id) if force_id else None
    if force is None:
        raise NotFound(f"no force {force_id!r}")
    general = force_settings(force)
    return force, general, command_settings(general.command)


def catalogue(session: Session, actor: Actor) -> Catalogue:
    """The force's categories and qualifiers, grade names and targets, closing results."""
    require(actor, Action.INCIDENT_READ)
    _, general, command = settings_of(session, actor.force_id)
    return Catalogue(
        command=command,
        grades=dict(general.grades),
        families={f.value: name for f, name in FAMILY_NAMES.items()},
        results=dict(RESULTS),
        sources=[s.value for s in Source],
    )


def invalid_input(problems: list[tuple[FieldProblem, str]]) -> InvalidInput:
    """One InvalidInput listing every problem; its code is theirs when they share one."""
    codes = {code for _, code in problems}
    fields = [p for p, _ in problems]
    return InvalidInput(
        "; ".join(f"{p.field}: {p.message}" for p in fields),
        code=codes.pop() if len(codes) == 1 else "input.invalid",
        problems=fields,
    )


def location_problems(lat: float | None, lon: float | None, *, required: bool) -> list[tuple[FieldProblem, str]]:
    if lat is None or lon is None:
        if not required and lat is None and lon is None:
            return []
        return [(FieldProblem("location", "a location is required: click the map or give coordinates"), _LOC)]
    problems = []
    if not isinstance(lat, int | float) or not math.isfinite(lat) or not -90 <= lat <= 90:
        problems.append((FieldProblem("lat", "latitude must be a number from -90 to 90"), "input.invalid"))
    if not isinstance(lon, int | float) or not math.isfinite(lon) or not -180 <= lon <= 180:
        problems.append((FieldProblem("lon", "longitude must be a number from -180 to 180"), "input.invalid"))
    return problems


_LOC = "incident.location_required"


def _thrive_problems(thrive: Thrive | dict | None) -> list[tuple[FieldProblem, str]]:
    code = "incident.thrive_required"
    if thrive is None:
        return [(FieldProblem("thrive", "record all six parts of THRIVE"), code)]
    parts = thrive if isinstance(thrive, dict) else asdict(thrive)
    return [
        (FieldProblem(f"thrive.{part}", f"{part} is required"), code)
        for part in THRIVE_PARTS
        if not str(parts.get(part) or "").strip()
    ]


def _grade_problems(grade: str | None, general: ForceSettings) -> list[tuple[FieldProblem, str]]:
    if grade is None or not str(grade).strip():
        return [(FieldProblem("grade", "choose a grade (1 to 4)"), "input.invalid")]
    if str(grade) not in {g.value for g in Grade} or str(grade) not in general.grades:
        return [(FieldProblem("grade", f"{grade!r} is not a grade: use 1, 2, 3 or 4"), "input.invalid")]
    return []


def _thrive_dict(thrive: Thrive | dict) -> dict[str, str]:
    parts = thrive if isinstance(thrive, dict) else asdict(thrive)
    return {part: str(parts.get(part) or "").strip() for part in THRIVE_PARTS}


def _force_id(actor: Actor) -> str:
    if actor.force_id is None:
        raise NotFound("no force: incidents belong to a force")
    return actor.force_id


def _visible(session: Session, actor: Actor, incident_id: str, *, for_update: bool = False) -> Incident:
    incident = queries.visible_incident(session, actor, incident_id, for_update=for_update)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}")
    return incident


def _active(incident: Incident) -> None:
    if incident.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"incident {incident.reference} is {incident.status}; reopen or unmerge it first",
            code="incident.inactive",
            extra={"status": incident.status},
        )


def _audit(session: Session, actor: Actor, action: str, incident: Incident, clock: Clock, **detail) -> None:
    audit.append(
        session,
        actor,
        Audit(
            action, record_type="incident", record_id=incident.id, detail={"reference": incident.reference, **detail}
        ),
        clock,
    )


def _when(moment: datetime | None) -> str:
    return to_local(moment).strftime("%d/%m %H:%M") if moment else "-"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def transition(
    session: Session,
    incident: Incident,
    status: IncidentStatus | str,
    by: str,
    clock: Clock,
    *,
    reason: str | None = None,
    kind: LogKind = LogKind.STATUS,
    data: dict | None = None,
) -> LogEntry | None:
    """Move an incident to a status and log it; an illegal move is refused (409) listing the
    allowed ones. For every status change, including dispatch's. None when already there."""
    target = IncidentStatus(status)
    current = IncidentStatus(incident.status)
    if target is current:
        return None
    if target not in TRANSITIONS[current]:
        raise illegal_status(incident, target)
    incident.status = target.value
    text = f"status {current} → {target}" + (f": {reason}" if reason else "")
    return log.write(
        session,
        incident,
        by,
        kind,
        text,
        clock,
        data={"from": current.value, "to": target.value, "reason": reason, **(data or {})},
    )


def illegal_status(incident: Incident, target: IncidentStatus | str) -> Conflict:
    """The 409 for a status the incident cannot take now, listing the ones it can."""
    current = IncidentStatus(incident.status)
    allowed = sorted(TRANSITIONS[current])
    return Conflict(
        f"incident {incident.reference} cannot go from {current} to {IncidentStatus(target)}; "
        f"allowed: {', '.join(allowed) or 'nothing'}",
        code="incident.illegal_status",
        extra={"allowed": allowed, "current": current.value},
    )


def _log_target(session: Session, incident: Incident, by: str, clock: Clock, why: str) -> LogEntry:
    if incident.target_minutes is None:
        text = f"no attendance target (grade {incident.grade}){why}"
    else:
        text = (
            f"attendance target {incident.target_minutes} min ({incident.area_kind}) from creation: "
            f"by {_when(incident.target_at)}{why}"
        )
    return log.write(
        session,
        incident,
        by,
        LogKind.TARGET,
        text,
        clock,
        data={
            "grade": incident.grade,
            "area_kind": incident.area_kind,
            "target_minutes": incident.target_minutes,
            "target_at": _iso(incident.target_at),
            "reassess_at": _iso(incident.reassess_at),
        },
    )


def _all_calls(session: Session, incident: Incident) -> list[Call]:
    """The incident's callers: its own calls and those of duplicates merged into it."""
    ids = [incident.id] + [d.id for d in queries.merged_into(session, incident.id)]
    return queries.calls_of(session, ids)


def _call_backs(session: Session, incident: Incident, reason: str, by: str, clock: Clock) -> list[Task]:
    """Attendance changed: every caller must be told (one call-back task each)."""
    return tasks.call_backs_for_attendance_change(session, incident, _all_calls(session, incident), reason, by, clock)


# ---------------------------------------------------------------- intake


def create_incident(
    session: Session, actor: Actor, cmd: NewIncident, clock: Clock, *, appointment_at: datetime | None = None
) -> Intake:
    """Record a new call: a new incident (reference, first THRIVE assessment, target, log),
    or, with ``attach_to``, another caller on an existing incident. The same idempotency
    key twice returns the first result and writes nothing."""
    require(actor, Action.INCIDENT_CREATE)
    force_id = _force_id(actor)
    force, general, command = settings_of(session, force_id)
    key = (cmd.idempotency_key or "").strip()[:100] or None
    if key is not None:
        replay = _replay(session, actor, force_id, key)
        if replay is not None:
            return replay
    if cmd.attach_to:
        return _attach(session, actor, cmd, key, clock)

    problems: list[tuple[FieldProblem, str]] = []
    source = _source(cmd.source, problems)
    category = command.category((cmd.category or "").strip())
    if category is None:
        problems.append(
            (
                FieldProblem("category", f"{cmd.category!r} is not one of the force's categories"),
                "incident.unknown_category",
            )
        )
    qualifiers: list[str] = []
    for code in cmd.qualifiers:
        if command.qualifier(code) is None:
            problems.append((FieldProblem("qualifiers", f"{code!r} is not a known qualifier"), "input.invalid"))
        elif code not in qualifiers:
            qualifiers.append(code)
    location = location_problems(cmd.lat, cmd.lon, required=True)
    problems.extend(location)
    warnings: list[str] = []
    outside_reason = (cmd.outside_area_reason or "").strip()[:300] or None
    if not location and not targets.in_force_area(command, cmd.lat, cmd.lon):
        if outside_reason is None:
            problems.append(
                (
                    FieldProblem(
                        "outside_area_reason", "the location is outside the force area: say why the force deals with it"
                    ),
                    "incident.outside_area",
                )
            )
        else:
            warnings.append(f"the location is outside the force area (recorded: {outside_reason})")
    elif outside_reason is not None:
        outside_reason = None  # inside the area: nothing to explain
    grade = (cmd.grade or (category.default_grade if category else None) or "").strip() or None
    problems.extend(_grade_problems(grade, general))
    problems.extend(_thrive_problems(cmd.thrive))
    marking = cmd.marking or Marking.OFFICIAL.value
    if marking not in {m.value for m in Marking}:
        problems.append((FieldProblem("marking", f"{marking!r} is not a security marking"), "input.invalid"))
    elif not actor.clearance.covers(marking):
        problems.append((FieldProblem("marking", "you are not cleared for that marking"), "input.invalid"))
    if len(cmd.address or "") > 300:
        problems.append((FieldProblem("address", "at most 300 characters"), "input.invalid"))
    problems.extend(_caller_problems(cmd))
    if appointment_at is not None and grade != Grade.SCHEDULED.value:
        problems.append((FieldProblem("appointment_at", "only grade 3 incidents book appointments"), "input.invalid"))
    if problems:
        raise invalid_input(problems)

    now = clock.now()
    day = to_local(now).strftime("%Y%m%d")

    def rows() -> tuple[Incident, Call]:
        number = queries.next_reference_number(session, force_id, day)
        incident = Incident(
            id=clock.new_id(),
            force_id=force_id,
            marking=marking,
            need_to_know=False,
            reference=f"{force.reference_prefix}-{day}-{number:04d}",
            idempotency_key=key,
            source=source,
            opening_category=category.code,
            qualifiers=qualifiers,
            description=(cmd.description or "").strip(),
            lat=float(cmd.lat),
            lon=float(cmd.lon),
            address=(cmd.address or "").strip(),
            outside_area_reason=outside_reason,
            area_kind=targets.area_kind(command, cmd.lat, cmd.lon).value,
            grade=grade,
            status=S.OPEN.value,
            created_at=now,
            created_by=actor.username,
            updated_at=now,
            external_id=cmd.external_id,
        )
        session.add(incident)
        session.flush()  # the incident before its call (no ORM relationship orders them)
        call = _call_row(incident, cmd, key, source, actor, clock)
        session.add(call)
        return incident, call

    ok, made = queries.inserted(session, rows)
    if not ok:  # the same key, committed by a concurrent request after our look-up
        replay = _replay(session, actor, force_id, key) if key else None
        if replay is None:
            raise Conflict("the call could not be recorded; send it again", code="conflict")
        return replay
    incident, call = made
    thrive = _thrive_dict(cmd.thrive)
    assessment = _assessment(incident, grade, thrive, None, actor.username, clock)
    session.add(assessment)
    incident.assessment_id = assessment.id
    targets.set_target(incident, general, command)
    log.write(
        session,
        incident,
        actor.username,
        LogKind.CREATED,
        f"incident {incident.reference} created from a {source} call: {category.name}"
        + (f" ({', '.join(qualifiers)})" if qualifiers else ""),
        clock,
        data={
            "call_id": call.id,
            "source": source,
            "category": category.code,
            "qualifiers": qualifiers,
            "lat": incident.lat,
            "lon": incident.lon,
            "address": incident.address,
            "outside_area_reason": outside_reason,
            "marking": marking,
        },
    )
    _log_assessment(session, incident, assessment, actor.username, clock, None)
    _log_target(session, incident, actor.username, clock, "")
    appointment = None
    if grade == Grade.SCHEDULED.value:
        appointment, warning = _book_at_intake(session, actor, incident, command, appointment_at, clock)
        if warning:
            warnings.append(warning)
    _audit(session, actor, "incident.create", incident, clock, call_id=call.id, grade=grade)
    session.flush()
    return Intake(incident, call, True, False, [log.changed(incident, "created")], warnings, appointment)


def _source(raw: str, problems: list[tuple[FieldProblem, str]]) -> str:
    try:
        return Source((raw or "").strip()).value
    except ValueError:
        problems.append(
            (FieldProblem("source", f"{raw!r} is not one of {', '.join(s.value for s in Source)}"), "input.invalid")
        )
        return raw


def _caller_problems(cmd: NewIncident) -> list[tuple[FieldProblem, str]]:
    problems = []
    if len(cmd.caller.name or "") > 200:
        problems.append((FieldProblem("caller.name", "at most 200 characters"), "input.invalid"))
    if len(cmd.caller.phone or "") > 40:
        problems.append((FieldProblem("caller.phone", "at most 40 characters"), "input.invalid"))
    return problems


def _call_row(incident: Incident, cmd: NewIncident, key: str | None, source: str, actor: Actor, clock: Clock) -> Call:
    return Call(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        idempotency_key=key,
        received_at=clock.now(),
        source=source,
        caller_name=(cmd.caller.name or "").strip() or None,
        caller_phone=(cmd.caller.phone or "").strip() or None,
        callback_consent=bool(cmd.caller.callback_consent),
        account=(cmd.description or "").strip(),
        lat=float(cmd.lat) if cmd.lat is not None else None,
        lon=float(cmd.lon) if cmd.lon is not None else None,
        address=(cmd.address or "").strip() or None,
        handled_by=actor.username,
    )


def _replay(session: Session, actor: Actor, force_id: str, key: str) -> Intake | None:
    """The first result of a submission received before under this key, if any."""
    call = queries.call_by_idempotency_key(session, force_id, key)
    if call is None:
        return None
    incident = queries.visible_incident(session, actor, call.incident_id)
    if incident is None:
        raise Conflict("that idempotency key was already used", code="incident.idempotency_key_used")
    appointment = session.get(Appointment, incident.appointment_id) if incident.appointment_id else None
    return Intake(
        incident,
        call,
        created=False,
        attached=incident.idempotency_key != key,
        warnings=[f"already received as {incident.reference}: nothing new was recorded"],
        appointment=appointment,
    )


def _attach(session: Session, actor: Actor, cmd: NewIncident, key: str | None, clock: Clock) -> Intake:
    """Another caller about an existing incident: the call is its own record."""
    problems: list[tuple[FieldProblem, str]] = []
    source = _source(cmd.source, problems)
    problems.extend(location_problems(cmd.lat, cmd.lon, required=False))
    problems.extend(_caller_problems(cmd))
    if problems:
        raise invalid_input(problems)
    incident = _visible(session, actor, cmd.attach_to, for_update=True)
    _active(incident)

    def rows() -> Call:
        call = _call_row(incident, cmd, key, source, actor, clock)
        session.add(call)
        return call

    ok, call = queries.inserted(session, rows)
    if not ok:
        replay = _replay(session, actor, incident.force_id, key) if key else None
        if replay is None:
            raise Conflict("the call could not be recorded; send it again", code="conflict")
        return replay
    log.write(
        session,
        incident,
        actor.username,
        LogKind.CALL_ATTACHED,
        f"another call ({source}) attached" + (f": {call.account}" if call.account else ""),
        clock,
        data={"call_id": call.id, "source": source, "lat": call.lat, "lon": call.lon},
    )
    _audit(session, actor, "incident.attach_call", incident, clock, call_id=call.id)
    session.flush()
    appointment = session.get(Appointment, incident.appointment_id) if incident.appointment_id else None
    return Intake(incident, call, True, True, [log.changed(incident, "call_attached")], [], appointment)


def _assessment(
    incident: Incident, grade: str, thrive: dict[str, str], reason: str | None, by: str, clock: Clock
) -> Assessment:
    return Assessment(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        at=clock.now(),
        by=by,
        grade=grade,
        reason=reason,
        **thrive,
    )


def _log_assessment(
    session: Session, incident: Incident, assessment: Assessment, by: str, clock: Clock, previous: str | None
) -> LogEntry:
    if previous is None:
        text = f"THRIVE assessed: grade {assessment.grade}"
    elif previous == assessment.grade:
        text = f"re-assessed: grade {assessment.grade} kept"
    else:
        text = f"re-assessed: grade {previous} → {assessment.grade}"
    if assessment.reason:
        text += f": {assessment.reason}"
    return log.write(
        session,
        incident,
        by,
        LogKind.ASSESSED,
        text,
        clock,
        data={
            "assessment_id": assessment.id,
            "grade": assessment.grade,
            "previous_grade": previous,
            "thrive": {part: getattr(assessment, part) for part in THRIVE_PARTS},
        },
    )


# ---------------------------------------------------------------- reads


def get_incident(session: Session, actor: Actor, incident_id: str, clock: Clock | None = None) -> Incident:
    """One incident the actor may see (another force's answers like a missing one); audited."""
    require(actor, Action.INCIDENT_READ)
    incident = _visible(session, actor, incident_id)
    _audit(session, actor, "incident.read", incident, clock or Clock(), view="summary")
    return incident


def get_incident_by_reference(session: Session, actor: Actor, reference: str, clock: Clock | None = None) -> Incident:
    """An incident by its reference (``SP-20261128-0042``); audited."""
    require(actor, Action.INCIDENT_READ)
    incident = queries.visible_incident_by_reference(session, actor, reference)
    if incident is None:
        raise NotFound(f"no incident {reference.strip()!r}")
    _audit(session, actor, "incident.read", incident, clock or Clock(), view="summary")
    return incident


def incident_detail(session: Session, actor: Actor, incident_id: str, clock: Clock | None = None) -> Detail:
    """Everything about an incident: calls (with merged duplicates'), assessments, the log
    in order, assignments, tasks, downgrade requests, appointment, parent, children; audited
    (it holds callers' personal data)."""
    require(actor, Action.INCIDENT_READ)
    incident = _visible(session, actor, incident_id)
    merged = queries.merged_into(session, incident.id)
    assignments = queries.assignments(session, incident.id)
    detail = Detail(
        incident=incident,
        calls=queries.calls_of(session, [incident.id] + [m.id for m in merged]),
        assessments=queries.assessments_of(session, incident.id),
        log=queries.log_in_order(session, incident.id),
        assignments=assignments,
        call_signs=queries.call_signs(session, sorted({a.unit_id for a in assignments})),
        tasks=queries.tasks_of(session, [incident.id]),
        downgrades=queries.downgrades_of(session, incident.id),
        appointment=session.get(Appointment, incident.appointment_id) if incident.appointment_id else None,
        parent=session.get(Incident, incident.parent_id) if incident.parent_id else None,
        children=queries.children_of(session, incident.id),
        merged=merged,
    )
    _audit(session, actor, "incident.read", incident, clock or Clock(), view="detail")
    return detail


def queue(
    session: Session,
    actor: Actor,
    *,
    statuses: frozenset[str] | set[str] | list[str] = ACTIVE_STATUSES,
    limit: int = 200,
) -> list[Incident]:
    """The incidents awaiting or under attendance: grade, then nearest target, then oldest."""
    require(actor, Action.INCIDENT_READ)
    wanted = []
    for status in statuses:
        try:
            wanted.append(IncidentStatus(status).value)
        except ValueError:
            raise InvalidInput(
                f"{status!r} is not an incident status",
                problems=[FieldProblem("status", f"use one of {', '.join(s.value for s in IncidentStatus)}")],
            ) from None
    return queries.incident_queue(session, actor, sorted(wanted), max(1, min(int(limit), 1000)))


def open_tasks(session: Session, actor: Actor, *, kind: str | None = None, limit: int = 500) -> list[Task]:
    """Open tasks (call-backs, re-assessments, downgrade approvals) on incidents the actor may see."""
    require(actor, Action.INCIDENT_READ)
    if kind is not None:
        try:
            kind = TaskKind(kind).value
        except ValueError:
            raise InvalidInput(
                f"{kind!r} is not a kind of task",
                problems=[FieldProblem("kind", f"use one of {', '.join(k.value for k in TaskKind)}")],
            ) from None
    return queries.visible_open_tasks(session, actor, kind, limit)


# ---------------------------------------------------------------- THRIVE, grades, downgrades


def assess(
    session: Session, actor: Actor, incident_id: str, grade: str, thrive: Thrive, reason: str | None, clock: Clock
) -> Changed:
    """Re-assess an incident. The same or a more urgent grade applies at once (the target is
    recomputed, still counted from creation); a downgrade waits for a supervisor."""
    require(actor, Action.INCIDENT_UPDATE)
    incident = _visible(session, actor, incident_id, for_update=True)
    _active(incident)
    _, general, command = settings_of(session, incident.force_id)
    grade = str(grade or "").strip()
    problems = _grade_problems(grade, general) + _thrive_problems(thrive)
    if problems:
        raise invalid_input(problems)
    reason = (reason or "").strip() or None
    parts = _thrive_dict(thrive)
    if int(grade) > int(incident.grade):
        return _request_downgrade(session, actor, incident, grade, parts, reason, clock)
    events: list[Event] = []
    opened: list[Task] = []
    pending = queries.pending_downgrade(session, incident.id)
    if pending is not None:  # a fresh assessment supersedes the request
        _settle_request(session, incident, pending, actor.username, None, "superseded by a re-assessment", clock)
    appointment, attendance = _apply_grade(session, actor, incident, grade, parts, reason, general, command, clock)
    if attendance:
        opened = _call_backs(session, incident, attendance, actor.username, clock)
    _audit(session, actor, "incident.assess", incident, clock, grade=grade)
    session.flush()
    events.append(log.changed(incident, "assessed"))
    return Changed(incident, events, opened, appointment=appointment)


def _request_downgrade(
    session: Session, actor: Actor, incident: Incident, grade: str, parts: dict[str, str], reason: str | None, clock
) -> Changed:
    if not reason:
        raise InvalidInput(
            "a downgrade needs a reason",
            code="downgrade.reason_required",
            problems=[FieldProblem("reason", "say why the grade should be lowered")],
        )
    if queries.pending_downgrade(session, incident.id) is not None:
        raise Conflict(
            f"a downgrade of {incident.reference} already awaits a supervisor's decision", code="downgrade.pending"
        )
    request = DowngradeRequest(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        from_grade=incident.grade,
        to_grade=grade,
        reason=reason,
        assessment=parts,
        requested_by=actor.username,
        requested_at=clock.now(),
    )
    session.add(request)
    log.write(
        session,
        incident,
        actor.username,
        LogKind.DOWNGRADE_REQUESTED,
        f"downgrade requested: grade {incident.grade} → {grade}: {reason}",
        clock,
        data={"request_id": request.id, "from": incident.grade, "to": grade, "thrive": parts},
    )
    task = tasks.open_task(
        session,
        incident,
        TaskKind.DOWNGRADE_APPROVAL,
        f"approve or refuse the downgrade from grade {incident.grade} to {grade}: {reason}",
        actor.username,
        clock,
        due_at=incident.target_at,
    )
    _audit(session, actor, "incident.downgrade_request", incident, clock, request_id=request.id, to=grade)
    session.flush()
    return Changed(incident, [log.changed(incident, "downgrade_requested")], [task], downgrade=request)


def _settle_request(
    session: Session,
    incident: Incident,
    request: DowngradeRequest,
    by: str,
    approved: bool | None,
    note: str | None,
    clock: Clock,
) -> None:
    """Record a decision on a downgrade request (None: withdrawn) and close its task."""
    request.decided_by = by
    request.decided_at = clock.now()
    request.approved = approved
    request.decision_note = note
    word = {True: "approved", False: "refused", None: "withdrawn"}[approved]
    log.write(
        session,
        incident,
        by,
        LogKind.DOWNGRADE_DECIDED,
        f"downgrade to grade {request.to_grade} {word}" + (f": {note}" if note else ""),
        clock,
        data={"request_id": request.id, "approved": approved, "to": request.to_grade, "note": note},
    )
    for task in queries.open_tasks_on(session, incident.id, TaskKind.DOWNGRADE_APPROVAL.value):
        _close(session, incident, task, f"{word} by {by}" + (f": {note}" if note else ""), by, clock)


def decide_downgrade(
    session: Session, actor: Actor, request_id: str, approve: bool, note: str | None, clock: Clock
) -> Changed:
    """A supervisor (not the requester) approves or refuses a downgrade. Approval applies the
    new grade and THRIVE; when attendance changes with it, every caller gets a call-back task."""
    require(actor, SUPERVISE)
    request = queries.visible_downgrade(session, actor, request_id, for_update=True)
    if request is None:
        raise NotFound(f"no downgrade request {request_id!r}")
    if request.decided_at is not None:
        raise Conflict("that downgrade request was already decided", code="downgrade.decided")
    if request.requested_by == actor.username:
        raise Conflict(
            "a downgrade must be decided by a supervisor other than the person who asked for it",
            code="downgrade.self_approval",
        )
    incident = _visible(session, actor, request.incident_id, for_update=True)
    _active(incident)
    note = (note or "").strip() or None
    _settle_request(session, incident, request, actor.username, bool(approve), note, clock)
    opened: list[Task] = []
    appointment = None
    if approve:
        _, general, command = settings_of(session, incident.force_id)
        before = incident.target_minutes
        appointment, attendance = _apply_grade(
            session, actor, incident, request.to_grade, request.assessment, request.reason, general, command, clock
        )
        if attendance is None and incident.target_minutes != before:
            attendance = (
                "attendance delayed: downgraded to grade "
                f"{incident.grade} ({'no attendance' if incident.target_minutes is None else 'new target'})"
            )
        if attendance:
            opened = _call_backs(session, incident, attendance, actor.username, clock)
    _audit(session, actor, "incident.downgrade_decide", incident, clock, request_id=request.id, approved=bool(approve))
    session.flush()
    return Changed(
        incident, [log.changed(incident, "downgrade_decided")], opened, downgrade=request, appointment=appointment
    )


def _apply_grade(
    session: Session,
    actor: Actor,
    incident: Incident,
    grade: str,
    parts: dict[str, str],
    reason: str | None,
    general: ForceSettings,
    command: CommandSettings,
    clock: Clock,
) -> tuple[Appointment | None, str | None]:
    """Record an assessment and its grade; the target is recomputed (from creation). Leaving
    grade 3 cancels the appointment; entering it books one. Returns the new appointment and,
    when attendance changed that way, the reason callers must be told."""
    previous = incident.grade
    old_target = (incident.target_minutes, incident.target_at)
    assessment = _assessment(incident, grade, parts, reason, actor.username, clock)
    session.add(assessment)
    incident.grade = grade
    incident.assessment_id = assessment.id
    _log_assessment(session, incident, assessment, actor.username, clock, previous)
    targets.set_target(incident, general, command)
    if (incident.target_minutes, incident.target_at) != old_target:
        _log_target(session, incident, actor.username, clock, f" (grade {previous} → {grade})")
    attendance = None
    appointment = None
    current = _live_appointment(session, incident)
    if previous == Grade.SCHEDULED.value and grade != Grade.SCHEDULED.value and current is not None:
        _cancel_appointment(session, incident, current, f"regraded to {grade}", actor.username, clock)
        if incident.status == S.SCHEDULED.value:
            transition(session, incident, S.OPEN, actor.username, clock, reason=f"regraded to {grade}")
        attendance = f"appointment of {_when(current.starts_at)} cancelled: regraded to grade {grade}"
    elif grade == Grade.SCHEDULED.value and previous != Grade.SCHEDULED.value and incident.status == S.OPEN.value:
        appointment, warning = _book_at_intake(session, actor, incident, command, None, clock)
        if appointment is not None:
            attendance = f"attendance rescheduled: appointment {_when(appointment.starts_at)}"
    return appointment, attendance


# ---------------------------------------------------------------- attendance and tasks


def change_attendance(
    session: Session, actor: Actor, incident_id: str, change: str, reason: str, clock: Clock
) -> Changed:
    """Attendance is delayed, cancelled or rescheduled: logged, and every caller gets a
    call-back task that someone must close (DOMAIN.md: the call-back inspectors look for)."""
    require(actor, Action.INCIDENT_UPDATE)
    problems = []
    if change not in ATTENDANCE_CHANGES:
        problems.append((FieldProblem("change", f"use one of {', '.join(ATTENDANCE_CHANGES)}"), "input.invalid"))
    reason = (reason or "").strip()
    if not reason:
        problems.append((FieldProblem("reason", "say why attendance changes"), "input.invalid"))
    if problems:
        raise invalid_input(problems)
    incident = _visible(session, actor, incident_id, for_update=True)
    _active(incident)
    word = ATTENDANCE_CHANGES[change]
    entry = log.write(
        session,
        incident,
        actor.username,
        LogKind.DETAILS_CHANGED,
        f"attendance {word}: {reason}",
        clock,
        data={"attendance": change, "reason": reason},
    )
    if change == "cancel":
        current = _live_appointment(session, incident)
        if current is not None:
            _cancel_appointment(session, incident, current, reason, actor.username, clock)
            if incident.status == S.SCHEDULED.value:
                transition(session, incident, S.OPEN, actor.username, clock, reason="appointment cancelled")
    opened = _call_backs(session, incident, f"attendance {word}: {reason}", actor.username, clock)
    _audit(session, actor, "incident.attendance", incident, clock, change=change)
    session.flush()
    return Changed(incident, [log.changed(incident, "attendance")], opened, entry=entry)


def _close(session: Session, incident: Incident, task: Task, outcome: str, by: str, clock: Clock) -> LogEntry:
    task.closed_at = clock.now()
    task.closed_by = by
    task.outcome = outcome
    return log.write(
        session,
        incident,
        by,
        LogKind.TASK_CLOSED,
        f"{task.kind.replace('_', ' ')} task closed: {outcome}",
        clock,
        data={"task_id": task.id, "kind": task.kind, "outcome": outcome},
    )


def close_task(session: Session, actor: Actor, task_id: str, outcome: str, clock: Clock) -> Changed:
    """Close a call-back or re-assessment task with what was done (required). A closed task
    stays closed; a downgrade approval closes with the supervisor's decision instead."""
    require(actor, Action.INCIDENT_UPDATE)
    task = queries.visible_task(session, actor, task_id, for_update=True)
    if task is None:
        raise NotFound(f"no task {task_id!r}")
    if task.closed_at is not None:
        raise Conflict("that task is already closed", code="task.closed", extra={"closed_by": task.closed_by})
    if task.kind == TaskKind.DOWNGRADE_APPROVAL.value:
        raise Conflict("decide the downgrade request instead", code="task.needs_decision")
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput(
            "say what was done", problems=[FieldProblem("outcome", "record the outcome (e.g. caller told, no answer)")]
        )
    incident = _visible(session, actor, task.incident_id, for_update=True)
    entry = _close(session, incident, task, outcome, actor.username, clock)
    audit.append(
        session,
        actor,
        Audit("task.close", record_type="task", record_id=task.id, detail={"incident": incident.reference}),
        clock,
    )
    session.flush()
    return Changed(incident, [log.changed(incident, "task_closed", task_id=task.id)], entry=entry)


# ---------------------------------------------------------------- grade 3 appointments


def _live_appointment(session: Session, incident: Incident) -> Appointment | None:
    if not incident.appointment_id:
        return None
    appointment = session.get(Appointment, incident.appointment_id)
    return appointment if appointment is not None and appointment.cancelled_at is None else None


def _cancel_appointment(
    session: Session, incident: Incident, appointment: Appointment, reason: str, by: str, clock: Clock
) -> None:
    appointment.cancelled_at = clock.now()
    appointment.cancel_reason = reason[:300]
    incident.appointment_id = None
    log.write(
        session,
        incident,
        by,
        LogKind.APPOINTMENT,
        f"appointment of {_when(appointment.starts_at)} cancelled: {reason}",
        clock,
        data={"appointment_id": appointment.id, "cancelled": True, "starts_at": _iso(appointment.starts_at)},
    )


def _candidate_slots(
    session: Session, force_id: str, command: CommandSettings, since: datetime, until: datetime | None
) -> list[Slot]:
    """Every slot (with the places left) starting from ``since`` and ending by ``until``:
    opening hours on the Europe/London wall clock, so a slot is 08:00 local in BST and GMT."""
    if until is None or until <= since:
        return []
    rules = command.appointments
    length = timedelta(minutes=rules.slot_minutes)
    starts: list[tuple[datetime, datetime]] = []
    day = to_local(since).date()
    last_day = to_local(until).date()
    while day <= last_day:
        midnight = datetime.combine(day, time(0), tzinfo=LONDON)
        opening = midnight + timedelta(hours=rules.first_hour)  # wall-clock arithmetic in Europe/London
        closing = midnight + timedelta(hours=rules.last_hour)
        moment = opening
        while moment + length <= closing:
            start_utc, end_utc = moment.astimezone(UTC), (moment + length).astimezone(UTC)
            if start_utc >= since and end_utc <= until:
                starts.append((start_utc, end_utc))
            moment += length
        day += timedelta(days=1)
    if not starts:
        return []
    booked = queries.booked_per_slot(session, force_id, starts[0][0], starts[-1][0] + timedelta(seconds=1))
    return [Slot(s, e, rules.per_slot - booked.get(s, 0)) for s, e in starts]


def _slot_window(incident: Incident, command: CommandSettings, now: datetime) -> tuple[datetime, datetime | None]:
    earliest = now + timedelta(minutes=command.appointments.earliest_minutes)
    return max(earliest, incident.created_at), incident.target_at


def appointment_slots(session: Session, actor: Actor, incident_id: str, clock: Clock) -> list[Slot]:
    """Free grade 3 slots for an incident: within its target, in opening hours, not full."""
    require(actor, Action.INCIDENT_READ)
    incident = _visible(session, actor, incident_id)
    if incident.grade != Grade.SCHEDULED.value:
        raise Conflict(f"{incident.reference} is grade {incident.grade}, not 3", code="appointment.grade")
    _, _, command = settings_of(session, incident.force_id)
    since, until = _slot_window(incident, command, clock.now())
    return [s for s in _candidate_slots(session, incident.force_id, command, since, until) if s.free > 0]


def _make_appointment(
    session: Session, incident: Incident, slot: Slot, by: str, clock: Clock, *, moved_from: Appointment | None
) -> Appointment:
    appointment = Appointment(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        booked_at=clock.now(),
        booked_by=by,
    )
    session.add(appointment)
    incident.appointment_id = appointment.id
    text = f"appointment booked: {_when(slot.starts_at)} to {to_local(slot.ends_at).strftime('%H:%M')}"
    if moved_from is not None:
        text = f"appointment moved from {_when(moved_from.starts_at)} to {_when(slot.starts_at)}"
    log.write(
        session,
        incident,
        by,
        LogKind.APPOINTMENT,
        text,
        clock,
        data={"appointment_id": appointment.id, "starts_at": _iso(slot.starts_at), "ends_at": _iso(slot.ends_at)},
    )
    return appointment


def _book_at_intake(
    session: Session,
    actor: Actor,
    incident: Incident,
    command: CommandSettings,
    wanted: datetime | None,
    clock: Clock,
) -> tuple[Appointment | None, str | None]:
    """Grade 3 books a slot: the one asked for, else the earliest free one."""
    since, until = _slot_window(incident, command, clock.now())
    slots = _candidate_slots(session, incident.force_id, command, since, until)
    if wanted is not None:
        slot = _pick(slots, wanted)
    else:
        slot = next((s for s in slots if s.free > 0), None)
        if slot is None:
            log.write(
                session,
                incident,
                actor.username,
                LogKind.APPOINTMENT,
                "no free appointment slot within the grade 3 target: book one by hand",
                clock,
            )
            return None, "no free appointment slot within the grade 3 target: book one by hand"
    transition(session, incident, S.SCHEDULED, actor.username, clock, reason="grade 3 appointment")
    return _make_appointment(session, incident, slot, actor.username, clock, moved_from=None), None


def _pick(slots: list[Slot], wanted: datetime) -> Slot:
    if wanted.tzinfo is None:
        raise InvalidInput(
            "give the appointment time with its offset",
            code="appointment.not_a_slot",
            problems=[FieldProblem("starts_at", "a time with an offset, e.g. 2026-03-01T10:00:00+00:00")],
        )
    wanted = wanted.astimezone(UTC)
    slot = next((s for s in slots if s.starts_at == wanted), None)
    if slot is None:
        raise InvalidInput(
            f"{_when(wanted)} is not an appointment slot within the grade 3 target",
            code="appointment.not_a_slot",
            problems=[FieldProblem("starts_at", "choose one of the offered slots")],
        )
    if slot.free <= 0:
        raise Conflict(f"the slot at {_when(wanted)} is full", code="appointment.full")
    return slot


def book_appointment(session: Session, actor: Actor, incident_id: str, starts_at: datetime, clock: Clock) -> Changed:
    """Book a grade 3 incident's appointment slot (status scheduled). Moving a booked one is
    a reschedule: the old slot is cancelled and every caller gets a call-back task."""
    require(actor, Action.INCIDENT_UPDATE)
    incident = _visible(session, actor, incident_id, for_update=True)
    _active(incident)
    if incident.grade != Grade.SCHEDULED.value:
        raise Conflict(f"{incident.reference} is grade {incident.grade}, not 3", code="appointment.grade")
    _, _, command = settings_of(session, incident.force_id)
    current = _live_appointment(session, incident)
    if current is not None and starts_at.tzinfo is not None and current.starts_at == starts_at.astimezone(UTC):
        return Changed(incident, appointment=current)
    since, until = _slot_window(incident, command, clock.now())
    slot = _pick(_candidate_slots(session, incident.force_id, command, since, until), starts_at)
    opened: list[Task] = []
    if current is None:
        transition(session, incident, S.SCHEDULED, actor.username, clock, reason="grade 3 appointment")
        appointment = _make_appointment(session, incident, slot, actor.username, clock, moved_from=None)
    else:
        current.cancelled_at = clock.now()
        current.cancel_reason = "rescheduled"
        appointment = _make_appointment(session, incident, slot, actor.username, clock, moved_from=current)
        opened = _call_backs(
            session,
            incident,
            f"attendance rescheduled: appointment moved from {_when(current.starts_at)} to {_when(slot.starts_at)}",
            actor.username,
            clock,
        )
    _audit(session, actor, "incident.appointment", incident, clock, starts_at=_iso(slot.starts_at))
    session.flush()
    return Changed(incident, [log.changed(incident, "appointment")], opened, appointment=appointment)


# ---------------------------------------------------------------- the log


def add_note(session: Session, actor: Actor, incident_id: str, text: str, clock: Clock) -> Changed:
    """A free-text update on the incident's log."""
    require(actor, Action.INCIDENT_UPDATE)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a note needs text", problems=[FieldProblem("text", "write the update")])
    incident = _visible(session, actor, incident_id, for_update=True)
    entry = log.write(session, incident, actor.username, LogKind.NOTE, text, clock)
    _audit(session, actor, "incident.note", incident, clock)
    session.flush()
    return Changed(incident, [log.changed(incident, "note")], entry=entry)


def correct(session: Session, actor: Actor, incident_id: str, entry_id: int, text: str, clock: Clock) -> Changed:
    """Correct a log entry: a new CORRECTION entry pointing at it; the original stays as written."""
    require(actor, Action.INCIDENT_UPDATE)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a correction needs text", problems=[FieldProblem("text", "write the correction")])
    incident = _visible(session, actor, incident_id, for_update=True)
    original = session.get(LogEntry, entry_id) if isinstance(entry_id, int) else None
    if original is None or original.incident_id != incident.id:
        raise NotFound(f"no log entry {entry_id!r} on {incident.reference}")
    entry = log.write(
        session,
        incident,
        actor.username,
        LogKind.CORRECTION,
        f"correction to entry {original.id}: {text}",
        clock,
        data={"corrects_kind": original.kind},
        corrects_id=original.id,
    )
    _audit(session, actor, "incident.correct", incident, clock, entry_id=original.id)
    session.flush()
    return Changed(incident, [log.changed(incident, "correction")], entry=entry)


# ---------------------------------------------------------------- status


def change_status(
    session: Session, actor: Actor, incident_id: str, status: str, reason: str | None, clock: Clock
) -> Changed:
    """Set an incident's status by hand (resolved without deployment, or open again); the
    other statuses follow their own actions. An illegal change answers 409 listing the allowed."""
    require(actor, Action.INCIDENT_UPDATE)
    try:
        target = IncidentStatus(status)
    except ValueError:
        raise InvalidInput(
            f"{status!r} is not an incident status",
            problems=[FieldProblem("status", f"use one of {', '.join(s.value for s in MANUAL_STATUSES)}")],
        ) from None
    incident = _visible(session, actor, incident_id, for_update=True)
    if target.value != incident.status and target not in TRANSITIONS[IncidentStatus(incident.status)]:
        raise illegal_status(incident, target)
    if target not in MANUAL_STATUSES:
        raise InvalidInput(
            f"{target} is set by its own action (dispatch, appointment, close or merge)",
            problems=[FieldProblem("status", f"set by hand only {', '.join(sorted(MANUAL_STATUSES))}")],
        )
    if target is S.OPEN and queries.open_assignments(session, incident.id):
        _units_conflict(session, incident)
    entry = transition(session, incident, target, actor.username, clock, reason=(reason or "").strip() or None)
    _audit(session, actor, "incident.status", incident, clock, status=target.value)
    session.flush()
    return Changed(incident, [log.changed(incident, "status")] if entry else [], entry=entry)


def _units_conflict(session: Session, incident: Incident) -> None:
    open_ = queries.open_assignments(session, incident.id)
    if not open_:
        return
    signs = queries.call_signs(session, [a.unit_id for a in open_])
    units = sorted(signs.get(a.unit_id, a.unit_id) for a in open_)
    raise Conflict(
        f"units still assigned to {incident.reference}: {', '.join(units)}; release or divert them first",
        code="incident.units_assigned",
        extra={"units": units},
    )


# ---------------------------------------------------------------- the rules sweep


def sweep(session: Session, clock: Clock) -> list[Event]:
    """The rules, for every force: prompt a re-assessment when a grade 1 or 2 incident nears
    its target with no unit en route; record a breach (and its cause) when a target passes
    with nobody there. Run on a timer by ``runtime.CommandRuntime``."""
    now = clock.now()
    events: list[Event] = []
    for incident in queries.due_for_reassessment(session, now):
        minutes = max(0, int((incident.target_at - now).total_seconds() // 60))
        task = tasks.open_task(
            session,
            incident,
            TaskKind.REASSESSMENT,
            f"grade {incident.grade} target at {_when(incident.target_at)} ({minutes} min) and no unit en route: "
            "re-assess, find a unit or call the caller",
            RULES,
            clock,
            due_at=incident.target_at,
        )
        log.write(
            session,
            incident,
            RULES,
            LogKind.REASSESSMENT_DUE,
            f"re-assessment due: target at {_when(incident.target_at)} and no unit en route",
            clock,
            data={"task_id": task.id, "target_at": _iso(incident.target_at)},
        )
        _audit(session, Actor.system(incident.force_id, RULES, via=RULES), "incident.reassessment_due", incident, clock)
        events.append(log.changed(incident, "reassessment_due", task_id=task.id))
    for incident in queries.due_for_breach(session, now):
        cause = breach_cause(session, incident)
        incident.breached_at = incident.target_at
        incident.breach_cause = cause
        log.write(
            session,
            incident,
            RULES,
            LogKind.BREACH,
            f"attendance target missed at {_when(incident.target_at)}: {cause}",
            clock,
            data={"target_at": _iso(incident.target_at), "cause": cause},
        )
        _audit(
            session, Actor.system(incident.force_id, RULES, via=RULES), "incident.breach", incident, clock, cause=cause
        )
        events.append(log.changed(incident, "breach", cause=cause))
    session.flush()
    return events


def breach_cause(session: Session, incident: Incident) -> str:
    """Why a target was missed, from the incident's state when it passed."""
    parts = []
    if queries.pending_downgrade(session, incident.id) is not None:
        parts.append("downgrade pending")
    open_ = queries.open_assignments(session, incident.id)
    if incident.status == S.SCHEDULED.value and not open_:
        parts.append("appointment not attended")
    elif not open_:
        parts.append("no unit assigned")
    elif any(a.acknowledged_at is not None for a in open_):
        parts.append("unit en route, not yet arrived")
    else:
        parts.append("unit assigned but not en route")
    return "; ".join(parts)


def record_breach_cause(session: Session, actor: Actor, incident_id: str, cause: str, clock: Clock) -> Changed:
    """A supervisor amends a breach's cause (the one the rules derived stays in the log)."""
    require(actor, SUPERVISE)
    cause = (cause or "").strip()
    if not cause:
        raise InvalidInput("give the cause", problems=[FieldProblem("cause", "why the target was missed")])
    incident = _visible(session, actor, incident_id, for_update=True)
    if incident.breached_at is None:
        raise Conflict(f"{incident.reference} has not breached its target", code="incident.not_breached")
    previous = incident.breach_cause
    incident.breach_cause = cause[:300]
    entry = log.write(
        session,
        incident,
        actor.username,
        LogKind.BREACH,
        f"breach cause amended: {cause}",
        clock,
        data={"cause": cause, "previous": previous},
    )
    _audit(session, actor, "incident.breach_cause", incident, clock, cause=cause)
    session.flush()
    return Changed(incident, [log.changed(incident, "breach_cause")], entry=entry)


def reevaluate(session: Session, actor: Actor, incident: Incident, clock: Clock, reason: str) -> list[Event]:
    """A unit left the incident (diverted elsewhere): with no unit left it goes back to the
    queue, its target is re-evaluated (still from creation) and every caller is called back;
    a grade 1 or 2 past its re-assessment time gets a re-assessment task at once."""
    session.flush()
    _, general, command = settings_of(session, incident.force_id)
    remaining = queries.open_assignments(session, incident.id)
    by = actor.username
    if remaining:
        log.write(
            session,
            incident,
            by,
            LogKind.NOTE,
            f"a unit left ({reason}); {len(remaining)} still assigned",
            clock,
            data={"remaining": [a.unit_id for a in remaining]},
        )
        return [log.changed(incident, "unit_left")]
    if incident.status in (S.DISPATCHED.value, S.AT_SCENE.value):
        transition(session, incident, S.OPEN, by, clock, reason=reason, kind=LogKind.REQUEUED)
    # (already open or scheduled: the caller, e.g. dispatch's release, logged the requeue itself)
    targets.set_target(incident, general, command)
    _log_target(session, incident, by, clock, " (re-evaluated)")
    _call_backs(session, incident, f"attendance delayed: {reason}", by, clock)
    now = clock.now()
    if (
        incident.grade in (Grade.IMMEDIATE.value, Grade.PRIORITY.value)
        and incident.reassess_at is not None
        and incident.reassess_at <= now
        and incident.first_arrived_at is None
        and not queries.open_tasks_on(session, incident.id, TaskKind.REASSESSMENT.value)
    ):
        task = tasks.open_task(
            session,
            incident,
            TaskKind.REASSESSMENT,
            f"back in the queue near its target ({_when(incident.target_at)}): re-assess",
            by,
            clock,
            due_at=incident.target_at,
        )
        log.write(
            session,
            incident,
            by,
            LogKind.REASSESSMENT_DUE,
            f"re-assessment due: target at {_when(incident.target_at)} and no unit en route",
            clock,
            data={"task_id": task.id, "target_at": _iso(incident.target_at)},
        )
    _audit(session, actor, "incident.requeue", incident, clock, reason=reason)
    session.flush()
    return [log.changed(incident, "requeued")]


# ---------------------------------------------------------------- link and merge


def link(session: Session, actor: Actor, parent_id: str, child_id: str, clock: Clock) -> Changed:
    """Make one incident part of another (a major incident and its strands)."""
    require(actor, Action.INCIDENT_UPDATE)
    if parent_id == child_id:
        raise Conflict("an incident cannot be its own parent", code="incident.link_cycle")
    parent = _visible(session, actor, parent_id, for_update=True)
    child = _visible(session, actor, child_id, for_update=True)
    for incident in (parent, child):
        if incident.status == S.MERGED.value:
            _active(incident)
    if child.parent_id is not None:
        raise Conflict(f"{child.reference} is already part of another incident", code="incident.already_linked")
    ancestor, seen = parent, set()
    while ancestor is not None and ancestor.id not in seen:
        if ancestor.id == child.id:
            raise Conflict(
                f"{parent.reference} is already part of {child.reference}: that would be a cycle",
                code="incident.link_cycle",
            )
        seen.add(ancestor.id)
        ancestor = session.get(Incident, ancestor.parent_id) if ancestor.parent_id else None
    child.parent_id = parent.id
    log.write(
        session,
        parent,
        actor.username,
        LogKind.LINKED,
        f"{child.reference} linked as part of this",
        clock,
        data={"child_id": child.id, "child": child.reference},
    )
    log.write(
        session,
        child,
        actor.username,
        LogKind.LINKED,
        f"linked as part of {parent.reference}",
        clock,
        data={"parent_id": parent.id, "parent": parent.reference},
    )
    _audit(session, actor, "incident.link", child, clock, parent=parent.reference)
    session.flush()
    return Changed(parent, [log.changed(parent, "linked"), log.changed(child, "linked")])


def unlink(session: Session, actor: Actor, parent_id: str, child_id: str, clock: Clock) -> Changed:
    """Undo a link between a parent incident and its child."""
    require(actor, Action.INCIDENT_UPDATE)
    parent = _visible(session, actor, parent_id, for_update=True)
    child = _visible(session, actor, child_id, for_update=True)
    if child.parent_id != parent.id:
        raise Conflict(f"{child.reference} is not part of {parent.reference}", code="incident.not_linked")
    child.parent_id = None
    log.write(
        session,
        parent,
        actor.username,
        LogKind.UNLINKED,
        f"{child.reference} no longer part of this",
        clock,
        data={"child_id": child.id},
    )
    log.write(
        session,
        child,
        actor.username,
        LogKind.UNLINKED,
        f"no longer part of {parent.reference}",
        clock,
        data={"parent_id": parent.id},
    )
    _audit(session, actor, "incident.unlink", child, clock, parent=parent.reference)
    session.flush()
    return Changed(parent, [log.changed(parent, "unlinked"), log.changed(child, "unlinked")])


def merge(session: Session, actor: Actor, duplicate_id: str, into_id: str, reason: str, clock: Clock) -> Changed:
    """Fold a duplicate into another incident (reversibly): the duplicate's status becomes
    merged and its calls show on the survivor. A duplicate with units assigned or a booked
    appointment is refused: release the units, or cancel the appointment, first."""
    require(actor, Action.INCIDENT_UPDATE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a merge needs a reason", problems=[FieldProblem("reason", "say why they are the same")])
    if duplicate_id == into_id:
        raise InvalidInput("an incident cannot be merged into itself", problems=[FieldProblem("into_id", "itself")])
    duplicate = _visible(session, actor, duplicate_id, for_update=True)
    survivor = _visible(session, actor, into_id, for_update=True)
    if survivor.status in (S.MERGED.value, S.CLOSED.value):
        _active(survivor)
    _units_conflict(session, duplicate)
    if queries.merged_into(session, duplicate.id):
        raise Conflict(
            f"other incidents are merged into {duplicate.reference}; merge {survivor.reference} into it instead",
            code="incident.has_merged",
        )
    if _live_appointment(session, duplicate) is not None:
        raise Conflict(
            f"{duplicate.reference} has a booked appointment; cancel it first", code="incident.appointment_booked"
        )
    previous = duplicate.status
    transition(session, duplicate, S.MERGED, actor.username, clock, reason=f"merged into {survivor.reference}")
    duplicate.merged_into_id = survivor.id
    log.write(
        session,
        duplicate,
        actor.username,
        LogKind.MERGED,
        f"merged into {survivor.reference}: {reason}",
        clock,
        data={"into_id": survivor.id, "into": survivor.reference, "previous_status": previous, "reason": reason},
    )
    log.write(
        session,
        survivor,
        actor.username,
        LogKind.MERGED,
        f"{duplicate.reference} merged into this: {reason}",
        clock,
        data={"duplicate_id": duplicate.id, "duplicate": duplicate.reference, "reason": reason},
    )
    _audit(session, actor, "incident.merge", duplicate, clock, into=survivor.reference)
    session.flush()
    return Changed(survivor, [log.changed(duplicate, "merged"), log.changed(survivor, "merged")])


def unmerge(session: Session, actor: Actor, duplicate_id: str, reason: str, clock: Clock) -> Changed:
    """Undo a merge: the duplicate gets back the status it had and its own calls."""
    require(actor, Action.INCIDENT_UPDATE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("an unmerge needs a reason", problems=[FieldProblem("reason", "say why they differ")])
    duplicate = _visible(session, actor, duplicate_id, for_update=True)
    if duplicate.status != S.MERGED.value or duplicate.merged_into_id is None:
        raise Conflict(f"{duplicate.reference} is not merged into another incident", code="incident.not_merged")
    survivor = session.get(Incident, duplicate.merged_into_id)
    merged_entry = queries.last_log_entry(session, duplicate.id, LogKind.MERGED.value)
    previous = (merged_entry.data or {}).get("previous_status") if merged_entry else None
    if previous not in {s.value for s in TRANSITIONS[S.MERGED]}:
        previous = S.OPEN.value
    transition(session, duplicate, previous, actor.username, clock, reason=f"unmerged from {survivor.reference}")
    duplicate.merged_into_id = None
    log.write(
        session,
        duplicate,
        actor.username,
        LogKind.UNMERGED,
        f"unmerged from {survivor.reference}: {reason}",
        clock,
        data={"from_id": survivor.id, "restored_status": previous, "reason": reason},
    )
    log.write(
        session,
        survivor,
        actor.username,
        LogKind.UNMERGED,
        f"{duplicate.reference} unmerged: {reason}",
        clock,
        data={"duplicate_id": duplicate.id, "reason": reason},
    )
    _audit(session, actor, "incident.unmerge", duplicate, clock, from_=survivor.reference)
    session.flush()
    return Changed(duplicate, [log.changed(duplicate, "unmerged"), log.changed(survivor, "unmerged")])


# ---------------------------------------------------------------- close and reopen


def close_incident(
    session: Session,
    actor: Actor,
    incident_id: str,
    closing_category: str,
    result: str,
    summary: str,
    clock: Clock,
    *,
    crime_reference: str | None = None,
) -> Changed:
    """Close an incident with its closing category (may differ from the opening one), result
    and summary; a recorded crime needs its crime reference. Refused while units are
    assigned, while call-back tasks are open, or before a booked appointment."""
    require(actor, Action.INCIDENT_CLOSE)
    incident = _visible(session, actor, incident_id, for_update=True)
    _, _, command = settings_of(session, incident.force_id)
    problems: list[tuple[FieldProblem, str]] = []
    category = command.category((closing_category or "").strip())
    if category is None:
        problems.append(
            (
                FieldProblem("closing_category", f"{closing_category!r} is not one of the force's categories"),
                "incident.unknown_category",
            )
        )
    result = (result or "").strip()
    if result not in RESULTS:
        problems.append((FieldProblem("result", f"use one of {', '.join(RESULTS)}"), "input.invalid"))
    summary = (summary or "").strip()
    if not summary:
        problems.append((FieldProblem("summary", "summarise what happened"), "input.invalid"))
    crime_reference = (crime_reference or "").strip() or None
    if result == "crime_recorded" and crime_reference is None:
        problems.append(
            (FieldProblem("crime_reference", "a recorded crime needs its crime reference"), "input.invalid")
        )
    if crime_reference is not None and len(crime_reference) > 40:
        problems.append((FieldProblem("crime_reference", "at most 40 characters"), "input.invalid"))
    if problems:
        raise invalid_input(problems)
    if S.CLOSED not in TRANSITIONS[IncidentStatus(incident.status)]:
        raise illegal_status(incident, S.CLOSED)
    _units_conflict(session, incident)
    call_backs = queries.open_tasks_on(session, incident.id, TaskKind.CALL_BACK.value)
    if call_backs:
        raise Conflict(
            f"{len(call_backs)} call-back task(s) still open on {incident.reference}: close them first",
            code="incident.open_call_backs",
            extra={"tasks": [t.id for t in call_backs]},
        )
    appointment = _live_appointment(session, incident)
    if appointment is not None and appointment.starts_at > clock.now():
        raise Conflict(
            f"an appointment is booked for {_when(appointment.starts_at)}: cancel it first (the caller is called back)",
            code="incident.appointment_booked",
        )
    for task in queries.open_tasks_on(session, incident.id, TaskKind.REASSESSMENT.value):
        _close(session, incident, task, "incident closed", actor.username, clock)
    pending = queries.pending_downgrade(session, incident.id)
    if pending is not None:
        _settle_request(session, incident, pending, actor.username, None, "incident closed", clock)
    previous = incident.status
    incident.closing_category = category.code
    incident.result = result
    incident.summary = summary
    incident.crime_reference = crime_reference
    incident.closed_at = clock.now()
    incident.closed_by = actor.username
    incident.status = S.CLOSED.value
    entry = log.write(
        session,
        incident,
        actor.username,
        LogKind.CLOSED,
        f"closed as {category.name}, {RESULTS[result].lower()}: {summary}",
        clock,
        data={
            "from": previous,
            "closing_category": category.code,
            "result": result,
            "summary": summary,
            "crime_reference": crime_reference,
        },
    )
    _audit(session, actor, "incident.close", incident, clock, result=result)
    session.flush()
    return Changed(incident, [log.changed(incident, "closed")], entry=entry)


def reopen(session: Session, actor: Actor, incident_id: str, reason: str, clock: Clock) -> Changed:
    """Reopen a closed or resolved incident (back in the queue); its closing stays in the log."""
    require(actor, Action.INCIDENT_CLOSE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why it is reopened", problems=[FieldProblem("reason", "required")])
    incident = _visible(session, actor, incident_id, for_update=True)
    if incident.status not in (S.CLOSED.value, S.RESOLVED.value):
        raise illegal_status(incident, S.OPEN)
    previous = {
        "closing_category": incident.closing_category,
        "result": incident.result,
        "summary": incident.summary,
        "crime_reference": incident.crime_reference,
        "closed_at": _iso(incident.closed_at),
        "closed_by": incident.closed_by,
    }
    transition(
        session,
        incident,
        S.OPEN,
        actor.username,
        clock,
        reason=reason,
        kind=LogKind.REOPENED,
        data={"closed": previous},
    )
    incident.closing_category = incident.result = incident.summary = incident.crime_reference = None
    incident.closed_at = None
    incident.closed_by = None
    _audit(session, actor, "incident.reopen", incident, clock)
    session.flush()
    return Changed(incident, [log.changed(incident, "reopened")])
