"""Anonymous map points: where the publication places a force's crimes, outcomes and stops
instead of their true locations (as data.police.uk does, "On or near Marquis Street").

How the points are made from the force's address base (``build_points``):

1. **Addresses**, each counted once (by UPRN, else by its normalised address text), are
   grouped by street and town: ``14 Wellesley St`` and ``Flat 2, 9 Wellesley Street`` fall
   in one group. An address whose street cannot be read joins its nearest group.
2. **Groups under the minimum** (the force's ``min_addresses_per_point``) are merged, the
   smallest first, into the group whose centre is nearest, until every group covers at
   least the minimum. A merged group is named after its street with the most addresses.
3. **Each point sits at its group's centre** (the mean of its addresses), moved when that
   falls within ``MIN_SEPARATION_M`` (10 m) of an address, or within
   ``RECORD_SEPARATION_M`` (2 m) of any other true location (where a record happened, a
   bare point a stop and search was recorded at, another map point): the first position
   on rings 5 m apart, 16 directions each, that is clear. A point is therefore never an
   address nor any record's true location.

The same addresses always give the same points (the groups, their order and every
position are deterministic), so a force publishing monthly keeps its points from month
to month; only points whose addresses changed move. (The margin from the places of
records is small on purpose: a month's new stops and searches, recorded at street
positions, would otherwise keep pushing points about; a point moves only when a record
lands within 2 m of it.)

A record's location is published as its **nearest point** (``Snapper``).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

# A point is never within this distance of an address...
MIN_SEPARATION_M = 10.0
# ...nor within this distance of any other true location (a record's place, another point).
RECORD_SEPARATION_M = 2.0
# Where a centre is too close, positions are tried on rings this far apart, out to the last.
RING_STEP_M = 5.0
RING_LAST_M = 200.0
DIRECTIONS = 16
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0
NAME_PREFIX = "On or near "

# ---------------------------------------------------------------- reading an address's street

_FLAT = re.compile(r"^(flat|apartment|apt|unit|room|suite)\s+[\w/-]+\s*", re.IGNORECASE)
_HOUSE_NUMBER = re.compile(r"^\d+[a-z]?(\s*[-/]\s*\d+[a-z]?)?\s+", re.IGNORECASE)
STREET_WORDS = frozenset(
    {
        "street",
        "road",
        "lane",
        "avenue",
        "close",
        "way",
        "drive",
        "place",
        "crescent",
        "grove",
        "terrace",
        "gardens",
        "court",
        "square",
        "walk",
        "hill",
        "row",
        "mews",
        "parade",
        "rise",
        "view",
        "green",
        "park",
        "vale",
        "bank",
        "croft",
        "fold",
        "gate",
        "end",
        "side",
        "wharf",
        "yard",
        "approach",
        "boulevard",
        "broadway",
        "circus",
        "highway",
        "mount",
        "passage",
        "quay",
        "wynd",
        "meadow",
        "meadows",
        "fields",
        "chase",
        "dale",
        "glade",
        "walkway",
    }
)
_ABBREVIATIONS = {
    "st": "Street",
    "rd": "Road",
    "ln": "Lane",
    "ave": "Avenue",
    "av": "Avenue",
    "cl": "Close",
    "dr": "Drive",
    "pl": "Place",
    "cres": "Crescent",
    "gr": "Grove",
    "gdns": "Gardens",
    "ct": "Court",
    "sq": "Square",
    "ter": "Terrace",
    "tce": "Terrace",
}


def _expand(words: list[str]) -> list[str]:
    """The last word's abbreviation written out (``Wellesley St`` -> ``Wellesley Street``)."""
    if words:
        full = _ABBREVIATIONS.get(words[-1].lower().rstrip("."))
        if full is not None:
            words = [*words[:-1], full]
    return words


def street_of(line1: str, line2: str = "") -> str | None:
    """The street an address is on, as written (``Flat 3, 52 Marsh Street`` -> ``Marsh
    Street``; ``Hanley Bus Station, Lichfield Street`` -> ``Lichfield Street``), or None
    when no part of it reads as a street."""
    parts = [" ".join(p.split()) for p in f"{line1 or ''},{line2 or ''}".split(",")]
    parts = [p for p in parts if p]
    numbered: str | None = None
    for part in parts:
        text = _FLAT.sub("", part)
        stripped = _HOUSE_NUMBER.sub("", text)
        words = _expand(stripped.split())
        if not words or words[0].isdigit():
            continue
        if words[-1].lower() in STREET_WORDS and len(words) > 1:
            return " ".join(words)
        if stripped != text and numbered is None:
            numbered = " ".join(words)  # "14 Piccadilly": a numbered address on a named street
    return numbered


def address_key(line1: str, line2: str, postcode: str, uprn: str | None) -> str:
    """One address's identity, so that it is counted once however often it is recorded:
    its UPRN, else its address text normalised (case, spacing, punctuation, abbreviations)."""
    if uprn:
        return f"uprn:{uprn.strip()}"
    words = []
    for part in f"{line1 or ''} {line2 or ''}".replace(",", " ").split():
        word = part.lower().strip(".'")
        words.append(_ABBREVIATIONS.get(word, word).lower())
    return f"text:{' '.join(words)}|{''.join((postcode or '').split()).upper()}"


# ---------------------------------------------------------------- distances


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def _offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    dlat = metres * math.cos(bearing) / METRES_PER_DEGREE_LAT
    dlon = metres * math.sin(bearing) / (METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


class _Grid:
    """True locations in cells of about 55 m (more than MIN_SEPARATION_M at any UK latitude),
    so that "is anything within 10 m" looks at nine cells, never at every location."""

    CELL = 0.0005  # degrees

    def __init__(self, places: Iterable[tuple[float, float]] = ()) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for lat, lon in places:
            self.add(lat, lon)

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.CELL), math.floor(lon / self.CELL)

    def add(self, lat: float, lon: float) -> None:
        self.cells.setdefault(self._cell(lat, lon), []).append((lat, lon))

    def clear(self, lat: float, lon: float, metres: float) -> bool:
        """Whether nothing lies within ``metres`` (at most the cell size) of the position.
        A flat-earth distance is exact to well under a centimetre at this range."""
        row, col = self._cell(lat, lon)
        kx = math.cos(math.radians(lat)) * METRES_PER_DEGREE_LON_AT_EQUATOR
        limit = metres * metres
        for r in (row - 1, row, row + 1):
            for c in (col - 1, col, col + 1):
                for plat, plon in self.cells.get((r, c), ()):
                    dx, dy = (lon - plon) * kx, (lat - plat) * METRES_PER_DEGREE_LAT
                    if dx * dx + dy * dy < limit:
                        return False
        return True

    def nearest_within_cells(self, lat: float, lon: float) -> float:
        """The distance to the nearest place in the nine cells around (infinity if none)."""
        row, col = self._cell(lat, lon)
        best = math.inf
        for r in (row - 1, row, row + 1):
            for c in (col - 1, col, col + 1):
                for plat, plon in self.cells.get((r, c), ()):
                    best = min(best, distance_m(lat, lon, plat, plon))
        return best


# ---------------------------------------------------------------- building the points


@dataclass(frozen=True)
class Address:
    """One address of the force's address base, as the points need it."""

    key: str  # address_key(): counted once
    street: str | None  # street_of(), or None
    town: str
    lat: float
    lon: float


@dataclass(frozen=True)
class MapPoint:
    """A published map point: never a true location; covers ``households`` addresses."""

    lat: float
    lon: float
    name: str  # "On or near Marquis Street"
    households: int


@dataclass
class _Group:
    key: tuple[str, str]
    lat_sum: float = 0.0
    lon_sum: float = 0.0
    count: int = 0
    names: Counter = field(default_factory=Counter)  # street spelling -> addresses
    towns: Counter = field(default_factory=Counter)

    @property
    def named(self) -> bool:
        return bool(self.names)

    def centre(self) -> tuple[float, float]:
        return self.lat_sum / self.count, self.lon_sum / self.count

    def absorb(self, other: _Group) -> None:
        self.lat_sum += other.lat_sum
        self.lon_sum += other.lon_sum
        self.count += other.count
        self.names.update(other.names)
        self.towns.update(other.towns)

    def name(self) -> str:
        if self.names:
            street = min(self.names.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        elif self.towns:
            street = min(self.towns.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        else:
            street = "Map point"
        return NAME_PREFIX + street


def distinct(addresses: Iterable[Address]) -> list[Address]:
    """Each address once (the first by key), in key order."""
    seen: dict[str, Address] = {}
    for address in sorted(addresses, key=lambda a: (a.key, a.lat, a.lon)):
        seen.setdefault(address.key, address)
    return list(seen.values())


def _groups(addresses: list[Address]) -> list[_Group]:
    by_key: dict[tuple[str, str], _Group] = {}
    for address in addresses:
        town = " ".join(address.town.split()).lower()
        # No street: a group of its own, merged into its nearest.
        key = (address.street.lower(), town) if address.street else ("", address.key)
        group = by_key.setdefault(key, _Group(key))
        group.lat_sum += address.lat
        group.lon_sum += address.lon
        group.count += 1
        if address.street:
            group.names[address.street] += 1
        if address.town.strip():
            group.towns[" ".join(address.town.split())] += 1
    return [by_key[k] for k in sorted(by_key)]


def _merge(groups: list[_Group], minimum: int) -> list[_Group]:
    """Merge groups under the minimum (and groups with no street) into their nearest group,
    the smallest first, until none is left under it (or one group is all there is)."""
    if not groups:
        return []
    lat0 = math.radians(sum(g.lat_sum for g in groups) / sum(g.count for g in groups))
    xs = np.array([g.lon_sum / g.count * math.cos(lat0) * METRES_PER_DEGREE_LON_AT_EQUATOR for g in groups])
    ys = np.array([g.lat_sum / g.count * METRES_PER_DEGREE_LAT for g in groups])
    alive = np.ones(len(groups), dtype=bool)

    def needs(i: int) -> bool:
        return groups[i].count < minimum or not groups[i].named

    def entry(i: int) -> tuple:
        return (groups[i].named, groups[i].count, groups[i].key, i)

    heap = [entry(i) for i in range(len(groups)) if needs(i)]
    heapq.heapify(heap)
    while heap and alive.sum() > 1:
        named, count, _, i = heapq.heappop(heap)
        if not alive[i] or (named, count) != (groups[i].named, groups[i].count) or not needs(i):
            continue
        distances = (xs - xs[i]) ** 2 + (ys - ys[i]) ** 2
        distances[~alive] = np.inf
        distances[i] = np.inf
        j = int(np.argmin(distances))  # ties: the first in key order
        groups[j].absorb(groups[i])
        alive[i] = False
        lat, lon = groups[j].centre()
        xs[j] = lon * math.cos(lat0) * METRES_PER_DEGREE_LON_AT_EQUATOR
        ys[j] = lat * METRES_PER_DEGREE_LAT
        if needs(j):
            heapq.heappush(heap, entry(j))
    return [g for g, keep in zip(groups, alive, strict=True) if keep]


def _candidates(lat: float, lon: float) -> Iterator[tuple[float, float]]:
    """Positions from the centre outwards: the centre, then rings RING_STEP_M apart."""
    yield round(lat, 6), round(lon, 6)
    for ring in range(1, int(RING_LAST_M / RING_STEP_M) + 1):
        for k in range(DIRECTIONS):
            yield _offset(lat, lon, ring * RING_STEP_M, 2 * math.pi * k / DIRECTIONS)


def place(lat: float, lon: float, addresses: _Grid, others: _Grid) -> tuple[float, float]:
    """The first position from the centre outwards (rings RING_STEP_M apart, DIRECTIONS
    bearings each) at least MIN_SEPARATION_M from every address and RECORD_SEPARATION_M
    from every other true location; the clearest one tried if none is (never a true
    location: its distance to every one is above 0)."""
    # A hair over each separation, so that the great-circle distance is over it too.
    for candidate in _candidates(lat, lon):
        if addresses.clear(*candidate, MIN_SEPARATION_M + 0.01) and others.clear(
            *candidate, RECORD_SEPARATION_M + 0.01
        ):
            return candidate
    return max(
        _candidates(lat, lon),
        key=lambda c: min(addresses.nearest_within_cells(*c), others.nearest_within_cells(*c) * 5),
    )


def build_points(addresses: Iterable[Address], minimum: int, avoid: Iterable[tuple[float, float]]) -> list[MapPoint]:
    """The force's map points from its address base: every point covers at least
    ``minimum`` distinct addresses and lies at least MIN_SEPARATION_M from every address and
    RECORD_SEPARATION_M from every place in ``avoid`` (the true locations of its records)
    and every other point. No points when the whole address base is under the minimum."""
    unique = distinct(addresses)
    if len(unique) < minimum:
        return []
    groups = [g for g in _merge(_groups(unique), minimum) if g.count >= minimum]
    address_grid = _Grid((a.lat, a.lon) for a in unique)
    others = _Grid(avoid)
    points = []
    for group in sorted(groups, key=lambda g: (g.name(), g.key)):
        lat, lon = place(*group.centre(), address_grid, others)
        others.add(lat, lon)  # two points never share a position either
        points.append(MapPoint(lat=lat, lon=lon, name=group.name(), households=group.count))
    return points


# ---------------------------------------------------------------- snapping records to points


class Snapper:
    """Finds each record's nearest published point."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.lat = np.array([p[0] for p in points], dtype=float)
        self.lon = np.array([p[1] for p in points], dtype=float)

    def nearest(self, places: list[tuple[float | None, float | None]]) -> list[int | None]:
        """For each (lat, lon), the index of the nearest point; None for an unlocated place
        (or when there are no points)."""
        found: list[int | None] = [None] * len(places)
        located = [(n, lat, lon) for n, (lat, lon) in enumerate(places) if lat is not None and lon is not None]
        if not located or not len(self.lat):
            return found
        chunk = max(1, 4_000_000 // len(self.lat))
        for start in range(0, len(located), chunk):
            part = located[start : start + chunk]
            lat = np.array([p[1] for p in part])[:, None]
            lon = np.array([p[2] for p in part])[:, None]
            dx = (lon - self.lon[None, :]) * np.cos(np.radians(lat)) * METRES_PER_DEGREE_LON_AT_EQUATOR
            dy = (lat - self.lat[None, :]) * METRES_PER_DEGREE_LAT
            best = np.argmin(dx * dx + dy * dy, axis=1)
            for (n, _, _), index in zip(part, best, strict=True):
                found[n] = int(index)
        return found
