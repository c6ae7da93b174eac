"""My work's read side: who the signed-in officer is and what they crew now, their phone,
and what their assignment needs looked up in command and control and records. Every
lookup of an incident or a record is scoped in SQL (``access.queries.visible``): what the
officer may not see is simply not found."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.command.model import Incident, IncidentStatus
from bluelamp.records.model import Event, Link, Person
from bluelamp.tracking.model import Device, DeviceKind, Duty, Officer, Unit

# ---------------------------------------------------------------- the officer on duty


def officer_of_user(session: Session, user_id: str, force_id: str | None) -> Officer | None:
    """The officer record of a signed-in user in their force, if they are an officer."""
    if force_id is None:
        return None
    return session.scalars(
        select(Officer).where(Officer.user_id == user_id, Officer.force_id == force_id)
    ).one_or_none()


def current_duty(session: Session, officer_id: str, at: datetime) -> tuple[Duty, Unit] | None:
    """The duty the officer is on at a moment and the unit (in service) it crews; the one
    that started last when duties overlap."""
    row = session.execute(
        select(Duty, Unit)
        .join(Unit, Unit.id == Duty.unit_id)
        .where(Duty.officer_id == officer_id, Duty.starts_at <= at, Duty.ends_at > at, Unit.retired_at.is_(None))
        .order_by(Duty.starts_at.desc(), Duty.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def phone_of_officer(session: Session, officer_id: str) -> Device | None:
    """The officer's enabled phone (the first registered, when there are several)."""
    return session.scalars(
        select(Device)
        .where(Device.officer_id == officer_id, Device.kind == DeviceKind.PHONE.value, Device.disabled_at.is_(None))
        .order_by(Device.created_at, Device.id)
        .limit(1)
    ).first()


# ---------------------------------------------------------------- the assignment's surroundings


def records_events_of_incident(session: Session, actor: Actor, incident_id: str, kinds: Iterable[str]) -> list[Event]:
    """The records events (the incident's own record, crimes recorded from it) that name a
    command-and-control incident, that the actor may see and read."""
    kinds = list(kinds)
    if not kinds:
        return []
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.incident_id == incident_id,
                Event.disposed_at.is_(None),
                Event.kind.in_(kinds),
                visible(actor, Event),
            )
            .order_by(Event.reported_at, Event.id)
        )
    )


def events_at_locations(
    session: Session, actor: Actor, location_ids: list[str], kinds: Iterable[str], since: datetime, limit: int
) -> list[Event]:
    """Events at any of the locations since a moment (when they happened, else when
    reported) that the actor may see and read, newest first."""
    kinds = list(kinds)
    if not location_ids or not kinds:
        return []
    when = func.coalesce(Event.occurred_from, Event.reported_at)
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.location_id.in_(location_ids),
                Event.disposed_at.is_(None),
                Event.kind.in_(kinds),
                when >= since,
                visible(actor, Event),
            )
            .order_by(when.desc(), Event.id)
            .limit(limit)
        )
    )


def persons_linked_to_events(session: Session, actor: Actor, event_ids: list[str]) -> list[tuple[Link, Person]]:
    """(link, person) for every person linked to any of the events (person -role-> event)
    whom the actor may see (not disposed, not merged into another), in one query."""
    if not event_ids:
        return []
    rows = session.execute(
        select(Link, Person)
        .join(Person, and_(Link.from_type == "person", Link.from_id == Person.id))
        .where(
            Link.force_id == actor.force_id,
            Link.to_type == "event",
            Link.to_id.in_(event_ids),
            Person.disposed_at.is_(None),
            Person.merged_into_id.is_(None),
            visible(actor, Person),
        )
        .order_by(Link.created_at, Link.id)
    ).all()
    return [(link, person) for link, person in rows]


def incidents_in_box(
    session: Session,
    actor: Actor,
    south: float,
    north: float,
    west: float,
    east: float,
    since: datetime,
    *,
    exclude_id: str,
    limit: int,
) -> list[Incident]:
    """Incidents of any status but merged (a merged duplicate is its survivor's) created
    since a moment inside a latitude/longitude box, that the actor may see, newest first
    (the exact distance is cut by the caller)."""
    return list(
        session.scalars(
            select(Incident)
            .where(
                visible(actor, Incident),
                Incident.id != exclude_id,
                Incident.status != IncidentStatus.MERGED.value,
                Incident.created_at >= since,
                Incident.lat.between(south, north),
                Incident.lon.between(west, east),
            )
            .order_by(Incident.created_at.desc(), Incident.id)
            .limit(limit)
        )
    )
