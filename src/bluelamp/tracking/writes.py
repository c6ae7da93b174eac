"""Batched writes for the hot ingest path, at SQLAlchemy Core level: one
``executemany`` per batch, never a query per fix."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, insert, or_, select, update

from bluelamp.tracking.model import Position, Unit, UnknownDevice

if TYPE_CHECKING:
    from bluelamp.storage import Database
    from bluelamp.tracking.ingest import DeviceInfo, Fix

_INSERT = insert(Position)
_LATEST = (
    update(Unit)
    .where(
        Unit.id == bindparam("b_unit_id"),
        or_(Unit.last_fix_at.is_(None), Unit.last_fix_at < bindparam("b_fix_at")),
    )
    .values(
        last_fix_at=bindparam("b_fix_at"),
        last_lat=bindparam("b_lat"),
        last_lon=bindparam("b_lon"),
        last_speed_mps=bindparam("b_speed"),
        last_bearing=bindparam("b_bearing"),
        last_accuracy_m=bindparam("b_accuracy"),
        last_battery=bindparam("b_battery"),
    )
)


def position_row(device: DeviceInfo, fix: Fix, received_at: datetime) -> dict[str, Any]:
    return {
        "force_id": device.force_id,
        "device_id": device.device_id,
        "unit_id": device.unit_id,
        "officer_id": device.officer_id,
        "fix_at": fix.fix_at,
        "received_at": received_at,
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_mps": fix.speed_mps,
        "bearing": fix.bearing,
        "altitude_m": fix.altitude_m,
        "accuracy_m": fix.accuracy_m,
        "battery": fix.battery,
        "alarm": fix.alarm,
        "attributes": fix.attributes or None,
    }


def store_positions(database: Database, rows: list[dict[str, Any]]) -> None:
    """The trail rows, and each unit's newest fix, in one transaction."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        unit_id = row["unit_id"]
        if unit_id and (unit_id not in newest or row["fix_at"] > newest[unit_id]["fix_at"]):
            newest[unit_id] = row
    with database.unit_of_work() as session:
        connection = session.connection()
        connection.execute(_INSERT, rows)
        if newest:
            connection.execute(
                _LATEST,
                [
                    {
                        "b_unit_id": u,
                        "b_fix_at": r["fix_at"],
                        "b_lat": r["lat"],
                        "b_lon": r["lon"],
                        "b_speed": r["speed_mps"],
                        "b_bearing": r["bearing"],
                        "b_accuracy": r["accuracy_m"],
                        "b_battery": r["battery"],
                    }
                    for u, r in newest.items()
                ],
            )


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
