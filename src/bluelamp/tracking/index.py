"""The latest-position index: where every unit is now, in memory, answering
"k nearest deployable units with capabilities X to a point" without scanning every
unit.

Units live in a uniform grid of about 1 km cells, one grid per force. A query
searches rings of cells outwards from the point and stops once the next ring cannot
hold anything nearer than the k-th unit found. Rare capabilities (two armed response
vehicles in a force) are answered from a per-capability set instead, so the ring
search never wanders across empty country looking for them.

The index is rebuilt from the store at start (``load``) and kept current by the
ingest and by status changes. It is per process; the live feed carries changes
between processes.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bluelamp.tracking.model import DEPLOYABLE, Capability, UnitStatus

EARTH_KM = 6371.0088
CELL_DEG_LAT = 0.01  # about 1.1 km
CELL_DEG_LON = 0.016  # about 1.1 km at 53° N
RARE = 64  # a capability held by fewer deployable units than this is searched directly

CAPABILITY_BITS = {capability: 1 << n for n, capability in enumerate(Capability)}


def capability_mask(capabilities: Iterable[str]) -> int:
    mask = 0
    for capability in capabilities:
        mask |= CAPABILITY_BITS[Capability(capability)]
    return mask


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class UnitState:
    """What the index knows of one unit."""

    unit_id: str
    force_id: str
    call_sign: str
    unit_type: str
    status: str
    marking: str
    capabilities: int = 0
    lat: float | None = None
    lon: float | None = None
    fix_at: datetime | None = None
    speed_mps: float | None = None
    bearing: float | None = None
    incident_id: str | None = None
    cell: tuple[int, int] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Nearby:
    """A unit found near a point, with its straight-line distance."""

    unit: UnitState
    distance_km: float


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    return _floor(lat / CELL_DEG_LAT), _floor(lon / CELL_DEG_LON)


_floor = math.floor
_BITS: dict[int, tuple[int, ...]] = {}


def _bits(mask: int) -> tuple[int, ...]:
    """0 (the grid of every unit) and each capability bit of a mask, remembered per mask."""
    bits = _BITS.get(mask)
    if bits is None:
        found, rest = [0], mask
        while rest:
            bit = rest & -rest
            found.append(bit)
            rest ^= bit
        bits = _BITS[mask] = tuple(found)
    return bits


class LatestIndex:
    """Latest positions and states of every unit, with a nearest-units query."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.units: dict[str, UnitState] = {}
        # force -> capability bit (0: any) -> cell -> unit ids of deployable units with a position
        self._grids: dict[str, dict[int, dict[tuple[int, int], set[str]]]] = {}
        # force -> capability bit -> deployable unit ids with a position
        self._by_capability: dict[str, dict[int, set[str]]] = {}
        self._deployable_count: dict[str, int] = {}

    # -------------------------------------------------------------- updates

    def put(self, state: UnitState) -> None:
        """Add or replace a unit's whole state (at load, or when a unit is created)."""
        with self._lock:
            old = self.units.get(state.unit_id)
            if old is not None:
                self._unindex(old)
            self.units[state.unit_id] = state
            self._index(state)

    def load(self, states: Iterable[UnitState]) -> None:
        """Replace everything with these states (a rebuild from the store)."""
        with self._lock:
            self.units.clear()
            self._grids.clear()
            self._by_capability.clear()
            self._deployable_count.clear()
            for state in states:
                self.units[state.unit_id] = state
                self._index(state)

    def locked(self):
        """Hold the index for a batch of moves (the lock is re-entrant: one acquisition
        per batch instead of one per fix)."""
        return self._lock

    def move(
        self,
        unit_id: str,
        lat: float,
        lon: float,
        fix_at: datetime,
        speed_mps: float | None = None,
        bearing: float | None = None,
    ) -> bool:
        """Record a fix; an older fix than the one held never overwrites it. True when applied.

        The hot path of ingest: a unit already in the grids changes at most its cell (its
        status, capabilities and force are as they were), so only the cell sets move."""
        with self._lock:
            state = self.units.get(unit_id)
            if state is None:
                return False
            if state.fix_at is not None and fix_at <= state.fix_at:
                return False
            state.lat, state.lon, state.fix_at = lat, lon, fix_at
            state.speed_mps, state.bearing = speed_mps, bearing
            old = state.cell
            if old is None:  # not in the grids: it may now be (its first position)
                self._index(state)
                return True
            cell = (_floor(lat / CELL_DEG_LAT), _floor(lon / CELL_DEG_LON))
            if cell != old:
                grids = self._grids[state.force_id]
                for bit in _bits(state.capabilities):
                    cells = grids[bit]
                    members = cells[old]
                    members.discard(unit_id)
                    if not members:
                        del cells[old]
                    members = cells.get(cell)
                    if members is None:
                        cells[cell] = {unit_id}
                    else:
                        members.add(unit_id)
                state.cell = cell
            return True

    def set_status(self, unit_id: str, status: str, incident_id: str | None = None) -> None:
        with self._lock:
            state = self.units.get(unit_id)
            if state is None:
                return
            self._unindex(state)
            state.status = status
            state.incident_id = incident_id
            self._index(state)

    def set_capabilities(self, unit_id: str, capabilities: Iterable[str]) -> None:
        with self._lock:
            state = self.units.get(unit_id)
            if state is None:
                return
            self._unindex(state)
            state.capabilities = capability_mask(capabilities)
            self._index(state)

    def remove(self, unit_id: str) -> None:
        with self._lock:
            state = self.units.pop(unit_id, None)
            if state is not None:
                self._unindex(state)

    def _deployable(self, state: UnitState) -> bool:
        return state.status in DEPLOYABLE_VALUES and state.lat is not None

    def _index(self, state: UnitState) -> None:
        if not self._deployable(state):
            state.cell = None
            return
        state.cell = cell_of(state.lat, state.lon)
        grids = self._grids.setdefault(state.force_id, {})
        grids.setdefault(0, {}).setdefault(state.cell, set()).add(state.unit_id)
        by_cap = self._by_capability.setdefault(state.force_id, {})
        mask = state.capabilities
        while mask:
            bit = mask & -mask
            by_cap.setdefault(bit, set()).add(state.unit_id)
            grids.setdefault(bit, {}).setdefault(state.cell, set()).add(state.unit_id)
            mask ^= bit
        self._deployable_count[state.force_id] = self._deployable_count.get(state.force_id, 0) + 1

    def _unindex(self, state: UnitState) -> None:
        if state.cell is None:
            return
        grids = self._grids.get(state.force_id, {})
        bits = _bits(state.capabilities)
        for bit in bits:
            cells = grids.get(bit, {})
            members = cells.get(state.cell)
            if members is not None:
                members.discard(state.unit_id)
                if not members:
                    del cells[state.cell]
        by_cap = self._by_capability.get(state.force_id, {})
        for bit in bits[1:]:
            by_cap.get(bit, set()).discard(state.unit_id)
        self._deployable_count[state.force_id] -= 1
        state.cell = None

    # -------------------------------------------------------------- queries

    def nearest(
        self,
        force_id: str,
        lat: float,
        lon: float,
        k: int = 5,
        *,
        capabilities: Iterable[str] = (),
        exclude: Iterable[str] = (),
        allowed_markings: Iterable[str] | None = None,
        max_km: float = 150.0,
    ) -> list[Nearby]:
        """The k nearest deployable units of a force to a point that hold every capability
        asked for, nearest first. Only units with a known position are considered."""
        required = capability_mask(capabilities)
        excluded = set(exclude)
        markings = set(allowed_markings) if allowed_markings is not None else None
        with self._lock:
            bit, candidates = self._rarest_capability(force_id, required)
            if candidates is not None and len(candidates) <= RARE * max(1, k):
                return self._scan(candidates, lat, lon, k, required, excluded, markings, max_km)
            population = len(candidates) if candidates is not None else self._deployable_count.get(force_id, 0)
            return self._ring_search(force_id, bit, population, lat, lon, k, required, excluded, markings, max_km)

    def _rarest_capability(self, force_id: str, required: int) -> tuple[int, set[str] | None]:
        """The required capability held by the fewest deployable units, and those units."""
        if not required:
            return 0, None
        by_cap = self._by_capability.get(force_id, {})
        best_bit, smallest = 0, None
        mask = required
        while mask:
            bit = mask & -mask
            members = by_cap.get(bit, set())
            if smallest is None or len(members) < len(smallest):
                best_bit, smallest = bit, members
            mask ^= bit
        return best_bit, smallest

    def _accept(self, state: UnitState, required: int, excluded: set[str], markings: set[str] | None) -> bool:
        return (
            state.capabilities & required == required
            and state.unit_id not in excluded
            and (markings is None or state.marking in markings)
        )

    def _scan(
        self,
        unit_ids: Iterable[str],
        lat: float,
        lon: float,
        k: int,
        required: int,
        excluded: set[str],
        markings: set[str] | None,
        max_km: float,
    ) -> list[Nearby]:
        found = []
        for unit_id in unit_ids:
            state = self.units[unit_id]
            if not self._accept(state, required, excluded, markings):
                continue
            distance = haversine_km(lat, lon, state.lat, state.lon)
            if distance <= max_km:
                found.append(Nearby(state, distance))
        return heapq.nsmallest(k, found, key=lambda n: n.distance_km)

    def _ring_search(
        self,
        force_id: str,
        bit: int,
        population: int,
        lat: float,
        lon: float,
        k: int,
        required: int,
        excluded: set[str],
        markings: set[str] | None,
        max_km: float,
    ) -> list[Nearby]:
        cells = self._grids.get(force_id, {}).get(bit)
        if not cells:
            return []
        cy, cx = cell_of(lat, lon)
        # The smallest distance one ring step can cover, in km (cells are narrower in longitude).
        ring_km = min(CELL_DEG_LAT * 111.0, CELL_DEG_LON * 111.32 * math.cos(math.radians(min(abs(lat) + 1, 89))))
        max_ring = int(max_km / ring_km) + 1
        best: list[tuple[float, str]] = []  # max-heap of (-distance, unit id)
        seen = 0
        for ring in range(max_ring + 1):
            if len(best) == k and (ring - 1) * ring_km > -best[0][0]:
                break
            if seen >= population:
                break
            for cell in _ring_cells(cy, cx, ring):
                members = cells.get(cell)
                if not members:
                    continue
                for unit_id in members:
                    seen += 1
                    state = self.units[unit_id]
                    if not self._accept(state, required, excluded, markings):
                        continue
                    distance = haversine_km(lat, lon, state.lat, state.lon)
                    if distance > max_km:
                        continue
                    if len(best) < k:
                        heapq.heappush(best, (-distance, unit_id))
                    elif distance < -best[0][0]:
                        heapq.heapreplace(best, (-distance, unit_id))
        return [Nearby(self.units[u], -d) for d, u in sorted(best, reverse=True)]

    def snapshot_all(self) -> list[UnitState]:
        with self._lock:
            return list(self.units.values())

    def snapshot(self, force_id: str) -> list[UnitState]:
        """Every unit of a force, for a live map's first frame."""
        with self._lock:
            return [s for s in self.units.values() if s.force_id == force_id]


DEPLOYABLE_VALUES = frozenset(s.value for s in DEPLOYABLE)


def _ring_cells(cy: int, cx: int, ring: int):
    if ring == 0:
        yield (cy, cx)
        return
    for dx in range(-ring, ring + 1):
        yield (cy - ring, cx + dx)
        yield (cy + ring, cx + dx)
    for dy in range(-ring + 1, ring):
        yield (cy + dy, cx - ring)
        yield (cy + dy, cx + ring)


__all__ = ["LatestIndex", "Nearby", "UnitState", "UnitStatus", "capability_mask", "haversine_km"]
