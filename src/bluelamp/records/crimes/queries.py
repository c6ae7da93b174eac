"""Reads of crimes (with their investigation logs and linked persons), their victims and
the updates owed to them, intelligence reports, and crimes reported but not yet recorded.
Scoped like every records read (``records/queries.py``): a crime or report the actor may
not see, or one disposed of, is not found."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import (
    Crime,
    Event,
    Intelligence,
    InvestigationEntry,
    Link,
    Person,
    Victim,
    VictimUpdate,
)

# ---------------------------------------------------------------- crimes (records/crime.py)


def visible_crime(session: Session, actor: Actor, event_id: str, *, for_update: bool = False):
    """(event, crime) if the actor may see the crime (and it is not disposed), else None."""
    statement = (
        select(Event, Crime)
        .join(Crime, Crime.event_id == Event.id)
        .where(Event.id == event_id, Event.kind == "crime", Event.disposed_at.is_(None), visible(actor, Event))
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.execute(statement).one_or_none()
    return None if row is None else (row[0], row[1])


def visible_crimes(
    session: Session,
    actor: Actor,
    *,
    officer: str | None = None,
    status: str | None = None,
    late: bool | None = None,
    limit: int = 200,
) -> list[tuple[Event, Crime]]:
    """Crimes the actor may see, newest recorded first, filtered before the limit."""
    statement = (
        select(Event, Crime)
        .join(Crime, Crime.event_id == Event.id)
        .where(Event.kind == "crime", Event.disposed_at.is_(None), visible(actor, Event))
    )
    if officer is not None:
        statement = statement.where(Crime.officer_in_charge == officer)
    if status is not None:
        statement = statement.where(Crime.status == status)
    if late is not None:
        statement = statement.where(Crime.recorded_late.is_(late))
    rows = session.execute(statement.order_by(Crime.recorded_at.desc(), Event.id).limit(limit)).all()
    return [(event, crime) for event, crime in rows]


def investigation_log(session: Session, event_id: str) -> list[InvestigationEntry]:
    """A crime's investigation log in the order it was written."""
    return list(
        session.scalars(
            select(InvestigationEntry).where(InvestigationEntry.event_id == event_id).order_by(InvestigationEntry.id)
        )
    )


def investigation_entry(session: Session, event_id: str, entry_id: int) -> InvestigationEntry | None:
    return session.scalars(
        select(InvestigationEntry).where(InvestigationEntry.event_id == event_id, InvestigationEntry.id == entry_id)
    ).one_or_none()


def persons_linked(session: Session, event_id: str, role: str) -> list[Person]:
    """The (not disposed) persons linked to an event with a role (person -suspect-> event)."""
    return list(
        session.scalars(
            select(Person)
            .join(Link, and_(Link.from_type == "person", Link.from_id == Person.id))
            .where(Link.to_type == "event", Link.to_id == event_id, Link.role == role, Person.disposed_at.is_(None))
            .order_by(Person.id)
        )
    )


# ---------------------------------------------------------------- crimes reported but not recorded (the NCRS list)


def unrecorded_crime_reports(
    session: Session,
    actor: Actor,
    categories: Iterable[str],
    reported_before: datetime,
    *,
    no_crime_results: Iterable[str],
    limit: int,
) -> list:
    """Command incidents the actor may see that report a crime not yet recorded: their
    category (the closing one once closed) is one of ``categories``, they came in before
    ``reported_before``, they are not merged, not closed with one of ``no_crime_results``,
    and no crime names them (a crime recorded from the incident, or the crime reference the
    incident was closed with). Oldest first."""
    from bluelamp.command.model import Incident

    categories = list(categories)
    if not categories:
        return []
    from_incident = exists().where(Event.kind == "crime", Event.incident_id == Incident.id)
    by_reference = exists().where(
        Event.kind == "crime", Event.force_id == Incident.force_id, Event.reference == Incident.crime_reference
    )
    statement = (
        select(Incident)
        .where(
            func.coalesce(Incident.closing_category, Incident.opening_category).in_(categories),
            Incident.created_at <= reported_before,
            Incident.status != "merged",
            or_(Incident.result.is_(None), Incident.result.not_in(list(no_crime_results))),
            ~from_incident,
            or_(Incident.crime_reference.is_(None), ~by_reference),
            visible(actor, Incident),
        )
        .order_by(Incident.created_at, Incident.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


# ---------------------------------------------------------------- victims (records/victims.py)


def victim_of(session: Session, event_id: str, person_id: str) -> Victim | None:
    return session.scalars(
        select(Victim).where(Victim.event_id == event_id, Victim.person_id == person_id)
    ).one_or_none()


def victims_of(session: Session, event_id: str, *, for_update: bool = False) -> list[Victim]:
    """Every victim row of a crime (whoever can see their persons), for its clocks."""
    statement = select(Victim).where(Victim.event_id == event_id).order_by(Victim.id)
    if for_update:
        statement = statement.with_for_update()
    return list(session.scalars(statement))


def visible_victims(session: Session, actor: Actor, event_id: str) -> list[tuple[Victim, Person]]:
    """A crime's victims whose person records the actor may see (others are simply absent)."""
    rows = session.execute(
        select(Victim, Person)
        .join(Person, Person.id == Victim.person_id)
        .where(Victim.event_id == event_id, Person.disposed_at.is_(None), visible(actor, Person))
        .order_by(Victim.id)
    ).all()
    return [(victim, person) for victim, person in rows]


def visible_victim(session: Session, actor: Actor, victim_id: str, *, for_update: bool = False):
    """(victim, event, crime, person) when the actor may see the crime and the person, else None."""
    statement = (
        select(Victim, Event, Crime, Person)
        .join(Event, Event.id == Victim.event_id)
        .join(Crime, Crime.event_id == Event.id)
        .join(Person, Person.id == Victim.person_id)
        .where(
            Victim.id == victim_id,
            Event.disposed_at.is_(None),
            Person.disposed_at.is_(None),
            visible(actor, Event),
            visible(actor, Person),
        )
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.execute(statement).one_or_none()
    return None if row is None else tuple(row)


def victim_updates(session: Session, victim_ids: list[str]) -> list[VictimUpdate]:
    if not victim_ids:
        return []
    return list(
        session.scalars(select(VictimUpdate).where(VictimUpdate.victim_id.in_(victim_ids)).order_by(VictimUpdate.id))
    )


def overdue_victims(session: Session, actor: Actor, now, *, officer: str | None = None, limit: int = 1000):
    """(victim, event, crime) for every victim whose next update was due by ``now`` and who
    has not opted out, on crimes the actor may see; by officer in charge, then due time."""
    statement = (
        select(Victim, Event, Crime)
        .join(Event, Event.id == Victim.event_id)
        .join(Crime, Crime.event_id == Event.id)
        .where(
            Victim.next_update_due.is_not(None),
            Victim.next_update_due <= now,
            Victim.opted_out.is_(False),
            Event.disposed_at.is_(None),
            visible(actor, Event),
        )
    )
    if officer is not None:
        statement = statement.where(Crime.officer_in_charge == officer)
    statement = statement.order_by(
        Crime.officer_in_charge.is_(None), Crime.officer_in_charge, Victim.next_update_due, Victim.id
    ).limit(limit)
    return [(victim, event, crime) for victim, event, crime in session.execute(statement).all()]


# ---------------------------------------------------------------- intelligence (records/intelligence.py)


def visible_intelligence(session: Session, actor: Actor, event_id: str):
    """(event, intelligence) if the actor may see the report (and it is not disposed), else None."""
    row = session.execute(
        select(Event, Intelligence)
        .join(Intelligence, Intelligence.event_id == Event.id)
        .where(Event.id == event_id, Event.kind == "intelligence", Event.disposed_at.is_(None), visible(actor, Event))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def visible_intelligence_reports(session: Session, actor: Actor, *, limit: int = 200):
    """Intelligence reports the actor may see, newest first."""
    rows = session.execute(
        select(Event, Intelligence)
        .join(Intelligence, Intelligence.event_id == Event.id)
        .where(Event.kind == "intelligence", Event.disposed_at.is_(None), visible(actor, Event))
        .order_by(Event.created_at.desc(), Event.id)
        .limit(limit)
    ).all()
    return [(event, report) for event, report in rows]
