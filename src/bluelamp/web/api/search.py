"""Search API: persons by name (misspellings, sound-alikes, swapped names, nicknames,
double-barrelled names, full or partial dates of birth, age ranges) with an explained score;
vehicles by full or partial VRM with ``*`` and ``?``; phones by digit fragments; free text
over event summaries and narratives.

Searching asks for a reason (the ``X-Bluelamp-Reason`` header, or the reason stated for
the web session) and every search is audited with its criteria. Only records the caller
may see are found: access filters candidates before they are ranked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bluelamp.access.audit import audited
from bluelamp.access.policy import Action
from bluelamp.records import person_fields, pole, search
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["search"]

Searcher = Annotated[Caller, Depends(allow(Action.PERSON_SEARCH))]


class FeatureOut(BaseModel):
    feature: str
    points: int


class MatchedNameOut(BaseModel):
    kind: str = Field(description="primary, alias, previous, nickname, or part (of a double-barrelled name)")
    given_names: str
    family_name: str


class PersonHitOut(BaseModel):
    id: str
    given_names: str
    family_name: str
    dob: str | None = Field(description="Full or partial: 12/03/1985, 03/1985, 1985")
    gender: str | None
    score: float = Field(description="0 to 1: the share of the points this query could earn")
    points: int
    matched: MatchedNameOut
    explanation: list[FeatureOut]


class PersonResultsOut(BaseModel):
    hits: list[PersonHitOut]
    truncated: bool = Field(description="The query was vague and not every candidate was scored: say more")


class VehicleOut(BaseModel):
    id: str
    vrm: str | None
    make: str | None
    model: str | None
    colour: str | None


class PhoneOut(BaseModel):
    id: str
    phone_number: str | None
    phone_digits: str | None
    imei: str | None


class TextHitOut(BaseModel):
    id: str
    kind: str
    reference: str
    summary: str
    snippet: str = Field(description="Where the words are, marked [like this]")
    rank: float


def _hit(hit: search.PersonHit) -> PersonHitOut:
    return PersonHitOut(
        id=hit.person_id,
        given_names=hit.given_names,
        family_name=hit.family_name,
        dob=hit.dob or None,
        gender=hit.gender,
        score=hit.score,
        points=hit.points,
        matched=MatchedNameOut(kind=hit.matched_kind, given_names=hit.matched_given, family_name=hit.matched_family),
        explanation=[FeatureOut(feature=f, points=p) for f, p in hit.explanation],
    )


@router.get("/api/v1/search/persons", response_model=PersonResultsOut, tags=TAG, summary="Search persons by name")
def search_persons(
    caller: Searcher,
    db: Db,
    clock: Now,
    name: Annotated[str, Query(description='One text: "John Smith" or "Smith, John"', max_length=200)] = "",
    given_names: Annotated[str, Query(max_length=200)] = "",
    family_name: Annotated[str, Query(description="A trailing * finds names starting so", max_length=200)] = "",
    dob: Annotated[str, Query(description="Full or partial: 1985-03-12, 1985-03, 1985, 12/03/1985")] = "",
    age_from: Annotated[int | None, Query(ge=0, le=130)] = None,
    age_to: Annotated[int | None, Query(ge=0, le=130)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
):
    """Persons best first, each with the name that matched, a score and its explanation.
    422 ``search.no_criteria`` without a name, ``search.only_wildcards`` for a name of only
    wildcards, ``search.invalid_criteria`` for a date of birth in the future or an
    impossible age range."""
    year, month, day = person_fields.parse_dob(dob)
    query = search.PersonQuery(
        given_names=given_names,
        family_name=family_name,
        name=name,
        dob_year=year,
        dob_month=month,
        dob_day=day,
        age_from=age_from,
        age_to=age_to,
    )
    with audited(db, caller.trail) as session:
        found = search.find_persons(session, caller.actor, query, clock, limit=limit)
        return PersonResultsOut(hits=[_hit(h) for h in found.hits], truncated=found.truncated)


@router.get("/api/v1/search/vehicles", response_model=list[VehicleOut], tags=TAG, summary="Search vehicles by VRM")
def search_vehicles(
    caller: Searcher,
    db: Db,
    clock: Now,
    vrm: Annotated[str, Query(description="Full or partial; * any characters, ? one: AB12*, *CDE, AB?2CDE")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """Vehicles whose VRM matches (spaces and case ignored). 422 ``search.no_criteria``,
    ``search.only_wildcards``."""
    with audited(db, caller.trail) as session:
        found = search.search_vehicles(session, caller.actor, vrm, clock, limit=limit)
        return [VehicleOut(id=v.id, vrm=v.vrm, make=v.make, model=v.model, colour=v.colour) for v in found]


@router.get("/api/v1/search/phones", response_model=list[PhoneOut], tags=TAG, summary="Search phones by number")
def search_phones(
    caller: Searcher,
    db: Db,
    clock: Now,
    number: Annotated[str, Query(description="Digits: 07700 900123, +44 7700, or any part: 900123")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    """Phones whose number starts with the digits (0 or +44 first) or holds them anywhere.
    422 ``search.no_criteria``, ``search.too_short`` (fewer than three digits)."""
    with audited(db, caller.trail) as session:
        found = search.search_phones(session, caller.actor, number, clock, limit=limit)
        return [PhoneOut(id=p.id, phone_number=p.phone_number, phone_digits=p.phone_digits, imei=p.imei) for p in found]


@router.get("/api/v1/search/text", response_model=list[TextHitOut], tags=TAG, summary="Search event narratives")
def search_text(
    caller: Searcher,
    db: Db,
    clock: Now,
    q: Annotated[str, Query(description="Words that must all appear; word* matches words starting so")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """Events of the kinds the caller may read whose summary or narrative hold every word,
    best first, with a snippet. 422 ``search.no_criteria``."""
    with audited(db, caller.trail) as session:
        found = search.search_text(session, caller.actor, q, clock, limit=limit)
        return [
            TextHitOut(
                id=h.event.id,
                kind=h.event.kind,
                reference=h.event.reference,
                summary=h.event.summary or pole.label(h.event),
                snippet=h.snippet,
                rank=h.rank,
            )
            for h in found
        ]
