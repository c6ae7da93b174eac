"""Position ingest: Traccar's OsmAnd protocol, JSON batches from vehicle gateways, and
the officer app, all through one service.

A fix is validated, checked against the registered devices, applied to the in-memory
latest-position index (an older fix never overwrites a newer one) and queued for the
trail, which the ``TrailWriter`` stores in batches. ``alarm=sos`` raises an emergency
at once.
"""

from __future__ import annotations

import hmac
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem
from bluelamp.events import Event
from bluelamp.tracking import writes
from bluelamp.tracking.geofences import GeofenceWatcher
from bluelamp.tracking.index import LatestIndex
from bluelamp.tracking.service import secret_hash

if TYPE_CHECKING:
    from bluelamp.storage import Database

log = logging.getLogger(__name__)

KNOTS_TO_MPS = 0.514444
# Parameters of the OsmAnd protocol that are not free-form attributes.
OSMAND_KNOWN = {
    "id",
    "deviceid",
    "i",
    "timestamp",
    "lat",
    "lon",
    "location",
    "speed",
    "bearing",
    "heading",
    "altitude",
    "accuracy",
    "batt",
    "alarm",
    "valid",
    "hdop",
    "charge",
    "key",
    "secret",
}


@dataclass(slots=True)
class Fix:
    """One position report, validated and in SI units."""

    device_id: str
    fix_at: datetime
    lat: float
    lon: float
    speed_mps: float | None = None
    bearing: float | None = None
    altitude_m: float | None = None
    accuracy_m: float | None = None
    battery: float | None = None
    alarm: str | None = None
    secret: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class FixRejected(Exception):
    """A fix that cannot be stored, with the field at fault."""

    def __init__(self, problem: FieldProblem, code: str = "position.invalid") -> None:
        super().__init__(problem.message)
        self.problem = problem
        self.code = code


# ---------------------------------------------------------------- parsing


def parse_timestamp(raw: str | None, now: datetime) -> datetime:
    """Every form Traccar's OsmAnd decoder accepts: unix seconds, epoch milliseconds,
    ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (UTC). Missing means now."""
    if raw is None or raw == "":
        return now
    raw = raw.strip()
    try:
        if raw.replace(".", "", 1).isdigit():
            value = float(raw)
            # Traccar: values below 2^31 are seconds, larger ones milliseconds.
            seconds = value if value < 2**31 else value / 1000
            return datetime.fromtimestamp(seconds, UTC)
        text = raw.replace("Z", "+00:00")
        if "T" not in text and " " in text:
            text = text.replace(" ", "T", 1)
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise FixRejected(FieldProblem("timestamp", f"{raw!r} is not a time Traccar understands")) from None


def _number(params: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        raw = params.get(name)
        if raw not in (None, ""):
            try:
                value = float(raw)
            except ValueError:
                raise FixRejected(FieldProblem(name, f"{raw!r} is not a number")) from None
            if not math.isfinite(value):
                raise FixRejected(FieldProblem(name, f"{raw!r} is not a finite number"))
            return value
    return None


def parse_osmand(params: Mapping[str, str], now: datetime) -> Fix:
    """A fix from OsmAnd query or form parameters, as the Traccar Client app sends them."""
    device_id = (params.get("id") or params.get("deviceid") or params.get("i") or "").strip()
    if not device_id:
        raise FixRejected(FieldProblem("id", "the device id is missing"), code="device.unknown")
    lat, lon = _number(params, "lat"), _number(params, "lon")
    if (lat is None or lon is None) and params.get("location"):
        try:
            lat_text, lon_text = params["location"].split(",", 1)
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise FixRejected(FieldProblem("location", "location must be lat,lon")) from None
    if lat is None or lon is None:
        raise FixRejected(FieldProblem("lat", "lat and lon are required"))
    speed_knots = _number(params, "speed")
    battery = _number(params, "batt")
    attributes = {k: _attribute(v) for k, v in params.items() if k not in OSMAND_KNOWN}
    if params.get("charge"):
        attributes["charge"] = params["charge"].lower() == "true"
    alarm = (params.get("alarm") or "").strip().lower() or None
    return Fix(
        device_id=device_id,
        fix_at=parse_timestamp(params.get("timestamp"), now),
        lat=lat,
        lon=lon,
        speed_mps=speed_knots * KNOTS_TO_MPS if speed_knots is not None else None,
        bearing=_number(params, "bearing", "heading"),
        altitude_m=_number(params, "altitude"),
        accuracy_m=_number(params, "accuracy"),
        battery=battery,
        alarm=alarm,
        secret=params.get("key") or params.get("secret"),
        attributes=attributes,
    )


JSON_FIELDS = {
    "device_id",
    "timestamp",
    "lat",
    "lon",
    "speed_mps",
    "bearing",
    "altitude_m",
    "accuracy_m",
    "battery",
    "alarm",
    "secret",
    "attributes",
}


def parse_json_item(item: Any, now: datetime) -> Fix | FixRejected:
    """A fix from one item of a JSON batch (numbers as JSON numbers, speed in m/s)."""
    if type(item) is not dict:
        return FixRejected(FieldProblem("item", "each position is an object"))
    try:
        device_id = item.get("device_id")
        if type(device_id) is not str or not device_id.strip():
            raise FixRejected(FieldProblem("device_id", "the device id is missing"), code="device.unknown")
        timestamp = item.get("timestamp")
        fix_at = _iso_timestamp(timestamp) if type(timestamp) is str else None
        if fix_at is None:
            fix_at = parse_timestamp(None if timestamp is None else str(timestamp), now)
        get = item.get
        alarm = get("alarm")
        attributes = get("attributes")
        return Fix(
            device_id.strip(),
            fix_at,
            _json_number(item, "lat", required=True),
            _json_number(item, "lon", required=True),
            _json_number(item, "speed_mps") if "speed_mps" in item else None,
            _json_number(item, "bearing") if "bearing" in item else None,
            _json_number(item, "altitude_m") if "altitude_m" in item else None,
            _json_number(item, "accuracy_m") if "accuracy_m" in item else None,
            _json_number(item, "battery") if "battery" in item else None,
            str(alarm).strip().lower() if alarm else None,
            get("secret"),
            dict(attributes) if type(attributes) is dict else {},
        )
    except FixRejected as rejected:
        return rejected


def _iso_timestamp(text: str) -> datetime | None:
    """The common case of a JSON batch, an ISO 8601 time, parsed by the C ``fromisoformat``
    (Python 3.11 reads ``Z`` and offsets); None sends anything else to ``parse_timestamp``."""
    if not text or text[0] not in "0123456789" or text.isdigit() or "-" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _json_number(item: dict, name: str, *, required: bool = False) -> float | None:
    value = item.get(name)
    kind = type(value)
    if kind is float:
        if value - value == 0:  # finite (inf - inf and nan - nan are nan)
            return value
        raise FixRejected(FieldProblem(name, f"{value!r} is not a finite number"))
    if kind is int:
        return float(value)
    if value is None:
        if required:
            raise FixRejected(FieldProblem(name, f"{name} is required"))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FixRejected(FieldProblem(name, f"{value!r} is not a number"))
    try:
        number = float(value)
    except ValueError:
        raise FixRejected(FieldProblem(name, f"{value!r} is not a number")) from None
    if not math.isfinite(number):
        raise FixRejected(FieldProblem(name, f"{value!r} is not a finite number"))
    return number


def _attribute(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(value)
        return number if math.isfinite(number) else value
    except ValueError:
        return value[:200]


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class IngestLimits:
    """How far from now a fix may be, and how big a batch may be (from Settings)."""

    future_seconds: int = 300
    max_age_days: int = 30
    max_batch: int = 10000


def validate(fix: Fix, now: datetime, limits: IngestLimits, window: tuple[datetime, datetime] | None = None) -> None:
    """Refuse a fix that cannot be a real position of a unit. ``window`` (earliest,
    latest) may be worked out once per batch."""
    earliest, latest = window or time_window(now, limits)
    if not (isinstance(fix.lat, float | int) and math.isfinite(fix.lat) and -90 <= fix.lat <= 90):
        raise FixRejected(FieldProblem("lat", "latitude must be a number from -90 to 90"))
    if not (isinstance(fix.lon, float | int) and math.isfinite(fix.lon) and -180 <= fix.lon <= 180):
        raise FixRejected(FieldProblem("lon", "longitude must be a number from -180 to 180"))
    if fix.lat == 0 and fix.lon == 0:
        raise FixRejected(FieldProblem("lat", "0,0 is not a position (no GPS fix)"))
    if fix.fix_at > latest:
        raise FixRejected(FieldProblem("timestamp", "the fix is in the future; check the device clock"))
    if fix.fix_at < earliest:
        raise FixRejected(FieldProblem("timestamp", f"the fix is older than {limits.max_age_days} days"))
    for name, value, low, high in [
        ("speed", fix.speed_mps, 0, 150),
        ("bearing", fix.bearing, 0, 360),
        ("accuracy", fix.accuracy_m, 0, 100000),
        ("batt", fix.battery, 0, 100),
    ]:
        if value is not None and not low <= value <= high:
            raise FixRejected(FieldProblem(name, f"{name} {value} is outside {low}-{high}"))


def time_window(now: datetime, limits: IngestLimits) -> tuple[datetime, datetime]:
    """The earliest and latest fix times accepted now."""
    return now - timedelta(days=limits.max_age_days), now + timedelta(seconds=limits.future_seconds)


# ---------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    force_id: str
    unit_id: str | None
    officer_id: str | None
    secret_hash: str | None


class DeviceRegistry:
    """The registered devices, in memory; a miss asks the store (then remembers)."""

    def __init__(
        self,
        loader: Callable[[], Iterable[DeviceInfo]],
        lookup: Callable[[str], DeviceInfo | None],
        recheck_seconds: float = 30.0,
    ) -> None:
        self._loader, self._lookup = loader, lookup
        self._devices: dict[str, DeviceInfo] = {}
        self._misses: dict[str, float] = {}
        self._recheck = recheck_seconds
        self.unknown_attempts = 0

    def reload(self) -> None:
        self._devices = {d.device_id: d for d in self._loader()}
        self._misses.clear()

    def add(self, device: DeviceInfo) -> None:
        self._devices[device.device_id] = device
        self._misses.pop(device.device_id, None)

    def get(self, device_id: str, now: float) -> DeviceInfo | None:
        device = self._devices.get(device_id)
        if device is not None:
            return device
        missed_at = self._misses.get(device_id)
        if missed_at is None or now - missed_at > self._recheck:
            device = self._lookup(device_id)
            if device is not None:
                self._devices[device_id] = device
                return device
            self._misses[device_id] = now
        self.unknown_attempts += 1
        return None


# ---------------------------------------------------------------- the service


@dataclass
class ItemResult:
    """One fix's fate, for JSON batch replies."""

    index: int
    ok: bool
    code: str | None = None
    field: str | None = None
    message: str | None = None


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: int = 0
    emergencies: int = 0
    items: list[ItemResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class Ingest:
    """Applies fixes: validation, devices, the latest index, the trail queue, emergencies."""

    def __init__(
        self,
        database: Database,
        index: LatestIndex,
        registry: DeviceRegistry,
        writer: TrailWriter,
        clock: Clock,
        limits: IngestLimits,
        publish: Callable[[Event], None],
        geofences: GeofenceWatcher | None = None,
    ) -> None:
        self.database = database
        self.index = index
        self.registry = registry
        self.writer = writer
        self.clock = clock
        self.limits = limits
        self.publish = publish
        self.geofences = geofences or GeofenceWatcher()

    def ingest(
        self,
        fixes: Iterable[Fix | FixRejected],
        *,
        source_ip: str | None = None,
        force_id: str | None = None,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> IngestResult:
        """Apply a batch; each item succeeds or fails on its own.

        In-memory work happens at once. Database work (counting unknown devices,
        raising emergencies) goes to ``defer`` when given, so that an async caller can
        run it in a thread; otherwise it runs before returning. With ``force_id``, only
        that force's devices are accepted (a gateway reports for its own force).
        """
        run_io = defer or (lambda work: work())
        now = self.clock.now()
        result = IngestResult()
        rows: list[dict[str, Any]] = []
        moved: list[Event] = []
        crossings: list = []
        unknown: list[str] = []
        pending: list[Callable[[], None]] = []
        window = time_window(now, self.limits)
        with self.index.locked():
            self._apply(fixes, now, window, force_id, result, rows, moved, crossings, unknown, pending)
        if rows:
            self.writer.submit(rows)
        for crossing in crossings:
            moved.append(
                Event(
                    "GeofenceCrossed",
                    crossing.force_id,
                    {
                        "unit_id": crossing.unit_id,
                        "geofence_id": crossing.geofence_id,
                        "name": crossing.name,
                        "event": crossing.event,
                        "at": crossing.at.isoformat(),
                    },
                )
            )
        if crossings:
            pending.append(lambda: writes.store_geofence_events(self.database, crossings))
        result.events = moved
        for event in moved:
            self.publish(event)
        if unknown:
            pending.append(lambda: writes.count_unknown_devices(self.database, unknown, now, source_ip))
        for work in pending:
            run_io(work)
        return result

    def _apply(self, fixes, now, window, force_id, result, rows, moved, crossings, unknown, pending) -> None:
        """Validate and apply each fix (the caller holds the index)."""
        monotonic = now.timestamp()
        for n, fix in enumerate(fixes):
            if isinstance(fix, FixRejected):
                result.rejected += 1
                result.items.append(ItemResult(n, False, fix.code, fix.problem.field, fix.problem.message))
                continue
            device = self.registry.get(fix.device_id, monotonic)
            if device is not None and force_id is not None and device.force_id != force_id:
                device = None
            if device is None:
                unknown.append(fix.device_id)
                result.rejected += 1
                result.items.append(
                    ItemResult(n, False, "device.unknown", "id", f"device {fix.device_id!r} is not registered")
                )
                continue
            if device.secret_hash and not (
                fix.secret and hmac.compare_digest(secret_hash(fix.secret), device.secret_hash)
            ):
                result.rejected += 1
                result.items.append(ItemResult(n, False, "device.bad_secret", "key", "the device secret is wrong"))
                continue
            try:
                validate(fix, now, self.limits, window)
            except FixRejected as rejected:
                result.rejected += 1
                result.items.append(
                    ItemResult(n, False, rejected.code, rejected.problem.field, rejected.problem.message)
                )
                continue
            rows.append(writes.position_row(device, fix, now))
            if device.unit_id and self.index.move(
                device.unit_id, fix.lat, fix.lon, fix.fix_at, fix.speed_mps, fix.bearing
            ):
                state = self.index.units[device.unit_id]
                moved.append(
                    Event(
                        "UnitMoved",
                        device.force_id,
                        {
                            "unit_id": device.unit_id,
                            "call_sign": state.call_sign,
                            "lat": fix.lat,
                            "lon": fix.lon,
                            "at": fix.fix_at.isoformat(),
                            "speed_mps": fix.speed_mps,
                            "bearing": fix.bearing,
                            "status": state.status,
                        },
                    )
                )
                crossings.extend(self.geofences.check(device.unit_id, device.force_id, fix.lat, fix.lon, fix.fix_at))
            if fix.alarm == "sos":
                result.emergencies += 1
                pending.append(lambda device=device, fix=fix: self.publish(self._emergency(device, fix)))
            result.accepted += 1
            result.items.append(ItemResult(n, True))

    def _emergency(self, device: DeviceInfo, fix: Fix) -> Event:
        from bluelamp.tracking import service
        from bluelamp.tracking.model import Unit

        with self.database.unit_of_work() as session:
            unit = session.get(Unit, device.unit_id) if device.unit_id else None
            emergency = service.raise_emergency(
                session,
                unit,
                self.clock,
                source="device_alarm",
                raised_by=f"device:{device.device_id}",
                officer_id=device.officer_id,
                device_id=device.device_id,
                lat=fix.lat,
                lon=fix.lon,
                force_id=device.force_id,
            )
            event = service.emergency_event(emergency, unit)
        if device.unit_id:
            self.index.set_status(device.unit_id, "emergency")
        return event


# ---------------------------------------------------------------- the trail writer


class TrailWriter:
    """Stores trail rows in batches from a background thread (or at once, when
    ``start`` is never called: tests and the CLI flush by hand)."""

    def __init__(
        self,
        database: Database,
        *,
        batch: int = 5000,
        interval: float = 0.2,
        latest_every: float = 2.0,
        retention: timedelta | None = None,
        clock: Clock | None = None,
        purge_every: float = 3600.0,
    ) -> None:
        self.database = database
        self.batch = batch
        self.interval = interval
        self.retention = retention
        self.clock = clock or Clock()
        self.purge_every = purge_every
        self.latest_every = latest_every
        self._latest: dict[str, tuple] = {}  # units' newest rows not yet on their unit row
        self._last_latest = time.monotonic()
        self._last_purge = 0.0
        self.purged = 0
        self._queue: queue.SimpleQueue[list[dict[str, Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: list[dict[str, Any]] = []
        self.written = 0

    def submit(self, rows: list[dict[str, Any]]) -> None:
        if self._thread is None:
            self._pending.extend(rows)
        else:
            self._queue.put(rows)

    def flush(self) -> int:
        """Write what is pending (when no thread runs); returns the count written."""
        rows, self._pending = self._pending, []
        if rows:
            writes.store_positions(self.database, rows)
            self.written += len(rows)
        return len(rows)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bluelamp-trail-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            rows: list[dict[str, Any]] = []
            try:
                item = self._queue.get(timeout=self.interval)
                if item is None:
                    stopping = True
                else:
                    rows.extend(item)
                while len(rows) < self.batch:
                    item = self._queue.get_nowait()
                    if item is None:
                        stopping = True
                        break
                    rows.extend(item)
            except queue.Empty:
                pass
            writes.newest_per_unit(rows, self._latest)
            due = stopping or time.monotonic() - self._last_latest >= self.latest_every
            latest = self._latest if due else {}
            if rows or latest:
                try:
                    writes.store_positions(self.database, rows, latest)
                    self.written += len(rows)
                except Exception:  # never lose the thread; the rows are logged as lost
                    log.exception("could not store %d trail positions", len(rows))
                if due:
                    self._latest, self._last_latest = {}, time.monotonic()
            self.purge_if_due()

    def purge_if_due(self) -> int:
        """Delete trail positions past the retention period, at most once per ``purge_every`` seconds."""
        if self.retention is None or time.monotonic() - self._last_purge < self.purge_every:
            return 0
        self._last_purge = time.monotonic()
        try:
            removed = writes.delete_positions_before(self.database, self.clock.now() - self.retention)
        except Exception:  # a failed purge is retried next time; ingest goes on
            log.exception("could not purge old trail positions")
            return 0
        self.purged += removed
        return removed
