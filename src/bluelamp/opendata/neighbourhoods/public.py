"""The reads behind the public force and neighbourhood endpoints, in data.police.uk's own
shapes (police-uk-api.md 1.1): coordinates as strings, ``population`` a string, the
priorities' hyphenated ``issue-date`` / ``action-date``, times in UK local time without
a zone, ``null`` where data.police.uk gives null.

These take no actor: what they return is public by design (a force's profile and the
teams it chooses to name), and reading it is not audited. An unknown force or
neighbourhood is ``NotFound`` (404)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access import queries as access_queries
from bluelamp.access.model import Force
from bluelamp.clock import Clock, to_local
from bluelamp.errors import BadRequest, FieldProblem, NotFound
from bluelamp.opendata.config import opendata_settings
from bluelamp.opendata.neighbourhoods import queries
from bluelamp.opendata.neighbourhoods.geometry import NeighbourhoodLocator

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def coordinate(value: float) -> str:
    """A latitude or longitude as the API writes it: a string, six decimals (about 10 cm)."""
    return f"{value:.6f}"


def local_time(moment: datetime | None) -> str | None:
    """``2024-02-01T18:00:00``: UK wall-clock time without a zone, as data.police.uk gives it."""
    return None if moment is None else to_local(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _force(session: Session, force_id: str) -> Force:
    force = session.get(Force, force_id)
    if force is None:
        raise NotFound(f"no force {force_id!r}")
    return force


def _person(person: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": person.get("name"),
        "rank": person.get("rank"),
        "bio": person.get("bio"),
        "contact_details": person.get("contact_details") or {},
    }


def forces(session: Session) -> list[dict[str, str]]:
    """``forces``: every force on this platform, by name."""
    return [{"id": force.id, "name": force.name} for force in access_queries.list_forces(session)]


def force(session: Session, force_id: str) -> dict[str, Any]:
    """``forces/{force}``: the force's public profile."""
    row = _force(session, force_id)
    settings = opendata_settings((row.settings or {}).get("opendata"))
    return {
        "id": row.id,
        "name": row.name,
        "url": row.url,
        "telephone": row.telephone,
        "description": row.description,
        "engagement_methods": [
            {"title": m.title, "url": m.url, "description": m.description, "type": m.type}
            for m in settings.engagement_methods
        ],
    }


def force_people(session: Session, force_id: str) -> list[dict[str, Any]]:
    """``forces/{force}/people``: the senior officers the force names."""
    settings = opendata_settings((_force(session, force_id).settings or {}).get("opendata"))
    return [_person(p.model_dump()) for p in settings.people]


def neighbourhoods(session: Session, force_id: str) -> list[dict[str, str]]:
    """``{force}/neighbourhoods``: id and name of each, by name."""
    _force(session, force_id)
    return [{"id": nid, "name": name} for nid, name in queries.neighbourhood_names(session, force_id)]


def _neighbourhood(session: Session, force_id: str, neighbourhood_id: str):
    row = queries.neighbourhood(session, force_id, neighbourhood_id)
    if row is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id!r} in force {force_id!r}")
    return row


def _place(place: dict[str, Any]) -> dict[str, Any]:
    lat, lon = place.get("latitude"), place.get("longitude")
    return {
        "name": place.get("name"),
        "type": place.get("type"),
        "description": place.get("description"),
        "address": place.get("address"),
        "postcode": place.get("postcode"),
        "latitude": coordinate(lat) if lat is not None else None,
        "longitude": coordinate(lon) if lon is not None else None,
    }


def neighbourhood(session: Session, force_id: str, neighbourhood_id: str) -> dict[str, Any]:
    """``{force}/{neighbourhood}``: everything but the boundary, the team, events and
    priorities. ``description`` is left out when there is none, as data.police.uk does."""
    row = _neighbourhood(session, force_id, neighbourhood_id)
    found: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "url_force": row.url_force,
        "contact_details": row.contact_details or {},
        "centre": {"latitude": coordinate(row.centre_lat), "longitude": coordinate(row.centre_lon)},
        "population": row.population,
        "links": [
            {"url": link.get("url"), "description": link.get("description"), "title": link.get("title")}
            for link in row.links or []
        ],
        "locations": [_place(place) for place in row.locations or []],
    }
    if row.description is not None:
        found["description"] = row.description
    return found


def boundary(session: Session, force_id: str, neighbourhood_id: str) -> list[dict[str, str]]:
    """``{force}/{neighbourhood}/boundary``: the ring, first vertex repeated last."""
    ring = queries.boundary(session, force_id, neighbourhood_id)
    if ring is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id!r} in force {force_id!r}")
    return [{"latitude": coordinate(lat), "longitude": coordinate(lon)} for lat, lon in ring]


def team(session: Session, force_id: str, neighbourhood_id: str) -> list[dict[str, Any]]:
    """``{force}/{neighbourhood}/people``: the neighbourhood team."""
    return [_person(p) for p in _neighbourhood(session, force_id, neighbourhood_id).people or []]


def events(session: Session, force_id: str, neighbourhood_id: str, clock: Clock) -> list[dict[str, Any]]:
    """``{force}/{neighbourhood}/events``: events not yet over, soonest first."""
    _neighbourhood(session, force_id, neighbourhood_id)
    return [
        {
            "title": e.title,
            "type": e.type,
            "description": e.description,
            "address": e.address,
            "start_date": local_time(e.start_at),
            "end_date": local_time(e.end_at),
            "contact_details": e.contact_details or {},
        }
        for e in queries.upcoming_events(session, force_id, neighbourhood_id, clock.now())
    ]


def priorities(session: Session, force_id: str, neighbourhood_id: str) -> list[dict[str, Any]]:
    """``{force}/{neighbourhood}/priorities``: hyphenated date keys; ``action`` may be null."""
    _neighbourhood(session, force_id, neighbourhood_id)
    return [
        {
            "issue": p.issue,
            "issue-date": local_time(p.issue_at),
            "action": p.action,
            "action-date": local_time(p.action_at),
        }
        for p in queries.priorities(session, force_id, neighbourhood_id)
    ]


def parse_point(q: str | None) -> tuple[float, float]:
    """``q=lat,lng`` -> (lat, lon); BadRequest (400, as for a malformed ``lat``) otherwise."""
    if not q:
        raise BadRequest(
            "q is required: latitude,longitude (e.g. 52.806,-2.117)", problems=[FieldProblem("q", "required")]
        )
    parts = q.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise BadRequest(
            f"q must be latitude,longitude (e.g. 52.806,-2.117), not {q!r}",
            problems=[FieldProblem("q", "use latitude,longitude")],
        ) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest(f"q: ({lat}, {lon}) is out of range", problems=[FieldProblem("q", "out of range")])
    return lat, lon


def locate(session: Session, locator: NeighbourhoodLocator, q: str | None) -> dict[str, str]:
    """``locate-neighbourhood?q=lat,lng``: the force and neighbourhood covering the point
    (NotFound outside every neighbourhood on the platform). The locator reloads only the
    forces whose neighbourhoods changed since it last looked."""
    lat, lon = parse_point(q)
    locator.refresh(queries.stamps(session), lambda force_id: queries.boundaries(session, force_id))
    found = locator.find(lat, lon)
    if found is None:
        raise NotFound(f"no neighbourhood covers ({lat}, {lon})")
    return {"force": found[0], "neighbourhood": found[1]}
