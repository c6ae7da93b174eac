"""JSON for the resources screens: the force's stations and geofence outlines (drawn on
the map when no tile server is reachable) and a unit's crew."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from bluelamp.access.policy import Action
from bluelamp.tracking import service
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()


class StationOut(BaseModel):
    id: str
    code: str
    name: str
    lat: float
    lon: float
    address: str | None


@router.get("/api/v1/stations", response_model=list[StationOut], tags=["tracking"], summary="Stations of your force")
def stations(db: Db, caller: Caller = Depends(allow(Action.UNIT_READ))):
    with db.read() as session:
        found = service.list_stations(session, caller.actor)
    return [StationOut(id=s.id, code=s.code, name=s.name, lat=s.lat, lon=s.lon, address=s.address) for s in found]


@router.get("/api/v1/geofences", tags=["tracking"], summary="Geofences of your force as GeoJSON")
def geofences(db: Db, caller: Caller = Depends(allow(Action.UNIT_READ))):
    """A FeatureCollection: each geofence's polygon, with its id, name and kind."""
    with db.read() as session:
        found = service.list_geofences(session, caller.actor)
        features = [
            {
                "type": "Feature",
                "id": g.id,
                "geometry": json.loads(g.geojson),
                "properties": {"id": g.id, "name": g.name, "kind": g.kind},
            }
            for g in found
        ]
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type="application/geo+json")


class CrewMemberOut(BaseModel):
    collar_number: str
    name: str
    rank: str
    skills: list[str]


@router.get(
    "/api/v1/units/{unit_id}/crew",
    response_model=list[CrewMemberOut],
    tags=["tracking"],
    summary="The officers crewing a unit now",
)
def crew(unit_id: str, db: Db, clock: Now, caller: Caller = Depends(allow(Action.UNIT_READ))):
    with db.read() as session:
        officers = service.unit_crew(session, caller.actor, unit_id, clock)
    return [
        CrewMemberOut(collar_number=o.collar_number, name=o.name, rank=o.rank, skills=list(o.skills or []))
        for o in officers
    ]
