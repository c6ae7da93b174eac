"""Checks from the field: person, vehicle and location, for the officer app (issue 7, item 3).

Each check states its own reason: a quick pick (``purpose``: street_stop, vehicle_stop,
incident, safeguarding, other) with words (``reason_detail``; "other" needs them), or the
``X-Bluelamp-Reason`` header. A reason stated earlier for a browser session does not count.
Without one the check is refused with 403 ``access.reason_required``, whose ``purposes``
list the quick picks for the app's prompt. Too little to search on is refused with 422
``check.too_little`` naming the field. Each check is audited (``check.person``,
``check.vehicle``, ``check.location``) with its criteria and reason. Only records the
caller may see are found: others answer exactly like records that do not exist.

Every check is a POST with a JSON body, or a GET with the same fields as query parameters.
The answers are personal data: ``Cache-Control: no-store`` (the app never keeps them offline)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from bluelamp.access import account
from bluelamp.access.audit import audited
from bluelamp.access.policy import Action
from bluelamp.mobile import checks
from bluelamp.web.auth import REASON_HEADER, Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["checks"]

Checker = Annotated[Caller, Depends(allow(Action.PERSON_SEARCH))]
Reader = Annotated[Caller, Depends(allow(Action.PERSON_READ))]
NO_STORE = "no-store"
PURPOSE_HELP = "Why: " + ", ".join(checks.PURPOSES) + " (other needs reason_detail); or the X-Bluelamp-Reason header"


# ---------------------------------------------------------------- what the app sends


class ReasonFields(BaseModel):
    purpose: str = Field("", max_length=40, description=PURPOSE_HELP)
    reason_detail: str = Field("", max_length=300, description="A few words: a reference, where, why")


class PersonCheckIn(ReasonFields):
    family_name: str = Field("", max_length=200, description="Two letters or more; a trailing * finds names so begun")
    given_names: str = Field("", max_length=200, description="Or a nickname, or an initial")
    name: str = Field("", max_length=200, description='Instead of the two: "Jason Smyth" or "Smyth, Jason"')
    dob: str = Field("", max_length=20, description="Full or partial: 1991-04-12, 1991-04, 1991, 12/04/1991")
    record_id: str = Field("", max_length=64, description="Instead of a name: the person's record id or a PNC ID")
    months: int = Field(checks.RECENT_MONTHS, description=f"Recent events: the last 1 to {checks.MONTHS_MOST} months")
    limit: int = Field(checks.MATCHES, description=f"Matches: 1 to {checks.MATCHES_MOST}")


class VehicleCheckIn(ReasonFields):
    vrm: str = Field("", max_length=20, description="Full or partial: YX19 KTD, YX19*, *KTD (* any, ? one)")
    months: int = Field(checks.RECENT_MONTHS, description="Recent events of the linked persons")
    limit: int = Field(checks.VEHICLES, description=f"Vehicles: 1 to {checks.MATCHES_MOST}")


class LocationCheckIn(ReasonFields):
    address: str = Field("", max_length=200, description="An address or postcode: 14 Wellesley Street, ST1 4NS")
    lat: float | None = Field(None, description="Instead of an address: the phone's position (WGS84)")
    lon: float | None = None
    radius_m: int = Field(checks.RADIUS_M, description=f"Around the position or places: 10 to {checks.RADIUS_MOST} m")
    months: int = Field(checks.RECENT_MONTHS, description=f"Previous incidents: the last 1 to {checks.MONTHS_MOST}")


# ---------------------------------------------------------------- what the app gets


class FlagOut(BaseModel):
    kind: str = Field(description="wanted or missing")
    label: str
    detail: str
    since: date | None
    reference: str | None = Field(description="The open missing person report, when the flag comes from one")


class MarkerOut(BaseModel):
    kind: str
    label: str
    reason: str
    since: date


class EventLineOut(BaseModel):
    id: str
    kind: str
    kind_label: str
    reference: str
    summary: str
    when: datetime
    role: str


class AboutOut(BaseModel):
    """Flags first, then warning markers (the most dangerous first), then recent events."""

    flags: list[FlagOut]
    markers: list[MarkerOut]
    recent_events: list[EventLineOut]
    more_events: int


class PersonMatchOut(BaseModel):
    about: AboutOut
    id: str
    family_name: str
    given_names: str
    dob: str = Field(description="Full or partial (12/04/1991, 04/1991, 1991); empty when unknown")
    gender: str | None
    score: float | None = Field(description="0 to 1; none when found by record id")
    found_by: str = Field(description="Empty for the person's own name; else the alias or nickname that matched")


class PersonCheckOut(BaseModel):
    reason: str = Field(description="As the audit log keeps it")
    months: int
    matches: list[PersonMatchOut] = Field(description="Best match first; none is not an error")
    truncated: bool = Field(description="The name was vague: add a given name or a date of birth")


class LinkedPersonOut(BaseModel):
    about: AboutOut
    id: str
    role: str = Field(description="keeper, owner or driver")
    current: bool
    family_name: str
    given_names: str
    dob: str


class VehicleOut(BaseModel):
    id: str
    vrm: str
    make: str | None
    model: str | None
    colour: str | None
    people: list[LinkedPersonOut] = Field(description="Current links first: keeper, owner, driver")
    events: list[EventLineOut]
    more_events: int


class VehicleCheckOut(BaseModel):
    reason: str
    vehicles: list[VehicleOut]


class ResidentOut(BaseModel):
    about: AboutOut
    id: str
    family_name: str
    given_names: str
    dob: str
    how: str = Field(description="home, work, care_of (an address), or resides_at (a link)")


class PlaceOut(BaseModel):
    id: str
    label: str
    lat: float | None
    lon: float | None
    distance_m: float | None
    residents: list[ResidentOut] = Field(description="Those living there with a flag or a warning marker")
    others: int = Field(description="Others living there, with none (not named)")


class PastIncidentOut(BaseModel):
    id: str
    reference: str
    created_at: datetime
    category: str
    grade: str
    status: str
    address: str
    description: str
    distance_m: float | None = Field(description="None when found by its address alone")


class LocationCheckOut(BaseModel):
    reason: str
    months: int
    radius_m: int
    centre: tuple[float, float] | None
    places: list[PlaceOut]
    incidents: list[PastIncidentOut] = Field(description="Newest first")
    incidents_shown: bool = Field(description="False when the caller may not read incidents")
    more_incidents: bool


class PersonCardOut(BaseModel):
    about: AboutOut
    id: str
    family_name: str
    given_names: str
    dob: str
    gender: str | None
    birth_place: str | None
    description: list[tuple[str, str]]
    other_names: list[tuple[str, str]] = Field(description="(kind, name): aliases, nicknames, previous names")
    identifiers: list[tuple[str, str]]
    addresses: list[tuple[str, str]] = Field(description="(kind, address) where they live now")
    associates: list[tuple[str, str, str]] = Field(description="(role, label, person id)")
    vehicles: list[tuple[str, str]] = Field(description="(role, vehicle)")
    months: int


def _about(about: checks.About) -> AboutOut:
    return AboutOut(
        flags=[
            FlagOut(kind=f.kind, label=f.label, detail=f.detail, since=f.since, reference=f.reference)
            for f in about.flags
        ],
        markers=[MarkerOut(kind=m.kind, label=m.label, reason=m.reason, since=m.since) for m in about.markers],
        recent_events=[_event(e) for e in about.events],
        more_events=about.events_more,
    )


def _event(line: checks.EventLine) -> EventLineOut:
    return EventLineOut(
        id=line.event_id,
        kind=line.kind,
        kind_label=line.kind_label,
        reference=line.reference,
        summary=line.summary,
        when=line.when,
        role=line.role,
    )


def _reason(request: Request, fields: ReasonFields) -> checks.CheckReason:
    stated = account.stated_reason(request.headers.get(REASON_HEADER))
    return checks.CheckReason(purpose=fields.purpose, detail=fields.reason_detail, stated=stated)


# ---------------------------------------------------------------- person


def _person(request: Request, response: Response, caller: Caller, db, clock, body: PersonCheckIn) -> PersonCheckOut:
    response.headers["Cache-Control"] = NO_STORE
    query = checks.PersonCheckQuery(
        family_name=body.family_name,
        given_names=body.given_names,
        name=body.name,
        dob=body.dob,
        record_id=body.record_id,
        months=body.months,
        limit=body.limit,
    )
    with audited(db, caller.trail) as session:
        found = checks.check_person(session, caller.actor, query, _reason(request, body), clock)
    return PersonCheckOut(
        reason=found.reason,
        months=found.months,
        truncated=found.truncated,
        matches=[
            PersonMatchOut(
                about=_about(m.about),
                id=m.person_id,
                family_name=m.family_name,
                given_names=m.given_names,
                dob=m.dob,
                gender=m.gender,
                score=m.score,
                found_by=m.found_by,
            )
            for m in found.matches
        ],
    )


PERSON_DOC = (
    "Identity matches for a name and a full or partial date of birth, or the person a record id or PNC ID names: "
    "each with wanted and missing flags and warning markers first, then recent events. 403 `access.reason_required` "
    "without a reason; 422 `check.too_little` (one letter, only wildcards, a date of birth alone), "
    "`check.reason_incomplete`, `person.invalid_dob`. Audited as `check.person`."
)


@router.post(
    "/api/v1/checks/person", response_model=PersonCheckOut, tags=TAG, summary="Check a person", description=PERSON_DOC
)
def check_person(request: Request, response: Response, caller: Checker, db: Db, clock: Now, body: PersonCheckIn):
    return _person(request, response, caller, db, clock, body)


@router.get(
    "/api/v1/checks/person", response_model=PersonCheckOut, tags=TAG, summary="Check a person", description=PERSON_DOC
)
def check_person_get(
    request: Request, response: Response, caller: Checker, db: Db, clock: Now, query: Annotated[PersonCheckIn, Query()]
):
    return _person(request, response, caller, db, clock, query)


@router.get(
    "/api/v1/checks/persons/{person_id}",
    response_model=PersonCardOut,
    tags=TAG,
    summary="A person's card, from a check",
)
def person_card(
    request: Request,
    response: Response,
    caller: Reader,
    db: Db,
    clock: Now,
    person_id: str,
    purpose: Annotated[str, Query(max_length=40, description=PURPOSE_HELP)] = "",
    reason_detail: Annotated[str, Query(max_length=300)] = "",
    months: Annotated[int, Query()] = checks.RECENT_MONTHS,
):
    """The compact card of a person a check found: flags and markers first, identity and
    description, other names, identifiers, where they live, associates, vehicles, recent
    events. States the check's reason again (a quick pick or the header); audited as
    ``person.read``. A person the caller may not see answers 404 like a missing one."""
    response.headers["Cache-Control"] = NO_STORE
    with audited(db, caller.trail) as session:
        reason = _reason(request, ReasonFields(purpose=purpose, reason_detail=reason_detail))
        card = checks.person_card(session, caller.actor, person_id, reason, clock, months=months)
    return PersonCardOut(
        about=_about(card.about),
        id=card.person_id,
        family_name=card.family_name,
        given_names=card.given_names,
        dob=card.dob,
        gender=card.gender,
        birth_place=card.birth_place,
        description=card.description,
        other_names=card.other_names,
        identifiers=card.identifiers,
        addresses=card.addresses,
        associates=card.associates,
        vehicles=card.vehicles,
        months=card.months,
    )


# ---------------------------------------------------------------- vehicle


def _vehicle(request: Request, response: Response, caller: Caller, db, clock, body: VehicleCheckIn) -> VehicleCheckOut:
    response.headers["Cache-Control"] = NO_STORE
    query = checks.VehicleCheckQuery(vrm=body.vrm, months=body.months, limit=body.limit)
    with audited(db, caller.trail) as session:
        found = checks.check_vehicle(session, caller.actor, query, _reason(request, body), clock)
    return VehicleCheckOut(
        reason=found.reason,
        vehicles=[
            VehicleOut(
                id=v.object_id,
                vrm=v.vrm,
                make=v.make,
                model=v.model,
                colour=v.colour,
                people=[
                    LinkedPersonOut(
                        about=_about(p.about),
                        id=p.person_id,
                        role=p.role,
                        current=p.current,
                        family_name=p.family_name,
                        given_names=p.given_names,
                        dob=p.dob,
                    )
                    for p in v.people
                ],
                events=[_event(e) for e in v.events],
                more_events=v.events_more,
            )
            for v in found.vehicles
        ],
    )


VEHICLE_DOC = (
    "Vehicles by VRM, each with the persons linked as keeper, owner or driver (flags and warning markers first) and "
    "the events it is linked to. 403 `access.reason_required`; 422 `check.too_little` (under two characters, only "
    "wildcards). Audited as `check.vehicle`."
)


@router.post(
    "/api/v1/checks/vehicle",
    response_model=VehicleCheckOut,
    tags=TAG,
    summary="Check a vehicle",
    description=VEHICLE_DOC,
)
def check_vehicle(request: Request, response: Response, caller: Checker, db: Db, clock: Now, body: VehicleCheckIn):
    return _vehicle(request, response, caller, db, clock, body)


@router.get(
    "/api/v1/checks/vehicle",
    response_model=VehicleCheckOut,
    tags=TAG,
    summary="Check a vehicle",
    description=VEHICLE_DOC,
)
def check_vehicle_get(
    request: Request, response: Response, caller: Checker, db: Db, clock: Now, query: Annotated[VehicleCheckIn, Query()]
):
    return _vehicle(request, response, caller, db, clock, query)


# ---------------------------------------------------------------- location


def _location(
    request: Request, response: Response, caller: Caller, db, clock, body: LocationCheckIn
) -> LocationCheckOut:
    response.headers["Cache-Control"] = NO_STORE
    query = checks.LocationCheckQuery(
        address=body.address, lat=body.lat, lon=body.lon, radius_m=body.radius_m, months=body.months
    )
    with audited(db, caller.trail) as session:
        found = checks.check_location(session, caller.actor, query, _reason(request, body), clock)
    return LocationCheckOut(
        reason=found.reason,
        months=found.months,
        radius_m=found.radius_m,
        centre=found.centre,
        places=[
            PlaceOut(
                id=p.location_id,
                label=p.label,
                lat=p.lat,
                lon=p.lon,
                distance_m=p.distance_m,
                others=p.others,
                residents=[
                    ResidentOut(
                        about=_about(r.about),
                        id=r.person_id,
                        family_name=r.family_name,
                        given_names=r.given_names,
                        dob=r.dob,
                        how=r.how,
                    )
                    for r in p.residents
                ],
            )
            for p in found.places
        ],
        incidents=[
            PastIncidentOut(
                id=i.incident_id,
                reference=i.reference,
                created_at=i.created_at,
                category=i.category,
                grade=i.grade,
                status=i.status,
                address=i.address,
                description=i.description,
                distance_m=i.distance_m,
            )
            for i in found.incidents
        ],
        incidents_shown=found.incidents_shown,
        more_incidents=found.incidents_more,
    )


LOCATION_DOC = (
    "At an address, a postcode or the phone's position: the places recorded there with the flags and warning markers "
    "of the persons living there, and the incidents at or near it in the last months. 403 `access.reason_required`; "
    "422 `check.too_little` (nothing, only wildcards, a postcode district alone). Audited as `check.location`."
)


@router.post(
    "/api/v1/checks/location",
    response_model=LocationCheckOut,
    tags=TAG,
    summary="Check a location",
    description=LOCATION_DOC,
)
def check_location(request: Request, response: Response, caller: Checker, db: Db, clock: Now, body: LocationCheckIn):
    return _location(request, response, caller, db, clock, body)


@router.get(
    "/api/v1/checks/location",
    response_model=LocationCheckOut,
    tags=TAG,
    summary="Check a location",
    description=LOCATION_DOC,
)
def check_location_get(
    request: Request,
    response: Response,
    caller: Checker,
    db: Db,
    clock: Now,
    query: Annotated[LocationCheckIn, Query()],
):
    return _location(request, response, caller, db, clock, query)
