"""Travel times for recommendations: the straight line by default, an OSRM-compatible
router when one is configured (a real one, started by the test), and the straight line
again whenever the router cannot answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bluelamp.command.routing import (
    TYPICAL_SPEED_KMH,
    Origin,
    OsrmRouter,
    StraightLineRouter,
    router_for,
)
from bluelamp.settings import Settings
from bluelamp.tracking.index import haversine_km
from bluelamp.tracking.model import UnitType
from tests.conftest import free_port
from tests.router_server import ISLAND_LAT, RouterServer, road_metres, road_seconds

INCIDENT = (53.0245, -2.1747)  # Hanley
CAR_2KM = Origin(53.0425, -2.1747, "response_car")  # 2.0 km north
FOOT_600M = Origin(53.0299, -2.1747, "foot_patrol")  # 600 m north


@pytest.fixture
def server():
    with RouterServer() as running:
        yield running


def test_every_unit_type_has_a_typical_speed():
    assert set(TYPICAL_SPEED_KMH) == set(UnitType)
    assert TYPICAL_SPEED_KMH[UnitType.FOOT_PATROL] == 5
    assert TYPICAL_SPEED_KMH[UnitType.CYCLE_PATROL] == 15
    assert TYPICAL_SPEED_KMH[UnitType.RESPONSE_CAR] == 48
    assert TYPICAL_SPEED_KMH[UnitType.ARMED_RESPONSE_VEHICLE] > TYPICAL_SPEED_KMH[UnitType.RESPONSE_CAR]
    assert TYPICAL_SPEED_KMH[UnitType.VAN] < TYPICAL_SPEED_KMH[UnitType.RESPONSE_CAR]


def test_straight_line_is_distance_times_road_factor_at_the_unit_types_speed():
    router = StraightLineRouter(road_factor=1.35)
    car, foot = router.travel_seconds([CAR_2KM, FOOT_600M], INCIDENT)
    km = haversine_km(CAR_2KM.lat, CAR_2KM.lon, *INCIDENT)
    assert car == pytest.approx(km * 1.35 / 48 * 3600)
    assert foot == pytest.approx(haversine_km(FOOT_600M.lat, FOOT_600M.lon, *INCIDENT) * 1.35 / 5 * 3600)
    assert foot > car  # the nearer foot patrol takes longer


def test_the_road_factor_can_be_given_per_request_for_a_force():
    router = StraightLineRouter(road_factor=1.35)
    default = router.travel_seconds([CAR_2KM], INCIDENT)[0]
    rural = router.estimate([CAR_2KM], INCIDENT, road_factor=1.7)[0]
    assert rural.seconds == pytest.approx(default * 1.7 / 1.35)
    assert rural.basis == "straight line × 1.7 at 48 km/h"
    assert not rural.routed


def test_the_router_is_chosen_from_the_settings(server):
    assert isinstance(router_for(Settings()), StraightLineRouter)
    routed = router_for(Settings(router_url=server.url, router_timeout_ms=250))
    assert isinstance(routed, OsrmRouter)
    assert routed.timeout_s == 0.25


def test_osrm_durations_come_from_the_router_in_one_table_request(server):
    router = OsrmRouter(server.url, 2.0)
    origins = [CAR_2KM, Origin(53.0100, -2.2000, "armed_response_vehicle")]
    estimates = router.estimate(origins, INCIDENT)
    assert [e.seconds for e in estimates] == [
        pytest.approx(road_seconds((o.lat, o.lon), INCIDENT), abs=0.1) for o in origins
    ]
    assert all(e.routed and e.basis == "road router" for e in estimates)
    # The grid's figures are not the straight line's: proof the router's were used.
    assert estimates[0].seconds != pytest.approx(StraightLineRouter().travel_seconds([CAR_2KM], INCIDENT)[0], rel=0.05)
    assert len(server.requests) == 1
    request = urlsplit(server.requests[0])
    assert request.path == "/table/v1/driving/-2.174700,53.042500;-2.200000,53.010000;-2.174700,53.024500"
    query = parse_qs(request.query)
    assert query["sources"] == ["0;1"]
    assert query["destinations"] == ["2"]
    assert "duration" in query["annotations"][0].split(",")


def test_foot_patrols_use_the_routers_road_distance_at_walking_pace(server):
    router = OsrmRouter(server.url, 2.0)
    estimate = router.estimate([FOOT_600M], INCIDENT)[0]
    metres = road_metres((FOOT_600M.lat, FOOT_600M.lon), INCIDENT)
    assert estimate.seconds == pytest.approx(metres / 1000 / 5 * 3600, rel=1e-3)
    assert estimate.routed
    assert "at 5 km/h" in estimate.basis


def test_a_repeated_question_is_answered_from_the_cache(server):
    router = OsrmRouter(server.url, 2.0)
    first = router.travel_seconds([CAR_2KM], INCIDENT)
    again = router.travel_seconds([CAR_2KM], INCIDENT)
    assert first == again
    assert len(server.requests) == 1


def test_a_null_in_the_table_falls_back_to_the_straight_line_for_that_unit_only(server):
    router = OsrmRouter(server.url, 2.0)
    island = Origin(ISLAND_LAT + 0.5, -2.0, "response_car")
    reachable, unreachable = router.estimate([CAR_2KM, island], INCIDENT)
    assert reachable.routed
    assert not unreachable.routed
    assert unreachable.seconds == pytest.approx(StraightLineRouter().travel_seconds([island], INCIDENT)[0])
    assert unreachable.basis == "no road route from the router: straight line × 1.35 at 48 km/h"


def test_a_dead_router_falls_back_to_the_straight_line_and_says_so():
    router = OsrmRouter(f"http://127.0.0.1:{free_port()}", 0.5)
    estimate = router.estimate([CAR_2KM], INCIDENT, road_factor=1.35)[0]
    assert estimate.seconds == pytest.approx(StraightLineRouter().travel_seconds([CAR_2KM], INCIDENT)[0])
    assert not estimate.routed
    assert estimate.basis.startswith("router unavailable (")
    assert estimate.basis.endswith("straight line × 1.35 at 48 km/h")


def test_a_slow_router_is_not_waited_for_beyond_the_timeout(server):
    server.delay_s = 1.0
    router = OsrmRouter(server.url, 0.1)
    estimate = router.estimate([CAR_2KM], INCIDENT)[0]
    assert not estimate.routed
    assert "no answer within 100 ms" in estimate.basis


def test_after_a_failure_the_router_is_left_alone_for_a_while(server):
    server.broken = True
    router = OsrmRouter(server.url, 2.0, retry_after_s=60)
    first = router.estimate([CAR_2KM], INCIDENT)[0]
    server.broken = False
    second = router.estimate([CAR_2KM], INCIDENT)[0]
    assert "HTTP 500" in first.basis and "HTTP 500" in second.basis
    assert len(server.requests) == 1
