"""Batched writes for the hot ingest path, at SQLAlchemy Core level: a few statements
per batch, never a query per fix."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from bluelamp.storage import many_rows
from bluelamp.tracking.model import Position, UnknownDevice

if TYPE_CHECKING:
    from bluelamp.storage import Database

POSITION_COLUMNS = (
    "force_id",
    "device_id",
    "unit_id",
    "officer_id",
    "fix_at",
    "received_at",
    "lat",
    "lon",
    "speed_mps",
    "bearing",
    "altitude_m",
    "accuracy_m",
    "battery",
    "alarm",
    "attributes",
)
# A trail row is a tuple in POSITION_COLUMNS order, ready for the driver (the ingest builds
# them, ``Ingest._apply``): on SQLite the two times are already text (``sqlite_time``'s
# form), on PostgreSQL they are aware datetimes; attributes are JSON text or None.
_FIX_AT, _RECEIVED_AT, _UNIT_ID, _LAT, _LON, _SPEED, _BEARING, _ACCURACY, _BATTERY = 4, 5, 2, 6, 7, 8, 9, 11, 12

# On SQLite one INSERT carries many rows (``VALUES (...), (...), ...``): the driver holds
# Python's GIL only to bind them and lets go of it while SQLite stores them all, so the
# ingest goes on parsing meanwhile. An ``executemany`` takes the GIL back after every
# row and, whenever the ingest is busy, waits for it (up to the 5 ms switch interval):
# the writer then stood still until the ingest paused. A statement is compiled once per
# row count and kept by the driver, so batches are cut into few sizes: the largest
# allowed, then powers of two (the trail writer sends whole largest ones when it can).
SQLITE_ROWS_PER_STATEMENT = 5000


def sqlite_time(moment: datetime) -> str:
    """A UTC time in the text form SQLAlchemy's SQLite DateTime stores and reads back
    (``2026-11-28 14:30:00.000000``), formatted by the C ``isoformat``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_time_of_iso(iso: str) -> str:
    """``sqlite_time`` of a time given as ``datetime.isoformat`` writes a UTC time
    (``2026-11-28T14:30:00.123456+00:00`` or ``2026-11-28T14:30:00+00:00``), by slicing."""
    if len(iso) == 32:
        return iso[:10] + " " + iso[11:26]
    return iso[:10] + " " + iso[11:19] + ".000000"


def rows_per_statement(database: Database, wanted: int = SQLITE_ROWS_PER_STATEMENT) -> int:
    """How many trail rows one INSERT carries: ``wanted``, or fewer if the SQLite library
    allows fewer bound parameters; 0 on PostgreSQL (one executemany of any size)."""
    if database.dialect != "sqlite":
        return 0
    with database.engine.connect() as connection:
        return _rows_per_statement(connection, len(POSITION_COLUMNS), wanted)


def _rows_per_statement(connection, columns: int, wanted: int = SQLITE_ROWS_PER_STATEMENT) -> int:
    return many_rows.rows_per_statement(connection.connection.dbapi_connection, columns, wanted)


def _insert_sql(rows: int) -> str:
    return many_rows.insert_sql("tracking_position", POSITION_COLUMNS, rows)


def insert_position_rows(connection, rows: list[tuple]) -> None:
    """Store trail rows: on SQLite a few many-row INSERTs, on PostgreSQL one driver-level
    executemany; no per-value processing by SQLAlchemy either way."""
    if connection.dialect.name == "sqlite":
        per = _rows_per_statement(connection, len(POSITION_COLUMNS))
        many_rows.run(connection.exec_driver_sql, _insert_sql, rows, per)
        return
    marks = ", ".join("%s" for _ in POSITION_COLUMNS)
    connection.exec_driver_sql(f"INSERT INTO tracking_position ({', '.join(POSITION_COLUMNS)}) VALUES ({marks})", rows)


def newest_per_unit(rows: list[tuple], newest: dict[str, tuple] | None = None) -> dict[str, tuple]:
    """Each unit's newest row among ``rows`` (merged into ``newest`` when given). Times
    compare alike as datetimes and as SQLite's fixed-width text."""
    newest = {} if newest is None else newest
    for row in rows:
        unit_id = row[_UNIT_ID]
        if unit_id:
            held = newest.get(unit_id)
            if held is None or row[_FIX_AT] > held[_FIX_AT]:
                newest[unit_id] = row
    return newest


def store_positions(database: Database, rows: list[tuple], latest: dict[str, tuple] | None = None) -> None:
    """Trail rows and units' newest fixes, in one transaction. ``latest`` defaults to the
    newest of ``rows``; the background writer passes what is due (it writes latest
    positions every few seconds, not with every batch: the in-memory index is what
    screens read, the unit row is only where the index is rebuilt from at start)."""
    if latest is None:
        latest = newest_per_unit(rows)
    with database.unit_of_work() as session:
        connection = session.connection()
        if rows:
            insert_position_rows(connection, rows)
        if latest:
            update_latest(connection, list(latest.values()))


@lru_cache(maxsize=32)
def _update_latest_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        f"WITH v(id, fix_at, lat, lon, speed, bearing, accuracy, battery) AS (VALUES {values}) "
        "UPDATE tracking_unit SET last_fix_at = v.fix_at, last_lat = v.lat, last_lon = v.lon, "
        "last_speed_mps = v.speed, last_bearing = v.bearing, last_accuracy_m = v.accuracy, last_battery = v.battery "
        "FROM v WHERE tracking_unit.id = v.id "
        "AND (tracking_unit.last_fix_at IS NULL OR tracking_unit.last_fix_at < v.fix_at)"
    )


def update_latest(connection, rows: list[tuple]) -> None:
    """Each unit's newest fix onto its row, unless the row already holds a newer one: on
    SQLite a few many-row ``UPDATE ... FROM (VALUES ...)``, on PostgreSQL one executemany."""
    if connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):
        params = [
            (r[_UNIT_ID], r[_FIX_AT], r[_LAT], r[_LON], r[_SPEED], r[_BEARING], r[_ACCURACY], r[_BATTERY]) for r in rows
        ]
        many_rows.run(connection.exec_driver_sql, _update_latest_sql, params, _rows_per_statement(connection, 8))
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    sql = (
        f"UPDATE tracking_unit SET last_fix_at = {mark}, last_lat = {mark}, last_lon = {mark}, "
        f"last_speed_mps = {mark}, last_bearing = {mark}, last_accuracy_m = {mark}, last_battery = {mark} "
        f"WHERE id = {mark} AND (last_fix_at IS NULL OR last_fix_at < {mark})"
    )
    params = [
        (r[_FIX_AT], r[_LAT], r[_LON], r[_SPEED], r[_BEARING], r[_ACCURACY], r[_BATTERY], r[_UNIT_ID], r[_FIX_AT])
        for r in rows
    ]
    connection.exec_driver_sql(sql, params)


def count_unknown_devices(database: Database, device_ids: list[str], now: datetime, ip: str | None) -> None:
    """Count refused positions per unknown device id (shown to admins)."""
    counts: dict[str, int] = {}
    for device_id in device_ids:
        counts[device_id[:64]] = counts.get(device_id[:64], 0) + 1
    with database.unit_of_work() as session:
        known = {row.id: row for row in session.scalars(select(UnknownDevice).where(UnknownDevice.id.in_(counts)))}
        for device_id, count in counts.items():
            row = known.get(device_id)
            if row is None:
                session.add(
                    UnknownDevice(id=device_id, first_seen_at=now, last_seen_at=now, attempts=count, last_ip=ip)
                )
            else:
                row.attempts += count
                row.last_seen_at = now
                row.last_ip = ip


def delete_positions_before(database: Database, cutoff: datetime, batch: int = 50000) -> int:
    """Remove trail positions older than the retention period, in batches (one statement
    each, the ids chosen by a subquery: no list of ids past SQLite's parameter limit);
    returns how many."""
    total = 0
    while True:
        table = Position.__table__
        oldest = select(table.c.id).where(table.c.fix_at < cutoff).limit(batch)
        with database.unit_of_work() as session:
            removed = session.connection().execute(delete(table).where(table.c.id.in_(oldest))).rowcount
        total += removed
        if removed < batch:
            return total


def store_geofence_events(database: Database, crossings: list) -> None:
    """Enter and leave events, in one transaction."""
    from bluelamp.tracking.model import GeofenceEvent

    with database.unit_of_work() as session:
        session.connection().execute(
            insert(GeofenceEvent),
            [
                {
                    "force_id": c.force_id,
                    "geofence_id": c.geofence_id,
                    "unit_id": c.unit_id,
                    "event": c.event,
                    "at": c.at,
                }
                for c in crossings
            ],
        )
