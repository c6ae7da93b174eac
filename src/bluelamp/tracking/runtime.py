"""The tracking machinery one process runs: the latest-position index (rebuilt from
the store at start), the device registry, the ingest and the trail writer."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bluelamp.clock import Clock
from bluelamp.events import Event
from bluelamp.tracking import queries
from bluelamp.tracking.geofences import GeofenceWatcher
from bluelamp.tracking.index import LatestIndex, UnitState, capability_mask
from bluelamp.tracking.ingest import DeviceInfo, DeviceRegistry, Ingest, IngestLimits, TrailWriter
from bluelamp.tracking.model import Device
from bluelamp.tracking.service import capabilities

if TYPE_CHECKING:
    from bluelamp.storage import Database


@dataclass(frozen=True)
class Staleness:
    """When a unit's position is stale, and when the unit counts as offline (from Settings)."""

    stale_seconds: int = 120
    offline_seconds: int = 900


class Tracking:
    """Index, devices, ingest and writer, wired together for one process."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        publish: Callable[[Event], None],
        *,
        limits: IngestLimits | None = None,
        staleness: Staleness | None = None,
        background_writer: bool = True,
    ) -> None:
        self.database = database
        self.clock = clock
        self.staleness = staleness or Staleness()
        self.index = LatestIndex()
        self.registry = DeviceRegistry(self._load_devices, self._lookup_device)
        self.writer = TrailWriter(
            database, retention=timedelta(days=(limits or IngestLimits()).max_age_days), clock=clock
        )
        self.geofences = GeofenceWatcher()
        self.ingest = Ingest(
            database, self.index, self.registry, self.writer, clock, limits or IngestLimits(), publish, self.geofences
        )
        self._background = background_writer

    def start(self) -> None:
        self.rebuild_index()
        self.registry.reload()
        self.reload_geofences()
        if self._background:
            self.writer.start()

    def stop(self) -> None:
        self.writer.stop()

    def rebuild_index(self) -> int:
        """Load every unit's latest state from the store; returns how many."""
        now = self.clock.now()
        with _collector_paused(), self.database.read() as session:
            units = queries.all_units(session)
            crews = queries.crew_skills(session, None, now)
            states = [state_of(unit, crews.get(unit.id, [])) for unit in units]
            del units
            self.index.load(states)
        return len(states)

    def refresh_unit(self, unit_id: str) -> None:
        """Re-read one unit (after it was created, crewed or changed) into the index."""
        with self.database.read() as session:
            unit = queries.unit_by_id(session, unit_id)
            if unit is None:
                self.index.remove(unit_id)
                return
            crews = queries.crew_skills(session, [unit.id], self.clock.now())
            state = state_of(unit, crews[unit.id])
        previous = self.index.units.get(unit_id)
        if previous is not None and previous.fix_at and (state.fix_at is None or previous.fix_at > state.fix_at):
            state.lat, state.lon, state.fix_at = previous.lat, previous.lon, previous.fix_at
        self.index.put(state)

    def reload_geofences(self) -> None:
        """Read every geofence again, and where each unit is now (without raising events)."""
        with self.database.read() as session:
            self.geofences.load(queries.geofences(session))
        with _collector_paused():
            for state in self.index.snapshot_all():
                self.geofences.seed(state.unit_id, state.force_id, state.lat, state.lon)

    def freshness(self, state: UnitState) -> str:
        """live, stale or offline, from the age of the unit's last fix."""
        if state.fix_at is None:
            return "offline"
        age = (self.clock.now() - state.fix_at).total_seconds()
        if age >= self.staleness.offline_seconds:
            return "offline"
        return "stale" if age >= self.staleness.stale_seconds else "live"

    def _load_devices(self) -> list[DeviceInfo]:
        with self.database.read() as session:
            return [device_info(d) for d in queries.devices(session)]

    def _lookup_device(self, device_id: str) -> DeviceInfo | None:
        with self.database.read() as session:
            device = session.get(Device, device_id)
            return device_info(device) if device is not None and device.disabled_at is None else None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while hundreds of thousands of long-lived objects are built:
    loading 150,000 units otherwise ran a dozen full collections, each longer than the
    last, and start-up took 10 to 25 s. They are frozen out of collections after start."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def device_info(device: Device) -> DeviceInfo:
    return DeviceInfo(device.id, device.force_id, device.unit_id, device.officer_id, device.secret_hash)


def state_of(unit, crew_skills: list[list[str]]) -> UnitState:
    return UnitState(
        unit_id=unit.id,
        force_id=unit.force_id,
        call_sign=unit.call_sign,
        unit_type=unit.unit_type,
        status=unit.status,
        marking=unit.marking,
        capabilities=capability_mask(capabilities(unit, crew_skills)),
        lat=unit.last_lat,
        lon=unit.last_lon,
        fix_at=unit.last_fix_at,
        speed_mps=unit.last_speed_mps,
        bearing=unit.last_bearing,
        incident_id=unit.current_incident_id,
    )


def apply_status(tracking: Tracking, changed, publish: Callable[[Event], None]) -> None:
    """After a status change has committed: the index follows, and screens are told."""
    tracking.index.set_status(changed.unit.id, changed.after, changed.unit.current_incident_id)
    for event in changed.events:
        publish(event)
