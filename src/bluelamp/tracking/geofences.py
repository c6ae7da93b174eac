"""Geofences: stations and sectors as GeoJSON polygons; a unit crossing one raises an
enter or leave event.

Polygons are checked with shapely (the GEOS library): a self-intersecting ring or one
with fewer than three distinct corners is refused. The watcher keeps prepared
geometries in memory, tests a fix against a geofence's bounding box first, and
remembers which geofences each unit is inside.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import Point, shape
from shapely.validation import explain_validity

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem, InvalidInput
from bluelamp.tracking.model import Geofence, GeofenceKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATION_RADIUS_M = 150


def parse_polygon(geojson: str | dict[str, Any]):
    """A valid Polygon or MultiPolygon from GeoJSON (a geometry or a Feature); InvalidInput otherwise."""
    try:
        data = json.loads(geojson) if isinstance(geojson, str) else geojson
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        geometry = shape(data)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        raise InvalidInput(
            f"not a GeoJSON polygon: {exc}",
            code="geofence.invalid",
            problems=[FieldProblem("geojson", "not a GeoJSON polygon")],
        ) from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            f"a geofence is a Polygon or MultiPolygon, not a {geometry.geom_type}",
            code="geofence.invalid",
            problems=[FieldProblem("geojson", "must be a polygon")],
        )
    polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
    for polygon in polygons:
        if len(set(polygon.exterior.coords)) < 3:
            raise InvalidInput(
                "a polygon needs at least three distinct corners",
                code="geofence.invalid",
                problems=[FieldProblem("geojson", "fewer than three corners")],
            )
    if not geometry.is_valid:
        raise InvalidInput(
            f"the polygon is not valid: {explain_validity(geometry)}",
            code="geofence.invalid",
            problems=[FieldProblem("geojson", explain_validity(geometry))],
        )
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput(
            "coordinates out of range: use longitude, latitude in degrees",
            code="geofence.invalid",
            problems=[FieldProblem("geojson", "coordinates out of range")],
        )
    return geometry


def circle(lat: float, lon: float, radius_m: float, corners: int = 24) -> dict[str, Any]:
    """A GeoJSON polygon approximating a circle (for station geofences)."""
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * math.cos(math.radians(lat)))
    ring = [
        [
            round(lon + dlon * math.cos(2 * math.pi * i / corners), 7),
            round(lat + dlat * math.sin(2 * math.pi * i / corners), 7),
        ]
        for i in range(corners)
    ]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


@dataclass(frozen=True)
class AddGeofence:
    name: str
    kind: str
    geojson: str | dict[str, Any]
    force_id: str | None = None


def add_geofence(session: Session, actor: Actor, command: AddGeofence, clock: Clock) -> Geofence:
    """Register a geofence; its polygon must be valid."""
    require(actor, Action.UNIT_MANAGE)
    force_id = command.force_id or actor.force_id
    problems = []
    if not command.name.strip():
        problems.append(FieldProblem("name", "a geofence needs a name"))
    try:
        kind = GeofenceKind(command.kind).value
    except ValueError:
        problems.append(FieldProblem("kind", f"kind is one of {', '.join(k.value for k in GeofenceKind)}"))
        kind = command.kind
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    geometry = parse_polygon(command.geojson)
    geofence = Geofence(
        id=clock.new_id(),
        force_id=force_id,
        name=command.name.strip(),
        kind=kind,
        geojson=json.dumps(shapely.geometry.mapping(geometry)),
        created_at=clock.now(),
    )
    session.add(geofence)
    session.flush()
    audit.append(session, actor, Audit("geofence.create", record_type="geofence", record_id=geofence.id), clock)
    return geofence


@dataclass(frozen=True)
class Crossing:
    geofence_id: str
    name: str
    unit_id: str
    force_id: str
    event: str  # enter | leave
    at: datetime


class GeofenceWatcher:
    """Which geofences each unit is inside; crossings as fixes arrive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fences: dict[str, list[tuple[str, str, tuple[float, float, float, float], Any]]] = {}
        self._inside: dict[str, set[str]] = {}

    def load(self, geofences: list[Geofence]) -> None:
        fences: dict[str, list] = {}
        for fence in geofences:
            geometry = shape(json.loads(fence.geojson))
            shapely.prepare(geometry)
            fences.setdefault(fence.force_id, []).append((fence.id, fence.name, geometry.bounds, geometry))
        with self._lock:
            self._fences = fences

    def seed(self, unit_id: str, force_id: str, lat: float | None, lon: float | None) -> None:
        """Where a unit is at start, without raising events."""
        if lat is None or lon is None:
            return
        self._inside[unit_id] = self._containing(force_id, lat, lon)

    def check(self, unit_id: str, force_id: str, lat: float, lon: float, at: datetime) -> list[Crossing]:
        now_inside = self._containing(force_id, lat, lon)
        with self._lock:
            before = self._inside.get(unit_id, set())
            self._inside[unit_id] = now_inside
        names = {fid: name for fid, name, _, _ in self._fences.get(force_id, [])}
        return [Crossing(f, names.get(f, ""), unit_id, force_id, "enter", at) for f in sorted(now_inside - before)] + [
            Crossing(f, names.get(f, ""), unit_id, force_id, "leave", at) for f in sorted(before - now_inside)
        ]

    def _containing(self, force_id: str, lat: float, lon: float) -> set[str]:
        found = set()
        point = None
        for fence_id, _, (minx, miny, maxx, maxy), geometry in self._fences.get(force_id, []):
            if minx <= lon <= maxx and miny <= lat <= maxy:
                point = point or Point(lon, lat)
                if geometry.contains(point):
                    found.add(fence_id)
        return found
