"""The live feed across worker processes: two app instances with their own buses on
one database (PostgreSQL LISTEN/NOTIFY) or one Redis; a fix ingested by one reaches a
WebSocket client of the other, and neither delivers its own events twice."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from bluelamp.events import Event, EventBus
from bluelamp.relay import PG_MAX_PAYLOAD, Reassembler, pack
from bluelamp.tracking import service
from bluelamp.web import create_app
from tests.factories.access import issue_token, make_user
from tests.factories.tracking import force_actor, make_unit
from tests.test_live_feed import receive, receive_event

REDIS_URL = os.environ.get("BLUELAMP_TEST_REDIS_URL", "")


# ---------------------------------------------------------------- the wire format


def unpack(payloads: list[str]) -> list[tuple[str, str | None, dict]]:
    reassembler = Reassembler()
    events = []
    for payload in payloads:
        events += [(e["n"], e["f"], e["d"]) for e in reassembler.feed(json.loads(payload))]
    return events


def test_many_events_are_packed_into_payloads_under_the_notify_limit_in_order():
    events = [Event("UnitMoved", "staffordshire", {"unit_id": f"u{n}", "lat": 52 + n / 1000}) for n in range(500)]
    payloads = pack("proc-a", events, PG_MAX_PAYLOAD)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= PG_MAX_PAYLOAD for p in payloads)
    assert [d["unit_id"] for _, _, d in unpack(payloads)] == [f"u{n}" for n in range(500)]


def test_an_event_too_big_for_one_payload_is_split_and_joined_again():
    note = 'quote " backslash \\ and non-ASCII: Newcastle-under-Lyme ✓ ' * 600
    events = [Event("Small", "f", {"n": 1}), Event("Big", "f", {"note": note}), Event("Small", "f", {"n": 2})]
    payloads = pack("proc-a", events, PG_MAX_PAYLOAD)
    assert len(payloads) > 3
    assert all(len(p.encode()) <= PG_MAX_PAYLOAD for p in payloads)
    assert unpack(payloads) == [("Small", "f", {"n": 1}), ("Big", "f", {"note": note}), ("Small", "f", {"n": 2})]


# ---------------------------------------------------------------- two processes, one channel


class Recorder:
    """Every event a bus delivers, for counting."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self.arrived = threading.Condition()
        bus.subscribe(self)

    def __call__(self, event: Event) -> None:
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def wait_for(self, name: str, timeout: float = 10.0) -> Event:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(e.name == name for e in self.events), timeout), f"no {name}"
            return next(e for e in self.events if e.name == name)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


def two_processes_see_each_other(db, settings, clock):
    unit = make_unit(db, "SF701", lat=52.80, lon=-2.10)
    with db.unit_of_work() as session:
        service.add_device(session, force_actor(), service.AddDevice("phone-701", unit_call_sign="SF701"), clock)
    token = issue_token(db, make_user(db, "dispatcher"))
    first = create_app(settings, database=db, clock=clock, bus=EventBus(), background_writer=False)
    second = create_app(settings, database=db, clock=clock, bus=EventBus(), background_writer=False)
    recorded = Recorder(second.state.bus)
    with TestClient(first) as one, TestClient(second) as other:
        for app in (first, second):
            assert app.state.live.relay is not None
            assert app.state.live.relay.ready.wait(10), "the relay did not subscribe"
        with one.websocket_connect(f"/ws/live?token={token}") as ws:
            receive(ws)  # the snapshot
            params = {"id": "phone-701", "lat": "52.8612", "lon": "-2.1", "timestamp": datetime.now(UTC).isoformat()}
            assert other.get("/ingest/osmand", params=params).status_code == 200
            moved = receive_event(ws, "UnitMoved")
        # The first process follows the move in its own index, for its nearest-unit answers.
        assert first.state.tracking.index.units[unit.id].lat == 52.8612
        # A marker from the first process arrives after the second's own move came back to it.
        first.state.bus.publish(Event("Marker", "staffordshire", {}))
        marker = recorded.wait_for("Marker")
        assert len(recorded.named("UnitMoved")) == 1, "the second process delivered its own move twice"
        assert recorded.named("UnitMoved")[0].origin is None
        assert marker.origin == first.state.live.relay.origin
    assert (moved["unit_id"], moved["lat"]) == (unit.id, 52.8612)


@pytest.mark.postgres_only
def test_postgresql_notify_carries_a_move_to_the_other_processes_websocket_clients(db, settings, clock):
    assert db.dialect == "postgresql"
    two_processes_see_each_other(db, settings, clock)


def test_redis_carries_a_move_to_the_other_processes_websocket_clients(db, settings, clock):
    if not REDIS_URL:
        pytest.skip("BLUELAMP_TEST_REDIS_URL is not set; scripts/test.sh starts redis-server")
    two_processes_see_each_other(db, settings.model_copy(update={"redis_url": REDIS_URL}), clock)
