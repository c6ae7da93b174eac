"""Recommendations and dispatch over HTTP, as the control-room screens use them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import free_port
from tests.factories.access import bearer, make_user
from tests.factories.dispatch import HANLEY, crew_member, make_incident, place
from tests.factories.tracking import make_unit
from tests.router_server import RouterServer, road_seconds

LAT, LON = HANLEY
KM = 1 / 111.195
PROBLEM = "application/problem+json"


@pytest.fixture
def as_dispatcher(db):
    return bearer(db, make_user(db, "dispatcher"))


@pytest.fixture
def events(app):
    seen = []
    app.state.bus.subscribe(seen.append)
    return seen


def unit_at(db, app, call_sign, km_north, unit_type="response_car", **kwargs):
    unit = make_unit(db, call_sign, unit_type, **kwargs)
    place(app.state.tracking, unit, LAT + km_north * KM, LON)
    return unit


def recommendations(client, incident, headers, **params):
    return client.get(f"/api/v1/incidents/{incident.id}/recommendations", params=params, headers=headers)


def test_recommendations_list_suitable_units_by_travel_time_with_reasons(client, app, db, as_dispatcher):
    unit_at(db, app, "FOOT1", 0.6, "foot_patrol")
    unit_at(db, app, "CAR1", 2.0)
    unit_at(db, app, "ARV1", 4.0, "armed_response_vehicle")
    incident = make_incident(db)
    response = recommendations(client, incident, as_dispatcher)
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == incident.reference
    assert body["required"] == [] and body["required_by"] == "incident"
    assert [r["call_sign"] for r in body["recommendations"]] == ["CAR1", "ARV1", "FOOT1"]
    car = body["recommendations"][0]
    assert car["rank"] == 1 and car["status"] == "available" and car["freshness"] == "live"
    assert car["reasons"][0] == "2.0 km away, about 3 min by road (straight line × 1.35 at 48 km/h)"

    armed = recommendations(client, make_incident(db, qualifiers=("firearms",)), as_dispatcher).json()
    assert armed["required"] == ["firearms"]
    assert [(r["call_sign"], r["required_met"]) for r in armed["recommendations"]] == [
        ("ARV1", True),
        ("CAR1", False),
        ("FOOT1", False),
    ]
    assert "has firearms" in armed["recommendations"][0]["reasons"]


def test_the_dispatcher_overrides_the_requirements_in_the_query(client, app, db, as_dispatcher):
    unit_at(db, app, "CAR1", 1.0)
    unit_at(db, app, "ARV1", 4.0, "armed_response_vehicle")
    incident = make_incident(db, qualifiers=("firearms",))
    anyone = recommendations(client, incident, as_dispatcher, require="").json()
    assert anyone["required_by"] == "dispatcher"
    assert [r["call_sign"] for r in anyone["recommendations"]] == ["CAR1", "ARV1"]
    assert recommendations(client, incident, as_dispatcher, require="firearms", count=1).json()["count"] == 1


def test_bad_recommendation_queries_are_problem_details(client, db, as_dispatcher):
    incident = make_incident(db)
    unknown = recommendations(client, incident, as_dispatcher, require="taser,jetpack")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith(PROBLEM)
    assert unknown.json()["errors"] == [{"field": "require", "message": "unknown capability 'jetpack'"}]
    assert recommendations(client, incident, as_dispatcher, count=0).status_code == 422
    missing = client.get("/api/v1/incidents/nope/recommendations", headers=as_dispatcher)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_assign_acknowledge_arrive_release_over_http(client, app, db, as_dispatcher, events):
    unit = unit_at(db, app, "SF21", 1.0)
    incident = make_incident(db)
    base = f"/api/v1/incidents/{incident.id}/assignments"

    sent = client.post(
        base, json={"unit_id": unit.id, "recommended_rank": 1, "eta_seconds": 120}, headers=as_dispatcher
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["unit_status"] == "assigned" and body["incident_status"] == "dispatched"
    assert body["call_sign"] == "SF21" and body["recommended_rank"] == 1 and body["eta_seconds"] == 120
    assert client.get(f"/api/v1/units/{unit.id}", headers=as_dispatcher).json()["status"] == "assigned"
    names = [e.name for e in events]
    assert "UnitStatusChanged" in names and "IncidentChanged" in names

    ack = client.post(f"{base}/{unit.id}/acknowledge", headers=as_dispatcher)
    assert ack.status_code == 200 and ack.json()["unit_status"] == "en_route"
    there = client.post(f"{base}/{unit.id}/arrive", headers=as_dispatcher)
    assert there.json()["unit_status"] == "at_scene" and there.json()["incident_status"] == "at_scene"
    done = client.post(f"{base}/{unit.id}/release", json={"reason": "words of advice"}, headers=as_dispatcher)
    assert done.status_code == 200
    assert done.json()["unit_status"] == "available" and done.json()["release_reason"] == "words of advice"
    assert client.get(f"/api/v1/units/{unit.id}", headers=as_dispatcher).json()["status"] == "available"

    (history,) = client.get(base, headers=as_dispatcher).json()
    assert history["acknowledged_at"] and history["arrived_at"] and history["released_at"]


def test_an_off_duty_unit_is_refused_with_a_409(client, app, db, as_dispatcher):
    unit = unit_at(db, app, "OFF1", 1.0, status="off_duty")
    incident = make_incident(db)
    response = client.post(
        f"/api/v1/incidents/{incident.id}/assignments", json={"unit_id": unit.id}, headers=as_dispatcher
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "dispatch.off_duty" and body["unit_status"] == "off_duty"
    assert "available" in body["allowed"]


def test_a_diversion_needs_a_reason_over_http(client, app, db, as_dispatcher):
    unit = unit_at(db, app, "SF21", 1.0)
    first, second = make_incident(db), make_incident(db, grade="1")
    client.post(f"/api/v1/incidents/{first.id}/assignments", json={"unit_id": unit.id}, headers=as_dispatcher)
    refused = client.post(
        f"/api/v1/incidents/{second.id}/assignments", json={"unit_id": unit.id}, headers=as_dispatcher
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "dispatch.divert_reason_required"
    assert refused.json()["current_incident"] == first.reference
    diverted = client.post(
        f"/api/v1/incidents/{second.id}/assignments",
        json={"unit_id": unit.id, "divert_reason": "grade 1 round the corner"},
        headers=as_dispatcher,
    )
    assert diverted.status_code == 201
    (old,) = client.get(f"/api/v1/incidents/{first.id}/assignments", headers=as_dispatcher).json()
    assert old["release_reason"] == f"diverted to {second.reference}: grade 1 round the corner"
    assert old["diverted_to_incident_id"] == second.id


def test_withdrawing_before_arrival_without_a_reason_is_a_422(client, app, db, as_dispatcher):
    unit = unit_at(db, app, "SF21", 1.0)
    incident = make_incident(db)
    base = f"/api/v1/incidents/{incident.id}/assignments"
    client.post(base, json={"unit_id": unit.id}, headers=as_dispatcher)
    response = client.post(f"{base}/{unit.id}/release", headers=as_dispatcher)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"


def test_response_officers_acknowledge_for_their_own_unit_only(client, app, db, as_dispatcher):
    theirs, other = unit_at(db, app, "SF31", 1.0), unit_at(db, app, "SF32", 2.0)
    officer = make_user(db, "response_officer")
    crew_member(db, theirs, officer)
    as_officer = bearer(db, officer)
    incident = make_incident(db)
    base = f"/api/v1/incidents/{incident.id}/assignments"
    for unit in (theirs, other):
        client.post(base, json={"unit_id": unit.id}, headers=as_dispatcher)
    refused = client.post(f"{base}/{other.id}/acknowledge", headers=as_officer)
    assert refused.status_code == 403 and refused.json()["code"] == "dispatch.not_your_unit"
    accepted = client.post(f"{base}/{theirs.id}/acknowledge", headers=as_officer)
    assert accepted.status_code == 200 and accepted.json()["unit_status"] == "en_route"
    cannot_assign = client.post(base, json={"unit_id": other.id}, headers=as_officer)
    assert cannot_assign.status_code == 403 and cannot_assign.json()["code"] == "access.denied"


def test_recommending_and_assigning_are_for_dispatchers(client, app, db):
    unit = unit_at(db, app, "CAR1", 1.0)
    incident = make_incident(db)
    for role in ("call_handler", "investigator"):
        headers = bearer(db, make_user(db, role))
        assert recommendations(client, incident, headers).status_code == 403
        response = client.post(
            f"/api/v1/incidents/{incident.id}/assignments", json={"unit_id": unit.id}, headers=headers
        )
        assert response.status_code == 403 and response.json()["code"] == "access.denied"
    supervisor = bearer(db, make_user(db, "supervisor"))
    assert recommendations(client, incident, supervisor).status_code == 200


def routed_client(settings, db, clock, router_url):
    from bluelamp.web import create_app

    app = create_app(
        settings.model_copy(update={"router_url": router_url, "router_timeout_ms": 500}),
        database=db,
        clock=clock,
        background_writer=False,
    )
    return app, TestClient(app, raise_server_exceptions=False)


def test_with_a_router_configured_the_etas_are_the_routers(settings, db, clock):
    incident = make_incident(db)
    with RouterServer() as server:
        app, client = routed_client(settings, db, clock, server.url)
        with client:
            headers = bearer(db, make_user(db, "dispatcher"))
            unit = unit_at(db, app, "CAR1", 2.0)
            body = recommendations(client, incident, headers).json()
        assert len(server.requests) == 1
    (car,) = body["recommendations"]
    state = app.state.tracking.index.units[unit.id]
    assert car["eta_seconds"] == round(road_seconds((state.lat, state.lon), HANLEY))
    assert car["routed"] is True
    assert car["reasons"][0].endswith("by road (road router)")


def test_with_the_router_down_the_straight_line_answers_and_says_so(settings, db, clock):
    incident = make_incident(db)
    app, client = routed_client(settings, db, clock, f"http://127.0.0.1:{free_port()}")
    with client:
        headers = bearer(db, make_user(db, "dispatcher"))
        unit_at(db, app, "CAR1", 2.0)
        response = recommendations(client, incident, headers)
    assert response.status_code == 200
    (car,) = response.json()["recommendations"]
    assert car["routed"] is False
    assert car["eta_basis"].startswith("router unavailable")
    assert car["eta_basis"].endswith("straight line × 1.35 at 48 km/h")


def test_a_unit_changing_its_own_status_moves_its_incident_along(client, app, db, as_dispatcher, events):
    unit = unit_at(db, app, "SF31", 1.0)
    incident = make_incident(db)
    base = f"/api/v1/incidents/{incident.id}/assignments"
    assert client.post(base, json={"unit_id": unit.id}, headers=as_dispatcher).status_code == 201
    status = f"/api/v1/units/{unit.id}/status"

    assert client.post(status, json={"status": "en_route"}, headers=as_dispatcher).status_code == 200
    (assignment,) = client.get(base, headers=as_dispatcher).json()
    assert assignment["acknowledged_at"] and not assignment["arrived_at"]

    assert client.post(status, json={"status": "at_scene"}, headers=as_dispatcher).status_code == 200
    (assignment,) = client.get(base, headers=as_dispatcher).json()
    assert assignment["arrived_at"]

    events.clear()
    assert client.post(status, json={"status": "available"}, headers=as_dispatcher).status_code == 200
    (assignment,) = client.get(base, headers=as_dispatcher).json()
    assert assignment["released_at"] and assignment["release_reason"] == "cleared from scene"
    assert any(e.name == "IncidentChanged" and e.data["incident_id"] == incident.id for e in events)
