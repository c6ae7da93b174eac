"""Import data.police.uk archive files: street, outcomes and stop-and-search CSVs (plain or
gzipped) and monthly archive zips, for any force named in them.

How it behaves (docs/opendata.md, "Importing archives"):

- A file says what it is by its name, as data.police.uk names them:
  ``YYYY-MM-<force>-street.csv``, ``-outcomes.csv``, ``-stop-and-search.csv`` (optionally
  ``.gz``); in a zip, ``YYYY-MM/YYYY-MM-<force>-<kind>.csv``. The force is created when
  missing, named from the table of data.police.uk forces or the file's ``Falls within``.
- Everything is checked before anything is written: names, readability, the header of
  every file, and that a zip holds nothing but archive CSVs. **A zip with any other file is
  refused whole**, naming the files (a stray file usually means the wrong archive, and
  importing part of an archive silently is worse than saying so).
- Each file (one force, month and kind) is imported in ONE transaction: its previous rows
  for that force, month and kind are deleted and the new ones inserted, and its
  ``opendata_month`` row and audit entry written, all or nothing. Re-importing a month
  replaces it (never duplicates); a crash mid-file leaves the month as it was before.
- A bad row (wrong number of fields, a date in the wrong form or of another month, an
  unknown category, a coordinate out of range, a value too long) is skipped and reported
  with file, line and reason; the good rows are kept. A file where no row is good is
  refused (rolled back) and reported, and the other files still import.
- Anonymous map points: each distinct (lat, lon, "On or near ...") of a force becomes one
  ``opendata_point`` (origin import), shared by every month and kind that uses it; a stop
  (which has no street name in the archive) takes the force's point at the same lat/lon,
  or a new point with an empty street name.
- Vocabulary drift is mapped by ``bluelamp.opendata.vocabulary``: crime types of any year
  to slugs, outcome wordings to codes, 2016 stop-and-search values to today's.

Speed: rows go from the csv module straight into tuples and into the database in batches
of ``BATCH`` through ``opendata.writes`` (multi-row INSERTs / ``COPY``); every lookup
(category, outcome, point, LSOA, reporting force) is a dict hit after its first sight. On
SQLite the file is parsed in a forked process of its own beside the writer (``_parsed``,
``opendata.forked``), and a bulk load builds the secondary indexes once at the end
(``_drop_indexes_for_bulk``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import AddForce, add_force, require
from bluelamp.clock import Clock
from bluelamp.errors import CATALOGUE, Conflict, InvalidInput
from bluelamp.opendata import forked, writes
from bluelamp.opendata import vocabulary as vocab
from bluelamp.opendata.model import FileKind, Origin
from bluelamp.opendata.parsing import (  # noqa: F401 - BATCH is the import's, as bench and callers know it
    BATCH,
    MAX_KEPT_ERRORS,
    FileState,
    Points,
    Refused,
    RowError,
    outcomes,
    stops,
    street,
)
from bluelamp.opendata.writes import MonthWriter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.storage import Database

for _code, _meaning in [
    ("opendata.unreadable", "An import file cannot be read: missing, not gzip or zip, or not UTF-8 CSV text."),
    (
        "opendata.bad_name",
        "An import file is not named as data.police.uk names them (YYYY-MM-<force>-street.csv, -outcomes.csv, "
        "-stop-and-search.csv), or its month is not a real YYYY-MM.",
    ),
    ("opendata.bad_columns", "An import file's header is not the archive's: the message names the columns."),
    ("opendata.unexpected_files", "A zip holds files that are not archive CSVs; nothing of it was imported."),
    (
        "opendata.refused",
        "An import file was refused whole (no row could be imported, e.g. every date in the wrong form, or it "
        "could not be read in full); the other files were imported.",
    ),
    ("opendata.nothing_to_import", "No archive file matched the paths and the --force / --month filters."),
]:
    CATALOGUE.register(_code, InvalidInput, _meaning)
CATALOGUE.register(
    "opendata.concurrent_points",
    Conflict,
    "Another process (a publication?) added map points while an import ran; the files imported until then are "
    "kept, and the import can be run again for the rest.",
)

BULK_ROWS = 500_000  # rows of a kind from which an import is a bulk load (_drop_indexes_for_bulk)
_BYTES_A_ROW = 200  # of CSV, about (the archive's street rows are 210-220 bytes)
DATA = Path(__file__).parent / "data" / "police-uk"
# The complete months shipped with Bluelamp (the demo's and the tests' real data).
SHIPPED = (
    DATA / "2016-07-west-yorkshire-street.csv.gz",
    DATA / "2017-07-west-yorkshire-street.csv.gz",
    DATA / "2016-11-staffordshire-stop-and-search.csv",
)

_NAME = re.compile(
    r"(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9]+(?:-[a-z0-9]+)*)-(?P<kind>street|outcomes|stop-and-search)\.csv"
    r"(?P<gz>\.gz)?"
)
_KIND_ORDER = {FileKind.STREET: 0, FileKind.OUTCOMES: 1, FileKind.STOP_AND_SEARCH: 2}
_COLUMNS = {
    FileKind.STREET: vocab.STREET_COLUMNS,
    FileKind.OUTCOMES: vocab.OUTCOME_COLUMNS,
    FileKind.STOP_AND_SEARCH: vocab.STOP_COLUMNS,
}
_IMPORT = str(Origin.IMPORT)

ProgressCallback = Callable[[str, int, int], None]
"""``progress(what, done, total)``: called after each batch; ``done`` and ``total`` are
bytes of input (as given: a gzipped file counts its compressed size). An exception raised
by the callback aborts the import, and the file in progress is rolled back."""


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FileResult:
    """One file imported: a force's month of one kind."""

    source: str
    force_id: str
    month: int
    kind: str
    rows: int
    rejected: int
    replaced: int  # rows of the same force, month and kind deleted first (a re-import)
    sha256: str


@dataclass(frozen=True)
class Refusal:
    """A file not imported at all (every row was bad, or it could not be read in full)."""

    source: str
    reason: str


@dataclass
class ImportReport:
    """What an import did: files imported, files refused, rows skipped, forces created."""

    files: list[FileResult] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # at most MAX_KEPT_ERRORS
    forces_created: list[str] = field(default_factory=list)
    refused_bad_rows: int = 0  # bad rows found in the files refused

    @property
    def rows(self) -> int:
        """Rows imported, over every file."""
        return sum(f.rows for f in self.files)

    @property
    def rejected(self) -> int:
        """Rows skipped as bad in the files imported."""
        return sum(f.rejected for f in self.files)

    @property
    def bad_rows(self) -> int:
        """Every bad row found: skipped in the files imported, or in the files refused."""
        return self.rejected + self.refused_bad_rows


# ---------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One archive CSV to import, as its name describes it."""

    label: str  # what reports show: the file name, or "archive.zip:2016-07/2016-07-x-street.csv"
    path: Path
    member: str | None  # the zip member, or None for a file of its own
    force_id: str
    month: int
    kind: FileKind
    size: int  # bytes as given (on disk, or compressed in the zip)
    expanded: int = 0  # bytes of CSV once uncompressed, as the file says (0: not known)

    @contextmanager
    def open_binary(self) -> Iterator[IO[bytes]]:
        """The CSV bytes, uncompressed, as a stream."""
        if self.member is not None:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as stream:
                yield stream
        elif self.path.name.endswith(".gz"):
            with gzip.open(self.path, "rb") as stream:
                yield stream
        else:
            with self.path.open("rb") as stream:
                yield stream

    def head(self, lines: int) -> list[bytes]:
        """The first lines of the CSV (fewer when the file is shorter)."""
        with self.open_binary() as stream:
            return [line for line in (stream.readline() for _ in range(lines)) if line]

    @contextmanager
    def reading(self) -> Iterator[_Hashed]:
        """The CSV's bytes as a stream that hashes and counts what is read (decompressed as
        it is parsed, never held whole); ``Refused`` when it cannot be read in full."""
        try:
            with self.open_binary() as stream:
                yield _Hashed(stream)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise Refused(f"cannot be read in full ({_reason(exc)})") from None


class _Hashed(io.RawIOBase):
    """A binary stream's bytes, SHA-256 hashed and counted as they are read."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream, self.sha256, self.count = stream, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.count += n
        return n


def _expanded_size(path: Path) -> int:
    """A gzip file's uncompressed size from its trailer (modulo 4 GiB, as gzip keeps it)."""
    try:
        with path.open("rb") as handle:
            handle.seek(-4, io.SEEK_END)
            return int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        return "not a complete gzip file"
    if isinstance(exc, zipfile.BadZipFile):
        return "not a complete zip file"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _parse_name(name: str) -> tuple[int, str, FileKind] | None:
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    try:
        month = vocab.parse_month(found["month"])
    except ValueError:
        raise InvalidInput(f"{name}: {found['month']!r} is not a month (YYYY-MM)", code="opendata.bad_name") from None
    return month, found["force"], FileKind(found["kind"])


def discover(
    paths: Iterable[Path | str],
    *,
    forces: Iterable[str] | None = None,
    months: Iterable[int] | None = None,
) -> list[Source]:
    """The archive CSVs the paths name, filtered to the forces and months given, in import
    order (month, force, then street before outcomes before stops). Checks names, that
    each file exists and opens, and that zips hold only archive CSVs; raises
    ``InvalidInput`` (one line) on the first problem, before anything is imported."""
    wanted_forces = set(forces) if forces else None
    wanted_months = set(months) if months else None
    found: list[Source] = []

    def keep(month: int, force_id: str) -> bool:
        return (wanted_forces is None or force_id in wanted_forces) and (
            wanted_months is None or month in wanted_months
        )

    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            why = "it is a folder (give the files, or the zip)" if path.is_dir() else "no such file"
            raise InvalidInput(f"{path}: cannot be read ({why})", code="opendata.unreadable")
        if path.name.endswith(".zip"):
            found.extend(_zip_sources(path, keep))
            continue
        parsed = _parse_name(path.name)
        if parsed is None:
            raise InvalidInput(
                f"{path.name}: not named as data.police.uk names its files "
                "(YYYY-MM-<force>-street.csv, -outcomes.csv or -stop-and-search.csv, optionally .gz; or a .zip)",
                code="opendata.bad_name",
            )
        month, force_id, kind = parsed
        if keep(month, force_id):
            size = path.stat().st_size
            expanded = _expanded_size(path) if path.name.endswith(".gz") else size
            found.append(Source(path.name, path, None, force_id, month, kind, size, expanded))
    found.sort(key=lambda s: (s.month, s.force_id, _KIND_ORDER[s.kind]))
    for source in found:
        check_header(source)
    return found


def _zip_sources(path: Path, keep: Callable[[int, str], bool]) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"{path.name}: cannot be read ({_reason(exc)})", code="opendata.unreadable") from None
    sources, unexpected = [], []
    for info in members:
        parts = info.filename.split("/")
        parsed = _parse_name(parts[-1]) if len(parts) <= 2 and not parts[-1].endswith(".gz") else None
        if parsed is None or (len(parts) == 2 and parts[0] != vocab.month_text(parsed[0])):
            unexpected.append(info.filename)
            continue
        month, force_id, kind = parsed
        if keep(month, force_id):
            sources.append(
                Source(
                    f"{path.name}:{info.filename}",
                    path,
                    info.filename,
                    force_id,
                    month,
                    kind,
                    info.compress_size,
                    info.file_size,
                )
            )
    if unexpected:
        shown = ", ".join(unexpected[:5]) + (f" and {len(unexpected) - 5} more" if len(unexpected) > 5 else "")
        raise InvalidInput(
            f"{path.name}: holds files that are not data.police.uk archive CSVs (YYYY-MM/YYYY-MM-<force>-<kind>.csv): "
            f"{shown}; nothing of it was imported",
            code="opendata.unexpected_files",
        )
    return sources


def check_header(source: Source) -> tuple[int, ...] | None:
    """Check the file's first line is the archive header of its kind; the column order to
    read it in (None: the archive's own order). ``InvalidInput`` names what is wrong."""
    try:
        first = b"".join(source.head(1))
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InvalidInput(f"{source.label}: cannot be read ({_reason(exc)})", code="opendata.unreadable") from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source.label}: cannot be read (not UTF-8 text)", code="opendata.unreadable") from None
    header = next(csv.reader([text]), None)
    if not header:
        raise InvalidInput(f"{source.label}: the file is empty (no header)", code="opendata.bad_columns")
    return _column_order(source, header)


def _column_order(source: Source, header: list[str]) -> tuple[int, ...] | None:
    expected = _COLUMNS[source.kind]
    header = [h.strip() for h in header]
    if tuple(header) == expected:
        return None
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing or extra or len(header) != len(expected):
        problems = []
        if missing:
            problems.append("missing " + ", ".join(repr(c) for c in missing))
        if extra:
            problems.append("unexpected " + ", ".join(repr(c) for c in extra))
        if not problems:
            problems.append("a column is repeated")
        raise InvalidInput(
            f"{source.label}: not a {source.kind} file's columns ({'; '.join(problems)})",
            code="opendata.bad_columns",
        )
    return tuple(header.index(c) for c in expected)


# ---------------------------------------------------------------------------- import


def import_paths(
    target: Database | Session,
    actor: Actor,
    paths: Iterable[Path | str],
    clock: Clock,
    *,
    forces: Iterable[str] | None = None,
    months: Iterable[int] | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import archive files (see the module's notes). ``target``: a ``Database`` (one unit
    of work per file) or a ``Session`` (one SAVEPOINT per file, committed by the caller).
    Raises ``InvalidInput`` before writing anything when a file is misnamed, unreadable,
    of the wrong columns, or a zip holds unexpected files."""
    require(actor, Action.OPENDATA_IMPORT)
    sources = discover(paths, forces=forces, months=months)
    if not sources:
        raise InvalidInput("nothing to import: no archive file matched", code="opendata.nothing_to_import")
    report = ImportReport()
    meter = _Meter(sum(s.size for s in sources), progress)
    bulk = _drop_indexes_for_bulk(target, sources) if hasattr(target, "unit_of_work") else []
    try:
        _import_each(target, actor, sources, clock, report, meter)
    finally:
        if bulk:
            if progress is not None:
                progress("building the indexes", meter.done, meter.total)
            with target.unit_of_work() as session:
                writes.build_indexes(session, bulk)
    return report


def _drop_indexes_for_bulk(database: Database, sources: list[Source]) -> list[str]:
    """A bulk load (at least ``BULK_ROWS`` rows of a kind, and more than its table holds,
    such as a first load of a year) inserts without the table's secondary indexes and
    builds them once at the end: sorting millions of keys once is several times quicker
    than placing each in its B-tree as it comes. For a month's worth, keeping the indexes
    up to date is quicker (that work overlaps the parsing; the build at the end does not):
    bench/bench_opendata_import.py, docs/opendata.md.
    Each month still commits whole on its own. Indexes a crashed bulk load left unbuilt
    are built first. The kinds whose indexes were dropped."""
    expected: dict[str, int] = {}
    for source in sources:
        expected[source.kind] = expected.get(source.kind, 0) + (source.expanded or source.size) // _BYTES_A_ROW
    with database.unit_of_work() as session:
        writes.build_indexes(session, list(FileKind))
        bulk = [kind for kind, rows in expected.items() if rows >= max(BULK_ROWS, writes.rows_in(session, kind))]
        for kind in bulk:
            writes.drop_indexes(session, kind)
    return bulk


def _import_each(
    target: Database | Session,
    actor: Actor,
    sources: list[Source],
    clock: Clock,
    report: ImportReport,
    meter: _Meter,
) -> None:
    """Each file in a transaction of its own, in order, as the parsing hands its rows over."""
    with _transaction(target) as session:
        plan = _Plan.made(session, sources)
    with _parsed(partial(_produce, sources, plan), alongside=plan.alongside) as messages:
        for source in sources:
            errors: list[RowError] = []
            made: list[tuple] = []  # map points the parsing made for this file
            try:
                with _transaction(target) as session:
                    result, created = import_source(
                        session, actor, source, clock, messages, plan, errors=errors, made=made, meter=meter
                    )
            except Refused as refused:
                report.refused.append(Refusal(source.label, refused.reason))
                report.refused_bad_rows += refused.bad_rows
                meter.skip(source)
                if made:  # what the parsing knows stays true: its points are written all the same
                    with _transaction(target) as session:
                        writer = MonthWriter(session)
                        try:
                            plan.write_points(writer, made)
                        finally:
                            writer.close()
            else:
                report.files.append(result)
                if created:
                    report.forces_created.append(source.force_id)
            finally:
                room = MAX_KEPT_ERRORS - len(report.errors)
                report.errors.extend(errors[: max(room, 0)])


class _Meter:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def report(self, what: str, source: Source, fraction: float) -> None:
        if self.callback is not None:
            self.callback(what, self.done + int(source.size * fraction), self.total)

    def finish(self, source: Source) -> None:
        self.done += source.size
        if self.callback is not None:
            self.callback(source.label, self.done, self.total)

    skip = finish


@contextmanager
def _transaction(target: Database | Session) -> Iterator[Session]:
    """A unit of work of the database's own, or a SAVEPOINT in the caller's session."""
    if hasattr(target, "unit_of_work"):
        with target.unit_of_work() as session:
            yield session
    else:
        with target.begin_nested():
            yield target


@dataclass
class _Plan:
    """What the parsing starts from, read before it starts: each force's map points of
    earlier imports, and (SQLite) the first id for new ones, which the parsing then hands
    out itself. Before each file the writer checks nobody else has added points since
    (``begin``): ids handed out ahead would clash with theirs."""

    alongside: bool  # SQLite: parsed in a process of its own
    known: dict[str, dict[tuple[float, float, str], int]]
    first_id: int  # SQLite: the first new point's id
    written: int  # SQLite: the largest point id this import has written, or the one before first_id
    take_id: Callable[[], int] | None = None  # PostgreSQL: the current file's writer's new_point_id

    @classmethod
    def made(cls, session: Session, sources: list[Source]) -> _Plan:
        writer = MonthWriter(session)
        try:
            known = {}
            for force_id in sorted({s.force_id for s in sources}):
                rows = writer.force_points(force_id, _IMPORT)
                known[force_id] = {(lat, lon, name): point_id for point_id, lat, lon, name in rows}
            largest = writer.max_point_id() if writer.parses_alongside else 0
            return cls(writer.parses_alongside, known, largest + 1, largest)
        finally:
            writer.close()

    def new_id(self) -> Callable[[], int]:
        """How the parsing takes an id for a new point."""
        if self.alongside:
            return itertools.count(self.first_id).__next__
        return lambda: self.take_id()  # the writer of the file being parsed, set by begin

    def begin(self, writer: MonthWriter) -> None:
        """Before a file: PostgreSQL takes new ids from this writer; SQLite checks that no
        other process added points since the parsing started handing out ids."""
        if not self.alongside:
            self.take_id = writer.new_point_id
            return
        if writer.max_point_id() > self.written:
            raise Conflict(
                "map points were added by another process during the import (a publication?); the files "
                "imported so far are kept: run the import again for the rest",
                code="opendata.concurrent_points",
            )

    def write_points(self, writer: MonthWriter, points: list[tuple]) -> None:
        writer.insert_points(points)
        if self.alongside:
            self.written = max(self.written, max(point[0] for point in points))


_ROWS, _END, _REFUSED = "rows", "end", "refused"


def _produce(sources: list[Source], plan: _Plan) -> Iterator[tuple]:
    """Every file's rows, file after file: ``(_ROWS, new points, rows, bytes read)`` a
    batch at a time, then ``(_END, new points, rejected, errors, sha256)`` or, for a file
    refused part way, ``(_REFUSED, new points, reason, bad rows, errors)``. Exactly one of
    those two ends each file, in the order of ``sources``; the new points of an end are
    those of rows that turned out bad after their place was found. Runs in the parsing
    process."""
    points: dict[str, Points] = {}
    new_id = plan.new_id()
    for source in sources:
        force_points = points.get(source.force_id)
        if force_points is None:
            force_points = Points(source.force_id, plan.known.get(source.force_id, {}), new_id)
            points[source.force_id] = force_points
        yield from _file_rows(source, force_points)


def _file_rows(source: Source, points: Points) -> Iterator[tuple]:
    errors: list[RowError] = []
    state: FileState | None = None
    try:
        with source.reading() as stream:
            # Decompressed and decoded a chunk at a time as the csv module reads, never the
            # whole month held as bytes or a string.
            reader = csv.reader(io.TextIOWrapper(io.BufferedReader(stream, 1 << 16), encoding="utf-8-sig", newline=""))
            try:
                header = next(reader, None)
            except UnicodeDecodeError as exc:
                raise Refused(f"not UTF-8 text (byte {exc.start})") from None
            if not header:
                raise Refused("the file is empty (no header)")
            try:
                order = _column_order(source, header)
            except InvalidInput as exc:
                raise Refused(exc.detail) from None
            state = FileState(source, reader, errors, order, points)
            try:
                for batch in _PARSERS[source.kind](state):
                    yield _ROWS, points.take_new(), batch, stream.count
            except UnicodeDecodeError:
                raise Refused(f"not UTF-8 text (line {reader.line_num + 1})") from None
            sha256 = stream.sha256.hexdigest()
    except Refused as refused:
        yield _REFUSED, points.take_new(), refused.reason, refused.bad_rows, errors
        return
    yield _END, points.take_new(), state.rejected, errors, sha256


_PARSERS = {FileKind.STREET: street, FileKind.OUTCOMES: outcomes, FileKind.STOP_AND_SEARCH: stops}


def import_source(
    session: Session,
    actor: Actor,
    source: Source,
    clock: Clock,
    messages: Iterator[tuple],
    plan: _Plan,
    *,
    errors: list[RowError],
    made: list[tuple],
    meter: _Meter | None = None,
) -> tuple[FileResult, bool]:
    """Import one file in the caller's transaction from the parsing's ``messages`` (up to
    and with the file's end): replace the force's month of that kind, record and audit it.
    Returns the result and whether the force was created. Bad rows go to ``errors``, and
    the map points the parsing made to ``made``, kept even when the file is refused."""
    created = _ensure_force(session, actor, source, clock)
    writer = MonthWriter(session)
    try:
        plan.begin(writer)
        replaced = writer.clear_month(source.force_id, source.month, source.kind)
        rows = 0
        for message in messages:
            if message[1]:  # new points
                made.extend(message[1])
                plan.write_points(writer, message[1])
            if message[0] == _ROWS:
                batch, read = message[2], message[3]
                writer.insert_rows(source.kind, batch)
                rows += len(batch)
                if meter is not None:
                    meter.report(source.label, source, min(read / max(source.expanded, 1), 1.0))
                continue
            if message[0] == _REFUSED:
                _, _, reason, bad_rows, kept_errors = message
                errors.extend(kept_errors)
                raise Refused(reason, bad_rows)
            _, _, rejected, kept_errors, sha256 = message
            errors.extend(kept_errors)
            break
        if rows == 0 and rejected:
            first = errors[0] if errors else None
            raise Refused(
                f"no row could be imported ({rejected} bad"
                + (f"; line {first.line}: {first.reason}" if first else "")
                + "); nothing of this file was imported",
                rejected,
            )
        writer.record_month(
            force_id=source.force_id,
            month=source.month,
            kind=source.kind,
            origin=_IMPORT,
            rows=rows,
            rejected=rejected,
            source=source.label,
            sha256=sha256,
            loaded_at=clock.now(),
            loaded_by=actor.username,
        )
    finally:
        writer.close()
    audit.append(
        session,
        actor,
        Audit(
            Action.OPENDATA_IMPORT.value,
            record_type="opendata_month",
            record_id=f"{source.force_id}/{vocab.month_text(source.month)}/{source.kind}",
            detail={"source": source.label, "rows": rows, "rejected": rejected, "replaced": replaced, "sha256": sha256},
        ),
        clock,
    )
    if meter is not None:
        meter.finish(source)
    result = FileResult(source.label, source.force_id, source.month, str(source.kind), rows, rejected, replaced, sha256)
    return result, created


@contextmanager
def _parsed(produce: Callable[[], Iterator[tuple]], *, alongside: bool) -> Iterator[Iterator[tuple]]:
    """The parsing's messages. ``alongside`` (SQLite, where new points' ids need no
    database): parsed in a forked process of its own, so that parsing and writing each
    have a core (``opendata.forked``); otherwise (PostgreSQL, whose COPY is the parsing's
    own pace) here, as they are taken."""
    if alongside and forked.AVAILABLE:
        with forked.forked(produce) as taken:
            yield taken
        return
    yield produce()


def _ensure_force(session: Session, actor: Actor, source: Source, clock: Clock) -> bool:
    if session.get(Force, source.force_id) is not None:
        return False
    name = vocab.FORCES.get(source.force_id)
    if name is None:
        name = _falls_within(source) or source.force_id.replace("-", " ").title()
    add_force(session, actor, AddForce(source.force_id, name[:200]), clock)
    return True


def _falls_within(source: Source) -> str | None:
    """The first row's ``Falls within`` (street and outcomes files), for a force not in the table."""
    if source.kind == FileKind.STOP_AND_SEARCH:
        return None
    lines = source.head(2)
    rows = list(csv.DictReader(io.StringIO(b"".join(lines).decode("utf-8-sig", "replace"), newline="")))
    value = (rows[0].get("Falls within") or "").strip() if rows else ""
    return value or None
