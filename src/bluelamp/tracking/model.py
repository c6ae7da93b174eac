"""Tracking entities, enums and tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.access.model import Marked
from bluelamp.storage.base import Base, JSONType, UTCDateTime


class UnitType(StrEnum):
    """Kinds of unit a force deploys."""

    RESPONSE_CAR = "response_car"
    ARMED_RESPONSE_VEHICLE = "armed_response_vehicle"
    DOG_VAN = "dog_van"
    ROADS_POLICING_CAR = "roads_policing_car"
    VAN = "van"
    MOTORCYCLE = "motorcycle"
    FOOT_PATROL = "foot_patrol"
    CYCLE_PATROL = "cycle_patrol"
    UNMARKED_CAR = "unmarked_car"
    PUBLIC_ORDER_CARRIER = "public_order_carrier"


class Capability(StrEnum):
    """What a unit can do, from its vehicle and its crew's skills."""

    FIREARMS = "firearms"
    TASER = "taser"
    DOG = "dog"
    ROADS_POLICING = "roads_policing"
    PUBLIC_ORDER = "public_order"
    FIRST_AID = "first_aid"
    ADVANCED_DRIVER = "advanced_driver"
    INVESTIGATOR = "investigator"
    PRISONER_TRANSPORT = "prisoner_transport"


class Skill(StrEnum):
    """An officer's qualifications."""

    TASER = "taser"
    FIREARMS = "firearms"
    ADVANCED_DRIVER = "advanced_driver"
    RESPONSE_DRIVER = "response_driver"
    FIRST_AID = "first_aid"
    PUBLIC_ORDER = "public_order"
    DOG_HANDLER = "dog_handler"
    DETECTIVE = "detective"
    ROADS_POLICING = "roads_policing"
    MOTORCYCLIST = "motorcyclist"


# What a vehicle brings, whoever crews it.
TYPE_CAPABILITIES: dict[UnitType, frozenset[Capability]] = {
    UnitType.RESPONSE_CAR: frozenset(),
    UnitType.ARMED_RESPONSE_VEHICLE: frozenset({Capability.FIREARMS}),
    UnitType.DOG_VAN: frozenset({Capability.DOG}),
    UnitType.ROADS_POLICING_CAR: frozenset({Capability.ROADS_POLICING}),
    UnitType.VAN: frozenset({Capability.PRISONER_TRANSPORT}),
    UnitType.MOTORCYCLE: frozenset({Capability.ROADS_POLICING}),
    UnitType.FOOT_PATROL: frozenset(),
    UnitType.CYCLE_PATROL: frozenset(),
    UnitType.UNMARKED_CAR: frozenset(),
    UnitType.PUBLIC_ORDER_CARRIER: frozenset({Capability.PUBLIC_ORDER, Capability.PRISONER_TRANSPORT}),
}

# What an officer's skill adds to the unit they crew.
SKILL_CAPABILITIES: dict[Skill, Capability] = {
    Skill.TASER: Capability.TASER,
    Skill.FIREARMS: Capability.FIREARMS,
    Skill.ADVANCED_DRIVER: Capability.ADVANCED_DRIVER,
    Skill.FIRST_AID: Capability.FIRST_AID,
    Skill.PUBLIC_ORDER: Capability.PUBLIC_ORDER,
    Skill.DOG_HANDLER: Capability.DOG,
    Skill.DETECTIVE: Capability.INVESTIGATOR,
    Skill.ROADS_POLICING: Capability.ROADS_POLICING,
}


class UnitStatus(StrEnum):
    """A unit's state (DOMAIN.md "Command and control": the status lifecycle)."""

    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    AT_SCENE = "at_scene"
    BUSY = "busy"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    REFRESHMENTS = "refreshments"
    OFF_DUTY = "off_duty"
    EMERGENCY = "emergency"


S = UnitStatus
# The lifecycle: which status may follow which. EMERGENCY may be entered from any
# status (the officer pressed the button) and is left only by acknowledgement.
TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    S.AVAILABLE: frozenset({S.ASSIGNED, S.EN_ROUTE, S.BUSY, S.REFRESHMENTS, S.OFF_DUTY}),
    S.ASSIGNED: frozenset({S.EN_ROUTE, S.AVAILABLE, S.AT_SCENE}),
    S.EN_ROUTE: frozenset({S.AT_SCENE, S.AVAILABLE, S.ASSIGNED}),
    S.AT_SCENE: frozenset({S.BUSY, S.TRANSPORTING, S.AT_HOSPITAL, S.AVAILABLE}),
    S.BUSY: frozenset({S.AVAILABLE, S.TRANSPORTING, S.AT_HOSPITAL, S.AT_SCENE}),
    S.TRANSPORTING: frozenset({S.BUSY, S.AT_HOSPITAL, S.AVAILABLE}),
    S.AT_HOSPITAL: frozenset({S.BUSY, S.TRANSPORTING, S.AVAILABLE}),
    S.REFRESHMENTS: frozenset({S.AVAILABLE, S.ASSIGNED, S.OFF_DUTY}),
    S.OFF_DUTY: frozenset({S.AVAILABLE}),
    S.EMERGENCY: frozenset({S.AVAILABLE, S.BUSY, S.AT_SCENE, S.AT_HOSPITAL}),
}
for _status in TRANSITIONS:
    if _status is not S.EMERGENCY:
        TRANSITIONS[_status] = TRANSITIONS[_status] | {S.EMERGENCY}

# Statuses in which a unit can be sent to a new incident without diverting it.
DEPLOYABLE = frozenset({S.AVAILABLE, S.REFRESHMENTS})
# Statuses in which a unit is committed to an incident (diverting needs a reason).
COMMITTED = frozenset({S.ASSIGNED, S.EN_ROUTE, S.AT_SCENE, S.BUSY, S.TRANSPORTING, S.AT_HOSPITAL})


class DeviceKind(StrEnum):
    PHONE = "phone"
    VEHICLE_TRACKER = "vehicle_tracker"
    RADIO = "radio"


class Station(Base):
    """A police station: a unit's home, and a geofence."""

    __tablename__ = "tracking_station"
    __table_args__ = (UniqueConstraint("force_id", "code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))


class Unit(Marked, Base):
    """A deployable resource with a call sign: a vehicle or a foot patrol."""

    __tablename__ = "tracking_unit"
    __table_args__ = (UniqueConstraint("force_id", "call_sign"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(16))
    unit_type: Mapped[str] = mapped_column(String(32))
    home_station_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_station.id"))
    extra_capabilities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default=UnitStatus.OFF_DUTY.value)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_incident_id: Mapped[str | None] = mapped_column(String(32))
    last_fix_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_speed_mps: Mapped[float | None] = mapped_column(Float)
    last_bearing: Mapped[float | None] = mapped_column(Float)
    last_accuracy_m: Mapped[float | None] = mapped_column(Float)
    last_battery: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Officer(Marked, Base):
    """A police officer (or PCSO) with a collar number and skills."""

    __tablename__ = "tracking_officer"
    __table_args__ = (UniqueConstraint("force_id", "collar_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    collar_number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    rank: Mapped[str] = mapped_column(String(40))
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("access_user.id"), unique=True)
    station_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_station.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Duty(Base):
    """An officer crewing a unit from one time to another."""

    __tablename__ = "tracking_duty"
    __table_args__ = (
        Index("ix_tracking_duty_unit_times", "unit_id", "starts_at", "ends_at"),
        Index("ix_tracking_duty_officer_times", "officer_id", "starts_at", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    officer_id: Mapped[str] = mapped_column(ForeignKey("tracking_officer.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("tracking_unit.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusChange(Base):
    """One change of a unit's status: when, who, from what to what, and why."""

    __tablename__ = "tracking_status_change"
    __table_args__ = (Index("ix_tracking_status_change_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("tracking_unit.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(300))
    incident_id: Mapped[str | None] = mapped_column(String(32))


class Device(Base):
    """A phone, vehicle tracker or radio that reports positions for a unit or an officer."""

    __tablename__ = "tracking_device"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the tracker's own identifier
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_unit.id"), index=True)
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_officer.id"), index=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnknownDevice(Base):
    """A device id that sent positions but is not registered: refused and counted."""

    __tablename__ = "tracking_unknown_device"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_ip: Mapped[str | None] = mapped_column(String(64))


class Position(Base):
    """One fix in a unit's trail. Written in batches; kept for the retention period."""

    __tablename__ = "tracking_position"
    __table_args__ = (Index("ix_tracking_position_unit_fix", "unit_id", "fix_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(32))
    officer_id: Mapped[str | None] = mapped_column(String(32))
    fix_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    bearing: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
    alarm: Mapped[str | None] = mapped_column(String(20))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class GeofenceKind(StrEnum):
    STATION = "station"
    SECTOR = "sector"
    AREA = "area"


class Geofence(Base):
    """A polygon (GeoJSON) whose crossings raise enter and leave events."""

    __tablename__ = "tracking_geofence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    geojson: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GeofenceEvent(Base):
    """A unit entering or leaving a geofence."""

    __tablename__ = "tracking_geofence_event"
    __table_args__ = (Index("ix_tracking_geofence_event_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    geofence_id: Mapped[str] = mapped_column(ForeignKey("tracking_geofence.id"))
    unit_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(8))  # enter | leave
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Emergency(Base):
    """An officer's emergency: on top of every screen until a dispatcher acknowledges it."""

    __tablename__ = "tracking_emergency"
    __table_args__ = (Index("ix_tracking_emergency_open", "force_id", "acknowledged_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_unit.id"))
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("tracking_officer.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # device_alarm | status | app
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(300))
