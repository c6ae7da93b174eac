"""Tracking use cases: stations, units, officers, duty, status changes, devices and
emergencies. Position ingest lives in ``ingest.py``; the in-memory latest-position
index in ``index.py``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event
from bluelamp.tracking import queries
from bluelamp.tracking.model import (
    SKILL_CAPABILITIES,
    TRANSITIONS,
    TYPE_CAPABILITIES,
    Capability,
    Device,
    DeviceKind,
    Duty,
    Emergency,
    Officer,
    Skill,
    Station,
    StatusChange,
    Unit,
    UnitStatus,
    UnitType,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CALL_SIGN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")


def _problems_error(problems: list[FieldProblem]) -> InvalidInput:
    return InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)


def _force_of(actor: Actor, force_id: str | None) -> str:
    force = force_id or actor.force_id
    if force is None:
        raise InvalidInput("say which force", problems=[FieldProblem("force_id", "required")])
    if actor.force_id is not None and actor.force_id != force:
        raise NotFound(f"no force {force!r}")
    return force


# ---------------------------------------------------------------- stations


@dataclass(frozen=True)
class AddStation:
    code: str
    name: str
    lat: float
    lon: float
    address: str | None = None
    force_id: str | None = None


def add_station(session: Session, actor: Actor, command: AddStation, clock: Clock) -> Station:
    """Register a police station."""
    require(actor, Action.UNIT_MANAGE)
    force_id = _force_of(actor, command.force_id)
    problems = _coordinate_problems(command.lat, command.lon)
    code = command.code.strip().upper()
    if not code:
        problems.append(FieldProblem("code", "a station needs a short code"))
    if problems:
        raise _problems_error(problems)
    if queries.station_by_code(session, force_id, code) is not None:
        raise Conflict(f"station {code} already exists", code="station.exists")
    station = Station(
        id=clock.new_id(),
        force_id=force_id,
        code=code,
        name=command.name.strip(),
        lat=command.lat,
        lon=command.lon,
        address=command.address,
    )
    session.add(station)
    session.flush()
    audit.append(session, actor, Audit("station.create", record_type="station", record_id=station.id), clock)
    from bluelamp.tracking.geofences import STATION_RADIUS_M, AddGeofence, add_geofence, circle

    add_geofence(
        session,
        actor,
        AddGeofence(f"{station.name} station", "station", circle(station.lat, station.lon, STATION_RADIUS_M), force_id),
        clock,
    )
    return station


def _coordinate_problems(lat: float, lon: float) -> list[FieldProblem]:
    problems = []
    if not isinstance(lat, int | float) or lat != lat or not -90 <= lat <= 90:
        problems.append(FieldProblem("lat", "latitude must be a number from -90 to 90"))
    if not isinstance(lon, int | float) or lon != lon or not -180 <= lon <= 180:
        problems.append(FieldProblem("lon", "longitude must be a number from -180 to 180"))
    return problems


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class AddUnit:
    call_sign: str
    unit_type: str
    home_station: str | None = None  # station code
    extra_capabilities: tuple[str, ...] = ()
    status: str = UnitStatus.OFF_DUTY.value
    marking: str = Marking.OFFICIAL.value
    force_id: str | None = None


def add_unit(session: Session, actor: Actor, command: AddUnit, clock: Clock) -> Unit:
    """Register a unit under its call sign (unique within the force)."""
    require(actor, Action.UNIT_MANAGE)
    force_id = _force_of(actor, command.force_id)
    call_sign = command.call_sign.strip().upper()
    problems = []
    if not CALL_SIGN.match(call_sign):
        problems.append(FieldProblem("call_sign", "a call sign is 1-16 letters, digits or hyphens, e.g. SF21"))
    unit_type = _enum(UnitType, command.unit_type, "unit_type", problems)
    extras = [_enum(Capability, c, "extra_capabilities", problems) for c in command.extra_capabilities]
    status = _enum(UnitStatus, command.status, "status", problems)
    marking = _enum(Marking, command.marking, "marking", problems)
    station = None
    if command.home_station:
        station = queries.station_by_code(session, force_id, command.home_station.strip().upper())
        if station is None:
            problems.append(FieldProblem("home_station", f"no station {command.home_station!r}"))
    if problems:
        raise _problems_error(problems)
    if queries.unit_by_call_sign(session, force_id, call_sign) is not None:
        raise Conflict(f"unit {call_sign} already exists", code="unit.exists")
    now = clock.now()
    unit = Unit(
        id=clock.new_id(),
        force_id=force_id,
        marking=marking,
        call_sign=call_sign,
        unit_type=unit_type,
        home_station_id=station.id if station else None,
        extra_capabilities=sorted(set(extras)),
        status=status,
        status_changed_at=now,
        created_at=now,
    )
    if station is not None:
        unit.last_lat, unit.last_lon = station.lat, station.lon
    session.add(unit)
    session.flush()
    audit.append(
        session,
        actor,
        Audit("unit.create", record_type="unit", record_id=unit.id, detail={"call_sign": call_sign, "type": unit_type}),
        clock,
    )
    return unit


def _enum(kind, value: str, field_name: str, problems: list[FieldProblem]):
    try:
        return kind(value.strip() if isinstance(value, str) else value).value
    except ValueError:
        problems.append(FieldProblem(field_name, f"{value!r} is not one of {', '.join(k.value for k in kind)}"))
        return value


def get_unit(session: Session, actor: Actor, unit_id: str) -> Unit:
    """A unit the actor may see; another force's unit answers like a missing one."""
    require(actor, Action.UNIT_READ)
    unit = queries.visible_unit(session, actor, unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id!r}")
    return unit


def unit_by_call_sign(session: Session, actor: Actor, call_sign: str) -> Unit:
    require(actor, Action.UNIT_READ)
    unit = queries.unit_by_call_sign(session, actor.force_id, call_sign.strip().upper())
    if unit is None or not queries.is_visible_unit(session, actor, unit):
        raise NotFound(f"no unit {call_sign.strip().upper()!r}")
    return unit


def capabilities(unit: Unit, crew_skills: list[list[str]]) -> frozenset[Capability]:
    """What a unit can do: its vehicle's, its crew's skills', and any set by hand."""
    found = set(TYPE_CAPABILITIES.get(UnitType(unit.unit_type), frozenset()))
    found |= {Capability(c) for c in unit.extra_capabilities or []}
    for skills in crew_skills:
        for skill in skills:
            if skill in SKILL_CAPABILITIES:
                found.add(SKILL_CAPABILITIES[Skill(skill)])
    return frozenset(found)


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class StatusChanged:
    """What a status change did (for the bus and the caller)."""

    unit: Unit
    before: str
    after: str
    events: list[Event] = field(default_factory=list)


def change_status(
    session: Session,
    actor: Actor,
    unit_id: str,
    status: str,
    clock: Clock,
    *,
    reason: str | None = None,
    incident_id: str | None = None,
    force: bool = False,
) -> StatusChanged:
    """Move a unit along its lifecycle; an illegal change is refused listing the allowed ones.

    ``force`` skips the lifecycle check for command and control's own moves (e.g. a
    dispatcher releasing a unit), which are still recorded and audited.
    """
    require(actor, Action.UNIT_STATUS)
    unit = get_unit(session, actor, unit_id)
    problems: list[FieldProblem] = []
    target = _enum(UnitStatus, status, "status", problems)
    if problems:
        raise _problems_error(problems)
    before = unit.status
    if target == before:
        return StatusChanged(unit, before, target)
    allowed = TRANSITIONS[UnitStatus(before)]
    if not force and UnitStatus(target) not in allowed:
        raise Conflict(
            f"{unit.call_sign} cannot go from {before} to {target}; allowed: {', '.join(sorted(allowed))}",
            code="unit.illegal_status",
            extra={"allowed": sorted(allowed), "current": before},
        )
    now = clock.now()
    unit.status = target
    unit.status_changed_at = now
    if incident_id is not None:
        unit.current_incident_id = incident_id
    if target == UnitStatus.AVAILABLE:
        unit.current_incident_id = None
    session.add(
        StatusChange(
            force_id=unit.force_id,
            unit_id=unit.id,
            at=now,
            from_status=before,
            to_status=target,
            changed_by=actor.username,
            reason=reason,
            incident_id=incident_id,
        )
    )
    events = [
        Event(
            "UnitStatusChanged",
            unit.force_id,
            {
                "unit_id": unit.id,
                "call_sign": unit.call_sign,
                "from": before,
                "to": target,
                "at": now.isoformat(),
                "incident_id": unit.current_incident_id,
            },
        )
    ]
    if target == UnitStatus.EMERGENCY:
        emergency = raise_emergency(session, unit, clock, source="status", raised_by=actor.username)
        events.append(emergency_event(emergency, unit))
    audit.append(
        session,
        actor,
        Audit(
            "unit.status", record_type="unit", record_id=unit.id, detail={"from": before, "to": target}, reason=reason
        ),
        clock,
    )
    session.flush()
    return StatusChanged(unit, before, target, events)


def status_history(session: Session, actor: Actor, unit_id: str, limit: int = 50) -> list[StatusChange]:
    unit = get_unit(session, actor, unit_id)
    return queries.status_history(session, unit.id, limit)


# ---------------------------------------------------------------- officers and duty


@dataclass(frozen=True)
class AddOfficer:
    collar_number: str
    name: str
    rank: str = "PC"
    skills: tuple[str, ...] = ()
    station: str | None = None
    user_id: str | None = None
    force_id: str | None = None


def add_officer(session: Session, actor: Actor, command: AddOfficer, clock: Clock) -> Officer:
    require(actor, Action.UNIT_MANAGE)
    force_id = _force_of(actor, command.force_id)
    problems: list[FieldProblem] = []
    collar = command.collar_number.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{1,16}", collar):
        problems.append(FieldProblem("collar_number", "a collar number is 1-16 letters or digits"))
    if not command.name.strip():
        problems.append(FieldProblem("name", "an officer needs a name"))
    skills = sorted({_enum(Skill, s, "skills", problems) for s in command.skills})
    station = None
    if command.station:
        station = queries.station_by_code(session, force_id, command.station.strip().upper())
        if station is None:
            problems.append(FieldProblem("station", f"no station {command.station!r}"))
    if problems:
        raise _problems_error(problems)
    if queries.officer_by_collar(session, force_id, collar) is not None:
        raise Conflict(f"officer {collar} already exists", code="officer.exists")
    officer = Officer(
        id=clock.new_id(),
        force_id=force_id,
        collar_number=collar,
        name=command.name.strip(),
        rank=command.rank.strip() or "PC",
        skills=skills,
        user_id=command.user_id,
        station_id=station.id if station else None,
        created_at=clock.now(),
    )
    session.add(officer)
    session.flush()
    audit.append(session, actor, Audit("officer.create", record_type="officer", record_id=officer.id), clock)
    return officer


def book_on(
    session: Session,
    actor: Actor,
    unit_id: str,
    collar_numbers: list[str],
    starts_at: datetime,
    ends_at: datetime,
    clock: Clock,
) -> list[Duty]:
    """Crew a unit with officers for a shift (a duty each)."""
    require(actor, Action.UNIT_MANAGE)
    unit = get_unit(session, actor, unit_id)
    if ends_at <= starts_at:
        raise InvalidInput("a duty must end after it starts", problems=[FieldProblem("ends_at", "after starts_at")])
    duties = []
    for collar in collar_numbers:
        officer = queries.officer_by_collar(session, unit.force_id, collar.strip().upper())
        if officer is None:
            raise InvalidInput(
                f"no officer {collar!r}", problems=[FieldProblem("collar_numbers", f"no officer {collar}")]
            )
        clash = queries.overlapping_duty(session, officer.id, starts_at, ends_at)
        if clash is not None:
            raise Conflict(f"officer {officer.collar_number} is already on duty then", code="duty.overlap")
        duty = Duty(
            id=clock.new_id(),
            force_id=unit.force_id,
            officer_id=officer.id,
            unit_id=unit.id,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        session.add(duty)
        duties.append(duty)
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "unit.crew",
            record_type="unit",
            record_id=unit.id,
            detail={"officers": collar_numbers, "from": starts_at.isoformat(), "to": ends_at.isoformat()},
        ),
        clock,
    )
    return duties


# ---------------------------------------------------------------- devices


@dataclass(frozen=True)
class AddDevice:
    device_id: str
    kind: str = DeviceKind.PHONE.value
    unit_call_sign: str | None = None
    officer_collar: str | None = None
    secret: str | None = None
    force_id: str | None = None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_device(session: Session, actor: Actor, command: AddDevice, clock: Clock) -> Device:
    """Register a tracker for a unit or an officer; positions from unknown devices are refused."""
    require(actor, Action.UNIT_MANAGE)
    force_id = _force_of(actor, command.force_id)
    problems: list[FieldProblem] = []
    device_id = command.device_id.strip()
    if not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", device_id):
        problems.append(FieldProblem("device_id", "1-64 letters, digits, dots, colons, hyphens or underscores"))
    kind = _enum(DeviceKind, command.kind, "kind", problems)
    if bool(command.unit_call_sign) == bool(command.officer_collar):
        problems.append(FieldProblem("unit", "a device belongs to exactly one unit or one officer"))
    unit = officer = None
    if command.unit_call_sign:
        unit = queries.unit_by_call_sign(session, force_id, command.unit_call_sign.strip().upper())
        if unit is None:
            problems.append(FieldProblem("unit", f"no unit {command.unit_call_sign!r}"))
    if command.officer_collar:
        officer = queries.officer_by_collar(session, force_id, command.officer_collar.strip().upper())
        if officer is None:
            problems.append(FieldProblem("officer", f"no officer {command.officer_collar!r}"))
    if problems:
        raise _problems_error(problems)
    if session.get(Device, device_id) is not None:
        raise Conflict(f"device {device_id} is already registered", code="device.exists")
    device = Device(
        id=device_id,
        force_id=force_id,
        kind=kind,
        unit_id=unit.id if unit else None,
        officer_id=officer.id if officer else None,
        secret_hash=secret_hash(command.secret) if command.secret else None,
        created_at=clock.now(),
    )
    session.add(device)
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "device.create",
            record_type="device",
            record_id=device_id,
            detail={"unit": command.unit_call_sign, "officer": command.officer_collar},
        ),
        clock,
    )
    return device


# ---------------------------------------------------------------- emergencies


def raise_emergency(
    session: Session,
    unit: Unit | None,
    clock: Clock,
    *,
    source: str,
    raised_by: str,
    officer_id: str | None = None,
    device_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    force_id: str | None = None,
) -> Emergency:
    """Record an emergency (an open one for the same unit is reused, not duplicated)."""
    force = unit.force_id if unit is not None else force_id
    if unit is not None:
        existing = queries.open_emergency_for_unit(session, unit.id)
        if existing is not None:
            return existing
        if unit.status != UnitStatus.EMERGENCY:
            session.add(
                StatusChange(
                    force_id=unit.force_id,
                    unit_id=unit.id,
                    at=clock.now(),
                    from_status=unit.status,
                    to_status=UnitStatus.EMERGENCY.value,
                    changed_by=raised_by,
                    reason=source,
                )
            )
            unit.status = UnitStatus.EMERGENCY.value
            unit.status_changed_at = clock.now()
    emergency = Emergency(
        id=clock.new_id(),
        force_id=force,
        unit_id=unit.id if unit else None,
        officer_id=officer_id,
        device_id=device_id,
        source=source,
        raised_at=clock.now(),
        lat=lat if lat is not None else (unit.last_lat if unit else None),
        lon=lon if lon is not None else (unit.last_lon if unit else None),
    )
    session.add(emergency)
    session.flush()
    return emergency


def emergency_event(emergency: Emergency, unit: Unit | None) -> Event:
    return Event(
        "EmergencyRaised",
        emergency.force_id,
        {
            "emergency_id": emergency.id,
            "unit_id": emergency.unit_id,
            "call_sign": unit.call_sign if unit else None,
            "lat": emergency.lat,
            "lon": emergency.lon,
            "raised_at": emergency.raised_at.isoformat(),
            "source": emergency.source,
        },
    )


def acknowledge_emergency(
    session: Session, actor: Actor, emergency_id: str, clock: Clock, note: str | None = None
) -> tuple[Emergency, Event]:
    """A dispatcher acknowledges an emergency: it leaves the top of the screens; audited."""
    require(actor, Action.EMERGENCY_ACKNOWLEDGE)
    emergency = queries.visible_emergency(session, actor, emergency_id)
    if emergency is None:
        raise NotFound(f"no emergency {emergency_id!r}")
    if emergency.acknowledged_at is not None:
        raise Conflict(f"emergency already acknowledged by {emergency.acknowledged_by}", code="emergency.acknowledged")
    emergency.acknowledged_at = clock.now()
    emergency.acknowledged_by = actor.username
    emergency.note = note
    audit.append(
        session,
        actor,
        Audit(
            "emergency.acknowledge",
            record_type="emergency",
            record_id=emergency.id,
            detail={"unit_id": emergency.unit_id},
            reason=note,
        ),
        clock,
    )
    event = Event(
        "EmergencyAcknowledged",
        emergency.force_id,
        {
            "emergency_id": emergency.id,
            "unit_id": emergency.unit_id,
            "by": actor.username,
            "at": emergency.acknowledged_at.isoformat(),
        },
    )
    return emergency, event


# ---------------------------------------------------------------- resources screens


def list_stations(session: Session, actor: Actor) -> list[Station]:
    """The stations of the actor's force, by name (drawn on the resources map)."""
    require(actor, Action.UNIT_READ)
    return queries.stations(session, actor.force_id) if actor.force_id else []


def list_geofences(session: Session, actor: Actor) -> list:
    """The geofences of the actor's force, by name (their outlines on the resources map)."""
    require(actor, Action.UNIT_READ)
    return queries.geofences(session, actor.force_id) if actor.force_id else []


def unit_crew(session: Session, actor: Actor, unit_id: str, clock: Clock) -> list[Officer]:
    """The officers crewing a unit now, by collar number."""
    unit = get_unit(session, actor, unit_id)
    return queries.crew(session, unit.id, clock.now())
