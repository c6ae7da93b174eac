"""Checks from the field (issue 7, item 3), through the API the officer app calls and the
/m/checks pages: a misspelt name and a partial date of birth find the person with the
warning markers first; a wanted marker (and an open missing person report) shows as a
flag; a VRM finds its keeper with their markers; a location check lists the incidents
there and the markers of the people living there; every check is audited with its
reason; a check without a reason is refused with the quick picks; too little to search
on is refused next to its field with what was typed kept; a person of another force or
above the officer's clearance never shows. (In a real browser at phone size:
tests/browser/test_mobile_checks.py.)"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import Clock, FixedClock
from bluelamp.records.person_parts import NewAddress, NewIdentifier, NewMarker
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.command import make_incident
from tests.factories.records import make_event, make_link, make_location, make_object, make_person, officer
from tests.factories.search_pages import add_marker, state_reason
from tests.test_admin_pages import browser_as

FORCE = "staffordshire"
OTHER = "west-yorkshire"
STOP = {"purpose": "street_stop", "reason_detail": "outside Hanley bus station"}
WELLESLEY = (53.0189, -2.1829)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, FORCE)
    ensure_force(db, OTHER)


@pytest.fixture
def api(app, client, db):
    """An officer's app: a response officer's bearer token (the app runs under ``client``'s lifespan)."""
    test_client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    test_client.headers.update(bearer(db, make_user(db, "response_officer")))
    return test_client


@pytest.fixture
def phone(app, client, db):
    """A response officer's phone browser, signed in (no reason stated for the session)."""
    return browser_as(app, db, make_user(db, "response_officer"))


def jason(db, **changes):
    """Jason Lee Smyth, born 12/04/1991: violent and weapons markers in force, a drugs one ended."""
    fields = {
        "given_names": "Jason Lee",
        "family_name": "Smyth",
        "dob_year": 1991,
        "dob_month": 4,
        "dob_day": 12,
        "gender": "male",
        "identifiers": (NewIdentifier("pnc_id", "2009/0123456A"),),
        "markers": (
            NewMarker("violent", "Assaulted an officer during arrest, 2023", date(2023, 6, 2)),
            NewMarker("weapons", "Found carrying a lock knife, 2024", date(2024, 2, 17)),
            NewMarker("drugs", "Possession with intent, 2019", date(2019, 8, 1), date(2022, 8, 1)),
        ),
    }
    return make_person(db, **(fields | changes))


def audit_entries(db, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def csrf(browser) -> str:
    page = browser.get("/m/checks")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def post_check(browser, kind: str, data: dict, *, htmx: bool = True):
    headers = {"HX-Request": "true"} if htmx else {}
    return browser.post(f"/m/checks/{kind}", data={"csrf_token": csrf(browser), **data}, headers=headers)


# ---------------------------------------------------------------- person


def test_a_misspelt_name_and_a_partial_dob_find_the_person_with_markers_first(db, api):
    smyth = jason(db)
    make_person(db, given_names="Jason", family_name="Smith", dob_year=1978, dob_month=1, dob_day=2)
    make_person(db, given_names="Jayden", family_name="Smart", dob_year=1991)

    answer = api.post(
        "/api/v1/checks/person", json={"family_name": "Smith", "given_names": "Jasen", "dob": "04/1991"} | STOP
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    first = answer.json()["matches"][0]
    assert first["id"] == smyth.id and first["dob"] == "12/04/1991"
    assert list(first)[0] == "about", "what officers must see comes before who"
    assert [m["kind"] for m in first["about"]["markers"]] == ["weapons", "violent"], "the ended drugs marker is gone"
    assert first["about"]["markers"][1]["reason"] == "Assaulted an officer during arrest, 2023"
    assert first["about"]["flags"] == []


def test_the_page_shows_the_markers_before_the_name_and_opens_a_compact_card(db, phone):
    smyth = jason(db, description={"height_cm": 180, "marks": "swallow tattoo, left hand"})
    home = make_location(db, line1="14 Wellesley Street", town="Stoke-on-Trent", postcode="ST1 4NS")
    make_link(db, smyth, "resides_at", home)

    page = post_check(phone, "person", {"family_name": "Smith", "given_names": "Jason", "dob": "1991"} | STOP)

    assert page.status_code == 200
    match = re.search(r'<li class="mc-item[^"]*" data-testid="match".*?</li>\s*</ol>', page.text, re.S).group(0)
    assert match.index('data-testid="markers"') < match.index("SMYTH, Jason Lee")
    assert "Weapons" in text_of(match) and "Violent" in text_of(match)
    card = phone.post(
        f"/m/checks/persons/{smyth.id}",
        data={"csrf_token": csrf(phone), "purpose": "street_stop", "reason_detail": "stopped on Lichfield Street"},
        headers={"HX-Request": "true"},
    )
    shown = text_of(card.text)
    assert card.status_code == 200 and 'data-testid="person-card"' in card.text
    assert shown.index("Weapons") < shown.index("SMYTH, Jason Lee")
    assert "Found carrying a lock knife, 2024" in shown and "09/123456A" in shown and "swallow tattoo" in shown
    assert "14 Wellesley Street" in shown
    read = audit_entries(db, "person.read")[-1]
    assert read.record_id == smyth.id and read.reason == "Check, stop in the street: stopped on Lichfield Street"
    without_script = phone.post(f"/m/checks/persons/{smyth.id}", data={"csrf_token": csrf(phone)} | STOP)
    assert without_script.status_code == 200 and "Back to checks" in without_script.text
    assert 'data-testid="person-card"' in without_script.text


def test_a_record_id_or_pnc_id_finds_the_one_person(db, api):
    smyth = jason(db)
    by_pnc = api.post("/api/v1/checks/person", json={"record_id": "09/123456a"} | STOP).json()
    by_id = api.get("/api/v1/checks/person", params={"record_id": smyth.id} | STOP).json()
    assert [m["id"] for m in by_pnc["matches"]] == [smyth.id] == [m["id"] for m in by_id["matches"]]
    assert by_pnc["matches"][0]["score"] is None


def test_a_wanted_marker_and_an_open_missing_report_show_as_flags(db, api, phone):
    wanted = make_person(db, given_names="Dean", family_name="Barlow", dob_year=1988)
    add_marker(db, wanted, "wanted", "Failed to appear at Stoke Crown Court")
    add_marker(db, wanted, "violent", "Headbutted door staff")
    missing = make_person(db, given_names="Chloe", family_name="Barlow", dob_year=2009)
    report = make_event(db, "missing_person", summary="Left her care home at 19:00, not returned")
    make_link(db, missing, "subject_of", report)
    found_again = make_event(
        db,
        "missing_person",
        summary="Missing overnight last year, found",
        occurred_from=datetime.now(UTC) - timedelta(days=40),
        occurred_to=datetime.now(UTC) - timedelta(days=39),
    )
    make_link(db, missing, "subject_of", found_again)

    matches = {
        m["id"]: m for m in api.post("/api/v1/checks/person", json={"family_name": "Barlow"} | STOP).json()["matches"]
    }

    assert [(f["kind"], f["detail"]) for f in matches[wanted.id]["about"]["flags"]] == [
        ("wanted", "Failed to appear at Stoke Crown Court")
    ]
    assert [m["kind"] for m in matches[wanted.id]["about"]["markers"]] == ["violent"], "a flag is not listed twice"
    flags = matches[missing.id]["about"]["flags"]
    assert [(f["kind"], f["reference"]) for f in flags] == [("missing", report.reference)], (
        "the closed report is no flag"
    )
    assert {e["reference"] for e in matches[missing.id]["about"]["recent_events"]} == {
        report.reference,
        found_again.reference,
    }
    page = post_check(phone, "person", {"family_name": "Barlow"} | STOP)
    assert "WANTED Failed to appear at Stoke Crown Court" in text_of(page.text)
    assert "MISSING Left her care home" in text_of(page.text)


# ---------------------------------------------------------------- vehicle


def test_a_vrm_finds_the_keeper_with_their_markers_and_the_linked_events(db, api, phone):
    smyth = jason(db)
    driver = make_person(db, given_names="Kerry", family_name="Bourne", dob_year=1993)
    car = make_object(db, vrm="YX19 KTD", make="Ford", model="Focus", colour="Grey")
    make_object(db, vrm="YX19 KTE", make="Vauxhall", model="Corsa")
    make_link(db, smyth, "keeper", car, from_date=date(2024, 5, 1))
    make_link(db, driver, "driver", car)
    seen = make_event(db, "incident", summary="Grey Focus seen leaving the burglary")
    make_link(db, car, "seen_at", seen)

    answer = api.post("/api/v1/checks/vehicle", json={"vrm": "yx19ktd"} | STOP).json()

    assert [v["vrm"] for v in answer["vehicles"]] == ["YX19 KTD"]
    people = answer["vehicles"][0]["people"]
    assert [(p["role"], p["id"], p["current"]) for p in people] == [
        ("keeper", smyth.id, True),
        ("driver", driver.id, True),
    ]
    assert [m["kind"] for m in people[0]["about"]["markers"]] == ["weapons", "violent"]
    assert [e["reference"] for e in answer["vehicles"][0]["events"]] == [seen.reference]
    page = text_of(post_check(phone, "vehicle", {"vrm": "YX19 KTD"} | STOP).text)
    assert "Keeper" in page and "SMYTH, Jason Lee" in page and "Weapons" in page and seen.reference in page


# ---------------------------------------------------------------- location


def test_a_location_check_lists_previous_incidents_and_the_markers_of_those_living_there(db, api, phone):
    home = make_location(
        db, line1="14 Wellesley Street", town="Stoke-on-Trent", postcode="ST1 4NS", lat=WELLESLEY[0], lon=WELLESLEY[1]
    )
    smyth = jason(db, addresses=(NewAddress(location_id=home.id),))
    make_person(
        db, given_names="Kerry", family_name="Bourne", dob_year=1993, addresses=(NewAddress(location_id=home.id),)
    )
    moved_out = make_person(db, given_names="Lee", family_name="Dunn", dob_year=1980)
    add_marker(db, moved_out, "firearms", "Shotgun certificate revoked")
    with db.unit_of_work() as session:
        from bluelamp.records import person_parts

        person_parts.add_address(
            session, officer(), moved_out.id, NewAddress(location_id=home.id, kind="previous"), Clock()
        )
    here = make_incident(
        db, lat=WELLESLEY[0] + 0.0002, lon=WELLESLEY[1], address="Wellesley Street, Hanley", description="shouting"
    )
    by_postcode = make_incident(db, lat=53.1, lon=-2.0, address="14 WELLESLEY STREET, ST1 4NS")
    make_incident(db, lat=WELLESLEY[0] + 0.01, lon=WELLESLEY[1], address="Marsh Street")  # a kilometre away
    long_ago = FixedClock(datetime.now(UTC) - timedelta(days=500))
    make_incident(db, clock=long_ago, lat=WELLESLEY[0], lon=WELLESLEY[1], address="14 Wellesley Street")

    answer = api.post("/api/v1/checks/location", json={"address": "14 wellesley st, st14ns"} | STOP).json()

    [place] = answer["places"]
    assert place["id"] == home.id and place["others"] == 1, "Kerry lives there with no markers: counted, not named"
    assert [(r["id"], [m["kind"] for m in r["about"]["markers"]]) for r in place["residents"]] == [
        (smyth.id, ["weapons", "violent"])
    ], "a previous resident's markers are not this address's"
    assert [i["id"] for i in answer["incidents"]] == [by_postcode.id, here.id]
    assert answer["incidents"][1]["distance_m"] < 30 and answer["incidents"][0]["distance_m"] is None

    by_position = api.post(
        "/api/v1/checks/location", json={"lat": WELLESLEY[0], "lon": WELLESLEY[1] + 0.0003} | STOP
    ).json()
    assert [p["id"] for p in by_position["places"]] == [home.id]
    assert [i["id"] for i in by_position["incidents"]] == [here.id]

    page = text_of(post_check(phone, "location", {"address": "ST1 4NS"} | STOP).text)
    assert "SMYTH, Jason Lee" in page and "Weapons" in page and here.reference in page
    assert "And 1 other living here with no markers." in page and "BOURNE" not in page


# ---------------------------------------------------------------- reasons and audit


def test_each_check_is_audited_with_its_reason_and_criteria(db, api):
    smyth = jason(db)
    make_object(db, vrm="YX19 KTD")
    make_location(db, postcode="ST1 4NS", line1="14 Wellesley Street")

    api.post("/api/v1/checks/person", json={"family_name": "Smyth", "dob": "1991"} | STOP)
    api.post("/api/v1/checks/vehicle", json={"vrm": "YX19 KTD", "purpose": "vehicle_stop"})
    api.post("/api/v1/checks/location", json={"address": "ST1 4NS", "purpose": "other", "reason_detail": "noise call"})

    [person] = audit_entries(db, "check.person")
    assert person.reason == "Check, stop in the street: outside Hanley bus station"
    assert json.loads(person.detail)["criteria"] == {"family_name": "Smyth", "dob": "1991", "months": 12}
    assert json.loads(person.detail)["persons"] == [smyth.id]
    assert audit_entries(db, "person.search")[-1].reason == person.reason, "the search itself carries the reason"
    [vehicle] = audit_entries(db, "check.vehicle")
    assert vehicle.reason == "Check, vehicle stop" and json.loads(vehicle.detail)["criteria"]["vrm"] == "YX19 KTD"
    [location] = audit_entries(db, "check.location")
    assert location.reason == "Check: noise call" and json.loads(location.detail)["criteria"]["address"] == "ST1 4NS"


def test_a_program_may_state_the_reason_in_the_header(db, api):
    jason(db)
    answer = api.get(
        "/api/v1/checks/person", params={"name": "Jason Smyth"}, headers={"X-Bluelamp-Reason": "PC 4721 stop"}
    )
    assert answer.status_code == 200 and answer.json()["reason"] == "PC 4721 stop"


def test_a_check_without_a_reason_is_refused_with_the_reason_prompt(db, app, api, phone):
    jason(db)
    refused = api.post("/api/v1/checks/person", json={"family_name": "Smyth", "dob": "1991"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "access.reason_required"
    assert [p["code"] for p in refused.json()["purposes"]] == [
        "street_stop",
        "vehicle_stop",
        "incident",
        "safeguarding",
        "other",
    ]
    other = api.post("/api/v1/checks/vehicle", json={"vrm": "YX19 KTD", "purpose": "other"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "reason_detail"

    # A reason stated for the browser session (the staff pages' prompt) does not cover a check.
    state_reason(phone)
    page = post_check(phone, "person", {"family_name": "Smyth", "dob": "1991"})
    assert page.status_code == 200  # htmx swaps the answer in: the prompt is in the form
    assert 'data-testid="purpose-error"' in page.text and "Choose why you are making this check." in text_of(page.text)
    assert 'value="Smyth"' in page.text and 'value="1991"' in page.text
    assert 'data-testid="results"' not in page.text
    whole = post_check(phone, "person", {"family_name": "Smyth", "dob": "1991"}, htmx=False)
    assert whole.status_code == 403 and "/account/reason" not in whole.headers.get("location", "")
    assert audit_entries(db, "check.person") == [] and audit_entries(db, "person.search") == []


def test_too_little_to_search_on_is_refused_next_to_the_field_with_what_was_typed_kept(db, api, phone):
    cases = [
        ("person", {"family_name": "J"}, "family_name"),
        ("person", {"name": "*"}, "name"),
        ("person", {"dob": "1991"}, "family_name"),
        ("person", {}, "family_name"),
        ("vehicle", {"vrm": "*"}, "vrm"),
        ("vehicle", {"vrm": "Y"}, "vrm"),
        ("location", {"address": "ST1"}, "address"),
        ("location", {"address": "**"}, "address"),
        ("location", {}, "address"),
    ]
    for kind, body, field in cases:
        refused = api.post(f"/api/v1/checks/{kind}", json=body | STOP)
        assert refused.status_code == 422, (kind, body, refused.text)
        assert refused.json()["code"] == "check.too_little", (kind, body)
        assert refused.json()["errors"][0]["field"] == field, (kind, body)

    page = post_check(phone, "person", {"family_name": "J", "given_names": "Jason", "purpose": "street_stop"})
    assert 'data-testid="family_name-error"' in page.text
    assert "Give at least two letters of the family name." in text_of(page.text)
    assert 'value="J"' in page.text and 'value="Jason"' in page.text
    assert re.search(r'value="street_stop" checked', page.text), "the reason chosen is kept"
    # Too little and no reason: both said at once.
    both = post_check(phone, "vehicle", {"vrm": "*"})
    assert 'data-testid="vrm-error"' in both.text and 'data-testid="purpose-error"' in both.text
    assert audit_entries(db, "check.person") == [] and audit_entries(db, "check.vehicle") == []


def test_records_of_another_force_or_above_clearance_never_show(db, api, phone):
    mine = jason(db)
    theirs = jason(db, force_id=OTHER, identifiers=())
    secret = jason(db, actor=officer(clearance="SECRET"), marking="SECRET", identifiers=(), given_names="Jason")
    home = make_location(db, postcode="ST1 4NS", line1="14 Wellesley Street")
    make_person(
        db,
        actor=officer(clearance="SECRET"),
        marking="SECRET",
        given_names="Covert",
        family_name="Resident",
        addresses=(NewAddress(location_id=home.id),),
    )
    their_car = make_object(db, vrm="YX19 KTD", force_id=OTHER)
    make_link(db, theirs, "keeper", their_car)

    by_name = api.post("/api/v1/checks/person", json={"family_name": "Smyth", "dob": "1991"} | STOP).json()
    assert [m["id"] for m in by_name["matches"]] == [mine.id]
    for record_id in (theirs.id, secret.id):
        answer = api.post("/api/v1/checks/person", json={"record_id": record_id} | STOP).json()
        assert answer["matches"] == []
    assert api.post("/api/v1/checks/vehicle", json={"vrm": "YX19 KTD"} | STOP).json()["vehicles"] == []
    place = api.post("/api/v1/checks/location", json={"address": "ST1 4NS"} | STOP).json()["places"][0]
    assert place["residents"] == [] and place["others"] == 0, "a SECRET resident is not even counted"

    missing = api.get("/api/v1/checks/persons/" + "0" * 32, params=STOP)
    for person in (theirs, secret):
        card = api.get(f"/api/v1/checks/persons/{person.id}", params=STOP)
        assert card.status_code == missing.status_code == 404
        assert card.json()["detail"].replace(person.id, "<id>") == missing.json()["detail"].replace("0" * 32, "<id>")
    page = phone.post(
        f"/m/checks/persons/{secret.id}", data={"csrf_token": csrf(phone), **STOP}, headers={"HX-Request": "true"}
    )
    assert "Covert" not in page.text and "SMYTH" not in page.text and 'data-testid="card-error"' in page.text


def test_the_checks_page_offers_the_three_checks_and_the_reasons(phone):
    page = phone.get("/m/checks?kind=location&purpose=vehicle_stop")
    assert page.status_code == 200
    shown = text_of(page.text)
    for words in ("Person", "Vehicle", "Location", "Address or postcode", "Why are you checking?", "Safeguarding"):
        assert words in shown
    assert re.search(r'value="vehicle_stop" checked', page.text), "the reason chosen is kept across the kinds"
    assert 'href="/m/checks?kind=person&amp;purpose=vehicle_stop"' in page.text
