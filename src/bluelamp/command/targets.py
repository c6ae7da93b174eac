"""Attendance targets: urban or rural by location against the force's areas, the target
time for a grade (the clock starts at creation), and when to prompt a re-assessment.

Times are real elapsed time in UTC, so a target that crosses a clock change is still
exactly its number of minutes (DOMAIN.md "Time")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache

from shapely.geometry import Point, shape
from shapely.prepared import prep

from bluelamp.access.model import ForceSettings
from bluelamp.command.config import Area, CommandSettings
from bluelamp.command.model import AreaKind, Incident


@lru_cache(maxsize=256)
def _prepared(geometry_json: str):
    return prep(shape(json.loads(geometry_json)))


def inside(area: Area, lat: float, lon: float) -> bool:
    """Whether a WGS84 point lies in an area (GeoJSON is lon, lat)."""
    return _prepared(json.dumps(area.geometry, sort_keys=True)).covers(Point(lon, lat))


def area_kind(settings: CommandSettings, lat: float, lon: float) -> AreaKind:
    """Urban inside any configured urban area, rural outside; urban when none are configured
    (the stricter target, so a force that has not drawn its areas never gets looser targets)."""
    if not settings.urban_areas:
        return AreaKind.URBAN
    return AreaKind.URBAN if any(inside(a, lat, lon) for a in settings.urban_areas) else AreaKind.RURAL


def in_force_area(settings: CommandSettings, lat: float, lon: float) -> bool:
    """Whether a point is in the force's area (True when no area is configured)."""
    return settings.force_area is None or inside(settings.force_area, lat, lon)


def target_minutes(force: ForceSettings, grade: str, kind: AreaKind | str) -> int | None:
    """The attendance target in minutes for a grade here; None: no attendance (grade 4)."""
    target = force.grades.get(str(grade))
    if target is None:
        return None
    return target.urban_minutes if AreaKind(kind) is AreaKind.URBAN else target.rural_minutes


def set_target(incident: Incident, force: ForceSettings, command: CommandSettings) -> None:
    """(Re)compute an incident's target and re-assessment time from its grade and area.
    The target clock always counts from creation, whatever changed since."""
    minutes = target_minutes(force, incident.grade, incident.area_kind)
    incident.target_minutes = minutes
    if minutes is None:
        incident.target_at = None
        incident.reassess_at = None
        return
    incident.target_at = incident.created_at + timedelta(minutes=minutes)
    lead = command.reassess_lead_minutes.get(str(incident.grade))
    if lead is None:
        incident.reassess_at = None
    else:
        incident.reassess_at = incident.target_at - timedelta(minutes=min(lead, minutes))


def remaining(incident: Incident, now: datetime) -> timedelta | None:
    """Time left to the target (negative once breached); None without a target."""
    return None if incident.target_at is None else incident.target_at - now
