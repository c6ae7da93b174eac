"""The location check: an address, a postcode or the phone's position, with the places
recorded there, the flags and markers of those living there, and the incidents near it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command import queries as command_queries
from bluelamp.command.service import settings_of
from bluelamp.errors import FieldProblem
from bluelamp.mobile.checks.common import (
    DISTRICT,
    INCIDENTS,
    METRES_PER_DEGREE,
    PLACES,
    POSTCODE,
    RADIUS_M,
    RADIUS_MOST,
    RECENT_MONTHS,
    SEVERITY,
    CheckReason,
    LocationCheck,
    PastIncident,
    Place,
    Problem,
    Resident,
    about_persons,
    dob_text,
    letter_count,
    months_ago,
    months_problems,
    only_wildcards,
    reason_or_refusal,
    too_little,
)
from bluelamp.records import pole
from bluelamp.records import queries as records_queries
from bluelamp.records.names import normalise
from bluelamp.tracking.index import haversine_km

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.command.model import Incident
    from bluelamp.records.model import Location


# ---------------------------------------------------------------- location


@dataclass(frozen=True)
class LocationCheckQuery:
    """A location check: an address or postcode ("14 Wellesley Street, ST1 4NS", "ST1 4NS",
    "Wellesley Street"), or the phone's position (``lat``/``lon``, WGS84), with the radius
    around it and around recorded places."""

    address: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_m: int = RADIUS_M
    months: int = RECENT_MONTHS

    def criteria(self) -> dict[str, Any]:
        where: dict[str, Any] = {"address": self.address.strip()} if (self.address or "").strip() else {}
        if self.lat is not None and self.lon is not None and not where:
            where = {"lat": round(self.lat, 5), "lon": round(self.lon, 5)}
        return where | {"radius_m": self.radius_m, "months": self.months}


@dataclass(frozen=True)
class _Where:
    postcode: str | None  # normalised, no space
    words: str  # the rest of the address
    position: tuple[float, float] | None


def _location_input(query: LocationCheckQuery) -> tuple[_Where | None, list[Problem]]:
    problems: list[Problem] = []
    text = " ".join((query.address or "").split())
    position = None
    if query.lat is not None or query.lon is not None:
        if query.lat is None or query.lon is None:
            problems.append(
                Problem(FieldProblem("position", "a position needs both latitude and longitude"), "input.invalid")
            )
        elif not (-90 <= query.lat <= 90 and -180 <= query.lon <= 180) or math.isnan(query.lat + query.lon):
            problems.append(
                Problem(FieldProblem("position", "latitude -90 to 90, longitude -180 to 180"), "input.invalid")
            )
        else:
            position = (query.lat, query.lon)
    if not 10 <= query.radius_m <= RADIUS_MOST:
        problems.append(Problem(FieldProblem("radius_m", f"from 10 to {RADIUS_MOST} metres"), "input.invalid"))
    problems += months_problems(query.months)
    postcode, words = None, ""
    if text:
        upper = text.upper()
        match = POSTCODE.search(upper)
        if match:
            postcode = match.group(1) + match.group(2)
            words = (upper[: match.start()] + " " + upper[match.end() :]).strip(" ,")
        else:
            words = text
        words = " ".join(words.replace(",", " ").split())
        if postcode is None:
            if only_wildcards(text):
                problems.insert(0, too_little("address", "only wildcards would find everywhere: give the street"))
            elif DISTRICT.match(upper):
                problems.insert(0, too_little("address", "give the full postcode (like ST1 4NS) or the street"))
            elif letter_count(words) < 4:
                problems.insert(0, too_little("address", "give the street (and number), or the full postcode"))
    elif position is None and not any(p.problem.field == "position" for p in problems):
        problems.insert(0, too_little("address", "give an address or postcode, or use your position"))
    if problems:
        return None, problems
    if text:
        position = None  # an address typed wins over the phone's position
    return _Where(postcode, re.sub(r"[*?%_]", "", words).strip(), position), []


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _metres(a: tuple[float, float], lat: float | None, lon: float | None) -> float | None:
    if lat is None or lon is None:
        return None
    return round(haversine_km(a[0], a[1], lat, lon) * 1000, 1)


def _places(session: Session, actor: Actor, where: _Where, radius_m: int) -> list[tuple[Location, float | None]]:
    """The recorded places a check is about, nearest (or best spelt) first."""
    if where.postcode:
        found = records_queries.visible_locations_at_postcode(session, actor, where.postcode, PLACES * 5)
        wanted = normalise(where.words)
        if wanted:
            narrowed = [loc for loc in found if wanted in normalise(f"{loc.line1} {loc.line2}")]
            found = narrowed or found
        return [(loc, None) for loc in found[:PLACES]]
    if where.words:
        found = records_queries.visible_locations_by_address(session, actor, where.words, PLACES)
        return [(loc, None) for loc in found]
    if where.position is None:
        return []
    near = []
    box = _box(*where.position, radius_m)
    for loc in records_queries.visible_locations_in_box(session, actor, *box, limit=500):
        distance = _metres(where.position, loc.lat, loc.lon)
        if distance is not None and distance <= radius_m:
            near.append((loc, distance))
    near.sort(key=lambda pair: (pair[1], pair[0].id))
    return near[:PLACES]


def _incidents(
    session: Session, actor: Actor, where: _Where, places: list[Location], radius_m: int, since: datetime
) -> tuple[list[PastIncident], bool, tuple[float, float] | None]:
    centres = [where.position] if where.position else []
    centres += [(p.lat, p.lon) for p in places if p.lat is not None and p.lon is not None and not where.position]
    terms = []
    if where.postcode:
        terms += [where.postcode, f"{where.postcode[:-3]} {where.postcode[-3:]}"]
    elif where.words and not centres:
        terms.append(where.words)
    rows = command_queries.incidents_at_place(
        session, actor, [_box(lat, lon, radius_m) for lat, lon in centres], terms, since, INCIDENTS * 5
    )
    command = settings_of(session, actor.force_id)[2]
    shown: list[PastIncident] = []
    for incident in rows:
        distances = [d for d in (_metres(c, incident.lat, incident.lon) for c in centres) if d is not None]
        distance = min(distances) if distances else None
        by_address = any(term.lower() in (incident.address or "").lower() for term in terms)
        if not by_address and (distance is None or distance > radius_m):
            continue
        shown.append(_past(incident, command, distance if distance is not None and distance <= radius_m else None))
    centre = centres[0] if len(centres) == 1 else None
    return shown[:INCIDENTS], len(shown) > INCIDENTS, centre


def _past(incident: Incident, command, distance: float | None) -> PastIncident:
    category = command.category(incident.closing_category or incident.opening_category)
    return PastIncident(
        incident_id=incident.id,
        reference=incident.reference,
        created_at=incident.created_at,
        category=category.name if category else (incident.closing_category or incident.opening_category),
        grade=incident.grade,
        status=incident.status,
        address=incident.address or "",
        description=(incident.description or "")[:160],
        distance_m=distance,
    )


def check_location(
    session: Session, actor: Actor, query: LocationCheckQuery, reason: CheckReason, clock: Clock
) -> LocationCheck:
    """At an address, a postcode or the phone's position: the places recorded there, the
    flags and markers of the persons living there (the others counted, not named), and the
    incidents at or near it in the last ``months`` months (when the actor may read
    incidents), among records the actor may see. Refuses too little and a missing reason; audited."""
    require(actor, Action.PERSON_SEARCH)
    require(actor, Action.PERSON_READ)
    pole.force_of(actor)
    where, problems = _location_input(query)
    stated = reason_or_refusal(problems, reason)
    checked = replace(actor, reason=stated)
    now = clock.now()
    today = to_local(now).date()
    since = months_ago(now, query.months)
    located = _places(session, checked, where, query.radius_m)
    ids = [loc.id for loc, _ in located]
    living = records_queries.current_residents(session, checked, ids, today)
    about = about_persons(session, checked, sorted({person.id for _, _, person in living}), now, since)
    residents: dict[str, dict[str, Resident]] = {i: {} for i in ids}
    for location_id, how, person in living:
        if person.id not in residents[location_id]:
            residents[location_id][person.id] = Resident(
                person.id, person.family_name, person.given_names, dob_text(person), how, about[person.id]
            )
    places = []
    for loc, distance in located:
        here = list(residents[loc.id].values())
        warned = [r for r in here if r.about.warns]
        warned.sort(
            key=lambda r: (not r.about.flags, min((SEVERITY.get(m.kind, 99) for m in r.about.markers), default=99))
        )
        places.append(Place(loc.id, pole.label(loc), loc.lat, loc.lon, distance, warned, len(here) - len(warned)))
    incidents: list[PastIncident] = []
    more, centre, readable = False, where.position, checked.can(Action.INCIDENT_READ)
    if readable:
        incidents, more, found_centre = _incidents(
            session, checked, where, [loc for loc, _ in located], query.radius_m, since
        )
        centre = centre or found_centre
    criteria = query.criteria()
    shown_persons = sorted({r.person_id for p in places for r in p.residents})
    detail = {
        "criteria": criteria,
        "places": ids,
        "persons": shown_persons,
        "residents": sum(len(p.residents) + p.others for p in places),
        "incidents": len(incidents),
    }
    record = {"record_type": "location", "record_id": ids[0]} if len(ids) == 1 else {}
    audit.append(session, checked, Audit("check.location", detail=detail, reason=stated, **record), clock)
    return LocationCheck(stated, criteria, query.months, query.radius_m, centre, places, incidents, readable, more)
