"""Linking and merging incidents (and undoing it), closing with a result, and reopening."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries
from bluelamp.command.model import (
    Incident,
    IncidentStatus,
    LogKind,
    TaskKind,
)
from bluelamp.errors import Conflict, FieldProblem, InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.attendance import (
    finish_task,
    live_appointment,
)
from bluelamp.command.service.common import (
    RESULTS,
    TRANSITIONS,
    Changed,
    S,
    audit_incident,
    illegal_status,
    incident_or_missing,
    invalid_input,
    iso_or_none,
    require_active,
    settings_of,
    transition,
    when_text,
)
from bluelamp.command.service.grading import (
    settle_downgrade_request,
)
from bluelamp.command.service.status import (
    refuse_while_units_assigned,
)


def link(session: Session, actor: Actor, parent_id: str, child_id: str, clock: Clock) -> Changed:
    """Make one incident part of another (a major incident and its strands)."""
    require(actor, Action.INCIDENT_UPDATE)
    if parent_id == child_id:
        raise Conflict("an incident cannot be its own parent", code="incident.link_cycle")
    parent = incident_or_missing(session, actor, parent_id, for_update=True)
    child = incident_or_missing(session, actor, child_id, for_update=True)
    for incident in (parent, child):
        if incident.status == S.MERGED.value:
            require_active(incident)
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
    audit_incident(session, actor, "incident.link", child, clock, parent=parent.reference)
    session.flush()
    return Changed(parent, [log.changed(parent, "linked"), log.changed(child, "linked")])


def unlink(session: Session, actor: Actor, parent_id: str, child_id: str, clock: Clock) -> Changed:
    """Undo a link between a parent incident and its child."""
    require(actor, Action.INCIDENT_UPDATE)
    parent = incident_or_missing(session, actor, parent_id, for_update=True)
    child = incident_or_missing(session, actor, child_id, for_update=True)
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
    audit_incident(session, actor, "incident.unlink", child, clock, parent=parent.reference)
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
    duplicate = incident_or_missing(session, actor, duplicate_id, for_update=True)
    survivor = incident_or_missing(session, actor, into_id, for_update=True)
    if survivor.status in (S.MERGED.value, S.CLOSED.value):
        require_active(survivor)
    refuse_while_units_assigned(session, duplicate)
    if queries.merged_into(session, duplicate.id):
        raise Conflict(
            f"other incidents are merged into {duplicate.reference}; merge {survivor.reference} into it instead",
            code="incident.has_merged",
        )
    if live_appointment(session, duplicate) is not None:
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
    audit_incident(session, actor, "incident.merge", duplicate, clock, into=survivor.reference)
    session.flush()
    return Changed(survivor, [log.changed(duplicate, "merged"), log.changed(survivor, "merged")])


def unmerge(session: Session, actor: Actor, duplicate_id: str, reason: str, clock: Clock) -> Changed:
    """Undo a merge: the duplicate gets back the status it had and its own calls."""
    require(actor, Action.INCIDENT_UPDATE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("an unmerge needs a reason", problems=[FieldProblem("reason", "say why they differ")])
    duplicate = incident_or_missing(session, actor, duplicate_id, for_update=True)
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
    audit_incident(session, actor, "incident.unmerge", duplicate, clock, from_=survivor.reference)
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
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
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
    refuse_while_units_assigned(session, incident)
    call_backs = queries.open_tasks_on(session, incident.id, TaskKind.CALL_BACK.value)
    if call_backs:
        raise Conflict(
            f"{len(call_backs)} call-back task(s) still open on {incident.reference}: close them first",
            code="incident.open_call_backs",
            extra={"tasks": [t.id for t in call_backs]},
        )
    appointment = live_appointment(session, incident)
    if appointment is not None and appointment.starts_at > clock.now():
        raise Conflict(
            f"an appointment is booked for {when_text(appointment.starts_at)}: "
            "cancel it first (the caller is called back)",
            code="incident.appointment_booked",
        )
    for task in queries.open_tasks_on(session, incident.id, TaskKind.REASSESSMENT.value):
        finish_task(session, incident, task, "incident closed", actor.username, clock)
    pending = queries.pending_downgrade(session, incident.id)
    if pending is not None:
        settle_downgrade_request(session, incident, pending, actor.username, None, "incident closed", clock)
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
    audit_incident(session, actor, "incident.close", incident, clock, result=result)
    session.flush()
    return Changed(incident, [log.changed(incident, "closed")], entry=entry)


def reopen(session: Session, actor: Actor, incident_id: str, reason: str, clock: Clock) -> Changed:
    """Reopen a closed or resolved incident (back in the queue); its closing stays in the log."""
    require(actor, Action.INCIDENT_CLOSE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why it is reopened", problems=[FieldProblem("reason", "required")])
    incident = incident_or_missing(session, actor, incident_id, for_update=True)
    if incident.status not in (S.CLOSED.value, S.RESOLVED.value):
        raise illegal_status(incident, S.OPEN)
    previous = {
        "closing_category": incident.closing_category,
        "result": incident.result,
        "summary": incident.summary,
        "crime_reference": incident.crime_reference,
        "closed_at": iso_or_none(incident.closed_at),
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
    audit_incident(session, actor, "incident.reopen", incident, clock)
    session.flush()
    return Changed(incident, [log.changed(incident, "reopened")])
