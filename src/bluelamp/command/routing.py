"""Travel times for unit recommendations: a router interface, a straight-line router
(the default) and an OSRM-compatible HTTP router.

The straight-line router multiplies the great-circle distance by a road factor (roads
are not straight; 1.3-1.4 is typical of British towns) and divides by a typical speed
for the kind of unit. The road factor is a force setting
(``CommandSettings.road_factor``), so it is passed with each request rather than fixed
in the router: one router per process serves every force.

The HTTP router asks an OSRM-compatible server's table service once per
recommendation (every candidate to the incident in one request). Any candidate it has
no answer for (a null in the table, a timeout, a refused connection, a malformed
reply) falls back to the straight line, and the estimate says so, so the dispatcher
knows which figures came from the road network.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import requests

from bluelamp.tracking.index import haversine_km
from bluelamp.tracking.model import UnitType

log = logging.getLogger(__name__)

DEFAULT_ROAD_FACTOR = 1.35

# Typical average speeds to an incident, in km/h, as a blend of urban and rural driving
# under blue lights (not top speeds): a response car averages about 48 km/h once
# junctions, traffic and the last few hundred metres on foot are counted. Armed
# response, roads policing cars and motorcycles are advanced-driver units that cover
# ground faster; vans and carriers are slower. Foot and cycle patrols move at
# walking and riding pace. A force with different experience changes this table.
TYPICAL_SPEED_KMH: dict[str, float] = {
    UnitType.RESPONSE_CAR: 48.0,
    UnitType.UNMARKED_CAR: 48.0,
    UnitType.ARMED_RESPONSE_VEHICLE: 56.0,
    UnitType.DOG_VAN: 48.0,
    UnitType.ROADS_POLICING_CAR: 60.0,
    UnitType.MOTORCYCLE: 56.0,
    UnitType.VAN: 40.0,
    UnitType.PUBLIC_ORDER_CARRIER: 40.0,
    UnitType.FOOT_PATROL: 5.0,
    UnitType.CYCLE_PATROL: 15.0,
}
FALLBACK_SPEED_KMH = 40.0  # a unit type missing from the table

# Unit types that do not drive: a driving router's durations would be wrong for them,
# so the HTTP router uses its road distance at their own pace instead.
NOT_DRIVING = frozenset({UnitType.FOOT_PATROL.value, UnitType.CYCLE_PATROL.value})


@dataclass(frozen=True)
class Origin:
    """Where a unit is now, and what kind of unit it is (its speed depends on it)."""

    lat: float
    lon: float
    unit_type: str


@dataclass(frozen=True)
class Estimate:
    """A travel time and how it was reached ("straight line × 1.35 at 48 km/h", "road router")."""

    seconds: float | None
    basis: str
    routed: bool = False  # True: the figure came from the road network


class Router(Protocol):
    """Estimates how long units take to reach a point."""

    def travel_seconds(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[float | None]:
        """Seconds from each origin to the destination (lat, lon); None where unknown."""
        ...

    def estimate(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[Estimate]:
        """Like ``travel_seconds``, with how each figure was reached."""
        ...


def speed_kmh(unit_type: str, speeds: dict[str, float] | None = None) -> float:
    table = speeds if speeds is not None else TYPICAL_SPEED_KMH
    return table.get(unit_type, FALLBACK_SPEED_KMH)


class StraightLineRouter:
    """Great-circle distance × road factor ÷ the unit type's typical speed."""

    def __init__(self, road_factor: float = DEFAULT_ROAD_FACTOR, speeds_kmh: dict[str, float] | None = None) -> None:
        self.road_factor = road_factor
        self.speeds_kmh = {str(k): v for k, v in (speeds_kmh or TYPICAL_SPEED_KMH).items()}

    def travel_seconds(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[float | None]:
        factor = road_factor or self.road_factor
        lat, lon = destination
        return [
            haversine_km(o.lat, o.lon, lat, lon) * factor / speed_kmh(o.unit_type, self.speeds_kmh) * 3600
            for o in origins
        ]

    def estimate(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[Estimate]:
        factor = road_factor or self.road_factor
        seconds = self.travel_seconds(origins, destination, road_factor=factor)
        return [Estimate(s, self.basis(o.unit_type, factor)) for o, s in zip(origins, seconds, strict=True)]

    def basis(self, unit_type: str, road_factor: float | None = None) -> str:
        factor = road_factor or self.road_factor
        return f"straight line × {factor:g} at {speed_kmh(unit_type, self.speeds_kmh):g} km/h"


class OsrmRouter:
    """An OSRM-compatible routing server's table service, with the straight line as fallback.

    One request per recommendation: ``/table/v1/driving/<origins>;<destination>?sources=
    0;1;..&destinations=N&annotations=duration,distance``. Answers are cached for a short
    while per (origin, destination) rounded to about 10 m, so a dispatcher refreshing
    the same incident does not ask again. After a failure the server is left alone for
    ``retry_after_s`` (every recommendation would otherwise wait for the timeout)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        fallback: StraightLineRouter | None = None,
        *,
        profile: str = "driving",
        cache_seconds: float = 30.0,
        cache_size: int = 20000,
        retry_after_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.fallback = fallback or StraightLineRouter()
        self.profile = profile
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self.retry_after_s = retry_after_s
        self._cache: OrderedDict[tuple, tuple[float, float | None, float | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._last_failure = ""
        self._http = requests.Session()

    def travel_seconds(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[float | None]:
        return [e.seconds for e in self.estimate(origins, destination, road_factor=road_factor)]

    def estimate(
        self, origins: list[Origin], destination: tuple[float, float], *, road_factor: float | None = None
    ) -> list[Estimate]:
        if not origins:
            return []
        now = time.monotonic()
        answers: list[tuple[float | None, float | None] | None] = [None] * len(origins)
        missing: list[int] = []
        with self._lock:
            for n, origin in enumerate(origins):
                cached = self._cache.get(_key(origin, destination))
                if cached is not None and cached[0] > now:
                    answers[n] = (cached[1], cached[2])
                else:
                    missing.append(n)
        failure = ""
        if missing:
            if now < self._down_until:
                failure = f"router unavailable ({self._last_failure})"
            else:
                try:
                    fetched = self._table([origins[n] for n in missing], destination)
                except RouterFailed as error:
                    failure = f"router unavailable ({error})"
                    with self._lock:
                        self._down_until = now + self.retry_after_s
                        self._last_failure = str(error)
                    log.warning("router %s failed, using straight lines: %s", self.base_url, error)
                else:
                    expires = now + self.cache_seconds
                    with self._lock:
                        for n, answer in zip(missing, fetched, strict=True):
                            answers[n] = answer
                            self._cache[_key(origins[n], destination)] = (expires, *answer)
                        while len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
        results = []
        for origin, answer in zip(origins, answers, strict=True):
            routed = self._from_answer(origin, answer)
            if routed is not None:
                results.append(routed)
                continue
            reason = failure or "no road route from the router"
            straight = self.fallback.estimate([origin], destination, road_factor=road_factor)[0]
            results.append(Estimate(straight.seconds, f"{reason}: {straight.basis}"))
        return results

    def _from_answer(self, origin: Origin, answer: tuple[float | None, float | None] | None) -> Estimate | None:
        if answer is None:
            return None
        duration, distance = answer
        if origin.unit_type in NOT_DRIVING:
            if distance is None:
                return None
            pace = speed_kmh(origin.unit_type, self.fallback.speeds_kmh)
            return Estimate(
                distance / 1000 / pace * 3600, f"road router: {distance / 1000:.1f} km at {pace:g} km/h", True
            )
        if duration is None:
            return None
        return Estimate(duration, "road router", True)

    def _table(
        self, origins: list[Origin], destination: tuple[float, float]
    ) -> list[tuple[float | None, float | None]]:
        """One table request: (duration s, distance m) from each origin to the destination."""
        coordinates = ";".join(f"{o.lon:.6f},{o.lat:.6f}" for o in origins)
        coordinates += f";{destination[1]:.6f},{destination[0]:.6f}"
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        params = {
            "sources": ";".join(str(n) for n in range(len(origins))),
            "destinations": str(len(origins)),
            "annotations": "duration,distance",
        }
        try:
            response = self._http.get(url, params=params, timeout=self.timeout_s)
        except requests.Timeout:
            raise RouterFailed(f"no answer within {self.timeout_s * 1000:.0f} ms") from None
        except requests.RequestException as error:
            raise RouterFailed(type(error).__name__) from None
        try:
            body = response.json()
        except ValueError:
            raise RouterFailed(f"HTTP {response.status_code}, not JSON") from None
        if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise RouterFailed(f"HTTP {response.status_code} {code or ''}".strip())
        durations = body.get("durations")
        distances = body.get("distances")
        if not isinstance(durations, list) or len(durations) != len(origins):
            raise RouterFailed("malformed table")
        return [
            (_cell(durations, n), _cell(distances, n) if isinstance(distances, list) else None)
            for n in range(len(origins))
        ]


class RouterFailed(Exception):
    """The routing server could not answer (the caller falls back to straight lines)."""


def _cell(table: list, row: int) -> float | None:
    try:
        value = table[row][0]
    except (IndexError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _key(origin: Origin, destination: tuple[float, float]) -> tuple:
    return (round(origin.lat, 4), round(origin.lon, 4), round(destination[0], 4), round(destination[1], 4))


def router_for(settings) -> Router:
    """The router the settings ask for: OSRM-compatible when ``router_url`` is set, else
    the straight line (the road factor comes with each request, per force)."""
    straight = StraightLineRouter()
    if getattr(settings, "router_url", ""):
        return OsrmRouter(settings.router_url, settings.router_timeout_ms / 1000, straight)
    return straight
