"""A force's neighbourhoods as its teams manage them: boundaries (GeoJSON), teams,
priorities, events, and the force's public profile. What is set here is what the public
``/api/`` force and neighbourhood endpoints serve.

Everything needs ``neighbourhood.manage`` (force admins, supervisors) and acts on the
caller's own force: another force's neighbourhood, event or priority answers 404, like a
missing one. Descriptions, issues and actions are plain text (served escaped, as HTML
paragraphs); times without an offset are Europe/London time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, Field

from bluelamp.access.policy import Action
from bluelamp.opendata.model import NeighbourhoodEvent, NeighbourhoodPriority
from bluelamp.opendata.neighbourhoods import service
from bluelamp.opendata.neighbourhoods.service import EventIn, ForceProfile, PriorityChange, PriorityIn, text_of
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter(prefix="/api/v1", tags=["neighbourhoods"])

Manager = Annotated[Caller, Depends(allow(Action.NEIGHBOURHOOD_MANAGE))]

FEATURE_EXAMPLE = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-2.15, 52.78], [-2.08, 52.78], [-2.08, 52.83], [-2.15, 52.83], [-2.15, 52.78]]],
    },
    "properties": {
        "id": "stafford",
        "name": "Stafford",
        "population": 70000,
        "description": "The county town and the villages around it.",
        "contact_details": {"email": "stafford@example.org", "telephone": "101"},
        "people": [{"name": "Sgt Alex Doe", "rank": "Sergeant"}],
    },
}
Feature = Annotated[dict[str, Any], Body(description="A GeoJSON Feature (Polygon)", examples=[FEATURE_EXAMPLE])]
Collection = Annotated[
    dict[str, Any],
    Body(
        description="A GeoJSON FeatureCollection",
        examples=[{"type": "FeatureCollection", "features": [FEATURE_EXAMPLE]}],
    ),
]


class NeighbourhoodSummaryOut(BaseModel):
    id: str
    name: str
    population: str
    upcoming_events: int
    priorities: int
    team: int = Field(description="People in the team")
    vertices: int = Field(description="Distinct vertices of the boundary")
    updated_at: datetime


class LoadedOut(BaseModel):
    set: list[str] = Field(description="Neighbourhoods created or replaced")
    removed: list[str] = Field(description="Neighbourhoods removed (not in the collection), with their events")


class EventRecordOut(BaseModel):
    id: str
    neighbourhood_id: str
    title: str
    type: str
    description: str | None = Field(description="Plain text")
    address: str | None
    start: datetime
    end: datetime | None
    contact_details: dict[str, str]

    @classmethod
    def of(cls, row: NeighbourhoodEvent) -> EventRecordOut:
        return cls(
            id=row.id,
            neighbourhood_id=row.neighbourhood_id,
            title=row.title,
            type=row.type,
            description=text_of(row.description),
            address=row.address,
            start=row.start_at,
            end=row.end_at,
            contact_details=row.contact_details or {},
        )


class PriorityRecordOut(BaseModel):
    id: str
    neighbourhood_id: str
    issue: str = Field(description="Plain text")
    issue_date: datetime
    action: str | None
    action_date: datetime | None

    @classmethod
    def of(cls, row: NeighbourhoodPriority) -> PriorityRecordOut:
        return cls(
            id=row.id,
            neighbourhood_id=row.neighbourhood_id,
            issue=text_of(row.issue) or "",
            issue_date=row.issue_at,
            action=text_of(row.action),
            action_date=row.action_at,
        )


# ---------------------------------------------------------------- the force's profile


@router.get("/opendata/profile", response_model=ForceProfile, summary="The force's public profile")
def get_profile(caller: Manager, db: Db):
    with db.read() as session:
        return service.force_profile(session, caller.actor)


@router.put("/opendata/profile", response_model=ForceProfile, summary="Set the force's public profile")
def put_profile(body: ForceProfile, caller: Manager, db: Db, clock: Now):
    """Replaces the web site, telephone, description, engagement methods and senior officers
    that ``/api/forces/{force}`` and ``/api/forces/{force}/people`` show."""
    with db.unit_of_work() as session:
        service.set_force_profile(session, caller.actor, body, clock)
        return service.force_profile(session, caller.actor)


# ---------------------------------------------------------------- neighbourhoods


@router.get("/neighbourhoods", response_model=list[NeighbourhoodSummaryOut], summary="The force's neighbourhoods")
def list_neighbourhoods(caller: Manager, db: Db, clock: Now):
    with db.read() as session:
        return [NeighbourhoodSummaryOut(**vars(n)) for n in service.list_neighbourhoods(session, caller.actor, clock)]


@router.put("/neighbourhoods", response_model=LoadedOut, summary="Replace all the force's neighbourhoods")
def put_neighbourhoods(body: Collection, caller: Manager, db: Db, clock: Now):
    """Sets every neighbourhood of the FeatureCollection, all or nothing; the force's
    neighbourhoods not in it are removed with their events and priorities."""
    with db.unit_of_work() as session:
        loaded = service.load_neighbourhoods(session, caller.actor, body, clock, replace=True)
    return LoadedOut(set=loaded.set, removed=loaded.removed)


@router.get("/neighbourhoods/{neighbourhood_id}", summary="A neighbourhood as a GeoJSON Feature")
def get_neighbourhood(neighbourhood_id: str, caller: Manager, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return service.neighbourhood_feature(session, caller.actor, neighbourhood_id)


@router.put("/neighbourhoods/{neighbourhood_id}", summary="Create or replace a neighbourhood from a GeoJSON Feature")
def put_neighbourhood(neighbourhood_id: str, body: Feature, caller: Manager, db: Db, clock: Now) -> dict[str, Any]:
    """The boundary is the Feature's Polygon (one ring, closed, not crossing itself); its
    events and priorities stay."""
    with db.unit_of_work() as session:
        service.set_neighbourhood_feature(session, caller.actor, body, clock, neighbourhood_id=neighbourhood_id)
        return service.neighbourhood_feature(session, caller.actor, neighbourhood_id)


@router.delete("/neighbourhoods/{neighbourhood_id}", status_code=204, summary="Remove a neighbourhood")
def delete_neighbourhood(neighbourhood_id: str, caller: Manager, db: Db, clock: Now):
    with db.unit_of_work() as session:
        service.remove_neighbourhood(session, caller.actor, neighbourhood_id, clock)
    return Response(status_code=204)


# ---------------------------------------------------------------- events


@router.get(
    "/neighbourhoods/{neighbourhood_id}/events",
    response_model=list[EventRecordOut],
    summary="A neighbourhood's events, past ones too",
)
def list_events(neighbourhood_id: str, caller: Manager, db: Db):
    with db.read() as session:
        return [EventRecordOut.of(e) for e in service.neighbourhood_events(session, caller.actor, neighbourhood_id)]


@router.post(
    "/neighbourhoods/{neighbourhood_id}/events", response_model=EventRecordOut, status_code=201, summary="Add an event"
)
def add_event(neighbourhood_id: str, body: EventIn, caller: Manager, db: Db, clock: Now):
    with db.unit_of_work() as session:
        return EventRecordOut.of(service.add_event(session, caller.actor, neighbourhood_id, body, clock))


@router.delete("/neighbourhoods/{neighbourhood_id}/events/{event_id}", status_code=204, summary="Remove an event")
def delete_event(neighbourhood_id: str, event_id: str, caller: Manager, db: Db, clock: Now):
    with db.unit_of_work() as session:
        service.remove_event(session, caller.actor, event_id, clock, neighbourhood_id=neighbourhood_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- priorities


@router.get(
    "/neighbourhoods/{neighbourhood_id}/priorities",
    response_model=list[PriorityRecordOut],
    summary="A neighbourhood's priorities",
)
def list_priorities(neighbourhood_id: str, caller: Manager, db: Db):
    with db.read() as session:
        rows = service.neighbourhood_priorities(session, caller.actor, neighbourhood_id)
        return [PriorityRecordOut.of(p) for p in rows]


@router.post(
    "/neighbourhoods/{neighbourhood_id}/priorities",
    response_model=PriorityRecordOut,
    status_code=201,
    summary="Add a priority",
)
def add_priority(neighbourhood_id: str, body: PriorityIn, caller: Manager, db: Db, clock: Now):
    with db.unit_of_work() as session:
        return PriorityRecordOut.of(service.add_priority(session, caller.actor, neighbourhood_id, body, clock))


@router.patch(
    "/neighbourhoods/{neighbourhood_id}/priorities/{priority_id}",
    response_model=PriorityRecordOut,
    summary="Change a priority (say what is being done)",
)
def change_priority(neighbourhood_id: str, priority_id: str, body: PriorityChange, caller: Manager, db: Db, clock: Now):
    """Only the fields sent change; ``"action": null`` clears the action."""
    with db.unit_of_work() as session:
        row = service.update_priority(
            session, caller.actor, priority_id, body, clock, neighbourhood_id=neighbourhood_id
        )
        return PriorityRecordOut.of(row)


@router.delete(
    "/neighbourhoods/{neighbourhood_id}/priorities/{priority_id}", status_code=204, summary="Remove a priority"
)
def delete_priority(neighbourhood_id: str, priority_id: str, caller: Manager, db: Db, clock: Now):
    with db.unit_of_work() as session:
        service.remove_priority(session, caller.actor, priority_id, clock, neighbourhood_id=neighbourhood_id)
    return Response(status_code=204)
