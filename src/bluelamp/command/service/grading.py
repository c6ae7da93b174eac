"""THRIVE and grades: a new assessment, a downgrade asked for and decided by a supervisor,
the grade applied with what it changes (appointments, targets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluelamp.access.model import ForceSettings
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries, targets, tasks
from bluelamp.command.commands import Thrive
from bluelamp.command.config import CommandSettings
from bluelamp.command.model import (
    Appointment,
    DowngradeRequest,
    Grade,
    Incident,
    LogKind,
    Task,
    TaskKind,
)
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.attendance import (
    book_at_intake,
    cancel_appointment,
    finish_task,
    live_appointment,
)
from bluelamp.command.service.common import (
    SUPERVISE,
    Changed,
    S,
    audit_incident,
    call_back_tasks,
    grade_problems,
    incident_or_missing,
    invalid_input,
    log_target,
    require_active,
    settings_of,
    thrive_dict,
    thrive_problems,
    transition,
    when_text,
)
from bluelamp.command.service.intake import (
    log_assessment,
    new_assessment,
)


def assess(
    session: Session, actor: Actor, incident_id: str, grade: str, thrive: Thrive, reason: str | None, clock: Clock
) -> Changed:
    """Re-assess an incident. The same or a more urgent grade applies at once (the target is
    recomputed, still counted from creation); a downgrade waits for a supervisor."""
    require(actor, Action.INCIDENT_UPDATE)
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    require_active(incident)
    _, general, command = settings_of(session, incident.force_id)
    grade = str(grade or "").strip()
    problems = grade_problems(grade, general) + thrive_problems(thrive)
    if problems:
        raise invalid_input(problems)
    reason = (reason or "").strip() or None
    parts = thrive_dict(thrive)
    if int(grade) > int(incident.grade):
        return _request_downgrade(session, actor, incident, grade, parts, reason, clock)
    events: list[Event] = []
    opened: list[Task] = []
    pending = queries.pending_downgrade(session, incident.id)
    if pending is not None:  # a fresh assessment supersedes the request
        settle_downgrade_request(
            session, incident, pending, actor.username, None, "superseded by a re-assessment", clock
        )
    appointment, attendance = _apply_grade(session, actor, incident, grade, parts, reason, general, command, clock)
    if attendance:
        opened = call_back_tasks(session, incident, attendance, actor.username, clock)
    audit_incident(session, actor, "incident.assess", incident, clock, grade=grade)
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
    audit_incident(session, actor, "incident.downgrade_request", incident, clock, request_id=request.id, to=grade)
    session.flush()
    return Changed(incident, [log.changed(incident, "downgrade_requested")], [task], downgrade=request)


def settle_downgrade_request(
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
        finish_task(session, incident, task, f"{word} by {by}" + (f": {note}" if note else ""), by, clock)


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
    incident = incident_or_missing(session, actor, request.incident_id, for_update=True)
    require_active(incident)
    note = (note or "").strip() or None
    settle_downgrade_request(session, incident, request, actor.username, bool(approve), note, clock)
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
            opened = call_back_tasks(session, incident, attendance, actor.username, clock)
    audit_incident(
        session, actor, "incident.downgrade_decide", incident, clock, request_id=request.id, approved=bool(approve)
    )
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
    assessment = new_assessment(incident, grade, parts, reason, actor.username, clock)
    session.add(assessment)
    incident.grade = grade
    incident.assessment_id = assessment.id
    log_assessment(session, incident, assessment, actor.username, clock, previous)
    targets.set_target(incident, general, command)
    if (incident.target_minutes, incident.target_at) != old_target:
        log_target(session, incident, actor.username, clock, f" (grade {previous} → {grade})")
    attendance = None
    appointment = None
    current = live_appointment(session, incident)
    if previous == Grade.SCHEDULED.value and grade != Grade.SCHEDULED.value and current is not None:
        cancel_appointment(session, incident, current, f"regraded to {grade}", actor.username, clock)
        if incident.status == S.SCHEDULED.value:
            transition(session, incident, S.OPEN, actor.username, clock, reason=f"regraded to {grade}")
        attendance = f"appointment of {when_text(current.starts_at)} cancelled: regraded to grade {grade}"
    elif grade == Grade.SCHEDULED.value and previous != Grade.SCHEDULED.value and incident.status == S.OPEN.value:
        appointment, warning = book_at_intake(session, actor, incident, command, None, clock)
        if appointment is not None:
            attendance = f"attendance rescheduled: appointment {when_text(appointment.starts_at)}"
    return appointment, attendance
