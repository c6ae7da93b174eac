"""The archive import's parsing: a file's CSV rows become tuples in the columns' order
(``opendata.writes``), a batch at a time, with bad rows reported and skipped, and the
rows' places found among, or added to, the force's anonymous map points.

Everything here runs where the import parses, which on SQLite is a forked process of its
own (``opendata.forked``): it touches no database, and hands over plain tuples that pickle
small (``Described``). Speed matters: every lookup (category, outcome, point, LSOA,
reporting force) is a dict hit after its first sight; see docs/opendata.md."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from bluelamp.opendata import vocabulary as vocab
from bluelamp.opendata.model import Origin

if TYPE_CHECKING:
    from bluelamp.opendata.importer import Source

BATCH = 1_000  # rows a batch: what the writer takes at a time (a COPY, or INSERTs of many rows)
MAX_KEPT_ERRORS = 100_000  # row errors kept in a report (all are counted)
_IMPORT = str(Origin.IMPORT)


@dataclass(frozen=True)
class RowError:
    """A row skipped: which file, which line (1 is the header), why."""

    source: str
    line: int
    reason: str


class Refused(Exception):
    """A file not imported at all: the reason, and the bad rows found before it was refused."""

    def __init__(self, reason: str, bad_rows: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.bad_rows = reason, bad_rows


class Bad(Exception):
    """A row that cannot be imported; the message is the reason."""


class Points:
    """A force's anonymous map points while an import parses its files: found by their
    text as the CSV gives them (a dict hit per row), by float value for points known
    earlier, created when new. One for each force for the whole import, so a year reads a
    force's points once and most rows of its later months find their point by its text.
    Every point it creates is written, even when the file that made it is refused
    (``importer``), so that what it knows stays true."""

    def __init__(self, force_id: str, by_value: dict[tuple[float, float, str], int], new_id: Callable[[], int]) -> None:
        self.force_id, self.by_value, self.new_id = force_id, by_value, new_id
        self._by_place: dict[tuple[float, float], tuple[int, str]] | None = None  # built for stops only
        self.by_text: dict[tuple[str, str, str], tuple[int, float, float, str]] = {}
        self.new: list[tuple] = []

    @property
    def by_place(self) -> dict[tuple[float, float], tuple[int, str]]:
        """The points by lat/lon alone (the first found at each place)."""
        if self._by_place is None:
            self._by_place = {}
            for (lat, lon, name), point_id in self.by_value.items():
                self._by_place.setdefault((lat, lon), (point_id, name))
        return self._by_place

    def resolve(self, lat_text: str, lon_text: str, name: str) -> tuple[int, float, float, str]:
        """A row's point (id, lat, lon, street name), by its text (a miss of ``by_text``:
        parse, check, find or create). Rows on the point share its values' objects."""
        lat, lon = coordinates(lat_text, lon_text)
        if len(name) > 200:
            raise Bad("Location is longer than 200 characters")
        point_id = self.by_value.get((lat, lon, name))
        if point_id is None:
            point_id = self._create(lat, lon, name)
        found = (point_id, lat, lon, name)
        self.by_text[(lat_text, lon_text, name)] = found
        return found

    def at_place(self, lat_text: str, lon_text: str) -> tuple[int, float, float, str]:
        """A stop's point: the force's point at that lat/lon (any street name), else a new
        one with no street name (the stop-and-search archive has no Location column)."""
        lat, lon = coordinates(lat_text, lon_text)
        found = self.by_place.get((lat, lon))
        if found is None:
            found = (self._create(lat, lon, ""), "")
        return found[0], lat, lon, found[1]

    def _create(self, lat: float, lon: float, name: str) -> int:
        point_id = self.new_id()
        self.new.append((point_id, self.force_id, lat, lon, name, _IMPORT))
        self.by_value[(lat, lon, name)] = point_id
        if self._by_place is not None:
            self._by_place.setdefault((lat, lon), (point_id, name))
        return point_id

    def take_new(self) -> list[tuple]:
        new, self.new = self.new, []
        return new


def coordinates(lat_text: str, lon_text: str) -> tuple[float, float]:
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise Bad(f"Latitude/Longitude {lat_text!r}, {lon_text!r} are not numbers") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise Bad(f"Latitude/Longitude {lat_text}, {lon_text} are out of range")
    return lat, lon


@dataclass
class FileState:
    source: Source
    reader: Iterator[list[str]]
    errors: list[RowError]
    order: tuple[int, ...] | None
    points: Points
    rejected: int = 0

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(RowError(self.source.label, self.reader.line_num, reason))

    def rows(self) -> Iterator[list[str]] | Iterable[Sequence[str]]:
        if self.order is None:
            return self.reader
        pick = itemgetter(*self.order)
        return (pick(row) if len(row) == len(self.order) else row for row in self.reader)


def _month_problem(text: str, expected: str, column: str = "Month") -> str:
    try:
        vocab.parse_month(text)
    except ValueError:
        return f"{column} {text!r} is not YYYY-MM"
    return f"{column} {text} is not the file's month ({expected})"


class _Described:
    """A kind's descriptive values (reporting force, LSOA, outcome ...): checked against
    their columns' lengths once per distinct combination (``check``, on a miss of
    ``known``), and handed on as the same string objects for the same text, because a
    batch travels pickled from the parsing process and a string pickles once a batch
    however many rows share it."""

    def __init__(self, *columns: tuple[str, int]) -> None:
        self.columns = columns  # (name, length)
        self.known: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._strings: dict[str, str] = {}

    def check(self, values: tuple[str, ...]) -> tuple[str, ...]:
        for value, (column, limit) in zip(values, self.columns, strict=True):
            if len(value) > limit:
                raise Bad(f"{column} is longer than {limit} characters")
        shared = tuple(self._strings.setdefault(value, value) for value in values)
        self.known[values] = shared
        return shared


def _too_long(**values: tuple[str, int]) -> None:
    for column, (value, limit) in values.items():
        if len(value) > limit:
            raise Bad(f"{column.replace('_', ' ')} is longer than {limit} characters")


def street(state: FileState) -> Iterator[list[tuple]]:
    """Street rows, in batches of writes.STREET_COLUMNS tuples."""
    force_id, month = state.source.force_id, state.source.month
    month_s = vocab.month_text(month)
    by_text, resolve = state.points.by_text, state.points.resolve
    slugs: dict[str, str] = {}
    described = _Described(
        ("Reported by", 100), ("Falls within", 100), ("LSOA code", 12), ("LSOA name", 100),
        ("Last outcome category", 100),
    )  # fmt: skip
    known, check = described.known, described.check
    btp = vocab.BTP_NAME
    key = zlib.crc32  # model.persistent_key, inline: a call less a row
    batch: list[tuple] = []
    append = batch.append
    for row in state.rows():
        try:
            if len(row) != 12:
                if not row:
                    continue  # a blank line
                raise Bad(f"{len(row)} fields, not 12")
            pid, row_month, reported, falls, lon, lat, street, lsoa_code, lsoa_name, crime_type, outcome, context = row
            if row_month != month_s:
                raise Bad(_month_problem(row_month, month_s))
            slug = slugs.get(crime_type)
            if slug is None:
                slug = vocab.category_slug(crime_type)
                if slug is None:
                    raise Bad(f"Crime type {crime_type!r} is not a data.police.uk category")
                slugs[crime_type] = slug
            values = (reported, falls, lsoa_code, lsoa_name, outcome)
            reported, falls, lsoa_code, lsoa_name, outcome = known.get(values) or check(values)
            if len(pid) > 64:
                raise Bad("Crime ID is longer than 64 characters")
            if lat or lon:
                point = by_text.get((lat, lon, street)) or resolve(lat, lon, street)
                append(
                    (force_id, month, pid, key(pid.encode()) if pid else None, slug, point[1], point[2], point[0],
                     point[3], lsoa_code, lsoa_name, outcome or None, None, context, reported, falls,
                     "BTP" if reported == btp else "Force", "", _IMPORT)
                )  # fmt: skip
            else:
                if len(street) > 200:
                    raise Bad("Location is longer than 200 characters")
                append(
                    (force_id, month, pid, key(pid.encode()) if pid else None, slug, None, None, None, street,
                     lsoa_code, lsoa_name, outcome or None, None, context, reported, falls, None, "", _IMPORT)
                )  # fmt: skip
        except Bad as bad:
            state.reject(str(bad))
            continue
        if len(batch) >= BATCH:
            yield batch
            batch = []
            append = batch.append
    if batch:
        yield batch


def outcomes(state: FileState) -> Iterator[list[tuple]]:
    """Outcome rows, in batches of writes.OUTCOME_COLUMNS tuples."""
    force_id, month = state.source.force_id, state.source.month
    month_s = vocab.month_text(month)
    by_text, resolve = state.points.by_text, state.points.resolve
    codes: dict[str, str] = {}
    described = _Described(("Reported by", 100), ("Falls within", 100), ("LSOA code", 12), ("LSOA name", 100))
    known, check = described.known, described.check
    key = zlib.crc32  # model.persistent_key, inline: a call less a row
    batch: list[tuple] = []
    append = batch.append
    for row in state.rows():
        try:
            if len(row) != 10:
                if not row:
                    continue
                raise Bad(f"{len(row)} fields, not 10")
            pid, row_month, reported, falls, lon, lat, street, lsoa_code, lsoa_name, outcome = row
            if row_month != month_s:
                raise Bad(_month_problem(row_month, month_s))
            if not pid:
                raise Bad("an outcome needs a Crime ID")
            if len(pid) > 64:
                raise Bad("Crime ID is longer than 64 characters")
            code = codes.get(outcome)
            if code is None:
                code = vocab.outcome_code(outcome)
                if code is None:
                    raise Bad(f"Outcome type {outcome!r} is not a data.police.uk outcome")
                codes[outcome] = code
            values = (reported, falls, lsoa_code, lsoa_name)
            reported, falls, lsoa_code, lsoa_name = known.get(values) or check(values)
            if lat or lon:
                point = by_text.get((lat, lon, street)) or resolve(lat, lon, street)
                append(
                    (force_id, month, pid, key(pid.encode()), code, point[1], point[2], point[0], point[3],
                     lsoa_code, lsoa_name, reported, falls, _IMPORT)
                )  # fmt: skip
            else:
                if len(street) > 200:
                    raise Bad("Location is longer than 200 characters")
                append(
                    (force_id, month, pid, key(pid.encode()), code, None, None, None, street, lsoa_code, lsoa_name,
                     reported, falls, _IMPORT)
                )  # fmt: skip
        except Bad as bad:
            state.reject(str(bad))
            continue
        if len(batch) >= BATCH:
            yield batch
            batch = []
            append = batch.append
    if batch:
        yield batch


_STOP_TYPES = frozenset({"Person search", "Vehicle search", "Person and Vehicle search"})
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_BOOLEANS = {"True": True, "False": False, "": None, "true": True, "false": False, "TRUE": True, "FALSE": False}


def _flag(value: str, column: str) -> bool | None:
    try:
        return _BOOLEANS[value]
    except KeyError:
        raise Bad(f"{column} {value!r} is not True, False or empty") from None


def stops(state: FileState) -> Iterator[list[tuple]]:
    """Stop-and-search rows, in batches of writes.STOP_COLUMNS tuples, with the 2016
    vocabulary mapped to today's."""
    force_id, month = state.source.force_id, state.source.month
    month_s = vocab.month_text(month)
    points = state.points
    batch: list[tuple] = []
    for row in state.rows():
        try:
            if len(row) != 15:
                if not row:
                    continue
                raise Bad(f"{len(row)} fields, not 15")
            (kind, when, in_operation, operation, lat, lon, gender, age, self_defined, officer_defined, legislation,
             object_of_search, outcome, linked, removal) = row  # fmt: skip
            if not _WHEN.fullmatch(when) or len(when) > 25:
                raise Bad(f"Date {when!r} is not an ISO date and time (like 2016-11-01T14:40:00+00:00)")
            if when[:7] != month_s:
                raise Bad(_month_problem(when[:7], month_s, "Date"))
            if kind not in _STOP_TYPES:
                raise Bad(f"Type {kind!r} is not Person search, Vehicle search or Person and Vehicle search")
            outcome_name, outcome_id = vocab.stop_outcome(outcome)
            ethnicity = vocab.self_defined_ethnicity(self_defined)
            _too_long(
                Policing_operation=(operation, 200), Gender=(gender, 20), Age_range=(age, 20),
                Self_defined_ethnicity=(ethnicity or "", 120), Officer_defined_ethnicity=(officer_defined, 40),
                Legislation=(legislation, 120), Object_of_search=(object_of_search, 120), Outcome=(outcome_name, 120),
            )  # fmt: skip
            flags = (
                _flag(in_operation, "Part of a policing operation"),
                _flag(linked, "Outcome linked to object of search"),
                _flag(removal, "Removal of more than just outer clothing"),
            )
            if lat or lon:  # the last check: a place found is a point made only for a good row
                point_id, lat_f, lon_f, street = points.at_place(lat, lon)
            else:
                point_id, lat_f, lon_f, street = None, None, None, ""
            batch.append(
                (force_id, month, when, kind, kind != "Vehicle search", flags[0], operation or None,
                 lat_f, lon_f, point_id, street, gender or None, age or None, ethnicity, officer_defined or None,
                 legislation or None, object_of_search or None, outcome_name, outcome_id, flags[1], flags[2], _IMPORT)
            )  # fmt: skip
        except Bad as bad:
            state.reject(str(bad))
            continue
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
