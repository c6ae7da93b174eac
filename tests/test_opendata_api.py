"""The data.police.uk-compatible crime, outcome and stop endpoints under /api/: a contract
test per endpoint (shapes, field types, the error table of police-uk-api.md 1.2, GET and
form POST), the 10,000-result cap, the rate limit, and a real imported West Yorkshire month."""

from __future__ import annotations

import csv
import gzip
import math
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.opendata import importer
from bluelamp.opendata.model import Month, StreetCrime, persistent_key
from bluelamp.opendata.queries import distance_m
from bluelamp.opendata.street_index import RECHECK_SECONDS, StreetIndex
from bluelamp.storage import Database, migrate
from tests.factories.opendata import (
    bulk_crimes,
    make_crime,
    make_outcome,
    make_point,
    make_stop,
    persistent_id,
)

LAT, LON = 53.8, -1.55  # Leeds
HEX64 = re.compile(r"[0-9a-f]{64}")
CRIME_KEYS = {
    "category",
    "location_type",
    "location",
    "context",
    "outcome_status",
    "persistent_id",
    "id",
    "location_subtype",
    "month",
}
STOP_KEYS = {
    "age_range",
    "outcome",
    "involved_person",
    "self_defined_ethnicity",
    "gender",
    "legislation",
    "outcome_linked_to_object_of_search",
    "datetime",
    "removal_of_more_than_outer_clothing",
    "outcome_object",
    "location",
    "operation",
    "officer_defined_ethnicity",
    "type",
    "operation_name",
    "object_of_search",
}


def make_api(settings, db, clock, **overrides):
    from bluelamp.web import create_app

    settings = settings.model_copy(update={"opendata_rate_burst": 10_000, **overrides})
    return create_app(settings, database=db, clock=clock, background_writer=False)


@pytest.fixture
def api(settings, db, clock):
    """A client of an app with a burst big enough for a test's many requests."""
    with TestClient(make_api(settings, db, clock), raise_server_exceptions=False) as client:
        yield client


def assert_problem(response, status: int, code: str) -> None:
    """Our one error shape (RFC 9457 problem details), with data.police.uk's status."""
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["type"] == f"/errors/{code}"
    assert body["title"] and body["detail"]


def assert_location(location: dict, point_id: int | None = None) -> None:
    assert set(location) == {"latitude", "street", "longitude"}
    assert isinstance(location["latitude"], str) and isinstance(location["longitude"], str)
    float(location["latitude"]), float(location["longitude"])
    assert set(location["street"]) == {"id", "name"}
    assert isinstance(location["street"]["id"], int) and isinstance(location["street"]["name"], str)
    if point_id is not None:
        assert location["street"]["id"] == point_id


def assert_crime(crime: dict, *, outcome_status: bool = True) -> None:
    """A crime record exactly as data.police.uk gives it."""
    assert set(crime) == (CRIME_KEYS if outcome_status else CRIME_KEYS - {"outcome_status"})
    assert isinstance(crime["id"], int)
    assert re.fullmatch(r"\d{4}-\d{2}", crime["month"])
    assert crime["location_subtype"] == "" and crime["context"] == ""
    if crime["category"] == "anti-social-behaviour":
        assert crime["persistent_id"] == ""
        assert crime.get("outcome_status") is None
    else:
        assert HEX64.fullmatch(crime["persistent_id"])
    if crime["location"] is None:
        assert crime["location_type"] is None
    else:
        assert crime["location_type"] == "Force"
        assert_location(crime["location"])
    if outcome_status and crime["outcome_status"] is not None:
        assert set(crime["outcome_status"]) == {"category", "date"}
        assert re.fullmatch(r"\d{4}-\d{2}", crime["outcome_status"]["date"])


def north(metres: float) -> float:
    """A latitude ``metres`` north of LAT."""
    return LAT + metres / 111_195.0


# ------------------------------------------------------------------ crimes-street


def test_crimes_street_answers_the_crimes_within_a_mile_in_data_police_uk_form(api, db):
    near = make_crime(db, lat=north(1500), lon=LON, category="burglary", outcome="Unable to prosecute suspect")
    asb = make_crime(
        db, lat=north(-800), lon=LON + 0.001, category="anti-social-behaviour", street="On or near Park Row"
    )
    make_crime(db, lat=north(1700), lon=LON, category="burglary")  # just over a mile
    make_crime(db, lat=LAT, lon=LON, category="burglary", month=201606)  # another month

    response = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}&date=2016-07")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    crimes = response.json()
    assert [c["id"] for c in crimes] == [near.id, asb.id]
    for crime in crimes:
        assert_crime(crime)
    assert crimes[0] == {
        "category": "burglary",
        "location_type": "Force",
        "location": {
            "latitude": f"{near.lat:.6f}",
            "street": {"id": near.location_id, "name": "On or near High Street"},
            "longitude": "-1.550000",
        },
        "context": "",
        "outcome_status": {"category": "Unable to prosecute suspect", "date": "2016-07"},
        "persistent_id": near.persistent_id,
        "id": near.id,
        "location_subtype": "",
        "month": "2016-07",
    }
    assert crimes[1]["persistent_id"] == "" and crimes[1]["outcome_status"] is None
    assert crimes[1]["location"]["street"]["name"] == "On or near Park Row"


def test_crimes_street_defaults_to_the_latest_month_and_filters_by_category(api, db):
    make_crime(db, lat=LAT, lon=LON, category="burglary", month=201606)
    latest = make_crime(
        db, lat=LAT, lon=LON, category="burglary", month=201607, outcome_month=201609, outcome="Suspect charged"
    )
    robbery = make_crime(db, lat=LAT, lon=LON, category="robbery", month=201607)

    every = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}").json()
    burglaries = api.get(f"/api/crimes-street/burglary?lat={LAT}&lng={LON}").json()
    unknown = api.get(f"/api/crimes-street/no-such-category?lat={LAT}&lng={LON}").json()

    assert [c["id"] for c in every] == [latest.id, robbery.id]
    assert [c["id"] for c in burglaries] == [latest.id]
    assert burglaries[0]["outcome_status"] == {"category": "Suspect charged", "date": "2016-09"}
    assert unknown == every  # an unknown category answers all crime, silently


def test_crimes_street_sees_a_month_loaded_after_an_earlier_query(api, db):
    first = make_crime(db, lat=LAT, lon=LON)
    assert [c["id"] for c in api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}").json()] == [first.id]
    second = make_crime(db, lat=north(100), lon=LON)
    newer = make_crime(db, lat=LAT, lon=LON, month=201608)

    same_month = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}&date=2016-07").json()
    latest = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}").json()

    assert [c["id"] for c in same_month] == [first.id, second.id]
    assert [c["id"] for c in latest] == [newer.id]


def test_a_month_that_only_lost_rows_is_answered_fresh_within_seconds(settings, db, clock):
    """A re-publication that only removes rows moves no id: the in-memory index notices it by
    the month's load record, which it rechecks every few seconds."""
    withdrawn = make_crime(db, lat=LAT, lon=LON)
    kept = make_crime(db, lat=LAT, lon=LON)  # the newest row: the largest id stays
    now = [1000.0]
    app = make_api(settings, db, clock)
    app.state.opendata_street_index = StreetIndex(monotonic=lambda: now[0])
    url = f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}"
    with TestClient(app, raise_server_exceptions=False) as client:
        assert [c["id"] for c in client.get(url).json()] == [withdrawn.id, kept.id]
        with db.unit_of_work() as session:
            session.delete(session.get(StreetCrime, withdrawn.id))
            loaded = session.get(Month, ("west-yorkshire", 201607, "street"))
            loaded.rows, loaded.loaded_at = 1, loaded.loaded_at + timedelta(hours=1)
        assert len(client.get(url).json()) == 2  # within the recheck interval: as it was
        now[0] += RECHECK_SECONDS + 1
        assert [c["id"] for c in client.get(url).json()] == [kept.id]
        assert client.get(url + "&format=csv").text.count("\r\n") == 2  # the database agrees: header, one row


CRIMES_STREET_REFUSALS = [
    ("lat=53.8&lng=-1.55&date=2016-7", 404, "opendata.bad_date"),
    ("lat=53.8&lng=-1.55&date=July", 404, "opendata.bad_date"),
    ("lat=53.8&lng=-1.55&date=2016-13", 404, "opendata.bad_date"),
    ("lat=53.8&lng=-1.55&date=2010-01", 404, "opendata.bad_date"),  # before the first month loaded
    ("lat=53.8", 400, "opendata.bad_coordinates"),
    ("lat=north&lng=-1.55", 400, "opendata.bad_coordinates"),
    ("lat=nan&lng=-1.55", 400, "opendata.bad_coordinates"),
    ("", 400, "opendata.bad_coordinates"),
    ("poly=53.8,-1.55:53.9", 404, "opendata.bad_poly"),
    ("poly=53.8,-1.55:53.9,x:53.8,-1.5", 404, "opendata.bad_poly"),
    ("poly=53.8,-1.55:95,-1.5:53.8,-1.5", 404, "opendata.bad_poly"),
    ("poly=53.8,-1.55:53.9,-1.55", 502, "opendata.poly_too_few_vertices"),
    ("poly=53.8,-1.55:53.9,-1.55:53.8,-1.55", 502, "opendata.poly_too_few_vertices"),
    ("poly=53.8,-1.6:53.9,-1.5:53.8,-1.5:53.9,-1.6", 400, "opendata.poly_self_intersecting"),
    ("lat=53.8&lng=-1.55&format=xml", 400, "opendata.bad_format"),
]


def test_crimes_street_refuses_bad_input_with_data_police_uk_status(api, db):
    make_crime(db, lat=LAT, lon=LON)
    for query, status, code in CRIMES_STREET_REFUSALS:
        assert_problem(api.get(f"/api/crimes-street/all-crime?{query}"), status, code)


def test_crimes_street_answers_an_empty_list_where_data_police_uk_does(api, db):
    make_crime(db, lat=LAT, lon=LON)
    for query in (
        "lat=53.8&lng=-1.55&date=2016-08",  # later than the latest month
        "lat=51.5&lng=-0.12",  # outside coverage
        "lat=200&lng=500",  # not on Earth: still outside coverage
    ):
        response = api.get(f"/api/crimes-street/all-crime?{query}")
        assert response.status_code == 200 and response.json() == [], query


def test_unknown_parameters_are_ignored(api, db):
    crime = make_crime(db, lat=LAT, lon=LON)
    response = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}&key=abc&callback=f")
    assert response.status_code == 200 and [c["id"] for c in response.json()] == [crime.id]


def test_crimes_street_in_a_polygon_by_get_and_by_form_post(api, db):
    inside = make_crime(db, lat=53.805, lon=-1.555)
    on_edge = make_crime(db, lat=53.81, lon=-1.55)
    make_crime(db, lat=53.80, lon=-1.45)  # east of the triangle
    poly = "53.79,-1.56:53.81,-1.56:53.81,-1.54:53.79,-1.56"  # closed, first vertex repeated

    by_get = api.get(f"/api/crimes-street/all-crime?poly={poly}&date=2016-07")
    by_post = api.post("/api/crimes-street/all-crime", data={"poly": poly, "date": "2016-07"})
    unclosed = api.post("/api/crimes-street/all-crime", data={"poly": poly.rsplit(":", 1)[0]})

    assert by_get.status_code == by_post.status_code == unclosed.status_code == 200
    assert [c["id"] for c in by_get.json()] == [inside.id, on_edge.id]
    assert by_post.json() == by_get.json() == unclosed.json()


def test_a_json_post_body_is_refused_with_400(api, db):
    make_crime(db, lat=LAT, lon=LON)
    response = api.post("/api/crimes-street/all-crime", json={"poly": "53.79,-1.56:53.81,-1.56:53.81,-1.54"})
    assert_problem(response, 400, "opendata.form_required")


def test_a_get_url_over_4094_characters_is_refused_and_the_same_poly_posted_is_answered(api, db):
    crime = make_crime(db, lat=LAT, lon=LON)
    ring = [(LAT + 0.01 * math.sin(t / 200 * math.tau), LON + 0.02 * math.cos(t / 200 * math.tau)) for t in range(200)]
    poly = ":".join(f"{lat:.7f},{lon:.7f}" for lat, lon in ring)
    url = f"/api/crimes-street/all-crime?poly={poly}"
    assert len(url) > 4094

    assert_problem(api.get(url), 400, "opendata.url_too_long")
    posted = api.post("/api/crimes-street/all-crime", data={"poly": poly})
    assert posted.status_code == 200 and [c["id"] for c in posted.json()] == [crime.id]


def test_a_custom_area_with_more_than_10000_crimes_is_refused_with_503(api, db):
    # 10,001 crimes on a grid inside a square; the one-mile point query has no cap.
    grid = [(53.70 + (n // 101) * 0.0002, -1.60 + (n % 101) * 0.0002) for n in range(10_001)]
    bulk_crimes(db, grid)
    square = "53.69,-1.61:53.73,-1.61:53.73,-1.57:53.69,-1.57"
    smaller = "53.69,-1.61:53.7099,-1.61:53.7099,-1.57:53.69,-1.57"  # the grid's first 50 rows

    too_many = api.post("/api/crimes-street/all-crime", data={"poly": square})
    fewer = api.post("/api/crimes-street/all-crime", data={"poly": smaller})
    point = api.get("/api/crimes-street/all-crime?lat=53.71&lng=-1.59")

    assert_problem(too_many, 503, "opendata.too_many_results")
    assert "Retry-After" not in too_many.headers  # as data.police.uk: none
    assert fewer.status_code == 200 and len(fewer.json()) == 50 * 101
    assert point.status_code == 200 and len(point.json()) == 10_001


def test_the_cap_comes_from_the_setting_and_holds_for_outcomes_and_stops_too(settings, db, clock):
    for n in range(4):
        point = make_point(db, LAT + n * 0.001, LON)
        crime = make_crime(db, at=point)
        make_outcome(db, crime.persistent_id, month=201608, at=point)
        make_stop(db, at=point, force_id="west-yorkshire")
    poly = f"{LAT - 0.01},{LON - 0.01}:{LAT + 0.01},{LON - 0.01}:{LAT + 0.01},{LON + 0.01}:{LAT - 0.01},{LON + 0.01}"
    with TestClient(make_api(settings, db, clock, opendata_result_cap=3), raise_server_exceptions=False) as client:
        for path in ("/api/crimes-street/all-crime", "/api/outcomes-at-location", "/api/stops-street"):
            assert_problem(client.post(path, data={"poly": poly}), 503, "opendata.too_many_results")
            assert client.get(f"{path}?lat={LAT}&lng={LON}").status_code == 200  # a point has no cap
    with TestClient(make_api(settings, db, clock, opendata_result_cap=4), raise_server_exceptions=False) as client:
        assert len(client.post("/api/crimes-street/all-crime", data={"poly": poly}).json()) == 4


def test_more_than_the_burst_is_refused_with_429(settings, db, clock):
    make_crime(db, lat=LAT, lon=LON)
    app = make_api(settings, db, clock, opendata_rate_burst=3, opendata_rate_per_second=0.01)
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = [client.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_problem(answers[3], 429, "rate_limited")
    assert int(answers[3].headers["Retry-After"]) >= 1


def test_answers_may_be_read_by_pages_of_any_site(api, db):
    make_crime(db, lat=LAT, lon=LON)
    response = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    # Errors too (a browser app must be able to read a 404 or a 400), and the force and
    # neighbourhood endpoints; but never the signed-in API under /api/v1/.
    assert api.get("/api/crimes-street/all-crime?date=bad").headers["access-control-allow-origin"] == "*"
    assert api.get("/api/crimes-street/all-crime?lat=x").headers["access-control-allow-origin"] == "*"
    assert api.get("/api/forces").headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in api.get("/api/v1/forces").headers


# ------------------------------------------------------------------ crimes-at-location, crimes-no-location


def test_crimes_at_location_by_id_and_by_the_nearest_point(api, db):
    here = make_point(db, LAT, LON, "On or near Briggate")
    there = make_point(db, north(300), LON, "On or near Vicar Lane")
    at_here = make_crime(db, at=here, category="shoplifting")
    make_crime(db, at=there, category="shoplifting")

    by_id = api.get(f"/api/crimes-at-location?location_id={here}&date=2016-07")
    nearest = api.get(f"/api/crimes-at-location?lat={north(100)}&lng={LON}")
    far = api.get("/api/crimes-at-location?lat=51.5&lng=-0.12")

    assert by_id.status_code == nearest.status_code == far.status_code == 200
    assert [c["id"] for c in by_id.json()] == [at_here.id]
    assert_crime(by_id.json()[0])
    assert by_id.json()[0]["location"]["street"] == {"id": here, "name": "On or near Briggate"}
    assert nearest.json() == by_id.json()
    assert far.json() == []


def test_crimes_at_location_refuses_bad_input(api, db):
    make_crime(db, lat=LAT, lon=LON)
    for query, status, code in (
        ("location_id=999999999", 404, "opendata.unknown_location"),
        ("location_id=abc", 404, "opendata.unknown_location"),
        ("location_id=1&date=16-07", 404, "opendata.bad_date"),
        ("lat=53.8", 400, "opendata.bad_coordinates"),
        ("", 400, "opendata.location_required"),
    ):
        assert_problem(api.get(f"/api/crimes-at-location?{query}"), status, code)


def test_crimes_no_location_answers_a_forces_unlocated_crimes(api, db):
    unlocated = make_crime(db, category="drugs")
    asb = make_crime(db, category="anti-social-behaviour")
    make_crime(db, lat=LAT, lon=LON, category="drugs")  # located
    make_crime(db, category="drugs", force_id="staffordshire")  # another force

    every = api.get("/api/crimes-no-location?category=all-crime&force=west-yorkshire&date=2016-07")
    drugs = api.get("/api/crimes-no-location?category=drugs&force=west-yorkshire")

    assert [c["id"] for c in every.json()] == [unlocated.id, asb.id]
    for crime in every.json():
        assert_crime(crime)
        assert crime["location"] is None and crime["location_type"] is None and crime["location_subtype"] == ""
    assert [c["id"] for c in drugs.json()] == [unlocated.id]


def test_crimes_no_location_answers_502_for_an_unknown_force_and_400_without_one(api, db):
    make_crime(db)
    assert_problem(api.get("/api/crimes-no-location?category=all-crime&force=atlantis"), 502, "opendata.unknown_force")
    assert_problem(api.get("/api/crimes-no-location?category=all-crime"), 400, "opendata.force_required")


# ------------------------------------------------------------------ categories and dates


def test_crime_categories_lists_the_fifteen_with_all_crime_first(api, db):
    make_crime(db, lat=LAT, lon=LON)
    categories = api.get("/api/crime-categories?date=2016-07").json()
    assert len(categories) == 15 and categories[0] == {"url": "all-crime", "name": "All crime"}
    assert {"url": "violent-crime", "name": "Violence and sexual offences"} in categories
    assert all(set(c) == {"url", "name"} for c in categories)
    assert api.get("/api/crime-categories").json() == categories
    assert_problem(api.get("/api/crime-categories?date=2016"), 404, "opendata.bad_date")


def test_crime_last_updated_is_the_first_day_of_the_latest_month(api, db):
    assert_problem(api.get("/api/crime-last-updated"), 404, "opendata.no_data")
    make_crime(db, month=201606)
    make_crime(db, month=201607, force_id="staffordshire")
    assert api.get("/api/crime-last-updated").json() == {"date": "2016-07-01"}


def test_crimes_street_dates_lists_the_months_newest_first_with_forces_that_have_stops(api, db):
    make_crime(db, month=201605)
    make_crime(db, month=201607)
    make_stop(db, month=201607, force_id="staffordshire")
    make_stop(db, month=201607, force_id="west-yorkshire")
    make_stop(db, month=201604, force_id="staffordshire")
    make_crime(db, month=201305)  # more than 36 months before the latest

    assert api.get("/api/crimes-street-dates").json() == [
        {"date": "2016-07", "stop-and-search": ["staffordshire", "west-yorkshire"]},
        {"date": "2016-05", "stop-and-search": []},
        {"date": "2016-04", "stop-and-search": ["staffordshire"]},
    ]


# ------------------------------------------------------------------ outcomes


def test_outcomes_for_crime_answers_the_crime_and_its_outcomes(api, db):
    point = make_point(db, LAT, LON)
    crime = make_crime(db, at=point, category="vehicle-crime", outcome="Suspect charged", outcome_month=201609)
    make_outcome(db, crime.persistent_id, month=201609, code="charged", at=point)
    make_outcome(db, crime.persistent_id, month=201608, code="under-investigation", at=point)

    answer = api.get(f"/api/outcomes-for-crime/{crime.persistent_id}")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"crime", "outcomes"}
    assert_crime(body["crime"], outcome_status=False)
    assert body["crime"]["id"] == crime.id and body["crime"]["category"] == "vehicle-crime"
    assert body["outcomes"] == [
        {
            "category": {"code": "under-investigation", "name": "Under investigation"},
            "date": "2016-08",
            "person_id": None,
        },
        {"category": {"code": "charged", "name": "Suspect charged"}, "date": "2016-09", "person_id": None},
    ]


def test_outcomes_for_crime_refuses_unknown_and_upper_case_ids_with_404(api, db):
    crime = make_crime(db, lat=LAT, lon=LON)
    assert_problem(api.get(f"/api/outcomes-for-crime/{persistent_id('nobody')}"), 404, "opendata.unknown_crime")
    assert_problem(api.get(f"/api/outcomes-for-crime/{crime.persistent_id.upper()}"), 404, "opendata.unknown_crime")


def test_outcomes_for_a_crime_whose_month_is_not_loaded_give_a_null_crime(api, db):
    pid = persistent_id("older crime")
    make_outcome(db, pid, month=201608, code="unable-to-prosecute")
    assert api.get(f"/api/outcomes-for-crime/{pid}").json() == {
        "crime": None,
        "outcomes": [
            {
                "category": {"code": "unable-to-prosecute", "name": "Unable to prosecute suspect"},
                "date": "2016-08",
                "person_id": None,
            }
        ],
    }


def test_outcomes_at_location_by_id_point_and_polygon(api, db):
    point = make_point(db, LAT, LON, "On or near Kirkgate")
    crime = make_crime(db, at=point, category="burglary", month=201607)
    make_outcome(db, crime.persistent_id, month=201608, code="charged", at=point)
    make_outcome(db, crime.persistent_id, month=201607, code="under-investigation", at=point)  # another month
    poly = f"{LAT - 0.01},{LON - 0.01}:{LAT + 0.01},{LON - 0.01}:{LAT + 0.01},{LON + 0.01}"

    by_id = api.get(f"/api/outcomes-at-location?location_id={point}&date=2016-08")
    by_point = api.get(f"/api/outcomes-at-location?lat={LAT}&lng={LON}&date=2016-08")
    by_poly = api.post("/api/outcomes-at-location", data={"poly": poly, "date": "2016-08"})

    assert by_id.status_code == 200
    outcomes = by_id.json()
    assert len(outcomes) == 1 and set(outcomes[0]) == {"category", "date", "person_id", "crime"}
    assert outcomes[0]["category"] == {"code": "charged", "name": "Suspect charged"}
    assert outcomes[0]["date"] == "2016-08" and outcomes[0]["person_id"] is None
    assert_crime(outcomes[0]["crime"], outcome_status=False)
    assert outcomes[0]["crime"]["id"] == crime.id and outcomes[0]["crime"]["month"] == "2016-07"
    assert outcomes[0]["crime"]["location"]["street"] == {"id": point, "name": "On or near Kirkgate"}
    assert by_point.json() == outcomes == by_poly.json()
    assert api.get(f"/api/outcomes-at-location?location_id={point}").json() == outcomes  # the latest month


# Two crime ids with the same CRC-32, the integer key the tables index crimes by.
SHARING_A_KEY = (
    "f81d0c1bc3aafb906003c4ae3c300ffd0b44751b22e3d9629b2a79f32e57ef41",
    "a0ab88ff77697c223a0cded1620b9a3f93e4a705dad7d7b9bf7bbf969494af84",
)


def test_crimes_whose_ids_share_an_index_key_are_still_told_apart(api, db):
    first, second = SHARING_A_KEY
    assert persistent_key(first) == persistent_key(second)
    point = make_point(db, LAT, LON, "On or near Kirkgate")
    mine = make_crime(db, at=point, category="burglary", persistent=first)
    other = make_crime(db, at=point, category="robbery", persistent=second)
    make_outcome(db, first, month=201608, code="charged", at=point)
    make_outcome(db, second, month=201608, code="unable-to-prosecute", at=point)

    answer = api.get(f"/api/outcomes-for-crime/{first}").json()
    at_location = api.get(f"/api/outcomes-at-location?location_id={point}&date=2016-08").json()

    assert answer["crime"]["id"] == mine.id and answer["crime"]["category"] == "burglary"
    assert [o["category"]["code"] for o in answer["outcomes"]] == ["charged"]
    assert sorted((o["category"]["code"], o["crime"]["id"]) for o in at_location) == sorted(
        [("charged", mine.id), ("unable-to-prosecute", other.id)]
    )


def test_outcomes_at_location_refuses_an_unknown_location_with_404(api, db):
    make_outcome(db, persistent_id(), month=201608)
    assert_problem(api.get("/api/outcomes-at-location?location_id=999999999"), 404, "opendata.unknown_location")
    assert_problem(api.get("/api/outcomes-at-location?date=2016-08"), 400, "opendata.bad_coordinates")


# ------------------------------------------------------------------ stops and searches


def test_stops_street_answers_stops_with_data_police_uk_fields(api, db):
    point = make_point(db, 52.8, -2.1, "On or near Market Square", force_id="staffordshire")
    stop = make_stop(db, at=point, operation=False, outcome_linked=True, officer_defined="White")
    make_stop(db, at=make_point(db, 52.9, -2.1, force_id="staffordshire"))  # 11 km away

    answer = api.get("/api/stops-street?lat=52.8&lng=-2.1&date=2016-11")
    posted = api.post(
        "/api/stops-street", data={"poly": "52.79,-2.11:52.81,-2.11:52.81,-2.09:52.79,-2.09", "date": "2016-11"}
    )

    assert answer.status_code == 200 and posted.json() == answer.json()
    [record] = answer.json()
    assert set(record) == STOP_KEYS
    assert record == {
        "age_range": "18-24",
        "outcome": "A no further action disposal",
        "involved_person": True,
        "self_defined_ethnicity": "Other ethnic group - Not stated",
        "gender": "Male",
        "legislation": "Misuse of Drugs Act 1971 (section 23)",
        "outcome_linked_to_object_of_search": True,
        "datetime": "2016-11-06T22:45:00+00:00",
        "removal_of_more_than_outer_clothing": False,
        "outcome_object": {"id": "bu-no-further-action", "name": "A no further action disposal"},
        "location": {
            "latitude": "52.800000",
            "street": {"id": point, "name": "On or near Market Square"},
            "longitude": "-2.100000",
        },
        "operation": False,
        "officer_defined_ethnicity": "White",
        "type": "Person search",
        "operation_name": None,
        "object_of_search": "Controlled drugs",
    }
    assert stop.location_id == point


def test_a_stop_with_no_outcome_and_unknown_values_keeps_empty_strings_and_nulls(api, db):
    make_stop(db, outcome="", outcome_id=None, gender=None, self_defined=None, removal=None, type="Vehicle search")
    [record] = api.get("/api/stops-force?force=staffordshire&date=2016-11").json()
    assert record["outcome"] == "" and record["outcome_object"] == {"id": "", "name": ""}
    assert record["gender"] is None and record["self_defined_ethnicity"] is None
    assert record["removal_of_more_than_outer_clothing"] is None and record["operation"] is None
    assert record["involved_person"] is False and record["location"] is None


def test_stops_at_location_no_location_and_force(api, db):
    point = make_point(db, 52.8, -2.1, force_id="staffordshire")
    located = make_stop(db, at=point)
    unlocated = make_stop(db)
    make_stop(db, month=201610)

    at_point = api.get(f"/api/stops-at-location?location_id={point}&date=2016-11").json()
    unknown_point = api.get("/api/stops-at-location?location_id=999999999&date=2016-11")
    no_location = api.get("/api/stops-no-location?force=staffordshire&date=2016-11").json()
    whole_force = api.get("/api/stops-force?force=staffordshire").json()  # the latest month
    unknown_force = api.get("/api/stops-force?force=atlantis&date=2016-11")

    assert [s["location"]["street"]["id"] for s in at_point] == [point]
    assert unknown_point.status_code == 200 and unknown_point.json() == []  # not 404, as data.police.uk
    assert len(no_location) == 1 and no_location[0]["location"] is None
    assert len(whole_force) == 2 and {s["location"] is None for s in whole_force} == {True, False}
    assert unknown_force.status_code == 200 and unknown_force.json() == []
    assert located.id != unlocated.id
    assert_problem(api.get("/api/stops-force?date=2016-11"), 400, "opendata.force_required")
    assert_problem(api.get("/api/stops-at-location?date=2016-11"), 400, "opendata.location_required")
    assert_problem(api.get("/api/stops-force?force=staffordshire&date=2016-1"), 404, "opendata.bad_date")


def test_nothing_loaded_answers_empty_lists(api, db):
    assert api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}").json() == []
    assert api.get("/api/stops-street?lat=52.8&lng=-2.1").json() == []
    assert api.get("/api/crimes-street-dates").json() == []


# ------------------------------------------------------------------ a real imported month


@pytest.fixture(scope="module")
def real(database_factory):
    """West Yorkshire's July 2016 street crimes and Staffordshire's November 2016 stops and
    searches, imported once into a database of this module's own."""
    database = Database.from_url(database_factory.new_url("opendata_api"))
    migrate.upgrade(database)
    importer.import_paths(
        database,
        Actor.system(None, "tests"),
        [
            importer.DATA / "2016-07-west-yorkshire-street.csv.gz",
            importer.DATA / "2016-11-staffordshire-stop-and-search.csv",
        ],
        Clock(),
    )
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def real_api(real, migrated_database):
    from bluelamp.settings import Settings
    from bluelamp.web import create_app

    settings = Settings(
        database_url=real.engine.url.render_as_string(hide_password=False),
        incident_sweep_seconds=24 * 3600,
        opendata_rate_burst=10_000,
    )
    with TestClient(
        create_app(settings, database=real, background_writer=False), raise_server_exceptions=False
    ) as client:
        yield client


def shipped_rows() -> list[dict[str, str]]:
    with gzip.open(importer.DATA / "2016-07-west-yorkshire-street.csv.gz", "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_known_west_yorkshire_crime_is_found_near_its_place(real_api):
    # From the archive: a vehicle crime on Huddersfield Road, Barnsley 027D, July 2016.
    pid = "bac7e13b0b1be6f97804b9a59e7303d4b5b2f3e0a95e55f451c78fe104a1b88d"
    crimes = real_api.get("/api/crimes-street/vehicle-crime?lat=53.5536&lng=-1.6701&date=2016-07").json()
    [crime] = [c for c in crimes if c["persistent_id"] == pid]
    assert_crime(crime)
    assert crime["category"] == "vehicle-crime" and crime["month"] == "2016-07"
    assert crime["location"]["latitude"] == "53.553629" and crime["location"]["longitude"] == "-1.670108"
    assert crime["location"]["street"]["name"] == "On or near Huddersfield Road"
    assert crime["outcome_status"]["category"] == "Investigation complete; no suspect identified"
    assert all(c["category"] == "vehicle-crime" for c in crimes)
    assert real_api.get(f"/api/outcomes-for-crime/{pid}").json()["crime"]["id"] == crime["id"]


def test_a_real_mile_holds_exactly_the_archive_rows_within_a_mile(real_api):
    lat, lon = 53.7997, -1.5492  # Leeds city centre
    expected = sorted(
        (r["Crime ID"], r["Crime type"])
        for r in shipped_rows()
        if r["Latitude"] and distance_m(lat, lon, float(r["Latitude"]), float(r["Longitude"])) <= 1609.344
    )
    crimes = real_api.get(f"/api/crimes-street/all-crime?lat={lat}&lng={lon}&date=2016-07").json()
    names = {c["url"]: c["name"] for c in real_api.get("/api/crime-categories").json()}
    assert len(expected) > 1000
    assert sorted((c["persistent_id"], names[c["category"]]) for c in crimes) == expected
    for crime in crimes[:50]:
        assert_crime(crime)


def test_real_unlocated_crimes_and_stops(real_api):
    unlocated = real_api.get("/api/crimes-no-location?category=all-crime&force=west-yorkshire&date=2016-07").json()
    assert len(unlocated) == sum(1 for r in shipped_rows() if not r["Latitude"])
    stops = real_api.get("/api/stops-force?force=staffordshire&date=2016-11").json()
    assert len(stops) == 301
    assert all(set(s) == STOP_KEYS for s in stops)
    assert all(isinstance(s["involved_person"], bool) for s in stops)
    # The 2016 vocabulary is answered in today's words.
    assert {s["outcome"] for s in stops} >= {"A no further action disposal", "Arrest"}
    assert real_api.get("/api/crimes-street-dates").json() == [
        {"date": "2016-11", "stop-and-search": ["staffordshire"]},
        {"date": "2016-07", "stop-and-search": []},
    ]
