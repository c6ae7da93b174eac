"""Neighbourhood boundaries: checked with shapely (the GEOS library), and the locator that
answers ``locate-neighbourhood``.

A boundary is held as data.police.uk gives it: one closed ring of ``[lat, lon]`` vertices,
the first repeated last. A ring with fewer than three distinct vertices, one that is not
closed, or one that crosses itself is refused, as is a polygon with holes or several parts
(the API has one ring per neighbourhood).

The locator keeps each force's boundaries as prepared geometries in an STR-tree, in the
worker process. It is told, on every lookup, a cheap stamp of each force's neighbourhoods
(how many, and the newest ``updated_at``: see ``service``, which makes every change move
it) and rebuilds only a force whose stamp moved: so a change made through another worker,
or the command line, is seen at the next lookup without any message between processes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput

BOUNDARY_INVALID = CATALOGUE.register(
    "neighbourhood.invalid_boundary",
    InvalidInput,
    "A neighbourhood boundary is one closed ring of at least three distinct vertices that does not cross itself "
    "(no holes, no second part), with latitudes and longitudes in range.",
)
# data.police.uk boundaries have up to about 2,000 vertices; ten times that is a generous cap.
MAX_VERTICES = 20_000


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=BOUNDARY_INVALID, problems=[FieldProblem(field, message)])


def boundary_polygon(ring: Any, field: str = "boundary") -> Polygon:
    """The polygon of a boundary given as ``[[lat, lon], ...]``, closed; InvalidInput
    (``neighbourhood.invalid_boundary``) naming what is wrong otherwise."""
    if not isinstance(ring, list | tuple):
        raise _refuse(field, "a boundary is a list of [latitude, longitude] vertices")
    if len(ring) > MAX_VERTICES:
        raise _refuse(field, f"a boundary has at most {MAX_VERTICES} vertices, not {len(ring)}")
    vertices: list[tuple[float, float]] = []
    for n, vertex in enumerate(ring):
        if (
            not isinstance(vertex, list | tuple)
            or len(vertex) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vertex)
        ):
            raise _refuse(field, f"vertex {n} is not a [latitude, longitude] pair of numbers")
        lat, lon = float(vertex[0]), float(vertex[1])
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise _refuse(field, f"vertex {n} ({lat}, {lon}) is out of range: use latitude, longitude in degrees")
        vertices.append((lat, lon))
    if len(set(vertices)) < 3:
        raise _refuse(field, "a boundary needs at least three distinct vertices")
    if vertices[0] != vertices[-1]:
        raise _refuse(field, "the ring is not closed: repeat the first vertex at the end")
    polygon = Polygon([(lon, lat) for lat, lon in vertices])
    if not polygon.is_valid:
        raise _refuse(field, f"the boundary is not a simple ring: {explain_validity(polygon)}")
    if polygon.area == 0:
        raise _refuse(field, "the boundary encloses no area")
    return polygon


def ring_from_geojson(geometry: Any, field: str = "geometry") -> list[list[float]]:
    """The ``[[lat, lon], ...]`` ring of a GeoJSON Polygon (whose positions are
    ``[lon, lat]``), checked as ``boundary_polygon`` checks it."""
    if not isinstance(geometry, dict):
        raise _refuse(field, "a neighbourhood needs a GeoJSON Polygon geometry")
    kind = geometry.get("type")
    if kind == "MultiPolygon":
        raise _refuse(field, "a neighbourhood boundary is one Polygon, not a MultiPolygon")
    if kind != "Polygon":
        raise _refuse(field, f"a neighbourhood boundary is a GeoJSON Polygon, not {kind!r}")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise _refuse(field, "the Polygon has no coordinates")
    if len(rings) > 1:
        raise _refuse(field, "a neighbourhood boundary has no holes: give the outer ring only")
    outer = rings[0]
    if not isinstance(outer, list):
        raise _refuse(field, "the Polygon's ring is not a list of positions")
    flipped = []
    for n, position in enumerate(outer):
        if not isinstance(position, list | tuple) or len(position) not in (2, 3):
            raise _refuse(field, f"position {n} is not [longitude, latitude]")
        flipped.append([position[1], position[0]])
    boundary_polygon(flipped, field)
    return [[float(lat), float(lon)] for lat, lon in flipped]


def centre_of(polygon: Polygon) -> tuple[float, float]:
    """A centre for a neighbourhood that has none: the centroid, or a point surely inside
    when the centroid falls outside (a crescent-shaped area). (lat, lon)."""
    point = polygon.centroid
    if not polygon.covers(point):
        point = polygon.representative_point()
    return point.y, point.x


@dataclass(frozen=True)
class _ForceArea:
    stamp: Hashable
    ids: tuple[str, ...]
    polygons: tuple[Polygon, ...]  # prepared, parallel to ids
    areas: tuple[float, ...]  # parallel to ids
    tree: shapely.STRtree
    bounds: tuple[float, float, float, float]


def _area(stamp: Hashable, boundaries: Iterable[tuple[str, list]]) -> _ForceArea | None:
    ids, polygons = [], []
    for neighbourhood_id, ring in boundaries:
        if not ring:
            continue
        polygons.append(Polygon([(lon, lat) for lat, lon in ring]))
        ids.append(neighbourhood_id)
    if not polygons:
        return None
    shapely.prepare(polygons)
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(polygons))
    tree = shapely.STRtree(polygons)
    areas = tuple(float(a) for a in shapely.area(polygons))
    return _ForceArea(stamp, tuple(ids), tuple(polygons), areas, tree, (minx, miny, maxx, maxy))


class NeighbourhoodLocator:
    """Which force's neighbourhood a point lies in; one per worker process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._areas: dict[str, _ForceArea | None] = {}
        self._stamps: dict[str, Hashable] = {}

    def refresh(self, stamps: dict[str, Hashable], load: Callable[[str], Iterable[tuple[str, list]]]) -> None:
        """Bring the cache up to date with ``stamps`` (force id -> stamp of its
        neighbourhoods), calling ``load(force_id)`` for each force whose stamp moved."""
        if stamps == self._stamps:
            return
        with self._lock:
            areas = {
                force_id: self._areas[force_id]
                if self._stamps.get(force_id) == stamp and force_id in self._areas
                else _area(stamp, load(force_id))
                for force_id, stamp in stamps.items()
            }
            self._areas, self._stamps = areas, dict(stamps)

    def find(self, lat: float, lon: float) -> tuple[str, str] | None:
        """(force id, neighbourhood id) of the area covering the point, or None. Where
        areas overlap (a town-centre beat drawn inside a wider area, two forces' edges)
        the smallest, the most specific, wins; a point on a shared edge goes to the first
        force and neighbourhood id in sort order."""
        best: tuple[float, str, str] | None = None
        for force_id, area in self._areas.items():  # one snapshot: refresh swaps the whole dict
            if area is None:
                continue
            minx, miny, maxx, maxy = area.bounds
            if not (minx <= lon <= maxx and miny <= lat <= maxy):
                continue
            for i in area.tree.query(shapely.Point(lon, lat)):
                if shapely.intersects_xy(area.polygons[i], lon, lat):
                    found = (area.areas[i], force_id, area.ids[i])
                    best = found if best is None else min(best, found)
        return None if best is None else (best[1], best[2])
