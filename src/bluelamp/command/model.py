"""Command and control tables: incidents, the calls that report them, THRIVE
assessments, unit assignments, the append-only incident log, tasks (call-backs and
re-assessments), downgrade requests and grade 3 appointments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.access.model import Marked
from bluelamp.storage.base import Base, JSONType, UTCDateTime


class Source(StrEnum):
    """How an incident reached the force."""

    EMERGENCY_999 = "999"
    NON_EMERGENCY_101 = "101"
    ONLINE = "online"
    OFFICER = "officer"
    ALARM = "alarm"
    TRANSFER = "transfer"  # from another force or agency (EIDO)


class IncidentStatus(StrEnum):
    """Where an incident is, from call to close.

    open: awaiting a unit (the queue); dispatched: a unit assigned or en route;
    at_scene: a unit has arrived; scheduled: a grade 3 appointment is booked;
    resolved: dealt with without deployment (grade 4), awaiting closure; closed;
    merged: a duplicate folded into another incident (reversible)."""

    OPEN = "open"
    DISPATCHED = "dispatched"
    AT_SCENE = "at_scene"
    SCHEDULED = "scheduled"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"


ACTIVE_STATUSES = frozenset(
    {IncidentStatus.OPEN, IncidentStatus.DISPATCHED, IncidentStatus.AT_SCENE, IncidentStatus.SCHEDULED}
)


class Grade(StrEnum):
    IMMEDIATE = "1"
    PRIORITY = "2"
    SCHEDULED = "3"
    RESOLUTION_WITHOUT_DEPLOYMENT = "4"


class AreaKind(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class TaskKind(StrEnum):
    CALL_BACK = "call_back"  # tell the caller attendance changed
    REASSESSMENT = "reassessment"  # a target is about to be missed with no unit en route
    DOWNGRADE_APPROVAL = "downgrade_approval"  # a supervisor must approve or refuse
    BACKUP = "backup"  # an officer at the incident asked for more units (the officer app)


class LogKind(StrEnum):
    """Kinds of incident log entry; every change writes one."""

    CREATED = "created"
    CALL_ATTACHED = "call_attached"
    ASSESSED = "assessed"  # THRIVE and grade (first or re-assessment)
    DOWNGRADE_REQUESTED = "downgrade_requested"
    DOWNGRADE_DECIDED = "downgrade_decided"
    LOCATION_CHANGED = "location_changed"
    DETAILS_CHANGED = "details_changed"
    STATUS = "status"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    ARRIVED = "arrived"
    RELEASED = "released"
    DIVERTED = "diverted"
    REQUEUED = "requeued"
    TARGET = "target"  # target set or re-evaluated
    REASSESSMENT_DUE = "reassessment_due"
    BREACH = "breach"
    TASK_CREATED = "task_created"
    TASK_CLOSED = "task_closed"
    APPOINTMENT = "appointment"
    LINKED = "linked"
    UNLINKED = "unlinked"
    MERGED = "merged"
    UNMERGED = "unmerged"
    CLOSED = "closed"
    REOPENED = "reopened"
    NOTE = "note"
    CORRECTION = "correction"
    EIDO_IMPORTED = "eido_imported"
    EIDO_EXPORTED = "eido_exported"


class Incident(Marked, Base):
    """Anything the force must deal with: from a call, an online report, an officer or an alarm."""

    __tablename__ = "command_incident"
    __table_args__ = (
        UniqueConstraint("force_id", "reference"),
        UniqueConstraint("force_id", "idempotency_key"),
        Index("ix_command_incident_force_status", "force_id", "status"),
        Index("ix_command_incident_force_created", "force_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))  # SP-20261128-0042
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))
    opening_category: Mapped[str] = mapped_column(String(40))
    qualifiers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    outside_area_reason: Mapped[str | None] = mapped_column(String(300))
    area_kind: Mapped[str] = mapped_column(String(8))  # urban | rural
    grade: Mapped[str] = mapped_column(String(2))
    assessment_id: Mapped[str | None] = mapped_column(String(32))  # the current THRIVE assessment
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    # The attendance target: the clock starts at creation; None for grade 4.
    target_minutes: Mapped[int | None] = mapped_column(Integer)
    target_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reassess_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_cause: Mapped[str | None] = mapped_column(String(300))
    appointment_id: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("command_incident.id"), index=True)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("command_incident.id"), index=True)
    closing_category: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(Text)
    crime_reference: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Received from another force or agency (EIDO import): their incident id.
    external_id: Mapped[str | None] = mapped_column(String(200))


class Call(Base):
    """One call (or report) about an incident: it stays its own record when attached to
    an existing incident, so the incident gains a caller."""

    __tablename__ = "command_call"
    __table_args__ = (
        UniqueConstraint("force_id", "idempotency_key"),
        Index("ix_command_call_incident", "incident_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    caller_phone: Mapped[str | None] = mapped_column(String(40))
    callback_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    account: Mapped[str] = mapped_column(Text, default="")  # what the caller said
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    handled_by: Mapped[str] = mapped_column(String(120))


class Assessment(Base):
    """A THRIVE assessment and the grade it gave; re-assessments add rows, none is edited."""

    __tablename__ = "command_assessment"
    __table_args__ = (Index("ix_command_assessment_incident", "incident_id", "at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(120))
    grade: Mapped[str] = mapped_column(String(2))
    threat: Mapped[str] = mapped_column(Text)
    harm: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(Text)
    investigation: Mapped[str] = mapped_column(Text)
    vulnerability: Mapped[str] = mapped_column(Text)
    engagement: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why re-assessed


class Assignment(Base):
    """A unit sent to an incident: assigned, acknowledged (en route), arrived, released."""

    __tablename__ = "command_assignment"
    __table_args__ = (
        Index("ix_command_assignment_incident", "incident_id", "assigned_at"),
        Index("ix_command_assignment_unit_open", "unit_id", "released_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("tracking_unit.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(120))
    recommended_rank: Mapped[int | None] = mapped_column(Integer)  # None: the dispatcher's own choice
    override_reason: Mapped[str | None] = mapped_column(String(300))
    eta_seconds: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(120))
    release_reason: Mapped[str | None] = mapped_column(String(300))
    diverted_to_incident_id: Mapped[str | None] = mapped_column(String(32))


class LogEntry(Base):
    """One append-only, timestamped entry of an incident's log. Never updated or deleted;
    a correction is a new entry pointing at the one it corrects."""

    __tablename__ = "command_log"
    __table_args__ = (Index("ix_command_log_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("command_log.id"))


class Task(Base):
    """Something a person must do and close: call a caller back, re-assess, approve a downgrade."""

    __tablename__ = "command_task"
    __table_args__ = (
        Index("ix_command_task_open", "force_id", "closed_at", "due_at"),
        Index("ix_command_task_incident", "incident_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    kind: Mapped[str] = mapped_column(String(24))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("command_call.id"))  # the caller to call back
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(Text)


class DowngradeRequest(Base):
    """A request to lower an incident's grade: it needs a reason and a supervisor's decision."""

    __tablename__ = "command_downgrade"
    __table_args__ = (Index("ix_command_downgrade_incident", "incident_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    from_grade: Mapped[str] = mapped_column(String(2))
    to_grade: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the THRIVE proposed with it
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Appointment(Base):
    """A grade 3 appointment slot booked with the caller."""

    __tablename__ = "command_appointment"
    __table_args__ = (Index("ix_command_appointment_slot", "force_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    incident_id: Mapped[str] = mapped_column(ForeignKey("command_incident.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_by: Mapped[str] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))


class ReferenceCounter(Base):
    """The next incident sequence number for a force and a (local) day."""

    __tablename__ = "command_reference_counter"

    force_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, Europe/London
    last: Mapped[int] = mapped_column(Integer, default=0)
