"""Open-data rows written through the models: map points, street-level crimes, outcomes,
stops and searches, and the months they make loaded. Real rows in the real database."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import insert

from bluelamp.opendata.model import FileKind, Month, Origin, Outcome, Point, Stop, StreetCrime
from bluelamp.storage import Database
from tests.factories.access import ensure_force

_numbers = itertools.count(1)
LOADED_AT = datetime(2026, 11, 1, tzinfo=UTC)
R = TypeVar("R", StreetCrime, Outcome, Stop)


def persistent_id(seed: str | int | None = None) -> str:
    """A data.police.uk-style crime id: 64 lower-case hex digits."""
    return hashlib.sha256(str(seed if seed is not None else next(_numbers)).encode()).hexdigest()


def _mark_loaded(session, force_id: str, month: int, kind: FileKind, rows: int) -> None:
    row = session.get(Month, (force_id, month, str(kind)))
    if row is None:
        session.add(
            Month(
                force_id=force_id,
                month=month,
                kind=str(kind),
                origin=Origin.IMPORT,
                rows=rows,
                source="factory",
                loaded_at=LOADED_AT,
                loaded_by="tests",
            )
        )
    else:
        row.rows += rows


def _add(session, row: R, kind: FileKind) -> R:
    """The row added, and its force's month of that kind marked loaded with it."""
    session.add(row)
    _mark_loaded(session, row.force_id, row.month, kind, 1)
    session.flush()
    return row


def _archive_location(point: Point | None) -> dict:
    """Where a crime or outcome stands, as the archive has it: on the point, or ``No Location``."""
    if point is None:
        return {
            "lat": None,
            "lon": None,
            "location_id": None,
            "street_name": "No Location",
            "lsoa_code": "",
            "lsoa_name": "",
        }
    located = {"lat": point.lat, "lon": point.lon, "location_id": point.id, "street_name": point.street_name}
    return located | {"lsoa_code": "E01011000", "lsoa_name": "Leeds 111A"}


def make_point(
    db: Database, lat: float, lon: float, street: str = "On or near High Street", *, force_id="west-yorkshire"
) -> int:
    """A map point; returns its id (the API's ``location_id``)."""
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        point = Point(force_id=force_id, lat=lat, lon=lon, street_name=street, origin=Origin.IMPORT)
        session.add(point)
        session.flush()
        return point.id


def make_crime(
    db: Database,
    *,
    month: int = 201607,
    category: str = "burglary",
    at: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    street: str = "On or near High Street",
    force_id: str = "west-yorkshire",
    persistent: str | None = "",
    outcome: str | None = None,
    outcome_month: int | None = None,
    context: str = "",
) -> StreetCrime:
    """One street-level crime. ``at`` (a point id) places it on that point; ``lat``/``lon``
    without ``at`` make a new point there; neither: no location. ``persistent`` "" makes a
    fresh id (for anything but anti-social behaviour); ``None`` leaves it empty."""
    ensure_force(db, force_id)
    if at is None and lat is not None:
        at = make_point(db, lat, lon, street, force_id=force_id)
    with db.unit_of_work() as session:
        point = session.get(Point, at) if at is not None else None
        if persistent == "":
            persistent = "" if category == "anti-social-behaviour" else persistent_id()
        crime = StreetCrime(
            force_id=force_id,
            month=month,
            persistent_id=persistent or "",
            category=category,
            **_archive_location(point),
            outcome_category=outcome,
            outcome_month=outcome_month,
            context=context,
            reported_by="West Yorkshire Police",
            falls_within="West Yorkshire Police",
            location_type="Force" if point else None,
            location_subtype="",
            origin=Origin.IMPORT,
        )
        return _add(session, crime, FileKind.STREET)


def make_outcome(
    db: Database,
    persistent: str,
    *,
    month: int = 201608,
    code: str = "unable-to-prosecute",
    at: int | None = None,
    force_id: str = "west-yorkshire",
) -> Outcome:
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        point = session.get(Point, at) if at is not None else None
        outcome = Outcome(
            force_id=force_id,
            month=month,
            persistent_id=persistent,
            category_code=code,
            **_archive_location(point),
            reported_by="West Yorkshire Police",
            falls_within="West Yorkshire Police",
            origin=Origin.IMPORT,
        )
        return _add(session, outcome, FileKind.OUTCOMES)


def make_stop(
    db: Database,
    *,
    month: int = 201611,
    at: int | None = None,
    force_id: str = "staffordshire",
    type: str = "Person search",
    outcome: str = "A no further action disposal",
    outcome_id: str | None = "bu-no-further-action",
    operation: bool | None = None,
    operation_name: str | None = None,
    outcome_linked: bool | None = None,
    removal: bool | None = False,
    gender: str | None = "Male",
    self_defined: str | None = "Other ethnic group - Not stated",
    officer_defined: str | None = None,
) -> Stop:
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        point = session.get(Point, at) if at is not None else None
        stop = Stop(
            force_id=force_id,
            month=month,
            at=f"{month // 100:04d}-{month % 100:02d}-06T22:45:00+00:00",
            type=type,
            involved_person=type != "Vehicle search",
            operation=operation,
            operation_name=operation_name,
            lat=point.lat if point else None,
            lon=point.lon if point else None,
            location_id=at,
            street_name=point.street_name if point else "",
            gender=gender,
            age_range="18-24",
            self_defined_ethnicity=self_defined,
            officer_defined_ethnicity=officer_defined,
            legislation="Misuse of Drugs Act 1971 (section 23)",
            object_of_search="Controlled drugs",
            outcome=outcome,
            outcome_id=outcome_id,
            outcome_linked=outcome_linked,
            removal_of_outer_clothing=removal,
            origin=Origin.IMPORT,
        )
        return _add(session, stop, FileKind.STOP_AND_SEARCH)


def bulk_crimes(
    db: Database,
    coordinates: list[tuple[float, float]],
    *,
    month: int = 201607,
    category: str = "burglary",
    force_id: str = "west-yorkshire",
) -> None:
    """Many located crimes at once (one point each), written in bulk: for the result cap."""
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        connection = session.connection()
        points = [
            {"force_id": force_id, "lat": lat, "lon": lon, "street_name": "On or near Bulk Street", "origin": "import"}
            for lat, lon in coordinates
        ]
        ids = connection.execute(insert(Point).returning(Point.id, sort_by_parameter_order=True), points).scalars()
        for point, point_id in zip(points, ids, strict=True):
            point["id"] = point_id
        connection.execute(
            insert(StreetCrime),
            [
                {
                    "force_id": force_id,
                    "month": month,
                    "persistent_id": persistent_id(f"bulk-{p['id']}"),
                    "category": category,
                    "lat": p["lat"],
                    "lon": p["lon"],
                    "location_id": p["id"],
                    "street_name": p["street_name"],
                    "location_type": "Force",
                    "origin": Origin.IMPORT,
                }
                for p in points
            ],
        )
        _mark_loaded(session, force_id, month, FileKind.STREET, len(points))
