"""Position ingest: Traccar's OsmAnd protocol, JSON batches from vehicle gateways, and
the officer app, all through one service.

A fix is validated, checked against the registered devices, applied to the in-memory
latest-position index (an older fix never overwrites a newer one) and queued for the
trail, which the ``TrailWriter`` stores in batches. ``alarm=sos`` raises an emergency
at once.
"""

from __future__ import annotations

import hmac
import json
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
    # ``fix_at.isoformat()``, when the request already sent the time in exactly that form
    # (a gateway's UTC time): neither the trail nor the live feed need format it again.
    at_text: str | None = None


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
    """A fix from one item of a JSON batch (numbers as JSON numbers, speed in m/s).

    The hot path of a gateway's batch: the usual item (finite floats, an ISO 8601 UTC
    time) passes a few type checks; anything else goes through ``_json_number`` and
    ``parse_timestamp``, which say what is wrong."""
    if type(item) is not dict:
        return FixRejected(FieldProblem("item", "each position is an object"))
    get = item.get
    try:
        device_id = get("device_id")
        if type(device_id) is not str or not (device_id := device_id.strip()):
            raise FixRejected(FieldProblem("device_id", "the device id is missing"), code="device.unknown")
        timestamp = get("timestamp")
        parsed = _iso_timestamp(timestamp) if type(timestamp) is str else None
        if parsed is None:
            fix_at, at_text = parse_timestamp(None if timestamp is None else str(timestamp), now), None
        else:
            fix_at, at_text = parsed
        # ``x - x`` is 0.0 for a finite float and NaN (true) for NaN and the infinities.
        lat = get("lat")
        if type(lat) is not float or lat - lat:
            lat = _json_number(item, "lat", required=True)
        lon = get("lon")
        if type(lon) is not float or lon - lon:
            lon = _json_number(item, "lon", required=True)
        speed = get("speed_mps")
        if speed is not None and (type(speed) is not float or speed - speed):
            speed = float(speed) if type(speed) is int else _json_number(item, "speed_mps")
        bearing = get("bearing")
        if bearing is not None and (type(bearing) is not float or bearing - bearing):
            bearing = float(bearing) if type(bearing) is int else _json_number(item, "bearing")
        altitude = get("altitude_m")
        if altitude is not None and (type(altitude) is not float or altitude - altitude):
            altitude = float(altitude) if type(altitude) is int else _json_number(item, "altitude_m")
        accuracy = get("accuracy_m")
        if accuracy is not None and (type(accuracy) is not float or accuracy - accuracy):
            accuracy = float(accuracy) if type(accuracy) is int else _json_number(item, "accuracy_m")
        battery = get("battery")
        if battery is not None and (type(battery) is not float or battery - battery):
            battery = float(battery) if type(battery) is int else _json_number(item, "battery")
        alarm = get("alarm")
        attributes = get("attributes")
        return Fix(
            device_id,
            fix_at,
            lat,
            lon,
            speed,
            bearing,
            altitude,
            accuracy,
            battery,
            str(alarm).strip().lower() if alarm else None,
            get("secret"),
            dict(attributes) if type(attributes) is dict else {},
            at_text,
        )
    except FixRejected as rejected:
        return rejected


def _iso_timestamp(text: str) -> tuple[datetime, str | None] | None:
    """The common case of a JSON batch, an ISO 8601 time, parsed by the C ``fromisoformat``
    (Python 3.11 reads ``Z`` and offsets), with its ``isoformat()`` text when the request
    sent exactly that; None sends anything else to ``parse_timestamp``."""
    # The usual gateway time first: 2026-11-28T14:30:00.123456+00:00 (one slice checks the
    # separators at 4, 7, 10, 13, 16 and 19; fromisoformat checks the digits).
    if len(text) == 32 and text[4:20:3] == "--T::." and text[26:] == "+00:00":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is UTC:
            return moment, text if moment.microsecond else None
    if not text or text[0] not in "0123456789" or text.isdigit() or "-" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    zone = moment.tzinfo
    if zone is UTC:  # fromisoformat gives the UTC singleton for a zero offset
        return moment, _isoformat_as_sent(text, moment)
    if zone is None:
        return moment.replace(tzinfo=UTC), None
    return moment.astimezone(UTC), None


def _isoformat_as_sent(text: str, moment: datetime) -> str | None:
    """``moment.isoformat()`` when ``text`` (which parsed to the UTC ``moment``) is already
    that but for ``Z`` in place of ``+00:00``: ``2026-11-28T14:30:00[.ffffff](+00:00|Z)``."""
    size = len(text)
    if size not in (20, 25, 27, 32):
        return None
    if text[4:17:3] != "--T::":
        return None
    if size == 32:
        return text if text[19] == "." and text[26:] == "+00:00" and moment.microsecond else None
    if size == 27:
        return text[:26] + "+00:00" if text[19] == "." and text[26] == "Z" and moment.microsecond else None
    if size == 25:
        return text if text[19:] == "+00:00" else None
    return text[:19] + "+00:00" if text[19] == "Z" else None


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

    def known(self) -> dict[str, DeviceInfo]:
        """The devices held in memory, by id, for a batch's lookups (a miss goes to ``get``)."""
        return self._devices

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


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One fix's fate, for JSON batch replies."""

    index: int
    ok: bool
    code: str | None = None
    field: str | None = None
    message: str | None = None


_ACCEPTED: list[ItemResult] = []  # ItemResult(n, True) for n = 0, 1, ...: made once, shared
_ACCEPTED_LOCK = threading.Lock()


def _accepted_results(count: int) -> list[ItemResult]:
    if len(_ACCEPTED) < count:
        with _ACCEPTED_LOCK:
            for n in range(len(_ACCEPTED), count):
                _ACCEPTED.append(ItemResult(n, True))
    return _ACCEPTED


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
        self._sqlite = database.dialect == "sqlite"

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
        rows: list[tuple] = []
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
        publish = self.publish
        for event in moved:
            publish(event)
        if unknown:
            pending.append(lambda: writes.count_unknown_devices(self.database, unknown, now, source_ip))
        for work in pending:
            run_io(work)
        return result

    def _apply(self, fixes, now, window, force_id, result, rows, moved, crossings, unknown, pending) -> None:
        """Validate and apply each fix (the caller holds the index).

        The hot path of ingest, written for speed: the usual fix (finite float
        coordinates, the optional numbers in range, a time in the window) passes one
        chain of comparisons; any other goes through ``validate``, which says what is
        wrong. Trail rows are built here ready for the driver (``writes.POSITION_COLUMNS``)."""
        fixes = fixes if isinstance(fixes, list) else list(fixes)
        accepted_results = _accepted_results(len(fixes))
        earliest, latest = window
        monotonic = now.timestamp()
        registry = self.registry
        known = registry.known()
        units = self.index.units
        move = self.index.move
        check = self.geofences.check
        sqlite = self._sqlite
        received = writes.sqlite_time(now) if sqlite else now
        items = result.items
        add_item = items.append
        add_row = rows.append
        add_moved = moved.append
        accepted = rejected = 0
        for n, fix in enumerate(fixes):
            if isinstance(fix, FixRejected):
                rejected += 1
                add_item(ItemResult(n, False, fix.code, fix.problem.field, fix.problem.message))
                continue
            device = known.get(fix.device_id) or registry.get(fix.device_id, monotonic)
            if device is not None and force_id is not None and device.force_id != force_id:
                device = None
            if device is None:
                unknown.append(fix.device_id)
                rejected += 1
                add_item(ItemResult(n, False, "device.unknown", "id", f"device {fix.device_id!r} is not registered"))
                continue
            if device.secret_hash and not (
                fix.secret and hmac.compare_digest(secret_hash(fix.secret), device.secret_hash)
            ):
                rejected += 1
                add_item(ItemResult(n, False, "device.bad_secret", "key", "the device secret is wrong"))
                continue
            lat, lon, at = fix.lat, fix.lon, fix.fix_at
            speed, bearing, accuracy, battery = fix.speed_mps, fix.bearing, fix.accuracy_m, fix.battery
            if not (
                type(lat) is float
                and type(lon) is float
                and -90.0 <= lat <= 90.0
                and -180.0 <= lon <= 180.0
                and (lat or lon)
                and earliest <= at <= latest
                and (speed is None or 0 <= speed <= 150)
                and (bearing is None or 0 <= bearing <= 360)
                and (accuracy is None or 0 <= accuracy <= 100000)
                and (battery is None or 0 <= battery <= 100)
            ):
                try:
                    validate(fix, now, self.limits, window)
                except FixRejected as refused:
                    rejected += 1
                    add_item(ItemResult(n, False, refused.code, refused.problem.field, refused.problem.message))
                    continue
            at_text = fix.at_text
            attributes = fix.attributes
            add_row(
                (
                    device.force_id,
                    device.device_id,
                    device.unit_id,
                    device.officer_id,
                    (writes.sqlite_time_of_iso(at_text) if at_text else writes.sqlite_time(at)) if sqlite else at,
                    received,
                    lat,
                    lon,
                    speed,
                    bearing,
                    fix.altitude_m,
                    accuracy,
                    battery,
                    fix.alarm,
                    json.dumps(attributes) if attributes else None,
                )
            )
            unit_id = device.unit_id
            if unit_id and move(unit_id, lat, lon, at, speed, bearing):
                state = units[unit_id]
                add_moved(
                    Event(
                        "UnitMoved",
                        device.force_id,
                        {
                            "unit_id": unit_id,
                            "call_sign": state.call_sign,
                            "lat": lat,
                            "lon": lon,
                            "at": at_text or at.isoformat(),
                            "speed_mps": speed,
                            "bearing": bearing,
                            "status": state.status,
                        },
                    )
                )
                crossed = check(unit_id, device.force_id, lat, lon, at)
                if crossed:
                    crossings.extend(crossed)
            if fix.alarm == "sos":
                result.emergencies += 1
                pending.append(lambda device=device, fix=fix: self.publish(self._emergency(device, fix)))
            accepted += 1
            add_item(accepted_results[n])
        result.accepted += accepted
        result.rejected += rejected

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
        hold: float = 0.05,
        latest_every: float = 2.0,
        retention: timedelta | None = None,
        clock: Clock | None = None,
        purge_every: float = 3600.0,
    ) -> None:
        self.database = database
        self.batch = batch
        self.interval = interval
        self.hold = hold
        self.retention = retention
        self.clock = clock or Clock()
        self.purge_every = purge_every
        self.latest_every = latest_every
        self._latest: dict[str, tuple] = {}  # units' newest rows not yet on their unit row
        self._last_latest = time.monotonic()
        self._last_purge = 0.0
        self.purged = 0
        # Rows; None: stop; an Event: write everything now, then set it (``flush``).
        self._queue: queue.SimpleQueue[list[tuple] | threading.Event | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: list[tuple] = []
        self.written = 0

    def submit(self, rows: list[tuple]) -> None:
        if self._thread is None:
            self._pending.extend(rows)
        else:
            self._queue.put(rows)

    def flush(self) -> int:
        """Write what is pending; returns the count written. With the thread running, ask
        it to write everything it holds now and wait until it has (returns 0)."""
        if self._thread is not None:
            done = threading.Event()
            self._queue.put(done)
            done.wait(timeout=30)
            return 0
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
        # Rows are written in whole statements of ``size`` (writes.py: one many-row INSERT
        # lets the ingest run while SQLite stores); the rest waits for the next round,
        # unless it has waited ``hold`` seconds already or the writer is stopping. Under
        # a heavy load the writer so writes one statement per transaction; under a light
        # one, rows wait at most ``hold`` longer, then go in a few smaller statements.
        try:
            size = writes.rows_per_statement(self.database, self.batch) or 1
        except Exception:  # the database is not reachable yet: write whatever arrives
            log.exception("could not read the database's statement limits")
            size = 1
        held: list[tuple] = []
        held_since = 0.0
        stopping = False
        flushes: list[threading.Event] = []
        while not stopping:
            rows, fresh = held, not held
            wait = self.interval if fresh else max(0.0, held_since + self.hold - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
                if item is None:
                    stopping = True
                elif isinstance(item, threading.Event):
                    flushes.append(item)
                else:
                    rows.extend(item)
                while len(rows) < self.batch:
                    item = self._queue.get_nowait()
                    if item is None:
                        stopping = True
                        break
                    if isinstance(item, threading.Event):
                        flushes.append(item)
                        continue
                    rows.extend(item)
            except queue.Empty:
                pass
            now = time.monotonic()
            if rows and fresh:
                held_since = now
            held = []
            urgent = stopping or bool(flushes)
            if not urgent and now - held_since < self.hold and len(rows) % size:
                whole = len(rows) - len(rows) % size
                rows, held = rows[:whole], rows[whole:]
                if rows:
                    held_since = now
            writes.newest_per_unit(rows, self._latest)
            due = urgent or now - self._last_latest >= self.latest_every
            latest = self._latest if due else {}
            if rows or latest:
                try:
                    writes.store_positions(self.database, rows, latest)
                    self.written += len(rows)
                except Exception:  # never lose the thread; the rows are logged as lost
                    log.exception("could not store %d trail positions", len(rows))
                if due:
                    self._latest, self._last_latest = {}, time.monotonic()
            for done in flushes:
                done.set()
            flushes.clear()
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
