"""The log (notes and corrections), status changes, and the rules sweep that finds breached
targets and records their causes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries, targets, tasks
from bluelamp.command.model import (
    Grade,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    TaskKind,
)
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.common import (
    MANUAL_STATUSES,
    RULES,
    SUPERVISE,
    TRANSITIONS,
    Changed,
    S,
    audit_incident,
    call_back_tasks,
    illegal_status,
    incident_or_missing,
    iso_or_none,
    log_target,
    settings_of,
    transition,
    when_text,
)


def add_note(session: Session, actor: Actor, incident_id: str, text: str, clock: Clock) -> Changed:
    """A free-text update on the incident's log."""
    require(actor, Action.INCIDENT_UPDATE)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a note needs text", problems=[FieldProblem("text", "write the update")])
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    entry = log.write(session, incident, actor.username, LogKind.NOTE, text, clock)
    audit_incident(session, actor, "incident.note", incident, clock)
    session.flush()
    return Changed(incident, [log.changed(incident, "note")], entry=entry)


def correct(session: Session, actor: Actor, incident_id: str, entry_id: int, text: str, clock: Clock) -> Changed:
    """Correct a log entry: a new CORRECTION entry pointing at it; the original stays as written."""
    require(actor, Action.INCIDENT_UPDATE)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a correction needs text", problems=[FieldProblem("text", "write the correction")])
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
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
    audit_incident(session, actor, "incident.correct", incident, clock, entry_id=original.id)
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
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    if target.value != incident.status and target not in TRANSITIONS[IncidentStatus(incident.status)]:
        raise illegal_status(incident, target)
    if target not in MANUAL_STATUSES:
        raise InvalidInput(
            f"{target} is set by its own action (dispatch, appointment, close or merge)",
            problems=[FieldProblem("status", f"set by hand only {', '.join(sorted(MANUAL_STATUSES))}")],
        )
    if target is S.OPEN and queries.open_assignments(session, incident.id):
        refuse_while_units_assigned(session, incident)
    entry = transition(session, incident, target, actor.username, clock, reason=(reason or "").strip() or None)
    audit_incident(session, actor, "incident.status", incident, clock, status=target.value)
    session.flush()
    return Changed(incident, [log.changed(incident, "status")] if entry else [], entry=entry)


def refuse_while_units_assigned(session: Session, incident: Incident) -> None:
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
            f"grade {incident.grade} target at {when_text(incident.target_at)} ({minutes} min) and no unit en route: "
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
            f"re-assessment due: target at {when_text(incident.target_at)} and no unit en route",
            clock,
            data={"task_id": task.id, "target_at": iso_or_none(incident.target_at)},
        )
        audit_incident(
            session, Actor.system(incident.force_id, RULES, via=RULES), "incident.reassessment_due", incident, clock
        )
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
            f"attendance target missed at {when_text(incident.target_at)}: {cause}",
            clock,
            data={"target_at": iso_or_none(incident.target_at), "cause": cause},
        )
        audit_incident(
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
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
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
    audit_incident(session, actor, "incident.breach_cause", incident, clock, cause=cause)
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
    log_target(session, incident, by, clock, " (re-evaluated)")
    call_back_tasks(session, incident, f"attendance delayed: {reason}", by, clock)
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
            f"back in the queue near its target ({when_text(incident.target_at)}): re-assess",
            by,
            clock,
            due_at=incident.target_at,
        )
        log.write(
            session,
            incident,
            by,
            LogKind.REASSESSMENT_DUE,
            f"re-assessment due: target at {when_text(incident.target_at)} and no unit en route",
            clock,
            data={"task_id": task.id, "target_at": iso_or_none(incident.target_at)},
        )
    audit_incident(session, actor, "incident.requeue", incident, clock, reason=reason)
    session.flush()
    return [log.changed(incident, "requeued")]
