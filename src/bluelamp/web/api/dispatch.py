"""Command and control API: unit recommendations for an incident, and dispatch
(assign, acknowledge, arrive, release)."""

from __future__ import annotations

from datetime import datetime

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bluelamp.access.policy import Action
from bluelamp.command import dispatch, recommend
from bluelamp.command.model import Assignment, Incident
from bluelamp.tracking.runtime import apply_status
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()


class RecommendationOut(BaseModel):
    rank: int
    unit_id: str
    call_sign: str
    unit_type: str
    status: str
    freshness: str = Field(description="live, stale or offline, from the age of the unit's last position")
    distance_m: int = Field(description="straight-line distance")
    eta_seconds: int | None
    eta_basis: str = Field(description="how the travel time was estimated (road router or straight line)")
    routed: bool
    capabilities: list[str]
    required_met: bool
    committed: bool = Field(description="on another incident: assigning it is a diversion and needs a reason")
    current_incident_id: str | None
    current_incident_reference: str | None
    lat: float
    lon: float
    fix_at: datetime | None
    reasons: list[str]


class RecommendationsOut(BaseModel):
    incident_id: str
    reference: str
    required: list[str] = Field(description="the capabilities every unit listed holds")
    required_by: str = Field(description="incident (its category and qualifiers) or dispatcher (an override)")
    count: int
    recommendations: list[RecommendationOut]


@router.get(
    "/api/v1/incidents/{incident_id}/recommendations",
    response_model=RecommendationsOut,
    tags=["dispatch"],
    summary="Suitable units for an incident, by travel time",
)
def recommendations(
    request: Request,
    incident_id: str,
    db: Db,
    clock: Now,
    count: int | None = Query(None, ge=1, le=recommend.MAX_COUNT, description="how many (default: the force's)"),
    require: str | None = Query(
        None,
        description="comma-separated capabilities, overriding what the incident's category and qualifiers need; "
        "empty: none",
    ),
    include_committed: bool = Query(False, description="also units on other incidents (to divert one)"),
    caller: Caller = Depends(allow(Action.INCIDENT_DISPATCH)),
):
    """The nearest suitable units by estimated travel time, each with its reasons."""
    required = None if require is None else require.split(",")
    with db.read() as session:
        found = recommend.recommend_for_incident(
            session,
            caller.actor,
            incident_id,
            request.app.state.tracking,
            request.app.state.router,
            clock,
            count=count,
            required=required,
            include_committed=include_committed,
        )
    # RecommendationsOut's shape, serialised directly: building and re-validating the
    # models cost more than the recommendation itself (docs/benchmarks.md).
    fields = RecommendationOut.model_fields
    payload = {
        "incident_id": found.incident_id,
        "reference": found.reference,
        "required": found.required,
        "required_by": found.required_by,
        "count": found.count,
        "recommendations": [{name: getattr(r, name) for name in fields} for r in found.units],
    }
    return Response(orjson.dumps(payload, option=orjson.OPT_UTC_Z), media_type="application/json")


class AssignmentOut(BaseModel):
    id: str
    incident_id: str
    incident_reference: str
    incident_status: str
    unit_id: str
    call_sign: str | None
    unit_status: str | None
    assigned_at: datetime
    assigned_by: str
    recommended_rank: int | None
    override_reason: str | None
    eta_seconds: int | None
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None
    diverted_to_incident_id: str | None


def _assignment_out(request: Request, incident: Incident, assignment: Assignment, unit=None) -> AssignmentOut:
    state = request.app.state.tracking.index.units.get(assignment.unit_id)
    if unit is not None:  # the unit just changed: its row is the truth
        state = unit
    return AssignmentOut(
        id=assignment.id,
        incident_id=incident.id,
        incident_reference=incident.reference,
        incident_status=incident.status,
        unit_id=assignment.unit_id,
        call_sign=state.call_sign if state else None,
        unit_status=state.status if state else None,
        assigned_at=assignment.assigned_at,
        assigned_by=assignment.assigned_by,
        recommended_rank=assignment.recommended_rank,
        override_reason=assignment.override_reason,
        eta_seconds=assignment.eta_seconds,
        acknowledged_at=assignment.acknowledged_at,
        arrived_at=assignment.arrived_at,
        released_at=assignment.released_at,
        released_by=assignment.released_by,
        release_reason=assignment.release_reason,
        diverted_to_incident_id=assignment.diverted_to_incident_id,
    )


def _after_commit(request: Request, result: dispatch.AssignmentChanged) -> AssignmentOut:
    publish = request.app.state.bus.publish
    for changed in result.status_changes:
        apply_status(request.app.state.tracking, changed, publish)
    for event in result.events:
        publish(event)
    return _assignment_out(request, result.incident, result.assignment, result.unit)


@router.get(
    "/api/v1/incidents/{incident_id}/assignments",
    response_model=list[AssignmentOut],
    tags=["dispatch"],
    summary="An incident's units, current and past",
)
def assignments(request: Request, incident_id: str, db: Db, caller: Caller = Depends(allow(Action.INCIDENT_READ))):
    with db.read() as session:
        incident, found = dispatch.list_assignments(session, caller.actor, incident_id)
    return [_assignment_out(request, incident, a) for a in found]


class AssignIn(BaseModel):
    unit_id: str
    divert_reason: str | None = Field(None, max_length=300, description="required when the unit is on another incident")
    override_reason: str | None = Field(None, max_length=300, description="why not the top recommendation (optional)")
    recommended_rank: int | None = Field(None, ge=1, description="the unit's rank in the recommendations shown")
    eta_seconds: int | None = Field(None, ge=0, description="the ETA shown with the recommendation")


@router.post(
    "/api/v1/incidents/{incident_id}/assignments",
    response_model=AssignmentOut,
    status_code=201,
    tags=["dispatch"],
    summary="Send a unit to an incident",
)
def assign(
    request: Request,
    incident_id: str,
    body: AssignIn,
    db: Db,
    clock: Now,
    caller: Caller = Depends(allow(Action.INCIDENT_DISPATCH)),
):
    """409 `dispatch.off_duty` for an off-duty unit; 409 `dispatch.divert_reason_required`
    (naming its current incident) for a unit committed elsewhere without `divert_reason`."""
    with db.unit_of_work() as session:
        result = dispatch.assign(
            session,
            caller.actor,
            incident_id,
            body.unit_id,
            clock,
            divert_reason=body.divert_reason,
            override_reason=body.override_reason,
            recommended_rank=body.recommended_rank,
            eta_seconds=body.eta_seconds,
        )
    return _after_commit(request, result)


@router.post(
    "/api/v1/incidents/{incident_id}/assignments/{unit_id}/acknowledge",
    response_model=AssignmentOut,
    tags=["dispatch"],
    summary="The unit accepts and is en route",
)
def acknowledge(
    request: Request,
    incident_id: str,
    unit_id: str,
    db: Db,
    clock: Now,
    caller: Caller = Depends(allow(Action.UNIT_STATUS)),
):
    """A dispatcher for any unit; a response officer for the unit they crew."""
    with db.unit_of_work() as session:
        result = dispatch.acknowledge(session, caller.actor, incident_id, unit_id, clock)
    return _after_commit(request, result)


@router.post(
    "/api/v1/incidents/{incident_id}/assignments/{unit_id}/arrive",
    response_model=AssignmentOut,
    tags=["dispatch"],
    summary="The unit is at the scene",
)
def arrive(
    request: Request,
    incident_id: str,
    unit_id: str,
    db: Db,
    clock: Now,
    caller: Caller = Depends(allow(Action.UNIT_STATUS)),
):
    """A dispatcher for any unit; a response officer for the unit they crew."""
    with db.unit_of_work() as session:
        result = dispatch.arrive(session, caller.actor, incident_id, unit_id, clock)
    return _after_commit(request, result)


class ReleaseIn(BaseModel):
    reason: str | None = Field(None, max_length=300, description="required when the unit has not arrived")


@router.post(
    "/api/v1/incidents/{incident_id}/assignments/{unit_id}/release",
    response_model=AssignmentOut,
    tags=["dispatch"],
    summary="The unit leaves the incident and is available",
)
def release(
    request: Request,
    incident_id: str,
    unit_id: str,
    db: Db,
    clock: Now,
    body: ReleaseIn | None = None,
    caller: Caller = Depends(allow(Action.UNIT_STATUS)),
):
    """Before arrival a reason is required (the caller is called back); the incident goes
    back on the queue when no unit is left. After arrival the incident stays at scene,
    awaiting closure, when its last unit leaves."""
    with db.unit_of_work() as session:
        result = dispatch.release(session, caller.actor, incident_id, unit_id, body.reason if body else None, clock)
    return _after_commit(request, result)
