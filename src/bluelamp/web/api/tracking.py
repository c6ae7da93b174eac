"""Tracking API: position ingest (Traccar OsmAnd, JSON batches), units, status,
nearest units, trail replay, emergencies."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bluelamp.access.policy import Action, markings_up_to
from bluelamp.command import dispatch
from bluelamp.errors import BadRequest, FieldProblem, InvalidInput, TooLarge
from bluelamp.tracking import queries, service
from bluelamp.tracking.ingest import FixRejected, parse_json_item, parse_osmand
from bluelamp.tracking.runtime import apply_status
from bluelamp.web.auth import Caller, allow, client_ip, public
from bluelamp.web.deps import Db, Now

router = APIRouter()


# ---------------------------------------------------------------- ingest


@router.get(
    "/ingest/osmand",
    tags=["tracking"],
    summary="Traccar OsmAnd protocol (query)",
    operation_id="osmand_get",
    dependencies=[Depends(public)],
    response_class=PlainTextResponse,
)
@router.post(
    "/ingest/osmand",
    tags=["tracking"],
    summary="Traccar OsmAnd protocol (form)",
    operation_id="osmand_post",
    dependencies=[Depends(public)],
    response_class=PlainTextResponse,
)
async def osmand(request: Request):
    """One fix as the Traccar Client app sends it: GET query, or a form POST when the
    query is empty. 200 when stored; 400 for an unknown device or a bad fix (as Traccar)."""
    params: dict[str, str] = dict(request.query_params)
    if not params and request.method == "POST":
        params = {k: str(v) for k, v in (await request.form()).items()}
    tracking = request.app.state.tracking
    now = request.app.state.clock.now()
    try:
        fix = parse_osmand(params, now)
    except FixRejected as rejected:
        fix = rejected
    deferred: list = []
    result = tracking.ingest.ingest([fix], source_ip=client_ip(request), defer=deferred.append)
    if deferred:
        await run_in_threadpool(lambda: [work() for work in deferred])
    if result.accepted:
        return PlainTextResponse("", status_code=200)
    item = result.items[0]
    raise BadRequest(
        item.message or "refused",
        code=item.code or "position.invalid",
        problems=[FieldProblem(item.field or "id", item.message or "refused")],
    )


class BatchItem(BaseModel):
    """One fix from a vehicle gateway. Speed in metres per second."""

    device_id: str
    timestamp: str | float | None = None
    lat: Any = None
    lon: Any = None
    speed_mps: float | None = None
    bearing: float | None = None
    altitude_m: float | None = None
    accuracy_m: float | None = None
    battery: float | None = None
    alarm: str | None = None
    secret: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ItemOut(BaseModel):
    index: int
    ok: bool
    code: str | None = None
    field: str | None = None
    message: str | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemOut]


@router.post(
    "/api/v1/positions",
    tags=["tracking"],
    summary="A batch of positions from a vehicle gateway",
    response_model=BatchOut,
)
async def positions(request: Request, caller: Caller = Depends(allow(Action.POSITION_REPORT))):
    """Each item is accepted or refused on its own; the valid items of a batch are kept.
    Devices must belong to the caller's force."""
    tracking = request.app.state.tracking
    limits = request.app.state.settings.ingest_limits()
    declared = int(request.headers.get("content-length") or 0)
    if declared > limits.max_batch * 600:
        raise TooLarge(f"the batch is larger than {limits.max_batch} positions allow", code="input.too_large")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not JSON", problems=[FieldProblem("body", "not JSON")]) from None
    items = body.get("positions") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidInput('send {"positions": [...]}', problems=[FieldProblem("positions", "a list is required")])
    if len(items) > limits.max_batch:
        raise TooLarge(f"{len(items)} positions in one batch; the most is {limits.max_batch}", code="input.too_large")
    now = request.app.state.clock.now()
    fixes = [parse_json_item(item, now) for item in items]
    deferred: list = []
    result = tracking.ingest.ingest(
        fixes, source_ip=client_ip(request), force_id=caller.actor.force_id, defer=deferred.append
    )
    if deferred:
        await run_in_threadpool(lambda: [work() for work in deferred])
    # The reply of BatchOut's shape, serialised directly: a thousand per-item pydantic
    # models cost more than storing the positions (docs/benchmarks.md, "Tracking"). An
    # accepted item's JSON depends only on its index: made once, then joined.
    accepted = _accepted_json(len(result.items))
    results = b",".join(
        [
            accepted[i.index]
            if i.ok
            else orjson.dumps({"index": i.index, "ok": False, "code": i.code, "field": i.field, "message": i.message})
            for i in result.items
        ]
    )
    head = orjson.dumps({"accepted": result.accepted, "rejected": result.rejected})[:-1]
    return Response(head + b',"results":[' + results + b"]}", media_type="application/json")


_ACCEPTED_JSON: list[bytes] = []  # {"index": n, "ok": true, ...} for n = 0, 1, ...
_ACCEPTED_JSON_LOCK = threading.Lock()


def _accepted_json(count: int) -> list[bytes]:
    if len(_ACCEPTED_JSON) < count:
        with _ACCEPTED_JSON_LOCK:
            for n in range(len(_ACCEPTED_JSON), count):
                _ACCEPTED_JSON.append(
                    orjson.dumps({"index": n, "ok": True, "code": None, "field": None, "message": None})
                )
    return _ACCEPTED_JSON


# ---------------------------------------------------------------- units


class UnitOut(BaseModel):
    id: str
    call_sign: str
    unit_type: str
    status: str
    marking: str
    capabilities: list[str]
    lat: float | None
    lon: float | None
    fix_at: datetime | None
    freshness: str
    incident_id: str | None


def _unit_out(request: Request, state) -> UnitOut:
    from bluelamp.tracking.index import CAPABILITY_BITS

    tracking = request.app.state.tracking
    return UnitOut(
        id=state.unit_id,
        call_sign=state.call_sign,
        unit_type=state.unit_type,
        status=state.status,
        marking=state.marking,
        capabilities=sorted(c.value for c, bit in CAPABILITY_BITS.items() if state.capabilities & bit),
        lat=state.lat,
        lon=state.lon,
        fix_at=state.fix_at,
        freshness=tracking.freshness(state),
        incident_id=state.incident_id,
    )


@router.get("/api/v1/units", response_model=list[UnitOut], tags=["tracking"], summary="Units of your force")
async def units(
    request: Request,
    status: str | None = None,
    capability: list[str] = Query(default=[]),
    caller: Caller = Depends(allow(Action.UNIT_READ)),
):
    """Every unit you may see, with its latest position, freshness and capabilities."""
    from bluelamp.tracking.index import capability_mask

    try:
        required = capability_mask(capability)
    except ValueError:
        raise InvalidInput("unknown capability", problems=[FieldProblem("capability", "unknown capability")]) from None
    allowed = set(markings_up_to(caller.actor.clearance))
    states = [s for s in request.app.state.tracking.index.snapshot(caller.actor.force_id) if s.marking in allowed]
    return [
        _unit_out(request, s)
        for s in sorted(states, key=lambda s: s.call_sign)
        if (status is None or s.status == status) and s.capabilities & required == required
    ]


@router.get("/api/v1/units/nearest", tags=["tracking"], summary="Nearest deployable units to a point")
async def nearest(
    request: Request,
    lat: float = Query(ge=-90, le=90),
    lon: float = Query(ge=-180, le=180),
    k: int = Query(5, ge=1, le=50),
    capability: list[str] = Query(default=[]),
    caller: Caller = Depends(allow(Action.UNIT_READ)),
):
    """The k nearest available units with every capability asked for, nearest first."""
    try:
        found = request.app.state.tracking.index.nearest(
            caller.actor.force_id,
            lat,
            lon,
            k,
            capabilities=capability,
            allowed_markings=markings_up_to(caller.actor.clearance),
        )
    except ValueError:
        raise InvalidInput("unknown capability", problems=[FieldProblem("capability", "unknown capability")]) from None
    return [{"distance_km": round(n.distance_km, 3), "unit": _unit_out(request, n.unit)} for n in found]


@router.get("/api/v1/units/{unit_id}", response_model=UnitOut, tags=["tracking"], summary="One unit")
def unit(request: Request, unit_id: str, db: Db, caller: Caller = Depends(allow(Action.UNIT_READ))):
    with db.read() as session:
        found = service.get_unit(session, caller.actor, unit_id)
    state = request.app.state.tracking.index.units.get(found.id)
    if state is None:
        request.app.state.tracking.refresh_unit(found.id)
        state = request.app.state.tracking.index.units[found.id]
    return _unit_out(request, state)


class StatusIn(BaseModel):
    status: str
    reason: str | None = None


@router.post(
    "/api/v1/units/{unit_id}/status", response_model=UnitOut, tags=["tracking"], summary="Change a unit's status"
)
def change_status(
    request: Request,
    unit_id: str,
    body: StatusIn,
    db: Db,
    clock: Now,
    caller: Caller = Depends(allow(Action.UNIT_STATUS)),
):
    """409 with the allowed statuses when the lifecycle does not allow the change."""
    with db.unit_of_work() as session:
        changed = service.change_status(session, caller.actor, unit_id, body.status, clock, reason=body.reason)
        # The incident follows its unit: en route acknowledges, at scene arrives, available releases.
        followed = dispatch.follow_unit_status(session, caller.actor, changed, clock)
    apply_status(request.app.state.tracking, changed, request.app.state.bus.publish)
    for event in followed.events if followed else []:
        request.app.state.bus.publish(event)
    return _unit_out(request, request.app.state.tracking.index.units[changed.unit.id])


@router.get("/api/v1/units/{unit_id}/trail", tags=["tracking"], summary="A unit's trail as GeoJSON")
def trail(
    request: Request,
    unit_id: str,
    db: Db,
    clock: Now,
    since: datetime | None = None,
    until: datetime | None = None,
    caller: Caller = Depends(allow(Action.UNIT_READ)),
):
    """Positions between two times (default: the last hour) as a GeoJSON FeatureCollection:
    a LineString of the route and a Point for each fix."""
    until = until or clock.now()
    since = since or until - timedelta(hours=1)
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput(
            "give times with a zone, e.g. 2026-11-28T14:00:00Z", problems=[FieldProblem("since", "needs a time zone")]
        )
    if since >= until:
        raise InvalidInput("since must be before until", problems=[FieldProblem("since", "before until")])
    request.app.state.tracking.writer.flush() if request.app.state.tracking.writer._thread is None else None
    with db.read() as session:
        found = service.get_unit(session, caller.actor, unit_id)
        fixes = queries.trail(session, found.id, since, until)
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {
                "at": p.fix_at.isoformat(),
                "speed_mps": p.speed_mps,
                "bearing": p.bearing,
                "accuracy_m": p.accuracy_m,
            },
        }
        for p in fixes
    ]
    features = []
    if len(fixes) >= 2:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in fixes]},
                "properties": {"call_sign": found.call_sign, "from": since.isoformat(), "to": until.isoformat()},
            }
        )
    return JSONResponse({"type": "FeatureCollection", "features": features + points}, media_type="application/geo+json")


# ---------------------------------------------------------------- emergencies


class EmergencyOut(BaseModel):
    id: str
    unit_id: str | None
    call_sign: str | None
    raised_at: datetime
    lat: float | None
    lon: float | None
    source: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@router.get(
    "/api/v1/emergencies",
    response_model=list[EmergencyOut],
    tags=["tracking"],
    summary="Open emergencies of your force",
)
def emergencies(request: Request, db: Db, caller: Caller = Depends(allow(Action.UNIT_READ))):
    index = request.app.state.tracking.index
    with db.read() as session:
        found = queries.open_emergencies(session, caller.actor)
    return [
        EmergencyOut(
            id=e.id,
            unit_id=e.unit_id,
            call_sign=index.units[e.unit_id].call_sign if e.unit_id in index.units else None,
            raised_at=e.raised_at,
            lat=e.lat,
            lon=e.lon,
            source=e.source,
            acknowledged_at=e.acknowledged_at,
            acknowledged_by=e.acknowledged_by,
        )
        for e in found
    ]


class AcknowledgeIn(BaseModel):
    note: str | None = None


@router.post("/api/v1/emergencies/{emergency_id}/acknowledge", tags=["tracking"], summary="Acknowledge an emergency")
def acknowledge(
    request: Request,
    emergency_id: str,
    db: Db,
    clock: Now,
    body: AcknowledgeIn | None = None,
    caller: Caller = Depends(allow(Action.EMERGENCY_ACKNOWLEDGE)),
):
    """Takes the emergency off the top of every screen; audited."""
    with db.unit_of_work() as session:
        emergency, event = service.acknowledge_emergency(
            session, caller.actor, emergency_id, clock, note=body.note if body else None
        )
    request.app.state.bus.publish(event)
    return Response(status_code=204)
