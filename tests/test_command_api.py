"""The incidents API over HTTP, as the call-taking page, the control room and other
programs use it: intake with an idempotency key, every bad-input case as problem
details, the queue and detail, downgrades, tasks, closing, and force scoping."""

from __future__ import annotations

import pytest

from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.command import MANCHESTER, STAFFORD, staffordshire

THRIVE = {
    "threat": "knife seen",
    "harm": "serious injury",
    "risk": "high",
    "investigation": "CCTV",
    "vulnerability": "victim elderly",
    "engagement": "caller on the line",
}
CALL = {
    "source": "999",
    "category": "assault",
    "lat": STAFFORD[0],
    "lon": STAFFORD[1],
    "address": "Market Square, Stafford",
    "description": "fight outside the bar",
    "grade": "2",
    "thrive": THRIVE,
    "caller": {"name": "Sam Caller", "phone": "07700 900123", "callback_consent": True},
}


@pytest.fixture(autouse=True)
def force(db):
    staffordshire(db)


@pytest.fixture
def handler(db):
    return bearer(db, make_user(db, "call_handler"))


@pytest.fixture
def dispatcher(db):
    return bearer(db, make_user(db, "dispatcher"))


@pytest.fixture
def supervisor(db):
    return bearer(db, make_user(db, "supervisor"))


def create(client, headers, **changes):
    response = client.post("/api/v1/incidents", json={**CALL, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["type"] == f"/errors/{code}" and body["status"] == status
    return body


# ---------------------------------------------------------------- intake


def test_a_call_becomes_an_incident_and_screens_are_told(client, app, handler):
    heard = []
    app.state.bus.subscribe(heard.append)
    body = create(client, handler, qualifiers=["alcohol"])
    incident = body["incident"]
    assert body["created"] is True and body["attached"] is False
    assert incident["reference"].startswith("SP-") and incident["status"] == "open" and incident["grade"] == "2"
    assert incident["target_minutes"] == 60 and incident["qualifiers"] == ["alcohol"]
    assert [(e.name, e.data["incident_id"]) for e in heard] == [("IncidentChanged", incident["id"])]


def test_the_same_call_twice_with_an_idempotency_key_is_one_incident(client, handler):
    headers = {**handler, "Idempotency-Key": "console-7-call-31"}
    first = client.post("/api/v1/incidents", json=CALL, headers=headers)
    again = client.post("/api/v1/incidents", json=CALL, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["incident"]["id"] == first.json()["incident"]["id"]
    by_body = client.post("/api/v1/incidents", json={**CALL, "idempotency_key": "console-7-call-31"}, headers=handler)
    assert by_body.status_code == 200 and by_body.json()["incident"]["id"] == first.json()["incident"]["id"]
    queue = client.get("/api/v1/incidents", headers=handler).json()
    assert len(queue) == 1


def test_a_call_without_a_location_is_a_clear_error(client, handler):
    body = assert_problem(
        client.post("/api/v1/incidents", json={**CALL, "lat": None, "lon": None}, headers=handler),
        422,
        "incident.location_required",
    )
    assert body["errors"] == [
        {"field": "location", "message": "a location is required: click the map or give coordinates"}
    ]
    assert client.get("/api/v1/incidents", headers=handler).json() == []


def test_outside_the_force_area_is_refused_without_a_reason_and_kept_with_one(client, handler):
    outside = {**CALL, "lat": MANCHESTER[0], "lon": MANCHESTER[1]}
    body = assert_problem(client.post("/api/v1/incidents", json=outside, headers=handler), 422, "incident.outside_area")
    assert body["errors"][0]["field"] == "outside_area_reason"
    kept = create(client, handler, lat=MANCHESTER[0], lon=MANCHESTER[1], outside_area_reason="pursuit over the border")
    assert kept["incident"]["outside_area_reason"] == "pursuit over the border"
    assert any("outside the force area" in w for w in kept["warnings"])


def test_an_unknown_category_is_a_clear_error(client, handler):
    body = assert_problem(
        client.post("/api/v1/incidents", json={**CALL, "category": "alien_landing"}, headers=handler),
        422,
        "incident.unknown_category",
    )
    assert body["errors"][0]["field"] == "category"


def test_a_missing_part_of_thrive_is_a_clear_error(client, handler):
    body = assert_problem(
        client.post("/api/v1/incidents", json={**CALL, "thrive": {**THRIVE, "risk": ""}}, headers=handler),
        422,
        "incident.thrive_required",
    )
    assert [e["field"] for e in body["errors"]] == ["thrive.risk"]


def test_a_malformed_body_is_a_problem_not_a_crash(client, handler):
    response = client.post("/api/v1/incidents", json={**CALL, "lat": "north-ish"}, headers=handler)
    assert_problem(response, 422, "input.invalid")


def test_a_second_caller_attaches_to_an_existing_incident(client, handler):
    incident = create(client, handler)["incident"]
    joined = create(client, handler, attach_to=incident["id"], caller={"name": "Alex", "phone": "07700 900456"})
    assert joined["attached"] is True and joined["incident"]["id"] == incident["id"]
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=handler).json()
    assert [c["caller_name"] for c in detail["calls"]] == ["Sam Caller", "Alex"]
    assert detail["log"][-1]["kind"] == "call_attached"


def test_duplicates_are_offered_for_a_new_location(client, handler):
    incident = create(client, handler)["incident"]
    found = client.get(
        "/api/v1/incidents/duplicates",
        params={"category": "violence_in_progress", "lat": STAFFORD[0] + 0.001, "lon": STAFFORD[1]},
        headers=handler,
    ).json()
    assert [d["incident"]["id"] for d in found] == [incident["id"]]
    assert 100 < found[0]["distance_m"] < 125
    unknown = client.get(
        "/api/v1/incidents/duplicates", params={"category": "nope", "lat": 52.8, "lon": -2.1}, headers=handler
    )
    assert_problem(unknown, 422, "incident.unknown_category")


def test_the_categories_grades_and_results_of_the_force(client, handler):
    body = client.get("/api/v1/incident-categories", headers=handler).json()
    assault = next(c for c in body["categories"] if c["code"] == "assault")
    assert assault["family"] == "crime" and assault["duplicate_radius_m"] == 400
    assert body["grades"]["1"] == {"name": "Immediate", "urban_minutes": 15, "rural_minutes": 20}
    assert "firearms" in next(q for q in body["qualifiers"] if q["code"] == "firearms")["requires"]
    assert "crime_recorded" in body["results"] and "999" in body["sources"]


# ---------------------------------------------------------------- queue, detail, changes


def test_the_queue_puts_the_most_urgent_first(client, handler):
    priority = create(client, handler)["incident"]
    immediate = create(client, handler, category="robbery", grade="1")["incident"]
    queue = client.get("/api/v1/incidents", headers=handler).json()
    assert [i["id"] for i in queue] == [immediate["id"], priority["id"]]


def test_a_downgrade_needs_a_reason_and_another_persons_approval(client, handler, dispatcher, supervisor):
    incident = create(client, handler, category="robbery", grade="1")["incident"]
    url = f"/api/v1/incidents/{incident['id']}/assessments"
    no_reason = client.post(url, json={"grade": "2", "thrive": THRIVE}, headers=handler)
    assert_problem(no_reason, 422, "downgrade.reason_required")
    asked = client.post(url, json={"grade": "2", "thrive": THRIVE, "reason": "offender gone"}, headers=handler).json()
    assert asked["incident"]["grade"] == "1" and asked["downgrade"]["to_grade"] == "2"
    decision = f"/api/v1/downgrades/{asked['downgrade']['id']}/decision"
    assert_problem(client.post(decision, json={"approve": True}, headers=dispatcher), 403, "access.denied")
    approved = client.post(decision, json={"approve": True, "note": "fine"}, headers=supervisor)
    assert approved.status_code == 200, approved.text
    assert approved.json()["incident"]["grade"] == "2"
    assert [t["kind"] for t in approved.json()["tasks"]] == ["call_back"]
    tasks = client.get("/api/v1/tasks", params={"kind": "call_back"}, headers=handler).json()
    assert [t["id"] for t in tasks] == [approved.json()["tasks"][0]["id"]]
    closed = client.post(f"/api/v1/tasks/{tasks[0]['id']}/close", json={"outcome": "caller told"}, headers=handler)
    assert closed.status_code == 200
    again = client.post(f"/api/v1/tasks/{tasks[0]['id']}/close", json={"outcome": "again"}, headers=handler)
    assert_problem(again, 409, "task.closed")


def test_an_illegal_status_change_answers_409_listing_the_allowed_ones(client, handler, dispatcher):
    incident = create(client, handler, grade="4")["incident"]
    closed = client.post(
        f"/api/v1/incidents/{incident['id']}/close",
        json={"closing_category": "assault", "result": "advice_given", "summary": "advised by phone"},
        headers=dispatcher,
    )
    assert closed.status_code == 200 and closed.json()["incident"]["status"] == "closed"
    body = assert_problem(
        client.post(f"/api/v1/incidents/{incident['id']}/status", json={"status": "resolved"}, headers=handler),
        409,
        "incident.illegal_status",
    )
    assert body["allowed"] == ["open"] and body["current"] == "closed"


def test_notes_and_corrections_are_appended_to_the_log(client, handler):
    incident = create(client, handler)["incident"]
    url = f"/api/v1/incidents/{incident['id']}"
    entry = client.post(f"{url}/notes", json={"text": "red coat"}, headers=handler).json()["entry"]
    fixed = client.post(f"{url}/corrections", json={"entry_id": entry["id"], "text": "blue coat"}, headers=handler)
    assert fixed.json()["entry"]["corrects_id"] == entry["id"]
    log = client.get(url, headers=handler).json()["log"]
    assert [e["kind"] for e in log][-2:] == ["note", "correction"] and log[-2]["text"] == "red coat"


def test_close_with_open_call_backs_is_409_listing_them(client, handler, dispatcher):
    incident = create(client, handler)["incident"]
    url = f"/api/v1/incidents/{incident['id']}"
    changed = client.post(f"{url}/attendance", json={"change": "delay", "reason": "no units"}, headers=handler).json()
    body = assert_problem(
        client.post(
            f"{url}/close",
            json={"closing_category": "assault", "result": "resolved", "summary": "done"},
            headers=dispatcher,
        ),
        409,
        "incident.open_call_backs",
    )
    assert body["tasks"] == [t["id"] for t in changed["tasks"]]


def test_grade_3_gets_a_slot_and_can_move_it(client, handler):
    body = create(client, handler, category="theft", grade="3")
    assert body["incident"]["status"] == "scheduled" and body["appointment"] is not None
    url = f"/api/v1/incidents/{body['incident']['id']}"
    slots = client.get(f"{url}/appointment-slots", headers=handler).json()
    moved = client.post(f"{url}/appointment", json={"starts_at": slots[1]["starts_at"]}, headers=handler)
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment"]["starts_at"] == slots[1]["starts_at"]
    assert [t["kind"] for t in moved.json()["tasks"]] == ["call_back"]


def test_merge_and_unmerge_over_http(client, handler):
    survivor = create(client, handler)["incident"]
    duplicate = create(client, handler)["incident"]
    merged = client.post(
        f"/api/v1/incidents/{duplicate['id']}/merge",
        json={"into_id": survivor["id"], "reason": "same"},
        headers=handler,
    )
    assert merged.status_code == 200
    detail = client.get(f"/api/v1/incidents/{survivor['id']}", headers=handler).json()
    assert [m["id"] for m in detail["merged"]] == [duplicate["id"]] and len(detail["calls"]) == 2
    back = client.post(f"/api/v1/incidents/{duplicate['id']}/unmerge", json={"reason": "not same"}, headers=handler)
    assert back.json()["incident"]["status"] == "open"


# ---------------------------------------------------------------- scoping


def test_another_forces_incident_answers_exactly_like_a_missing_one(client, db, handler):
    ensure_force(db, "west-midlands", "West Midlands Police")
    theirs = create(client, bearer(db, make_user(db, "call_handler", force_id="west-midlands")), lat=52.48, lon=-1.9)
    hidden = client.get(f"/api/v1/incidents/{theirs['incident']['id']}", headers=handler)
    missing = client.get(f"/api/v1/incidents/{'0' * 32}", headers=handler)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(theirs["incident"]["id"], "X") == missing.json()["detail"].replace(
        "0" * 32, "X"
    )
    assert client.get("/api/v1/incidents", headers=handler).json() == []


def test_an_incident_above_the_readers_clearance_is_not_found(client, db, handler):
    secret_user = bearer(db, make_user(db, "call_handler", clearance="SECRET"))
    secret = create(client, secret_user, marking="SECRET")["incident"]
    assert client.get(f"/api/v1/incidents/{secret['id']}", headers=handler).status_code == 404
    assert client.get(f"/api/v1/incidents/{secret['id']}", headers=secret_user).status_code == 200


def test_signed_out_callers_are_refused(client):
    assert_problem(client.post("/api/v1/incidents", json=CALL), 401, "access.unauthenticated")
