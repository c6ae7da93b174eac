"""Reading incidents: one by id or reference, its detail, the queue, open tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import queries
from bluelamp.command.model import (
    ACTIVE_STATUSES,
    Appointment,
    Incident,
    IncidentStatus,
    Task,
    TaskKind,
)
from bluelamp.errors import FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.common import (
    Detail,
    audit_incident,
    incident_or_missing,
)


def get_incident(session: Session, actor: Actor, incident_id: str, clock: Clock | None = None) -> Incident:
    """One incident the actor may see (another force's answers like a missing one); audited."""
    require(actor, Action.INCIDENT_READ)
    incident = incident_or_missing(session, actor, incident_id)
    audit_incident(session, actor, "incident.read", incident, clock or Clock(), view="summary")
    return incident


def get_incident_by_reference(session: Session, actor: Actor, reference: str, clock: Clock | None = None) -> Incident:
    """An incident by its reference (``SP-20261128-0042``); audited."""
    require(actor, Action.INCIDENT_READ)
    incident = queries.visible_incident_by_reference(session, actor, reference)
    if incident is None:
        raise NotFound(f"no incident {reference.strip()!r}")
    audit_incident(session, actor, "incident.read", incident, clock or Clock(), view="summary")
    return incident


def incident_detail(session: Session, actor: Actor, incident_id: str, clock: Clock | None = None) -> Detail:
    """Everything about an incident: calls (with merged duplicates'), assessments, the log
    in order, assignments, tasks, downgrade requests, appointment, parent, children; audited
    (it holds callers' personal data)."""
    require(actor, Action.INCIDENT_READ)
    incident = incident_or_missing(session, actor, incident_id)
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
    audit_incident(session, actor, "incident.read", incident, clock or Clock(), view="detail")
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
