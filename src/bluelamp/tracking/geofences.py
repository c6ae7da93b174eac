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


GRID_DEG = 0.1  # the watcher's lookup cells, about 11 km by 7 km
WIDE_CELLS = 2500  # a geofence over more cells than this (25 by 25 km at least) is not filed per cell
_NOWHERE: frozenset[str] = frozenset()


class GeofenceWatcher:
    """Which geofences each unit is inside; crossings as fixes arrive.

    Each force's geofences are filed under the 0.1° cells their bounding boxes cover,
    so a fix is tested against the few geofences near it, not every one of the force."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[str, dict[tuple[int, int], list[tuple[str, tuple[float, float, float, float], Any]]]] = {}
        self._wide: dict[str, list[tuple[str, tuple[float, float, float, float], Any]]] = {}
        self._names: dict[str, str] = {}
        self._inside: dict[str, frozenset[str]] = {}

    def load(self, geofences: list[Geofence]) -> None:
        cells: dict[str, dict] = {}
        wide: dict[str, list] = {}
        for fence in geofences:
            geometry = shape(json.loads(fence.geojson))
            shapely.prepare(geometry)
            bounds = geometry.bounds
            entry = (fence.id, bounds, geometry)
            grid = cells.setdefault(fence.force_id, {})
            minx, miny, maxx, maxy = bounds
            rows = range(math.floor(miny / GRID_DEG), math.floor(maxy / GRID_DEG) + 1)
            columns = range(math.floor(minx / GRID_DEG), math.floor(maxx / GRID_DEG) + 1)
            if len(rows) * len(columns) > WIDE_CELLS:  # a whole region: checked for every fix instead
                wide.setdefault(fence.force_id, []).append(entry)
                continue
            for y in rows:
                for x in columns:
                    grid.setdefault((y, x), []).append(entry)
        for force_id, entries in wide.items():  # every cell of the force holds its wide geofences
            grid = cells.setdefault(force_id, {})
            for key in grid:
                grid[key] = grid[key] + entries
        with self._lock:
            self._cells = cells
            self._wide = wide
            self._names = {fence.id: fence.name for fence in geofences}

    def seed(self, unit_id: str, force_id: str, lat: float | None, lon: float | None) -> None:
        """Where a unit is at start, without raising events."""
        if lat is None or lon is None:
            return
        self._inside[unit_id] = self._containing(force_id, lat, lon)

    def check(self, unit_id: str, force_id: str, lat: float, lon: float, at: datetime) -> list[Crossing]:
        now_inside = self._containing(force_id, lat, lon)
        with self._lock:
            before = self._inside.get(unit_id, _NOWHERE)
            if now_inside == before:  # the usual case: no crossing
                return []
            self._inside[unit_id] = now_inside
        names = self._names
        return [Crossing(f, names.get(f, ""), unit_id, force_id, "enter", at) for f in sorted(now_inside - before)] + [
            Crossing(f, names.get(f, ""), unit_id, force_id, "leave", at) for f in sorted(before - now_inside)
        ]

    def _containing(self, force_id: str, lat: float, lon: float) -> frozenset[str]:
        grid = self._cells.get(force_id)
        near = grid.get((math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG))) if grid else None
        if near is None:
            near = self._wide.get(force_id)
            if not near:
                return _NOWHERE
        found = []
        point = None
        for fence_id, (minx, miny, maxx, maxy), geometry in near:
            if minx <= lon <= maxx and miny <= lat <= maxy:
                point = point or Point(lon, lat)
                if geometry.contains(point):
                    found.append(fence_id)
        return frozenset(found) if found else _NOWHERE
