"""The live feed: unit positions, status changes and emergencies streamed to the
screens of a force, in batched frames.

``LiveHub.publish`` (a bus subscriber) only appends the event to a thread-safe deque
and wakes the hub's task, so ingest never waits for a screen, whichever thread it
publishes from. The task sends at most one frame per interval: the first change after
a quiet spell goes out at once, later ones wait for the rest of the interval and
travel together, repeated moves of one unit merged into the latest. Each subscriber
has a bounded queue of frames; one that falls behind (its queue full, or a send that
takes too long) is dropped, and its screen reconnects for a fresh snapshot.

The hub is generic: any event with a force id reaches that force's subscribers whom
the ``visible`` hook lets see it (tracking's hook hides units above a viewer's
clearance). A frame is built and serialised once per group of like viewers (force,
clearance, actions) and shared by every subscriber of the group.

The rest of the module is tracking's side of the feed: the snapshot a screen gets on
connecting, the clearance hook, and following events relayed from other processes
into this process's latest-position index; and command and control's side: the
active incident queue in the snapshot, and who may hear of an incident's change.

Incident events (``IncidentChanged``, and any event named ``Incident...``) go only to
viewers of the same force whose roles grant ``incident.read`` and whose clearance
covers the incident's marking. An incident marked need-to-know is visible only to the
users on its access list, and viewers are grouped by force, clearance and actions,
not by user; so the feed never carries such an incident's details: it sends only
``{"incident_id", "need_to_know": true}``, and a screen that wants to know more asks
the server, which answers only those on the list (anyone else gets "not found").
Incident events reach screens without the unit they name (``unit_id``, ``call_sign``):
units travel in unit events, under the unit rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access.policy import Action, Actor, Marking, markings_up_to
from bluelamp.access.service import require
from bluelamp.command import service as command_service
from bluelamp.command.log import changed
from bluelamp.events import Event, EventBus
from bluelamp.relay import Relay, Transport
from bluelamp.tracking import queries
from bluelamp.tracking.index import CAPABILITY_BITS, LatestIndex, UnitState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.command.model import Incident
    from bluelamp.tracking.model import Emergency
    from bluelamp.tracking.runtime import Tracking

log = logging.getLogger(__name__)

# Why a subscription ended (also the WebSocket close reason the screen sees).
SLOW_CLIENT = "live.slow_client"
CLOSED = "closed"
STOPPING = "stopping"

# Events of which only the latest per key matters within one frame. An incident's
# latest change carries its whole queue row, so earlier ones in the frame add nothing.
MERGE_BY = {"UnitMoved": "unit_id", "IncidentChanged": "incident_id"}
INCIDENT_EVENT_PREFIX = "Incident"
UNIT_FIELDS = frozenset({"unit_id", "call_sign"})  # what incident events may name of a unit


@dataclass(frozen=True)
class Viewer:
    """Who a subscription is for, as far as filtering events goes. Subscribers with
    equal viewers get the same frames, built once."""

    force_id: str
    clearance: str = Marking.OFFICIAL.value
    actions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, actor: Actor) -> Viewer:
        return cls(actor.force_id, Marking(actor.clearance).value, frozenset(str(a) for a in actor.actions))


Visible = Callable[[Event, Viewer], bool]


class Subscription:
    """One screen's place in the hub: a bounded queue of frames (serialised JSON)."""

    def __init__(self, hub: LiveHub, viewer: Viewer, limit: int) -> None:
        self.hub = hub
        self.viewer = viewer
        self.reason: str | None = None
        self._frames: asyncio.Queue[str | None] = asyncio.Queue(limit)

    @property
    def ended(self) -> bool:
        return self.reason is not None

    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting; a full queue ends the subscription (slow client)."""
        if self.reason is not None:
            return False
        try:
            self._frames.put_nowait(frame)
        except asyncio.QueueFull:
            self.end(SLOW_CLIENT)
            return False
        return True

    def end(self, reason: str) -> None:
        """Stop this subscription: pending frames are discarded and ``next`` answers None."""
        if self.reason is not None:
            return
        self.reason = reason
        while not self._frames.empty():
            self._frames.get_nowait()
        self._frames.put_nowait(None)
        self.hub._remove(self)

    async def next(self) -> str | None:
        """The next frame, waiting for one; None once the subscription has ended."""
        if self.reason is not None and self._frames.empty():
            return None
        return await self._frames.get()


class LiveHub:
    """Fans bus events out to subscribers in batched, force-scoped frames."""

    def __init__(
        self,
        interval: float,
        *,
        visible: Visible | None = None,
        queue_limit: int = 32,
        send_timeout: float = 5.0,
        merge_by: dict[str, str] | None = None,
    ) -> None:
        self.interval = interval
        self.visible = visible or (lambda event, viewer: True)
        self.queue_limit = queue_limit
        self.send_timeout = send_timeout
        self.merge_by = MERGE_BY if merge_by is None else merge_by
        self.frames_built = 0
        self.dropped = 0
        self._pending: deque[Event] = deque()
        self._groups: dict[Viewer, set[Subscription]] = {}
        self._forces: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake: asyncio.Event | None = None
        self._signalled = False
        self._task: asyncio.Task | None = None
        self._last_flush = float("-inf")

    # -------------------------------------------------------------- life

    def start(self) -> None:
        """Start the hub's task on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._signalled = False
        self._task = self._loop.create_task(self._run(), name="bluelamp-live-hub")

    async def stop(self) -> None:
        """Stop the task and end every subscription."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscribers in list(self._groups.values()):
            for subscription in list(subscribers):
                subscription.end(STOPPING)
        self._loop = None

    @property
    def subscribers(self) -> int:
        return sum(len(s) for s in self._groups.values())

    # -------------------------------------------------------------- publishing

    def publish(self, event: Event) -> None:
        """The bus subscriber: O(1), never blocks, safe from any thread."""
        loop = self._loop
        if loop is None or event.force_id is None or not self._forces.get(event.force_id):
            return
        self._pending.append(event)
        if self._signalled:
            return
        self._signalled = True
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the server is stopping
                loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            delay = self._last_flush + self.interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._signalled = False
            self._last_flush = loop.time()
            try:
                self.flush()
            except Exception:  # a bad event must not stop the feed for everyone
                log.exception("the live hub could not build a frame")

    def flush(self) -> int:
        """Build and queue one frame per group from what is pending; returns frames queued."""
        events: list[Event] = []
        while self._pending:
            events.append(self._pending.popleft())
        if not events:
            return 0
        by_force: dict[str, list[Event]] = {}
        for event in events:
            by_force.setdefault(event.force_id, []).append(event)
        queued = 0
        for viewer, subscribers in list(self._groups.items()):
            force_events = by_force.get(viewer.force_id)
            if not force_events or not subscribers:
                continue
            frame = self.frame(force_events, viewer)
            if frame is None:
                continue
            self.frames_built += 1
            for subscription in list(subscribers):
                if subscription.offer(frame):
                    queued += 1
        return queued

    def frame(self, events: Iterable[Event], viewer: Viewer) -> str | None:
        """One frame (JSON text) of the events this viewer may see, merged; None when empty."""
        items: list[dict[str, Any] | None] = []
        latest: dict[tuple[str, Any], int] = {}
        for event in events:
            try:
                allowed = self.visible(event, viewer)
            except Exception:
                log.exception("live visibility check failed for %s", event.name)
                allowed = False
            if not allowed:
                continue
            key_field = self.merge_by.get(event.name)
            key = (event.name, event.data.get(key_field)) if key_field else None
            if key is not None and key in latest:
                items[latest[key]] = None  # keep only the latest, in the order it happened
            if key is not None:
                latest[key] = len(items)
            items.append({"name": event.name, "data": event.data})
        kept = [item for item in items if item is not None]
        if not kept:
            return None
        return json.dumps({"type": "frame", "events": kept}, default=str, separators=(",", ":"))

    # -------------------------------------------------------------- subscribers

    def subscribe(self, viewer: Viewer) -> Subscription:
        """A new subscription (call on the event loop's thread)."""
        subscription = Subscription(self, viewer, self.queue_limit)
        self._groups.setdefault(viewer, set()).add(subscription)
        self._forces[viewer.force_id] += 1
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        members = self._groups.get(subscription.viewer)
        if members is None or subscription not in members:
            return
        members.discard(subscription)
        if not members:
            del self._groups[subscription.viewer]
        self._forces[subscription.viewer.force_id] -= 1
        if self._forces[subscription.viewer.force_id] <= 0:
            del self._forces[subscription.viewer.force_id]
        if subscription.reason == SLOW_CLIENT:
            self.dropped += 1

    async def pump(self, subscription: Subscription, send: Callable[[str], Awaitable[None]]) -> str:
        """Send a subscription's frames until it ends; a send slower than ``send_timeout``
        ends it as a slow client. Returns why it ended."""
        while True:
            frame = await subscription.next()
            if frame is None:
                return subscription.reason or CLOSED
            try:
                async with asyncio.timeout(self.send_timeout):  # no extra task per send, unlike wait_for
                    await send(frame)
            except TimeoutError:
                subscription.end(SLOW_CLIENT)
                return SLOW_CLIENT


# ------------------------------------------------------------------ tracking's side


def unit_visibility(index: LatestIndex) -> Visible:
    """The hook that keeps a unit's events from viewers whose clearance does not cover
    the unit's marking. An event naming a unit this process does not know is withheld."""

    def visible(event: Event, viewer: Viewer) -> bool:
        unit_id = event.data.get("unit_id")
        if unit_id is None:
            return True
        marking = event.data.get("marking")
        if marking is None:
            state = index.units.get(unit_id)
            if state is None:
                return False
            marking = state.marking
        return Marking(viewer.clearance).covers(marking)

    return visible


def incident_visible(event: Event, viewer: Viewer) -> bool:
    """An incident's change reaches viewers of its force allowed to read incidents whose
    clearance covers its marking; an event without a marking is withheld."""
    if Action.INCIDENT_READ.value not in viewer.actions or event.force_id != viewer.force_id:
        return False
    marking = event.data.get("marking")
    return marking is not None and Marking(viewer.clearance).covers(marking)


def feed_visibility(index: LatestIndex) -> Visible:
    """The live feed's hook: incident events by the incident rule, everything else by the
    unit rule (exactly as before incidents joined the feed)."""
    units = unit_visibility(index)

    def visible(event: Event, viewer: Viewer) -> bool:
        if event.name.startswith(INCIDENT_EVENT_PREFIX):
            return incident_visible(event, viewer)
        return units(event, viewer)

    return visible


def for_screens(event: Event) -> Event:
    """The event as the feed may carry it. A need-to-know incident's change shrinks to its
    id (and marking, for the clearance check), so that screens re-fetch it through an
    access-checked read instead of the feed broadcasting it to everyone in the force. Any
    other incident's change loses the unit it names (a unit sent, arrived, released):
    screens hear of units through unit events, which keep a unit above a viewer's
    clearance from them; an incident event would carry its call sign past that rule."""
    if not event.name.startswith(INCIDENT_EVENT_PREFIX):
        return event
    if event.data.get("need_to_know"):
        data = {
            "incident_id": event.data.get("incident_id"),
            "need_to_know": True,
            "marking": event.data.get("marking"),
        }
        return Event(event.name, event.force_id, data, origin=event.origin)
    if not UNIT_FIELDS.intersection(event.data):
        return event
    data = {key: value for key, value in event.data.items() if key not in UNIT_FIELDS}
    return Event(event.name, event.force_id, data, origin=event.origin)


def capability_names(mask: int) -> list[str]:
    return sorted(capability.value for capability, bit in CAPABILITY_BITS.items() if mask & bit)


def unit_view(tracking: Tracking, state: UnitState) -> dict[str, Any]:
    """A unit as live screens show it."""
    return {
        "id": state.unit_id,
        "call_sign": state.call_sign,
        "unit_type": state.unit_type,
        "status": state.status,
        "marking": state.marking,
        "capabilities": capability_names(state.capabilities),
        "lat": state.lat,
        "lon": state.lon,
        "fix_at": state.fix_at.isoformat() if state.fix_at else None,
        "speed_mps": state.speed_mps,
        "bearing": state.bearing,
        "freshness": tracking.freshness(state),
        "incident_id": state.incident_id,
    }


def emergency_view(emergency: Emergency, index: LatestIndex) -> dict[str, Any]:
    """An open emergency, shaped like the data of an ``EmergencyRaised`` event."""
    state = index.units.get(emergency.unit_id) if emergency.unit_id else None
    return {
        "emergency_id": emergency.id,
        "unit_id": emergency.unit_id,
        "call_sign": state.call_sign if state else None,
        "lat": emergency.lat,
        "lon": emergency.lon,
        "raised_at": emergency.raised_at.isoformat(),
        "source": emergency.source,
    }


def visible_units(actor: Actor, tracking: Tracking) -> list[dict[str, Any]]:
    """Every unit of the actor's force that their clearance covers, by call sign."""
    require(actor, Action.UNIT_READ)
    allowed = set(markings_up_to(actor.clearance))
    states = [s for s in tracking.index.snapshot(actor.force_id) if s.marking in allowed]
    return [unit_view(tracking, s) for s in sorted(states, key=lambda s: s.call_sign)]


def incident_view(incident: Incident) -> dict[str, Any]:
    """An incident as the queue shows it: the data of its ``IncidentChanged`` event."""
    data = changed(incident, "snapshot").data
    del data["what"]
    return data


def active_incidents(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The active incident queue the actor may see (the command service applies the
    access policy: force, clearance, need-to-know), as queue rows."""
    return [incident_view(incident) for incident in command_service.queue(session, actor)]


def snapshot(session: Session, actor: Actor, tracking: Tracking) -> dict[str, Any]:
    """What a screen gets on connecting: every unit it may see with status, position and
    freshness, the open emergencies, the staleness limits and, for those who may read
    incidents, the active incident queue."""
    units = visible_units(actor, tracking)
    shown = {unit["id"] for unit in units}
    emergencies = [
        emergency_view(e, tracking.index)
        for e in queries.open_emergencies(session, actor)
        if e.unit_id is None or e.unit_id in shown
    ]
    message = {
        "type": "snapshot",
        "at": tracking.clock.now().isoformat(),
        "units": units,
        "emergencies": emergencies,
        "stale_seconds": tracking.staleness.stale_seconds,
        "offline_seconds": tracking.staleness.offline_seconds,
    }
    if actor.can(Action.INCIDENT_READ):
        message["incidents"] = active_incidents(session, actor)
    return message


def follow_remote(tracking: Tracking, event: Event) -> None:
    """Keep this process's latest-position index (and geofence memory) in step with a
    change another process made, so nearest-unit answers agree across workers."""
    if event.origin is None:
        return
    data = event.data
    unit_id = data.get("unit_id")
    if not unit_id:
        return
    if unit_id not in tracking.index.units:
        tracking.refresh_unit(unit_id)  # a unit created in another process since this one started
        return
    if event.name == "UnitMoved":
        fix_at = datetime.fromisoformat(data["at"])
        if tracking.index.move(unit_id, data["lat"], data["lon"], fix_at, data.get("speed_mps"), data.get("bearing")):
            tracking.geofences.seed(unit_id, event.force_id, data["lat"], data["lon"])
    elif event.name == "UnitStatusChanged":
        tracking.index.set_status(unit_id, data["to"], data.get("incident_id"))
    elif event.name == "EmergencyRaised":
        tracking.index.set_status(unit_id, "emergency", tracking.index.units[unit_id].incident_id)


class LiveFeed:
    """One process's live feed: the hub on the bus, and the relay to other processes
    when there is one (PostgreSQL LISTEN/NOTIFY or Redis pub/sub)."""

    def __init__(
        self, bus: EventBus, tracking: Tracking, *, interval: float, transport: Transport | None = None
    ) -> None:
        self.bus = bus
        self.tracking = tracking
        self.hub = LiveHub(interval, visible=feed_visibility(tracking.index))
        self.relay: Relay | None = Relay(bus, transport) if transport is not None else None
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self) -> None:
        """Start the hub on the running loop, and the relay's threads."""
        self.hub.start()
        if self.relay is not None:
            # The index follows another process's change before any screen hears of it.
            self._unsubscribe.append(self.bus.subscribe(self._follow))
        self._unsubscribe.append(self.bus.subscribe(self._publish))
        if self.relay is not None:
            self.relay.start()

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.relay is not None:
            await asyncio.to_thread(self.relay.stop)
        await self.hub.stop()

    def _publish(self, event: Event) -> None:
        self.hub.publish(for_screens(event))

    def _follow(self, event: Event) -> None:
        if event.origin is not None:
            follow_remote(self.tracking, event)
