"""The simulator (`bluelamp simulate`): the hour-of-week curve and the year's calls, the same
seed giving the same calls and plans, realistic drives, and runs against a real server
that go through the public API and the OsmAnd ingest only: incidents graded with THRIVE,
units dispatched whose positions arrive through the ingest, crimes with victims, incidents
closed, emergencies raised and acknowledged; and the command line's one-line errors."""

from __future__ import annotations

import random
import secrets
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bluelamp.cli import main
from bluelamp.clock import Clock
from bluelamp.command.config import DEFAULT_CATEGORIES, DEFAULT_QUALIFIERS
from bluelamp.settings import Settings
from bluelamp.sim.sim_calls import (
    CATEGORIES,
    HOURS_PER_YEAR,
    CallGenerator,
    calls_per_hour,
    hour_of_week,
    hour_of_week_shape,
    inside_outline,
    plan_for,
)
from bluelamp.sim.sim_client import Api
from bluelamp.sim.sim_units import MPH, Router
from bluelamp.sim.sim_world import SimConfig
from bluelamp.sim.simulator import Simulator
from bluelamp.storage import Database, migrate
from bluelamp.tracking.index import haversine_km
from tests.conftest import BACKEND, LiveServer, free_port
from tests.factories.access import bearer, issue_token, make_user
from tests.router_server import RouterServer, road_seconds

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # Monday 00:00 in London (GMT)
TUESDAY_AFTERNOON = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def rate(weekday: int, hour: int) -> float:
    return hour_of_week_shape()[weekday * 24 + hour]


# ---------------------------------------------------------------- the curve


@cache
def fortnight_of_calls() -> tuple:
    """Two weeks of Staffordshire's calls from a Monday, seed 7."""
    generator = CallGenerator(7, MONDAY)
    calls = []
    while (call := generator.next_call()).at < MONDAY + timedelta(days=14):
        calls.append(call)
    return tuple(calls)


def test_the_curve_is_quiet_before_dawn_and_peaks_on_friday_and_saturday_evenings():
    shape = hour_of_week_shape()
    assert len(shape) == 168
    assert sum(shape) / 168 == pytest.approx(1.0)
    quietest, busiest = shape.index(min(shape)), shape.index(max(shape))
    assert 3 <= quietest % 24 <= 6, "the quietest hour is before dawn"
    assert busiest // 24 in (4, 5) and busiest % 24 in (20, 21, 22, 23), "the busiest is a Friday or Saturday evening"
    for weekday in range(5):
        assert rate(weekday, 4) < 0.5 * rate(weekday, 17), "4am is far quieter than 5pm"
    assert rate(4, 22) > 1.3 * rate(1, 22), "Friday 10pm is busier than Tuesday 10pm"
    assert rate(5, 1) > 1.5 * rate(2, 1), "the small hours of Saturday are busier than Wednesday's"
    assert max(shape) / min(shape) > 3


def test_the_hour_of_week_is_london_time_across_the_clock_change():
    # 29 March 2026 01:00 UTC: the clocks go forward, 01:30 UTC is 02:30 BST on Sunday.
    assert hour_of_week(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)) == 6 * 24 + 0
    assert hour_of_week(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == 6 * 24 + 2
    assert hour_of_week(datetime(2026, 7, 6, 23, 30, tzinfo=UTC)) == 1 * 24 + 0  # Tuesday 00:30 BST


def test_a_year_of_calls_adds_up_to_staffordshires_600000():
    per_hour = [calls_per_hour(MONDAY + timedelta(hours=h)) for h in range(168)]
    assert sum(per_hour) * HOURS_PER_YEAR / 168 == pytest.approx(600_000, rel=1e-9)
    assert sum(per_hour) / 168 / 60 == pytest.approx(1.14, abs=0.01)  # about 1.14 calls a minute
    calls = fortnight_of_calls()
    expected = 600_000 * 14 * 24 / HOURS_PER_YEAR
    assert abs(len(calls) - expected) < 0.03 * expected
    by_hour = Counter(hour_of_week(c.at) for c in calls)
    night = sum(by_hour[d * 24 + h] for d in range(5) for h in (3, 4, 5))
    evening = sum(by_hour[d * 24 + h] for d in (4, 5) for h in (20, 21, 22))
    assert evening / 6 > 3 * night / 15, "an hour of a Friday or Saturday evening is far busier than one before dawn"


def test_a_smaller_force_gets_fewer_calls_on_the_same_curve():
    assert calls_per_hour(MONDAY, 300_000) == pytest.approx(calls_per_hour(MONDAY) / 2)


# ---------------------------------------------------------------- the same seed, the same calls


def first_calls(seed: int, count: int = 300, start: datetime = MONDAY):
    generator = CallGenerator(seed, start)
    return [generator.next_call() for _ in range(count)]


def test_the_same_seed_gives_the_same_calls_and_plans():
    first, again = first_calls(11), first_calls(11)
    assert first == again
    assert [plan_for(11, c) for c in first] == [plan_for(11, c) for c in again]
    other = first_calls(12)
    assert [(c.at, c.category) for c in other] != [(c.at, c.category) for c in first]


def test_a_calls_plan_does_not_depend_on_what_came_before():
    calls = first_calls(5, 50)
    alone = plan_for(5, calls[40])
    for call in calls[:40]:
        plan_for(5, call)
    assert plan_for(5, calls[40]) == alone


def test_calls_are_what_a_call_handler_records():
    calls = first_calls(3, 2000)
    categories = {c.code for c in DEFAULT_CATEGORIES}
    qualifiers = {q.code for q in DEFAULT_QUALIFIERS}
    assert {k.code for k in CATEGORIES} <= categories
    for call in calls:
        assert call.category in categories
        assert set(call.qualifiers) <= qualifiers
        assert call.grade in ("1", "2", "3", "4")
        assert all(call.thrive[p].strip() for p in ("threat", "harm", "risk", "investigation", "vulnerability"))
        assert call.thrive["engagement"].strip()
        assert inside_outline(call.lat, call.lon), call.address
        assert call.caller_phone.startswith("07700 900")  # Ofcom's drama numbers: never a real person
    grades = Counter(c.grade for c in calls)
    assert all(grades[g] > 0.05 * len(calls) for g in "1234")
    emergencies = [c for c in calls if c.grade == "1" and c.duplicate_of is None]
    assert Counter(c.source for c in emergencies)["999"] > 0.8 * len(emergencies)
    assert 0.03 < sum(1 for c in calls if c.duplicate_of) / len(calls) < 0.15
    stoke = sum(1 for c in calls if c.town == "Stoke-on-Trent")
    leek = sum(1 for c in calls if c.town == "Leek")
    assert stoke > 5 * leek, "calls follow where people live"


def test_night_time_calls_are_more_often_violence_and_daytime_ones_shoplifting():
    calls = fortnight_of_calls()
    nights_out = [c for c in calls if hour_of_week(c.at) in {d * 24 + h for d in (4, 5) for h in (21, 22, 23)}]
    weekdays = [c for c in calls if hour_of_week(c.at) in {d * 24 + h for d in range(5) for h in range(10, 16)}]

    def share(calls, code):
        return sum(1 for c in calls if c.category == code) / len(calls)

    assert share(nights_out, "violence_in_progress") > 1.5 * share(weekdays, "violence_in_progress")
    assert share(weekdays, "shoplifting") > 2 * share(nights_out, "shoplifting")


# ---------------------------------------------------------------- drives


def test_a_blue_light_drive_takes_about_the_straight_line_times_the_road_factor():
    router = Router()
    a, b = (53.003, -2.180), (53.003, -2.030)  # about 10 km east across Stoke
    km = haversine_km(*a, *b)
    leg = router.drive(a, b, "response_car", "1", 100.0, random.Random(1))
    minutes = (leg.end - leg.start) / 60
    assert leg.start == 100.0 and leg.points[0] == a and leg.points[-1] == b
    assert minutes == pytest.approx(km * 1000 * 1.35 / (60 * MPH) / 60, rel=0.01)  # long trip: 60 mph
    assert 8 < minutes < 20
    near = router.drive(a, (53.010, -2.180), "response_car", "2", 0.0, random.Random(1))
    assert (near.end - near.start) / 60 > haversine_km(*a, 53.010, -2.180) * 1000 * 1.35 / (40 * MPH) / 60
    walk = router.drive(a, (53.010, -2.180), "foot_patrol", "1", 0.0, random.Random(1))
    assert walk.end - walk.start > 5 * (near.end - near.start)
    lat, lon, bearing = leg.at((leg.start + leg.end) / 2)
    assert min(a[1], b[1]) < lon < max(a[1], b[1]) and bearing is not None
    assert leg.at(leg.end + 60)[:2] == b


def test_with_a_road_router_the_drive_takes_its_time_under_blue_lights():
    a, b = (53.003, -2.180), (53.043, -2.100)
    with RouterServer() as server:
        leg = Router(server.url).drive(a, b, "response_car", "1", 0.0, random.Random(1))
        assert any(path.startswith("/route/v1/driving/") for path in server.requests)
    assert leg.end - leg.start == pytest.approx(road_seconds(a, b) * 0.7)
    # A router that does not answer: the straight-line estimate, as without one.
    down = Router(f"http://127.0.0.1:{free_port()}").drive(a, b, "response_car", "1", 0.0, random.Random(1))
    straight = Router().drive(a, b, "response_car", "1", 0.0, random.Random(1))
    assert down.end == pytest.approx(straight.end) and down.end != pytest.approx(leg.end)


# ---------------------------------------------------------------- against a real server


@pytest.fixture(scope="module")
def demo_template(database_factory):
    """A database with the demo force, migrated and seeded once, to copy for each server."""
    from bluelamp.sim.demo import seed_demo

    url = database_factory.new_url("simulator")
    database = Database.from_url(url)
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        seed_demo(session, Clock())
    user = make_user(database, "call_handler", "dispatcher", "response_officer", username="sim-test")
    database.dispose()
    return url, user


def copy_of(database_factory, template: str) -> str:
    """A new database holding what the template holds."""
    if BACKEND != "postgresql":
        source = make_url(template).database
        target = database_factory.new_url("simulator-copy")
        shutil.copyfile(source, make_url(target).database)
        return target
    name = f"bluelamp_test_copy_{secrets.token_hex(4)}"
    admin = create_engine(make_url(template).set(database="postgres", drivername="postgresql+psycopg"))
    with admin.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"'))
    admin.dispose()
    database_factory.created.append(name)
    return make_url(template).set(database=name).render_as_string(hide_password=False)


@contextmanager
def serving(database_factory, demo_template):
    """A real server on a copy of the demo force, with a token for the simulator's user."""
    url, user = demo_template
    copied = copy_of(database_factory, url)
    database = Database.from_url(copied)
    running = LiveServer(Settings(database_url=copied, port=free_port()), database)
    running.start()
    running.token = issue_token(database, user)
    try:
        yield running
    finally:
        running.stop()
        database.dispose()


@pytest.fixture(scope="module")
def server(database_factory, demo_template):
    """A real server with the demo force, of its own: a run changes units and incidents,
    which the browser tests' shared server must not see."""
    with serving(database_factory, demo_template) as running:
        yield running


@pytest.fixture(scope="module")
def simulator_token(server):
    return server.token


def get(server, token, path, **params):
    answer = requests.get(
        server.url + path,
        params=params,
        headers={"Authorization": f"Bearer {token}", "X-Bluelamp-Reason": "test"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def trail_points(server, token, unit_id, since: datetime) -> list[list[float]]:
    """The unit's trail since ``since``; the ingest stores trails in batches a moment later."""
    points: list[list[float]] = []
    for _ in range(50):
        trail = get(server, token, f"/api/v1/units/{unit_id}/trail", since=(since - timedelta(minutes=1)).isoformat())
        points = [f["geometry"]["coordinates"] for f in trail["features"] if f["geometry"]["type"] == "Point"]
        if len(points) >= 2:
            break
        time.sleep(0.1)
    return points


def quick(seed: int, **changes) -> SimConfig:
    """A short run: fewer calls and fixes than the demo, so the test takes seconds."""
    values = dict(
        seed=seed,
        speed=1.0,
        start=TUESDAY_AFTERNOON,
        calls_per_year=120_000,
        report_moving_s=300,
        report_still_s=1800,
        poll_s=900,
        crime_factor=3.0,
        emergency_every_hours=0,
        journal=True,
    )
    values.update(changes)
    return SimConfig(**values)


def test_a_run_takes_calls_dispatches_units_that_report_through_the_ingest_and_records_crimes(server, simulator_token):
    api = Api(server.url, simulator_token)
    simulator = Simulator(api, quick(21))
    simulator.connect()
    started = datetime.now(UTC)
    try:
        simulator.advance(2.5 * 3600)
    finally:
        api.close()
    stats = simulator.stats
    assert stats.errors == 0, stats.last_error
    # The calls are the generator's, whatever the server answered: the same seed, the same calls.
    expected = CallGenerator(21, TUESDAY_AFTERNOON, 120_000)
    made = [entry[1:] for entry in simulator.journal if entry[0] == "call"]
    assert made == [(c.number, c.category, c.grade, c.source) for c in (expected.next_call() for _ in made)]
    assert stats.calls == len(made) >= 8

    # Incidents were created, graded and assessed with THRIVE as the calls said.
    ours = [i for i in simulator.incidents.values() if i.owned and i.call]
    assert len(ours) == stats.incidents > 0
    incident = next(i for i in ours if i.call.grade in ("1", "2"))
    detail = get(server, simulator_token, f"/api/v1/incidents/{incident.id}")
    assert detail["incident"]["grade"] == incident.call.grade
    assert detail["incident"]["category"] == incident.call.category
    assessment = detail["assessments"][0]
    assert {p: assessment[p] for p in incident.call.thrive} == incident.call.thrive
    assert detail["calls"][0]["source"] == incident.call.source

    # A unit was sent (the top recommendation), acknowledged, arrived and cleared...
    assert stats.assigned > 0 and stats.arrived > 0 and stats.closed > 0
    assigned = [e for e in simulator.journal if e[0] == "assign"]
    assert len(assigned) == stats.assigned and any(e[3] == 1 for e in assigned)
    done = next(i for i in ours if i.arrived_any and i.call.grade in ("1", "2"))
    rows = get(server, simulator_token, f"/api/v1/incidents/{done.id}/assignments")
    first = rows[0]
    assert first["acknowledged_at"] and first["arrived_at"]
    # ...its positions came in through the OsmAnd ingest, the last of the drive at the scene.
    points = trail_points(server, simulator_token, first["unit_id"], started)
    assert len(points) >= 2
    assert min(haversine_km(lat, lon, done.lat, done.lon) for lon, lat in points) < 0.05
    units = {u["id"]: u for u in get(server, simulator_token, "/api/v1/units")}
    assert units[first["unit_id"]]["fix_at"] is not None
    assert stats.fixes > len(units)

    # Some incidents became crimes with victims, and closed with the crime's reference.
    assert stats.crimes > 0 and stats.victims > 0
    crimes = get(server, simulator_token, "/api/v1/crimes")
    from_ours = [c for c in crimes if c["incident_id"] in {i.id for i in ours}]
    assert len(from_ours) == stats.crimes
    with_victims = [c for c in from_ours if get(server, simulator_token, f"/api/v1/crimes/{c['id']}")["victims"]]
    assert len(with_victims) == stats.victims
    closed = get(server, simulator_token, "/api/v1/incidents", status=["closed"], limit=1000)
    recorded = [i for i in closed if i["result"] == "crime_recorded"]
    assert recorded and all(i["crime_reference"] for i in recorded)
    assert {i["crime_reference"] for i in recorded} <= {c["reference"] for c in from_ours}


def test_the_same_seed_on_the_same_force_gives_the_same_calls_and_decisions(database_factory, demo_template):
    journals = []
    for _ in range(2):
        with serving(database_factory, demo_template) as running:
            api = Api(running.url, running.token)
            friday_evening = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)
            config = quick(4, start=friday_evening, calls_per_year=300_000, emergency_every_hours=0.5)
            simulator = Simulator(api, config)
            simulator.connect()
            try:
                simulator.advance(3600)
            finally:
                api.close()
            journals.append(simulator.journal)
    first, second = journals
    kinds = Counter(entry[0] for entry in first)
    assert kinds["call"] > 20 and kinds["assign"] > 10 and kinds["crime"] > 0 and kinds["emergency"] > 0
    assert first == second, "the same calls, the same units sent, the same crimes and closes, in the same order"


def test_without_auto_dispatch_calls_wait_for_the_person_at_the_screen_whose_choice_the_units_follow(
    server, simulator_token
):
    api = Api(server.url, simulator_token)
    simulator = Simulator(api, quick(33, auto_dispatch=False, start=TUESDAY_AFTERNOON + timedelta(days=7)))
    simulator.connect()
    try:
        simulator.advance(1800)
        assert simulator.stats.assigned == 0
        waiting = [i for i in simulator.incidents.values() if i.owned and i.call and i.state == "waiting"]
        assert waiting, "grade 1 and 2 calls wait on the queue"
        incident = min(waiting, key=lambda i: i.plan.scene_minutes)
        dispatcher = make_user(server.database, "dispatcher")
        headers = bearer(server.database, dispatcher)
        recommended = requests.get(
            f"{server.url}/api/v1/incidents/{incident.id}/recommendations", headers=headers, timeout=10
        ).json()["recommendations"]
        unit_id = next(r["unit_id"] for r in recommended if not r["committed"])
        answer = requests.post(
            f"{server.url}/api/v1/incidents/{incident.id}/assignments",
            json={"unit_id": unit_id},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        simulator.advance(simulator.t + 3600 + incident.plan.scene_minutes * 60)
    finally:
        api.close()
    rows = get(server, simulator_token, f"/api/v1/incidents/{incident.id}/assignments")
    assert rows[0]["unit_id"] == unit_id and rows[0]["acknowledged_at"] and rows[0]["arrived_at"]
    assert rows[0]["released_at"], "the unit cleared after its time at the scene"
    assert simulator.stats.assigned == 0, "the simulator itself sent no unit"
    assert simulator.stats.followed >= 1


def test_an_emergency_button_press_goes_through_the_ingest_and_is_acknowledged(server, simulator_token):
    api = Api(server.url, simulator_token)
    simulator = Simulator(
        api, quick(44, emergency_every_hours=0.25, calls_per_year=20_000, start=TUESDAY_AFTERNOON + timedelta(14))
    )
    simulator.connect()
    try:
        simulator.advance(3600)
    finally:
        api.close()
    pressed = [(e[1], e[2]) for e in simulator.journal if e[0] == "emergency"]
    assert pressed and simulator.stats.errors == 0 and simulator.stats.emergencies == len(pressed)
    # Each press raised an emergency through the ingest; the simulated dispatcher acknowledged
    # it and the unit went back to work: all but those pressed in the last ten minutes are over.
    over = {call_sign for call_sign, at in pressed if at < simulator.t - 600}
    assert over
    statuses = {u["call_sign"]: u["status"] for u in get(server, simulator_token, "/api/v1/units")}
    assert all(statuses[c] != "emergency" for c in over)
    still_open = {e["call_sign"] for e in get(server, simulator_token, "/api/v1/emergencies")}
    assert not (still_open & over)


# ---------------------------------------------------------------- the command line


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run `bluelamp ARGS` in this process; (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status: int, err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_without_a_server_the_command_says_so_in_one_line(capsys):
    status, _, err = run(capsys, "simulate", "--url", f"http://127.0.0.1:{free_port()}", "--token", "bl_x")
    one_line_error(status, err, "cannot reach Bluelamp at http://127.0.0.1:", "bluelamp serve")


def test_a_bad_token_is_refused_in_one_line(server, capsys):
    status, _, err = run(capsys, "simulate", "--url", server.url, "--token", "bl_not_a_token", "--duration", "1s")
    one_line_error(status, err, "refused the token")


def test_a_token_without_the_roles_it_needs_is_refused_in_one_line(server, capsys):
    investigator = make_user(server.database, "investigator")
    token = bearer(server.database, investigator)["Authorization"].removeprefix("Bearer ")
    status, _, err = run(capsys, "simulate", "--url", server.url, "--token", token, "--duration", "1s")
    one_line_error(status, err, "may not", "call_handler")


def test_on_the_servers_machine_it_makes_its_own_token_and_revokes_it_at_the_end(server, capsys, monkeypatch):
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", server.settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    status, out, err = run(capsys, "simulate", "--url", server.url, "--duration", "2s", "--speed", "60", "--seed", "5")
    assert status == 0, err
    assert "as simulator (a token made for this run)" in out
    assert "stopped:" in out and "calls" in out
    status, listed, _ = run(capsys, "token", "list", "simulator")
    assert status == 0 and "bluelamp simulate" in listed
    assert "revoked" in listed and "active" not in listed
