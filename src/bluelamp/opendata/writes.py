"""Bulk writes of the open-data tables at driver level, for the archive import: one
``executemany`` (SQLite) or ``COPY`` (PostgreSQL) per batch on the unit of work's own
DBAPI connection, inside its transaction, never a statement or an ORM object per row.

A year of archives is millions of rows; the import's goal is at least half the speed of a
bare ``executemany`` of the same tuples (docs/benchmarks.md), so nothing here builds
objects, converts types or checks values: ``bluelamp.opendata.importer`` hands over
tuples already in the columns' order and types."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Index, delete, func, insert, inspect, select
from sqlalchemy.orm import Session

from bluelamp.opendata.model import FileKind, Month, Outcome, Stop, StreetCrime
from bluelamp.storage import many_rows

POINT_COLUMNS = ("id", "force_id", "lat", "lon", "street_name", "origin")
STREET_COLUMNS = (
    "force_id",
    "month",
    "persistent_id",
    "persistent_key",
    "category",
    "lat",
    "lon",
    "location_id",
    "street_name",
    "lsoa_code",
    "lsoa_name",
    "outcome_category",
    "outcome_month",
    "context",
    "reported_by",
    "falls_within",
    "location_type",
    "location_subtype",
    "origin",
)
OUTCOME_COLUMNS = (
    "force_id",
    "month",
    "persistent_id",
    "persistent_key",
    "category_code",
    "lat",
    "lon",
    "location_id",
    "street_name",
    "lsoa_code",
    "lsoa_name",
    "reported_by",
    "falls_within",
    "origin",
)
STOP_COLUMNS = (
    "force_id",
    "month",
    "at",
    "type",
    "involved_person",
    "operation",
    "operation_name",
    "lat",
    "lon",
    "location_id",
    "street_name",
    "gender",
    "age_range",
    "self_defined_ethnicity",
    "officer_defined_ethnicity",
    "legislation",
    "object_of_search",
    "outcome",
    "outcome_id",
    "outcome_linked",
    "removal_of_outer_clothing",
    "origin",
)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    FileKind.STREET: ("opendata_street", STREET_COLUMNS),
    FileKind.OUTCOMES: ("opendata_outcome", OUTCOME_COLUMNS),
    FileKind.STOP_AND_SEARCH: ("opendata_stop", STOP_COLUMNS),
}
_POINT_BLOCK = 1000  # ids taken from PostgreSQL's sequence at a time
# SQLite's page cache while importing, in KiB (SQLite's default is 2 MiB). A year of archives
# makes indexes of hundreds of MiB; with the default cache every insert into the persistent-id
# and month/lat indexes pages B-tree leaves in and out, and the load slows by half as the
# table grows (bench/bench_opendata_import.py). Pages are taken only as they are touched,
# and the cache is put back to what it was when the file is done.
IMPORT_CACHE_KIB = 256 * 1024
# Rows a many-row INSERT on SQLite (fewer when the library allows fewer bound parameters).
ROWS_PER_STATEMENT = 1000


# The open-data tables of each kind, with the indexes a bulk load drops and builds again.
_MODELS = {FileKind.STREET: StreetCrime, FileKind.OUTCOMES: Outcome, FileKind.STOP_AND_SEARCH: Stop}


def secondary_indexes(kind: str) -> list[Index]:
    """The kind's table's indexes other than its primary key, by name."""
    return sorted(_MODELS[FileKind(kind)].__table__.indexes, key=lambda index: index.name or "")


def rows_in(session: Session, kind: str) -> int:
    """About how many rows the kind's table holds (its largest id: no count of millions)."""
    table = _MODELS[FileKind(kind)].__table__
    return int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)


def drop_indexes(session: Session, kind: str) -> list[str]:
    """Drop the kind's secondary indexes (a bulk load builds them again after); their names."""
    dropped = []
    for index in secondary_indexes(kind):
        index.drop(session.connection(), checkfirst=True)
        dropped.append(str(index.name))
    return dropped


def build_indexes(session: Session, kinds: Iterable[str]) -> list[str]:
    """Create whichever of the kinds' secondary indexes are missing; their names."""
    built = []
    connection = session.connection()
    have: dict[str, set[str]] = {}
    for kind in kinds:
        table = _MODELS[FileKind(kind)].__table__
        if table.name not in have:
            have[table.name] = {found["name"] for found in inspect(connection).get_indexes(table.name)}
        for index in secondary_indexes(kind):
            if index.name not in have[table.name]:
                index.create(connection)
                built.append(str(index.name))
    return built


def dbapi_connection(session: Session) -> Any:
    """The driver's own connection (sqlite3 or psycopg) under the session, in its transaction."""
    return session.connection().connection.driver_connection


def insert_sql(table: str, columns: Sequence[str], dialect: str) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)`` in the driver's parameter style."""
    mark = "?" if dialect == "sqlite" else "%s"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"


class MonthWriter:
    """The raw writes of one unit of work of the import: replace a month, allocate point
    ids, insert points and rows in batches, record the month."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.raw = dbapi_connection(session)
        self._free_ids: list[int] = []
        self._cache_was: int | None = None
        if self.dialect == "sqlite":
            self._cache_was = self.raw.execute("PRAGMA cache_size").fetchone()[0]
            self.raw.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")

    def close(self) -> None:
        """Put the connection's page cache back (SQLite) as it was before the import."""
        if self._cache_was is not None:
            self.raw.execute(f"PRAGMA cache_size = {int(self._cache_was)}")
            self._cache_was = None

    # ---- months

    def clear_month(self, force_id: str, month: int, kind: str) -> int:
        """Delete the month's rows of that kind for the force (what a re-import replaces)
        and its ``opendata_month`` row; the number of rows deleted."""
        table, _ = TABLES[kind]
        mark = "?" if self.dialect == "sqlite" else "%s"
        recorded = self.session.scalar(
            select(func.count())
            .select_from(Month)
            .where(Month.force_id == force_id, Month.month == month, Month.kind == str(kind))
        )
        if not recorded:
            # Rows are only ever written with their month's record: nothing to delete, and
            # no need to look (during a bulk load there is no index to look with).
            return 0
        cursor = self.raw.cursor()
        try:
            cursor.execute(f"DELETE FROM {table} WHERE force_id = {mark} AND month = {mark}", (force_id, month))
            deleted = cursor.rowcount
        finally:
            cursor.close()
        self.session.execute(
            delete(Month).where(Month.force_id == force_id, Month.month == month, Month.kind == str(kind))
        )
        return max(deleted, 0)

    def record_month(
        self,
        *,
        force_id: str,
        month: int,
        kind: str,
        origin: str,
        rows: int,
        rejected: int,
        source: str,
        sha256: str,
        loaded_at: datetime,
        loaded_by: str,
    ) -> None:
        self.session.execute(
            insert(Month).values(
                force_id=force_id,
                month=month,
                kind=str(kind),
                origin=origin,
                rows=rows,
                rejected=rejected,
                source=source[:300],
                sha256=sha256,
                loaded_at=loaded_at,
                loaded_by=loaded_by[:120],
            )
        )

    # ---- points

    def force_points(self, force_id: str, origin: str) -> list[tuple[int, float, float, str]]:
        """Every point of the force of that origin: (id, lat, lon, street_name)."""
        mark = "?" if self.dialect == "sqlite" else "%s"
        cursor = self.raw.cursor()
        try:
            cursor.execute(
                f"SELECT id, lat, lon, street_name FROM opendata_point WHERE force_id = {mark} AND origin = {mark}",
                (force_id, origin),
            )
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    @property
    def parses_alongside(self) -> bool:
        """Whether rows may be parsed in another process while this writer writes: on
        SQLite, where the import hands out new points' ids itself (no one else can write
        while it holds the write lock; ``importer._Plan`` checks between files)."""
        return self.dialect == "sqlite"

    def max_point_id(self) -> int:
        """The largest map point id there is (0 when none)."""
        cursor = self.raw.cursor()
        try:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM opendata_point")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def new_point_id(self) -> int:
        """PostgreSQL: an id for a new point from the table's sequence, a block at a time."""
        if not self._free_ids:
            cursor = self.raw.cursor()
            try:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('opendata_point', 'id')) FROM generate_series(1, %s)",
                    (_POINT_BLOCK,),
                )
                self._free_ids = [row[0] for row in cursor.fetchall()][::-1]
            finally:
                cursor.close()
        return self._free_ids.pop()

    def _insert_sqlite(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """Many rows a statement (``storage.many_rows``): fewer steps than ``executemany``."""
        per = many_rows.rows_per_statement(self.raw, len(columns), ROWS_PER_STATEMENT)
        many_rows.run(self.raw.execute, partial(many_rows.insert_sql, table, tuple(columns)), rows, per)

    def insert_points(self, rows: Sequence[tuple]) -> None:
        """Insert points given as POINT_COLUMNS tuples (ids handed out by the import)."""
        self._insert("opendata_point", POINT_COLUMNS, rows)

    # ---- rows

    def insert_rows(self, kind: str, rows: Sequence[tuple]) -> None:
        """Insert a batch of the kind's rows, each a tuple in the TABLES column order."""
        table, columns = TABLES[kind]
        self._insert(table, columns, rows)

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        if self.dialect == "sqlite":
            self._insert_sqlite(table, columns, rows)
            return
        cursor = self.raw.cursor()
        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
