"""Read side (and the few bulk deletes) of forces' neighbourhoods, events and priorities.

Every query names the force: a neighbourhood id is only unique within its force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, defer

from bluelamp.opendata.model import Neighbourhood, NeighbourhoodEvent, NeighbourhoodPriority


def neighbourhood_names(session: Session, force_id: str) -> list[tuple[str, str]]:
    """(id, name) of the force's neighbourhoods, by name (boundaries are not read)."""
    rows = session.execute(
        select(Neighbourhood.id, Neighbourhood.name)
        .where(Neighbourhood.force_id == force_id)
        .order_by(Neighbourhood.name, Neighbourhood.id)
    )
    return [(row.id, row.name) for row in rows]


def neighbourhood(
    session: Session, force_id: str, neighbourhood_id: str, *, with_boundary: bool = False
) -> Neighbourhood | None:
    """One neighbourhood of the force; its boundary is loaded only when asked for (it can
    be thousands of vertices)."""
    statement = select(Neighbourhood).where(Neighbourhood.force_id == force_id, Neighbourhood.id == neighbourhood_id)
    if not with_boundary:
        statement = statement.options(defer(Neighbourhood.boundary))
    return session.scalars(statement).one_or_none()


def neighbourhoods(session: Session, force_id: str, ids: Iterable[str] | None = None) -> list[Neighbourhood]:
    """The force's neighbourhoods (those of ``ids`` when given) with their boundaries, by id."""
    statement = select(Neighbourhood).where(Neighbourhood.force_id == force_id)
    if ids is not None:
        statement = statement.where(Neighbourhood.id.in_(list(ids)))
    return list(session.scalars(statement.order_by(Neighbourhood.id)))


def neighbourhood_ids(session: Session, force_id: str) -> list[str]:
    return list(session.scalars(select(Neighbourhood.id).where(Neighbourhood.force_id == force_id)))


def boundary(session: Session, force_id: str, neighbourhood_id: str) -> list | None:
    """The stored ring (``[[lat, lon], ...]``) of one neighbourhood; None when there is no such neighbourhood."""
    return session.scalars(
        select(Neighbourhood.boundary).where(Neighbourhood.force_id == force_id, Neighbourhood.id == neighbourhood_id)
    ).one_or_none()


def boundaries(session: Session, force_id: str) -> list[tuple[str, list]]:
    """(id, ring) of every neighbourhood of the force, for the locator."""
    rows = session.execute(
        select(Neighbourhood.id, Neighbourhood.boundary)
        .where(Neighbourhood.force_id == force_id)
        .order_by(Neighbourhood.id)
    )
    return [(row.id, row.boundary) for row in rows]


def stamps(session: Session) -> dict[str, tuple[int, datetime]]:
    """Per force that has neighbourhoods: (how many, newest ``updated_at``). Every change
    moves one or the other (see ``service._stamp``), so the locator can tell when to reload."""
    rows = session.execute(
        select(Neighbourhood.force_id, func.count(), func.max(Neighbourhood.updated_at)).group_by(
            Neighbourhood.force_id
        )
    )
    return {force_id: (count, newest) for force_id, count, newest in rows}


def newest_update(session: Session, force_id: str) -> datetime | None:
    """The newest ``updated_at`` among the force's neighbourhoods."""
    return session.scalar(select(func.max(Neighbourhood.updated_at)).where(Neighbourhood.force_id == force_id))


def touch_newest(session: Session, force_id: str, at: datetime) -> None:
    """Move the newest of the force's neighbourhoods to ``at`` (after one was removed, so
    the force's stamp moves forward and never returns to an earlier value)."""
    newest = session.scalar(
        select(Neighbourhood.id)
        .where(Neighbourhood.force_id == force_id)
        .order_by(Neighbourhood.updated_at.desc(), Neighbourhood.id)
        .limit(1)
    )
    if newest is not None:
        session.execute(
            update(Neighbourhood)
            .where(Neighbourhood.force_id == force_id, Neighbourhood.id == newest)
            .values(updated_at=at)
            .execution_options(synchronize_session=False)
        )


def delete_neighbourhoods(session: Session, force_id: str, ids: Iterable[str]) -> None:
    """Remove neighbourhoods of the force with their events and priorities."""
    ids = list(ids)
    if not ids:
        return
    for model in (NeighbourhoodEvent, NeighbourhoodPriority):
        session.execute(
            delete(model)
            .where(model.force_id == force_id, model.neighbourhood_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(Neighbourhood)
        .where(Neighbourhood.force_id == force_id, Neighbourhood.id.in_(ids))
        .execution_options(synchronize_session=False)
    )


def upcoming_events(session: Session, force_id: str, neighbourhood_id: str, now: datetime) -> list[NeighbourhoodEvent]:
    """The neighbourhood's events not yet over (ended after ``now``, or, without an end,
    starting after it), soonest first."""
    return list(
        session.scalars(
            select(NeighbourhoodEvent)
            .where(
                NeighbourhoodEvent.force_id == force_id,
                NeighbourhoodEvent.neighbourhood_id == neighbourhood_id,
                or_(
                    NeighbourhoodEvent.end_at > now,
                    (NeighbourhoodEvent.end_at.is_(None)) & (NeighbourhoodEvent.start_at >= now),
                ),
            )
            .order_by(NeighbourhoodEvent.start_at, NeighbourhoodEvent.id)
        )
    )


def events(session: Session, force_id: str, neighbourhood_id: str) -> list[NeighbourhoodEvent]:
    """Every event of the neighbourhood, past ones too, newest first (for its team)."""
    return list(
        session.scalars(
            select(NeighbourhoodEvent)
            .where(NeighbourhoodEvent.force_id == force_id, NeighbourhoodEvent.neighbourhood_id == neighbourhood_id)
            .order_by(NeighbourhoodEvent.start_at.desc(), NeighbourhoodEvent.id)
        )
    )


def event(session: Session, force_id: str, event_id: str) -> NeighbourhoodEvent | None:
    return session.scalars(
        select(NeighbourhoodEvent).where(NeighbourhoodEvent.force_id == force_id, NeighbourhoodEvent.id == event_id)
    ).one_or_none()


def priorities(session: Session, force_id: str, neighbourhood_id: str) -> list[NeighbourhoodPriority]:
    """The neighbourhood's priorities, most recently raised first."""
    return list(
        session.scalars(
            select(NeighbourhoodPriority)
            .where(
                NeighbourhoodPriority.force_id == force_id, NeighbourhoodPriority.neighbourhood_id == neighbourhood_id
            )
            .order_by(NeighbourhoodPriority.issue_at.desc(), NeighbourhoodPriority.id)
        )
    )


def priority(session: Session, force_id: str, priority_id: str) -> NeighbourhoodPriority | None:
    return session.scalars(
        select(NeighbourhoodPriority).where(
            NeighbourhoodPriority.force_id == force_id, NeighbourhoodPriority.id == priority_id
        )
    ).one_or_none()


def counts(session: Session, force_id: str, now: datetime) -> dict[str, tuple[int, int]]:
    """Per neighbourhood of the force: (upcoming events, priorities), for listings."""
    upcoming = dict(
        session.execute(
            select(NeighbourhoodEvent.neighbourhood_id, func.count())
            .where(
                NeighbourhoodEvent.force_id == force_id,
                or_(
                    NeighbourhoodEvent.end_at > now,
                    (NeighbourhoodEvent.end_at.is_(None)) & (NeighbourhoodEvent.start_at >= now),
                ),
            )
            .group_by(NeighbourhoodEvent.neighbourhood_id)
        ).all()
    )
    raised = dict(
        session.execute(
            select(NeighbourhoodPriority.neighbourhood_id, func.count())
            .where(NeighbourhoodPriority.force_id == force_id)
            .group_by(NeighbourhoodPriority.neighbourhood_id)
        ).all()
    )
    return {nid: (upcoming.get(nid, 0), raised.get(nid, 0)) for nid in set(upcoming) | set(raised)}
