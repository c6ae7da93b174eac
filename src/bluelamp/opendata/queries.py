"""The read side of open data: the public queries of data.police.uk's API (street-level
crimes, outcomes, stops and searches, categories and dates), with its parameters parsed and
its answers shaped exactly as data.police.uk gives them (police-uk-api.md 1.1 and 1.2).

Nothing here is personal data, and nothing here writes. The web layer
(``web/api/opendata.py``) and the export (``opendata/export.py``, ``bluelamp opendata
export``) call these functions; the JSON shapes are built here, once, for both.

How the area queries stay fast: a one-mile circle or a polygon is first cut to its bounding
box on the ``(month, lat)`` index (longitude filtered in the same scan), then the candidates
are tested exactly, vectorised (haversine for the circle, a prepared shapely polygon for a
polygon). A map point's rows are found through the point's own coordinates: a row's
``lat``/``lon`` are its point's (the importer and the publication both store them so).
``crimes-street`` in JSON is usually answered from memory instead (``street_index.py``)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Row, and_, select
from sqlalchemy.orm import Session

from bluelamp.access.model import Force
from bluelamp.errors import CATALOGUE, BadGateway, BadRequest, NotFound, Unavailable
from bluelamp.opendata.model import FileKind, Month, Outcome, Point, Stop, StreetCrime, persistent_key
from bluelamp.opendata.vocabulary import (
    CRIME_CATEGORIES,
    OUTCOME_CATEGORIES,
    RETIRED_CATEGORIES,
    crime_categories,
    month_text,
    parse_month,
)

for _code, _kind, _meaning in [
    ("opendata.bad_date", NotFound, "`date` is not a month `YYYY-MM`, or is before the first month loaded (404, as "
     "data.police.uk answers)."),
    ("opendata.bad_coordinates", BadRequest, "`lat` or `lng` is missing or not a number (400, as data.police.uk)."),
    ("opendata.bad_poly", NotFound, "`poly` is not `lat,lng:lat,lng:...` with numbers in range (404, as "
     "data.police.uk)."),
    ("opendata.poly_too_few_vertices", BadGateway, "`poly` has fewer than three distinct vertices (502, as "
     "data.police.uk answers a two-vertex polygon)."),
    ("opendata.poly_self_intersecting", BadRequest, "`poly` crosses itself (or has no area): not a polygon an area "
     "can be cut by. Reorder its vertices."),
    ("opendata.unknown_location", NotFound, "No map point has that `location_id`."),
    ("opendata.unknown_force", BadGateway, "No force has that id (`crimes-no-location` answers 502, as "
     "data.police.uk does)."),
    ("opendata.force_required", BadRequest, "Say which force with `force`."),
    ("opendata.location_required", BadRequest, "Say where: `location_id` (or `lat` and `lng` where the endpoint "
     "takes them)."),
    ("opendata.unknown_crime", NotFound, "No crime has that `persistent_id` (ids are 64 lower-case hex digits)."),
    ("opendata.too_many_results", Unavailable, "The custom area (`poly`) holds more results than "
     "`BLUELAMP_OPENDATA_RESULT_CAP` (10,000) in the month: cut it smaller (503, as data.police.uk)."),
    ("opendata.no_data", NotFound, "No open data is loaded yet: import an archive or publish a month."),
    ("opendata.url_too_long", BadRequest, "The URL is longer than 4,094 characters: send `poly` in a form POST."),
    ("opendata.form_required", BadRequest, "A POST body must be a form (`application/x-www-form-urlencoded`), "
     "not JSON (400, as data.police.uk)."),
    ("opendata.bad_format", BadRequest, "`format` is `json`, `csv` or `geojson`."),
]:  # fmt: skip
    CATALOGUE.register(_code, _kind, _meaning)

MILE_M = 1609.344
EARTH_RADIUS_M = 6_371_008.8
DATES_WINDOW = 36  # months: `crimes-street-dates` lists a rolling three years, as data.police.uk
NEAREST_POINT_M = MILE_M  # `crimes-at-location?lat&lng` snaps to a map point no further than this
_SAME_POINT = 1e-4  # degrees: a row's coordinates are its point's (slack for float rounding)
_PERSISTENT_ID = re.compile(r"[0-9a-f]{1,64}")

# ------------------------------------------------------------------ the area asked about


@dataclass(frozen=True)
class Circle:
    """Within ``radius_m`` of a point (the API's ``lat``/``lng``: one mile)."""

    lat: float
    lon: float
    radius_m: float = MILE_M


@dataclass(frozen=True)
class Polygon:
    """A custom area (the API's ``poly``): vertices as (lat, lon), closed."""

    vertices: tuple[tuple[float, float], ...]

    @property
    def shape(self) -> shapely.Polygon:
        return shapely.Polygon([(lon, lat) for lat, lon in self.vertices])


@dataclass(frozen=True)
class AtPoint:
    """At one map point (the API's ``location_id``, ``street.id``)."""

    location_id: int


@dataclass(frozen=True)
class NearestPoint:
    """At the map point nearest a place (``crimes-at-location?lat&lng``)."""

    lat: float
    lon: float


Area = Circle | Polygon | AtPoint | NearestPoint


def parse_point(lat: str | None, lng: str | None) -> tuple[float, float]:
    """``lat``/``lng`` as numbers; missing or non-numeric: 400, as data.police.uk answers."""
    if lat is None or lng is None or not lat.strip() or not lng.strip():
        raise BadRequest("give both lat and lng", code="opendata.bad_coordinates")
    try:
        point = float(lat), float(lng)
    except ValueError:
        raise BadRequest(
            f"lat and lng must be numbers, not {lat!r}, {lng!r}", code="opendata.bad_coordinates"
        ) from None
    if not all(math.isfinite(v) for v in point):
        raise BadRequest("lat and lng must be finite numbers", code="opendata.bad_coordinates")
    return point


def parse_poly(text: str) -> Polygon:
    """``lat,lng:lat,lng:...`` -> a closed polygon. Malformed: 404; fewer than three distinct
    vertices: 502 (both as data.police.uk answers); crossing itself: 400."""
    vertices: list[tuple[float, float]] = []
    for pair in text.strip().split(":"):
        parts = pair.split(",")
        try:
            if len(parts) != 2:
                raise ValueError(pair)
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            raise NotFound(
                f"poly must be lat,lng:lat,lng:...; {pair!r} is not lat,lng", code="opendata.bad_poly"
            ) from None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise NotFound(f"poly vertex {pair!r} is not a place on Earth", code="opendata.bad_poly")
        if not vertices or vertices[-1] != (lat, lon):
            vertices.append((lat, lon))
    if len(vertices) > 1 and vertices[0] == vertices[-1]:
        vertices.pop()
    if len(set(vertices)) < 3:
        raise BadGateway(
            f"poly needs at least three distinct vertices, not {len(set(vertices))}",
            code="opendata.poly_too_few_vertices",
        )
    polygon = Polygon((*vertices, vertices[0]))
    shape = polygon.shape
    if not shape.is_valid or shape.area == 0:
        raise BadRequest(
            f"poly is not a simple polygon ({shapely.is_valid_reason(shape)}): its edges must not cross",
            code="opendata.poly_self_intersecting",
        )
    return polygon


def parse_location_id(text: str | None) -> int | None:
    """A ``location_id``; ``None`` when it cannot be one (answered like an unknown id)."""
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def area_from(params: Mapping[str, str], *, poly: bool = False, point: bool = True, location: bool = False) -> Area:
    """The area a request names: ``location_id`` (where allowed), then ``poly`` (where
    allowed), then ``lat``/``lng`` (a one-mile circle, or the nearest map point where
    ``point`` is False)."""
    if location and "location_id" in params:
        location_id = parse_location_id(params["location_id"])
        return AtPoint(location_id if location_id is not None else 0)
    if location and not poly and "lat" not in params and "lng" not in params:
        raise BadRequest("give location_id, or lat and lng", code="opendata.location_required")
    if poly and "poly" in params:
        return parse_poly(params["poly"])
    lat, lon = parse_point(params.get("lat"), params.get("lng"))
    return Circle(lat, lon) if point else NearestPoint(lat, lon)


def category_filter(slug: str | None) -> str | None:
    """The crime category to filter by: ``None`` (all crime) for ``all-crime``, a missing
    or an unknown slug, as data.police.uk silently answers all crime."""
    if slug and slug != "all-crime" and (slug in CRIME_CATEGORIES or slug in RETIRED_CATEGORIES):
        return slug
    return None


# ------------------------------------------------------------------ months


_TABLE_OF_KIND = {FileKind.STREET: StreetCrime, FileKind.OUTCOMES: Outcome, FileKind.STOP_AND_SEARCH: Stop}


@dataclass(frozen=True)
class Bounds:
    """The months of one kind holding rows (``None`` when none do), and the largest row id
    (which grows with every row written: what the in-memory street index checks)."""

    first: int | None
    latest: int | None
    max_id: int | None


def bounds(session: Session, kind: FileKind) -> Bounds:
    """One look-up of three index ends (each a single-aggregate subquery, which SQLite and
    PostgreSQL answer from the end of an index rather than by a scan). Sent as plain SQL:
    it runs on every request of the API, and the statement is constant."""
    return Bounds(*session.connection().exec_driver_sql(_BOUNDS_SQL[kind]).one())


_BOUNDS_SQL = {
    kind: f"SELECT (SELECT min(month) FROM {t}), (SELECT max(month) FROM {t}), (SELECT max(id) FROM {t})"
    for kind, t in ((k, table.__tablename__) for k, table in _TABLE_OF_KIND.items())
}


def first_and_latest(session: Session, kind: FileKind) -> tuple[int | None, int | None]:
    """The first and the latest month holding rows of a kind (either ``None`` when none)."""
    found = bounds(session, kind)
    return found.first, found.latest


def month_asked(text: str | None, found: Bounds) -> int | None:
    """The month a request asks about: its ``date`` (``YYYY-MM``), or the latest month
    loaded when it gives none. Malformed, or before the first month loaded: 404 (as
    data.police.uk answers). ``None``: nothing of that kind is loaded (answers ``[]``).
    A month after the latest is returned as asked (it holds nothing: ``[]``)."""
    if text is None or text == "":
        return found.latest
    try:
        month = parse_month(text)
    except ValueError:
        raise NotFound(f"date must be a month YYYY-MM, not {text!r}", code="opendata.bad_date") from None
    if found.first is not None and month < found.first:
        raise NotFound(
            f"there is no data before {month_text(found.first)}; {text} is too early", code="opendata.bad_date"
        )
    return month


def resolve_month(session: Session, kind: FileKind, text: str | None) -> int | None:
    """``month_asked`` against the months of ``kind`` loaded."""
    return month_asked(text, bounds(session, kind))


def month_loads(session: Session, month: int, kind: FileKind) -> tuple[tuple, ...]:
    """What was loaded for a month of a kind: ((force, loaded_at, rows), ...), changing with
    every import or publication of it (the in-memory street index rechecks it)."""
    return tuple(
        _execute(
            session,
            select(Month.force_id, Month.loaded_at, Month.rows)
            .where(Month.month == month, Month.kind == str(kind))
            .order_by(Month.force_id),
        ).all()
    )


def _execute(session: Session, statement):
    """Run a Core statement on the session's connection (no ORM work per row)."""
    return session.connection().execute(statement)


def last_updated(session: Session) -> int:
    """The latest month of street-level crime loaded (``crime-last-updated``)."""
    latest = first_and_latest(session, FileKind.STREET)[1]
    if latest is None:
        raise NotFound("no street-level crime is loaded yet", code="opendata.no_data")
    return latest


def street_dates(session: Session) -> list[dict[str, Any]]:
    """``crimes-street-dates``: the months loaded, newest first, in the rolling 36 months up
    to the latest, each with the forces whose stops and searches are loaded for it."""
    rows = _execute(session, select(Month.month, Month.kind, Month.force_id)).all()
    months = {m for m, kind, _ in rows if kind in (FileKind.STREET, FileKind.STOP_AND_SEARCH)}
    if not months:
        return []
    latest = max(months)
    oldest = _add_months(latest, -(DATES_WINDOW - 1))
    stops: dict[int, set[str]] = {}
    for m, kind, force_id in rows:
        if kind == FileKind.STOP_AND_SEARCH:
            stops.setdefault(m, set()).add(force_id)
    return [
        {"date": month_text(m), "stop-and-search": sorted(stops.get(m, ()))}
        for m in sorted(months, reverse=True)
        if m >= oldest
    ]


def categories(session: Session, text: str | None) -> list[dict[str, str]]:
    """``crime-categories``: the categories of a month (today's when no date is given)."""
    month = resolve_month(session, FileKind.STREET, text) if text else None
    return crime_categories(month)


def _add_months(month: int, n: int) -> int:
    index = (month // 100) * 12 + (month % 100 - 1) + n
    return (index // 12) * 100 + index % 12 + 1


# ------------------------------------------------------------------ forces and points


def force_exists(session: Session, force_id: str) -> bool:
    return session.get(Force, force_id) is not None


def point_at(session: Session, location_id: int) -> tuple[int, float, float] | None:
    """A map point's (id, lat, lon), or ``None`` when there is none with that id."""
    row = _execute(session, select(Point.id, Point.lat, Point.lon).where(Point.id == location_id)).first()
    return None if row is None else row._tuple()


def nearest_point(session: Session, lat: float, lon: float, within_m: float = NEAREST_POINT_M):
    """The map point nearest a place, no further than ``within_m``: (id, lat, lon) or ``None``."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    south, north, west, east = bbox(lat, lon, within_m)
    rows = _execute(
        session,
        select(Point.id, Point.lat, Point.lon).where(Point.lat.between(south, north), Point.lon.between(west, east)),
    ).all()
    best, best_d = None, within_m
    for row in rows:
        d = distance_m(lat, lon, row[1], row[2])
        if d <= best_d:
            best, best_d = row._tuple(), d
    return best


# ------------------------------------------------------------------ geometry


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of a circle, a little generous."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.0001
    dlon = dlat / max(math.cos(math.radians(min(89.9, abs(lat)) + dlat)), 1e-9)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def circle_test(circle: Circle):
    """A test of rows' (lat, lon) arrays for being within the circle (vectorised haversine)."""
    lat0, lon0 = math.radians(circle.lat), math.radians(circle.lon)
    cos0 = math.cos(lat0)
    limit = math.sin(circle.radius_m / (2 * EARTH_RADIUS_M)) ** 2

    def inside(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        p = np.radians(lats)
        a = np.sin((p - lat0) / 2) ** 2 + cos0 * np.cos(p) * np.sin((np.radians(lons) - lon0) / 2) ** 2
        return a <= limit

    return inside


def polygon_test(polygon: Polygon):
    shape = polygon.shape
    shapely.prepare(shape)

    def inside(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        return shapely.intersects_xy(shape, lons, lats)  # the boundary counts as inside

    return inside


# ------------------------------------------------------------------ the row queries

STREET_COLUMNS = (
    StreetCrime.id,
    StreetCrime.month,
    StreetCrime.persistent_id,
    StreetCrime.category,
    StreetCrime.lat,
    StreetCrime.lon,
    StreetCrime.location_id,
    StreetCrime.street_name,
    StreetCrime.outcome_category,
    StreetCrime.outcome_month,
    StreetCrime.context,
    StreetCrime.location_type,
    StreetCrime.location_subtype,
    StreetCrime.force_id,
    StreetCrime.reported_by,
    StreetCrime.falls_within,
    StreetCrime.lsoa_code,
    StreetCrime.lsoa_name,
)
OUTCOME_COLUMNS = (
    Outcome.id,
    Outcome.month,
    Outcome.persistent_id,
    Outcome.category_code,
    Outcome.lat,
    Outcome.lon,
    Outcome.location_id,
    Outcome.street_name,
    Outcome.force_id,
    Outcome.reported_by,
    Outcome.falls_within,
    Outcome.lsoa_code,
    Outcome.lsoa_name,
)
STOP_COLUMNS = (
    Stop.id,
    Stop.month,
    Stop.at,
    Stop.type,
    Stop.involved_person,
    Stop.operation,
    Stop.operation_name,
    Stop.lat,
    Stop.lon,
    Stop.location_id,
    Stop.street_name,
    Stop.gender,
    Stop.age_range,
    Stop.self_defined_ethnicity,
    Stop.officer_defined_ethnicity,
    Stop.legislation,
    Stop.object_of_search,
    Stop.outcome,
    Stop.outcome_id,
    Stop.outcome_linked,
    Stop.removal_of_outer_clothing,
    Stop.force_id,
)
_COLUMNS = {StreetCrime: STREET_COLUMNS, Outcome: OUTCOME_COLUMNS, Stop: STOP_COLUMNS}
_LAT_LON = {StreetCrime: itemgetter(4, 5), Outcome: itemgetter(4, 5), Stop: itemgetter(7, 8)}  # in the rows above
_BY_ID = itemgetter(0)


def _in_area(
    session: Session, table, month: int, area: Area, where: Sequence, cap: int | None, not_found: bool
) -> list[Row]:
    """The month's rows of ``table`` in ``area`` (and ``where``), ordered by id. A custom
    area (polygon) with more than ``cap`` rows: 503. ``not_found``: an unknown map point
    answers 404 (crimes, outcomes) rather than ``[]`` (stops)."""
    columns = _COLUMNS[table]
    if isinstance(area, AtPoint | NearestPoint):
        point = (
            point_at(session, area.location_id)
            if isinstance(area, AtPoint)
            else nearest_point(session, area.lat, area.lon)
        )
        if point is None:
            if isinstance(area, AtPoint) and not_found:
                raise NotFound(f"there is no location {area.location_id}", code="opendata.unknown_location")
            return []
        location_id, lat, _ = point
        rows = _execute(
            session,
            select(*columns).where(
                table.month == month,
                table.lat.between(lat - _SAME_POINT, lat + _SAME_POINT),
                table.location_id == location_id,
                *where,
            ),
        ).all()
        rows.sort(key=_BY_ID)
        return rows
    if isinstance(area, Circle):
        if not (-90 <= area.lat <= 90 and -180 <= area.lon <= 180):
            return []  # outside coverage: data.police.uk answers 200 []
        south, north, west, east = bbox(area.lat, area.lon, area.radius_m)
        inside = circle_test(area)
        cap = None
    else:
        west, south, east, north = area.shape.bounds
        inside = polygon_test(area)
    statement = select(*columns).where(
        table.month == month, table.lat.between(south, north), table.lon.between(west, east), *where
    )
    found: list[Row] = []
    lat_lon = _LAT_LON[table]
    result = _execute(session, statement.execution_options(yield_per=4000))
    for batch in result.partitions():
        coordinates = np.array([lat_lon(r) for r in batch], dtype=float).reshape(-1, 2)
        keep = inside(coordinates[:, 0], coordinates[:, 1])
        found.extend(row for row, kept in zip(batch, keep.tolist(), strict=True) if kept)
        if cap is not None and len(found) > cap:
            result.close()
            raise Unavailable(
                f"the area holds more than {cap:,} results in {month_text(month)}: ask for a smaller area",
                code="opendata.too_many_results",
            )
    found.sort(key=_BY_ID)
    return found


def street_crimes(
    session: Session, month: int | None, area: Area, *, category: str | None = None, cap: int | None = None
) -> list[Row]:
    """Street-level crimes of a month in an area (``crimes-street``, ``crimes-at-location``),
    optionally of one category (a slug; ``None``: all crime)."""
    if month is None:
        return []
    where = [StreetCrime.category == category] if category else []
    return _in_area(session, StreetCrime, month, area, where, cap, not_found=True)


def located_month(session: Session, month: int) -> list[Row]:
    """Every located street-level crime of a month (what the in-memory index holds)."""
    return list(
        _execute(session, select(*STREET_COLUMNS).where(StreetCrime.month == month, StreetCrime.lat.is_not(None))).all()
    )


def unlocated_crimes(session: Session, month: int | None, force_id: str, *, category: str | None = None) -> list[Row]:
    """A force's crimes of a month that have no location (``crimes-no-location``)."""
    if month is None:
        return []
    where = [StreetCrime.force_id == force_id, StreetCrime.month == month, StreetCrime.lat.is_(None)]
    if category:
        where.append(StreetCrime.category == category)
    return list(_execute(session, select(*STREET_COLUMNS).where(*where).order_by(StreetCrime.id)).all())


def force_crimes(session: Session, month: int, force_id: str, *, category: str | None = None) -> list[Row]:
    """A force's whole month of street-level crime, located or not (the archive file)."""
    where = [StreetCrime.force_id == force_id, StreetCrime.month == month]
    if category:
        where.append(StreetCrime.category == category)
    return list(_execute(session, select(*STREET_COLUMNS).where(*where).order_by(StreetCrime.id)).all())


def crime_by_persistent_id(session: Session, persistent_id: str) -> Row | None:
    """The street-level crime with that id (its latest month), or ``None``."""
    return _execute(
        session,
        select(*STREET_COLUMNS)
        .where(
            StreetCrime.persistent_key == persistent_key(persistent_id),  # the indexed key, then the id itself
            StreetCrime.persistent_id == persistent_id,
        )
        .order_by(StreetCrime.month.desc(), StreetCrime.id.desc())
        .limit(1),
    ).first()


def outcomes_of_crime(session: Session, persistent_id: str) -> tuple[Row | None, list[Row]]:
    """``outcomes-for-crime``: the crime and its outcomes, oldest first. 404 for an unknown
    id, and for an upper-case one (ids are lower-case hex), as data.police.uk answers."""
    if not _PERSISTENT_ID.fullmatch(persistent_id):
        raise NotFound(f"there is no crime {persistent_id!r}", code="opendata.unknown_crime")
    crime = crime_by_persistent_id(session, persistent_id)
    outcomes = list(
        _execute(
            session,
            select(*OUTCOME_COLUMNS)
            .where(Outcome.persistent_key == persistent_key(persistent_id), Outcome.persistent_id == persistent_id)
            .order_by(Outcome.month, Outcome.id),
        ).all()
    )
    if crime is None and not outcomes:
        raise NotFound(f"there is no crime {persistent_id!r}", code="opendata.unknown_crime")
    return crime, outcomes


def outcomes(session: Session, month: int | None, area: Area, *, cap: int | None = None) -> list[Row]:
    """Outcomes recorded in a month in an area (``outcomes-at-location``)."""
    if month is None:
        return []
    return _in_area(session, Outcome, month, area, [], cap, not_found=True)


def force_outcomes(session: Session, month: int, force_id: str) -> list[Row]:
    """A force's whole month of outcomes (the archive file)."""
    return list(
        _execute(
            session,
            select(*OUTCOME_COLUMNS).where(Outcome.force_id == force_id, Outcome.month == month).order_by(Outcome.id),
        ).all()
    )


def crimes_of_outcomes(session: Session, rows: Iterable[Row]) -> dict[str, Row]:
    """The street-level crimes the outcomes are of, by persistent id (those loaded)."""
    wanted_set = {r.persistent_id for r in rows if r.persistent_id}
    wanted = sorted(wanted_set)
    found: dict[str, Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in _execute(
            session,
            select(*STREET_COLUMNS)
            .where(StreetCrime.persistent_key.in_(sorted({persistent_key(pid) for pid in chunk})))
            .order_by(StreetCrime.month),
        ):
            if row.persistent_id in wanted_set:  # not another crime sharing a key
                found[row.persistent_id] = row  # the latest month wins
    return found


def stops(session: Session, month: int | None, area: Area, *, cap: int | None = None) -> list[Row]:
    """Stops and searches of a month in an area (``stops-street``, ``stops-at-location``:
    an unknown location answers ``[]``, as data.police.uk)."""
    if month is None:
        return []
    return _in_area(session, Stop, month, area, [], cap, not_found=False)


def force_stops(session: Session, month: int | None, force_id: str, *, located: bool | None = None) -> list[Row]:
    """A force's stops and searches of a month: all (``stops-force``), or only those without a
    location (``stops-no-location``, ``located=False``). An unknown force has none."""
    if month is None:
        return []
    where = [Stop.force_id == force_id, Stop.month == month]
    if located is False:
        where.append(Stop.lat.is_(None))
    elif located:
        where.append(Stop.lat.is_not(None))
    return list(_execute(session, select(*STOP_COLUMNS).where(and_(*where)).order_by(Stop.id)).all())


# ------------------------------------------------------------------ the JSON shapes


def _location(lat: float | None, lon: float | None, location_id: int | None, street_name: str) -> dict | None:
    if lat is None or lon is None:
        return None
    return {"latitude": f"{lat:.6f}", "street": {"id": location_id, "name": street_name}, "longitude": f"{lon:.6f}"}


def crime_json(row: Sequence, *, outcome_status: bool = True) -> dict[str, Any]:
    """A street-level crime (a row of ``STREET_COLUMNS``) as data.police.uk gives it:
    coordinates as strings, ``persistent_id`` "" for anti-social behaviour,
    ``outcome_status`` a display name and month (or null). When the archive gives no outcome
    month, the crime's month stands in."""
    (id_, month, pid, category, lat, lon, location_id, street, outcome, outcome_month, context, kind, subtype) = row[
        :13
    ]
    located = lat is not None
    crime: dict[str, Any] = {
        "category": category,
        "location_type": kind if located else None,
        "location": {
            "latitude": f"{lat:.6f}",
            "street": {"id": location_id, "name": street},
            "longitude": f"{lon:.6f}",
        }
        if located
        else None,
        "context": context or "",
    }
    if outcome_status:
        crime["outcome_status"] = {"category": outcome, "date": month_text(outcome_month or month)} if outcome else None
    crime["persistent_id"] = pid or ""
    crime["id"] = id_
    crime["location_subtype"] = subtype or ""
    crime["month"] = month_text(month)
    return crime


def crimes_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [crime_json(r) for r in rows]


def _outcome_category(code: str) -> dict[str, str]:
    return {"code": code, "name": OUTCOME_CATEGORIES.get(code, code)}


def outcome_json(row: Row) -> dict[str, Any]:
    """One outcome in ``outcomes-for-crime``: ``{category: {code, name}, date, person_id}``."""
    return {"category": _outcome_category(row.category_code), "date": month_text(row.month), "person_id": None}


def outcome_at_location_json(row: Row, crime: Row | None) -> dict[str, Any]:
    """One outcome in ``outcomes-at-location``, with its crime (without ``outcome_status``).
    When the crime's own month is not loaded, what the outcome row knows stands in: its
    location and id, with ``category``, ``id`` and ``month`` null."""
    if crime is not None:
        crime_part = crime_json(crime, outcome_status=False)
    else:
        crime_part = {
            "category": None,
            "location_type": "Force" if row.lat is not None else None,
            "location": _location(row.lat, row.lon, row.location_id, row.street_name),
            "context": "",
            "persistent_id": row.persistent_id,
            "id": None,
            "location_subtype": "",
            "month": None,
        }
    return {
        "category": _outcome_category(row.category_code),
        "date": month_text(row.month),
        "person_id": None,
        "crime": crime_part,
    }


def outcomes_at_location_json(session: Session, rows: list[Row]) -> list[dict[str, Any]]:
    crimes = crimes_of_outcomes(session, rows)
    return [outcome_at_location_json(r, crimes.get(r.persistent_id)) for r in rows]


def outcomes_for_crime_json(crime: Row | None, outcome_rows: list[Row]) -> dict[str, Any]:
    """``{crime: {...without outcome_status} | null, outcomes: [...]}``; ``crime`` is null only
    when outcomes are loaded for a crime whose own month is not."""
    return {
        "crime": crime_json(crime, outcome_status=False) if crime is not None else None,
        "outcomes": [outcome_json(r) for r in outcome_rows],
    }


def stop_json(row: Row) -> dict[str, Any]:
    """A stop and search as data.police.uk gives it: booleans and nulls as published,
    ``outcome`` "" when none, ``outcome_object`` ``{id, name}`` (id "" when the outcome has
    no id today)."""
    return {
        "age_range": row.age_range,
        "outcome": row.outcome or "",
        "involved_person": bool(row.involved_person),
        "self_defined_ethnicity": row.self_defined_ethnicity,
        "gender": row.gender,
        "legislation": row.legislation,
        "outcome_linked_to_object_of_search": row.outcome_linked,
        "datetime": row.at,
        "removal_of_more_than_outer_clothing": row.removal_of_outer_clothing,
        "outcome_object": {"id": row.outcome_id or "", "name": row.outcome or ""},
        "location": _location(row.lat, row.lon, row.location_id, row.street_name),
        "operation": row.operation,
        "officer_defined_ethnicity": row.officer_defined_ethnicity,
        "type": row.type,
        "operation_name": row.operation_name,
        "object_of_search": row.object_of_search,
    }


def stops_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [stop_json(r) for r in rows]


def category_name(slug: str) -> str:
    """A crime category's display name (the archive's ``Crime type``)."""
    return CRIME_CATEGORIES.get(slug) or RETIRED_CATEGORIES.get(slug) or slug
