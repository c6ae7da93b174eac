"""The records API over HTTP, as the records pages and other programs use it: persons with
likely duplicates before saving, profiles that ask for a reason, objects, locations,
events, links and the link chart; every bad input as problem details."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.records import make_event, make_person, officer

REASON = {"X-Bluelamp-Reason": "investigating burglary SP-CR-2026-000001"}
PERSON = {
    "given_names": "John",
    "family_name": "Smith",
    "dob_year": 1985,
    "dob_month": 3,
    "dob_day": 12,
    "gender": "male",
    "self_defined_ethnicity": "W1",
    "officer_ethnicity": "IC1",
    "description": {"height_cm": 180, "build": "stocky", "marks": "tattoo left forearm"},
    "names": [{"kind": "alias", "given_names": "Jonno", "family_name": "Smyth"}],
    "identifiers": [{"kind": "pnc_id", "value": "99/123456A"}],
    "markers": [{"kind": "violent", "reason": "assaulted door staff", "from_date": "2025-06-01"}],
    "addresses": [{"location": {"line1": "4 Mill Street", "town": "Stone", "postcode": "st158ba"}, "kind": "home"}],
}


@pytest.fixture
def app(app):
    """The app with the records routes (registered here until app.py includes them)."""
    from bluelamp.web.api import records

    if not any(getattr(r, "path", "") == "/api/v1/persons" for r in app.routes):
        app.include_router(records.router)
    return app


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def investigator(db):
    return {**bearer(db, make_user(db, "investigator")), **REASON}


@pytest.fixture
def handler(db):
    return {**bearer(db, make_user(db, "call_handler")), **REASON}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["type"] == f"/errors/{code}" and body["status"] == status
    return body


def create_person(client, headers, **changes) -> dict:
    response = client.post("/api/v1/persons", json={**PERSON, "confirm_new": True, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- persons


def test_a_person_is_created_with_names_identifiers_markers_and_addresses(client, investigator):
    body = create_person(client, investigator)
    person = body["person"]
    assert (person["family_name"], person["dob"], person["retention_group"]) == ("Smith", "12/03/1985", "3")
    assert person["review_at"] and person["marking"] == "OFFICIAL"
    assert [(n["kind"], n["family_name"]) for n in body["names"]] == [("primary", "Smith"), ("alias", "Smyth")]
    assert body["identifiers"][0]["value"] == "99/123456A"
    assert body["markers"][0]["kind"] == "violent"
    assert body["addresses"][0]["location"]["postcode"] == "ST15 8BA"


def test_likely_duplicates_are_listed_before_a_person_is_saved(client, investigator):
    existing = create_person(client, investigator, identifiers=[])["person"]
    clash = {**PERSON, "given_names": "Jon", "family_name": "Smyth", "identifiers": []}
    body = assert_problem(
        client.post("/api/v1/persons", json=clash, headers=investigator), 409, "person.likely_duplicates"
    )
    assert existing["id"] in [m["id"] for m in body["matches"]]
    match = next(m for m in body["matches"] if m["id"] == existing["id"])
    assert match["dob"] == "12/03/1985" and match["score"] > 0
    assert match["explanation"] and all(e["feature"] for e in match["explanation"])
    saved = client.post("/api/v1/persons", json={**clash, "confirm_new": True}, headers=investigator)
    assert saved.status_code == 201, saved.text


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"dob_year": 2030}, "person.invalid_dob", "dob_year"),
        ({"dob_month": 2, "dob_day": 30}, "person.invalid_dob", "dob_day"),
        ({"family_name": "", "given_names": ""}, "input.invalid", "family_name"),
        ({"self_defined_ethnicity": "Z9"}, "input.invalid", "self_defined_ethnicity"),
        ({"identifiers": [{"kind": "pnc_id", "value": "nope"}]}, "input.invalid", "identifiers[0].value"),
        ({"markers": [{"kind": "grumpy", "reason": "x"}]}, "input.invalid", "markers[0].kind"),
        ({"addresses": [{"location": {"postcode": "XX"}}]}, "input.invalid", "addresses[0].location.postcode"),
        ({"marking": "TOP SECRET"}, "input.invalid", "marking"),
    ],
)
def test_bad_persons_are_refused_with_problem_details(client, investigator, changes, code, field):
    response = client.post("/api/v1/persons", json={**PERSON, "confirm_new": True, **changes}, headers=investigator)
    body = assert_problem(response, 422, code)
    assert field in [e["field"] for e in body["errors"]]


def test_a_duplicate_identifier_is_a_conflict_naming_its_kind(client, investigator):
    first = create_person(client, investigator)["person"]
    response = client.post(
        "/api/v1/persons",
        json={
            **PERSON,
            "family_name": "Jones",
            "confirm_new": True,
            "identifiers": [{"kind": "pnc_id", "value": "99/0123456a"}],
        },
        headers=investigator,
    )
    body = assert_problem(response, 409, "person.identifier_taken")
    assert body["kind"] == "pnc_id" and body["person_id"] == first["id"]


def test_the_profile_asks_for_a_reason_and_shows_warning_markers_first(client, db, investigator):
    person = create_person(client, investigator)["person"]
    no_reason = {k: v for k, v in investigator.items() if k != "X-Bluelamp-Reason"}
    assert_problem(client.get(f"/api/v1/persons/{person['id']}", headers=no_reason), 403, "access.reason_required")
    response = client.get(f"/api/v1/persons/{person['id']}", headers=investigator)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body)[:2] == ["current_markers", "past_markers"]
    assert body["current_markers"][0]["reason"] == "assaulted door staff"
    assert body["person"]["description"]["build"] == "stocky"
    assert body["addresses"][0]["location"]["line1"] == "4 Mill Street"


def test_a_person_of_another_force_answers_like_a_missing_one(client, db, investigator):
    theirs = make_person(db, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    hidden = assert_problem(client.get(f"/api/v1/persons/{theirs.id}", headers=investigator), 404, "not_found")
    missing = assert_problem(client.get(f"/api/v1/persons/{'0' * 32}", headers=investigator), 404, "not_found")
    assert hidden["detail"].replace(theirs.id, "?") == missing["detail"].replace("0" * 32, "?")


def test_a_person_is_corrected_and_given_aliases_identifiers_markers_and_addresses(client, investigator):
    person_id = create_person(client, investigator, identifiers=[], markers=[], addresses=[])["person"]["id"]
    base = f"/api/v1/persons/{person_id}"
    patched = client.patch(base, json={"family_name": "Smythe", "dob_day": None}, headers=investigator)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["family_name"], patched.json()["dob"]) == ("Smythe", "03/1985")
    assert (
        client.post(
            f"{base}/names",
            json={"kind": "previous", "given_names": "John", "family_name": "Brown"},
            headers=investigator,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{base}/identifiers", json={"kind": "passport", "value": "123456789"}, headers=investigator
        ).status_code
        == 201
    )
    marker = client.post(f"{base}/markers", json={"kind": "drugs", "reason": "supplies"}, headers=investigator)
    assert marker.status_code == 201, marker.text
    ended = client.post(f"{base}/markers/{marker.json()['id']}/end", json={}, headers=investigator)
    assert ended.status_code == 200 and ended.json()["to_date"]
    assert_problem(
        client.post(f"{base}/markers/{marker.json()['id']}/end", json={}, headers=investigator),
        409,
        "person.marker_ended",
    )
    address = client.post(
        f"{base}/addresses", json={"location": {"line1": "1 High St", "postcode": "ST16 2DH"}}, headers=investigator
    )
    assert address.status_code == 201, address.text
    profile = client.get(base, headers=investigator).json()
    assert [n["kind"] for n in profile["names"]] == ["primary", "alias", "previous"]
    assert profile["past_markers"][0]["kind"] == "drugs" and profile["current_markers"] == []
    assert_problem(client.patch(base, json={"dob_month": 13}, headers=investigator), 422, "person.invalid_dob")


def test_call_handlers_read_persons_but_do_not_write_them(client, handler):
    assert_problem(client.post("/api/v1/persons", json=PERSON, headers=handler), 403, "access.denied")


# ---------------------------------------------------------------- objects, locations, events, links


def test_objects_locations_and_events_are_recorded_and_read_with_their_links(client, investigator):
    car = client.post(
        "/api/v1/objects", json={"kind": "vehicle", "vrm": "ab12 cde", "make": "Ford"}, headers=investigator
    )
    assert car.status_code == 201 and car.json()["vrm_norm"] == "AB12CDE"
    place = client.post(
        "/api/v1/locations", json={"line1": "Market Square", "postcode": "st162jp"}, headers=investigator
    )
    assert place.status_code == 201 and place.json()["postcode"] == "ST16 2JP"
    event = client.post(
        "/api/v1/events",
        json={"kind": "stop_search", "summary": "searched for drugs", "location_id": place.json()["id"]},
        headers=investigator,
    )
    assert event.status_code == 201, event.text
    assert event.json()["reference"].startswith("SP-SS-")
    person = create_person(client, investigator)["person"]
    link = client.post(
        "/api/v1/links",
        json={
            "from_type": "person",
            "from_id": person["id"],
            "role": "keeper",
            "to_type": "object",
            "to_id": car.json()["id"],
        },
        headers=investigator,
    )
    assert link.status_code == 201, link.text
    detail = client.get(f"/api/v1/objects/{car.json()['id']}", headers=investigator).json()
    assert [(v["link"]["role"], v["direction"], v["other_id"]) for v in detail["links"]] == [
        ("keeper", "in", person["id"])
    ]
    where = client.get(f"/api/v1/locations/{place.json()['id']}", headers=investigator).json()
    assert [v["link"]["role"] for v in where["links"]] == ["occurred_at"]
    seen = client.get(f"/api/v1/events/{event.json()['id']}", headers=investigator).json()
    assert seen["event"]["summary"] == "searched for drugs"
    assert client.delete(f"/api/v1/links/{link.json()['id']}", headers=investigator).status_code == 204
    assert client.get(f"/api/v1/objects/{car.json()['id']}", headers=investigator).json()["links"] == []


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/api/v1/objects", {"kind": "phone", "imei": "490154203237519"}, "input.invalid", "imei"),
        ("/api/v1/objects", {"kind": "vehicle", "vin": "SHORT"}, "input.invalid", "vin"),
        ("/api/v1/locations", {"line1": "x", "postcode": "ST16"}, "input.invalid", "postcode"),
        ("/api/v1/events", {"kind": "crime", "summary": "burglary"}, "event.kind_has_own_route", "kind"),
        (
            "/api/v1/events",
            {"kind": "incident", "summary": "x", "occurred_from": "2999-01-01T00:00:00Z"},
            "input.invalid",
            "occurred_from",
        ),
        (
            "/api/v1/links",
            {"from_type": "person", "from_id": "a", "role": "best_friend", "to_type": "person", "to_id": "b"},
            "input.invalid",
            "role",
        ),
        (
            "/api/v1/links",
            {"from_type": "person", "from_id": "a", "role": "victim", "to_type": "location", "to_id": "b"},
            "link.invalid_role",
            "role",
        ),
    ],
)
def test_bad_records_and_links_are_refused_with_problem_details(client, investigator, path, body, code, field):
    problem = assert_problem(client.post(path, json=body, headers=investigator), 422, code)
    assert field in [e["field"] for e in problem["errors"]]


def test_a_link_to_another_forces_record_answers_like_a_missing_one(client, db, investigator):
    mine = create_person(client, investigator)["person"]
    theirs = make_person(db, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    body = {"from_type": "person", "from_id": mine["id"], "role": "associate_of", "to_type": "person"}
    hidden = assert_problem(
        client.post("/api/v1/links", json={**body, "to_id": theirs.id}, headers=investigator), 404, "not_found"
    )
    missing = assert_problem(
        client.post("/api/v1/links", json={**body, "to_id": "0" * 32}, headers=investigator), 404, "not_found"
    )
    assert hidden["detail"].replace(theirs.id, "?") == missing["detail"].replace("0" * 32, "?")


def test_a_crime_is_hidden_from_a_call_handler(client, db, handler, investigator):
    crime = make_event(db, "crime")
    assert client.get(f"/api/v1/events/{crime.id}", headers=investigator).status_code == 200
    assert_problem(client.get(f"/api/v1/events/{crime.id}", headers=handler), 404, "not_found")


# ---------------------------------------------------------------- the link chart


def test_the_link_chart_as_json_graphml_and_csv(client, investigator):
    person = create_person(client, investigator)["person"]
    url = f"/api/v1/records/person/{person['id']}/graph"
    chart = client.get(url, headers=investigator)
    assert chart.status_code == 200, chart.text
    body = chart.json()
    assert body["root"] == f"person:{person['id']}" and body["truncated"] is False
    assert {n["type"] for n in body["nodes"]} == {"person", "location"}
    assert [e["role"] for e in body["edges"]] == ["resides_at"]
    graphml = client.get(url, params={"format": "graphml"}, headers=investigator)
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    assert graphml.headers["content-disposition"].startswith("attachment;")
    assert ET.fromstring(graphml.text).tag == "{http://graphml.graphdrawing.org/xmlns}graphml"
    table = client.get(url, params={"format": "csv", "depth": 1}, headers=investigator)
    assert table.headers["content-type"].startswith("text/csv")
    assert table.text.splitlines()[0].startswith("source_type,source_id,source_label,role")
    assert_problem(client.get(url, params={"format": "pdf"}, headers=investigator), 422, "input.invalid")
    assert_problem(
        client.get(f"/api/v1/records/planet/{person['id']}/graph", headers=investigator), 404, "record.unknown_type"
    )
