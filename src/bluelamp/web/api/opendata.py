"""The data.police.uk-compatible API under /api/: street-level crimes, outcomes, stops and
searches, categories and dates (the force and neighbourhood endpoints are in
``opendata_forces``). Open to everyone, rate-limited as data.police.uk is.

Paths, parameters, JSON shapes and status codes are data.police.uk's (police-uk-api.md); the
error bodies are our problem details. Every list also answers as CSV or GeoJSON
(``format=csv|geojson``, or ``Accept``: see ``opendata/export.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bluelamp.errors import BadGateway, BadRequest
from bluelamp.opendata import export, queries
from bluelamp.opendata.model import FileKind
from bluelamp.opendata.street_index import StreetIndex
from bluelamp.opendata.vocabulary import month_text
from bluelamp.storage import Database
from bluelamp.web.auth import public
from bluelamp.web.deps import Db
from bluelamp.web.ratelimit import open_data_limit

# Open data is read by web pages of any site, as data.police.uk's is (public, no credentials).
PUBLIC = {"Access-Control-Allow-Origin": "*"}
MAX_URL = 4094  # characters: data.police.uk refuses longer GETs with 400 (police-uk-api.md 1.2)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def url_within_limit(request: Request) -> None:
    """Refuse a URL over 4,094 characters with 400, as data.police.uk does (POST a form instead)."""
    length = len(request.scope.get("raw_path") or request.url.path.encode()) + len(request.scope["query_string"]) + 1
    if length > MAX_URL:
        raise BadRequest(
            f"the URL is {length:,} characters, over {MAX_URL:,}: send poly in a form POST",
            code="opendata.url_too_long",
        )


router = APIRouter(
    dependencies=[Depends(public), Depends(open_data_limit), Depends(url_within_limit)], tags=["open data"]
)


async def _params(request: Request) -> dict[str, str]:
    """The query parameters, with a POST's form fields over them. A POST body that is not a
    form (JSON, say): 400, as data.police.uk answers."""
    params = dict(request.query_params)
    if request.method == "POST":
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in FORM_TYPES:
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif media or await request.body():
            raise BadRequest(
                f"send the parameters as a form (application/x-www-form-urlencoded), not {media or 'a raw body'}",
                code="opendata.form_required",
            )
    return params


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type="application/json", headers=PUBLIC)


class Answer:
    """A list answer in the form asked for: JSON records, or the rows as CSV, or GeoJSON."""

    def __init__(self, request: Request, params: dict[str, str], stem: str) -> None:
        self.format = export.wanted_format(params.get("format"), request.headers.get("accept"))
        self.stem = stem

    def json(self, body: bytes) -> Response:
        return Response(body, media_type=export.MEDIA_TYPES[export.JSON], headers={**PUBLIC, "Vary": "Accept"})

    def __call__(
        self, rows: list, records: Callable[[], list[dict]], to_csv: Callable[[list], bytes], month: int | None
    ) -> Response:
        headers = {**PUBLIC, "Vary": "Accept"}
        if self.format == export.JSON:
            return Response(orjson.dumps(records()), media_type=export.MEDIA_TYPES[export.JSON], headers=headers)
        body = to_csv(rows) if self.format == export.CSV else export.geojson(records())
        stem = f"{self.stem}-{month_text(month)}" if month else self.stem
        headers["Content-Disposition"] = f'attachment; filename="{export.filename(stem, self.format)}"'
        return Response(body, media_type=export.MEDIA_TYPES[self.format], headers=headers)


def _cap(request: Request) -> int:
    return request.app.state.settings.opendata_result_cap


async def _in_thread(db: Database, work: Callable) -> Response:
    def run() -> Response:
        with db.read() as session:
            return work(session)

    return await run_in_threadpool(run)


# ------------------------------------------------------------------ crimes


@router.get("/api/crimes-street/{category}", summary="Street-level crimes within a mile of a point, or in an area")
@router.post("/api/crimes-street/{category}", summary="Street-level crimes in an area (form-encoded poly)")
async def crimes_street(category: str, request: Request, db: Db) -> Response:
    """``lat``/``lng`` (a one-mile radius) or ``poly=lat,lng:lat,lng:...``; ``date`` YYYY-MM
    (default: the latest month). An unknown category answers all crime."""
    params = await _params(request)
    answer = Answer(request, params, f"crimes-street-{category}")
    area = queries.area_from(params, poly=True)
    slug = queries.category_filter(category)
    cap = _cap(request)
    if answer.format == export.JSON and isinstance(area, queries.Circle) and db.dialect == "sqlite":
        # The common case, answered on the event loop when the month's index is fresh: the
        # read is three index ends of a local file (readers never wait in WAL mode) and the
        # rest is a few hundred microseconds of arithmetic, less than the hop to a thread.
        with db.read() as session:
            found = queries.bounds(session, FileKind.STREET)
        month = queries.month_asked(params.get("date"), found)
        if month is None:
            return answer.json(b"[]")
        index = _street_index(request).ready(month, found.max_id)
        if index is not None:
            return answer.json(index.json(index.select(area, slug, cap)))

    def work(session):
        found = queries.bounds(session, FileKind.STREET)
        month = queries.month_asked(params.get("date"), found)
        if answer.format == export.JSON and month is not None:
            index = _street_index(request).month(session, month, found.max_id)
            if index is not None:
                return answer.json(index.json(index.select(area, slug, cap)))
        rows = queries.street_crimes(session, month, area, category=slug, cap=cap)
        return answer(rows, lambda: queries.crimes_json(rows), export.street_csv, month)

    return await _in_thread(db, work)


def _street_index(request: Request) -> StreetIndex:
    """This worker's in-memory index of street-level crime (``opendata/street_index.py``)."""
    index = getattr(request.app.state, "opendata_street_index", None)
    if index is None:
        index = request.app.state.opendata_street_index = StreetIndex()
    return index


@router.get("/api/crimes-at-location", summary="Crimes at one map point")
async def crimes_at_location(request: Request, db: Db) -> Response:
    """``location_id`` (a map point: ``street.id``), or ``lat``/``lng`` (the nearest map
    point, within a mile); ``date``."""
    params = await _params(request)
    answer = Answer(request, params, "crimes-at-location")
    area = queries.area_from(params, point=False, location=True)

    def work(session):
        month = queries.resolve_month(session, FileKind.STREET, params.get("date"))
        rows = queries.street_crimes(session, month, area)
        return answer(rows, lambda: queries.crimes_json(rows), export.street_csv, month)

    return await _in_thread(db, work)


@router.get("/api/crimes-no-location", summary="A force's crimes that have no location")
async def crimes_no_location(request: Request, db: Db) -> Response:
    """``category`` (default all crime), ``force``, ``date``. An unknown force answers 502, as
    data.police.uk does."""
    params = await _params(request)
    force_id = _force_param(params)
    answer = Answer(request, params, f"crimes-no-location-{force_id}")
    slug = queries.category_filter(params.get("category"))

    def work(session):
        if not queries.force_exists(session, force_id):
            raise BadGateway(f"there is no force {force_id!r}", code="opendata.unknown_force")
        month = queries.resolve_month(session, FileKind.STREET, params.get("date"))
        rows = queries.unlocated_crimes(session, month, force_id, category=slug)
        return answer(rows, lambda: queries.crimes_json(rows), export.street_csv, month)

    return await _in_thread(db, work)


def _force_param(params: dict[str, str]) -> str:
    force_id = (params.get("force") or "").strip()
    if not force_id:
        raise BadRequest("say which force with force=", code="opendata.force_required")
    return force_id


@router.get("/api/crime-categories", summary="The crime categories of a month")
async def crime_categories(request: Request, db: Db) -> Response:
    """``[{url, name}]``: all crime first; older months have the categories of their time."""
    params = await _params(request)
    return await _in_thread(db, lambda session: _json(queries.categories(session, params.get("date"))))


@router.get("/api/crime-last-updated", summary="The latest month of crime loaded")
async def crime_last_updated(db: Db) -> Response:
    """``{date: "YYYY-MM-01"}``: the first day of the latest month of street-level crime."""
    return await _in_thread(db, lambda session: _json({"date": month_text(queries.last_updated(session)) + "-01"}))


@router.get("/api/crimes-street-dates", summary="The months available, newest first")
async def crimes_street_dates(db: Db) -> Response:
    """``[{date, "stop-and-search": [force ids]}]``, a rolling 36 months."""
    return await _in_thread(db, lambda session: _json(queries.street_dates(session)))


# ------------------------------------------------------------------ outcomes


@router.get("/api/outcomes-for-crime/{persistent_id}", summary="A crime and its outcomes")
async def outcomes_for_crime(persistent_id: str, request: Request, db: Db) -> Response:
    """``{crime, outcomes: [{category: {code, name}, date, person_id}]}``. An unknown or
    upper-case id: 404."""
    params = await _params(request)
    answer = Answer(request, params, f"outcomes-for-crime-{persistent_id[:16]}")

    def work(session):
        crime, rows = queries.outcomes_of_crime(session, persistent_id)
        if answer.format == export.JSON:
            return _json(queries.outcomes_for_crime_json(crime, rows))
        by_id = {persistent_id: crime} if crime is not None else {}
        return answer(
            rows,
            lambda: [queries.outcome_at_location_json(r, by_id.get(r.persistent_id)) for r in rows],
            export.outcomes_csv,
            None,
        )

    return await _in_thread(db, work)


@router.get("/api/outcomes-at-location", summary="Outcomes at a map point, near a point or in an area")
@router.post("/api/outcomes-at-location", summary="Outcomes in an area (form-encoded poly)")
async def outcomes_at_location(request: Request, db: Db) -> Response:
    """``location_id``, or ``lat``/``lng`` (a one-mile radius), or ``poly``; ``date``."""
    params = await _params(request)
    answer = Answer(request, params, "outcomes-at-location")
    area = queries.area_from(params, poly=True, location=True)
    cap = _cap(request)

    def work(session):
        month = queries.resolve_month(session, FileKind.OUTCOMES, params.get("date"))
        rows = queries.outcomes(session, month, area, cap=cap)
        return answer(rows, lambda: queries.outcomes_at_location_json(session, rows), export.outcomes_csv, month)

    return await _in_thread(db, work)


# ------------------------------------------------------------------ stops and searches


@router.get("/api/stops-street", summary="Stops and searches within a mile of a point, or in an area")
@router.post("/api/stops-street", summary="Stops and searches in an area (form-encoded poly)")
async def stops_street(request: Request, db: Db) -> Response:
    """``lat``/``lng`` (a one-mile radius) or ``poly``; ``date``."""
    params = await _params(request)
    answer = Answer(request, params, "stops-street")
    area = queries.area_from(params, poly=True)
    cap = _cap(request)

    def work(session):
        month = queries.resolve_month(session, FileKind.STOP_AND_SEARCH, params.get("date"))
        rows = queries.stops(session, month, area, cap=cap)
        return answer(rows, lambda: queries.stops_json(rows), export.stops_csv, month)

    return await _in_thread(db, work)


@router.get("/api/stops-at-location", summary="Stops and searches at one map point")
async def stops_at_location(request: Request, db: Db) -> Response:
    """``location_id``; ``date``. An unknown location answers an empty list, as data.police.uk."""
    params = await _params(request)
    answer = Answer(request, params, "stops-at-location")
    if "location_id" not in params:
        raise BadRequest("give location_id", code="opendata.location_required")
    area = queries.area_from(params, location=True)

    def work(session):
        month = queries.resolve_month(session, FileKind.STOP_AND_SEARCH, params.get("date"))
        rows = queries.stops(session, month, area)
        return answer(rows, lambda: queries.stops_json(rows), export.stops_csv, month)

    return await _in_thread(db, work)


@router.get("/api/stops-no-location", summary="A force's stops and searches that have no location")
async def stops_no_location(request: Request, db: Db) -> Response:
    """``force``, ``date``. An unknown force has none (an empty list)."""
    return await _force_stops(request, db, located=False, stem="stops-no-location")


@router.get("/api/stops-force", summary="All of a force's stops and searches in a month")
async def stops_force(request: Request, db: Db) -> Response:
    """``force``, ``date``: located or not. An unknown force answers an empty list, as data.police.uk."""
    return await _force_stops(request, db, located=None, stem="stops-force")


async def _force_stops(request: Request, db: Database, *, located: bool | None, stem: str) -> Response:
    params = await _params(request)
    force_id = _force_param(params)
    answer = Answer(request, params, f"{stem}-{force_id}")

    def work(session):
        month = queries.resolve_month(session, FileKind.STOP_AND_SEARCH, params.get("date"))
        rows = queries.force_stops(session, month, force_id, located=located)
        return answer(rows, lambda: queries.stops_json(rows), export.stops_csv, month)

    return await _in_thread(db, work)
