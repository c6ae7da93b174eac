"""Export of the public data: every list of the open-data API as CSV (the archive's columns)
and GeoJSON, chosen by `format=` or `Accept`; and `bluelamp opendata export`, which writes a
force's month back out exactly as data.police.uk's archive file."""

from __future__ import annotations

import csv
import gzip
import io

import orjson
import pytest
from fastapi.testclient import TestClient

from bluelamp.access.policy import Actor
from bluelamp.cli.main import main
from bluelamp.clock import Clock
from bluelamp.opendata import importer
from bluelamp.opendata.vocabulary import OUTCOME_COLUMNS, STOP_COLUMNS, STREET_COLUMNS
from bluelamp.storage import Database, migrate
from tests.factories.opendata import make_crime, make_outcome, make_point, make_stop

LAT, LON = 53.8, -1.55


@pytest.fixture
def api(settings, db, clock):
    from bluelamp.web import create_app

    app = create_app(
        settings.model_copy(update={"opendata_rate_burst": 10_000}), database=db, clock=clock, background_writer=False
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


# ------------------------------------------------------------------ the API's CSV


def test_crimes_as_csv_have_the_archive_columns_and_a_file_name(api, db):
    point = make_point(db, LAT, LON, "On or near Boar Lane")
    crime = make_crime(db, at=point, category="violent-crime", outcome="Unable to prosecute suspect")
    make_crime(db, at=point, category="anti-social-behaviour")

    response = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}&format=csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="crimes-street-all-crime-2016-07.csv"'
    assert response.content.endswith(b"\r\n")  # the archive's line ends
    header, violent, asb = read_csv(response.content)
    assert tuple(header) == STREET_COLUMNS
    assert violent == [
        crime.persistent_id,
        "2016-07",
        "West Yorkshire Police",
        "West Yorkshire Police",
        "-1.550000",
        "53.800000",
        "On or near Boar Lane",
        "E01011000",
        "Leeds 111A",
        "Violence and sexual offences",
        "Unable to prosecute suspect",
        "",
    ]
    assert asb[0] == "" and asb[9] == "Anti-social behaviour" and asb[10] == ""


def test_accept_chooses_the_form_and_format_overrides_it(api, db):
    make_crime(db, lat=LAT, lon=LON)
    url = f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}"

    def kind(response) -> str:
        return response.headers["content-type"].split(";")[0]

    assert kind(api.get(url, headers={"Accept": "text/csv"})) == "text/csv"
    assert kind(api.get(url, headers={"Accept": "application/geo+json"})) == "application/geo+json"
    assert kind(api.get(url, headers={"Accept": "text/csv;q=0.5, application/json"})) == "application/json"
    assert kind(api.get(url, headers={"Accept": "*/*"})) == "application/json"
    assert kind(api.get(url, headers={"Accept": "image/png"})) == "application/json"
    assert kind(api.get(url + "&format=geojson", headers={"Accept": "text/csv"})) == "application/geo+json"
    assert api.get(url + "&format=csv").headers["vary"] == "Accept"


def test_an_empty_answer_is_a_csv_header_alone(api, db):
    make_crime(db, lat=LAT, lon=LON)
    body = api.get("/api/crimes-street/all-crime?lat=51.5&lng=-0.12&format=csv").content
    assert read_csv(body) == [list(STREET_COLUMNS)]


def test_unlocated_crimes_as_csv_say_no_location(api, db):
    crime = make_crime(db, category="drugs")
    response = api.get("/api/crimes-no-location?category=all-crime&force=west-yorkshire&format=csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="crimes-no-location-west-yorkshire-2016-07.csv"'
    )
    [_, row] = read_csv(response.content)
    assert row[0] == crime.persistent_id and row[4:8] == ["", "", "No Location", ""]


def test_stops_as_csv_write_booleans_as_the_archive_does(api, db):
    point = make_point(db, 52.8, -2.1, force_id="staffordshire")
    make_stop(db, at=point, operation=True, operation_name="Operation Sceptre", outcome_linked=False, removal=None)
    make_stop(db, outcome="", outcome_id=None, gender=None, operation=None)

    body = api.get("/api/stops-force?force=staffordshire&date=2016-11&format=csv").content

    header, located, unlocated = read_csv(body)
    assert tuple(header) == STOP_COLUMNS
    assert located == [
        "Person search",
        "2016-11-06T22:45:00+00:00",
        "True",
        "Operation Sceptre",
        "52.800000",
        "-2.100000",
        "Male",
        "18-24",
        "Other ethnic group - Not stated",
        "",
        "Misuse of Drugs Act 1971 (section 23)",
        "Controlled drugs",
        "A no further action disposal",
        "False",
        "",
    ]
    assert unlocated[2] == "" and unlocated[4:7] == ["", "", ""] and unlocated[12] == ""


def test_outcomes_as_csv_have_the_archive_columns(api, db):
    point = make_point(db, LAT, LON, "On or near Kirkgate")
    crime = make_crime(db, at=point)
    make_outcome(db, crime.persistent_id, month=201608, code="penalty-notice-issued", at=point)

    at_location = api.get(f"/api/outcomes-at-location?location_id={point}&format=csv")
    for_crime = api.get(f"/api/outcomes-for-crime/{crime.persistent_id}?format=csv")

    header, row = read_csv(at_location.content)
    assert tuple(header) == OUTCOME_COLUMNS
    assert row == [
        crime.persistent_id,
        "2016-08",
        "West Yorkshire Police",
        "West Yorkshire Police",
        "-1.550000",
        "53.800000",
        "On or near Kirkgate",
        "E01011000",
        "Leeds 111A",
        "Offender given a penalty notice",
    ]
    assert read_csv(for_crime.content) == [header, row]


# ------------------------------------------------------------------ the API's GeoJSON


def test_crimes_as_geojson_are_points_with_the_records_fields(api, db):
    point = make_point(db, LAT, LON, "On or near Boar Lane")
    crime = make_crime(db, at=point, category="robbery")
    as_json = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}").json()

    response = api.get(f"/api/crimes-street/all-crime?lat={LAT}&lng={LON}&format=geojson")

    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"] == 'attachment; filename="crimes-street-all-crime-2016-07.geojson"'
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [-1.55, 53.8]}
    expected = {k: v for k, v in as_json[0].items() if k != "location"}
    assert feature["properties"] == {**expected, "street": {"id": point, "name": "On or near Boar Lane"}}
    assert feature["properties"]["id"] == crime.id


def test_unlocated_records_are_features_with_null_geometry(api, db):
    make_crime(db, category="drugs")
    make_stop(db)

    crimes = api.get("/api/crimes-no-location?category=all-crime&force=west-yorkshire&format=geojson").json()
    stops = api.get("/api/stops-force?force=staffordshire&format=geojson").json()

    assert [f["geometry"] for f in crimes["features"]] == [None]
    assert "street" not in crimes["features"][0]["properties"]
    assert crimes["features"][0]["properties"]["category"] == "drugs"
    assert [f["geometry"] for f in stops["features"]] == [None]
    assert stops["features"][0]["properties"]["outcome_object"]["id"] == "bu-no-further-action"


def test_outcomes_as_geojson_are_placed_at_their_crime(api, db):
    point = make_point(db, LAT, LON, "On or near Kirkgate")
    crime = make_crime(db, at=point)
    make_outcome(db, crime.persistent_id, month=201608, code="charged", at=point)

    collection = api.get(f"/api/outcomes-at-location?location_id={point}&format=geojson").json()

    [feature] = collection["features"]
    assert feature["geometry"]["coordinates"] == [-1.55, 53.8]
    assert feature["properties"]["category"] == {"code": "charged", "name": "Suspect charged"}
    assert feature["properties"]["crime"]["id"] == crime.id
    assert feature["properties"]["crime"]["street"] == {"id": point, "name": "On or near Kirkgate"}


# ------------------------------------------------------------------ bluelamp opendata export


@pytest.fixture(scope="module")
def real_url(database_factory):
    """West Yorkshire's July 2016 street crimes and Staffordshire's November 2016 stops,
    imported once into a database of this module's own."""
    url = database_factory.new_url("opendata_export")
    database = Database.from_url(url)
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
    database.dispose()
    return url


@pytest.fixture
def cli_env(real_url, monkeypatch):
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", real_url)
    monkeypatch.setenv("COLUMNS", "250")


def test_export_writes_a_forces_month_back_exactly_as_the_archive_file(cli_env, tmp_path, capsys):
    out = tmp_path / "wy.csv"
    code = main(
        ["opendata", "export", "--kind", "street", "--force", "west-yorkshire", "--month", "2016-07", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    with gzip.open(importer.DATA / "2016-07-west-yorkshire-street.csv.gz", "rb") as original:
        assert out.read_bytes() == original.read()
    assert "wrote 27,176 street rows of west-yorkshire, 2016-07" in capsys.readouterr().out


def test_export_of_a_mile_as_geojson_holds_what_the_api_answers(cli_env, real_url, tmp_path):
    out = tmp_path / "leeds.geojson"
    lat, lng = "53.7997", "-1.5492"
    args = ["opendata", "export", "--kind", "street", "--force", "west-yorkshire", "--lat", lat, "--lng", lng]
    assert main([*args, "--format", "geojson", "--out", str(out)]) == 0
    collection = orjson.loads(out.read_bytes())

    from bluelamp.opendata import queries

    database = Database.from_url(real_url)
    with database.read() as session:
        expected = queries.crimes_json(queries.street_crimes(session, 201607, queries.Circle(53.7997, -1.5492)))
    database.dispose()
    assert len(collection["features"]) == len(expected) > 1000
    assert [f["properties"]["id"] for f in collection["features"]] == [c["id"] for c in expected]
    assert all(f["geometry"]["type"] == "Point" for f in collection["features"])


def test_export_of_a_polygon_and_of_stops(cli_env, tmp_path):
    crimes, stops = tmp_path / "poly.csv", tmp_path / "stops.csv"
    poly = "53.79,-1.56:53.81,-1.56:53.81,-1.53:53.79,-1.53"
    assert main(["opendata", "export", "--kind", "street", "--force", "west-yorkshire", "--poly", poly,
                 "--category", "burglary", "--out", str(crimes)]) == 0  # fmt: skip
    assert main(["opendata", "export", "--kind", "stops", "--force", "staffordshire", "--out", str(stops)]) == 0

    header, *rows = read_csv(crimes.read_bytes())
    assert tuple(header) == STREET_COLUMNS and rows
    assert all(r[9] == "Burglary" and 53.79 <= float(r[5]) <= 53.81 and -1.56 <= float(r[4]) <= -1.53 for r in rows)
    header, *rows = read_csv(stops.read_bytes())
    assert tuple(header) == STOP_COLUMNS and len(rows) == 301


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "street", "--force", "atlantis"], "no force 'atlantis'"),
        (["--kind", "crimes", "--force", "west-yorkshire"], "street, outcomes or stops"),
        (["--kind", "street", "--force", "west-yorkshire", "--lat", "53.8"], "both --lat and --lng"),
        (["--kind", "street", "--force", "west-yorkshire", "--lat", "53.8", "--lng", "-1.5", "--poly", "1,2:3,4:5,6"],
         "not both"),
        (["--kind", "street", "--force", "west-yorkshire", "--poly", "53.8,-1.5:53.9,-1.5"], "three distinct"),
        (["--kind", "street", "--force", "west-yorkshire", "--month", "2016-7"], "YYYY-MM"),
        (["--kind", "street", "--force", "west-yorkshire", "--format", "xml"], "csv or geojson"),
    ],
)  # fmt: skip
def test_export_refuses_bad_requests_with_one_line(cli_env, tmp_path, capsys, args, message):
    out = tmp_path / "never.csv"
    assert main(["opendata", "export", *args, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()
