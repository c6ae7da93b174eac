"""The tracking API over HTTP, as a Traccar Client phone, a vehicle gateway and a
dispatcher's screen use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bluelamp.tracking import service
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.tracking import force_actor, make_unit


@pytest.fixture
def phone(db, clock, app):
    """Unit SF21 with a registered phone, in the running app's index."""
    unit = make_unit(db, "SF21", status="available")
    with db.unit_of_work() as session:
        service.add_device(session, force_actor(), service.AddDevice("862531040000001", unit_call_sign="SF21"), clock)
    app.state.tracking.refresh_unit(unit.id)
    app.state.tracking.registry.reload()
    return unit


def now_s() -> str:
    return str(int(datetime.now(UTC).timestamp()))


def test_osmand_get_moves_the_unit(client, app, phone):
    response = client.get(
        "/ingest/osmand",
        params={
            "id": "862531040000001",
            "timestamp": now_s(),
            "lat": "53.0027",
            "lon": "-2.1794",
            "speed": "12.5",
            "bearing": "180",
            "batt": "80",
        },
    )
    assert response.status_code == 200
    state = app.state.tracking.index.units[phone.id]
    assert (state.lat, state.lon) == (53.0027, -2.1794)


def test_osmand_form_post_is_accepted_when_the_query_is_empty(client, app, phone):
    response = client.post(
        "/ingest/osmand", data={"id": "862531040000001", "timestamp": now_s(), "lat": "52.806", "lon": "-2.117"}
    )
    assert response.status_code == 200
    assert app.state.tracking.index.units[phone.id].lat == 52.806


def test_osmand_refuses_an_unknown_device_with_400_as_traccar_does(client, phone):
    response = client.get("/ingest/osmand", params={"id": "stolen-phone", "lat": "53", "lon": "-2"})
    assert response.status_code == 400
    assert response.json()["code"] == "device.unknown"


def test_osmand_refuses_a_bad_fix_with_the_field(client, phone):
    response = client.get("/ingest/osmand", params={"id": "862531040000001", "lat": "NaN", "lon": "-2"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lat"


@pytest.fixture
def gateway(db):
    return bearer(db, make_user(db, "tracking_gateway"))


def test_a_gateway_batch_reports_each_item_and_keeps_the_good_ones(client, app, phone, gateway, db):
    make_unit(db, "SF22")
    t = datetime.now(UTC)
    batch = {
        "positions": [
            {"device_id": "862531040000001", "timestamp": t.isoformat(), "lat": 53.01, "lon": -2.18, "speed_mps": 13.4},
            {"device_id": "862531040000001", "timestamp": t.isoformat(), "lat": 91, "lon": -2.18},
            {"device_id": "not-registered", "lat": 53, "lon": -2},
            {
                "device_id": "862531040000001",
                "timestamp": (t + timedelta(seconds=5)).isoformat(),
                "lat": 53.02,
                "lon": -2.19,
            },
        ]
    }
    response = client.post("/api/v1/positions", json=batch, headers=gateway)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert [(r["ok"], r["code"]) for r in body["results"]] == [
        (True, None),
        (False, "position.invalid"),
        (False, "device.unknown"),
        (True, None),
    ]
    state = app.state.tracking.index.units[phone.id]
    assert state.lat == 53.02 and state.speed_mps is None
    assert app.state.tracking.writer.flush() == 2


def test_a_gateway_cannot_report_another_forces_devices(client, app, db, clock):
    ensure_force(db, "west-yorkshire")
    make_unit(db, "WY1", force_id="west-yorkshire")
    with db.unit_of_work() as session:
        service.add_device(
            session, force_actor("west-yorkshire"), service.AddDevice("wy-tracker", unit_call_sign="WY1"), clock
        )
    app.state.tracking.registry.reload()
    headers = bearer(db, make_user(db, "tracking_gateway"))
    response = client.post(
        "/api/v1/positions",
        json={"positions": [{"device_id": "wy-tracker", "lat": 53.8, "lon": -1.5}]},
        headers=headers,
    )
    assert response.json()["results"][0]["code"] == "device.unknown"


def test_an_oversized_batch_is_refused_with_413(client, app, gateway):
    limit = app.state.settings.position_max_batch
    items = [{"device_id": "x", "lat": 53, "lon": -2}] * (limit + 1)
    response = client.post("/api/v1/positions", json={"positions": items}, headers=gateway)
    assert response.status_code == 413
    assert response.json()["code"] == "input.too_large"


def test_a_batch_must_be_json_with_positions(client, gateway):
    assert client.post("/api/v1/positions", content=b"{not json", headers=gateway).status_code == 422
    assert client.post("/api/v1/positions", json={"fixes": []}, headers=gateway).json()["code"] == "input.invalid"


@pytest.fixture
def dispatcher(db):
    return bearer(db, make_user(db, "dispatcher"))


def test_status_changes_follow_the_lifecycle(client, app, phone, dispatcher):
    response = client.post(f"/api/v1/units/{phone.id}/status", json={"status": "en_route"}, headers=dispatcher)
    assert response.status_code == 200 and response.json()["status"] == "en_route"
    assert app.state.tracking.index.units[phone.id].status == "en_route"
    illegal = client.post(f"/api/v1/units/{phone.id}/status", json={"status": "off_duty"}, headers=dispatcher)
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "unit.illegal_status"
    assert "at_scene" in illegal.json()["allowed"]


def test_nearest_units_with_a_capability(client, app, db, dispatcher):
    near = make_unit(db, "SF31", lat=53.003, lon=-2.18)
    far = make_unit(db, "SF32", lat=52.806, lon=-2.117)
    arv = make_unit(db, "ARV1", unit_type="armed_response_vehicle", lat=52.9, lon=-2.15)
    busy = make_unit(db, "SF33", status="at_scene", lat=53.004, lon=-2.181)
    for unit in (near, far, arv, busy):
        app.state.tracking.refresh_unit(unit.id)
    found = client.get("/api/v1/units/nearest", params={"lat": 53.0, "lon": -2.18, "k": 3}, headers=dispatcher).json()
    assert [f["unit"]["call_sign"] for f in found] == ["SF31", "ARV1", "SF32"]
    assert found[0]["distance_km"] < 1
    armed = client.get(
        "/api/v1/units/nearest", params={"lat": 53.0, "lon": -2.18, "capability": "firearms"}, headers=dispatcher
    ).json()
    assert [f["unit"]["call_sign"] for f in armed] == ["ARV1"]
    bad = client.get("/api/v1/units/nearest", params={"lat": 95, "lon": -2.18}, headers=dispatcher)
    assert bad.status_code == 422


def test_the_trail_replays_as_geojson(client, app, phone, dispatcher):
    start = datetime.now(UTC) - timedelta(minutes=10)
    for n in range(3):
        client.get(
            "/ingest/osmand",
            params={
                "id": "862531040000001",
                "lat": str(53.0 + n / 100),
                "lon": "-2.18",
                "timestamp": str(int((start + timedelta(minutes=n)).timestamp())),
            },
        )
    response = client.get(
        f"/api/v1/units/{phone.id}/trail",
        headers=dispatcher,
        params={"since": (start - timedelta(minutes=1)).isoformat(), "until": datetime.now(UTC).isoformat()},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    geojson = response.json()
    line = geojson["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"] == [[-2.18, 53.0], [-2.18, 53.01], [-2.18, 53.02]]
    assert len(geojson["features"]) == 4


def test_an_emergency_from_the_phone_is_acknowledged_by_a_dispatcher(client, app, phone, dispatcher, db):
    client.get("/ingest/osmand", params={"id": "862531040000001", "lat": "53.0", "lon": "-2.18", "alarm": "sos"})
    open_ = client.get("/api/v1/emergencies", headers=dispatcher).json()
    assert [(e["call_sign"], e["source"]) for e in open_] == [("SF21", "device_alarm")]
    officer = bearer(db, make_user(db, "response_officer"))
    refused = client.post(f"/api/v1/emergencies/{open_[0]['id']}/acknowledge", headers=officer)
    assert refused.status_code == 403
    done = client.post(
        f"/api/v1/emergencies/{open_[0]['id']}/acknowledge", json={"note": "ARV sent"}, headers=dispatcher
    )
    assert done.status_code == 204
    assert client.get("/api/v1/emergencies", headers=dispatcher).json() == []
