"""The demo's two forces: Staffordshire with its resources, and West Yorkshire with its
real published street crime and its own users, who see only their own force."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from bluelamp.access import queries as access_queries
from bluelamp.clock import Clock
from bluelamp.sim.demo import WEST_YORKSHIRE, SeedReport, demo_units, seed_demo, seed_second_force
from bluelamp.tracking import queries as tracking_queries
from tests.factories.access import bearer


def started(app) -> TestClient:
    """The app started after seeding (it loads the units into its live index on start)."""
    return TestClient(app, raise_server_exceptions=False)


def test_the_demo_force_puts_out_about_80_units_of_a_realistic_mix_all_crewed(db, app):
    with db.unit_of_work() as session:
        seed_demo(session, Clock())
    with db.read() as session:
        dispatcher = access_queries.user_by_username(session, "dispatcher")
    with started(app) as client:
        units = client.get("/api/v1/units", headers=bearer(db, dispatcher)).json()
    kinds = Counter(unit["unit_type"] for unit in units)
    assert 70 <= len(units) <= 90 and len(units) == len(demo_units())
    assert kinds["armed_response_vehicle"] == 2 and kinds["dog_van"] >= 1 and kinds["roads_policing_car"] >= 1
    assert kinds["foot_patrol"] >= 12 and kinds["response_car"] >= 40
    # Everyone is on the current shift: every unit is crewed, so recommendations find them.
    assert all(unit["status"] == "available" for unit in units)
    with db.read() as session:
        uncrewed = [u["call_sign"] for u in units if not tracking_queries.crew(session, u["id"], Clock().now())]
    assert uncrewed == []


def test_west_yorkshire_is_a_second_force_with_real_crime_whose_users_see_only_their_own(db, app):
    with db.unit_of_work() as session:
        seed_demo(session, Clock())
    report = SeedReport()
    seed_second_force(db, Clock(), report)
    assert any("55,713 real street crimes" in line for line in report.created), report.created
    with db.read() as session:
        wy = access_queries.user_by_username(session, "wy-dispatcher")
    assert wy.force_id == WEST_YORKSHIRE

    with started(app) as client:
        forces = client.get("/api/forces").json()
        dates = [d["date"] for d in client.get("/api/crimes-street-dates").json()]
        # Leeds city centre, July 2017: real crimes, as data.police.uk published them.
        leeds = client.get("/api/crimes-street/all-crime?lat=53.7997&lng=-1.5492&date=2017-07").json()
        units = client.get("/api/v1/units", headers=bearer(db, wy)).json()
        stations = client.get("/api/v1/stations", headers=bearer(db, wy)).json()
    assert {"id": "west-yorkshire", "name": "West Yorkshire Police"} in forces
    assert any(f["id"] == "staffordshire" for f in forces)
    assert "2017-07" in dates
    assert len(leeds) > 100 and all(c["location"]["latitude"].startswith("53.") for c in leeds)
    # Staffordshire's units and stations are not West Yorkshire's to see.
    assert units == [] and stations == []

    again = SeedReport()
    seed_second_force(db, Clock(), again)
    assert f"force {WEST_YORKSHIRE} and its published crime" in again.kept and not again.created
