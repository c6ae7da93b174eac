"""Attendance and tasks: delaying, cancelling or rescheduling attendance, closing tasks,
and grade 3 appointments (slots, booking, cancelling)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import LONDON, Clock, to_local
from bluelamp.command import log, queries
from bluelamp.command.config import CommandSettings
from bluelamp.command.model import (
    Appointment,
    Grade,
    Incident,
    LogEntry,
    LogKind,
    Task,
    TaskKind,
)
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.common import (
    ATTENDANCE_CHANGES,
    Changed,
    S,
    Slot,
    audit_incident,
    call_back_tasks,
    incident_or_missing,
    invalid_input,
    iso_or_none,
    require_active,
    settings_of,
    transition,
    when_text,
)


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
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    require_active(incident)
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
        current = live_appointment(session, incident)
        if current is not None:
            cancel_appointment(session, incident, current, reason, actor.username, clock)
            if incident.status == S.SCHEDULED.value:
                transition(session, incident, S.OPEN, actor.username, clock, reason="appointment cancelled")
    opened = call_back_tasks(session, incident, f"attendance {word}: {reason}", actor.username, clock)
    audit_incident(session, actor, "incident.attendance", incident, clock, change=change)
    session.flush()
    return Changed(incident, [log.changed(incident, "attendance")], opened, entry=entry)


def finish_task(session: Session, incident: Incident, task: Task, outcome: str, by: str, clock: Clock) -> LogEntry:
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
    incident = incident_or_missing(session, actor, task.incident_id, for_update=True)
    entry = finish_task(session, incident, task, outcome, actor.username, clock)
    audit.append(
        session,
        actor,
        Audit("task.close", record_type="task", record_id=task.id, detail={"incident": incident.reference}),
        clock,
    )
    session.flush()
    return Changed(incident, [log.changed(incident, "task_closed", task_id=task.id)], entry=entry)


# ---------------------------------------------------------------- grade 3 appointments


def live_appointment(session: Session, incident: Incident) -> Appointment | None:
    if not incident.appointment_id:
        return None
    appointment = session.get(Appointment, incident.appointment_id)
    return appointment if appointment is not None and appointment.cancelled_at is None else None


def cancel_appointment(
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
        f"appointment of {when_text(appointment.starts_at)} cancelled: {reason}",
        clock,
        data={"appointment_id": appointment.id, "cancelled": True, "starts_at": iso_or_none(appointment.starts_at)},
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
    incident = incident_or_missing(session, actor, incident_id)
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
    text = f"appointment booked: {when_text(slot.starts_at)} to {to_local(slot.ends_at).strftime('%H:%M')}"
    if moved_from is not None:
        text = f"appointment moved from {when_text(moved_from.starts_at)} to {when_text(slot.starts_at)}"
    log.write(
        session,
        incident,
        by,
        LogKind.APPOINTMENT,
        text,
        clock,
        data={
            "appointment_id": appointment.id,
            "starts_at": iso_or_none(slot.starts_at),
            "ends_at": iso_or_none(slot.ends_at),
        },
    )
    return appointment


def book_at_intake(
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
            f"{when_text(wanted)} is not an appointment slot within the grade 3 target",
            code="appointment.not_a_slot",
            problems=[FieldProblem("starts_at", "choose one of the offered slots")],
        )
    if slot.free <= 0:
        raise Conflict(f"the slot at {when_text(wanted)} is full", code="appointment.full")
    return slot


def book_appointment(session: Session, actor: Actor, incident_id: str, starts_at: datetime, clock: Clock) -> Changed:
    """Book a grade 3 incident's appointment slot (status scheduled). Moving a booked one is
    a reschedule: the old slot is cancelled and every caller gets a call-back task."""
    require(actor, Action.INCIDENT_UPDATE)
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    require_active(incident)
    if incident.grade != Grade.SCHEDULED.value:
        raise Conflict(f"{incident.reference} is grade {incident.grade}, not 3", code="appointment.grade")
    _, _, command = settings_of(session, incident.force_id)
    current = live_appointment(session, incident)
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
        opened = call_back_tasks(
            session,
            incident,
            f"attendance rescheduled: appointment moved from {when_text(current.starts_at)} "
            f"to {when_text(slot.starts_at)}",
            actor.username,
            clock,
        )
    audit_incident(session, actor, "incident.appointment", incident, clock, starts_at=iso_or_none(slot.starts_at))
    session.flush()
    return Changed(incident, [log.changed(incident, "appointment")], opened, appointment=appointment)
