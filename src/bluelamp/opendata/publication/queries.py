"""What the publication reads: the force's addresses and record locations, its crimes,
outcomes, stops and searches and anti-social behaviour incidents of a month, and what an
earlier publication left in the open-data tables.

These reads are of the force's own records, by the platform on the force's behalf, to
build anonymised public data: they are not scoped to what one person may see (a force
publishes all its crimes), and they read no names, references, narratives or officers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.orm import Session

from bluelamp.access.model import Force
from bluelamp.command.model import Incident, IncidentStatus
from bluelamp.opendata.model import Month, Origin, Outcome, Point, Stop, StreetCrime
from bluelamp.records.model import Crime, Event, Location, StopSearch


def force(session: Session, force_id: str) -> Force | None:
    return session.get(Force, force_id)


class AddressRow(NamedTuple):
    line1: str
    line2: str
    town: str
    postcode: str
    lat: float
    lon: float
    uprn: str | None


def addresses(session: Session, force_id: str) -> list[AddressRow]:
    """The force's address base: its locations with a point and an address (a first line
    or a postcode). A bare point (where a stop and search happened) is not an address."""
    rows = session.execute(
        select(
            Location.line1, Location.line2, Location.town, Location.postcode, Location.lat, Location.lon, Location.uprn
        ).where(
            Location.force_id == force_id,
            Location.lat.is_not(None),
            Location.lon.is_not(None),
            or_(Location.line1 != "", Location.postcode != ""),
        )
    )
    return [AddressRow(*row) for row in rows]


def located_places(session: Session, force_id: str) -> list[tuple[float, float]]:
    """Every point the force's location records hold (addresses and bare points alike)."""
    rows = session.execute(
        select(Location.lat, Location.lon)
        .where(Location.force_id == force_id, Location.lat.is_not(None), Location.lon.is_not(None))
        .distinct()
    )
    return [(lat, lon) for lat, lon in rows]


class CrimeRow(NamedTuple):
    event_id: str
    category: str  # the data.police.uk slug
    recorded_at: datetime
    outcome_code: str | None
    outcome_at: datetime | None
    lat: float | None
    lon: float | None


def _crimes():
    return (
        select(
            Crime.event_id,
            Crime.police_uk_category,
            Crime.recorded_at,
            Crime.outcome_code,
            Crime.outcome_at,
            Location.lat,
            Location.lon,
        )
        .join(Event, Event.id == Crime.event_id)
        .outerjoin(Location, Location.id == Event.location_id)
    )


def crimes_recorded(session: Session, force_id: str, start: datetime, end: datetime) -> list[CrimeRow]:
    """The force's crimes recorded in [start, end) (disposed ones are no longer held)."""
    query = _crimes().where(
        Crime.force_id == force_id,
        Crime.recorded_at >= start,
        Crime.recorded_at < end,
        Event.disposed_at.is_(None),
    )
    return [CrimeRow(*row) for row in session.execute(query.order_by(Crime.recorded_at, Crime.event_id))]


def crimes_with_outcome(session: Session, force_id: str, start: datetime, end: datetime) -> list[CrimeRow]:
    """The force's crimes whose (latest) outcome was set in [start, end)."""
    query = _crimes().where(
        Crime.force_id == force_id,
        Crime.outcome_code.is_not(None),
        Crime.outcome_at >= start,
        Crime.outcome_at < end,
        Event.disposed_at.is_(None),
    )
    return [CrimeRow(*row) for row in session.execute(query.order_by(Crime.outcome_at, Crime.event_id))]


class StopRow(NamedTuple):
    occurred_at: datetime
    type: str
    operation_name: str | None
    gender: str | None
    age_range: str | None
    self_defined_ethnicity: str | None
    officer_defined_ethnicity: str | None
    legislation: str
    object_of_search: str
    outcome: str
    outcome_linked: bool | None
    removal_of_outer_clothing: bool | None
    lat: float | None
    lon: float | None


def stops(session: Session, force_id: str, start: datetime, end: datetime) -> list[StopRow]:
    """The force's stops and searches that took place in [start, end)."""
    query = (
        select(
            Event.occurred_from,
            StopSearch.type,
            StopSearch.operation_name,
            StopSearch.gender,
            StopSearch.age_range,
            StopSearch.self_defined_ethnicity,
            StopSearch.officer_defined_ethnicity,
            StopSearch.legislation,
            StopSearch.object_of_search,
            StopSearch.outcome,
            StopSearch.outcome_linked,
            StopSearch.removal_of_outer_clothing,
            Location.lat,
            Location.lon,
        )
        .join(Event, Event.id == StopSearch.event_id)
        .outerjoin(Location, Location.id == Event.location_id)
        .where(
            StopSearch.force_id == force_id,
            Event.occurred_from >= start,
            Event.occurred_from < end,
            Event.disposed_at.is_(None),
        )
        .order_by(Event.occurred_from, Event.id)
    )
    return [StopRow(*row) for row in session.execute(query)]


def asb_incidents(
    session: Session,
    force_id: str,
    categories: Iterable[str],
    excluded_results: Iterable[str],
    start: datetime,
    end: datetime,
) -> list[tuple[float, float]]:
    """Where the force's closed anti-social behaviour incidents created in [start, end)
    happened: closed in (or, with no closing category, opened in) one of ``categories``,
    not merged into another, not closed with one of ``excluded_results``."""
    category = func.coalesce(Incident.closing_category, Incident.opening_category)
    query = (
        select(Incident.lat, Incident.lon)
        .where(
            Incident.force_id == force_id,
            Incident.status == IncidentStatus.CLOSED.value,
            Incident.merged_into_id.is_(None),
            category.in_(list(categories)),
            or_(Incident.result.is_(None), Incident.result.not_in(list(excluded_results))),
            Incident.created_at >= start,
            Incident.created_at < end,
        )
        .order_by(Incident.created_at, Incident.id)
    )
    return [(lat, lon) for lat, lon in session.execute(query)]


def published_points(session: Session, force_id: str) -> list[Point]:
    """The force's map points from earlier publications."""
    return list(
        session.scalars(
            select(Point).where(Point.force_id == force_id, Point.origin == Origin.PUBLISH.value).order_by(Point.id)
        )
    )


def points_in_use(session: Session, force_id: str) -> set[int]:
    """Ids of the force's published points that some published row still stands on."""
    found = union(
        *(
            select(model.location_id).where(
                and_(model.force_id == force_id, model.origin == Origin.PUBLISH.value, model.location_id.is_not(None))
            )
            for model in (StreetCrime, Outcome, Stop)
        )
    )
    return {row[0] for row in session.execute(found)}


def months_loaded(session: Session, force_id: str, month: int) -> list[Month]:
    """What is loaded for the force's month (one row per file kind)."""
    return list(session.scalars(select(Month).where(Month.force_id == force_id, Month.month == month)))


def has_stop_searches(session: Session, force_id: str) -> bool:
    """Whether the force has recorded any stop and search."""
    return (
        session.scalars(select(StopSearch.event_id).where(StopSearch.force_id == force_id).limit(1)).first() is not None
    )
