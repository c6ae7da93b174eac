"""What the simulator knows and where it stands: the run's configuration, its counters, the
units and incidents as it sees them, and the simulated clock with its queue of events.

``SimWorld`` holds that state for the parts of the simulator, which are mixed into it:
the crews (``sim_crews``), the incidents from call to close (``sim_incidents``), who is
sent where (``sim_dispatch``) and the run itself (``simulator``). Each part schedules an
event with ``_at(t, kind, ...)``; the run calls the part's ``_on_<kind>`` when its time comes.
"""

from __future__ import annotations

import heapq
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bluelamp.sim.sim_calls import CALLS_PER_YEAR, Call, CallGenerator, Plan
from bluelamp.sim.sim_client import Api
from bluelamp.sim.sim_units import Leg, Router

log = logging.getLogger(__name__)

COMMITTED = frozenset({"assigned", "en_route", "at_scene", "busy", "transporting", "at_hospital"})
DEPLOYABLE = frozenset({"available", "refreshments"})
FREE = frozenset({"patrol", "pause", "idle", "break"})  # what the simulator has a free unit doing
ACTIVE_INCIDENT = ("open", "dispatched", "at_scene", "scheduled")


class SimFailed(Exception):
    """The run cannot go on (server gone, token refused); the message is one line."""


@dataclass
class SimConfig:
    """How a run goes. Times are simulated seconds unless they say wall."""

    seed: int = 1
    speed: float = 10.0
    start: datetime | None = None  # simulated start (UTC); default: now
    auto_dispatch: bool = True
    calls_per_year: float = CALLS_PER_YEAR
    report_moving_s: float = 10.0  # a moving unit reports at least this often...
    report_still_s: float = 60.0  # ...a standing one this often
    min_report_wall_s: float = 2.0  # ...but no unit more often than this in real time
    still_report_wall_s: float = 10.0  # a standing unit every this many real seconds at high speed
    poll_s: float | None = None  # between reads of the units list (default: 2 real seconds)
    emergency_every_hours: float = 8.0  # an officer's emergency button, on average
    crime_factor: float = 1.0  # scales each category's chance of a crime
    device_prefix: str = "demo-"  # a unit's tracker is PREFIX + call sign (the demo's trackers)
    router_url: str | None = None  # an OSRM-compatible router for drives to incidents
    journal: bool = False  # keep the decisions (tests)

    @property
    def moving_every(self) -> float:
        return max(self.report_moving_s, self.speed * self.min_report_wall_s)

    @property
    def still_every(self) -> float:
        return max(self.report_still_s, self.speed * self.still_report_wall_s)

    @property
    def poll_every(self) -> float:
        return self.poll_s if self.poll_s is not None else max(10.0, self.speed * 2.0)


@dataclass
class Stats:
    calls: int = 0
    incidents: int = 0
    attached: int = 0
    assigned: int = 0  # units the simulator sent (auto-dispatch)
    followed: int = 0  # units someone else sent, that the simulator drove there
    arrived: int = 0
    crimes: int = 0
    victims: int = 0
    closed: int = 0
    resolved_by_phone: int = 0
    emergencies: int = 0
    fixes: int = 0
    fixes_refused: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class SimUnit:
    id: str
    call_sign: str
    unit_type: str
    device_id: str
    home: tuple[float, float]
    radius_km: float
    rnd: random.Random
    leg: Leg
    status: str
    activity: str = "idle"  # patrol, pause, break, assigned, en_route, at_scene, off, held, emergency
    incident_id: str | None = None
    token: int = 0  # bumped on every change of activity: older events for the unit are void
    report_token: int = 0
    next_report: float = 0.0
    tracked: bool = True
    resume_status: str | None = None  # after an emergency
    scene_until: float = 0.0
    awaiting_acknowledgement: bool = False


@dataclass
class SimIncident:
    id: str
    reference: str
    grade: str
    category: str
    lat: float
    lon: float
    owned: bool  # made by the simulator: it dispatches and closes it
    plan: Plan
    call: Call | None = None
    needed: int = 1
    assigned: set[str] = field(default_factory=set)
    arrived_any: bool = False
    state: str = "new"  # waiting, dispatched, scheduled, phone, closing, closed
    created_t: float = 0.0
    tried_epoch: int = -1
    crime_reference: str | None = None
    close_attempts: int = 0

    @property
    def label(self) -> str:
        return f"call {self.call.number}" if self.call else self.reference


@dataclass(order=True)
class _Event:
    t: float
    seq: int
    kind: str = field(compare=False)
    args: tuple = field(compare=False, default=())


class SimWorld:
    """One simulated force against one Bluelamp server: its state, its clock and its events."""

    def __init__(self, api: Api, config: SimConfig, *, wall: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.config = config
        self.start = (config.start or datetime.now(UTC)).astimezone(UTC)
        self.generator = CallGenerator(config.seed, self.start, config.calls_per_year)
        self.router = Router(config.router_url)
        self.emergency_rnd = random.Random(f"{config.seed}:emergencies")
        self.wall = wall
        self.t = 0.0
        self.stats = Stats()
        self.journal: list[tuple] = []
        self.units: dict[str, SimUnit] = {}
        self.incidents: dict[str, SimIncident] = {}
        self.by_call: dict[int, SimIncident] = {}
        self.username = ""
        self.stations: list[dict] = []
        self.epoch = 0  # bumped whenever a unit frees up: waiting incidents are worth another look
        self._heap: list[_Event] = []
        self._seq = 0
        self._dispatch_pending = False
        self._started = False
        self._initial: dict[str, dict] = {}

    def _at(self, t: float, kind: str, *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Event(t, self._seq, kind, args))

    def now(self) -> datetime:
        """Simulated time."""
        return self.start + timedelta(seconds=self.t)

    def _error(self, text: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = text
        log.info("simulator: %s", text)

    def _note(self, *entry: Any) -> None:
        if self.config.journal:
            self.journal.append(entry)
