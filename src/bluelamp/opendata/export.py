"""Export of the public data: any query's answer as CSV (the archive's own columns, as
data.police.uk's monthly files have them) or as GeoJSON (a FeatureCollection of Points, the
record's JSON fields as properties).

The API answers in these forms when asked with ``format=csv|geojson`` or an ``Accept`` of
``text/csv`` / ``application/geo+json`` (data.police.uk ignores parameters it does not know,
so its clients are unaffected); ``bluelamp opendata export`` writes them to a file.

Choices, documented in docs/opendata.md:
- CSV rows are the archive's: a month of a force exported whole is that month's archive file
  (crimes without a location have empty coordinates and ``No Location``). Stops carry the
  archive's 15 columns (no force column: the archive has none either).
- GeoJSON keeps records without a location, with ``"geometry": null`` (RFC 7946 3.2), so that
  the three forms of one query hold the same records. Each feature's ``location`` moves into
  its geometry (numbers, ``[lon, lat]``); its ``street`` (``{id, name}``) stays a property."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from bluelamp.errors import CATALOGUE, BadGateway, BadRequest, InvalidInput
from bluelamp.opendata import queries, vocabulary
from bluelamp.opendata.model import FileKind
from bluelamp.opendata.queries import category_name
from bluelamp.opendata.vocabulary import OUTCOME_CATEGORIES, month_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CATALOGUE.register("opendata.bad_kind", InvalidInput, "An export's kind is `street`, `outcomes` or `stops`.")

JSON, CSV, GEOJSON = "json", "csv", "geojson"
MEDIA_TYPES = {
    JSON: "application/json",
    CSV: "text/csv; charset=utf-8",
    GEOJSON: "application/geo+json",
}
_BY_MEDIA_TYPE = {
    "application/json": JSON,
    "text/csv": CSV,
    "application/geo+json": GEOJSON,
    "application/vnd.geo+json": GEOJSON,
    "*/*": JSON,
    "application/*": JSON,
    "text/*": CSV,
}


def wanted_format(format_param: str | None, accept: str | None) -> str:
    """The form an answer is wanted in: the ``format`` parameter when given (browsers cannot
    set ``Accept``), else the most preferred of ``Accept``'s media types that we serve, else
    JSON. An unknown ``format``: 400."""
    if format_param:
        wanted = format_param.strip().lower()
        if wanted not in MEDIA_TYPES:
            raise BadRequest(f"format must be json, csv or geojson, not {format_param!r}", code="opendata.bad_format")
        return wanted
    if not accept:
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *options = (part.strip() for part in item.split(";"))
        quality = 1.0
        for option in options:
            if option.startswith("q="):
                try:
                    quality = float(option[2:])
                except ValueError:
                    quality = 0.0
        served = _BY_MEDIA_TYPE.get(media.lower())
        if served is not None and quality > 0:
            ranked.append((-quality, position, served))
    return min(ranked)[2] if ranked else JSON


def filename(stem: str, fmt: str) -> str:
    """A download's file name: ``crimes-street-all-crime-2016-07.csv``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)
    return f"{safe}.{fmt}"


# ------------------------------------------------------------------ CSV


def _coordinate(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _boolean(value: bool | None) -> str:
    return "" if value is None else ("True" if value else "False")


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)  # the archive's dialect: commas, minimal quoting, CRLF
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _crime_columns(r: Any) -> tuple[str, ...]:
    """The nine columns ``-street.csv`` and ``-outcomes.csv`` begin alike with: Crime ID to LSOA name."""
    return (
        r.persistent_id or "",
        month_text(r.month),
        r.reported_by,
        r.falls_within,
        _coordinate(r.lon),
        _coordinate(r.lat),
        r.street_name if r.lat is not None else (r.street_name or "No Location"),
        r.lsoa_code,
        r.lsoa_name,
    )


def street_csv(rows: Iterable) -> bytes:
    """Street-level crime rows in the archive's ``-street.csv`` columns."""
    return _csv(
        vocabulary.STREET_COLUMNS,
        (
            (
                *_crime_columns(r),
                category_name(r.category),
                r.outcome_category or "",
                r.context or "",
            )
            for r in rows
        ),
    )


def outcomes_csv(rows: Iterable) -> bytes:
    """Outcome rows in the archive's ``-outcomes.csv`` columns."""
    return _csv(
        vocabulary.OUTCOME_COLUMNS,
        (
            (
                *_crime_columns(r),
                OUTCOME_CATEGORIES.get(r.category_code, r.category_code),
            )
            for r in rows
        ),
    )


def stops_csv(rows: Iterable) -> bytes:
    """Stop-and-search rows in the archive's ``-stop-and-search.csv`` columns."""
    return _csv(
        vocabulary.STOP_COLUMNS,
        (
            (
                r.type,
                r.at,
                _boolean(r.operation),
                r.operation_name or "",
                _coordinate(r.lat),
                _coordinate(r.lon),
                r.gender or "",
                r.age_range or "",
                r.self_defined_ethnicity or "",
                r.officer_defined_ethnicity or "",
                r.legislation or "",
                r.object_of_search or "",
                r.outcome or "",
                _boolean(r.outcome_linked),
                _boolean(r.removal_of_outer_clothing),
            )
            for r in rows
        ),
    )


# ------------------------------------------------------------------ GeoJSON


def feature(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON record (crime, outcome or stop) as a GeoJSON Feature: its ``location`` (or its
    crime's, for an outcome) becomes the Point geometry, or null when it has none."""
    properties = dict(record)
    holder = properties
    if "location" not in properties and isinstance(properties.get("crime"), dict):
        holder = properties["crime"] = dict(properties["crime"])
    location = holder.pop("location", None)
    geometry = None
    if location is not None:
        holder["street"] = location["street"]
        geometry = {"type": "Point", "coordinates": [float(location["longitude"]), float(location["latitude"])]}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def geojson(records: Iterable[dict[str, Any]]) -> bytes:
    """JSON records as a GeoJSON FeatureCollection (RFC 7946)."""
    return orjson.dumps({"type": "FeatureCollection", "features": [feature(r) for r in records]})


# ------------------------------------------------------------------ one query, exported (the CLI)

KINDS = ("street", "outcomes", "stops")


@dataclass(frozen=True)
class Exported:
    """An export: the file's bytes, how many records it holds, and the month."""

    body: bytes
    count: int
    month: int | None


def export_query(
    session: Session,
    kind: str,
    force_id: str,
    *,
    month: str | None = None,
    area: queries.Area | None = None,
    category: str | None = None,
    fmt: str = CSV,
) -> Exported:
    """A force's month of one kind (street crime, outcomes, stops and searches) as CSV or
    GeoJSON: the whole month (the archive file's rows, located or not), or only the rows in
    an area (``area``: a one-mile circle or a polygon; no result cap here). ``month``:
    ``YYYY-MM``, default the latest loaded; ``category``: street crime of one category."""
    if kind not in KINDS:
        raise InvalidInput(f"the kind is street, outcomes or stops, not {kind!r}", code="opendata.bad_kind")
    if fmt not in (CSV, GEOJSON):
        raise BadRequest(f"the format is csv or geojson, not {fmt!r}", code="opendata.bad_format")
    if not queries.force_exists(session, force_id):
        raise BadGateway(f"there is no force {force_id!r}", code="opendata.unknown_force")
    file_kind = {"street": FileKind.STREET, "outcomes": FileKind.OUTCOMES, "stops": FileKind.STOP_AND_SEARCH}[kind]
    asked = queries.resolve_month(session, file_kind, month)
    slug = queries.category_filter(category)
    if asked is None:
        rows: list = []
    elif kind == "street":
        rows = (
            queries.force_crimes(session, asked, force_id, category=slug)
            if area is None
            else queries.street_crimes(session, asked, area, category=slug)
        )
    elif kind == "outcomes":
        rows = (
            queries.force_outcomes(session, asked, force_id) if area is None else queries.outcomes(session, asked, area)
        )
    else:
        rows = queries.force_stops(session, asked, force_id) if area is None else queries.stops(session, asked, area)
    rows = [r for r in rows if r.force_id == force_id]
    if fmt == CSV:
        body = {"street": street_csv, "outcomes": outcomes_csv, "stops": stops_csv}[kind](rows)
    elif kind == "street":
        body = geojson(queries.crimes_json(rows))
    elif kind == "outcomes":
        body = geojson(queries.outcomes_at_location_json(session, rows))
    else:
        body = geojson(queries.stops_json(rows))
    return Exported(body, len(rows), asked)
