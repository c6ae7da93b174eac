"""Duplicate calls at intake: active incidents near in place and time, offered before a
new incident is created (many callers report the same fight or crash).

The window and radius are the new call's category's (``Category.duplicate_radius_m``
and ``duplicate_window_minutes``, configurable per force as FixMyStreet configures them
per report category). Any category of active incident is offered: two callers describe
the same fight as an assault and as violence in progress. SQL narrows the search to a
latitude/longitude box around the point (within the actor's visibility, before any
limit); the exact great-circle distance makes the final cut in Python."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import queries
from bluelamp.command.model import Incident
from bluelamp.command.service import invalid_input, location_problems, settings_of
from bluelamp.errors import FieldProblem
from bluelamp.tracking.index import haversine_km

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Duplicate:
    """An active incident that may be what a new caller is reporting."""

    incident: Incident
    distance_m: float
    age_minutes: float


def find_duplicates(
    session: Session,
    actor: Actor,
    category: str,
    lat: float | None,
    lon: float | None,
    clock: Clock,
    *,
    exclude_id: str | None = None,
) -> list[Duplicate]:
    """Active incidents of the actor's force within the category's radius of the point and
    created within its window, nearest first."""
    require(actor, Action.INCIDENT_READ)
    _, _, command = settings_of(session, actor.force_id)
    problems = location_problems(lat, lon, required=True)
    found = command.category((category or "").strip())
    if found is None:
        unknown = FieldProblem("category", f"{category!r} is not one of the force's categories")
        problems.append((unknown, "incident.unknown_category"))
    if problems:
        raise invalid_input(problems)
    radius, window = found.duplicate_radius_m, found.duplicate_window_minutes
    if radius <= 0 or window <= 0:  # e.g. fraud: reports are never duplicates by place and time
        return []
    now = clock.now()
    dlat = radius / METRES_PER_DEGREE
    dlon = radius / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    candidates = queries.active_incidents_in_box(
        session,
        actor,
        lat - dlat,
        lat + dlat,
        lon - dlon,
        lon + dlon,
        now - timedelta(minutes=window),
        exclude_id=exclude_id,
    )
    near = []
    for incident in candidates:
        distance = haversine_km(lat, lon, incident.lat, incident.lon) * 1000
        if distance <= radius:
            age = max(0.0, (now - incident.created_at).total_seconds() / 60)
            near.append(Duplicate(incident, round(distance, 1), round(age, 1)))
    near.sort(key=lambda d: (d.distance_m, d.age_minutes))
    return near
