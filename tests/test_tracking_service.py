"""Tracking: units, officers, duty, the status lifecycle, devices and emergencies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.tracking import queries, service
from bluelamp.tracking.model import TRANSITIONS, Capability, UnitStatus
from tests.factories.access import ensure_force
from tests.factories.tracking import crew_unit, force_actor, make_station, make_unit

DISPATCHER = Actor(
    user_id="d1",
    username="dispatcher-1",
    force_id="staffordshire",
    roles=frozenset({Role.DISPATCHER}),
    clearance=Marking.OFFICIAL,
)


def test_a_unit_gets_an_upper_case_call_sign_unique_in_its_force(db):
    make_station(db, "STAF")
    unit = make_unit(db, "sf21", home_station="staf")
    assert unit.call_sign == "SF21"
    with pytest.raises(Conflict) as caught:
        make_unit(db, "SF21")
    assert caught.value.code == "unit.exists"
    ensure_force(db, "west-yorkshire")
    assert make_unit(db, "SF21", force_id="west-yorkshire").call_sign == "SF21"


def test_a_unit_starts_at_its_home_station(db):
    station = make_station(db, "LEEK", 53.105, -2.025)
    unit = make_unit(db, home_station="LEEK")
    assert (unit.last_lat, unit.last_lon) == (station.lat, station.lon)


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("unit_type", {"unit_type": "hovercraft"}),
        ("call_sign", {"call_sign": "SF 21!"}),
        ("home_station", {"home_station": "NOWHERE"}),
        ("extra_capabilities", {"extra_capabilities": ("lasers",)}),
    ],
)
def test_bad_unit_input_names_the_field(db, field, kwargs):
    ensure_force(db)
    with pytest.raises(InvalidInput) as caught:
        make_unit(db, **kwargs)
    assert field in [p.field for p in caught.value.problems]


def test_capabilities_come_from_the_vehicle_and_the_crew_on_duty(db, clock):
    arv = make_unit(db, unit_type="armed_response_vehicle")
    crew_unit(db, arv, ("firearms", "first_aid"), ("taser",))
    with db.read() as session:
        skills = queries.crew_skills(session, [arv.id], clock.now())
        found = service.capabilities(arv, skills[arv.id])
    assert {Capability.FIREARMS, Capability.FIRST_AID, Capability.TASER} <= found
    with db.read() as session:
        later = queries.crew_skills(session, [arv.id], clock.now() + timedelta(hours=9))
    assert service.capabilities(arv, later[arv.id]) == {Capability.FIREARMS}


def test_an_officer_cannot_be_on_two_duties_at_once(db, clock):
    first, second = make_unit(db), make_unit(db)
    crew_unit(db, first, ("taser",))
    with db.read() as session:
        collar = queries.crew(session, first.id, clock.now())[0].collar_number
    with pytest.raises(Conflict) as caught, db.unit_of_work() as session:
        service.book_on(
            session, force_actor(), second.id, [collar], clock.now(), clock.now() + timedelta(hours=1), clock
        )
    assert caught.value.code == "duty.overlap"


def test_status_follows_the_lifecycle_and_is_recorded(db, clock):
    unit = make_unit(db, status="available")
    for status in ["assigned", "en_route", "at_scene", "transporting", "at_hospital", "available"]:
        with db.unit_of_work() as session:
            service.change_status(session, DISPATCHER, unit.id, status, clock)
    with db.read() as session:
        history = queries.status_history(session, unit.id, 10)
    assert [h.to_status for h in reversed(history)] == [
        "assigned",
        "en_route",
        "at_scene",
        "transporting",
        "at_hospital",
        "available",
    ]
    assert all(h.changed_by == "dispatcher-1" for h in history)


def test_an_illegal_status_change_lists_the_allowed_ones(db, clock):
    unit = make_unit(db, status="off_duty")
    with pytest.raises(Conflict) as caught, db.unit_of_work() as session:
        service.change_status(session, DISPATCHER, unit.id, "at_scene", clock)
    assert caught.value.code == "unit.illegal_status"
    assert caught.value.extra["allowed"] == sorted(TRANSITIONS[UnitStatus.OFF_DUTY])
    assert "available" in caught.value.detail


def test_every_status_can_raise_an_emergency():
    for status, allowed in TRANSITIONS.items():
        if status is not UnitStatus.EMERGENCY:
            assert UnitStatus.EMERGENCY in allowed, status


def test_the_emergency_status_raises_an_emergency_until_acknowledged(db, clock):
    unit = make_unit(db, status="at_scene", lat=53.0, lon=-2.18)
    with db.unit_of_work() as session:
        changed = service.change_status(session, DISPATCHER, unit.id, "emergency", clock)
    assert [e.name for e in changed.events] == ["UnitStatusChanged", "EmergencyRaised"]
    with db.read() as session:
        open_ = queries.open_emergencies(session, DISPATCHER)
    assert [e.unit_id for e in open_] == [unit.id]
    assert (open_[0].lat, open_[0].lon) == (53.0, -2.18)
    with db.unit_of_work() as session:
        emergency, event = service.acknowledge_emergency(session, DISPATCHER, open_[0].id, clock, note="units sent")
    assert event.name == "EmergencyAcknowledged"
    with db.read() as session:
        assert queries.open_emergencies(session, DISPATCHER) == []
    with pytest.raises(Conflict), db.unit_of_work() as session:
        service.acknowledge_emergency(session, DISPATCHER, emergency.id, clock)


def test_only_roles_with_the_action_acknowledge_emergencies(db, clock):
    unit = make_unit(db, status="available")
    with db.unit_of_work() as session:
        service.change_status(session, DISPATCHER, unit.id, "emergency", clock)
        emergency_id = queries.open_emergencies(session, DISPATCHER)[0].id
    officer = Actor(user_id="o1", username="pc", force_id="staffordshire", roles=frozenset({Role.RESPONSE_OFFICER}))
    with pytest.raises(Denied), db.unit_of_work() as session:
        service.acknowledge_emergency(session, officer, emergency_id, clock)


def test_another_forces_unit_answers_like_a_missing_one(db, clock):
    ensure_force(db, "west-yorkshire")
    theirs = make_unit(db, force_id="west-yorkshire")
    with db.read() as session:
        with pytest.raises(NotFound) as hidden:
            service.get_unit(session, DISPATCHER, theirs.id)
        with pytest.raises(NotFound) as missing:
            service.get_unit(session, DISPATCHER, "0" * 32)
    assert hidden.value.detail.replace(theirs.id, "X") == missing.value.detail.replace("0" * 32, "X")


def test_a_unit_above_the_users_clearance_is_hidden(db):
    secret = make_unit(db, unit_type="unmarked_car", marking="SECRET")
    with db.read() as session:
        listed = {u.id for u in queries.list_units(session, DISPATCHER)}
    assert secret.id not in listed
    cleared = Actor(
        user_id="d2",
        username="d2",
        force_id="staffordshire",
        roles=frozenset({Role.DISPATCHER}),
        clearance=Marking.SECRET,
    )
    with db.read() as session:
        assert secret.id in {u.id for u in queries.list_units(session, cleared)}


def test_devices_belong_to_exactly_one_unit_or_officer(db, clock):
    unit = make_unit(db, "SF90")
    with db.unit_of_work() as session:
        device = service.add_device(
            session, force_actor(), service.AddDevice("358240051111110", unit_call_sign="SF90", secret="s3cret"), clock
        )
    assert device.unit_id == unit.id and device.secret_hash != "s3cret"
    with pytest.raises(InvalidInput), db.unit_of_work() as session:
        service.add_device(session, force_actor(), service.AddDevice("abc"), clock)
    with pytest.raises(Conflict) as caught, db.unit_of_work() as session:
        service.add_device(session, force_actor(), service.AddDevice("358240051111110", unit_call_sign="SF90"), clock)
    assert caught.value.code == "device.exists"
