"""Incidents on the live feed: who hears of an incident's change (same force, a role that
reads incidents, clearance covering its marking; need-to-know incidents only as an id to
re-fetch), the active queue in the snapshot, and an incident created through the API
reaching a control-room screen over /ws/live."""

from __future__ import annotations

import json

from bluelamp.access.policy import Actor, Marking, Role, actions_of
from bluelamp.command import service as incidents
from bluelamp.command.model import Incident
from bluelamp.events import Event
from bluelamp.tracking import feed
from bluelamp.tracking.feed import LiveHub, Viewer, feed_visibility, for_screens
from bluelamp.tracking.index import LatestIndex
from tests.factories.access import issue_token, make_user
from tests.factories.command import make_incident, staffordshire
from tests.factories.tracking import force_actor
from tests.test_admin_pages import browser_as
from tests.test_control_pages import call_form
from tests.test_live_feed import next_frame, receive, receive_event, run

CONTROL_ROOM = frozenset(str(a) for a in actions_of({Role.DISPATCHER}))
GATEWAY = frozenset(str(a) for a in actions_of({Role.TRACKING_GATEWAY, Role.FORCE_ADMIN}))


def incident_changed(incident_id: str, *, force_id: str = "staffordshire", marking: str = "OFFICIAL", **extra) -> Event:
    data = {
        "incident_id": incident_id,
        "reference": f"SP-20261128-{incident_id}",
        "what": "created",
        "status": "open",
        "grade": "1",
        "category": "assault",
        "lat": 52.8,
        "lon": -2.1,
        "created_at": "2026-11-28T10:00:00+00:00",
        "target_at": "2026-11-28T10:15:00+00:00",
        "marking": marking,
        "need_to_know": False,
        **extra,
    }
    return Event("IncidentChanged", force_id, data)


def events_of(frame: str) -> list[dict]:
    return json.loads(frame)["events"]


def deliver(events: list[Event], viewers: list[Viewer]) -> list[list[dict] | None]:
    """What each viewer's screen receives when these events are published together
    (through the feed's own visibility and redaction), or None for nothing."""

    async def scenario():
        hub = LiveHub(0.05, visible=feed_visibility(LatestIndex()))
        hub.start()
        subscriptions = [hub.subscribe(viewer) for viewer in viewers]
        for event in events:
            hub.publish(for_screens(event))
        hub.flush()
        received = []
        for subscription in subscriptions:
            frame = subscription._frames.get_nowait() if not subscription._frames.empty() else None
            received.append(events_of(frame) if frame else None)
        await hub.stop()
        return received

    return run(scenario)


# ---------------------------------------------------------------- who hears of a change


def test_an_incident_change_reaches_control_room_screens_of_its_force_only():
    ours = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
    theirs = Viewer("west-yorkshire", "OFFICIAL", CONTROL_ROOM)
    got_ours, got_theirs = deliver([incident_changed("0001")], [ours, theirs])
    assert [(e["name"], e["data"]["reference"]) for e in got_ours] == [("IncidentChanged", "SP-20261128-0001")]
    assert got_theirs is None


def test_viewers_whose_roles_do_not_read_incidents_never_hear_of_them():
    units_only = Viewer("staffordshire", "SECRET", GATEWAY)
    assert deliver([incident_changed("0002")], [units_only]) == [None]


def test_an_incident_above_a_viewers_clearance_is_never_sent_to_them():
    official = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
    sensitive = Viewer("staffordshire", "OFFICIAL-SENSITIVE", CONTROL_ROOM)
    events = [incident_changed("0003", marking="OFFICIAL-SENSITIVE"), incident_changed("0004")]
    got_official, got_sensitive = deliver(events, [official, sensitive])
    assert [e["data"]["incident_id"] for e in got_official] == ["0004"]
    assert [e["data"]["incident_id"] for e in got_sensitive] == ["0003", "0004"]


def test_a_need_to_know_incident_goes_out_as_its_id_only_for_screens_to_re_fetch():
    viewer = Viewer("staffordshire", "SECRET", CONTROL_ROOM)
    event = incident_changed("0005", need_to_know=True, category="sexual_offence", lat=52.81, lon=-2.12)
    [received] = deliver([event], [viewer])
    assert received == [
        {"name": "IncidentChanged", "data": {"incident_id": "0005", "need_to_know": True, "marking": "OFFICIAL"}}
    ]


def test_an_incident_change_never_names_a_unit_to_screens():
    # A covert (SECRET) unit sent to an OFFICIAL incident: its call sign must not reach
    # an OFFICIAL dispatcher through the incident's event; unit events follow the unit rule.
    viewer = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
    event = incident_changed("0013", what="unit_assigned", status="dispatched", unit_id="covert", call_sign="XRAY1")
    [received] = deliver([event], [viewer])
    assert [e["data"]["status"] for e in received] == ["dispatched"]
    assert "XRAY1" not in json.dumps(received) and "covert" not in json.dumps(received)


def test_an_incident_event_without_a_marking_is_withheld():
    viewer = Viewer("staffordshire", "SECRET", CONTROL_ROOM)
    event = Event("IncidentChanged", "staffordshire", {"incident_id": "0006", "status": "open"})
    assert deliver([event], [viewer]) == [None]


def test_several_changes_to_one_incident_in_a_frame_arrive_as_its_latest_state():
    viewer = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
    events = [
        incident_changed("0007", what="created"),
        incident_changed("0008", what="created", grade="2"),
        incident_changed("0007", what="unit_assigned", status="dispatched"),
    ]
    [received] = deliver(events, [viewer])
    assert [(e["data"]["incident_id"], e["data"]["status"]) for e in received] == [
        ("0008", "open"),
        ("0007", "dispatched"),
    ]


def test_unit_events_still_follow_the_unit_rule_alongside_incidents():
    viewer = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
    events = [
        Event("UnitMoved", "staffordshire", {"unit_id": "not-in-this-index", "lat": 52.8, "lon": -2.1}),
        Event("EmergencyRaised", "staffordshire", {"emergency_id": "e1", "unit_id": None}),
        incident_changed("0009"),
    ]
    [received] = deliver(events, [viewer])
    assert [e["name"] for e in received] == ["EmergencyRaised", "IncidentChanged"]


def test_the_feed_never_changes_the_event_other_subscribers_of_the_bus_get():
    event = incident_changed("0010", need_to_know=True)
    redacted = for_screens(event)
    assert event.data["reference"] == "SP-20261128-0010"
    assert "reference" not in redacted.data
    plain = incident_changed("0011")
    assert for_screens(plain) is plain


def test_a_frame_for_many_control_room_screens_is_built_once():
    async def scenario():
        hub = LiveHub(0.05, visible=feed_visibility(LatestIndex()))
        hub.start()
        viewer = Viewer("staffordshire", "OFFICIAL", CONTROL_ROOM)
        subscriptions = [hub.subscribe(viewer) for _ in range(5)]
        hub.publish(incident_changed("0012"))
        frames = [await next_frame(s) for s in subscriptions]
        await hub.stop()
        return hub.frames_built, frames

    built, frames = run(scenario)
    assert built == 1
    assert all(frame is frames[0] for frame in frames)


# ---------------------------------------------------------------- the snapshot and /ws/live


def test_the_snapshot_carries_the_active_queue_to_those_who_read_incidents(db, app, clock):
    actor = force_actor()
    urgent = make_incident(db, clock, actor, category="robbery", grade="1")
    later = make_incident(db, clock, actor, category="theft", grade="3", lat=52.7)
    hidden = make_incident(db, clock, actor, category="drugs", marking="SECRET")
    closed = make_incident(db, clock, actor, category="fraud", grade="4")
    with db.unit_of_work() as session:
        incidents.close_incident(session, actor, closed.id, "fraud", "advice_given", "advised by phone", clock)
    dispatcher = Actor("u", "dispatcher", "staffordshire", frozenset({Role.DISPATCHER}), Marking.OFFICIAL)
    admin = Actor("a", "admin", "staffordshire", frozenset({Role.FORCE_ADMIN}), Marking.SECRET)
    with db.read() as session:
        seen = feed.snapshot(session, dispatcher, app.state.tracking)
        units_only = feed.snapshot(session, admin, app.state.tracking)
    order = [row["incident_id"] for row in seen["incidents"]]
    assert urgent.id in order and later.id in order
    assert hidden.id not in order and closed.id not in order
    assert order.index(urgent.id) < order.index(later.id)  # most urgent first
    row = seen["incidents"][order.index(urgent.id)]
    assert (row["reference"], row["grade"], row["category"], row["status"]) == (
        urgent.reference,
        "1",
        "robbery",
        "open",
    )
    assert row["target_at"] is not None and "what" not in row
    assert "Sam Caller" not in json.dumps(seen["incidents"])  # the queue carries no caller details
    assert "incidents" not in units_only  # a force admin reads units, not incidents


def test_a_call_taken_on_the_call_page_reaches_an_open_control_room_screen(db, app):
    staffordshire(db)
    handler = browser_as(app, db, make_user(db, "call_handler"))
    token = issue_token(db, make_user(db, "dispatcher"))
    with handler, handler.websocket_connect(f"/ws/live?token={token}") as ws:
        snapshot = receive(ws)
        assert snapshot["incidents"] == []
        response = handler.post("/control/call", data=call_form(handler, grade="1"), follow_redirects=False)
        assert response.status_code == 303, response.text[:2000]
        data = receive_event(ws, "IncidentChanged")
    with db.read() as session:
        incident = session.get(Incident, data["incident_id"])
    assert (data["reference"], data["status"], data["grade"], data["category"]) == (
        incident.reference,
        "open",
        "1",
        "assault",
    )
    assert data["target_at"] == incident.target_at.isoformat()
    assert "Sam Caller" not in json.dumps(data)  # no caller details on the feed
