"""Batched writes for the hot ingest path, at SQLAlchemy Core level: one
``executemany`` per batch, never a query per fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, insert, select

from bluelamp.tracking.model import Position, UnknownDevice

if TYPE_CHECKING:
    from bluelamp.storage import Database
    from bluelamp.tracking.ingest import DeviceInfo, Fix

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
_FIX_AT, _RECEIVED_AT, _UNIT_ID, _LAT, _LON, _SPEED, _BEARING, _ACCURACY, _BATTERY = 4, 5, 2, 6, 7, 8, 9, 11, 12


def position_row(device: DeviceInfo, fix: Fix, received_at: datetime) -> tuple:
    """A trail row as a tuple in POSITION_COLUMNS order (the driver takes it as it is)."""
    return (
        device.force_id,
        device.device_id,
        device.unit_id,
        device.officer_id,
        fix.fix_at,
        received_at,
        fix.lat,
        fix.lon,
        fix.speed_mps,
        fix.bearing,
        fix.altitude_m,
        fix.accuracy_m,
        fix.battery,
        fix.alarm,
        json.dumps(fix.attributes) if fix.attributes else None,
    )


def sqlite_time(moment: datetime) -> str:
    """A UTC time in the text form SQLAlchemy's SQLite DateTime stores and reads back
    (``2026-11-28 14:30:00.000000``), formatted by the C ``isoformat``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def insert_position_rows(connection, rows: list[tuple]) -> None:
    """One driver-level executemany of trail rows: no per-value processing by SQLAlchemy."""
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in POSITION_COLUMNS)
        received: dict[datetime, str] = {}  # a batch shares one received time: format it once
        rows = [
            row[:4]
            + (sqlite_time(row[4]), received.get(row[5]) or received.setdefault(row[5], sqlite_time(row[5])))
            + row[6:]
            for row in rows
        ]
    else:
        marks = ", ".join("%s" for _ in POSITION_COLUMNS)
    sql = f"INSERT INTO tracking_position ({', '.join(POSITION_COLUMNS)}) VALUES ({marks})"
    connection.exec_driver_sql(sql, rows)


def newest_per_unit(rows: list[tuple], newest: dict[str, tuple] | None = None) -> dict[str, tuple]:
    """Each unit's newest row among ``rows`` (merged into ``newest`` when given)."""
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


def update_latest(connection, rows: list[tuple]) -> None:
    """Each unit's newest fix onto its row, unless the row already holds a newer one
    (one driver-level executemany)."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (
        f"UPDATE tracking_unit SET last_fix_at = {mark}, last_lat = {mark}, last_lon = {mark}, "
        f"last_speed_mps = {mark}, last_bearing = {mark}, last_accuracy_m = {mark}, last_battery = {mark} "
        f"WHERE id = {mark} AND (last_fix_at IS NULL OR last_fix_at < {mark})"
    )
    params = []
    for r in rows:
        fix_at = sqlite_time(r[_FIX_AT]) if sqlite else r[_FIX_AT]
        params.append(
            (fix_at, r[_LAT], r[_LON], r[_SPEED], r[_BEARING], r[_ACCURACY], r[_BATTERY], r[_UNIT_ID], fix_at)
        )
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
    """Remove trail positions older than the retention period, in batches; returns how many."""
    from sqlalchemy import delete

    total = 0
    while True:
        with database.unit_of_work() as session:
            ids = list(session.scalars(select(Position.id).where(Position.fix_at < cutoff).limit(batch)))
            if not ids:
                return total
            session.execute(delete(Position).where(and_(Position.id.in_(ids))))
            total += len(ids)


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
