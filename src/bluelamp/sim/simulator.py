"""The simulator: a living force driven through Bluelamp's public interfaces.

Calls arrive on the hour-of-week curve (``sim_calls``) and go in through the incidents API
as a call handler would put them (THRIVE and a grade; ``sim_incidents``); with
auto-dispatch the simulator assigns the recommended units, otherwise it leaves that to the
person at the screen and follows what they do (``sim_dispatch``). Units patrol their towns
and drive to incidents (``sim_units``), reporting positions through the real OsmAnd
ingest; they acknowledge, arrive, stay a while, record crimes with victims, clear; the
incidents close. Now and then an officer presses the emergency button (``alarm=sos`` on
the ingest, as a phone would; the crews are ``sim_crews``).

It is a discrete-event simulation in simulated time: every action is an event at a
simulated second, taken from a heap in order. Randomness comes from seeded streams
(the calls, each call's plan, each unit, the emergencies), never from the wall clock,
so a seed, a start time and a speed give one sequence of calls and decisions. The
server's own clock stays the wall clock: the simulator only compresses the time between
its requests by ``speed``. What the run knows, and its heap, are ``sim_world``; this
module connects to the server and runs the events.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable

from bluelamp.clock import LONDON
from bluelamp.sim.sim_calls import offset
from bluelamp.sim.sim_client import ApiError, Fix, Unreachable
from bluelamp.sim.sim_crews import Crews
from bluelamp.sim.sim_dispatch import Dispatching
from bluelamp.sim.sim_incidents import IncidentHandling
from bluelamp.sim.sim_units import Leg
from bluelamp.sim.sim_world import COMMITTED, SimFailed, SimUnit

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


class Simulator(IncidentHandling, Dispatching, Crews):
    """One simulated force against one Bluelamp server."""

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
