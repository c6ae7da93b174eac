"""Tracking read side: lookups, unit lists, status history, emergencies, trails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.tracking.model import (
    Device,
    Duty,
    Emergency,
    Geofence,
    GeofenceEvent,
    Officer,
    Position,
    Station,
    StatusChange,
    Unit,
)


def station_by_code(session: Session, force_id: str, code: str) -> Station | None:
    return session.scalars(select(Station).where(Station.force_id == force_id, Station.code == code)).one_or_none()


def stations(session: Session, force_id: str) -> list[Station]:
    return list(session.scalars(select(Station).where(Station.force_id == force_id).order_by(Station.name)))


def unit_by_call_sign(session: Session, force_id: str | None, call_sign: str) -> Unit | None:
    if force_id is None:
        return None
    return session.scalars(select(Unit).where(Unit.force_id == force_id, Unit.call_sign == call_sign)).one_or_none()


def visible_unit(session: Session, actor: Actor, unit_id: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.id == unit_id, visible(actor, Unit))).one_or_none()


def is_visible_unit(session: Session, actor: Actor, unit: Unit) -> bool:
    return visible_unit(session, actor, unit.id) is not None


def list_units(
    session: Session, actor: Actor, *, status: str | None = None, unit_type: str | None = None, limit: int = 1000
) -> list[Unit]:
    """The units the actor may see, by call sign."""
    statement = select(Unit).where(visible(actor, Unit), Unit.retired_at.is_(None))
    if status:
        statement = statement.where(Unit.status == status)
    if unit_type:
        statement = statement.where(Unit.unit_type == unit_type)
    return list(session.scalars(statement.order_by(Unit.call_sign).limit(limit)))


def officer_by_collar(session: Session, force_id: str, collar: str) -> Officer | None:
    return session.scalars(
        select(Officer).where(Officer.force_id == force_id, Officer.collar_number == collar)
    ).one_or_none()


def overlapping_duty(session: Session, officer_id: str, starts_at: datetime, ends_at: datetime) -> Duty | None:
    return session.scalars(
        select(Duty).where(Duty.officer_id == officer_id, Duty.starts_at < ends_at, Duty.ends_at > starts_at).limit(1)
    ).first()


def crew_skills(session: Session, unit_ids: list[str] | None, at: datetime) -> dict[str, list[list[str]]]:
    """For each unit, the skill lists of the officers crewing it at a moment (one query).
    ``unit_ids=None``: every unit with a crew (no id list: fine for 150,000 units)."""
    statement = (
        select(Duty.unit_id, Officer.skills)
        .join(Officer, Officer.id == Duty.officer_id)
        .where(Duty.starts_at <= at, Duty.ends_at > at)
    )
    if unit_ids is not None:
        statement = statement.where(Duty.unit_id.in_(unit_ids))
    found: dict[str, list[list[str]]] = {unit_id: [] for unit_id in unit_ids or []}
    for unit_id, skills in session.execute(statement).all():
        found.setdefault(unit_id, []).append(list(skills or []))
    return found


def crew(session: Session, unit_id: str, at: datetime) -> list[Officer]:
    return list(
        session.scalars(
            select(Officer)
            .join(Duty, Duty.officer_id == Officer.id)
            .where(Duty.unit_id == unit_id, Duty.starts_at <= at, Duty.ends_at > at)
            .order_by(Officer.collar_number)
        )
    )


def status_history(session: Session, unit_id: str, limit: int) -> list[StatusChange]:
    return list(
        session.scalars(
            select(StatusChange).where(StatusChange.unit_id == unit_id).order_by(StatusChange.id.desc()).limit(limit)
        )
    )


def open_emergency_for_unit(session: Session, unit_id: str) -> Emergency | None:
    return session.scalars(
        select(Emergency).where(Emergency.unit_id == unit_id, Emergency.acknowledged_at.is_(None)).limit(1)
    ).first()


def open_emergencies(session: Session, actor: Actor) -> list[Emergency]:
    """Unacknowledged emergencies of the actor's force, oldest first (they go on top of screens)."""
    return list(
        session.scalars(
            select(Emergency)
            .where(Emergency.force_id == actor.force_id, Emergency.acknowledged_at.is_(None))
            .order_by(Emergency.raised_at)
        )
    )


def visible_emergency(session: Session, actor: Actor, emergency_id: str) -> Emergency | None:
    return session.scalars(
        select(Emergency).where(Emergency.id == emergency_id, Emergency.force_id == actor.force_id)
    ).one_or_none()


def devices(session: Session) -> list[Device]:
    """Every enabled device (for the ingest's in-memory device table)."""
    return list(session.scalars(select(Device).where(Device.disabled_at.is_(None))))


def trail(session: Session, unit_id: str, since: datetime, until: datetime, limit: int = 20000) -> list[Position]:
    return list(
        session.scalars(
            select(Position)
            .where(and_(Position.unit_id == unit_id, Position.fix_at >= since, Position.fix_at <= until))
            .order_by(Position.fix_at)
            .limit(limit)
        )
    )


def all_units(session: Session) -> list[Unit]:
    """Every unit in service, of every force (to build the in-memory index)."""
    return list(session.scalars(select(Unit).where(Unit.retired_at.is_(None))))


def unit_by_id(session: Session, unit_id: str) -> Unit | None:
    return session.get(Unit, unit_id)


def geofences(session: Session, force_id: str | None = None) -> list[Geofence]:
    statement = select(Geofence).order_by(Geofence.name)
    if force_id is not None:
        statement = statement.where(Geofence.force_id == force_id)
    return list(session.scalars(statement))


def geofence_events(session: Session, unit_id: str, limit: int = 50) -> list[GeofenceEvent]:
    return list(
        session.scalars(
            select(GeofenceEvent).where(GeofenceEvent.unit_id == unit_id).order_by(GeofenceEvent.id.desc()).limit(limit)
        )
    )
