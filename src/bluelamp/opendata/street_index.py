"""An in-memory index of a month's located street-level crimes, each crime's JSON already
serialised: what makes ``crimes-street`` fast.

A one-mile circle in a city holds a thousand crimes or more; answering it from the database
costs a range scan of the month's latitude band, a row fetch per candidate and a dictionary
per crime (tens of milliseconds). Here the month's crimes sit in numpy arrays sorted by
latitude: the band is two binary searches, the exact haversine (or polygon) test is
vectorised, and the answer is the selected crimes' ready-made JSON joined with commas.

Kept fresh without trusting a clock: every request reads the largest street-crime id (the
end of an index, as cheap as a query gets); when it has moved, or every ``recheck_seconds``
in any case, the month's ``opendata_month`` rows (force, loaded at, rows) are compared with
those the index was built from, and the month is rebuilt when they differ (an import or a
publication of it, including one that only removed rows). Months are kept least recently
used first out, up to ``max_rows`` crimes in all; a month larger than that is answered from
the database instead. Each worker process keeps its own."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import orjson

from bluelamp.errors import Unavailable
from bluelamp.opendata import queries
from bluelamp.opendata.model import FileKind
from bluelamp.opendata.vocabulary import month_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_ROWS = 400_000  # crimes kept in memory per worker (about 450 bytes each)
RECHECK_SECONDS = 5.0


class MonthIndex:
    """One month's located crimes: coordinates, ids and categories as arrays (sorted by
    latitude) and each crime's JSON bytes."""

    def __init__(self, month: int, rows: Sequence[Sequence], loads: tuple, max_id: int | None, now: float) -> None:
        self.month, self.loads, self.max_id, self.checked_at = month, loads, max_id, now
        lat = np.fromiter((r[4] for r in rows), float, len(rows))
        order = np.argsort(lat, kind="stable")
        self.lat = lat[order]
        self.lon = np.fromiter((r[5] for r in rows), float, len(rows))[order]
        self.ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))[order]
        self.codes: dict[str, int] = {}
        categories = np.fromiter((self.codes.setdefault(r[3], len(self.codes)) for r in rows), np.int32, len(rows))
        self.category = categories[order]
        dumps, shape = orjson.dumps, queries.crime_json
        self.fragments: list[bytes] = [dumps(shape(rows[i])) for i in order.tolist()]

    def __len__(self) -> int:
        return len(self.fragments)

    def select(self, area: queries.Circle | queries.Polygon, category: str | None, cap: int | None) -> np.ndarray:
        """Positions of the crimes in the area (of the category, when given), by id. A
        polygon holding more than ``cap``: 503."""
        if isinstance(area, queries.Circle):
            if not (-90 <= area.lat <= 90 and -180 <= area.lon <= 180):
                return np.empty(0, np.int64)
            south, north, west, east = queries.bbox(area.lat, area.lon, area.radius_m)
            inside = queries.circle_test(area)
            cap = None
        else:
            west, south, east, north = area.shape.bounds
            inside = queries.polygon_test(area)
        start = int(np.searchsorted(self.lat, south, side="left"))
        stop = int(np.searchsorted(self.lat, north, side="right"))
        lon = self.lon[start:stop]
        band = np.flatnonzero((lon >= west) & (lon <= east)) + start
        if category is not None:
            code = self.codes.get(category)
            if code is None:
                return np.empty(0, np.int64)
            band = band[self.category[band] == code]
        chosen = band[inside(self.lat[band], self.lon[band])]
        if cap is not None and len(chosen) > cap:
            raise Unavailable(
                f"the area holds more than {cap:,} results in {month_text(self.month)}: ask for a smaller area",
                code="opendata.too_many_results",
            )
        return chosen[np.argsort(self.ids[chosen], kind="stable")]

    def json(self, positions: np.ndarray) -> bytes:
        """The crimes at those positions as the JSON array data.police.uk gives."""
        fragments = self.fragments
        return b"[" + b",".join([fragments[i] for i in positions.tolist()]) + b"]"


class StreetIndex:
    """The months' indexes of one worker process (see the module's notes)."""

    def __init__(
        self,
        max_rows: int = MAX_ROWS,
        recheck_seconds: float = RECHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_rows, self.recheck_seconds, self._monotonic = max_rows, recheck_seconds, monotonic
        self._months: OrderedDict[int, MonthIndex] = OrderedDict()
        self._lock = threading.Lock()  # the table of months
        self._building = threading.Lock()  # one build at a time: the others wait for it, then use it
        self.builds = 0

    def ready(self, month: int, max_id: int | None) -> MonthIndex | None:
        """The month's index when it is known fresh without asking the database (nothing
        written since it was checked, and checked within ``recheck_seconds``); else ``None``."""
        entry = self._get(month)
        if entry is not None and entry.max_id == max_id and self._monotonic() - entry.checked_at < self.recheck_seconds:
            return entry
        return None

    def month(self, session: Session, month: int, max_id: int | None) -> MonthIndex | None:
        """The month's index, fresh (checked, or rebuilt); ``None`` when the month is too
        large to keep."""
        now = self._monotonic()
        entry = self.ready(month, max_id)
        if entry is not None:
            return entry
        with self._building:
            entry = self._get(month)
            loads = queries.month_loads(session, month, FileKind.STREET)
            if entry is not None and entry.loads == loads:
                entry.max_id, entry.checked_at = max_id, now
                return entry
            if sum(rows for _, _, rows in loads) > self.max_rows:
                self._drop(month)
                return None
            rows = queries.located_month(session, month)
            built = MonthIndex(month, rows, loads, max_id, now)
            self.builds += 1
            self._keep(built)
            return built

    def _get(self, month: int) -> MonthIndex | None:
        with self._lock:
            entry = self._months.get(month)
            if entry is not None:
                self._months.move_to_end(month)
            return entry

    def _drop(self, month: int) -> None:
        with self._lock:
            self._months.pop(month, None)

    def _keep(self, built: MonthIndex) -> None:
        with self._lock:
            self._months[built.month] = built
            self._months.move_to_end(built.month)
            total = sum(len(m) for m in self._months.values())
            while total > self.max_rows and len(self._months) > 1:
                _, evicted = self._months.popitem(last=False)
                total -= len(evicted)
