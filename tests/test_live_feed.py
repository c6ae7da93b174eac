"""The live feed: the hub on a real event loop (force scoping, batching and merging,
the clearance filter, slow clients), the snapshot, and /ws/live end to end through
Starlette's TestClient with a session cookie or a bearer token."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from starlette.testclient import WebSocketDenialResponse

from bluelamp.access import sessions
from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.events import Event
from bluelamp.tracking import feed, service
from bluelamp.tracking.feed import SLOW_CLIENT, LiveHub, Viewer, unit_visibility
from bluelamp.tracking.index import LatestIndex, UnitState
from tests.factories.access import issue_token, make_user
from tests.factories.tracking import force_actor, make_unit

STAFFS = Viewer("staffordshire", "OFFICIAL")


def moved(unit_id: str, lat: float, force_id: str = "staffordshire", **extra) -> Event:
    return Event("UnitMoved", force_id, {"unit_id": unit_id, "lat": lat, "lon": -2.1, **extra})


def names(frame: str) -> list[tuple[str, object]]:
    return [(e["name"], e["data"].get("unit_id"), e["data"].get("lat")) for e in json.loads(frame)["events"]]


async def next_frame(subscription, timeout: float = 5.0) -> str:
    return await asyncio.wait_for(subscription.next(), timeout)


def run(scenario):
    """Run a scenario on a fresh event loop in a thread of its own (Playwright's sync API,
    when browser tests ran first, keeps a loop running on this one)."""
    outcome = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(scenario())
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# ---------------------------------------------------------------- the hub


def test_a_subscriber_gets_only_its_own_forces_events():
    async def scenario():
        hub = LiveHub(0.05)
        hub.start()
        staffs = hub.subscribe(STAFFS)
        yorks = hub.subscribe(Viewer("west-yorkshire", "OFFICIAL"))
        hub.publish(moved("u1", 52.8))
        hub.publish(moved("w1", 53.8, force_id="west-yorkshire"))
        hub.publish(Event("PlatformNotice", None, {"text": "no force: nobody's"}))
        got = names(await next_frame(staffs)), names(await next_frame(yorks))
        await hub.stop()
        return got

    staffs, yorks = run(scenario)
    assert staffs == [("UnitMoved", "u1", 52.8)]
    assert yorks == [("UnitMoved", "w1", 53.8)]


def test_moves_of_one_unit_within_an_interval_merge_into_the_latest_in_one_frame():
    async def scenario():
        hub = LiveHub(0.5)
        hub.start()
        subscription = hub.subscribe(STAFFS)
        hub.publish(moved("u1", 52.0))
        first = await next_frame(subscription)  # the first change after a quiet spell goes at once
        for lat in (52.1, 52.2, 52.3):
            hub.publish(moved("u1", lat))
        hub.publish(Event("UnitStatusChanged", "staffordshire", {"unit_id": "u2", "to": "busy"}))
        hub.publish(moved("u2", 52.9))
        hub.publish(moved("u1", 52.4))
        second = await next_frame(subscription)
        await hub.stop()
        return first, second

    first, second = run(scenario)
    assert names(first) == [("UnitMoved", "u1", 52.0)]
    assert names(second) == [
        ("UnitStatusChanged", "u2", None),
        ("UnitMoved", "u2", 52.9),
        ("UnitMoved", "u1", 52.4),
    ]


def test_a_frame_is_built_once_and_shared_by_like_viewers():
    async def scenario():
        hub = LiveHub(0.05)
        hub.start()
        subscriptions = [hub.subscribe(STAFFS) for _ in range(3)]
        hub.publish(moved("u1", 52.8))
        frames = [await next_frame(s) for s in subscriptions]
        await hub.stop()
        return hub, frames

    hub, frames = run(scenario)
    assert frames[0] is frames[1] is frames[2]
    assert hub.frames_built == 1


def test_units_above_a_viewers_clearance_are_never_sent_to_them():
    index = LatestIndex()
    for unit_id, marking in (("open", "OFFICIAL"), ("covert", "SECRET")):
        index.put(UnitState(unit_id, "staffordshire", unit_id.upper(), "unmarked_car", "available", marking))

    async def scenario():
        hub = LiveHub(0.05, visible=unit_visibility(index))
        hub.start()
        official = hub.subscribe(Viewer("staffordshire", "OFFICIAL"))
        secret = hub.subscribe(Viewer("staffordshire", "SECRET"))
        hub.publish(moved("covert", 52.5))
        hub.publish(moved("open", 52.6))
        hub.publish(moved("unknown-here", 52.7))  # a unit this process does not know: withheld
        hub.publish(Event("EmergencyRaised", "staffordshire", {"emergency_id": "e1", "unit_id": None}))
        got = names(await next_frame(official)), names(await next_frame(secret))
        await hub.stop()
        return got

    official, secret = run(scenario)
    assert official == [("UnitMoved", "open", 52.6), ("EmergencyRaised", None, None)]
    assert secret == [("UnitMoved", "covert", 52.5), ("UnitMoved", "open", 52.6), ("EmergencyRaised", None, None)]


def test_a_client_whose_queue_fills_is_dropped_while_the_others_keep_receiving():
    async def scenario():
        hub = LiveHub(0.05, queue_limit=2)
        hub.start()
        stuck = hub.subscribe(STAFFS)  # never reads
        reader = hub.subscribe(STAFFS)
        received = []
        for n in range(5):
            hub.publish(moved("u1", 52.0 + n / 10))
            hub.flush()  # one frame per publish, without waiting for the interval
            received.append(names(await next_frame(reader)))
        await hub.stop()
        return hub, stuck, received

    hub, stuck, received = run(scenario)
    assert stuck.reason == SLOW_CLIENT
    assert hub.dropped == 1
    assert [frame[0][2] for frame in received] == [52.0, 52.1, 52.2, 52.3, 52.4]


def test_a_send_that_takes_too_long_drops_the_client_and_frees_its_place():
    async def scenario():
        hub = LiveHub(0.01, send_timeout=0.05)
        hub.start()
        subscription = hub.subscribe(STAFFS)
        never = asyncio.Event()

        async def stalled_send(frame: str) -> None:
            await never.wait()  # a client that stopped reading: its socket buffer is full

        pump = asyncio.create_task(hub.pump(subscription, stalled_send))
        hub.publish(moved("u1", 52.8))
        why = await asyncio.wait_for(pump, 5)
        left = hub.subscribers
        await hub.stop()
        return why, left

    why, left = run(scenario)
    assert why == SLOW_CLIENT
    assert left == 0


def test_events_published_from_worker_threads_reach_subscribers():
    async def scenario():
        hub = LiveHub(0.01)
        hub.start()
        subscription = hub.subscribe(STAFFS)
        threads = [threading.Thread(target=hub.publish, args=(moved(f"u{n}", 52.0 + n),)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen: set[str] = set()
        while len(seen) < 4:
            seen.update(unit for _, unit, _ in names(await next_frame(subscription)))
        await hub.stop()
        return seen

    assert run(scenario) == {"u0", "u1", "u2", "u3"}


def test_events_for_a_force_nobody_watches_are_not_queued():
    async def scenario():
        hub = LiveHub(0.05)
        hub.start()
        hub.subscribe(STAFFS)
        hub.publish(moved("w1", 53.8, force_id="west-yorkshire"))
        pending = len(hub._pending)
        await hub.stop()
        return pending

    assert run(scenario) == 0


def test_a_stopped_hub_ends_its_subscriptions():
    async def scenario():
        hub = LiveHub(0.05)
        hub.start()
        subscription = hub.subscribe(STAFFS)
        await hub.stop()
        return await next_frame(subscription), subscription.reason

    assert run(scenario) == (None, feed.STOPPING)


# ---------------------------------------------------------------- the snapshot


def test_the_snapshot_has_the_forces_units_within_clearance_and_open_emergencies(db, app, clock):
    open_unit = make_unit(db, "SF501", lat=52.8, lon=-2.1)
    make_unit(db, "SF502", marking="SECRET", lat=52.81, lon=-2.11)
    make_unit(db, "WY501", force_id="west-yorkshire", lat=53.8, lon=-1.5)
    with db.unit_of_work() as session:
        service.change_status(session, force_actor(), open_unit.id, "emergency", clock)
    tracking = app.state.tracking
    tracking.rebuild_index()
    dispatcher = Actor("u", "dispatcher", "staffordshire", frozenset({Role.DISPATCHER}), Marking.OFFICIAL)
    with db.read() as session:
        snapshot = feed.snapshot(session, dispatcher, tracking)
    assert [u["call_sign"] for u in snapshot["units"]] == ["SF501"]
    unit = snapshot["units"][0]
    assert (unit["status"], unit["lat"], unit["freshness"]) == ("emergency", 52.8, "offline")
    assert [(e["call_sign"], e["source"]) for e in snapshot["emergencies"]] == [("SF501", "status")]


# ---------------------------------------------------------------- /ws/live end to end


def receive(ws, timeout: float = 10.0) -> dict:
    """The next message, failing (not hanging) when none comes."""

    async def next_message():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(next_message)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def receive_event(ws, name: str) -> dict:
    """Frames until one carries an event called ``name``; returns its data."""
    for _ in range(20):
        message = receive(ws)
        for event in message.get("events", []):
            if event["name"] == name:
                return event["data"]
    raise AssertionError(f"no {name} event arrived")


@pytest.fixture
def phone(db, app, clock):
    """Unit SF601 with a phone, in the app's index."""
    unit = make_unit(db, "SF601", lat=52.80, lon=-2.10)
    with db.unit_of_work() as session:
        service.add_device(session, force_actor(), service.AddDevice("phone-601", unit_call_sign="SF601"), clock)
    app.state.tracking.refresh_unit(unit.id)
    app.state.tracking.registry.reload()
    return unit


def session_cookie(db, app, user) -> str:
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session,
            user,
            ip="127.0.0.1",
            user_agent="test",
            clock=app.state.clock,
            policy=app.state.settings.session_policy(),
        )
    return token


def fix(client, lat: float, **extra) -> None:
    params = {"id": "phone-601", "lat": str(lat), "lon": "-2.1", "timestamp": datetime.now(UTC).isoformat(), **extra}
    assert client.get("/ingest/osmand", params=params).status_code == 200


def test_a_signed_in_dispatcher_gets_a_snapshot_then_moves_as_they_happen(db, app, client, phone):
    client.cookies.set("bl_session", session_cookie(db, app, make_user(db, "dispatcher")))
    with client.websocket_connect("/ws/live") as ws:
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot"
        assert [(u["call_sign"], u["lat"]) for u in snapshot["units"]] == [("SF601", 52.80)]
        fix(client, 52.83)
        data = receive_event(ws, "UnitMoved")
    assert (data["unit_id"], data["call_sign"], data["lat"]) == (phone.id, "SF601", 52.83)


def test_a_program_connects_with_a_bearer_token_in_the_query_or_the_header(db, client, phone):
    token = issue_token(db, make_user(db, "dispatcher"))
    with client.websocket_connect(f"/ws/live?token={token}") as ws:
        assert receive(ws)["type"] == "snapshot"
    with client.websocket_connect("/ws/live", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert [u["call_sign"] for u in receive(ws)["units"]] == ["SF601"]


def test_an_emergency_and_its_acknowledgement_reach_the_feed(db, client, phone):
    token = issue_token(db, make_user(db, "dispatcher"))
    with client.websocket_connect(f"/ws/live?token={token}") as ws:
        receive(ws)
        fix(client, 52.84, alarm="sos")
        raised = receive_event(ws, "EmergencyRaised")
        assert (raised["call_sign"], raised["lat"]) == ("SF601", 52.84)
        response = client.post(
            f"/api/v1/emergencies/{raised['emergency_id']}/acknowledge", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 204
        acknowledged = receive_event(ws, "EmergencyAcknowledged")
    assert acknowledged["emergency_id"] == raised["emergency_id"]


def test_another_forces_user_sees_none_of_its_units_nor_their_moves(db, client, phone):
    yorkshire = issue_token(db, make_user(db, "dispatcher", force_id="west-yorkshire"))
    staffs = issue_token(db, make_user(db, "dispatcher"))
    # One connection at a time until its snapshot is in: the test database is one connection.
    with client.websocket_connect(f"/ws/live?token={yorkshire}") as theirs:
        assert receive(theirs)["units"] == []
        with client.websocket_connect(f"/ws/live?token={staffs}") as ours:
            receive(ours)
            fix(client, 52.85)
            receive_event(ours, "UnitMoved")
        theirs.send_text("ping")  # anything the client says is ignored
        with pytest.raises(TimeoutError):
            receive(theirs, timeout=1.0)


def test_a_connection_without_credentials_is_refused_with_401(client):
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/ws/live"):
        pass
    assert refused.value.status_code == 401
    assert refused.value.json()["code"] == "access.unauthenticated"


def test_a_wrong_token_is_refused_with_401(client):
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/ws/live?token=blt_nope"):
        pass
    assert refused.value.status_code == 401
    assert refused.value.json()["code"] == "access.token_invalid"


def test_a_user_whose_roles_do_not_allow_unit_read_is_refused_with_403(db, client):
    token = issue_token(db, make_user(db, "tracking_gateway"))
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(f"/ws/live?token={token}"):
        pass
    assert refused.value.status_code == 403
    assert refused.value.json()["code"] == "access.denied"


def test_a_session_cookie_sent_from_another_sites_page_is_refused(db, app, client):
    client.cookies.set("bl_session", session_cookie(db, app, make_user(db, "dispatcher")))
    headers = {"Origin": "https://evil.example", "Host": "testserver"}
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/ws/live", headers=headers):
        pass
    assert refused.value.status_code == 403
    assert refused.value.json()["code"] == "access.cross_site"


def test_the_feed_stops_when_the_session_ends(db, app, client, monkeypatch):
    from bluelamp.access.model import WebSession
    from bluelamp.web.api import live

    monkeypatch.setattr(live, "REVALIDATE_SECONDS", 0.2)
    token = session_cookie(db, app, make_user(db, "dispatcher"))
    client.cookies.set("bl_session", token)
    with client.websocket_connect("/ws/live") as ws:
        receive(ws)
        with db.unit_of_work() as session:
            session.get(WebSession, sessions.token_hash(token)).ended_at = datetime.now(UTC) - timedelta(seconds=1)
        message = ws.portal.call(ws._send_rx.receive)
    assert (message["type"], message["code"]) == ("websocket.close", 4401)
