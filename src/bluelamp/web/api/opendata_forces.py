"""The data.police.uk-compatible force and neighbourhood endpoints under /api/: forces,
their senior officers, neighbourhoods with boundaries, teams, events and priorities, and
locate-neighbourhood. Registered after ``opendata`` so that its two-segment paths
(``/api/{force}/{neighbourhood}``) never shadow ``/api/crimes-street/{category}``.

The ``{force}`` segment of the catch-all paths never matches a reserved first segment
(``v1``, ``forces``, ``crimes-street``, ...): routers registered after this one (the
signed-in ``/api/v1/neighbourhoods/...``) and any data.police.uk path added later still
reach their own routes, and a wrong method on one of them still answers 405, not 404.

Bodies are built by ``opendata.neighbourhoods.public`` in data.police.uk's exact shape and
sent as they are (the models below document them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor

from bluelamp.access.paths import RESERVED_FORCE_IDS
from bluelamp.opendata.neighbourhoods import public as opendata_public
from bluelamp.opendata.neighbourhoods.geometry import NeighbourhoodLocator
from bluelamp.storage import Database
from bluelamp.web.auth import public
from bluelamp.web.deps import Db, Now
from bluelamp.web.ratelimit import open_data_limit

router = APIRouter(dependencies=[Depends(public), Depends(open_data_limit)], tags=["open data"])


class ForceSegment(Convertor[str]):
    """A ``{force}`` path segment that is not one of the reserved first segments."""

    regex = "(?!(?:" + "|".join(RESERVED_FORCE_IDS) + ")/)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("opendata_force", ForceSegment())


def _read(db: Database, build: Callable[..., Any], *args: Any) -> Response:
    """``build(session, *args)``'s body (``opendata_public`` builds it in data.police.uk's
    shape), read in one transaction and sent as JSON."""
    with db.read() as session:
        return Response(orjson.dumps(build(session, *args)), media_type="application/json")


def _locator(request: Request) -> NeighbourhoodLocator:
    """This worker's locator (built at first use: the app starts without it)."""
    locator = getattr(request.app.state, "neighbourhood_locator", None)
    if locator is None:
        locator = request.app.state.neighbourhood_locator = NeighbourhoodLocator()
    return locator


# ---------------------------------------------------------------- documented shapes


class ForceSummaryOut(BaseModel):
    id: str = Field(examples=["staffordshire"])
    name: str = Field(examples=["Staffordshire Police"])


class EngagementMethodOut(BaseModel):
    title: str
    url: str | None
    description: str | None
    type: str | None


class ForceOut(ForceSummaryOut):
    url: str | None
    telephone: str | None
    description: str | None = Field(description="HTML")
    engagement_methods: list[EngagementMethodOut]


class PersonOut(BaseModel):
    name: str
    rank: str
    bio: str | None
    contact_details: dict[str, str]


class NeighbourhoodSummaryOut(BaseModel):
    id: str
    name: str


class PointOut(BaseModel):
    latitude: str = Field(examples=["52.806000"])
    longitude: str = Field(examples=["-2.117000"])


class LinkOut(BaseModel):
    url: str
    description: str | None
    title: str


class LocationOut(BaseModel):
    name: str
    type: str | None
    description: str | None
    address: str | None
    postcode: str | None
    latitude: str | None
    longitude: str | None


class NeighbourhoodOut(NeighbourhoodSummaryOut):
    url_force: str | None
    contact_details: dict[str, str]
    centre: PointOut
    population: str = Field(examples=["70000"])
    description: str | None = Field(None, description="HTML; absent when there is none")
    links: list[LinkOut]
    locations: list[LocationOut]


class EventOut(BaseModel):
    title: str
    type: str
    description: str | None = Field(description="HTML")
    address: str | None
    start_date: str = Field(description="UK local time without a zone", examples=["2024-02-01T18:00:00"])
    end_date: str | None
    contact_details: dict[str, str]


class PriorityOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    issue: str = Field(description="HTML")
    issue_date: str = Field(alias="issue-date", examples=["2024-01-15T00:00:00"])
    action: str | None = Field(description="HTML; null when nothing is recorded yet")
    action_date: str | None = Field(alias="action-date")


class LocatedOut(BaseModel):
    force: str = Field(examples=["staffordshire"])
    neighbourhood: str = Field(examples=["stafford"])


def _doc(model) -> dict:
    return {200: {"model": model}}


# ---------------------------------------------------------------- forces


@router.get("/api/forces", responses=_doc(list[ForceSummaryOut]), summary="Forces on this platform")
def forces(db: Db):
    return _read(db, opendata_public.forces)


@router.get("/api/forces/{force}", responses=_doc(ForceOut), summary="A force's public profile")
def force(force: str, db: Db):
    return _read(db, opendata_public.force, force)


@router.get("/api/forces/{force}/people", responses=_doc(list[PersonOut]), summary="A force's senior officers")
def force_people(force: str, db: Db):
    return _read(db, opendata_public.force_people, force)


@router.get(
    "/api/locate-neighbourhood",
    responses={**_doc(LocatedOut), 400: {"description": "q is not lat,lng"}, 404: {"description": "Outside coverage"}},
    summary="The neighbourhood covering a point",
)
def locate_neighbourhood(
    request: Request, db: Db, q: str | None = Query(None, description="latitude,longitude", examples=["52.806,-2.117"])
):
    return _read(db, opendata_public.locate, _locator(request), q)


# ---------------------------------------------------------------- neighbourhoods


@router.get(
    "/api/{force:opendata_force}/neighbourhoods",
    responses=_doc(list[NeighbourhoodSummaryOut]),
    summary="A force's neighbourhoods",
)
def neighbourhoods(force: str, db: Db):
    return _read(db, opendata_public.neighbourhoods, force)


@router.get("/api/{force:opendata_force}/{neighbourhood}", responses=_doc(NeighbourhoodOut), summary="A neighbourhood")
def neighbourhood(force: str, neighbourhood: str, db: Db):
    return _read(db, opendata_public.neighbourhood, force, neighbourhood)


@router.get(
    "/api/{force:opendata_force}/{neighbourhood}/boundary",
    responses=_doc(list[PointOut]),
    summary="A neighbourhood's boundary (first vertex repeated last)",
)
def boundary(force: str, neighbourhood: str, db: Db):
    return _read(db, opendata_public.boundary, force, neighbourhood)


@router.get(
    "/api/{force:opendata_force}/{neighbourhood}/people",
    responses=_doc(list[PersonOut]),
    summary="A neighbourhood team",
)
def team(force: str, neighbourhood: str, db: Db):
    return _read(db, opendata_public.team, force, neighbourhood)


@router.get(
    "/api/{force:opendata_force}/{neighbourhood}/events",
    responses=_doc(list[EventOut]),
    summary="A neighbourhood's upcoming events",
)
def events(force: str, neighbourhood: str, db: Db, clock: Now):
    return _read(db, opendata_public.events, force, neighbourhood, clock)


@router.get(
    "/api/{force:opendata_force}/{neighbourhood}/priorities",
    responses=_doc(list[PriorityOut]),
    summary="A neighbourhood's priorities",
)
def priorities(force: str, neighbourhood: str, db: Db):
    return _read(db, opendata_public.priorities, force, neighbourhood)
