"""How the simulator's units move: patrol legs around their home town and drives to
incidents at realistic speeds, along a path that bends like roads do (or the road
router's route when one is configured). Positions are a pure function of simulated time.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass

import requests

from bluelamp.sim.sim_calls import offset
from bluelamp.tracking.index import haversine_km

log = logging.getLogger(__name__)

MPH = 0.44704  # metres a second
ROAD_FACTOR = 1.35  # roads are not straight (the recommendations' default too)

# Patrol speeds (m/s): a car about town, an officer on foot or a bicycle.
PATROL_SPEED = {
    "foot_patrol": 1.3,
    "cycle_patrol": 4.5,
    "motorcycle": 30 * MPH,
    "roads_policing_car": 40 * MPH,
}
PATROL_CAR = 28 * MPH
# Driving to an incident, by grade: blue lights for grade 1, brisk for grade 2, with the
# traffic otherwise. Advanced-driver units (armed response, roads policing) go faster.
RESPONSE_SPEED = {"1": 50 * MPH, "2": 38 * MPH, "3": 28 * MPH, "4": 28 * MPH}
LONG_TRIP_KM = 8.0  # beyond this a blue-light run is mostly open road
LONG_TRIP_SPEED = 60 * MPH
FAST_UNITS = frozenset({"armed_response_vehicle", "roads_policing_car", "motorcycle"})
SLOW_UNITS = frozenset({"van", "public_order_carrier"})  # heavier vehicles: about 15% slower
ON_FOOT = {"foot_patrol": 2.0, "cycle_patrol": 6.0}  # m/s when sent to an incident

# How far a unit patrols from its station (km).
PATROL_RADIUS_KM = {"foot_patrol": 0.9, "cycle_patrol": 2.0}
PATROL_RADIUS_CAR_KM = 3.0
ROADS_PATROL_RADIUS_KM = 12.0


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial compass bearing from a to b (0-360)."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    x = math.sin(dl) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def path_km(points: list[tuple[float, float]]) -> float:
    return sum(haversine_km(*points[i], *points[i + 1]) for i in range(len(points) - 1))


@dataclass
class Leg:
    """A unit moving along ``points`` from ``start`` to ``end`` (simulated seconds), or
    standing at ``points[0]`` when it has one point."""

    points: list[tuple[float, float]]
    start: float
    end: float

    @classmethod
    def still(cls, where: tuple[float, float], start: float) -> Leg:
        return cls([where], start, start)

    @property
    def moving(self) -> bool:
        return len(self.points) > 1 and self.end > self.start

    @property
    def destination(self) -> tuple[float, float]:
        return self.points[-1]

    def speed_mps(self, t: float) -> float:
        if not self.moving or t >= self.end or t < self.start:
            return 0.0
        return path_km(self.points) * 1000 / (self.end - self.start)

    def at(self, t: float) -> tuple[float, float, float | None]:
        """(lat, lon, bearing) at simulated second ``t``."""
        if not self.moving or t <= self.start:
            first = self.points[0]
            return first[0], first[1], None
        if t >= self.end:
            last = self.points[-1]
            return last[0], last[1], None
        lengths = [haversine_km(*self.points[i], *self.points[i + 1]) for i in range(len(self.points) - 1)]
        total = sum(lengths) or 1e-9
        wanted = total * (t - self.start) / (self.end - self.start)
        for i, length in enumerate(lengths):
            if wanted <= length or i == len(lengths) - 1:
                share = 0.0 if length == 0 else min(1.0, wanted / length)
                a, b = self.points[i], self.points[i + 1]
                return a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share, bearing_deg(a, b)
            wanted -= length
        last = self.points[-1]
        return last[0], last[1], None


def road_like(a: tuple[float, float], b: tuple[float, float], rnd: random.Random) -> list[tuple[float, float]]:
    """A path from a to b that bends as streets do: a dog-leg for short trips (about the
    road factor longer than the straight line), a gently curving line for long ones."""
    km = haversine_km(*a, *b)
    if km < 0.05:
        return [a, b]
    if km < 4.0:
        corner = (a[0], b[1]) if rnd.random() < 0.5 else (b[0], a[1])
        return [a, corner, b]
    north = (b[0] - a[0]) * 110.57
    east = (b[1] - a[1]) * 111.32 * math.cos(math.radians(a[0]))
    points = [a]
    for share in (0.33, 0.66):
        sideways = rnd.gauss(0, 0.08) * km
        lat, lon = offset(a[0], a[1], north * share - east / km * sideways, east * share + north / km * sideways)
        points.append((lat, lon))
    points.append(b)
    return points


def response_speed(unit_type: str, grade: str, km: float) -> float:
    """Average speed (m/s) of a unit sent to an incident of this grade, ``km`` away."""
    if unit_type in ON_FOOT:
        return ON_FOOT[unit_type]
    speed = RESPONSE_SPEED.get(grade, RESPONSE_SPEED["3"])
    if grade == "1" and (km > LONG_TRIP_KM or unit_type in FAST_UNITS):
        speed = LONG_TRIP_SPEED
    return speed * 0.85 if unit_type in SLOW_UNITS else speed


def patrol_speed(unit_type: str) -> float:
    return PATROL_SPEED.get(unit_type, PATROL_CAR)


def patrol_radius_km(unit_type: str, town_radius_km: float) -> float:
    if unit_type in PATROL_RADIUS_KM:
        return PATROL_RADIUS_KM[unit_type]
    if unit_type == "roads_policing_car":
        return ROADS_PATROL_RADIUS_KM
    return max(PATROL_RADIUS_CAR_KM, town_radius_km)


def patrol_leg(
    here: tuple[float, float],
    home: tuple[float, float],
    radius_km: float,
    unit_type: str,
    start: float,
    rnd: random.Random,
) -> Leg:
    """From ``here`` to a random point of the beat within ``radius_km`` of ``home``, at
    patrol speed (a little faster back from well outside the beat)."""
    away = haversine_km(*here, *home) > radius_km * 1.3
    distance = radius_km * math.sqrt(rnd.random())
    angle = rnd.uniform(0, 2 * math.pi)
    target = (
        home[0] + distance * math.cos(angle) / 110.57,
        home[1] + distance * math.sin(angle) / (111.32 * math.cos(math.radians(home[0]))),
    )
    points = road_like(here, target, rnd)
    speed = patrol_speed(unit_type) * (1.3 if away else 1.0)
    return Leg(points, start, start + max(5.0, path_km(points) * 1000 / speed))


class Router:
    """Routes for drives to incidents: an OSRM-compatible route service when a URL is given
    (its geometry when it sends one, its duration scaled for blue lights), else the
    straight line × the road factor at the unit's speed along a road-like path."""

    BLUE_LIGHT_SHARE = {"1": 0.7, "2": 0.85}  # of the router's everyday driving time

    def __init__(self, url: str | None = None, timeout: float = 3.0) -> None:
        self.url = (url or "").rstrip("/") or None
        self.timeout = timeout
        self.session = requests.Session() if self.url else None
        self.failures = 0

    def drive(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        unit_type: str,
        grade: str,
        start: float,
        rnd: random.Random,
    ) -> Leg:
        """The leg from a to b starting at ``start`` (simulated seconds)."""
        km = haversine_km(*a, *b)
        points = road_like(a, b, rnd)
        seconds = km * 1000 * ROAD_FACTOR / response_speed(unit_type, grade, km)
        if self.url and unit_type not in ON_FOOT and km > 0.05:
            routed = self._route(a, b)
            if routed is not None:
                duration, geometry = routed
                seconds = duration * self.BLUE_LIGHT_SHARE.get(grade, 1.0)
                if geometry:
                    points = geometry
        return Leg(points, start, start + max(5.0, seconds))

    def _route(self, a: tuple[float, float], b: tuple[float, float]):
        path = f"/route/v1/driving/{a[1]:.6f},{a[0]:.6f};{b[1]:.6f},{b[0]:.6f}"
        try:
            answer = self.session.get(
                self.url + path, params={"overview": "full", "geometries": "geojson"}, timeout=self.timeout
            )
            body = answer.json()
            route = body["routes"][0]
            duration = float(route["duration"])
            coordinates = (route.get("geometry") or {}).get("coordinates") or []
            geometry = [(float(lat), float(lon)) for lon, lat in coordinates] if len(coordinates) >= 2 else None
            if geometry:  # the route starts and ends on the road: join the unit and the scene to it
                geometry = [a, *geometry, b]
            return duration, geometry
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError):
            self.failures += 1
            log.debug("router gave no route from %s to %s", a, b)
            return None
