"""My work, on the officer's phone: the unit the officer crews now and its current
assignment, with what they need on the way (the incident, its THRIVE summary, warning
markers of the persons around it, previous incidents at the location, the caller's
call-back details); one-tap status, updates to the incident's log, backup requests, the
emergency button and the phone's position reports.

It decides nothing tracking, command and control or records own: a status change goes
through ``tracking.service.change_status`` and ``command.dispatch.follow_unit_status``
(so the control room sees the incident move at once), an update through
``command.service.add_note``, an emergency through ``tracking.service.raise_emergency``,
a position through tracking's ``Ingest``. Who the officer is comes from tracking's
``Officer.user_id``, and what they crew from their current ``Duty``.

Decisions made here (issue 7):

- **Markers of "the persons around" an assignment** are those of persons linked to the
  incident's own records (its incident record, crimes recorded from it), of persons who
  live at a place within ``NEARBY_RECORDS_RADIUS_M`` of the incident, and of persons
  linked to events there in the last ``PREVIOUS_INCIDENTS_MONTHS`` months. Only persons
  with a marker in force today are shown (the point is the warning). Each is audited as a
  person read with the reason "attending <reference>": the officer was sent there.
- **A status the assignment no longer allows** is refused with words the officer can act
  on: a change queued offline for an incident control has since taken the unit off
  (``mobile.assignment_changed``), en route or at scene with no assignment
  (``mobile.no_assignment``), or a step the lifecycle does not allow from where the unit
  is (``mobile.status_not_allowed``, with the statuses it can take).
- **A backup request** opens a task of kind ``backup`` on the incident (the control
  room's task list shows it until a dispatcher closes it with what was sent) and writes a
  flagged log entry; an open request from the same unit is not repeated.
- **The emergency button** is never refused for a bad or missing position: the emergency
  goes with the unit's last known position instead (an emergency lost to validation is
  worse than one without a fix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command import dispatch, log
from bluelamp.command import queries as command_queries
from bluelamp.command import service as command_service
from bluelamp.command.model import ACTIVE_STATUSES, Assessment, Call, Incident, LogEntry, LogKind, Task, TaskKind
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event
from bluelamp.mobile.work import queries
from bluelamp.records import queries as records_queries
from bluelamp.records.model import Person, WarningMarker
from bluelamp.records.pole import label, readable_event_kinds
from bluelamp.tracking import queries as tracking_queries
from bluelamp.tracking import service as tracking
from bluelamp.tracking.index import haversine_km
from bluelamp.tracking.ingest import Fix, Ingest
from bluelamp.tracking.model import TRANSITIONS, Device, Duty, Emergency, Officer, Unit, UnitStatus
from bluelamp.tracking.service import StatusChanged

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "mobile.not_on_duty",
        Conflict,
        "You are not crewing a unit now (or not registered as an officer): book on before changing status.",
    ),
    ("mobile.no_assignment", Conflict, "En route and at scene follow an assignment; the unit has none now."),
    (
        "mobile.assignment_changed",
        Conflict,
        "The unit is no longer assigned to that incident (control moved or released it); `current_incident` "
        "names the one it is on now, if any.",
    ),
    (
        "mobile.status_not_allowed",
        Conflict,
        "The unit cannot take that status from where it is now; `allowed` lists the ones it can.",
    ),
    ("mobile.no_phone", Conflict, "No phone is registered to you in tracking; ask your force admin to add one."),
    ("mobile.position_refused", InvalidInput, "Tracking refused the position; `errors` says why."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

# Previous incidents "at the location": within this distance of the incident, in the
# last this many months, at most this many listed (the count says how many in all).
PREVIOUS_INCIDENTS_MONTHS = 12
PREVIOUS_INCIDENTS_RADIUS_M = 50
PREVIOUS_INCIDENTS_SHOWN = 10
# Records "at the location" (residents, events there): within this distance.
NEARBY_RECORDS_RADIUS_M = 50
# The latest entries of the incident's log shown on the phone.
LOG_ENTRIES_SHOWN = 8
# The kind of task a backup request opens on the incident (the control room lists it).
BACKUP_TASK = TaskKind.BACKUP.value
METRES_PER_DEGREE = 111_320.0

S = UnitStatus
# What the phone offers with one tap, in the lifecycle's order, in the officer's words.
ONE_TAP: dict[UnitStatus, str] = {S.EN_ROUTE: "En route", S.AT_SCENE: "At scene", S.AVAILABLE: "Clear"}
# What the phone may set (the one-tap statuses, and the others an officer sets for themself).
SETTABLE = frozenset({S.EN_ROUTE, S.AT_SCENE, S.BUSY, S.TRANSPORTING, S.AT_HOSPITAL, S.AVAILABLE, S.REFRESHMENTS})
STATUS_WORDS: dict[UnitStatus, str] = {
    S.AVAILABLE: "clear (available)",
    S.ASSIGNED: "assigned",
    S.EN_ROUTE: "en route",
    S.AT_SCENE: "at scene",
    S.BUSY: "busy",
    S.TRANSPORTING: "transporting",
    S.AT_HOSPITAL: "at hospital",
    S.REFRESHMENTS: "on refreshments",
    S.OFF_DUTY: "off duty",
    S.EMERGENCY: "in emergency",
}
ROLE_WORDS = {
    "suspect": "suspect",
    "victim": "victim",
    "witness": "witness",
    "reported_by": "reported",
    "subject_of": "subject",
    "seen_at": "seen",
    "driver": "driver",
    "owner": "owner",
    "keeper": "keeper",
}


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class OnDuty:
    """The signed-in officer, and the unit they crew now (None: not on duty)."""

    officer: Officer
    duty: Duty | None
    unit: Unit | None


@dataclass(frozen=True)
class PersonWarning:
    """A person around the assignment with warning markers in force today, and why shown."""

    person: Person
    name: str
    why: list[str]
    markers: list[WarningMarker]


@dataclass(frozen=True)
class PreviousIncident:
    incident: Incident
    distance_m: float


@dataclass(frozen=True)
class StatusChoice:
    """A one-tap status button: whether it can be pressed now, and if not, why."""

    status: str
    label: str
    current: bool
    allowed: bool
    why: str | None = None


@dataclass
class Assigned:
    """The unit's current assignment and what the officer needs to know on the way."""

    incident: Incident
    assigned_at: datetime
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    assessment: Assessment | None
    calls: list[Call]
    warnings: list[PersonWarning]
    previous: list[PreviousIncident]
    previous_total: int
    log: list[LogEntry]  # newest first
    backup: list[Task]  # open backup requests on the incident


@dataclass
class Work:
    """Everything the work screen shows. ``officer`` None: the user is not an officer."""

    officer: Officer | None
    unit: Unit | None = None
    duty: Duty | None = None
    crew: list[Officer] = field(default_factory=list)
    assignment: Assigned | None = None
    # Assigned to an incident the officer may not see (clearance, need-to-know).
    hidden_assignment: bool = False
    emergency: Emergency | None = None
    choices: list[StatusChoice] = field(default_factory=list)
    phone: Device | None = None


@dataclass
class StatusMoved:
    """What a one-tap status change did: apply ``changed`` and publish ``events`` after commit."""

    unit: Unit
    before: str
    after: str
    incident: Incident | None
    changed: StatusChanged
    events: list[Event] = field(default_factory=list)


@dataclass
class BackupRequested:
    """A backup request on an incident (``already``: an open one was found, nothing new)."""

    incident: Incident
    task: Task
    unit: Unit
    already: bool
    events: list[Event] = field(default_factory=list)


@dataclass
class EmergencyRaised:
    """The officer's emergency: apply ``changed`` (when the unit's status moved) and
    publish ``events`` after commit. ``already``: an open emergency was found."""

    emergency: Emergency
    unit: Unit | None
    already: bool
    changed: StatusChanged | None
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class PositionReported:
    device_id: str
    fix_at: datetime
    lat: float
    lon: float


# ---------------------------------------------------------------- who the officer is


def on_duty(session: Session, actor: Actor, clock: Clock) -> OnDuty | None:
    """The signed-in user's officer record and the unit they crew now; None when the user
    is not an officer of their force."""
    require(actor, Action.UNIT_READ)
    if actor.user_id is None:
        return None
    officer = queries.officer_of_user(session, actor.user_id, actor.force_id)
    if officer is None:
        return None
    found = queries.current_duty(session, officer.id, clock.now())
    if found is None:
        return OnDuty(officer, None, None)
    duty, unit = found
    if not tracking_queries.is_visible_unit(session, actor, unit):
        return OnDuty(officer, None, None)
    return OnDuty(officer, duty, unit)


def _crewing(session: Session, actor: Actor, clock: Clock) -> OnDuty:
    """The officer and the unit they crew now; Conflict ``mobile.not_on_duty`` otherwise."""
    found = on_duty(session, actor, clock)
    if found is None:
        raise Conflict(
            "you are not registered as an officer in tracking: ask your force admin",
            code="mobile.not_on_duty",
            extra={"officer": False},
        )
    if found.unit is None:
        raise Conflict(
            f"{found.officer.rank} {found.officer.collar_number} is not crewing a unit now: book on first",
            code="mobile.not_on_duty",
            extra={"officer": True},
        )
    return found


# ---------------------------------------------------------------- my work


def my_work(session: Session, actor: Actor, clock: Clock) -> Work:
    """The work screen: the unit, its crew and status buttons, and its current assignment
    with the incident, THRIVE, the callers, warning markers of the persons around it,
    previous incidents at the location and the latest log entries. Reading the incident
    and the persons is audited."""
    found = on_duty(session, actor, clock)
    if found is None:
        return Work(officer=None)
    work = Work(officer=found.officer, unit=found.unit, duty=found.duty)
    work.phone = queries.phone_of_officer(session, found.officer.id)
    unit = found.unit
    if unit is None:
        return work
    now = clock.now()
    work.crew = tracking_queries.crew(session, unit.id, now)
    work.emergency = tracking_queries.open_emergency_for_unit(session, unit.id)
    assignment = command_queries.open_assignment_of_unit(session, unit.id)
    incident = None
    if assignment is not None:
        incident = command_queries.visible_incident(session, actor, assignment.incident_id)
        work.hidden_assignment = incident is None
    work.choices = status_choices(unit, assigned=assignment is not None)
    if assignment is None or incident is None:
        return work
    reason = f"attending {incident.reference}"
    merged = command_queries.merged_into(session, incident.id)
    assessments = command_queries.assessments_of(session, incident.id)
    current = next((a for a in assessments if a.id == incident.assessment_id), assessments[-1] if assessments else None)
    previous, total = previous_incidents(session, actor, incident, clock)
    work.assignment = Assigned(
        incident=incident,
        assigned_at=assignment.assigned_at,
        acknowledged_at=assignment.acknowledged_at,
        arrived_at=assignment.arrived_at,
        assessment=current,
        calls=command_queries.calls_of(session, [incident.id] + [m.id for m in merged]),
        warnings=warnings_around(session, actor, incident, clock),
        previous=previous,
        previous_total=total,
        log=list(reversed(command_queries.log_in_order(session, incident.id)))[:LOG_ENTRIES_SHOWN],
        backup=command_queries.open_tasks_on(session, incident.id, BACKUP_TASK),
    )
    audit.append(
        session,
        actor,
        Audit(
            "incident.read",
            record_type="incident",
            record_id=incident.id,
            detail={"reference": incident.reference, "view": "mobile"},
            reason=actor.reason or reason,
        ),
        clock,
    )
    for warning in work.assignment.warnings:
        audit.append(
            session,
            actor,
            Audit(
                "person.read",
                record_type="person",
                record_id=warning.person.id,
                detail={"view": "markers", "incident": incident.reference},
                reason=actor.reason or reason,
            ),
            clock,
        )
    return work


def status_choices(unit: Unit, *, assigned: bool) -> list[StatusChoice]:
    """The one-tap buttons for the unit as it is now: which can be pressed, and why not."""
    current = UnitStatus(unit.status)
    allowed = TRANSITIONS[current]
    choices = []
    for status, words in ONE_TAP.items():
        why = None
        if status == current:
            why = f"{unit.call_sign} is {STATUS_WORDS[status]}"
        elif status in (S.EN_ROUTE, S.AT_SCENE) and not assigned:
            why = "no assignment"
        elif status not in allowed:
            why = f"not while {STATUS_WORDS[current]}"
        choices.append(StatusChoice(status.value, words, status == current, why is None, why))
    return choices


# ---------------------------------------------------------------- the persons and places around


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st becomes the
    month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def previous_incidents(
    session: Session, actor: Actor, incident: Incident, clock: Clock
) -> tuple[list[PreviousIncident], int]:
    """Other incidents within ``PREVIOUS_INCIDENTS_RADIUS_M`` of this one in the last
    ``PREVIOUS_INCIDENTS_MONTHS`` months that the actor may see, newest first (at most
    ``PREVIOUS_INCIDENTS_SHOWN``), and how many there are in all."""
    since = months_before(clock.now(), PREVIOUS_INCIDENTS_MONTHS)
    rows = queries.incidents_in_box(
        session,
        actor,
        *_box(incident.lat, incident.lon, PREVIOUS_INCIDENTS_RADIUS_M),
        since,
        exclude_id=incident.id,
        limit=500,
    )
    near = []
    for row in rows:
        distance = haversine_km(incident.lat, incident.lon, row.lat, row.lon) * 1000
        if distance <= PREVIOUS_INCIDENTS_RADIUS_M:
            near.append(PreviousIncident(row, round(distance)))
    return near[:PREVIOUS_INCIDENTS_SHOWN], len(near)


def warnings_around(session: Session, actor: Actor, incident: Incident, clock: Clock) -> list[PersonWarning]:
    """Persons with warning markers in force today who are linked to the incident's
    records, live at a place within ``NEARBY_RECORDS_RADIUS_M`` of it, or are linked to
    events there in the last ``PREVIOUS_INCIDENTS_MONTHS`` months; each with why shown.
    Only records the actor may see count; nothing without ``person.read``."""
    if not actor.can(Action.PERSON_READ):
        return []
    now = clock.now()
    today = to_local(now).date()
    kinds = readable_event_kinds(actor)
    found: dict[str, tuple[Person, list[str]]] = {}

    def add(person: Person, why: str) -> None:
        entry = found.setdefault(person.id, (person, []))
        if why not in entry[1]:
            entry[1].append(why)

    own = queries.records_events_of_incident(session, actor, incident.id, kinds)
    by_id = {event.id: event for event in own}
    for link, person in queries.persons_linked_to_events(session, actor, list(by_id)):
        add(person, f"{ROLE_WORDS.get(link.role, link.role.replace('_', ' '))} on {by_id[link.to_id].reference}")

    south, north, west, east = _box(incident.lat, incident.lon, NEARBY_RECORDS_RADIUS_M)
    places = {
        location.id: location
        for location in records_queries.visible_locations_in_box(session, actor, south, north, west, east, 200)
        if location.lat is not None
        and haversine_km(incident.lat, incident.lon, location.lat, location.lon) * 1000 <= NEARBY_RECORDS_RADIUS_M
    }
    for location_id, how, person in records_queries.current_residents(session, actor, list(places), today):
        where = label(places[location_id])
        add(person, f"works at {where}" if how == "work" else f"lives at {where}")
    since = months_before(now, PREVIOUS_INCIDENTS_MONTHS)
    there = queries.events_at_locations(session, actor, list(places), kinds, since, 200)
    at_place = {event.id: event for event in there}
    for link, person in queries.persons_linked_to_events(session, actor, list(at_place)):
        event = at_place[link.to_id]
        add(person, f"{ROLE_WORDS.get(link.role, link.role.replace('_', ' '))} on {event.reference} here")

    markers: dict[str, list[WarningMarker]] = {}
    for marker in records_queries.current_markers_of(session, list(found), today):
        markers.setdefault(marker.person_id, []).append(marker)
    return [
        PersonWarning(person, label(person), why, markers[person_id])
        for person_id, (person, why) in found.items()
        if markers.get(person_id)
    ]


# ---------------------------------------------------------------- one-tap status


def _status(value: str) -> UnitStatus:
    try:
        status = UnitStatus((value or "").strip())
    except ValueError:
        status = None
    if status not in SETTABLE:
        shown = ", ".join(s.value for s in UnitStatus if s in SETTABLE)
        raise InvalidInput(
            f"{value!r} is not a status the officer app sets",
            problems=[FieldProblem("status", f"use one of {shown}")],
        )
    return status


def _words_list(statuses: list[UnitStatus]) -> str:
    words = [STATUS_WORDS[s] for s in statuses]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def change_my_status(
    session: Session, actor: Actor, status: str, clock: Clock, *, incident_id: str | None = None
) -> StatusMoved:
    """Set the status of the unit the officer crews now; the incident follows (en route
    acknowledges, at scene arrives, clear releases). ``incident_id`` is the assignment the
    officer saw when pressing: when control has since moved the unit, the change is
    refused instead of applied to another incident. The same status again changes nothing."""
    require(actor, Action.UNIT_STATUS)
    target = _status(status)
    unit = _crewing(session, actor, clock).unit
    assignment = command_queries.open_assignment_of_unit(session, unit.id)
    incident = command_queries.visible_incident(session, actor, assignment.incident_id) if assignment else None
    if incident_id and (assignment is None or assignment.incident_id != incident_id):
        wanted = command_queries.visible_incident(session, actor, incident_id)
        named = wanted.reference if wanted is not None else "that incident"
        now_on = f"; it is now on {incident.reference}" if incident is not None else ""
        raise Conflict(
            f"{unit.call_sign} is no longer assigned to {named}{now_on}",
            code="mobile.assignment_changed",
            extra={
                "current_incident": incident.reference if incident is not None else None,
                "current_incident_id": incident.id if incident is not None else None,
                "unit_status": unit.status,
            },
        )
    if target in (S.EN_ROUTE, S.AT_SCENE) and assignment is None:
        raise Conflict(
            f"{unit.call_sign} has no assignment to be {STATUS_WORDS[target]} for",
            code="mobile.no_assignment",
            extra={"unit_status": unit.status},
        )
    current = UnitStatus(unit.status)
    allowed = [s for s in UnitStatus if s in TRANSITIONS[current] and s is not S.EMERGENCY]
    if target != current and target not in TRANSITIONS[current]:
        at = f" ({incident.reference})" if incident is not None else ""
        raise Conflict(
            f"{unit.call_sign} is {STATUS_WORDS[current]}{at}, so it cannot be {STATUS_WORDS[target]} now; "
            f"it can be {_words_list(allowed)}",
            code="mobile.status_not_allowed",
            extra={"current": current.value, "allowed": [s.value for s in allowed]},
        )
    before = unit.status
    changed = tracking.change_status(
        session,
        actor,
        unit.id,
        target.value,
        clock,
        reason="officer app",
        incident_id=assignment.incident_id if assignment is not None and target != S.AVAILABLE else None,
    )
    followed = dispatch.follow_unit_status(session, actor, changed, clock)
    if followed is not None:
        incident = followed.incident
    return StatusMoved(unit, before, changed.after, incident, changed, list(followed.events) if followed else [])


# ---------------------------------------------------------------- updates and backup


def add_update(session: Session, actor: Actor, incident_id: str, text: str, clock: Clock) -> command_service.Changed:
    """An update from the scene, added to the incident's log (as a note)."""
    return command_service.add_note(session, actor, incident_id, text, clock)


def request_backup(
    session: Session,
    actor: Actor,
    incident_id: str,
    note: str | None,
    clock: Clock,
    *,
    lat: float | None = None,
    lon: float | None = None,
) -> BackupRequested:
    """Ask control for backup at an incident: a ``backup`` task on it (on the control
    room's task list until a dispatcher closes it with what was sent) and a flagged log
    entry. A unit's open request is not repeated."""
    require(actor, Action.INCIDENT_UPDATE)
    unit = _crewing(session, actor, clock).unit
    incident = command_queries.visible_incident(session, actor, incident_id, for_update=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}")
    if incident.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"incident {incident.reference} is {incident.status}; backup is asked for on an active incident",
            code="incident.inactive",
            extra={"status": incident.status},
        )
    for task in command_queries.open_tasks_on(session, incident.id, BACKUP_TASK):
        if task.created_by == actor.username or task.reason.startswith(f"{unit.call_sign} "):
            return BackupRequested(incident, task, unit, True, [])
    note = (note or "").strip()[:500]
    position = None
    if lat is not None and lon is not None and not command_service.location_problems(lat, lon, required=True):
        position = (lat, lon)
    text = f"{unit.call_sign} requests backup" + (f": {note}" if note else "")
    now = clock.now()
    task = Task(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        kind=BACKUP_TASK,
        reason=text,
        created_at=now,
        created_by=actor.username,
        due_at=now,
    )
    session.add(task)
    log.write(
        session,
        incident,
        actor.username,
        LogKind.TASK_CREATED,
        f"BACKUP REQUESTED: {text}",
        clock,
        data={
            "task_id": task.id,
            "kind": BACKUP_TASK,
            "backup": True,
            "unit_id": unit.id,
            "call_sign": unit.call_sign,
            "lat": position[0] if position else None,
            "lon": position[1] if position else None,
        },
    )
    audit.append(
        session,
        actor,
        Audit(
            "incident.backup",
            record_type="incident",
            record_id=incident.id,
            detail={"reference": incident.reference, "unit_id": unit.id, "task_id": task.id},
        ),
        clock,
    )
    session.flush()
    events = [log.changed(incident, "backup_requested", backup=True, task_id=task.id)]
    return BackupRequested(incident, task, unit, False, events)


# ---------------------------------------------------------------- the emergency button


def _position(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None or command_service.location_problems(lat, lon, required=True):
        return None
    if lat == 0 and lon == 0:  # no fix, as trackers send it
        return None
    return float(lat), float(lon)


def raise_my_emergency(
    session: Session, actor: Actor, clock: Clock, *, lat: float | None = None, lon: float | None = None
) -> EmergencyRaised:
    """The officer pressed the emergency button: an emergency for the unit they crew (or
    for them alone when off a unit), with the phone's position when it has one, else the
    unit's last. An open emergency of the unit is reused. Never refused for the position;
    refused (``mobile.not_on_duty``) only for a user who is no officer, whom the control
    room could not tell who or where they are."""
    require(actor, Action.UNIT_STATUS)
    found = on_duty(session, actor, clock)
    if found is None:
        raise Conflict(
            "you are not registered as an officer in tracking, so control could not tell who you are: use your radio",
            code="mobile.not_on_duty",
            extra={"officer": False},
        )
    officer, unit = found.officer, found.unit
    phone = queries.phone_of_officer(session, officer.id)
    position = _position(lat, lon)
    existing = tracking_queries.open_emergency_for_unit(session, unit.id) if unit is not None else None
    before = unit.status if unit is not None else None
    emergency = tracking.raise_emergency(
        session,
        unit,
        clock,
        source="app",
        raised_by=actor.username,
        officer_id=officer.id,
        device_id=phone.id if phone is not None else None,
        lat=position[0] if position else None,
        lon=position[1] if position else None,
        force_id=actor.force_id,
    )
    if existing is not None:
        return EmergencyRaised(emergency, unit, True, None, [])
    events: list[Event] = []
    changed = None
    if unit is not None and before != S.EMERGENCY:
        moved = Event(
            "UnitStatusChanged",
            unit.force_id,
            {
                "unit_id": unit.id,
                "call_sign": unit.call_sign,
                "from": before,
                "to": S.EMERGENCY.value,
                "at": clock.now().isoformat(),
                "incident_id": unit.current_incident_id,
            },
        )
        changed = StatusChanged(unit, before, S.EMERGENCY.value, [moved])
        followed = dispatch.follow_unit_status(session, actor, changed, clock)
        if followed is not None:
            events.extend(followed.events)
    events.insert(0, tracking.emergency_event(emergency, unit))
    audit.append(
        session,
        actor,
        Audit(
            "emergency.raise",
            record_type="emergency",
            record_id=emergency.id,
            detail={
                "unit_id": unit.id if unit is not None else None,
                "source": "app",
                "position": "phone" if position else "last known",
            },
        ),
        clock,
    )
    session.flush()
    return EmergencyRaised(emergency, unit, False, changed, events)


# ---------------------------------------------------------------- the phone's position


@dataclass(frozen=True)
class PhonePosition:
    """A position the phone's browser measured (speed in m/s, bearing in degrees)."""

    lat: float
    lon: float
    fix_at: datetime | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing: float | None = None


def my_phone(session: Session, actor: Actor, clock: Clock) -> Device:
    """The phone registered to the signed-in officer, for position reports while they are
    on duty. Conflict ``mobile.not_on_duty`` off duty (an officer's whereabouts are shared
    only while on duty) and ``mobile.no_phone`` when no phone is registered to them."""
    require(actor, Action.POSITION_REPORT)
    officer = queries.officer_of_user(session, actor.user_id, actor.force_id) if actor.user_id else None
    if officer is None or queries.current_duty(session, officer.id, clock.now()) is None:
        raise Conflict(
            "positions are shared only while you are on duty, and you are not now",
            code="mobile.not_on_duty",
            extra={"officer": officer is not None},
        )
    phone = queries.phone_of_officer(session, officer.id)
    if phone is None:
        raise Conflict("no phone is registered to you in tracking: ask your force admin", code="mobile.no_phone")
    return phone


def report_position(ingest: Ingest, device: Device, position: PhonePosition, clock: Clock) -> PositionReported:
    """Send the phone's position through tracking's ingest, as the officer's device (its
    trail, its checks); InvalidInput ``mobile.position_refused`` naming what tracking refused."""
    fix = Fix(
        device_id=device.id,
        fix_at=position.fix_at or clock.now(),
        lat=position.lat,
        lon=position.lon,
        speed_mps=position.speed_mps,
        bearing=position.bearing,
        accuracy_m=position.accuracy_m,
        attributes={"source": "officer_app"},
    )
    result = ingest.ingest([fix])
    if not result.accepted:
        item = result.items[0] if result.items else None
        message = (item.message if item else None) or "refused"
        raise InvalidInput(
            f"tracking refused the position: {message}",
            code="mobile.position_refused",
            problems=[FieldProblem((item.field if item else None) or "position", message)],
        )
    return PositionReported(device.id, fix.fix_at, fix.lat, fix.lon)
