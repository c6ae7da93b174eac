"""Position ingest: the OsmAnd protocol as Traccar Client sends it, validation, device
checks, older fixes, emergencies, and the trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bluelamp.clock import FixedClock
from bluelamp.events import EventBus
from bluelamp.tracking import queries, service
from bluelamp.tracking.ingest import FixRejected, parse_osmand, parse_timestamp
from bluelamp.tracking.runtime import Tracking
from tests.factories.tracking import force_actor, make_unit

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def events():
    seen = []
    bus = EventBus()
    bus.subscribe(seen.append)
    return bus, seen


@pytest.fixture
def tracking(db, clock, events):
    runtime = Tracking(db, clock, events[0].publish, background_writer=False)
    runtime.start()
    return runtime


def register(db, tracking, call_sign="SF21", device_id="862531040000001", secret=None, status="available"):
    unit = make_unit(db, call_sign, status=status)
    with db.unit_of_work() as session:
        device = service.add_device(
            session,
            force_actor(),
            service.AddDevice(device_id, unit_call_sign=call_sign, secret=secret),
            FixedClock(NOW),
        )
    tracking.refresh_unit(unit.id)
    tracking.registry.reload()
    return unit, device


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1795874400", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),  # unix seconds
        ("1795874400000", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),  # epoch milliseconds
        ("2026-11-28T14:00:00Z", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        ("2026-11-28T15:00:00+01:00", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        ("2026-11-28 14:00:00", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
    ],
)
def test_every_timestamp_form_traccar_accepts(raw, expected):
    assert parse_timestamp(raw, NOW) == expected


def test_the_traccar_client_request_is_understood():
    fix = parse_osmand(
        {
            "id": "862531040000001",
            "timestamp": "1795874400",
            "lat": "53.0027",
            "lon": "-2.1794",
            "speed": "10",
            "bearing": "90.5",
            "altitude": "120",
            "accuracy": "8",
            "batt": "76",
            "charge": "true",
            "alarm": "sos",
            "driverUniqueId": "4321",
        },
        NOW,
    )
    assert (fix.device_id, fix.lat, fix.lon) == ("862531040000001", 53.0027, -2.1794)
    assert fix.speed_mps == pytest.approx(5.14444)  # 10 knots
    assert (fix.bearing, fix.altitude_m, fix.accuracy_m, fix.battery) == (90.5, 120, 8, 76)
    assert fix.alarm == "sos"
    assert fix.attributes == {"charge": True, "driverUniqueId": 4321.0}


def test_location_and_deviceid_aliases():
    fix = parse_osmand({"deviceid": "abc", "location": "52.8,-2.1", "heading": "45"}, NOW)
    assert (fix.device_id, fix.lat, fix.lon, fix.bearing, fix.fix_at) == ("abc", 52.8, -2.1, 45, NOW)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"id": "d", "lat": "nan", "lon": "-2"}, "lat"),
        ({"id": "d", "lat": "53", "lon": "inf"}, "lon"),
        ({"id": "d", "lat": "north", "lon": "-2"}, "lat"),
        ({"id": "d", "lon": "-2"}, "lat"),
        ({"lat": "53", "lon": "-2"}, "id"),
        ({"id": "d", "lat": "53", "lon": "-2", "timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_malformed_requests_name_the_field(params, field):
    with pytest.raises(FixRejected) as caught:
        parse_osmand(params, NOW)
    assert caught.value.problem.field == field


def fix(device_id="862531040000001", **overrides):
    params = {"id": device_id, "lat": "53.0027", "lon": "-2.1794", "timestamp": str(int(NOW.timestamp()))}
    params.update(overrides)
    return parse_osmand(params, NOW)


def test_a_fix_moves_the_unit_and_is_kept_in_the_trail(db, tracking, events):
    unit, _ = register(db, tracking)
    result = tracking.ingest.ingest([fix()])
    assert (result.accepted, result.rejected) == (1, 0)
    assert (tracking.index.units[unit.id].lat, tracking.index.units[unit.id].lon) == (53.0027, -2.1794)
    assert [e.name for e in events[1]] == ["UnitMoved"]
    assert tracking.writer.flush() == 1
    with db.read() as session:
        stored = queries.trail(session, unit.id, NOW - timedelta(minutes=1), NOW)
        latest = queries.unit_by_id(session, unit.id)
    assert [(p.lat, p.lon) for p in stored] == [(53.0027, -2.1794)]
    assert latest.last_fix_at == NOW


def test_an_older_fix_is_kept_in_the_trail_but_never_overwrites_the_newer(db, tracking, clock):
    unit, _ = register(db, tracking)
    newer = fix(lat="53.01", timestamp=str(int(NOW.timestamp())))
    older = fix(lat="52.99", timestamp=str(int((NOW - timedelta(minutes=2)).timestamp())))
    tracking.ingest.ingest([newer])
    tracking.ingest.ingest([older])
    assert tracking.index.units[unit.id].lat == 53.01
    tracking.writer.flush()
    with db.read() as session:
        assert len(queries.trail(session, unit.id, NOW - timedelta(minutes=5), NOW)) == 2
        assert queries.unit_by_id(session, unit.id).last_lat == 53.01


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"lat": "91"}, "lat"),
        ({"lat": "-90.5"}, "lat"),
        ({"lon": "181"}, "lon"),
        ({"lat": "0", "lon": "0"}, "lat"),
        ({"timestamp": "0"}, "timestamp"),  # 1970
        ({"timestamp": str(int((NOW + timedelta(days=365)).timestamp()))}, "timestamp"),  # next year
        ({"speed": "-3"}, "speed"),
        ({"batt": "140"}, "batt"),
    ],
)
def test_impossible_fixes_are_refused_and_nothing_is_stored(db, tracking, overrides, field):
    unit, _ = register(db, tracking)
    result = tracking.ingest.ingest([fix(**overrides)])
    assert result.rejected == 1 and result.items[0].field == field
    assert tracking.index.units[unit.id].fix_at is None
    assert tracking.writer.flush() == 0


def test_unknown_devices_are_refused_and_counted(db, tracking):
    register(db, tracking)
    result = tracking.ingest.ingest([fix("999"), fix("999"), fix()], source_ip="10.0.0.9")
    assert result.accepted == 1
    assert [i.code for i in result.items if not i.ok] == ["device.unknown", "device.unknown"]
    from bluelamp.tracking.model import UnknownDevice

    with db.read() as session:
        counted = session.get(UnknownDevice, "999")
    assert counted.attempts == 2 and counted.last_ip == "10.0.0.9"


def test_a_device_with_a_secret_needs_it(db, tracking):
    unit, _ = register(db, tracking, secret="open-sesame")
    wrong = tracking.ingest.ingest([fix(key="guess")])
    assert wrong.items[0].code == "device.bad_secret"
    right = tracking.ingest.ingest([fix(key="open-sesame")])
    assert right.accepted == 1


def test_valid_items_of_a_batch_are_kept_when_others_fail(db, tracking):
    register(db, tracking)
    batch = [fix(lat="53.0"), fix(lat="95"), fix(lat="53.1", timestamp=str(int(NOW.timestamp()) + 1))]
    result = tracking.ingest.ingest(batch)
    assert [i.ok for i in result.items] == [True, False, True]
    assert tracking.writer.flush() == 2


def test_the_sos_alarm_raises_an_emergency_with_the_position(db, tracking, events):
    unit, _ = register(db, tracking)
    tracking.ingest.ingest([fix(alarm="sos", lat="53.05", lon="-2.2")])
    assert [e.name for e in events[1]] == ["UnitMoved", "EmergencyRaised"]
    with db.read() as session:
        emergency = queries.open_emergencies(session, force_actor())[0]
        assert (emergency.unit_id, emergency.lat, emergency.lon, emergency.source) == (
            unit.id,
            53.05,
            -2.2,
            "device_alarm",
        )
        assert queries.unit_by_id(session, unit.id).status == "emergency"
    assert tracking.index.units[unit.id].status == "emergency"
    tracking.ingest.ingest([fix(alarm="sos", timestamp=str(int(NOW.timestamp()) + 5))])
    with db.read() as session:
        assert len(queries.open_emergencies(session, force_actor())) == 1  # not duplicated


def test_the_index_is_rebuilt_from_the_store_at_start(db, tracking, clock, events):
    unit, _ = register(db, tracking)
    tracking.ingest.ingest([fix(lat="53.02")])
    tracking.writer.flush()
    fresh = Tracking(db, clock, events[0].publish, background_writer=False)
    fresh.start()
    assert fresh.index.units[unit.id].lat == 53.02
    assert fresh.index.units[unit.id].fix_at == NOW


def test_staleness_follows_the_age_of_the_last_fix(db, tracking, clock):
    unit, _ = register(db, tracking)
    state = tracking.index.units[unit.id]
    assert tracking.freshness(state) == "offline"
    tracking.ingest.ingest([fix()])
    assert tracking.freshness(state) == "live"
    clock.advance(timedelta(seconds=tracking.staleness.stale_seconds))
    assert tracking.freshness(state) == "stale"
    clock.advance(timedelta(seconds=tracking.staleness.offline_seconds))
    assert tracking.freshness(state) == "offline"


def test_trail_positions_past_retention_are_purged(db, tracking, clock):
    unit, _ = register(db, tracking)
    tracking.ingest.ingest([fix(lat="53.0")])
    tracking.writer.flush()
    clock.advance(timedelta(days=tracking.ingest.limits.max_age_days + 1))
    tracking.ingest.ingest([fix(lat="53.1", timestamp=str(int(clock.now().timestamp())))])
    tracking.writer.flush()
    assert tracking.writer.purge_if_due() == 1
    with db.read() as session:
        kept = queries.trail(session, unit.id, NOW - timedelta(days=1), clock.now())
    assert [p.lat for p in kept] == [53.1]
    assert tracking.writer.purge_if_due() == 0  # not again within the hour
