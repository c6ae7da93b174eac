"""Unit recommendations: the suitable units nearest an incident by travel time, each
with its reasons, within the dispatcher's force and clearance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bluelamp.access.model import Force
from bluelamp.clock import FixedClock
from bluelamp.command import dispatch
from bluelamp.command.recommend import duration_words, recommend, recommend_for_incident, recommend_for_point
from bluelamp.command.routing import OsrmRouter, StraightLineRouter
from bluelamp.errors import Conflict, InvalidInput, NotFound
from bluelamp.tracking.runtime import apply_status
from tests.conftest import free_port
from tests.factories.dispatch import HANLEY, NOON, dispatcher, make_incident, place, tracking_for
from tests.factories.tracking import make_unit
from tests.router_server import RouterServer, road_seconds

LAT, LON = HANLEY
KM_NORTH = 1 / 111.195  # degrees of latitude per km


@pytest.fixture
def clock():
    return FixedClock(NOON + timedelta(minutes=2))


@pytest.fixture
def tracking(db, clock):
    return tracking_for(db, clock)


def unit_at(db, tracking, call_sign, km_north, unit_type="response_car", age=timedelta(seconds=10), **kwargs):
    unit = make_unit(db, call_sign, unit_type, **kwargs)
    place(tracking, unit, LAT + km_north * KM_NORTH, LON, age)
    return unit


def recommended(db, tracking, incident, clock, actor=None, router=None, **kwargs):
    with db.read() as session:
        return recommend(
            session, actor or dispatcher(), incident.id, tracking, router or StraightLineRouter(), clock, **kwargs
        )


def test_units_are_ordered_by_travel_time_not_distance(db, tracking, clock):
    unit_at(db, tracking, "FOOT1", 0.6, "foot_patrol")
    unit_at(db, tracking, "CAR1", 2.0, "response_car")
    unit_at(db, tracking, "RPU1", 3.0, "roads_policing_car")
    incident = make_incident(db)
    found = recommended(db, tracking, incident, clock)
    assert [r.call_sign for r in found] == ["CAR1", "RPU1", "FOOT1"]
    assert [r.rank for r in found] == [1, 2, 3]
    car, _, foot = found
    assert foot.distance_m == pytest.approx(600, abs=2)
    assert car.distance_m == pytest.approx(2000, abs=2)
    assert car.eta_seconds == pytest.approx(2.0 * 1.35 / 48 * 3600, abs=1)
    assert foot.eta_seconds > car.eta_seconds


def test_count_limits_the_list_and_defaults_to_the_forces_setting(db, tracking, clock):
    for n in range(8):
        unit_at(db, tracking, f"CAR{n}", 0.5 + n)
    incident = make_incident(db)
    assert len(recommended(db, tracking, incident, clock)) == 5
    assert [r.call_sign for r in recommended(db, tracking, incident, clock, count=2)] == ["CAR0", "CAR1"]
    with pytest.raises(InvalidInput):
        recommended(db, tracking, incident, clock, count=0)


def test_reasons_say_distance_eta_status_capabilities_and_how_the_eta_was_reached(db, tracking, clock):
    unit_at(db, tracking, "ARV1", 2.1, "armed_response_vehicle")
    incident = make_incident(db, qualifiers=("firearms",))
    (arv,) = recommended(db, tracking, incident, clock)
    minutes = duration_words(round(2.1 * 1.35 / 56 * 3600))
    assert arv.reasons == [
        f"2.1 km away, about {minutes} by road (straight line × 1.35 at 56 km/h)",
        "available",
        "has firearms",
    ]
    assert arv.freshness == "live"
    assert arv.capabilities == ["firearms"]
    assert arv.required_met


def test_a_firearms_incident_gets_units_that_carry_firearms_first(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 0.5)
    unit_at(db, tracking, "ARV1", 6.0, "armed_response_vehicle")
    unit_at(db, tracking, "CAR2", 1.0, extra_capabilities=("firearms", "taser"))
    incident = make_incident(db, category="assault", qualifiers=("firearms",))
    with db.read() as session:
        found = recommend_for_incident(session, dispatcher(), incident.id, tracking, StraightLineRouter(), clock)
    assert found.required == ["firearms"] and found.required_by == "incident"
    assert [r.call_sign for r in found.units] == ["CAR2", "ARV1", "CAR1"]
    assert [r.required_met for r in found.units] == [True, True, False]
    # The nearer car without firearms comes last, and says why.
    assert "lacks firearms: no suitable unit nearer; your decision" in found.units[2].reasons


def test_the_category_sets_the_requirement_too(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 0.5)
    unit_at(db, tracking, "DOG1", 3.0, "dog_van")
    incident = make_incident(db, category="dangerous_dog")
    found = recommended(db, tracking, incident, clock)
    assert [(r.call_sign, r.required_met) for r in found] == [("DOG1", True), ("CAR1", False)]


def test_without_enough_suitable_units_the_nearest_others_follow_saying_what_they_lack(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 0.5)
    unit_at(db, tracking, "CAR2", 2.0)
    incident = make_incident(db, category="dangerous_dog")
    found = recommended(db, tracking, incident, clock, count=1)
    assert [(r.call_sign, r.required_met) for r in found] == [("CAR1", False)]
    assert found[0].reasons[-1].startswith("lacks dog")


def test_the_dispatcher_can_override_the_required_capabilities(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 0.5)
    unit_at(db, tracking, "ARV1", 6.0, "armed_response_vehicle")
    unit_at(db, tracking, "TAS1", 2.0, extra_capabilities=("taser",))
    incident = make_incident(db, qualifiers=("firearms",))
    assert [r.call_sign for r in recommended(db, tracking, incident, clock, required=[])] == ["CAR1", "TAS1", "ARV1"]
    chosen = recommended(db, tracking, incident, clock, required=["taser"])
    assert [(r.call_sign, r.required_met) for r in chosen] == [("TAS1", True), ("CAR1", False), ("ARV1", False)]
    with pytest.raises(InvalidInput) as refused:
        recommended(db, tracking, incident, clock, required=["jetpack"])
    assert refused.value.problems[0].field == "require"


def test_units_that_cannot_be_sent_are_left_out(db, tracking, clock):
    for call_sign, status in [("OFF1", "off_duty"), ("SCN1", "at_scene"), ("EMG1", "emergency"), ("BSY1", "busy")]:
        unit_at(db, tracking, call_sign, 0.3, status=status)
    unit_at(db, tracking, "REF1", 1.5, status="refreshments")
    unit_at(db, tracking, "AVL1", 2.5)
    incident = make_incident(db)
    found = recommended(db, tracking, incident, clock)
    assert [r.call_sign for r in found] == ["REF1", "AVL1"]
    assert "on refreshments: can be called away" in found[0].reasons


def test_committed_units_are_offered_only_for_a_diversion_and_say_where_they_are(db, tracking, clock):
    busy = unit_at(db, tracking, "BUSY1", 0.4)
    unit_at(db, tracking, "CAR1", 3.0)
    elsewhere = make_incident(db, lat=LAT + 0.01)
    with db.unit_of_work() as session:
        sent = dispatch.assign(session, dispatcher(), elsewhere.id, busy.id, clock)
    apply_status(tracking, sent.status_changes[0], lambda event: None)
    incident = make_incident(db)
    assert [r.call_sign for r in recommended(db, tracking, incident, clock)] == ["CAR1"]
    found = recommended(db, tracking, incident, clock, include_committed=True)
    assert [r.call_sign for r in found] == ["BUSY1", "CAR1"]
    assert found[0].committed and not found[1].committed
    assert found[0].current_incident_reference == elsewhere.reference
    assert (
        f"committed: assigned on {elsewhere.reference}; sending it is a diversion and needs a reason"
        in found[0].reasons
    )


def test_units_already_sent_to_this_incident_are_not_recommended_again(db, tracking, clock):
    sent_unit = unit_at(db, tracking, "CAR1", 0.4)
    unit_at(db, tracking, "CAR2", 3.0)
    incident = make_incident(db)
    with db.unit_of_work() as session:
        sent = dispatch.assign(session, dispatcher(), incident.id, sent_unit.id, clock)
    apply_status(tracking, sent.status_changes[0], lambda event: None)
    found = recommended(db, tracking, incident, clock, include_committed=True)
    assert [r.call_sign for r in found] == ["CAR2"]


def test_stale_units_say_so_and_offline_units_come_last(db, tracking, clock):
    unit_at(db, tracking, "OLD1", 0.2, age=timedelta(minutes=30))
    unit_at(db, tracking, "STL1", 0.5, age=timedelta(minutes=3))
    unit_at(db, tracking, "CAR1", 4.0)
    incident = make_incident(db)
    found = recommended(db, tracking, incident, clock)
    assert [r.call_sign for r in found] == ["STL1", "CAR1", "OLD1"]
    assert [r.freshness for r in found] == ["stale", "live", "offline"]
    assert "stale position: 3 min old" in found[0].reasons
    assert "offline: last position 30 min old, where it is now is unknown" in found[2].reasons


def test_only_the_dispatchers_force_and_clearance(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 3.0)
    unit_at(db, tracking, "SEC1", 0.5, marking="SECRET")
    unit_at(db, tracking, "WY1", 0.2, force_id="west-yorkshire")
    incident = make_incident(db)
    assert [r.call_sign for r in recommended(db, tracking, incident, clock)] == ["CAR1"]
    cleared = dispatcher(clearance="SECRET")
    assert [r.call_sign for r in recommended(db, tracking, incident, clock, actor=cleared)] == ["SEC1", "CAR1"]


def test_an_incident_of_another_force_answers_like_a_missing_one(db, tracking, clock):
    theirs = make_incident(db, force_id="west-yorkshire")
    with pytest.raises(NotFound) as hidden:
        recommended(db, tracking, theirs, clock)
    with pytest.raises(NotFound) as missing, db.read() as session:
        recommend(session, dispatcher(), "no-such-incident", tracking, StraightLineRouter(), clock)
    assert str(hidden.value).replace(theirs.id, "X") == str(missing.value).replace("no-such-incident", "X")


def test_a_closed_incident_gets_no_recommendations(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 1.0)
    incident = make_incident(db, status="closed")
    with pytest.raises(Conflict) as refused:
        recommended(db, tracking, incident, clock)
    assert refused.value.code == "dispatch.incident_not_active"


def test_the_forces_road_factor_is_used(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 2.0)
    incident = make_incident(db)
    with db.unit_of_work() as session:
        force = session.get(Force, "staffordshire")
        force.settings = {**(force.settings or {}), "command": {"road_factor": 1.6}}
    (car,) = recommended(db, tracking, incident, clock)
    assert car.eta_seconds == pytest.approx(2.0 * 1.6 / 48 * 3600, abs=1)
    assert "straight line × 1.6 at 48 km/h" in car.reasons[0]


def test_with_a_router_configured_its_travel_times_order_the_units(db, tracking, clock):
    # Due north 2.0 km against 1.45 km north-east: the router's grid of roads makes the
    # nearer one slower (2.05 km by road), which the straight line cannot know.
    straight = unit_at(db, tracking, "CAR1", 2.0)
    diagonal = make_unit(db, "CAR2")
    place(tracking, diagonal, LAT + 1.0 * KM_NORTH, LON + 0.01568)
    incident = make_incident(db)
    with RouterServer() as server:
        router = OsrmRouter(server.url, 2.0)
        found = recommended(db, tracking, incident, clock, router=router)
        assert len(server.requests) == 1  # one table request for every candidate
    by_sign = {r.call_sign: r for r in found}
    for unit, r in ((straight, by_sign["CAR1"]), (diagonal, by_sign["CAR2"])):
        state = tracking.index.units[unit.id]
        assert r.eta_seconds == round(road_seconds((state.lat, state.lon), (LAT, LON)))
        assert r.routed and r.eta_basis == "road router"
        assert r.reasons[0].endswith("by road (road router)")
    assert by_sign["CAR2"].distance_m < by_sign["CAR1"].distance_m
    assert [r.call_sign for r in found] == ["CAR1", "CAR2"]


def test_a_dead_router_falls_back_to_straight_lines_and_the_reasons_say_so(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 2.0)
    incident = make_incident(db)
    router = OsrmRouter(f"http://127.0.0.1:{free_port()}", 0.5)
    (car,) = recommended(db, tracking, incident, clock, router=router)
    assert car.eta_seconds == pytest.approx(2.0 * 1.35 / 48 * 3600, abs=1)
    assert not car.routed
    assert "router unavailable" in car.reasons[0] and "straight line × 1.35 at 48 km/h" in car.reasons[0]


def test_the_in_memory_core_answers_for_a_point(db, tracking, clock):
    unit_at(db, tracking, "CAR1", 1.0)
    unit_at(db, tracking, "TAS1", 2.0, extra_capabilities=("taser",))
    found = recommend_for_point(tracking, StraightLineRouter(), "staffordshire", LAT, LON, ["taser"], 3, ["OFFICIAL"])
    assert [(r.call_sign, r.required_met) for r in found] == [("TAS1", True), ("CAR1", False)]
    assert recommend_for_point(tracking, StraightLineRouter(), "staffordshire", LAT, LON, [], 3, []) == []


def test_durations_read_as_a_dispatcher_says_them():
    assert duration_words(20) == "under 1 min"
    assert duration_words(250) == "4 min"
    assert duration_words(95 * 60) == "1 h 35 min"
    assert duration_words(2 * 3600) == "2 h"


def test_a_committed_units_incident_is_named_only_to_those_cleared_to_see_it(db, tracking, clock):
    busy = unit_at(db, tracking, "BUSY1", 0.4)
    secret = make_incident(db, lat=LAT + 0.01, marking="SECRET")
    with db.unit_of_work() as session:
        sent = dispatch.assign(session, dispatcher(clearance="SECRET"), secret.id, busy.id, clock)
    apply_status(tracking, sent.status_changes[0], lambda event: None)
    incident = make_incident(db)
    (found,) = recommended(db, tracking, incident, clock, include_committed=True)
    assert found.current_incident_reference is None
    assert "committed: assigned on another incident; sending it is a diversion and needs a reason" in found.reasons
    cleared = dispatcher(clearance="SECRET")
    (seen,) = recommended(db, tracking, incident, clock, actor=cleared, include_committed=True)
    assert seen.current_incident_reference == secret.reference
