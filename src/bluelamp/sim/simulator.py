"""The simulator: a living force driven through Bluelamp's public interfaces.

Calls arrive on the hour-of-week curve (``sim_calls``) and go in through the incidents API
as a call handler would put them (THRIVE and a grade); with auto-dispatch the simulator
assigns the recommended units, otherwise it leaves that to the person at the screen.
Units patrol their towns and drive to incidents (``sim_units``), reporting positions
through the real OsmAnd ingest; they acknowledge, arrive, stay a while, record crimes
with victims, clear; the incidents close. Now and then an officer presses the emergency
button (``alarm=sos`` on the ingest, as a phone would).

It is a discrete-event simulation in simulated time: every action is an event at a
simulated second, taken from a heap in order. Randomness comes from seeded streams
(the calls, each call's plan, each unit, the emergencies), never from the wall clock,
so a seed, a start time and a speed give one sequence of calls and decisions. The
server's own clock stays the wall clock: the simulator only compresses the time between
its requests by ``speed``.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bluelamp.clock import LONDON
from bluelamp.sim.sim_calls import (
    CALLS_PER_YEAR,
    TOWN_RADIUS_KM,
    Call,
    CallGenerator,
    Plan,
    offset,
    plan_for,
    plan_for_incident,
)
from bluelamp.sim.sim_client import Api, ApiError, Fix, Unreachable
from bluelamp.sim.sim_units import Leg, Router, patrol_radius_km, patrol_speed, road_like
from bluelamp.tracking.index import haversine_km

log = logging.getLogger(__name__)

# What the simulator's user must be allowed to do (docs/permissions.md): take calls,
# dispatch and close, change units' status, record crimes and victims.
NEEDED_ACTIONS = (
    "unit.read",
    "unit.status",
    "incident.create",
    "incident.update",
    "incident.dispatch",
    "incident.close",
    "crime.record",
    "person.write",
    "emergency.acknowledge",
)
COMMITTED = frozenset({"assigned", "en_route", "at_scene", "busy", "transporting", "at_hospital"})
DEPLOYABLE = frozenset({"available", "refreshments"})
FREE = frozenset({"patrol", "pause", "idle", "break"})  # what the simulator has a free unit doing
ACTIVE_INCIDENT = ("open", "dispatched", "at_scene", "scheduled")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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


class Simulator:
    """One simulated force against one Bluelamp server."""

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

    # ------------------------------------------------------------ set-up

    def connect(self) -> None:
        """Check who we are and what we may do; read the force's stations, units and open
        incidents (an earlier run's are taken on). One-line ``SimFailed`` on any problem."""
        try:
            me = self.api.get("/api/v1/me")
        except Unreachable as exc:
            raise SimFailed(f"cannot reach Bluelamp at {self.api.url} ({exc})") from None
        except ApiError as exc:
            if exc.status == 401:
                raise SimFailed(f"Bluelamp at {self.api.url} refused the token: {exc.detail} ({exc.code})") from None
            raise SimFailed(f"Bluelamp at {self.api.url} answered {exc.status}: {exc.detail}") from None
        missing = [a for a in NEEDED_ACTIONS if a not in me.get("actions", [])]
        if missing:
            raise SimFailed(
                f"{me.get('username')} may not {', '.join(missing)}: the simulator needs the call_handler, "
                "dispatcher and response_officer roles"
            )
        if not me.get("force_id"):
            raise SimFailed(f"{me.get('username')} belongs to no force: the simulator plays one force")
        self.username = me["username"]
        self.stations = self.api.get("/api/v1/stations")
        for row in self.api.get("/api/v1/units"):
            self._add_unit(row)
            self._initial[row["id"]] = row
        if not self.units:
            raise SimFailed(f"{me['force_id']} has no units to simulate: run `bluelamp demo` to seed them")
        self._take_on_incidents()

    def _add_unit(self, row: dict) -> SimUnit:
        where = (row["lat"], row["lon"]) if row.get("lat") is not None else None
        station = self._nearest_station(where) if where else None
        home = (station["lat"], station["lon"]) if station else where or (52.85, -2.0)
        town_radius = TOWN_RADIUS_KM.get(station["name"], 2.5) if station else 2.5
        unit = SimUnit(
            id=row["id"],
            call_sign=row["call_sign"],
            unit_type=row["unit_type"],
            device_id=f"{self.config.device_prefix}{row['call_sign']}",
            home=home,
            radius_km=patrol_radius_km(row["unit_type"], town_radius),
            rnd=random.Random(f"{self.config.seed}:unit:{row['call_sign']}"),
            leg=Leg.still(where or home, self.t),
            status=row["status"],
        )
        self.units[unit.id] = unit
        return unit

    def _nearest_station(self, where: tuple[float, float]) -> dict | None:
        if not self.stations:
            return None
        return min(self.stations, key=lambda s: haversine_km(where[0], where[1], s["lat"], s["lon"]))

    def _take_on_incidents(self) -> None:
        """Open incidents an earlier run made are this run's to finish."""
        attended = {row.get("incident_id") for row in self._initial.values() if row["status"] in COMMITTED}
        for row in self.api.call("GET", "/api/v1/incidents", params={"status": list(ACTIVE_INCIDENT), "limit": 1000}):
            incident = self._remember(row)
            if not incident.owned:
                continue
            if row["status"] in ("dispatched", "at_scene") and row["id"] not in attended:
                # Its units have all gone: close it if one got there, else send another.
                if row["status"] == "at_scene":
                    incident.arrived_any = True
                    incident.state = "closing"
                    self._at(self.t + 60, "close", incident.id)
                else:
                    self._wait_for_units(incident)
                continue
            if row["status"] == "open":
                if incident.grade in ("1", "2", "3"):
                    self._wait_for_units(incident)
                else:
                    incident.state = "phone"
                    self._at(self.t + 60, "phone", incident.id)
            elif row["status"] == "scheduled":
                incident.state = "scheduled"  # its slot is not known here: visit within a few hours
                self._at(self.t + 3600 * (1 + incident.plan.phone_minutes / 10), "visit", incident.id)
            elif row["status"] == "at_scene":
                incident.arrived_any = True
                incident.state = "dispatched"
            else:
                incident.state = "dispatched"

    def _remember(self, row: dict, call: Call | None = None) -> SimIncident:
        found = self.incidents.get(row["id"])
        if found is not None:
            return found
        owned = row.get("created_by") == self.username
        plan = (
            plan_for(self.config.seed, call, self.config.crime_factor)
            if call
            else plan_for_incident(
                self.config.seed, row["id"], row.get("category", ""), row["grade"], row.get("description", "")
            )
        )
        incident = SimIncident(
            id=row["id"],
            reference=row["reference"],
            grade=row["grade"],
            category=row.get("category", ""),
            lat=row["lat"],
            lon=row["lon"],
            owned=owned,
            plan=plan,
            call=call,
            needed=plan.units if row["grade"] in ("1", "2") else 1,
            created_t=self.t,
        )
        self.incidents[incident.id] = incident
        return incident

    # ------------------------------------------------------------ running

    def begin(self) -> None:
        """Schedule the first call, the first reports, patrols, polls and emergencies."""
        if self._started:
            return
        self._started = True
        self._next_call()
        parked: dict[tuple[float, float], int] = {}
        for n, unit in enumerate(sorted(self.units.values(), key=lambda u: u.call_sign)):
            # Cars at one station stand side by side, a few metres apart, not on one point:
            # the recommendations then rank them the same way on every run.
            here = self._where(unit)
            spot = (round(here[0], 5), round(here[1], 5))
            parked[spot] = parked.get(spot, -1) + 1
            if parked[spot]:
                unit.leg = Leg.still(offset(here[0], here[1], 0.0, 0.006 * parked[spot]), self.t)
            self._start_reports(unit, self.t + n * 0.01)
            row = self._initial.get(unit.id, {})
            if unit.status in COMMITTED and row.get("incident_id"):
                self._follow(unit, row)  # on an incident since an earlier run: carry on
            else:
                self._settle(unit, first=True)
        self._at(self.t + self.config.poll_every, "poll")
        self._at(self.t + 60, "dispatch_sweep")
        self._next_emergency()

    def advance(self, until: float, stop: threading.Event | None = None) -> None:
        """Run every event up to simulated second ``until``, in order (or until ``stop`` is
        set); reports that fall between two actions go out together (a few at a time),
        before the later action."""
        self.begin()
        pending: list[tuple[SimUnit, Fix]] = []
        while self._heap and self._heap[0].t <= until:
            if stop is not None and stop.is_set():
                break
            event = heapq.heappop(self._heap)
            self.t = max(self.t, event.t)
            if event.kind == "report":
                fix = self._on_report(*event.args)
                if fix is not None:
                    pending.append(fix)
                continue
            try:
                self._flush(pending)
                pending = []
                getattr(self, f"_on_{event.kind}")(*event.args)
            except Unreachable:
                heapq.heappush(self._heap, event)  # try again once the server is back
                raise
            except ApiError as exc:
                if exc.status == 401:
                    raise SimFailed(f"Bluelamp stopped accepting the token: {exc.detail} ({exc.code})") from None
                self._error(f"{event.kind}: {exc}")
        self._flush(pending)
        if stop is None or not stop.is_set():
            self.t = max(self.t, until)

    def run(
        self,
        *,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        on_tick: Callable[[Simulator], None] | None = None,
        tick_wall_s: float = 0.25,
        reconnect_wall_s: float = 30.0,
    ) -> None:
        """Run in real time × speed until ``duration_s`` (simulated) or ``stop``."""
        stop = stop or threading.Event()
        self.begin()
        origin_wall, origin_t = self.wall(), self.t
        while not stop.is_set():
            target = origin_t + (self.wall() - origin_wall) * self.config.speed
            if duration_s is not None:
                target = min(target, duration_s)
            try:
                self.advance(target, stop)
            except Unreachable as exc:
                if not self.api.wait_until_alive(reconnect_wall_s, stop):
                    if stop.is_set():
                        return
                    raise SimFailed(f"lost contact with Bluelamp at {self.api.url} ({exc})") from None
                origin_wall, origin_t = self.wall(), self.t  # carry on from where we were
                continue
            if on_tick:
                on_tick(self)
            if duration_s is not None and self.t >= duration_s:
                return
            stop.wait(tick_wall_s)

    # ------------------------------------------------------------ the heap

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

    # ------------------------------------------------------------ calls

    def _next_call(self) -> None:
        call = self.generator.next_call()
        self._at((call.at - self.start).total_seconds(), "call", call)

    def _on_call(self, call: Call) -> None:
        self._next_call()
        self.stats.calls += 1
        self._note("call", call.number, call.category, call.grade, call.source)
        original = self.by_call.get(call.duplicate_of) if call.duplicate_of else None
        if original is not None and original.state not in ("closed", "closing"):
            offered = self.api.get("/api/v1/incidents/duplicates", category=call.category, lat=call.lat, lon=call.lon)
            if any(d["incident"]["id"] == original.id for d in offered):
                if self._intake(call, attach_to=original.id) is not None:
                    self.stats.attached += 1
                    self._note("attach", call.number, original.label)
                return
        answer = self._intake(call)
        if answer is None:
            return
        row = answer["incident"]
        if not answer.get("created", True):
            return  # the same call was received before (a rerun with the same seed and start)
        incident = self._remember(row, call)
        incident.owned = True
        self.by_call[call.number] = incident
        self.stats.incidents += 1
        if incident.grade in ("1", "2"):
            self._wait_for_units(incident)
        elif incident.grade == "3":
            incident.state = "scheduled"
            self._at(self._visit_time(answer.get("appointment"), row["created_at"]), "visit", incident.id)
        else:
            incident.state = "phone"
            self._at(self.t + incident.plan.phone_minutes * 60, "phone", incident.id)

    def _intake(self, call: Call, attach_to: str | None = None) -> dict | None:
        body = {
            "source": call.source,
            "category": call.category,
            "lat": call.lat,
            "lon": call.lon,
            "address": call.address,
            "description": call.description,
            "qualifiers": list(call.qualifiers),
            "grade": call.grade,
            "thrive": call.thrive,
            "caller": {"name": call.caller_name, "phone": call.caller_phone, "callback_consent": call.callback_consent},
            "attach_to": attach_to,
        }
        try:
            return self.api.post("/api/v1/incidents", body, headers={"Idempotency-Key": call.key(self.config.seed)})
        except ApiError as exc:
            self._error(f"call {call.number} ({call.category}) refused: {exc.detail}")
            return None

    def _visit_time(self, appointment: dict | None, created_at: str) -> float:
        """A grade 3 visit in the slot the server booked, read on the simulated clock: a slot
        starting two hours after the call is twenty simulated hours away at speed 10. Counted
        in whole hours from the call, so that a rerun a few seconds later visits at the same
        simulated time (the server books slots on its own, real clock)."""
        if not appointment:
            return self.t + 24 * 3600
        starts = _parse_time(appointment["starts_at"])
        hours = math.ceil(max(0.0, (starts - _parse_time(created_at)).total_seconds()) / 3600)
        return self.t + max(1, hours) * 3600 * self.config.speed

    def _on_visit(self, incident_id: str) -> None:
        incident = self.incidents.get(incident_id)
        if incident and incident.state == "scheduled":
            self._wait_for_units(incident)

    def _on_phone(self, incident_id: str) -> None:
        """Grade 4: dealt with by phone (a crime recorded by phone when there is one), resolved, closed."""
        incident = self.incidents.get(incident_id)
        if incident is None or incident.state != "phone":
            return
        if incident.plan.crime:
            self._record_crime(incident)
        self.api.post(
            f"/api/v1/incidents/{incident.id}/status",
            {"status": "resolved", "reason": "resolved by phone without deployment"},
        )
        self.stats.resolved_by_phone += 1
        self._close(incident)

    # ------------------------------------------------------------ dispatch

    def _wait_for_units(self, incident: SimIncident) -> None:
        incident.state = "waiting"
        incident.tried_epoch = -1
        self._want_dispatch()

    def _want_dispatch(self) -> None:
        if self.config.auto_dispatch and not self._dispatch_pending:
            self._dispatch_pending = True
            self._at(self.t, "dispatch")

    def _on_dispatch_sweep(self) -> None:
        self._at(self.t + 60, "dispatch_sweep")
        self.epoch += 1  # units move: a minute on, the recommendations may differ
        self._want_dispatch()
        if not self.config.journal and len(self.incidents) > 2000:  # a long run forgets what is long closed
            old = [i.id for i in self.incidents.values() if i.state == "closed" and i.created_t < self.t - 6 * 3600]
            for incident_id in old:
                incident = self.incidents.pop(incident_id)
                if incident.call is not None:
                    self.by_call.pop(incident.call.number, None)

    def _on_dispatch(self) -> None:
        """Auto-dispatch: for each incident waiting (grade, then age), send the recommended
        units that are free, up to the number the incident needs."""
        self._dispatch_pending = False
        if not self.config.auto_dispatch:
            return
        waiting = sorted(
            (i for i in self.incidents.values() if i.owned and i.state == "waiting"),
            key=lambda i: (i.grade, i.created_t),
        )
        asked = 0
        for incident in waiting:
            if asked >= 12 or not any(self._free(u) for u in self.units.values()):
                return  # the rest wait for the next unit to come free, or the next sweep
            if incident.tried_epoch == self.epoch:
                continue
            incident.tried_epoch = self.epoch
            asked += 1
            self._assign_recommended(incident)

    @staticmethod
    def _free(unit: SimUnit) -> bool:
        return unit.activity in FREE and unit.status in DEPLOYABLE

    def _assign_recommended(self, incident: SimIncident) -> None:
        try:
            found = self.api.get(f"/api/v1/incidents/{incident.id}/recommendations")
        except ApiError as exc:
            if exc.status in (404, 409):
                incident.state = "closed"  # no longer ours to dispatch (closed or merged by a person)
                return
            raise
        for rec in found["recommendations"]:
            if len(incident.assigned) >= incident.needed:
                break
            unit = self.units.get(rec["unit_id"])
            if rec["committed"] or unit is None or unit.id in incident.assigned or not self._free(unit):
                continue
            try:
                self.api.post(
                    f"/api/v1/incidents/{incident.id}/assignments",
                    {"unit_id": unit.id, "recommended_rank": rec["rank"], "eta_seconds": rec["eta_seconds"]},
                )
            except ApiError as exc:
                self._error(f"assigning {unit.call_sign} to {incident.reference}: {exc.detail}")
                continue
            self.stats.assigned += 1
            self._note("assign", incident.label, unit.call_sign, rec["rank"])
            unit.status = "assigned"
            incident.assigned.add(unit.id)
            self._start_job(unit, incident)
        if incident.assigned:
            incident.state = "dispatched"

    # ------------------------------------------------------------ a unit's job

    def _start_job(self, unit: SimUnit, incident: SimIncident) -> None:
        """Assigned: the crew acknowledges after a little while and sets off."""
        self._new_activity(unit, "assigned")
        unit.incident_id = incident.id
        first = len(incident.assigned) <= 1
        delay = incident.plan.acknowledge_s if first else unit.rnd.uniform(10, 60)
        self._at(self.t + delay, "acknowledge", unit.id, incident.id, unit.token)

    def _on_acknowledge(self, unit_id: str, incident_id: str, token: int) -> None:
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/acknowledge")
        unit.status = "en_route"
        self._drive(unit, incident)

    def _drive(self, unit: SimUnit, incident: SimIncident) -> None:
        self._new_activity(unit, "en_route")
        here = self._where(unit)
        unit.leg = self.router.drive(
            here, (incident.lat, incident.lon), unit.unit_type, incident.grade, self.t, unit.rnd
        )
        self._report_soon(unit)
        self._at(unit.leg.end, "arrive", unit.id, incident.id, unit.token)

    def _on_arrive(self, unit_id: str, incident_id: str, token: int) -> None:
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        unit.leg = Leg.still((incident.lat, incident.lon), self.t)
        self._flush([self._fix(unit)])  # the server sees the unit at the scene before it says so
        self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/arrive")
        self.stats.arrived += 1
        unit.status = "at_scene"
        first = not incident.arrived_any
        incident.arrived_any = True
        minutes = incident.plan.scene_minutes if first else incident.plan.scene_minutes * unit.rnd.uniform(0.4, 0.9)
        self._on_scene(unit, incident, self.t + minutes * 60)

    def _on_scene(self, unit: SimUnit, incident: SimIncident, until: float) -> None:
        self._new_activity(unit, "at_scene")
        unit.incident_id = incident.id
        unit.scene_until = until
        self._at(until, "clear", unit.id, incident.id, unit.token)

    def _on_clear(self, unit_id: str, incident_id: str, token: int) -> None:
        """The work at the scene is done: a crime recorded where there is one, the unit released."""
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        if incident.owned and incident.plan.crime and incident.crime_reference is None:
            self._record_crime(incident)
        try:
            self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/release")
        except ApiError as exc:
            if exc.status != 409:
                raise
            self._error(f"releasing {unit.call_sign} from {incident.reference}: {exc.detail}")
        unit.status = "available"
        incident.assigned.discard(unit.id)
        unit.incident_id = None
        self._patrol(unit)
        self.epoch += 1
        self._want_dispatch()
        if incident.owned and not incident.assigned and incident.state == "dispatched":
            incident.state = "closing"
            self._at(self.t + unit.rnd.uniform(60, 300), "close", incident.id)

    def _on_close(self, incident_id: str) -> None:
        incident = self.incidents.get(incident_id)
        if incident is not None and incident.state == "closing":
            self._close(incident)

    def _close(self, incident: SimIncident) -> None:
        """Close with the plan's result; call-back tasks opened on the way are closed first."""
        plan = incident.plan
        result = "crime_recorded" if incident.crime_reference else plan.result
        if result == "crime_recorded" and not incident.crime_reference:
            result = "resolved"
        body = {
            "closing_category": incident.category,
            "result": result,
            "summary": plan.summary,
            "crime_reference": incident.crime_reference,
        }
        incident.close_attempts += 1
        try:
            self.api.post(f"/api/v1/incidents/{incident.id}/close", body)
        except ApiError as exc:
            if exc.code == "incident.open_call_backs" and incident.close_attempts < 4:
                for task_id in exc.body.get("tasks", []):
                    self.api.post(f"/api/v1/tasks/{task_id}/close", {"outcome": "caller called back and updated"})
                self._close(incident)
                return
            if exc.code == "incident.appointment_booked" or (
                exc.code == "incident.units_assigned" and incident.close_attempts < 6
            ):
                incident.state = "closing"  # the slot is not over on the server's clock yet, or a unit is still on it
                self._at(self.t + 1800, "close", incident.id)
                return
            incident.state = "closed"
            self._error(f"closing {incident.reference}: {exc.detail}")
            return
        incident.state = "closed"
        self.stats.closed += 1
        self._note("close", incident.label, result)

    def _record_crime(self, incident: SimIncident) -> None:
        """The officer records the crime from the incident, then its victim (a new person)."""
        plan = incident.plan
        answer = self.api.post(
            "/api/v1/crimes",
            {
                "source": "incident",
                "incident_id": incident.id,
                "offence_code": plan.offence,
                "summary": plan.summary[:200],
                "narrative": f"Recorded by the attending officer. {plan.summary}",
            },
        )
        crime = answer["crime"]
        incident.crime_reference = crime["reference"]
        self.stats.crimes += 1
        self._note("crime", incident.label, plan.offence)
        if not plan.victim:
            return
        person = self.api.post(
            "/api/v1/persons",
            {
                "given_names": plan.victim_given,
                "family_name": plan.victim_family,
                "dob_year": plan.victim_birth_year,
                "gender": plan.victim_gender,
                "confirm_new": True,
            },
        )["person"]
        victim = {"person_id": person["id"], "enhanced": plan.enhanced}
        if plan.enhanced:
            victim["enhanced_reason"] = "victim of a serious or domestic offence, or vulnerable"
        self.api.post(f"/api/v1/crimes/{crime['id']}/victims", victim)
        self.stats.victims += 1

    # ------------------------------------------------------------ patrol

    def _settle(self, unit: SimUnit, first: bool = False) -> None:
        """Start a unit on what its status says: patrol when available; parked at a meal
        break, off duty or in an emergency someone else raised."""
        if unit.status == "available":
            self._patrol(unit, pause_first=first)
        else:
            parked = {"refreshments": "break", "off_duty": "off", "emergency": "held"}
            self._new_activity(unit, parked.get(unit.status, "held"))

    def _patrol(self, unit: SimUnit, pause_first: bool = False) -> None:
        self._new_activity(unit, "pause")
        unit.leg = Leg.still(self._where(unit), self.t)
        wait = unit.rnd.uniform(0, 240) if pause_first else unit.rnd.uniform(20, 90)
        self._at(self.t + wait, "patrol_leg", unit.id, unit.token)

    def _on_patrol_leg(self, unit_id: str, token: int) -> None:
        """Drive (or walk) to another point of the beat; stop a while; again."""
        unit = self.units[unit_id]
        if unit.token != token:
            return
        here = self._where(unit)
        if unit.activity == "pause":
            away = haversine_km(*here, *unit.home) > unit.radius_km * 1.3
            distance = unit.radius_km * math.sqrt(unit.rnd.random())
            angle = unit.rnd.uniform(0, 2 * math.pi)
            centre = unit.home
            target = (
                centre[0] + distance * math.cos(angle) / 110.57,
                centre[1] + distance * math.sin(angle) / (111.32 * math.cos(math.radians(centre[0]))),
            )
            points = road_like(here, target, unit.rnd)
            km = sum(haversine_km(*points[i], *points[i + 1]) for i in range(len(points) - 1))
            speed = patrol_speed(unit.unit_type) * (1.3 if away else 1.0)
            unit.activity = "patrol"
            unit.leg = Leg(points, self.t, self.t + max(5.0, km * 1000 / speed))
            self._report_soon(unit)
            self._at(unit.leg.end, "patrol_leg", unit.id, unit.token)
        else:
            unit.activity = "pause"
            unit.leg = Leg.still(here, self.t)
            stop = unit.rnd.uniform(1, 4) if unit.unit_type == "foot_patrol" else unit.rnd.uniform(3, 15)
            self._at(self.t + stop * 60, "patrol_leg", unit.id, unit.token)

    def _new_activity(self, unit: SimUnit, activity: str) -> None:
        here = self._where(unit)
        unit.token += 1
        unit.activity = activity
        unit.leg = Leg.still(here, self.t)

    def _where(self, unit: SimUnit) -> tuple[float, float]:
        lat, lon, _ = unit.leg.at(self.t)
        return lat, lon

    # ------------------------------------------------------------ positions

    def _start_reports(self, unit: SimUnit, at: float) -> None:
        unit.report_token += 1
        unit.next_report = at
        self._at(at, "report", unit.id, unit.report_token)

    def _report_soon(self, unit: SimUnit) -> None:
        """A unit that sets off reports within a moving interval, not a standing one."""
        if unit.next_report > self.t + self.config.moving_every:
            self._start_reports(unit, self.t + 1.0)

    def _on_report(self, unit_id: str, token: int) -> tuple[SimUnit, Fix] | None:
        unit = self.units.get(unit_id)
        if unit is None or unit.report_token != token:
            return None
        moving = unit.leg.moving and unit.leg.start <= self.t < unit.leg.end
        unit.next_report = self.t + (self.config.moving_every if moving else self.config.still_every)
        self._at(unit.next_report, "report", unit.id, token)
        if not unit.tracked:
            return None
        return unit, self._fix(unit)[1]

    def _fix(self, unit: SimUnit, alarm: str | None = None) -> tuple[SimUnit, Fix]:
        lat, lon, bearing = unit.leg.at(self.t)
        battery = None
        if unit.unit_type in ("foot_patrol", "cycle_patrol"):  # a phone, not a vehicle's supply
            battery = max(15.0, 100.0 - (self.t / 3600.0) * 6.0 % 85.0)
        return unit, Fix(
            unit.device_id,
            round(lat, 6),
            round(lon, 6),
            unit.leg.speed_mps(self.t),
            bearing,
            battery=battery,
            alarm=alarm,
        )

    def _flush(self, pending: list[tuple[SimUnit, Fix]]) -> None:
        if not pending:
            return
        results = self.api.report([fix for _, fix in pending])
        for (unit, _), result in zip(pending, results, strict=True):
            if result.ok:
                self.stats.fixes += 1
                continue
            if result.code == "unreachable":
                raise Unreachable(result.detail or "no answer")
            self.stats.fixes_refused += 1
            if result.code == "device.unknown":
                unit.tracked = False  # no tracker registered for it: statuses only
                self._error(f"{unit.call_sign} has no device {unit.device_id}; its positions are not reported")

    # ------------------------------------------------------------ what the server says

    def _on_poll(self) -> None:
        """Read the units as the control room sees them and follow what people changed:
        a unit a dispatcher assigned sets off; one released goes back on patrol."""
        self._at(self.t + self.config.poll_every, "poll")
        rows = self.api.get("/api/v1/units")
        for row in rows:
            unit = self.units.get(row["id"])
            if unit is None:
                unit = self._add_unit(row)
                self._start_reports(unit, self.t)
                self._settle(unit)
                continue
            self._follow(unit, row)
        waiting = [u for u in self.units.values() if u.awaiting_acknowledgement]
        if waiting:
            open_units = {e["unit_id"] for e in self.api.get("/api/v1/emergencies")}
            for unit in waiting:
                if unit.id not in open_units:
                    unit.awaiting_acknowledgement = False
                    self._at(self.t + unit.rnd.uniform(30, 180), "emergency_end", unit.id, unit.token)

    def _follow(self, unit: SimUnit, row: dict) -> None:
        status, incident_id = row["status"], row.get("incident_id")
        unit.status = status
        if unit.activity == "emergency":
            if status == "emergency":
                return
            unit.awaiting_acknowledgement = False  # someone else brought it back
        if status == "off_duty":
            if unit.activity != "off":
                self._leave_job(unit)
                self._settle(unit)
            return
        if status == "emergency":
            if unit.activity != "held":
                self._new_activity(unit, "held")  # pressed on the officer's own phone: stand still
            return
        if status in COMMITTED and incident_id:
            if unit.incident_id == incident_id and unit.activity in ("assigned", "en_route", "at_scene"):
                return
            incident = self._incident(incident_id)
            if incident is None:
                return
            self._leave_job(unit)
            incident.assigned.add(unit.id)
            if incident.state in ("waiting", "scheduled", "new"):
                incident.state = "dispatched"
            self.stats.followed += 1
            self._note("followed", incident.label, unit.call_sign, status)
            if status == "assigned":
                self._start_job(unit, incident)
            elif status == "en_route":
                unit.incident_id = incident.id
                self._drive(unit, incident)
            else:
                incident.arrived_any = True
                self._on_scene(unit, incident, self.t + incident.plan.scene_minutes * 60)
            return
        if status == "refreshments":
            if unit.activity != "break":
                self._leave_job(unit)
                self._new_activity(unit, "break")  # parked for a meal until someone makes it available
            return
        if status == "available" and unit.activity not in ("patrol", "pause"):
            self._leave_job(unit)
            self._patrol(unit)
            self.epoch += 1
            self._want_dispatch()

    def _leave_job(self, unit: SimUnit) -> None:
        """The unit is no longer on the incident the simulator thought (released or diverted by a person)."""
        incident = self.incidents.get(unit.incident_id) if unit.incident_id else None
        unit.incident_id = None
        if incident is None or unit.id not in incident.assigned:
            return
        incident.assigned.discard(unit.id)
        if not incident.owned or incident.assigned or incident.state != "dispatched":
            return
        if incident.arrived_any:
            incident.state = "closing"
            self._at(self.t + 120, "close", incident.id)
        else:
            self._wait_for_units(incident)  # the server put it back on the queue

    def _incident(self, incident_id: str) -> SimIncident | None:
        found = self.incidents.get(incident_id)
        if found is not None:
            return found
        rows = self.api.call("GET", "/api/v1/incidents", params={"status": list(ACTIVE_INCIDENT), "limit": 1000})
        for row in rows:
            if row["id"] not in self.incidents:
                self._remember(row)
        return self.incidents.get(incident_id)

    # ------------------------------------------------------------ the emergency button

    def _next_emergency(self) -> None:
        hours = self.config.emergency_every_hours
        if hours and hours > 0:
            self._at(self.t + self.emergency_rnd.expovariate(1.0 / (hours * 3600)), "emergency")

    def _on_emergency(self) -> None:
        """An officer presses the emergency button on a tracked unit's device."""
        self._next_emergency()
        candidates = sorted(
            (
                u
                for u in self.units.values()
                if u.tracked and u.activity in ("patrol", "pause", "at_scene") and u.status in ("available", "at_scene")
            ),
            key=lambda u: u.call_sign,
        )
        if not candidates:
            return
        unit = self.emergency_rnd.choice(candidates)
        resume = "at_scene" if unit.activity == "at_scene" else "available"
        remaining = max(60.0, unit.scene_until - self.t) if resume == "at_scene" else 0.0
        self._new_activity(unit, "emergency")
        unit.resume_status = resume
        unit.scene_until = remaining
        self._flush([self._fix(unit, alarm="sos")])
        unit.status = "emergency"
        self.stats.emergencies += 1
        self._note("emergency", unit.call_sign, self.t)
        if self.config.auto_dispatch:
            self._at(self.t + self.emergency_rnd.uniform(45, 150), "emergency_acknowledge", unit.id, unit.token)
        else:
            unit.awaiting_acknowledgement = True  # the person at the screen acknowledges it

    def _on_emergency_acknowledge(self, unit_id: str, token: int) -> None:
        unit = self.units[unit_id]
        if unit.token != token:
            return
        for emergency in self.api.get("/api/v1/emergencies"):
            if emergency["unit_id"] == unit.id:
                self.api.post(
                    f"/api/v1/emergencies/{emergency['id']}/acknowledge",
                    {"note": "Officer answered on the radio: safe, assistance not needed (simulated)"},
                )
        self._at(self.t + unit.rnd.uniform(60, 240), "emergency_end", unit.id, unit.token)

    def _on_emergency_end(self, unit_id: str, token: int) -> None:
        """Acknowledged and safe: back to the scene, or back on patrol."""
        unit = self.units[unit_id]
        if unit.token != token or unit.activity != "emergency":
            return
        resume = unit.resume_status or "available"
        self.api.post(f"/api/v1/units/{unit.id}/status", {"status": resume, "reason": "officer safe"})
        unit.status = resume
        incident = self.incidents.get(unit.incident_id) if unit.incident_id else None
        if resume == "at_scene" and incident is not None:
            self._on_scene(unit, incident, self.t + unit.scene_until)
        else:
            self._patrol(unit)

    # ------------------------------------------------------------ for screens

    def summary(self) -> str:
        """One line: simulated time, calls, incidents, units busy, crimes."""
        local = self.now().astimezone(LONDON)
        open_ = sum(1 for i in self.incidents.values() if i.owned and i.state not in ("closed",))
        waiting = sum(1 for i in self.incidents.values() if i.owned and i.state == "waiting")
        busy = sum(1 for u in self.units.values() if u.status in COMMITTED or u.status == "emergency")
        s = self.stats
        text = (
            f"{local:%a %H:%M} ×{self.config.speed:g} | calls {s.calls} | open {open_} ({waiting} waiting) | "
            f"units busy {busy}/{len(self.units)} | crimes {s.crimes} | fixes {s.fixes} | "
            f"auto-dispatch {'on' if self.config.auto_dispatch else 'off'}"
        )
        if s.emergencies:
            text += f" | emergencies {s.emergencies}"
        if s.errors:
            text += f" | errors {s.errors}"
        return text
