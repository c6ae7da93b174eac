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

Where the parts are: the files are found and checked by ``opendata.sources``, their rows
parsed by ``opendata.parsing`` and written by ``opendata.writes`` (multi-row INSERTs /
``COPY``, a batch of ``BATCH`` rows at a time). On SQLite the parsing runs in a forked
process of its own beside the writer, for the whole import (``_parsed``,
``opendata.forked``), and a bulk load builds the secondary indexes once at the end
(``_drop_indexes_for_bulk``).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

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
from bluelamp.opendata.sources import Source, column_order, discover
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
                order = column_order(source, header)
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
