"""Command and control's read side. Every lookup is scoped by force and clearance in SQL
(``access.queries.visible``): an incident the actor may not see is simply not found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
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
    ReferenceCounter,
    Task,
    TaskKind,
)
from bluelamp.tracking.model import Unit

T = TypeVar("T")


def visible_incident(session: Session, actor: Actor, incident_id: str, *, for_update: bool = False) -> Incident | None:
    """The incident if the actor may see it, else None (missing and hidden answer alike)."""
    statement = select(Incident).where(Incident.id == incident_id, visible(actor, Incident))
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def visible_incident_by_reference(session: Session, actor: Actor, reference: str) -> Incident | None:
    statement = select(Incident).where(Incident.reference == reference.strip().upper(), visible(actor, Incident))
    return session.scalars(statement).one_or_none()


# ---------------------------------------------------------------- dispatch (assignments)
# Added by the dispatch work (issue 5 items 4-5): lookups recommend.py and dispatch.py need.


def open_assignment(session: Session, incident_id: str, unit_id: str) -> Assignment | None:
    """The unit's current (unreleased) assignment to this incident, if any."""
    return session.scalars(
        select(Assignment).where(
            Assignment.incident_id == incident_id, Assignment.unit_id == unit_id, Assignment.released_at.is_(None)
        )
    ).first()


def open_assignment_of_unit(session: Session, unit_id: str) -> Assignment | None:
    """The unit's current (unreleased) assignment to any incident, if any."""
    return session.scalars(
        select(Assignment)
        .where(Assignment.unit_id == unit_id, Assignment.released_at.is_(None))
        .order_by(Assignment.assigned_at.desc())
        .limit(1)
    ).first()


def open_assignments(session: Session, incident_id: str) -> list[Assignment]:
    """The incident's current (unreleased) assignments, oldest first."""
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.incident_id == incident_id, Assignment.released_at.is_(None))
            .order_by(Assignment.assigned_at, Assignment.id)
        )
    )


def assignments(session: Session, incident_id: str) -> list[Assignment]:
    """Every assignment of the incident, current and released, oldest first."""
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.incident_id == incident_id)
            .order_by(Assignment.assigned_at, Assignment.id)
        )
    )


def incident_references(session: Session, force_id: str, incident_ids: list[str]) -> dict[str, str]:
    """Incident id -> reference for some incidents of a force (one query)."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Incident.id, Incident.reference).where(Incident.force_id == force_id, Incident.id.in_(incident_ids))
    )
    return dict(rows.all())


def visible_incident_references(session: Session, actor: Actor, incident_ids: list[str]) -> dict[str, str]:
    """Incident id -> reference for those of some incidents the actor may see (one query)."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Incident.id, Incident.reference).where(Incident.id.in_(incident_ids), visible(actor, Incident))
    )
    return dict(rows.all())


def visible_unit_for_update(session: Session, actor: Actor, unit_id: str) -> Unit | None:
    """The unit if the actor may see it, locked until the transaction ends (two
    dispatchers cannot send the same unit to two incidents at once)."""
    return session.scalars(select(Unit).where(Unit.id == unit_id, visible(actor, Unit)).with_for_update()).one_or_none()


# ---------------------------------------------------------------- EIDO export
# Added by the EIDO work (issue 5 item 9): what an exported document carries.


def log_in_order(session: Session, incident_id: str) -> list[LogEntry]:
    """The incident's whole log, oldest entry first."""
    return list(session.scalars(select(LogEntry).where(LogEntry.incident_id == incident_id).order_by(LogEntry.id)))


def assignments_with_visible_units(session: Session, actor: Actor, incident_id: str) -> list[tuple[Assignment, Unit]]:
    """Every assignment of the incident with its unit, oldest first; units the actor may
    not see (a marking above their clearance) are left out, as if never assigned."""
    statement = (
        select(Assignment, Unit)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.incident_id == incident_id, visible(actor, Unit))
        .order_by(Assignment.assigned_at, Assignment.id)
    )
    return [(assignment, unit) for assignment, unit in session.execute(statement)]


# ---------------------------------------------------------------- incidents: intake, rules, detail
# The incident core (issue 5 items 1-3, 6-8): intake, the rules sweep, tasks, the detail view.


def call_by_idempotency_key(session: Session, force_id: str, key: str) -> Call | None:
    """The call a force already received under this idempotency key, if any."""
    return session.scalars(select(Call).where(Call.force_id == force_id, Call.idempotency_key == key)).one_or_none()


def next_reference_number(session: Session, force_id: str, day: str) -> int:
    """The next incident sequence number of a force's (local) day, in one atomic statement:
    an upsert that takes the counter's row lock until the transaction ends, so two calls
    never get the same number and a rolled-back call gives its number back."""
    table = ReferenceCounter.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(force_id=force_id, day=day, last=1)
        .on_conflict_do_update(index_elements=[table.c.force_id, table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return session.execute(statement).scalar_one()


def inserted(session: Session, work: Callable[[], T]) -> tuple[bool, T | None]:
    """Run ``work`` (which adds rows) in a savepoint and flush it: (True, its result); or
    (False, None), with nothing of it kept, when a unique constraint refuses the rows
    (another request with the same idempotency key won the race)."""
    try:
        with session.begin_nested():
            result = work()
            session.flush()
    except IntegrityError:
        return False, None
    return True, result


def active_incidents_in_box(
    session: Session,
    actor: Actor,
    south: float,
    north: float,
    west: float,
    east: float,
    since: datetime,
    *,
    exclude_id: str | None = None,
) -> list[Incident]:
    """Active incidents the actor may see, created since ``since``, inside a lat/lon box
    (the duplicate check's prefilter; the exact distance is cut in Python)."""
    statement = select(Incident).where(
        visible(actor, Incident),
        Incident.status.in_([s.value for s in ACTIVE_STATUSES]),
        Incident.created_at >= since,
        Incident.lat.between(south, north),
        Incident.lon.between(west, east),
    )
    if exclude_id is not None:
        statement = statement.where(Incident.id != exclude_id)
    return list(session.scalars(statement.order_by(Incident.created_at.desc()).limit(2000)))


def incident_queue(session: Session, actor: Actor, statuses: list[str], limit: int) -> list[Incident]:
    """Incidents the actor may see in these statuses: most urgent grade first, then the
    nearest target (none last), then the oldest."""
    statement = (
        select(Incident)
        .where(visible(actor, Incident), Incident.status.in_(statuses))
        .order_by(Incident.grade, Incident.target_at.is_(None), Incident.target_at, Incident.created_at, Incident.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def calls_of(session: Session, incident_ids: list[str]) -> list[Call]:
    """The calls of some incidents, in the order they were received."""
    if not incident_ids:
        return []
    return list(
        session.scalars(select(Call).where(Call.incident_id.in_(incident_ids)).order_by(Call.received_at, Call.id))
    )


def assessments_of(session: Session, incident_id: str) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment).where(Assessment.incident_id == incident_id).order_by(Assessment.at, Assessment.id)
        )
    )


def last_log_entry(session: Session, incident_id: str, kind: str) -> LogEntry | None:
    return session.scalars(
        select(LogEntry)
        .where(LogEntry.incident_id == incident_id, LogEntry.kind == kind)
        .order_by(LogEntry.id.desc())
        .limit(1)
    ).first()


def tasks_of(session: Session, incident_ids: list[str]) -> list[Task]:
    if not incident_ids:
        return []
    return list(
        session.scalars(select(Task).where(Task.incident_id.in_(incident_ids)).order_by(Task.created_at, Task.id))
    )


def open_tasks_on(session: Session, incident_id: str, kind: str | None = None) -> list[Task]:
    """An incident's open tasks (of one kind), oldest first."""
    statement = select(Task).where(Task.incident_id == incident_id, Task.closed_at.is_(None))
    if kind is not None:
        statement = statement.where(Task.kind == kind)
    return list(session.scalars(statement.order_by(Task.created_at, Task.id)))


def visible_open_tasks(session: Session, actor: Actor, kind: str | None, limit: int) -> list[Task]:
    """Open tasks on incidents the actor may see: those due first, then the oldest."""
    statement = (
        select(Task)
        .join(Incident, Task.incident_id == Incident.id)
        .where(visible(actor, Incident), Task.closed_at.is_(None))
    )
    if kind is not None:
        statement = statement.where(Task.kind == kind)
    statement = statement.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id).limit(limit)
    return list(session.scalars(statement))


def visible_task(session: Session, actor: Actor, task_id: str, *, for_update: bool = False) -> Task | None:
    statement = (
        select(Task).join(Incident, Task.incident_id == Incident.id).where(Task.id == task_id, visible(actor, Incident))
    )
    if for_update:
        statement = statement.with_for_update(of=Task)
    return session.scalars(statement).one_or_none()


def downgrades_of(session: Session, incident_id: str) -> list[DowngradeRequest]:
    return list(
        session.scalars(
            select(DowngradeRequest)
            .where(DowngradeRequest.incident_id == incident_id)
            .order_by(DowngradeRequest.requested_at, DowngradeRequest.id)
        )
    )


def pending_downgrade(session: Session, incident_id: str) -> DowngradeRequest | None:
    return session.scalars(
        select(DowngradeRequest).where(
            DowngradeRequest.incident_id == incident_id, DowngradeRequest.decided_at.is_(None)
        )
    ).first()


def visible_downgrade(
    session: Session, actor: Actor, request_id: str, *, for_update: bool = False
) -> DowngradeRequest | None:
    statement = (
        select(DowngradeRequest)
        .join(Incident, DowngradeRequest.incident_id == Incident.id)
        .where(DowngradeRequest.id == request_id, visible(actor, Incident))
    )
    if for_update:
        statement = statement.with_for_update(of=DowngradeRequest)
    return session.scalars(statement).one_or_none()


def booked_per_slot(session: Session, force_id: str, since: datetime, until: datetime) -> dict[datetime, int]:
    """How many live (not cancelled) appointments of a force start at each time in a window."""
    rows = session.execute(
        select(Appointment.starts_at, func.count())
        .where(
            Appointment.force_id == force_id,
            Appointment.cancelled_at.is_(None),
            Appointment.starts_at >= since,
            Appointment.starts_at < until,
        )
        .group_by(Appointment.starts_at)
    )
    booked: dict[datetime, int] = {}
    for starts_at, count in rows:
        moment = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)
        booked[moment.astimezone(UTC)] = booked.get(moment.astimezone(UTC), 0) + count
    return booked


def children_of(session: Session, incident_id: str) -> list[Incident]:
    return list(
        session.scalars(select(Incident).where(Incident.parent_id == incident_id).order_by(Incident.created_at))
    )


def merged_into(session: Session, incident_id: str) -> list[Incident]:
    """The duplicates merged into an incident."""
    return list(
        session.scalars(select(Incident).where(Incident.merged_into_id == incident_id).order_by(Incident.created_at))
    )


def call_signs(session: Session, unit_ids: list[str]) -> dict[str, str]:
    """Unit id -> call sign (one query)."""
    if not unit_ids:
        return {}
    return dict(session.execute(select(Unit.id, Unit.call_sign).where(Unit.id.in_(unit_ids))).all())


def _en_route(incident_id_column):
    """A unit on its way or there: acknowledged (or arrived) and not released."""
    return exists().where(
        Assignment.incident_id == incident_id_column,
        Assignment.released_at.is_(None),
        or_(Assignment.acknowledged_at.is_not(None), Assignment.arrived_at.is_not(None)),
    )


def due_for_reassessment(session: Session, now: datetime) -> list[Incident]:
    """Every force's grade 1 and 2 incidents near their target (re-assessment time passed),
    with no unit en route or arrived, not yet prompted for this target."""
    prompted = exists().where(
        Task.incident_id == Incident.id, Task.kind == TaskKind.REASSESSMENT.value, Task.due_at == Incident.target_at
    )
    statement = select(Incident).where(
        Incident.grade.in_([Grade.IMMEDIATE.value, Grade.PRIORITY.value]),
        Incident.status.in_([IncidentStatus.OPEN.value, IncidentStatus.DISPATCHED.value]),
        Incident.reassess_at.is_not(None),
        Incident.reassess_at <= now,
        Incident.first_arrived_at.is_(None),
        ~_en_route(Incident.id),
        ~prompted,
    )
    return list(session.scalars(statement.order_by(Incident.reassess_at).with_for_update(skip_locked=True)))


def due_for_breach(session: Session, now: datetime) -> list[Incident]:
    """Every force's active incidents past their target with nobody arrived, not yet recorded as breached."""
    statement = select(Incident).where(
        Incident.status.in_([s.value for s in ACTIVE_STATUSES]),
        Incident.target_at.is_not(None),
        Incident.target_at <= now,
        Incident.first_arrived_at.is_(None),
        Incident.breached_at.is_(None),
    )
    return list(session.scalars(statement.order_by(Incident.target_at).with_for_update(skip_locked=True)))


# ---------------------------------------------------------------- checks from the field (mobile/checks/)


def incidents_at_place(
    session: Session,
    actor: Actor,
    boxes: list[tuple[float, float, float, float]],
    address_terms: list[str],
    since: datetime,
    limit: int,
) -> list[Incident]:
    """Incidents the actor may see, created since ``since`` (any status but merged), inside
    any of the latitude/longitude ``boxes`` (south, north, west, east) or whose address holds
    any of ``address_terms`` (any case), newest first. The exact distance is cut by the
    caller, as command/duplicates.py does."""
    places = [Incident.lat.between(s, n) & Incident.lon.between(w, e) for s, n, w, e in boxes]
    places += [func.lower(Incident.address).contains(term.lower(), autoescape=True) for term in address_terms if term]
    if not places:
        return []
    statement = (
        select(Incident)
        .where(
            visible(actor, Incident),
            Incident.created_at >= since,
            Incident.status != IncidentStatus.MERGED.value,
            or_(*places),
        )
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
