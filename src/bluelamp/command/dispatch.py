"""Dispatch: sending units to incidents and following them there and back.

Each step keeps three things in step, in one transaction: the assignment row, the
unit's status (through ``tracking.service.change_status``, so the unit's history and
audit trail have it) and the incident's status and log. The result carries the bus
events and the unit status changes, which the web layer applies after the commit
(``tracking.runtime.apply_status`` moves the unit in the latest-position index).

Statuses follow the lifecycle in DOMAIN.md: assigned -> en route (acknowledged) ->
at scene (arrived) -> available (released). The incident goes DISPATCHED with its
first assignment and AT_SCENE with its first arrival (through
``command.service.transition``, which owns the incident lifecycle). When its last
unit leaves:

- before anyone arrived, ``command.service.reevaluate`` puts the incident back on the
  queue, re-checks its target and opens the call-back the caller is owed (attendance
  changed);
- after someone arrived, it stays AT_SCENE, awaiting its closing category and result
  (the incident lifecycle goes from at scene to closed; nobody needs sending), and the
  log says every unit has left.

While other units remain it follows them: AT_SCENE while any is there, DISPATCHED
when the only one at the scene leaves and others are still on their way.

A unit committed to one incident can be sent to another only with a reason: the
old assignment is released "diverted to <reference>: <reason>", both incidents log
it, and the incident left behind is settled as above (re-queued if nobody is there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries
from bluelamp.command import service as incidents
from bluelamp.command.model import ACTIVE_STATUSES, Assignment, Incident, IncidentStatus, LogKind
from bluelamp.command.recommend import duration_words, not_active, settings_for
from bluelamp.command.routing import Origin, StraightLineRouter
from bluelamp.errors import CATALOGUE, Conflict, Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event
from bluelamp.tracking import service as tracking
from bluelamp.tracking.model import COMMITTED, DEPLOYABLE, TRANSITIONS, Unit, UnitStatus
from bluelamp.tracking.service import StatusChanged

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("dispatch.off_duty", Conflict, "The unit is off duty; it must book on (status available) before it can be sent."),
    (
        "dispatch.unit_emergency",
        Conflict,
        "The unit's crew pressed the emergency button; it cannot be sent until the emergency is dealt with.",
    ),
    (
        "dispatch.divert_reason_required",
        Conflict,
        "The unit is committed to another incident (`current_incident`); send `divert_reason` to divert it.",
    ),
    ("dispatch.already_assigned", Conflict, "The unit is already assigned to this incident."),
    ("dispatch.not_assigned", Conflict, "The unit has no current assignment to this incident."),
    ("dispatch.already_acknowledged", Conflict, "The unit already acknowledged this assignment (it is en route)."),
    ("dispatch.already_arrived", Conflict, "The unit already arrived at this incident."),
    (
        "dispatch.not_your_unit",
        Denied,
        "Response officers can move only the unit they crew now; a dispatcher can move any.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

S = UnitStatus
DEPLOYABLE_VALUES = frozenset(s.value for s in DEPLOYABLE)
COMMITTED_VALUES = frozenset(s.value for s in COMMITTED)


@dataclass
class AssignmentChanged:
    """What a dispatch step did: publish ``events`` and apply ``status_changes`` after commit."""

    incident: Incident
    assignment: Assignment
    unit: Unit
    events: list[Event] = field(default_factory=list)
    status_changes: list[StatusChanged] = field(default_factory=list)


@dataclass
class Dispatched(AssignmentChanged):
    """A unit assigned; ``diverted_from`` is the incident it left, when it was diverted."""

    diverted_from: Incident | None = None


# ---------------------------------------------------------------- assign


def assign(
    session: Session,
    actor: Actor,
    incident_id: str,
    unit_id: str,
    clock: Clock,
    *,
    divert_reason: str | None = None,
    override_reason: str | None = None,
    recommended_rank: int | None = None,
    eta_seconds: int | None = None,
) -> Dispatched:
    """Send a unit to an incident. A unit committed elsewhere needs ``divert_reason``.

    ``recommended_rank`` is where the unit stood in the recommendations the dispatcher
    saw (None: not among them); ``override_reason`` says why the top one was passed over."""
    require(actor, Action.INCIDENT_DISPATCH)
    incident = _incident(session, actor, incident_id)
    if incident.status not in ACTIVE_STATUSES:
        raise not_active(incident)
    unit = _unit(session, actor, unit_id)
    divert_reason = _clean(divert_reason)
    override_reason = _clean(override_reason)
    if unit.status == S.OFF_DUTY:
        raise Conflict(
            f"{unit.call_sign} is off duty and cannot be sent",
            code="dispatch.off_duty",
            extra={"unit_status": unit.status, "allowed": sorted(DEPLOYABLE_VALUES | COMMITTED_VALUES)},
        )
    if unit.status == S.EMERGENCY:
        raise Conflict(
            f"{unit.call_sign} has an emergency and cannot be sent",
            code="dispatch.unit_emergency",
            extra={"unit_status": unit.status},
        )
    current = queries.open_assignment_of_unit(session, unit.id)
    if current is not None and current.incident_id == incident.id and unit.status in COMMITTED_VALUES:
        raise Conflict(
            f"{unit.call_sign} is already assigned to {incident.reference}", code="dispatch.already_assigned"
        )
    events: list[Event] = []
    changes: list[StatusChanged] = []
    diverted_from: Incident | None = None
    now = clock.now()
    if unit.status in COMMITTED_VALUES:
        old = session.get(Incident, current.incident_id) if current is not None else None
        # The incident it leaves may be beyond this dispatcher's clearance: then it is
        # named only as "another incident", as a hidden record answers like a missing one.
        shown = None
        if old is not None:
            seen = queries.visible_incident(session, actor, old.id) is not None
            shown = old.reference if seen else "another incident"
        if divert_reason is None:
            where = f" on {shown}" if shown else ""
            raise Conflict(
                f"{unit.call_sign} is {unit.status.replace('_', ' ')}{where}; diverting it needs a reason",
                code="dispatch.divert_reason_required",
                extra={
                    "unit_status": unit.status,
                    "current_incident": shown if shown != "another incident" else None,
                    "current_incident_id": old.id if shown and shown != "another incident" else None,
                    "needs": "divert_reason",
                },
            )
        if current is not None and old is not None:
            diverted_from = old
            text = f"diverted to {incident.reference}: {divert_reason}"
            _close_assignment(current, actor, text, clock, diverted_to=incident.id)
            log.write(
                session,
                old,
                actor.username,
                LogKind.DIVERTED,
                f"{unit.call_sign} {text}",
                clock,
                data={"unit_id": unit.id, "call_sign": unit.call_sign, "to": incident.id, "reason": divert_reason},
            )
            _audit(session, actor, old, unit, "divert", clock, reason=divert_reason)
            events.append(log.changed(old, "unit_diverted", unit_id=unit.id, call_sign=unit.call_sign))
            events += _settle(session, actor, old, clock, f"{unit.call_sign} {text}")
        log.write(
            session,
            incident,
            actor.username,
            LogKind.DIVERTED,
            f"{unit.call_sign} diverted from {shown or unit.status.replace('_', ' ')}: {divert_reason}",
            clock,
            data={
                "unit_id": unit.id,
                "call_sign": unit.call_sign,
                "from": old.id if old is not None else None,
                "reason": divert_reason,
            },
        )
    elif current is not None:
        # Available, yet still holding an assignment: the unit cleared itself without
        # the incident being told. Close that assignment now so the two agree again.
        old = session.get(Incident, current.incident_id)
        _close_assignment(current, actor, f"{unit.call_sign} was already {unit.status}", clock)
        if old is not None:
            text = f"{unit.call_sign} released: it was already {unit.status.replace('_', ' ')}"
            log.write(session, old, actor.username, LogKind.RELEASED, text, clock, data={"unit_id": unit.id})
            events.append(log.changed(old, "unit_released", unit_id=unit.id, call_sign=unit.call_sign))
            if old.id != incident.id:  # this incident is being given the unit again below
                events += _settle(session, actor, old, clock, text)

    if eta_seconds is None and unit.last_lat is not None and unit.last_lon is not None:
        factor = settings_for(session, incident.force_id).road_factor
        estimate = StraightLineRouter(factor).travel_seconds(
            [Origin(unit.last_lat, unit.last_lon, unit.unit_type)], (incident.lat, incident.lon)
        )[0]
        eta_seconds = None if estimate is None else int(round(estimate))
    assignment = Assignment(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        unit_id=unit.id,
        assigned_at=now,
        assigned_by=actor.username,
        recommended_rank=recommended_rank,
        override_reason=override_reason,
        eta_seconds=eta_seconds,
    )
    session.add(assignment)
    changes.append(_move(session, actor, unit, S.ASSIGNED, clock, f"assigned to {incident.reference}", incident.id))
    before = incident.status
    log.write(
        session,
        incident,
        actor.username,
        LogKind.ASSIGNED,
        _assigned_text(unit, recommended_rank, override_reason, eta_seconds),
        clock,
        data={
            "unit_id": unit.id,
            "call_sign": unit.call_sign,
            "assignment_id": assignment.id,
            "eta_seconds": eta_seconds,
            "recommended_rank": recommended_rank,
            "recommended": recommended_rank == 1,
            "override_reason": override_reason,
            "diverted_from": diverted_from.id if diverted_from is not None else None,
        },
    )
    if before in (IncidentStatus.OPEN, IncidentStatus.SCHEDULED):
        incidents.transition(
            session, incident, IncidentStatus.DISPATCHED, actor.username, clock, reason=f"{unit.call_sign} assigned"
        )
    _audit(session, actor, incident, unit, "assign", clock, reason=divert_reason or override_reason)
    session.flush()
    events.insert(0, log.changed(incident, "unit_assigned", unit_id=unit.id, call_sign=unit.call_sign))
    return Dispatched(incident, assignment, unit, events, changes, diverted_from)


def _assigned_text(unit: Unit, rank: int | None, override: str | None, eta: int | None) -> str:
    parts = [f"{unit.call_sign} assigned"]
    if rank == 1:
        parts.append("the top recommendation")
    elif rank is not None:
        parts.append(f"recommendation #{rank}")
    else:
        parts.append("the dispatcher's own choice")
    if override:
        parts.append(f"over the top recommendation because: {override}")
    if eta is not None:
        parts.append(f"ETA about {duration_words(eta)}")
    return ", ".join(parts)


# ---------------------------------------------------------------- acknowledge, arrive, release


def acknowledge(session: Session, actor: Actor, incident_id: str, unit_id: str, clock: Clock) -> AssignmentChanged:
    """The unit accepts the assignment and sets off: unit EN_ROUTE."""
    incident, unit, assignment = _step(session, actor, incident_id, unit_id, clock)
    if assignment.arrived_at is not None:
        raise _already_arrived(unit, incident, assignment)
    if assignment.acknowledged_at is not None:
        raise Conflict(
            f"{unit.call_sign} already acknowledged {incident.reference}",
            code="dispatch.already_acknowledged",
            extra={"acknowledged_at": assignment.acknowledged_at.isoformat(), "next": ["arrive", "release"]},
        )
    change = _move(session, actor, unit, S.EN_ROUTE, clock, f"en route to {incident.reference}", incident.id)
    events = _acknowledged(session, actor, incident, unit, assignment, clock)
    return AssignmentChanged(incident, assignment, unit, events, [change])


def arrive(session: Session, actor: Actor, incident_id: str, unit_id: str, clock: Clock) -> AssignmentChanged:
    """The unit is at the scene: unit AT_SCENE, incident AT_SCENE."""
    incident, unit, assignment = _step(session, actor, incident_id, unit_id, clock)
    if assignment.arrived_at is not None:
        raise _already_arrived(unit, incident, assignment)
    change = _move(session, actor, unit, S.AT_SCENE, clock, f"at scene of {incident.reference}", incident.id)
    events = _arrived(session, actor, incident, unit, assignment, clock)
    return AssignmentChanged(incident, assignment, unit, events, [change])


def release(
    session: Session, actor: Actor, incident_id: str, unit_id: str, reason: str | None, clock: Clock
) -> AssignmentChanged:
    """The unit leaves the incident and is available again.

    Before it arrived this changes the caller's attendance, so a reason is required
    (it goes to the call-back); after arrival it defaults to "cleared from scene"."""
    incident, unit, assignment = _step(session, actor, incident_id, unit_id, clock)
    reason = _clean(reason)
    if reason is None:
        if assignment.arrived_at is None:
            raise InvalidInput(
                f"say why {unit.call_sign} is withdrawn before arriving (the caller will be called back)",
                problems=[FieldProblem("reason", "required when the unit has not arrived")],
            )
        reason = "cleared from scene"
    changes = []
    if unit.current_incident_id == incident.id and unit.status in COMMITTED_VALUES:
        changes.append(_move(session, actor, unit, S.AVAILABLE, clock, f"released from {incident.reference}", None))
    elif unit.current_incident_id == incident.id:
        unit.current_incident_id = None  # an emergency or off-duty unit keeps its status
    events = _released(session, actor, incident, unit, assignment, reason, clock)
    return AssignmentChanged(incident, assignment, unit, events, changes)


def list_assignments(session: Session, actor: Actor, incident_id: str) -> tuple[Incident, list[Assignment]]:
    """An incident's assignments, current and past, oldest first."""
    require(actor, Action.INCIDENT_READ)
    incident = _incident(session, actor, incident_id, lock=False)
    return incident, queries.assignments(session, incident.id)


def follow_unit_status(
    session: Session, actor: Actor, changed: StatusChanged, clock: Clock
) -> AssignmentChanged | None:
    """Keep the incident in step when a unit changes its own status (the units status
    endpoint, an officer's handset): en route acknowledges, at scene arrives, available
    or off duty releases the assignment. None when the unit has no assignment.

    Call it in the same unit of work, right after ``tracking.service.change_status``."""
    if changed.before == changed.after:
        return None
    unit = changed.unit
    assignment = queries.open_assignment_of_unit(session, unit.id)
    if assignment is None:
        return None
    incident = session.get(Incident, assignment.incident_id)
    if incident is None:
        return None
    after = changed.after
    events: list[Event] = []
    if after == S.EN_ROUTE and assignment.acknowledged_at is None:
        events = _acknowledged(session, actor, incident, unit, assignment, clock)
    elif after == S.AT_SCENE and assignment.arrived_at is None:
        events = _arrived(session, actor, incident, unit, assignment, clock)
    elif after in (S.AVAILABLE, S.OFF_DUTY):
        reason = f"{unit.call_sign} made itself {after.replace('_', ' ')}"
        if changed.after == S.AVAILABLE and assignment.arrived_at is not None:
            reason = "cleared from scene"
        events = _released(session, actor, incident, unit, assignment, reason, clock)
    elif after == S.EMERGENCY:
        log.write(
            session,
            incident,
            actor.username,
            LogKind.STATUS,
            f"{unit.call_sign} raised an emergency",
            clock,
            data={"unit_id": unit.id, "unit_status": after},
        )
        events = [log.changed(incident, "unit_emergency", unit_id=unit.id, call_sign=unit.call_sign)]
    else:
        return None
    return AssignmentChanged(incident, assignment, unit, events, [])


# ---------------------------------------------------------------- the steps' effects


def _acknowledged(session, actor, incident, unit, assignment, clock) -> list[Event]:
    now = clock.now()
    assignment.acknowledged_at = now
    first = incident.first_en_route_at is None
    if first:
        incident.first_en_route_at = now
    log.write(
        session,
        incident,
        actor.username,
        LogKind.ACKNOWLEDGED,
        f"{unit.call_sign} acknowledged, en route" + (" (first unit en route)" if first else ""),
        clock,
        data={"unit_id": unit.id, "call_sign": unit.call_sign, "assignment_id": assignment.id, "first": first},
    )
    _audit(session, actor, incident, unit, "acknowledge", clock)
    session.flush()
    return [log.changed(incident, "unit_en_route", unit_id=unit.id, call_sign=unit.call_sign)]


def _arrived(session, actor, incident, unit, assignment, clock) -> list[Event]:
    now = clock.now()
    assignment.arrived_at = now
    first = incident.first_arrived_at is None
    if first:
        incident.first_arrived_at = now
    text = f"{unit.call_sign} at scene"
    if first:
        minutes = duration_words(int((now - incident.created_at).total_seconds()))
        text += f", first unit, {minutes} after the call"
        if incident.target_minutes is not None:
            met = incident.target_at is None or now <= incident.target_at
            text += f" (target {incident.target_minutes} min: {'met' if met else 'missed'})"
    log.write(
        session,
        incident,
        actor.username,
        LogKind.ARRIVED,
        text,
        clock,
        data={
            "unit_id": unit.id,
            "call_sign": unit.call_sign,
            "assignment_id": assignment.id,
            "first": first,
        },
    )
    if incident.status in (IncidentStatus.OPEN, IncidentStatus.DISPATCHED, IncidentStatus.SCHEDULED):
        incidents.transition(
            session, incident, IncidentStatus.AT_SCENE, actor.username, clock, reason=f"{unit.call_sign} at scene"
        )
    _audit(session, actor, incident, unit, "arrive", clock)
    session.flush()
    return [log.changed(incident, "unit_at_scene", unit_id=unit.id, call_sign=unit.call_sign)]


def _released(session, actor, incident, unit, assignment, reason: str, clock) -> list[Event]:
    _close_assignment(assignment, actor, reason, clock)
    log.write(
        session,
        incident,
        actor.username,
        LogKind.RELEASED,
        f"{unit.call_sign} released: {reason}",
        clock,
        data={
            "unit_id": unit.id,
            "call_sign": unit.call_sign,
            "assignment_id": assignment.id,
            "reason": reason,
            "had_arrived": assignment.arrived_at is not None,
        },
    )
    _audit(session, actor, incident, unit, "release", clock, reason=reason)
    session.flush()
    events = [log.changed(incident, "unit_released", unit_id=unit.id, call_sign=unit.call_sign)]
    return events + _settle(session, actor, incident, clock, f"{unit.call_sign} released: {reason}")


def _settle(session: Session, actor: Actor, incident: Incident, clock: Clock, reason: str) -> list[Event]:
    """A unit left: put the incident's status where its remaining units say it is."""
    if incident.status not in (IncidentStatus.DISPATCHED, IncidentStatus.AT_SCENE):
        return []
    session.flush()
    remaining = queries.open_assignments(session, incident.id)
    if remaining:
        after = IncidentStatus.AT_SCENE if any(a.arrived_at for a in remaining) else IncidentStatus.DISPATCHED
        moved = incidents.transition(
            session, incident, after, actor.username, clock, reason=f"{reason}; {len(remaining)} still assigned"
        )
        return [log.changed(incident, "status")] if moved is not None else []
    if incident.first_arrived_at is not None:
        # Dealt with at the scene: it stays at scene until closed with its category and result.
        log.write(
            session,
            incident,
            actor.username,
            LogKind.STATUS,
            "every unit has left the scene; awaiting closure",
            clock,
            data={"status": incident.status, "units": 0},
        )
        return [log.changed(incident, "awaiting_closure")]
    # Nobody got there: back on the queue, its target re-evaluated and the caller called back.
    return list(incidents.reevaluate(session, actor, incident, clock, reason))


# ---------------------------------------------------------------- helpers


def _incident(session: Session, actor: Actor, incident_id: str, *, lock: bool = True) -> Incident:
    incident = queries.visible_incident(session, actor, incident_id, for_update=lock)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}")
    return incident


def _unit(session: Session, actor: Actor, unit_id: str) -> Unit:
    unit = queries.visible_unit_for_update(session, actor, unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id!r}")
    return unit


def _step(session: Session, actor: Actor, incident_id: str, unit_id: str, clock: Clock):
    """The incident, unit and open assignment for acknowledge/arrive/release, with the
    actor's right to move this unit checked: dispatchers any unit, response officers
    the unit they crew now."""
    if not (actor.can(Action.INCIDENT_DISPATCH) or actor.can(Action.UNIT_STATUS)):
        require(actor, Action.INCIDENT_DISPATCH)
    incident = _incident(session, actor, incident_id)
    unit = _unit(session, actor, unit_id)
    if not actor.can(Action.INCIDENT_DISPATCH):
        crew = tracking.unit_crew(session, actor, unit.id, clock)
        if actor.user_id is None or not any(officer.user_id == actor.user_id for officer in crew):
            raise Denied(
                f"you do not crew {unit.call_sign}: only its crew or a dispatcher can change it",
                code="dispatch.not_your_unit",
            )
    assignment = queries.open_assignment(session, incident.id, unit.id)
    if assignment is None:
        raise Conflict(
            f"{unit.call_sign} is not assigned to {incident.reference}",
            code="dispatch.not_assigned",
            extra={"unit_status": unit.status, "current_incident_id": unit.current_incident_id},
        )
    return incident, unit, assignment


def _already_arrived(unit: Unit, incident: Incident, assignment: Assignment) -> Conflict:
    return Conflict(
        f"{unit.call_sign} already arrived at {incident.reference}",
        code="dispatch.already_arrived",
        extra={"arrived_at": assignment.arrived_at.isoformat(), "next": ["release"]},
    )


def _move(
    session: Session, actor: Actor, unit: Unit, status: UnitStatus, clock: Clock, reason: str, incident_id: str | None
) -> StatusChanged:
    """Change the unit's status for a dispatch step. Command and control may make moves
    the officer's own lifecycle would not (e.g. diverting a unit at scene), so the check
    is skipped only for those; each move is still recorded and audited."""
    before = unit.status
    force = status not in TRANSITIONS[UnitStatus(before)] and before != status
    changed = tracking.change_status(
        session, actor, unit.id, status.value, clock, reason=reason, incident_id=incident_id, force=force
    )
    if before == status and incident_id is not None and unit.current_incident_id != incident_id:
        # Same status, new incident (an assigned unit diverted): change_status does
        # nothing here, so move the unit over and tell the screens ourselves.
        unit.current_incident_id = incident_id
        event = Event(
            "UnitStatusChanged",
            unit.force_id,
            {
                "unit_id": unit.id,
                "call_sign": unit.call_sign,
                "from": before,
                "to": status.value,
                "at": clock.now().isoformat(),
                "incident_id": incident_id,
            },
        )
        changed = StatusChanged(unit, before, status.value, [event])
    return changed


def _close_assignment(
    assignment: Assignment, actor: Actor, reason: str, clock: Clock, *, diverted_to: str | None = None
) -> None:
    assignment.released_at = clock.now()
    assignment.released_by = actor.username
    assignment.release_reason = reason[:300]
    assignment.diverted_to_incident_id = diverted_to


def _audit(
    session: Session, actor: Actor, incident: Incident, unit: Unit, step: str, clock: Clock, *, reason=None
) -> None:
    audit.append(
        session,
        actor,
        Audit(
            f"incident.{step}",
            record_type="incident",
            record_id=incident.id,
            detail={"unit_id": unit.id, "call_sign": unit.call_sign, "reference": incident.reference},
            reason=reason,
        ),
        clock,
    )


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:300] or None
