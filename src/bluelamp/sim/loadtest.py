"""The load harness's engine: replays load against a RUNNING Bluelamp through its public
HTTP API and the live WebSocket, with many concurrent clients in one asyncio process,
and reports latency percentiles, errors (by HTTP status and problem code) and
throughput. `bluelamp loadtest` drives it; benchmarks in bench/ use it directly.

Three scenarios:

- ``surge``: Staffordshire's record day replayed at ``factor`` times its pace. Call
  handlers take each call when it falls due, check for duplicates, open and grade the
  incident (THRIVE), and re-grade some of them; dispatchers poll the incident queue and
  open the incident at its top.
- ``live``: control-room screens connected to ``/ws/live`` while positions stream in
  through the OsmAnd ingest; measures each fix's delivery to each screen.
- ``url``: GET one URL (any endpoint) from many clients, as fast as they go or at a
  fixed rate.

The record day. DOMAIN.md gives about 600,000 calls a year: an average day of 1,644.
Its peak day of 1,000 999 calls is 1.66 times the average 999 day (220,000 a year, 603 a
day); were every kind of call to rise alike, the record day would hold 2,730 calls. The
harness rounds that up to twice the average, 3,300 calls, so the surge errs heavy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import math
import os
import random
import resource
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bluelamp.errors import InvalidInput, Unavailable

SCENARIOS = ("surge", "live", "url")

CALLS_PER_YEAR = 600_000
AVERAGE_DAY_CALLS = round(CALLS_PER_YEAR / 365)  # 1,644
RECORD_DAY_CALLS = 3_300  # about twice an average day (see the module docstring)

# Share of a day's calls in each hour (0-23), the usual shape of police demand: quietest
# before dawn, busiest late afternoon to late evening (the curve bench_command_intake uses).
HOURLY = [2.6, 2.0, 1.6, 1.2, 1.0, 1.0, 1.4, 2.2, 3.4, 4.2, 4.6, 4.9, 5.1, 5.2, 5.4, 5.8, 6.1, 6.3, 6.2, 6.0, 5.6, 5.0,
          4.2, 3.3]  # fmt: skip
BUSIEST_HOUR = HOURLY.index(max(HOURLY))

# What callers ring about: (category, source, weight, grade where the category has no default).
CALL_MIX = [
    ("concern_for_safety", "999", 12, "2"), ("violence_in_progress", "999", 6, "1"), ("assault", "101", 6, "2"),
    ("theft", "101", 8, "3"), ("shoplifting", "101", 5, "3"), ("burglary_dwelling", "999", 4, "2"),
    ("criminal_damage", "101", 5, "3"), ("domestic_abuse", "999", 8, "1"), ("asb_nuisance", "101", 10, "3"),
    ("asb_personal", "101", 3, "3"), ("rtc_damage_only", "101", 5, "3"), ("rtc_injury", "999", 2, "1"),
    ("missing_person", "999", 3, "2"), ("mental_health", "999", 5, "2"), ("suspicious_package", "999", 1, "1"),
    ("abandoned_call", "999", 6, "2"), ("alarm_activation", "alarm", 4, "2"), ("road_obstruction", "999", 3, "2"),
    ("fraud", "online", 4, "4"),
]  # fmt: skip
REGRADE_SHARE = 0.25  # calls the handler grades again (the caller rings back, more is learned)

# Where calls come from when the force's units have no positions yet: its towns.
FALLBACK_PLACES = [
    (53.003, -2.180), (53.012, -2.227), (52.806, -2.117), (52.803, -1.637), (52.634, -1.695),
    (52.682, -1.826), (52.691, -2.031), (53.105, -2.025), (52.898, -1.866), (52.904, -2.147),
]  # fmt: skip

DEVICE_PATTERN = "demo-{call_sign}"  # the demo force's trackers
FIX_SECONDS_PER_UNIT = 5.0  # the live scenario's default pace: each unit reports every 5 s
SETTLE_SECONDS = 5.0  # after the last fix, how long the screens may take to receive it before it counts missed
NOT_REQUESTS = frozenset({"frame delivery", "screen dropped"})  # measures that are not requests sent
RECENT = 500  # latencies kept per measure for the running display


# ---------------------------------------------------------------- measuring


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile with linear interpolation (as bench/harness.py); None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass
class Measure:
    """One kind of request (or delivery): latencies of the successes, errors by kind."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def count(self) -> int:
        return self.ok + self.failed

    def add(self, ms: float) -> None:
        self.latencies_ms.append(ms)
        self.recent.append(ms)

    def fail(self, kind: str) -> None:
        self.errors[kind] += 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        values = self.latencies_ms
        return {
            "count": self.count,
            "ok": self.ok,
            "errors": dict(self.errors.most_common()),
            "per_second": self.count / elapsed if elapsed > 0 else 0.0,
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "max_ms": max(values) if values else None,
            "mean_ms": sum(values) / len(values) if values else None,
        }


class Recorder:
    """Everything measured in one run. Only the event loop's thread writes to it."""

    def __init__(self) -> None:
        self.measures: dict[str, Measure] = {}
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.behind_s = 0.0  # the furthest any scheduled request started after its time
        self.facts: dict[str, Any] = {}  # what the scenario set up (calls due, devices, screens...)
        self.status = "starting"

    def measure(self, name: str) -> Measure:
        found = self.measures.get(name)
        if found is None:
            found = self.measures[name] = Measure(name)
        return found

    def late(self, seconds: float) -> None:
        self.behind_s = max(self.behind_s, seconds)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


@dataclass
class Answer:
    """One HTTP request's outcome: the status (0 when no answer came), its latency, the
    response, and the error kind it was counted under (None for a success)."""

    status: int
    ms: float
    response: httpx.Response | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def json(self) -> Any:
        try:
            return self.response.json() if self.response is not None else {}
        except ValueError:
            return {}


def error_kind(status: int, body: bytes | str | None) -> str:
    """``"401 access.token_invalid"``: the status and the problem-details code when there is one."""
    code = ""
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
            code = parsed["code"]
    return f"{status} {code}".strip()


class Client:
    """An HTTP client whose every request is timed and counted in the recorder under a name.

    ``async with Client(base_url, token, connections) as http: await http.request(...)``.
    Connections are kept alive, as a browser or a gateway keeps them; ``keep_alive=False``
    opens one per request (as a benchmark written with urllib did)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        connections: int = 20,
        recorder: Recorder | None = None,
        timeout: float = 30.0,
        keep_alive: bool = True,
    ) -> None:
        headers = {"User-Agent": "bluelamp-loadtest"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.recorder = recorder or Recorder()
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections if keep_alive else 0
            ),
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def request(
        self,
        name: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> Answer:
        measure = self.recorder.measure(name)
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, json=json_body, params=params, headers=headers)
        except httpx.TimeoutException:
            measure.fail("timeout")
            return Answer(0, (time.perf_counter() - started) * 1000, None, "timeout")
        except httpx.HTTPError as exc:
            kind = f"no answer ({type(exc).__name__})"
            measure.fail(kind)
            return Answer(0, (time.perf_counter() - started) * 1000, None, kind)
        ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            kind = error_kind(response.status_code, response.content)
            measure.fail(kind)
            return Answer(response.status_code, ms, response, kind)
        measure.add(ms)
        return Answer(response.status_code, ms, response, None)


async def paced(
    items: Sequence[Any],
    workers: int,
    due: Callable[[Any], float],
    work: Callable[[Any], Awaitable[None]],
    recorder: Recorder | None = None,
    stop_after: float | None = None,
) -> int:
    """``workers`` tasks take ``items`` in order, each waiting until its ``due`` second
    (from now) before ``await work(item)``: an open loop, so a slow server builds a
    backlog (``recorder.behind_s``) instead of slowing the arrivals. Items not started
    within ``stop_after`` seconds are dropped; returns how many were."""
    start = time.perf_counter()
    position = 0
    dropped = 0

    async def worker() -> None:
        nonlocal position, dropped
        while position < len(items):
            item = items[position]
            position += 1
            wait = due(item) - (time.perf_counter() - start)
            if wait > 0:
                await asyncio.sleep(wait)
            elif recorder is not None:
                recorder.late(-wait)
            if stop_after is not None and time.perf_counter() - start > stop_after:
                dropped += 1
                continue
            await work(item)

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    return dropped


# ---------------------------------------------------------------- the record day


@dataclass(frozen=True)
class Call:
    """One call of the record day: when (seconds into the day), what, and from where
    (an offset from a place the run picks)."""

    n: int
    at: float
    category: str
    source: str
    grade: str
    place: int
    dlat: float
    dlon: float
    regrade: bool


def record_day(seed: int = 1, calls: int = RECORD_DAY_CALLS) -> list[Call]:
    """The record day's calls on the hour-of-day curve, in time order; the same for a seed."""
    rng = random.Random(seed)
    total = sum(HOURLY)
    weighted = [entry for entry in CALL_MIX for _ in range(entry[2])]
    day: list[tuple[float, tuple]] = []
    for hour, share in enumerate(HOURLY):
        for _ in range(round(calls * share / total)):
            day.append((hour * 3600 + rng.uniform(0, 3600), rng.choice(weighted)))
    day.sort(key=lambda pair: pair[0])
    out = []
    for n, (at, (category, source, _weight, grade)) in enumerate(day):
        out.append(
            Call(
                n,
                at,
                category,
                source,
                grade,
                rng.randrange(1 << 30),
                rng.uniform(-0.02, 0.02),
                rng.uniform(-0.03, 0.03),
                rng.random() < REGRADE_SHARE,
            )
        )
    return out


def day_window(calls: Sequence[Call], start_hour: int, day_seconds: float) -> list[tuple[float, Call]]:
    """The calls from ``start_hour`` for ``day_seconds`` of the day (wrapping past midnight,
    into the next record day), as (seconds after the start, call)."""
    start = start_hour * 3600
    picked: list[tuple[float, Call]] = []
    laps = math.ceil((start + day_seconds) / 86400)
    for lap in range(laps):
        for call in calls:
            offset = call.at + lap * 86400 - start
            if 0 <= offset < day_seconds:
                picked.append((offset, call))
    picked.sort(key=lambda pair: pair[0])
    return picked


# ---------------------------------------------------------------- options and report


@dataclass
class Options:
    """What to run. ``clients``: call handlers (surge), screens (live) or concurrent
    clients (url); None for the scenario's default."""

    base_url: str
    token: str | None = None
    clients: int | None = None
    duration: float = 30.0
    factor: float = 50.0  # surge: the record day's pace, times
    start_hour: int = BUSIEST_HOUR  # surge: the hour of the record day to start at
    dispatchers: int = 4  # surge
    poll_seconds: float = 2.0  # surge: how often each dispatcher reloads the queue
    rate: float | None = None  # live: fixes a second; url: requests a second (None: as fast as possible)
    url: str | None = None  # url
    devices: list[str] | None = None  # live (default: demo-<CALLSIGN> for each unit)
    senders: int = 8  # live: concurrent trackers posting fixes
    seed: int = 1
    timeout: float = 30.0

    def clients_for(self, scenario: str) -> int:
        return self.clients or {"surge": 20, "live": 100, "url": 20}[scenario]


@dataclass
class Report:
    scenario: str
    base_url: str
    clients: int
    elapsed_s: float
    facts: dict[str, Any]
    operations: dict[str, dict[str, Any]]
    behind_s: float
    client_cpu_percent: float
    load_average: tuple[float, float, float]
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(op["count"] for name, op in self.operations.items() if name not in NOT_REQUESTS)

    @property
    def errors(self) -> Counter:
        total: Counter = Counter()
        for op in self.operations.values():
            total.update(op["errors"])
        return total

    def to_dict(self) -> dict[str, Any]:
        errors = self.errors
        return {
            "scenario": self.scenario,
            "base_url": self.base_url,
            "clients": self.clients,
            "elapsed_s": self.elapsed_s,
            "requests": self.requests,
            "errors": sum(errors.values()),
            "errors_by_kind": dict(errors.most_common()),
            "throughput_rps": self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0,
            "behind_schedule_max_s": self.behind_s,
            "client_cpu_percent": self.client_cpu_percent,
            "load_average": list(self.load_average),
            "facts": self.facts,
            "operations": self.operations,
            "notes": self.notes,
        }


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; refused unless it is http(s)://host[:port][/path]."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"the base URL must look like http://127.0.0.1:8000, not {base_url!r}")
    return base_url.rstrip("/")


async def reachable(base_url: str, timeout: float = 5.0) -> None:
    """Raise Unavailable (one line) unless something answers HTTP at ``base_url``."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as probe:
            await probe.get(base_url + "/livez")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise Unavailable(f"cannot reach {base_url}: {reason} (is the server running?)") from None


async def run(
    scenario: str,
    options: Options,
    recorder: Recorder | None = None,
    on_tick: Callable[[Recorder], None] | None = None,
    tick_seconds: float = 0.5,
) -> Report:
    """Run a scenario against the server at ``options.base_url`` and report on it.
    ``on_tick`` is called every ``tick_seconds`` from the event loop (for a display)."""
    if scenario not in SCENARIOS:
        raise InvalidInput(f"unknown scenario {scenario!r}: choose {', '.join(SCENARIOS)}")
    options.base_url = check_base_url(options.base_url)
    if scenario == "url" and not options.url:
        raise InvalidInput("the url scenario needs --url (a path such as /api/v1/units, or a full URL)")
    await reachable(options.base_url)
    recorder = recorder or Recorder()
    load = os.getloadavg()
    cpu_before = _cpu_seconds()
    recorder.started = time.perf_counter()
    body = {"surge": surge, "live": live, "url": replay_url}[scenario]
    ticker = asyncio.create_task(_tick(recorder, on_tick, tick_seconds)) if on_tick else None
    try:
        notes = await body(options, recorder)
    finally:
        recorder.finished = time.perf_counter()
        recorder.status = "finished"
        if ticker:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    elapsed = recorder.elapsed
    return Report(
        scenario=scenario,
        base_url=options.base_url,
        clients=options.clients_for(scenario),
        elapsed_s=elapsed,
        facts=recorder.facts,
        operations={name: m.summary(elapsed) for name, m in recorder.measures.items()},
        behind_s=recorder.behind_s,
        client_cpu_percent=100 * (_cpu_seconds() - cpu_before) / elapsed if elapsed > 0 else 0.0,
        load_average=load,
        notes=notes,
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _tick(recorder: Recorder, on_tick: Callable[[Recorder], None], seconds: float) -> None:
    while True:
        on_tick(recorder)
        await asyncio.sleep(seconds)


# ---------------------------------------------------------------- scenario: the surge


async def _places(http: Client) -> list[tuple[float, float]]:
    """Points to put calls at: the force's units' positions, or its towns."""
    answer = await http.request("setup: units", "GET", "/api/v1/units")
    found = []
    if answer.ok and isinstance(answer.json(), list):
        found = [(u["lat"], u["lon"]) for u in answer.json() if u.get("lat") is not None and u.get("lon") is not None]
    return found or FALLBACK_PLACES


async def _categories(http: Client) -> dict[str, str | None]:
    """The force's categories and their default grades ({} when they cannot be read)."""
    answer = await http.request("setup: categories", "GET", "/api/v1/incident-categories")
    body = answer.json() if answer.ok else {}
    return {c["code"]: c.get("default_grade") for c in body.get("categories", [])} if isinstance(body, dict) else {}


THRIVE = {
    "threat": "threat assessed from the caller's account",
    "harm": "harm assessed",
    "risk": "risk assessed",
    "investigation": "investigation opportunities noted",
    "vulnerability": "no vulnerability disclosed",
    "engagement": "caller willing to engage",
}


def incident_body(call: Call, categories: dict[str, str | None], places: list[tuple[float, float]]) -> dict:
    """What a call handler sends for the call: category, grade and THRIVE, caller, place."""
    category, grade = call.category, call.grade
    if categories and category not in categories:
        category = sorted(categories)[call.place % len(categories)]
    grade = categories.get(category) or grade
    lat, lon = places[call.place % len(places)]
    return {
        "source": call.source,
        "category": category,
        "lat": round(lat + call.dlat, 6),
        "lon": round(lon + call.dlon, 6),
        "address": f"{call.place % 200 + 1} High Street",
        "description": f"Caller reports {category.replace('_', ' ')}.",
        "grade": grade,
        "thrive": THRIVE,
        "caller": {"name": "Loadtest Caller", "phone": f"07700 9{call.place % 100000:05d}", "callback_consent": True},
    }


async def surge(options: Options, recorder: Recorder) -> list[str]:
    """The record day at ``factor`` times its pace, from ``start_hour``, for ``duration`` seconds."""
    handlers = options.clients_for("surge")
    day_seconds = options.duration * options.factor
    calls = day_window(record_day(options.seed), options.start_hour, day_seconds)
    run_id = secrets.token_hex(4)
    recorder.facts.update(
        record_day_calls=RECORD_DAY_CALLS,
        average_day_calls=AVERAGE_DAY_CALLS,
        factor=options.factor,
        start_hour=options.start_hour,
        day_minutes_replayed=day_seconds / 60,
        calls_due=len(calls),
        calls_per_minute_due=len(calls) / options.duration * 60 if options.duration else 0,
        call_handlers=handlers,
        dispatchers=options.dispatchers,
        poll_seconds=options.poll_seconds,
    )
    async with Client(options.base_url, options.token, handlers + options.dispatchers + 2, recorder) as http:
        categories = await _categories(http)
        places = await _places(http)
        recorder.status = "running"
        done = asyncio.Event()
        opened: list[str] = []

        async def handle(pair: tuple[float, Call]) -> None:
            call = pair[1]
            body = incident_body(call, categories, places)
            await http.request(
                "check duplicates",
                "GET",
                "/api/v1/incidents/duplicates",
                params={"category": body["category"], "lat": body["lat"], "lon": body["lon"]},
            )
            answer = await http.request(
                "open incident",
                "POST",
                "/api/v1/incidents",
                json_body=body,
                headers={"Idempotency-Key": f"loadtest-{run_id}-{call.n}-{int(pair[0])}"},
            )
            if not answer.ok:
                return
            incident = answer.json().get("incident") or {}
            if incident.get("id"):
                opened.append(incident["id"])
            if call.regrade and incident.get("id"):
                grade = str(max(1, int(incident.get("grade") or body["grade"] or 2) - 1))
                await http.request(
                    "re-grade",
                    "POST",
                    f"/api/v1/incidents/{incident['id']}/assessments",
                    json_body={"grade": grade, "thrive": THRIVE, "reason": "the caller rang back"},
                )

        async def dispatcher(n: int) -> None:
            await asyncio.sleep(options.poll_seconds * n / max(1, options.dispatchers))  # staggered, as people are
            while not done.is_set():
                began = time.perf_counter()
                answer = await http.request("poll queue", "GET", "/api/v1/incidents")
                queue = answer.json() if answer.ok else []
                if isinstance(queue, list) and queue:
                    await http.request("open incident detail", "GET", f"/api/v1/incidents/{queue[0]['id']}")
                wait = options.poll_seconds - (time.perf_counter() - began)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), max(0.0, wait))

        watchers = [asyncio.create_task(dispatcher(n)) for n in range(options.dispatchers)]
        began = time.perf_counter()
        try:
            dropped = await paced(
                calls,
                handlers,
                lambda pair: pair[0] / options.factor,
                handle,
                recorder,
                stop_after=options.duration * 3 + 10,
            )
            await asyncio.sleep(max(0.0, options.duration - (time.perf_counter() - began)))  # the dispatchers' rest
        finally:
            done.set()
            await asyncio.gather(*watchers, return_exceptions=True)
    recorder.facts["incidents_opened"] = len(opened)
    notes = []
    if dropped:
        notes.append(f"{dropped} calls were never sent: the server fell too far behind")
    return notes


# ---------------------------------------------------------------- scenario: live screens


@dataclass
class _Tracker:
    device: str
    lat: float
    lon: float
    sent: list[bool | None] = field(default_factory=list)  # per fix: accepted? (None: no answer yet)


@dataclass
class _Screen:
    last_seq: dict[str, int] = field(default_factory=dict)
    delivered: Counter = field(default_factory=Counter)
    connected: bool = False  # ever connected (its deliveries count)
    open: bool = False  # connected now


class _Feed:
    """Fixes sent and their deliveries to each screen: a fix's key is its latitude,
    unique across the run, which the frame carries back as it was sent."""

    def __init__(self) -> None:
        self.by_lat: dict[float, tuple[_Tracker, int, float]] = {}
        self.parsed: dict[str, list[float]] = {}  # frame text -> latitudes of its moves (frames are shared)

    def key(self, lat: float) -> float:
        """A latitude near ``lat`` that no fix of this run has used."""
        lat = round(lat, 7)
        while lat in self.by_lat:
            lat = round(lat + 1e-7, 7)
        return lat

    def moves(self, text: str) -> list[float]:
        found = self.parsed.get(text)
        if found is None:
            if len(self.parsed) > 256:
                self.parsed.clear()
            found = []
            try:
                message = json.loads(text)
            except ValueError:
                message = {}
            if isinstance(message, dict) and message.get("type") == "frame":
                for event in message.get("events", []):
                    if event.get("name") == "UnitMoved" and isinstance(event.get("data", {}).get("lat"), float):
                        found.append(event["data"]["lat"])
            self.parsed[text] = found
        return found


async def _trackers(http: Client, options: Options, recorder: Recorder) -> list[_Tracker]:
    """The trackers to move: ``options.devices``, or demo-<CALLSIGN> for each unit of the
    token's force (an explicit ``demo-SK11`` starts where unit SK11 is). Each sends one fix
    first (counted under "setup: first fix"); those refused are left out of the run."""
    answer = await http.request("setup: units", "GET", "/api/v1/units")
    units = answer.json() if answer.ok and isinstance(answer.json(), list) else []
    if options.devices:
        where = {u["call_sign"]: (u.get("lat"), u.get("lon")) for u in units}
        candidates = [(d, *where.get(d.split("-", 1)[-1], (None, None))) for d in options.devices]
    else:
        candidates = [(DEVICE_PATTERN.format(call_sign=u["call_sign"]), u.get("lat"), u.get("lon")) for u in units]
    rng = random.Random(options.seed)
    trackers = []
    refused: Counter = Counter()
    for device, lat, lon in candidates:
        if lat is None or lon is None:
            lat, lon = rng.choice(FALLBACK_PLACES)
        tracker = _Tracker(device, lat, lon)
        first = await http.request("setup: first fix", "GET", "/ingest/osmand", params=_fix_params(tracker, lat, lon))
        if first.ok:
            trackers.append(tracker)
        else:
            refused[first.error] += 1
    recorder.facts.update(trackers=len(trackers), trackers_refused=dict(refused))
    return trackers


def _fix_params(tracker: _Tracker, lat: float, lon: float) -> dict[str, str]:
    return {
        "id": tracker.device,
        "lat": repr(lat),
        "lon": repr(round(lon, 7)),
        "timestamp": datetime.now(UTC).isoformat(),
        "speed": "8.5",
    }


async def _settle(screens: list[_Screen], trackers: list[_Tracker], sockets: set, seconds: float) -> None:
    """Wait (up to ``seconds``) until every open screen has every tracker's last accepted fix."""
    deadline = time.perf_counter() + seconds
    last = {t.device: max((n for n, ok in enumerate(t.sent) if ok), default=-1) for t in trackers}
    while time.perf_counter() < deadline and sockets:
        waiting = any(
            screen.last_seq.get(device, -1) < seq for screen in screens if screen.open for device, seq in last.items()
        )
        if not waiting:
            return
        await asyncio.sleep(0.05)


async def live(options: Options, recorder: Recorder) -> list[str]:
    """Screens on /ws/live while fixes stream in through /ingest/osmand for ``duration``
    seconds at ``rate`` fixes a second (default: every tracker each 5 s)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    wanted = options.clients_for("live")
    feed = _Feed()
    ws_url = "ws" + options.base_url.removeprefix("http") + "/ws/live"
    headers = {"Authorization": f"Bearer {options.token}"} if options.token else {}
    stop = asyncio.Event()
    screens = [_Screen() for _ in range(wanted)]
    sockets: set = set()
    connecting = recorder.measure("screen connect")
    deliveries = recorder.measure("frame delivery")
    frames = Counter()
    gate = asyncio.Semaphore(50)  # screens open at most 50 at a time, as after a restart

    async def watch(screen: _Screen) -> None:
        """Connect (again after a drop, as a screen does) and take frames until stopped."""
        while not stop.is_set():
            async with gate:
                began = time.perf_counter()
                try:
                    socket = await connect(
                        ws_url,
                        additional_headers=headers,
                        max_size=None,
                        ping_interval=None,  # as a browser: the server pings, the client answers
                        open_timeout=options.timeout,
                        user_agent_header="bluelamp-loadtest",
                    )
                except InvalidStatus as refused:  # a refused screen stays refused: counted once
                    connecting.fail(error_kind(refused.response.status_code, refused.response.body))
                    return
                except Exception as exc:  # no answer, a reset, a timeout: counted, not raised
                    connecting.fail(f"no answer ({type(exc).__name__})")
                    return
                sockets.add(socket)
                try:
                    await asyncio.wait_for(socket.recv(), options.timeout)  # the snapshot
                except Exception as exc:
                    connecting.fail(f"no snapshot ({type(exc).__name__})")
                    sockets.discard(socket)
                    await socket.close()
                    return
            connecting.add((time.perf_counter() - began) * 1000)
            screen.connected = screen.open = True
            try:
                # The server may close this screen: its missed fixes are counted from last_seq.
                with contextlib.suppress(ConnectionClosed):
                    async for text in socket:
                        now = time.perf_counter()
                        frames["frames"] += 1
                        for lat in feed.moves(text):
                            sent = feed.by_lat.get(lat)
                            if sent is None:
                                continue  # a move from someone else (the simulator)
                            tracker, seq, at = sent
                            deliveries.add((now - at) * 1000)
                            screen.delivered[tracker.device] += 1
                            screen.last_seq[tracker.device] = max(seq, screen.last_seq.get(tracker.device, -1))
            finally:
                sockets.discard(socket)
                screen.open = False
            if not stop.is_set():  # the server ended the feed: a slow client, a restart
                close = socket.close_rcvd
                kind = f"{close.code} {close.reason}".strip() if close else "closed without a close frame"
                recorder.measure("screen dropped").fail(kind)

    async with Client(options.base_url, options.token, options.senders + 2, recorder) as http:
        trackers = await _trackers(http, options, recorder)
        watchers = [asyncio.create_task(watch(screen)) for screen in screens]
        while connecting.count < wanted and not all(w.done() for w in watchers):
            await asyncio.sleep(0.05)  # every screen has its snapshot (or was refused) before fixes start
        recorder.status = "running"
        rate = options.rate or len(trackers) / FIX_SECONDS_PER_UNIT
        senders = max(1, min(options.senders, len(trackers)))
        recorder.facts.update(screens=wanted, fixes_per_second=rate, senders=senders)
        if trackers and rate > 0:
            # Each tracker belongs to one sender, so that its fixes go in order, as from one phone.
            groups = [trackers[n::senders] for n in range(senders)]
            rng = random.Random(options.seed)

            async def sender(n: int) -> None:
                start = time.perf_counter()
                group = groups[n]
                for k, due in enumerate(range(n, int(rate * options.duration), senders)):
                    wait = due / rate - (time.perf_counter() - start)
                    if wait > 0:
                        await asyncio.sleep(wait)
                    else:
                        recorder.late(-wait)
                    tracker = group[k % len(group)]
                    tracker.lat += rng.gauss(0, 0.0004)
                    tracker.lon += rng.gauss(0, 0.0006)
                    lat = feed.key(tracker.lat)
                    seq = len(tracker.sent)
                    tracker.sent.append(None)
                    feed.by_lat[lat] = (tracker, seq, time.perf_counter())
                    fix = _fix_params(tracker, lat, tracker.lon)
                    tracker.sent[seq] = (await http.request("send fix", "GET", "/ingest/osmand", params=fix)).ok

            await asyncio.gather(*(sender(n) for n in range(senders)))
            await _settle(screens, trackers, sockets, SETTLE_SECONDS)
        else:
            await asyncio.sleep(options.duration)
        stop.set()
        for socket in list(sockets):
            await socket.close()
        await asyncio.gather(*watchers, return_exceptions=True)

    expected = superseded = missed = 0
    for screen in (s for s in screens if s.connected):
        for tracker in trackers:
            accepted = sum(1 for ok in tracker.sent if ok)
            upto = sum(1 for ok in tracker.sent[: screen.last_seq.get(tracker.device, -1) + 1] if ok)
            expected += accepted
            superseded += upto - screen.delivered[tracker.device]
            missed += accepted - upto
    recorder.facts.update(
        screens_connected=connecting.ok,
        frames_received=frames["frames"],
        fixes_accepted=sum(1 for t in trackers for ok in t.sent if ok),
        deliveries_expected=expected,
        deliveries=deliveries.ok,
        deliveries_superseded=superseded,
        deliveries_missed=missed,
    )
    notes = [
        "a fix is timed from just before its request to each screen's receipt of the frame carrying it; "
        "frames batch changes over BLUELAMP_LIVE_FEED_INTERVAL_MS (250 ms), so a steady stream waits up to "
        "that long by design; a superseded fix was merged into a later move of the same unit in one frame"
    ]
    if not trackers:
        notes.append("no tracker accepted a fix: pass --devices, or run against the demo force")
    return notes


# ---------------------------------------------------------------- scenario: one URL


async def replay_url(options: Options, recorder: Recorder) -> list[str]:
    """GET ``options.url`` from ``clients`` clients for ``duration`` seconds: back to back,
    or ``rate`` requests a second shared between them."""
    clients = options.clients_for("url")
    url = urljoin(options.base_url + "/", options.url) if "://" not in options.url else options.url
    name = "GET " + (urlsplit(url).path or "/")
    recorder.facts.update(url=url, rate=options.rate)
    recorder.status = "running"
    async with Client(options.base_url, options.token, clients, recorder) as http:
        if options.rate:
            total = int(options.rate * options.duration)

            async def one(_n: int) -> None:
                await http.request(name, "GET", url)

            await paced(range(total), clients, lambda n: n / options.rate, one, recorder, options.duration * 3 + 10)
        else:
            deadline = time.perf_counter() + options.duration

            async def loop() -> None:
                while time.perf_counter() < deadline:
                    await http.request(name, "GET", url)

            await asyncio.gather(*(loop() for _ in range(clients)))
    return []


def run_sync(coroutine):
    """Run a coroutine to its end from synchronous code, as ``asyncio.run`` does, also in a
    thread whose event loop is already running (a program that embeds Playwright's or
    another sync API): then it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="loadtest") as pool:
        return pool.submit(asyncio.run, coroutine).result()
