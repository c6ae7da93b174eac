"""The monthly publication: a force's own crimes, outcomes and stops and searches, published
in data.police.uk's form and anonymised. Properties a force and the public rely on: no
published point is a true location, every point covers the minimum of addresses, a record
appears at its nearest point, nothing personal reaches a file, withheld categories are
absent, Crime IDs are stable and opaque, and a month is replaced whole."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bluelamp.access.model import AuditEntry, Force
from bluelamp.access.policy import Actor
from bluelamp.cli import main
from bluelamp.clock import FixedClock
from bluelamp.command import service as command_service
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.opendata import vocabulary
from bluelamp.opendata.model import Month, Origin, Outcome, Point, Stop, StreetCrime
from bluelamp.opendata.publication import points as map_points
from bluelamp.opendata.publication.publish import PublishReport, persistent_id, publish
from bluelamp.records import crime, pole, stop_search, victims
from bluelamp.records.model import Location
from bluelamp.storage import Database, migrate
from tests.factories.access import ensure_force
from tests.factories.command import make_incident, person
from tests.factories.records import make_person, officer

FORCE = "staffordshire"
FEBRUARY, MARCH = 202602, 202603
SECRET = "publication-test-secret"
PUBLISHER = Actor.system(FORCE, "test-publisher")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def at(day: int, hour: int = 12, month: int = 2) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


# ---------------------------------------------------------------- the force's records


# (street, town, postcode, houses, first house's lat, lon, step in lat, step in lon)
STREETS = [
    ("Wellesley Street", "Stoke-on-Trent", "ST1 4NS", 12, 53.0180, -2.1830, 0.00008, 0.0),
    ("Marsh Street", "Stoke-on-Trent", "ST1 5HN", 10, 53.0260, -2.1790, 0.0, 0.00013),
    ("Short Lane", "Stoke-on-Trent", "ST1 5HP", 3, 53.0268, -2.1770, 0.0, 0.00013),  # under the minimum
    ("Leek Road", "Leek", "ST13 5AB", 9, 53.1050, -2.0250, 0.00008, 0.0),
]


@dataclass
class World:
    """What the scenario recorded: true places, crimes, stops and the strings that must
    never be published."""

    clock: FixedClock
    addresses: dict[str, Location] = field(default_factory=dict)  # "3 Wellesley Street" -> row
    crimes: dict[str, str] = field(default_factory=dict)  # name -> event id
    references: list[str] = field(default_factory=list)
    true_places: list[tuple[float, float]] = field(default_factory=list)


def add_street(db, world: World, street: str, town: str, postcode: str, houses: int, lat, lon, dlat, dlon) -> None:
    writer = officer("investigator", name="dc-okafor")
    with db.unit_of_work() as session:
        for n in range(1, houses + 1):
            side = 0.00006 if n % 2 else -0.00006  # odd numbers on one side, even on the other
            place = pole.add_location(
                session,
                writer,
                pole.NewLocation(
                    line1=f"{n} {street}",
                    town=town,
                    postcode=postcode,
                    lat=round(lat + n * dlat + (side if dlon else 0), 6),
                    lon=round(lon + n * dlon + (side if dlat else 0), 6),
                ),
                world.clock,
            )
            world.addresses[f"{n} {street}"] = place
            world.true_places.append((place.lat, place.lon))


def record_crime(db, world: World, name: str, code: str, when: datetime, address: str | None, **extra) -> str:
    world.clock.current = when
    with db.unit_of_work() as session:
        changed = crime.record_crime(
            session,
            officer("investigator", name="dc-okafor"),
            crime.NewCrime(
                source="direct",
                offence_code=code,
                summary=extra.pop("summary", f"{name} SUMMARY-MARKER"),
                narrative=f"NARRATIVE-MARKER about {name}",
                location_id=world.addresses[address].id if address else None,
                **extra,
            ),
            world.clock,
        )
    world.crimes[name] = changed.event.id
    world.references.append(changed.event.reference)
    return changed.event.id


def close(db, world: World, name: str, outcome: str, when: datetime) -> None:
    world.clock.current = when
    with db.unit_of_work() as session:
        crime.close_crime(session, officer("investigator"), world.crimes[name], outcome, "decided", world.clock)


def search(db, world: World, when: datetime, **changes) -> None:
    world.clock.current = when
    command = stop_search.NewStopSearch(
        type="Person search",
        occurred_at=when,
        legislation="Misuse of Drugs Act 1971 (section 23)",
        object_of_search="Controlled drugs",
        outcome="Arrest",
        outcome_linked=True,
        grounds="GROUNDS-MARKER: smell of cannabis",
        gender="Male",
        age_range="18-24",
        officer_defined_ethnicity="White",
        removal_of_outer_clothing=False,
    )
    fields = {**command.__dict__, **changes}
    with db.unit_of_work() as session:
        done = stop_search.record_stop_search(
            session, officer("response_officer", name="pc-whitmore"), stop_search.NewStopSearch(**fields), world.clock
        )
    world.references.append(done.event.reference)
    if done.location is not None and done.location.lat is not None:
        world.true_places.append((done.location.lat, done.location.lon))


def opendata_settings(db, **values) -> None:
    with db.unit_of_work() as session:
        force = session.get(Force, FORCE)
        force.settings = {**(force.settings or {}), "opendata": values}


@pytest.fixture
def world(db) -> World:
    """Staffordshire with four streets of addresses, six crimes (one with a named victim,
    one with no location, one recorded in January and closed in February, one in March),
    three stops and searches and an anti-social behaviour incident closed in February."""
    ensure_force(db, FORCE, "Staffordshire Police")
    world = World(FixedClock(at(1, 9)))
    for street in STREETS:
        add_street(db, world, *street)
    # The same address recorded twice is one household.
    add_street(db, world, "Wellesley Street", "Stoke-on-Trent", "ST1 4NS", 1, 53.0180, -2.1830, 0.00008, 0.0)
    record_crime(db, world, "vehicle", "45", at(20, month=1), "1 Short Lane")
    close(db, world, "vehicle", "14", at(3))
    record_crime(db, world, "burglary", "28E", at(5), "3 Wellesley Street")
    assault = record_crime(db, world, "assault", "8N", at(7), "4 Marsh Street")
    victim = make_person(db, given_names="Zebedee", family_name="Quartermaine")
    with db.unit_of_work() as session:
        victims.add_victim(session, officer("investigator"), assault, victim.id, world.clock)
    close(db, world, "assault", "18", at(20))
    record_crime(db, world, "drugs", "92E", at(10), "2 Leek Road")
    record_crime(db, world, "shoplifting", "46", at(12), None)
    record_crime(db, world, "damage", "58A", at(2, month=3), "5 Wellesley Street")
    search(db, world, at(14, 22), lat=53.01852, lon=-2.18268)
    search(
        db,
        world,
        at(15, 3),
        type="Vehicle search",
        location_id=world.addresses["5 Marsh Street"].id,
        outcome="A no further action disposal",
        outcome_linked=None,
        gender=None,
        age_range=None,
        officer_defined_ethnicity=None,
        removal_of_outer_clothing=None,
        operation_name="Operation Sceptre",
    )
    search(db, world, at(3, month=3), lat=53.0262, lon=-2.1781)
    world.clock.current = at(18, 20)
    incident = make_incident(db, world.clock, category="asb_nuisance", lat=53.0262, lon=-2.1776)
    with db.unit_of_work() as session:
        command_service.close_incident(
            session, person("dispatcher"), incident.id, "asb_nuisance", "resolved", "Youths moved on", world.clock
        )
    world.true_places.append((53.0262, -2.1776))
    world.clock.current = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
    return world


def publish_month(db, world: World, out: Path | None, month: int = FEBRUARY, actor: Actor = PUBLISHER):
    with db.unit_of_work() as session:
        return publish(session, actor, FORCE, month, out, world.clock, secret_key=SECRET)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def files(out: Path, month: int = FEBRUARY) -> dict[str, Path]:
    text = vocabulary.month_text(month)
    return {kind: out / text / f"{text}-{FORCE}-{kind}.csv" for kind in ("street", "outcomes", "stop-and-search")}


def published_points(db) -> list[Point]:
    with db.read() as session:
        return list(session.scalars(select(Point).where(Point.force_id == FORCE, Point.origin == "publish")))


# ---------------------------------------------------------------- anonymisation


def test_no_published_point_is_a_true_location(db, world, tmp_path):
    publish_month(db, world, tmp_path)
    points = published_points(db)
    assert len(points) == 3
    with db.read() as session:
        every_place = session.execute(select(Location.lat, Location.lon).where(Location.lat.is_not(None))).all()
    addresses = [(a.lat, a.lon) for a in world.addresses.values()]
    for point in points:
        from_addresses = min(map_points.distance_m(point.lat, point.lon, *a) for a in addresses)
        assert from_addresses >= map_points.MIN_SEPARATION_M, (point.street_name, from_addresses)
        from_any = min(map_points.distance_m(point.lat, point.lon, *p) for p in [*every_place, *world.true_places])
        assert from_any >= map_points.RECORD_SEPARATION_M, (point.street_name, from_any)
    # ...and nothing published stands anywhere else than on a point.
    on_points = {(round(p.lat, 6), round(p.lon, 6)) for p in points}
    for name in ("street", "outcomes", "stop-and-search"):
        _, rows = read_csv(files(tmp_path)[name])
        for row in rows:
            if row["Latitude"]:
                assert (float(row["Latitude"]), float(row["Longitude"])) in on_points


def test_every_point_covers_at_least_the_minimum_of_distinct_addresses(db, world, tmp_path):
    report = publish_month(db, world, tmp_path)
    points = published_points(db)
    assert report.addresses == 12 + 10 + 3 + 9  # 1 Wellesley Street, recorded twice, counts once
    assert all(p.households >= 8 for p in points)
    assert sum(p.households for p in points) == report.addresses
    names = {p.street_name: p.households for p in points}
    # Short Lane's three houses fall under the minimum: they join their nearest street.
    assert names == {"On or near Wellesley Street": 12, "On or near Marsh Street": 13, "On or near Leek Road": 9}


def test_a_centre_that_is_an_address_or_a_records_place_is_moved_off_it():
    centre = (53.0, -2.0)
    # Eight houses 30 m around the centre, symmetric, so that the centre is their mean.
    ring = [
        (centre[0] + 30 * math.cos(k * math.pi / 4) / 110_574, centre[1] + 30 * math.sin(k * math.pi / 4) / 67_000)
        for k in range(8)
    ]
    houses = [map_points.Address(f"h{n}", "Round Street", "Stone", lat, lon) for n, (lat, lon) in enumerate(ring)]
    houses.append(map_points.Address("middle", "Round Street", "Stone", *centre))
    (point,) = map_points.build_points(houses, 8, avoid=[centre])
    assert point.households == 9 and point.name == "On or near Round Street"
    assert map_points.distance_m(point.lat, point.lon, *centre) >= map_points.MIN_SEPARATION_M
    assert all(map_points.distance_m(point.lat, point.lon, h.lat, h.lon) >= 10 for h in houses)
    # Without the house in the middle, only the record's place there pushes it: a smaller margin.
    (moved,) = map_points.build_points(houses[:8], 8, avoid=[centre])
    assert 0 < map_points.distance_m(moved.lat, moved.lon, *centre) < map_points.MIN_SEPARATION_M


def test_streets_are_read_from_addresses_and_each_address_counted_once():
    assert map_points.street_of("Flat 3, 52 Marsh Street") == "Marsh Street"
    assert map_points.street_of("Hanley Bus Station", "Lichfield Street") == "Lichfield Street"
    assert map_points.street_of("14 Wellesley St") == "Wellesley Street"
    assert map_points.street_of("7 Piccadilly") == "Piccadilly"
    assert map_points.street_of("Hanley Bus Station") is None
    same = map_points.address_key("14 Wellesley St.", "", "st1 4ns", None)
    assert same == map_points.address_key("14  wellesley street", "", "ST1 4NS", None)
    assert map_points.address_key("Flat 2, 14 Wellesley Street", "", "ST1 4NS", None) != same
    assert map_points.address_key("anything", "", "", "100031234567") == "uprn:100031234567"


def test_a_smaller_minimum_gives_more_points_and_a_larger_one_fewer(db, world, tmp_path):
    opendata_settings(db, min_addresses_per_point=3)
    assert publish_month(db, world, None).points == 4  # Short Lane has a point of its own
    assert all(p.households >= 3 for p in published_points(db))
    opendata_settings(db, min_addresses_per_point=20)
    report = publish_month(db, world, None)
    assert report.points == 1 and report.points_removed == 4  # every street is now one point


def test_an_address_base_under_the_minimum_publishes_no_locations(db, tmp_path):
    ensure_force(db, FORCE)
    world = World(FixedClock(at(1)))
    add_street(db, world, "Tiny Close", "Stone", "ST15 8AA", 4, 52.90, -2.15, 0.0001, 0.0)
    record_crime(db, world, "burglary", "28E", at(4), "1 Tiny Close")
    world.clock.current = at(1, month=4)
    report = publish_month(db, world, tmp_path)
    assert report.points == 0 and report.no_location["street"] == 1
    assert "fewer than the minimum" in report.notes[0]
    _, rows = read_csv(files(tmp_path)["street"])
    assert [(r["Longitude"], r["Latitude"], r["Location"]) for r in rows] == [("", "", "No Location")]


def test_a_crime_appears_at_its_nearest_point(db, world, tmp_path):
    publish_month(db, world, tmp_path)
    points = published_points(db)
    with db.read() as session:
        rows = {r.persistent_id: r for r in session.scalars(select(StreetCrime).where(StreetCrime.month == FEBRUARY))}
    true_place = {"burglary": "3 Wellesley Street", "assault": "4 Marsh Street", "drugs": "2 Leek Road"}
    for name, address in true_place.items():
        row = rows[persistent_id(SECRET, FORCE, world.crimes[name])]
        place = world.addresses[address]
        published = map_points.distance_m(place.lat, place.lon, row.lat, row.lon)
        assert published <= min(map_points.distance_m(place.lat, place.lon, p.lat, p.lon) for p in points) + 0.5
        assert row.location_id in {p.id for p in points} and row.location_type == "Force"
    assert rows[persistent_id(SECRET, FORCE, world.crimes["burglary"])].street_name == "On or near Wellesley Street"


def test_no_personal_data_reaches_any_file(db, world, tmp_path):
    publish_month(db, world, tmp_path)
    text = "\n".join(path.read_text() for path in files(tmp_path).values())
    for forbidden in (
        "Zebedee",
        "Quartermaine",
        "SUMMARY-MARKER",
        "NARRATIVE-MARKER",
        "GROUNDS-MARKER",
        "pc-whitmore",
        "dc-okafor",
        "ST1 4NS",
        "ST1 5HN",
        *world.references,
        *world.crimes.values(),
    ):
        assert forbidden not in text, forbidden
    assert not re.search(r"\d+ (Wellesley|Marsh|Short|Leek)", text), "a house number was published"
    for lat, lon in world.true_places:
        assert f"{lon:.6f},{lat:.6f}" not in text and f"{lat:.6f},{lon:.6f}" not in text


# ---------------------------------------------------------------- what is published


def test_the_files_have_the_archive_names_and_exact_headers(db, world, tmp_path):
    report = publish_month(db, world, tmp_path)
    expected = files(tmp_path)
    assert sorted(report.files) == sorted(expected.values())
    assert read_csv(expected["street"])[0] == list(vocabulary.STREET_COLUMNS)
    assert read_csv(expected["outcomes"])[0] == list(vocabulary.OUTCOME_COLUMNS)
    assert read_csv(expected["stop-and-search"])[0] == list(vocabulary.STOP_COLUMNS)
    assert expected["street"].read_bytes().startswith(b"Crime ID,Month,Reported by,Falls within,")
    assert not list(tmp_path.rglob(".*.part"))


def test_street_rows_carry_category_outcome_and_the_published_name(db, world, tmp_path):
    opendata_settings(db, published_name="Staffordshire Police (Bluelamp)")
    report = publish_month(db, world, tmp_path)
    assert (report.crimes, report.anti_social_behaviour) == (4, 1)
    _, rows = read_csv(files(tmp_path)["street"])
    by_id = {r["Crime ID"]: r for r in rows}
    burglary = by_id[persistent_id(SECRET, FORCE, world.crimes["burglary"])]
    assault = by_id[persistent_id(SECRET, FORCE, world.crimes["assault"])]
    shoplifting = by_id[persistent_id(SECRET, FORCE, world.crimes["shoplifting"])]
    assert (burglary["Crime type"], burglary["Last outcome category"]) == ("Burglary", "Under investigation")
    assert (assault["Crime type"], assault["Last outcome category"]) == (
        "Violence and sexual offences",
        "Investigation complete; no suspect identified",
    )
    assert (shoplifting["Location"], shoplifting["Latitude"], shoplifting["Longitude"]) == ("No Location", "", "")
    assert {r["Month"] for r in rows} == {"2026-02"}
    assert {(r["Reported by"], r["Falls within"]) for r in rows} == {("Staffordshire Police (Bluelamp)",) * 2}
    assert {(r["LSOA code"], r["LSOA name"], r["Context"]) for r in rows} == {("", "", "")}
    asb = [r for r in rows if r["Crime type"] == "Anti-social behaviour"]
    assert [(r["Crime ID"], r["Last outcome category"]) for r in asb] == [("", "")]
    assert asb[0]["Location"].startswith("On or near ")
    # The crimes of January and March are in their own months.
    assert persistent_id(SECRET, FORCE, world.crimes["vehicle"]) not in by_id
    assert persistent_id(SECRET, FORCE, world.crimes["damage"]) not in by_id


def test_outcome_rows_are_the_crimes_whose_outcome_was_set_in_the_month(db, world, tmp_path):
    report = publish_month(db, world, tmp_path)
    _, rows = read_csv(files(tmp_path)["outcomes"])
    found = {r["Crime ID"]: r["Outcome type"] for r in rows}
    assert report.outcomes == 2
    assert found == {
        # outcome 14 (evidential difficulties, no suspect identified) is published as no further action
        persistent_id(SECRET, FORCE, world.crimes["vehicle"]): "Investigation complete; no suspect identified",
        persistent_id(SECRET, FORCE, world.crimes["assault"]): "Investigation complete; no suspect identified",
    }
    assert {r["Month"] for r in rows} == {"2026-02"}
    with db.read() as session:
        codes = set(session.scalars(select(Outcome.category_code).where(Outcome.month == FEBRUARY)))
    assert codes == {"no-further-action"}


def test_stop_rows_carry_the_pace_record_in_utc_to_the_minute(db, world, tmp_path):
    publish_month(db, world, tmp_path)
    _, rows = read_csv(files(tmp_path)["stop-and-search"])
    assert len(rows) == 2  # the March search is March's
    person_search, vehicle = rows
    assert person_search == {
        "Type": "Person search",
        "Date": "2026-02-14T22:00:00+00:00",
        "Part of a policing operation": "False",
        "Policing operation": "",
        "Latitude": person_search["Latitude"],
        "Longitude": person_search["Longitude"],
        "Gender": "Male",
        "Age range": "18-24",
        "Self-defined ethnicity": "",
        "Officer-defined ethnicity": "White",
        "Legislation": "Misuse of Drugs Act 1971 (section 23)",
        "Object of search": "Controlled drugs",
        "Outcome": "Arrest",
        "Outcome linked to object of search": "True",
        "Removal of more than just outer clothing": "False",
    }
    assert person_search["Latitude"] and person_search["Longitude"]
    assert (vehicle["Type"], vehicle["Part of a policing operation"], vehicle["Policing operation"]) == (
        "Vehicle search",
        "True",
        "Operation Sceptre",
    )
    assert (vehicle["Gender"], vehicle["Outcome linked to object of search"]) == ("", "")
    with db.read() as session:
        stored = session.scalars(select(Stop).where(Stop.month == FEBRUARY).order_by(Stop.at)).all()
    assert [(s.involved_person, s.outcome_id) for s in stored] == [(True, "bu-arrest"), (False, "bu-no-further-action")]
    assert stored[1].street_name == "On or near Marsh Street"


def test_withheld_categories_are_left_out_with_their_outcomes(db, world, tmp_path):
    opendata_settings(db, withheld_categories=["drugs", "violent-crime", "anti-social-behaviour"])
    report = publish_month(db, world, tmp_path)
    assert report.withheld == {"drugs": 1, "violent-crime": 1, "anti-social-behaviour": 1}
    assert report.withheld_outcomes == 1  # the assault's
    _, street = read_csv(files(tmp_path)["street"])
    _, outcomes = read_csv(files(tmp_path)["outcomes"])
    assert {r["Crime type"] for r in street} == {"Burglary", "Shoplifting"}
    hidden = {persistent_id(SECRET, FORCE, world.crimes[n]) for n in ("drugs", "assault")}
    assert not hidden & {r["Crime ID"] for r in street + outcomes}
    with db.read() as session:
        categories = set(session.scalars(select(StreetCrime.category).where(StreetCrime.month == FEBRUARY)))
    assert categories == {"burglary", "shoplifting"}


def test_crime_ids_are_64_hex_stable_across_publications_and_need_the_key(db, world, tmp_path):
    publish_month(db, world, tmp_path / "first")
    close(db, world, "burglary", "18", at(5, month=3))
    world.clock.current = datetime(2026, 4, 10, tzinfo=UTC)
    march = publish_month(db, world, tmp_path, MARCH)
    again = publish_month(db, world, tmp_path)
    _, first = read_csv(files(tmp_path / "first")["street"])
    _, second = read_csv(files(tmp_path)["street"])
    _, march_outcomes = read_csv(files(tmp_path, MARCH)["outcomes"])
    ids = [r["Crime ID"] for r in first if r["Crime ID"]]
    assert ids and all(HEX64.match(i) for i in ids)
    assert sorted(ids) == sorted(r["Crime ID"] for r in second if r["Crime ID"])
    burglary = persistent_id(SECRET, FORCE, world.crimes["burglary"])
    assert burglary in ids and [r["Crime ID"] for r in march_outcomes] == [burglary]
    assert persistent_id("another key", FORCE, world.crimes["burglary"]) != burglary
    # February's burglary now shows March's outcome (its latest), as data.police.uk's files do.
    assert march.earlier_outcomes_updated == 1
    assert next(r for r in second if r["Crime ID"] == burglary)["Last outcome category"] == (
        "Investigation complete; no suspect identified"
    )
    assert again.replaced


def test_republishing_replaces_the_month_and_keeps_its_points(db, world, tmp_path):
    first = publish_month(db, world, tmp_path)
    before = {(p.id, p.lat, p.lon, p.street_name) for p in published_points(db)}
    second = publish_month(db, world, tmp_path)
    assert (first.replaced, second.replaced) == (False, True)
    assert {(p.id, p.lat, p.lon, p.street_name) for p in published_points(db)} == before
    assert (second.points_kept, second.points_added, second.points_removed) == (3, 0, 0)
    with db.read() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model).where(model.month == FEBRUARY))
            for model in (StreetCrime, Outcome, Stop)
        }
        months = session.scalars(select(Month).where(Month.month == FEBRUARY).order_by(Month.kind)).all()
    assert counts == {"opendata_street": 5, "opendata_outcome": 2, "opendata_stop": 2}
    assert [(m.kind, m.origin, m.rows, m.source) for m in months] == [
        ("outcomes", "publish", 2, "publish"),
        ("stop-and-search", "publish", 2, "publish"),
        ("street", "publish", 5, "publish"),
    ]
    assert all(len(m.sha256) == 64 for m in months)


def test_only_points_whose_addresses_changed_move(db, world, tmp_path):
    publish_month(db, world, None)
    before = {p.street_name: p.id for p in published_points(db)}
    # Recording 1 Marsh St again (another spelling) changes nothing; a new house moves its street's point.
    add_street(db, world, "Marsh St", "Stoke-on-Trent", "ST1 5HN", 1, 53.0260, -2.1790, 0.0, 0.00013)
    assert publish_month(db, world, None).points_added == 0
    with db.unit_of_work() as session:
        pole.add_location(
            session,
            officer("investigator"),
            pole.NewLocation(line1="11 Marsh Street", town="Stoke-on-Trent", lat=53.02594, lon=-2.17757),
            world.clock,
        )
    report = publish_month(db, world, None)
    after = {p.street_name: p.id for p in published_points(db)}
    assert after["On or near Wellesley Street"] == before["On or near Wellesley Street"]
    assert after["On or near Leek Road"] == before["On or near Leek Road"]
    assert after["On or near Marsh Street"] != before["On or near Marsh Street"]
    assert (report.points_added, report.points_kept, report.points_removed) == (1, 2, 1)


def test_the_published_month_is_in_the_tables_and_served_by_the_api(db, world, tmp_path, client):
    report = publish_month(db, world, tmp_path)
    with db.read() as session:
        street = session.scalar(
            select(func.count()).where(StreetCrime.force_id == FORCE, StreetCrime.month == FEBRUARY)
        )
        origins = set(session.scalars(select(StreetCrime.origin).where(StreetCrime.month == FEBRUARY)))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "opendata.publish")).one()
    assert street == report.street_rows == 5 and origins == {Origin.PUBLISH.value}
    detail = json.loads(entry.detail)
    assert (detail["month"], detail["crimes"], detail["stops"]) == ("2026-02", 4, 2)
    stops = client.get("/api/stops-force", params={"force": FORCE, "date": "2026-02"})
    assert stops.status_code == 200 and len(stops.json()) == 2
    assault = persistent_id(SECRET, FORCE, world.crimes["assault"])
    outcomes = client.get(f"/api/outcomes-for-crime/{assault}")
    assert outcomes.status_code == 200
    assert outcomes.json()["crime"]["category"] == "violent-crime"


def test_published_files_import_cleanly(db, world, tmp_path):
    from bluelamp.opendata.importer import import_paths

    report = publish_month(db, world, tmp_path)
    with db.read() as session:
        published = sorted(
            (r.persistent_id, r.category, r.lat, r.lon, r.outcome_category)
            for r in session.scalars(select(StreetCrime).where(StreetCrime.month == FEBRUARY))
        )
    with db.unit_of_work() as session:
        imported = import_paths(session, Actor.system(None, "test"), list(files(tmp_path).values()), world.clock)
    assert not imported.refused and imported.rejected == 0
    assert {f.kind: f.rows for f in imported.files} == {
        "street": report.street_rows,
        "outcomes": report.outcomes,
        "stop-and-search": report.stops,
    }
    with db.read() as session:
        again = sorted(
            (r.persistent_id, r.category, r.lat, r.lon, r.outcome_category)
            for r in session.scalars(select(StreetCrime).where(StreetCrime.month == FEBRUARY))
        )
    assert again == published


# ---------------------------------------------------------------- refusals


def test_a_month_not_over_an_unknown_force_or_another_forces_cannot_be_published(db, world):
    world.clock.current = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput) as not_over:
        publish_month(db, world, None)
    assert not_over.value.code == "opendata.month_not_over"
    world.clock.current = datetime(2026, 4, 10, tzinfo=UTC)
    with db.unit_of_work() as session, pytest.raises(NotFound):
        publish(session, PUBLISHER, "nowhere", FEBRUARY, None, world.clock, secret_key=SECRET)
    ensure_force(db, "cheshire")
    with pytest.raises(NotFound):
        publish_month(db, world, None, actor=Actor.system("cheshire", "cheshire-admin"))
    with pytest.raises(Denied):
        publish_month(db, world, None, actor=officer("response_officer"))


def test_a_month_imported_from_an_archive_is_not_overwritten(db, world):
    with db.unit_of_work() as session:
        session.add(
            Month(
                force_id=FORCE,
                month=FEBRUARY,
                kind="street",
                origin=Origin.IMPORT.value,
                rows=1,
                source="2026-02-staffordshire-street.csv",
                loaded_at=world.clock.now(),
                loaded_by="import",
            )
        )
    with pytest.raises(Conflict) as caught:
        publish_month(db, world, None)
    assert caught.value.code == "opendata.month_imported"


def test_the_command_publishes_with_a_summary_and_refuses_in_one_line(database_factory, tmp_path, monkeypatch, capsys):
    from bluelamp.access import service as access_service

    url = database_factory.new_url("opendata_publish_cli")  # committed rows: a database of its own
    database = Database.from_url(url)
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        access_service.add_force(
            session, Actor.system(None, "test"), access_service.AddForce(FORCE, "Staffordshire Police"), FixedClock()
        )
    database.dispose()
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    out = tmp_path / "out"
    assert main(["opendata", "publish", "--force", FORCE, "--month", "2025-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "published staffordshire 2025-01 as 'Staffordshire Police'" in printed
    assert "withheld: none" in printed and "2025-01-staffordshire-street.csv" in printed
    assert (out / "2025-01" / "2025-01-staffordshire-stop-and-search.csv").exists()
    for argv, message in [
        (["--force", FORCE, "--month", "2025-13"], "error: --month takes YYYY-MM"),
        (["--force", "nowhere", "--month", "2025-01"], "error: no force 'nowhere'"),
        (["--force", FORCE, "--month", "2999-01"], "error: 2999-01 is not over yet"),
    ]:
        assert main(["opendata", "publish", *argv]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(message) and len(err.splitlines()) == 1, err


def test_report_totals(db, world, tmp_path):
    report: PublishReport = publish_month(db, world, tmp_path)
    assert (report.crimes, report.anti_social_behaviour, report.outcomes, report.stops) == (4, 1, 2, 2)
    assert report.no_location == {"street": 1, "outcomes": 0, "stop-and-search": 0}


def test_the_demo_force_publishes_its_last_complete_month(db, tmp_path):
    from bluelamp.sim import demo_opendata

    ensure_force(db, FORCE, "Staffordshire Police")
    clock = FixedClock(datetime(2026, 4, 10, 9, 0, tzinfo=UTC))
    demo = Actor.system(FORCE, "demo")
    with db.unit_of_work() as session:
        addresses = demo_opendata.seed_addresses(session, demo, clock)
        crimes = demo_opendata.seed_crimes(session, demo, clock, addresses, months=1, per_month=12)
        stops = demo_opendata.seed_stop_searches(
            session, demo_opendata.searching_officer(session), clock, months=1, per_month=12
        )
    assert len(addresses) == len(demo_opendata.demo_addresses()) and crimes >= 12 and stops >= 12
    with db.unit_of_work() as session:
        report = demo_opendata.publish_last_month(session, clock, secret_key=SECRET, out_dir=tmp_path)
    assert report.month == MARCH and report.crimes == 12 and report.stops == 12
    assert report.points >= 20 and report.no_location["stop-and-search"] == 0
    _, rows = read_csv(files(tmp_path, MARCH)["stop-and-search"])
    assert {r["Legislation"] for r in rows} <= set(stop_search.LEGISLATION)


def test_the_published_street_file_is_what_an_export_of_the_month_gives(db, world, tmp_path):
    """One archive writer: a published month's file and an export of the same month from
    the public tables (what `bluelamp opendata export` writes) are the same bytes."""
    from bluelamp.opendata import export, queries

    publish_month(db, world, tmp_path)
    with db.read() as session:
        exported = export.street_csv(queries.force_crimes(session, FEBRUARY, FORCE))
    assert exported.count(b"\n") > 2  # crimes and anti-social behaviour, not only the header
    assert files(tmp_path)["street"].read_bytes() == exported
