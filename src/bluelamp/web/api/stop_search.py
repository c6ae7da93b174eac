"""Stops and searches: an officer records the PACE record of a stop and search (in the Home
Office's categories; records/stop_search.py). The route parses, calls the service in one
unit of work and answers; a search from an incident publishes the incident's change after
the commit. Errors are problem details (web/errors.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bluelamp.access.policy import Action
from bluelamp.records import stop_search
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter(tags=["stop and search"])

Recorder = Annotated[Caller, Depends(allow(Action.STOP_SEARCH_RECORD))]


class StopSearchIn(BaseModel):
    """A stop and search to record (PACE Code A). Categories take the Home Office's current
    values, as data.police.uk publishes them (any case); say where with ``location_id`` or
    ``lat`` and ``lon``."""

    type: str = Field(description="Person search, Vehicle search, or Person and Vehicle search")
    occurred_at: datetime = Field(description="When the search took place, with its offset")
    legislation: str = Field(description="The power, e.g. Misuse of Drugs Act 1971 (section 23)")
    object_of_search: str = Field(description="What was looked for, e.g. Controlled drugs")
    outcome: str = Field(description="e.g. A no further action disposal, Arrest, Community resolution")
    grounds: str = Field(description="The grounds for the search (kept in the record, never published)")
    location_id: str | None = Field(None, description="A location record of the force")
    lat: float | None = None
    lon: float | None = None
    operation_name: str | None = Field(None, description="The policing operation, when part of one")
    gender: str | None = Field(None, description="Male, Female or Other")
    age_range: str | None = Field(None, description="under 10, 10-17, 18-24, 25-34 or over 34")
    self_defined_ethnicity: str | None = Field(None, description="The 2011 census wording, e.g. White - Irish")
    officer_defined_ethnicity: str | None = Field(None, description="White, Black, Asian, Mixed or Other")
    outcome_linked: bool | None = Field(None, description="The outcome was linked to the object of the search")
    removal_of_outer_clothing: bool | None = Field(None, description="More than outer clothing was removed")
    summary: str | None = Field(None, description="A line; default: from the type, power, object and outcome")
    person_id: str | None = Field(None, description="The person searched, when known (linked subject_of)")
    incident_id: str | None = None
    marking: str | None = None


class StopSearchOut(BaseModel):
    id: str
    reference: str
    type: str
    occurred_at: datetime | None
    location_id: str | None
    lat: float | None
    lon: float | None
    operation: bool
    operation_name: str | None
    gender: str | None
    age_range: str | None
    self_defined_ethnicity: str | None
    officer_defined_ethnicity: str | None
    legislation: str
    object_of_search: str
    outcome: str
    outcome_id: str | None = Field(description="data.police.uk's outcome_object id, e.g. bu-arrest")
    outcome_linked: bool | None
    removal_of_outer_clothing: bool | None
    officer: str
    incident_id: str | None
    marking: str


@router.post("/api/v1/stop-searches", response_model=StopSearchOut, status_code=201, summary="Record a stop and search")
def record(request: Request, caller: Recorder, db: Db, clock: Now, body: StopSearchIn):
    """Record a stop and search: 201 with the record (the searching officer is the caller)."""
    command = stop_search.NewStopSearch(**body.model_dump())
    with db.unit_of_work() as session:
        done = stop_search.record_stop_search(session, caller.actor, command, clock)
        event, stop, location = done.event, done.stop, done.location
        out = StopSearchOut(
            id=event.id,
            reference=event.reference,
            type=stop.type,
            occurred_at=event.occurred_from,
            location_id=event.location_id,
            lat=location.lat if location is not None else None,
            lon=location.lon if location is not None else None,
            operation=stop.operation_name is not None,
            operation_name=stop.operation_name,
            gender=stop.gender,
            age_range=stop.age_range,
            self_defined_ethnicity=stop.self_defined_ethnicity,
            officer_defined_ethnicity=stop.officer_defined_ethnicity,
            legislation=stop.legislation,
            object_of_search=stop.object_of_search,
            outcome=stop.outcome,
            outcome_id=done.outcome_id,
            outcome_linked=stop.outcome_linked,
            removal_of_outer_clothing=stop.removal_of_outer_clothing,
            officer=stop.officer,
            incident_id=event.incident_id,
            marking=event.marking,
        )
    for bus_event in done.events:
        request.app.state.bus.publish(bus_event)
    return out
