"""What every incident change shares: the results it returns, the status transitions and
their rules, the force's settings, input checks, the visible-incident read and the audit."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force, ForceSettings
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import force_settings, require
from bluelamp.clock import Clock, to_local
from bluelamp.command import log, queries, tasks
from bluelamp.command.commands import Thrive
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


def thrive_problems(thrive: Thrive | dict | None) -> list[tuple[FieldProblem, str]]:
    code = "incident.thrive_required"
    if thrive is None:
        return [(FieldProblem("thrive", "record all six parts of THRIVE"), code)]
    parts = thrive if isinstance(thrive, dict) else asdict(thrive)
    return [
        (FieldProblem(f"thrive.{part}", f"{part} is required"), code)
        for part in THRIVE_PARTS
        if not str(parts.get(part) or "").strip()
    ]


def grade_problems(grade: str | None, general: ForceSettings) -> list[tuple[FieldProblem, str]]:
    if grade is None or not str(grade).strip():
        return [(FieldProblem("grade", "choose a grade (1 to 4)"), "input.invalid")]
    if str(grade) not in {g.value for g in Grade} or str(grade) not in general.grades:
        return [(FieldProblem("grade", f"{grade!r} is not a grade: use 1, 2, 3 or 4"), "input.invalid")]
    return []


def thrive_dict(thrive: Thrive | dict) -> dict[str, str]:
    parts = thrive if isinstance(thrive, dict) else asdict(thrive)
    return {part: str(parts.get(part) or "").strip() for part in THRIVE_PARTS}


def force_id_of(actor: Actor) -> str:
    if actor.force_id is None:
        raise NotFound("no force: incidents belong to a force")
    return actor.force_id


def incident_or_missing(session: Session, actor: Actor, incident_id: str, *, for_update: bool = False) -> Incident:
    incident = queries.visible_incident(session, actor, incident_id, for_update=for_update)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}")
    return incident


def require_active(incident: Incident) -> None:
    if incident.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"incident {incident.reference} is {incident.status}; reopen or unmerge it first",
            code="incident.inactive",
            extra={"status": incident.status},
        )


def audit_incident(session: Session, actor: Actor, action: str, incident: Incident, clock: Clock, **detail) -> None:
    audit.append(
        session,
        actor,
        Audit(
            action, record_type="incident", record_id=incident.id, detail={"reference": incident.reference, **detail}
        ),
        clock,
    )


def when_text(moment: datetime | None) -> str:
    return to_local(moment).strftime("%d/%m %H:%M") if moment else "-"


def iso_or_none(moment: datetime | None) -> str | None:
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


def log_target(session: Session, incident: Incident, by: str, clock: Clock, why: str) -> LogEntry:
    if incident.target_minutes is None:
        text = f"no attendance target (grade {incident.grade}){why}"
    else:
        text = (
            f"attendance target {incident.target_minutes} min ({incident.area_kind}) from creation: "
            f"by {when_text(incident.target_at)}{why}"
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
            "target_at": iso_or_none(incident.target_at),
            "reassess_at": iso_or_none(incident.reassess_at),
        },
    )


def _all_calls(session: Session, incident: Incident) -> list[Call]:
    """The incident's callers: its own calls and those of duplicates merged into it."""
    ids = [incident.id] + [d.id for d in queries.merged_into(session, incident.id)]
    return queries.calls_of(session, ids)


def call_back_tasks(session: Session, incident: Incident, reason: str, by: str, clock: Clock) -> list[Task]:
    """Attendance changed: every caller must be told (one call-back task each)."""
    return tasks.call_backs_for_attendance_change(session, incident, _all_calls(session, incident), reason, by, clock)
