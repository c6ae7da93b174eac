"""Objects, locations, events and links through the services, and the `bluelamp records`
commands: what is normalised, what is refused (and that nothing is written then), event
references, who may read which kind of event, and links only between records of one
force that the actor can see."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, InvalidInput, NotFound
from bluelamp.records import pole
from bluelamp.records.model import Event, Link, Location, Person, RecordObject
from bluelamp.records.pole import NewEvent, RecordRef
from tests.factories.access import ensure_force
from tests.factories.command import make_incident
from tests.factories.records import make_event, make_link, make_location, make_object, make_person, officer

NOW = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


def count(db, model) -> int:
    with db.read() as session:
        return len(session.scalars(select(model)).all())


def problems_of(raised) -> dict[str, str]:
    return {p.field: p.message for p in raised.value.problems}


# ---------------------------------------------------------------- locations


def test_a_location_keeps_its_postcode_in_the_uk_format(db, clock):
    location = make_location(db, clock, postcode=" st162dh ", uprn="100031647263")
    assert (location.postcode, location.postcode_norm, location.uprn) == ("ST16 2DH", "ST162DH", "100031647263")
    assert make_location(db, clock, line1="", postcode="", lat=52.8, lon=-2.1).postcode == ""


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"postcode": "ST16 2D"}, "postcode"),
        ({"postcode": "123 ABC"}, "postcode"),
        ({"line1": "", "postcode": "", "lat": None, "lon": None}, "line1"),
        ({"lat": 52.8, "lon": None}, "lon"),
        ({"lat": 95.0, "lon": -2.1}, "lat"),
        ({"uprn": "UPRN-12"}, "uprn"),
    ],
)
def test_bad_locations_are_refused_and_nothing_is_written(db, clock, fields, field):
    before = count(db, Location)
    with pytest.raises(InvalidInput) as refused:
        make_location(db, clock, **fields)
    assert field in problems_of(refused)
    assert count(db, Location) == before


# ---------------------------------------------------------------- objects


def test_vehicles_and_phones_are_normalised_for_search(db, clock):
    car = make_object(db, "vehicle", clock, vrm="ab12 cde", vin="wvwzzz1jzxw000001")
    phone = make_object(db, "phone", clock, phone_number="+44 7700 900123", imei="49-015420-323751-8")
    assert (car.vrm, car.vrm_norm, car.vin) == ("AB12 CDE", "AB12CDE", "WVWZZZ1JZXW000001")
    assert (phone.phone_digits, phone.imei) == ("07700900123", "490154203237518")
    assert pole.label(car) == "AB12 CDE silver Ford Focus"


@pytest.mark.parametrize(
    ("kind", "fields", "field", "says"),
    [
        ("vehicle", {"vrm": None, "vin": None}, "vrm", "registration mark or a VIN"),
        ("vehicle", {"vin": "WVWZZZ1JZXW00000O"}, "vin", "never I, O or Q"),
        ("vehicle", {"vin": "WVWZZZ1JZ"}, "vin", "17"),
        ("vehicle", {"vrm": "AB12 CDE!"}, "vrm", "letters and digits"),
        ("phone", {"imei": "490154203237519"}, "imei", "check digit"),
        ("phone", {"imei": "4901542032"}, "imei", "15 digits"),
        ("phone", {"phone_number": "call me", "imei": None}, "phone_number", "digits"),
        ("weapon", {"description": " "}, "description", "describe the weapon"),
        ("spaceship", {}, "kind", "vehicle, phone"),
    ],
)
def test_bad_objects_are_refused_and_nothing_is_written(db, clock, kind, fields, field, says):
    before = count(db, RecordObject)
    with pytest.raises(InvalidInput) as refused:
        make_object(db, kind, clock, **fields)
    assert says in problems_of(refused)[field]
    assert count(db, RecordObject) == before


# ---------------------------------------------------------------- events


def test_events_get_references_per_force_kind_and_year(db, clock):
    first = make_event(db, "incident", clock)
    second = make_event(db, "incident", clock)
    search = make_event(db, "stop_search", clock)
    elsewhere = make_event(db, "incident", clock, force_id="west-yorkshire")
    clock.current = datetime(2027, 1, 2, 12, 0, tzinfo=UTC)
    next_year = make_event(db, "incident", clock)
    assert [first.reference, second.reference, search.reference] == [
        "SP-IN-2026-000001",
        "SP-IN-2026-000002",
        "SP-SS-2026-000001",
    ]
    assert elsewhere.reference.endswith("-IN-2026-000001") and not elsewhere.reference.startswith("SP-")
    assert next_year.reference == "SP-IN-2027-000001"


def test_an_events_location_is_linked_and_its_command_incident_must_be_visible(db, clock):
    place = make_location(db, clock)
    incident = make_incident(db, clock)
    event = make_event(db, "incident", clock, location_id=place.id, incident_id=incident.id)
    assert (event.location_id, event.incident_id) == (place.id, incident.id)
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.from_id == event.id)).all()
        assert [(x.role, x.to_type, x.to_id) for x in links] == [("occurred_at", "location", place.id)]
    other_force = make_incident(db, clock, force_id="west-yorkshire")
    with pytest.raises(InvalidInput) as refused:
        make_event(db, "incident", clock, actor=officer(), incident_id=other_force.id)
    assert problems_of(refused) == {"incident_id": f"no incident {other_force.id!r}"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"summary": ""}, "summary"),
        ({"occurred_from": NOW + timedelta(hours=1)}, "occurred_from"),
        ({"occurred_from": NOW - timedelta(hours=1), "occurred_to": NOW - timedelta(hours=2)}, "occurred_to"),
        ({"occurred_from": NOW - timedelta(hours=1), "reported_at": NOW - timedelta(hours=2)}, "reported_at"),
        ({"kind": "party"}, "kind"),
        ({"retention_group": "9"}, "retention_group"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(db, clock, fields, field):
    before = count(db, Event)
    command = NewEvent(**{"kind": "incident", "summary": "fight", **fields})
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        pole.add_event(session, officer(), command, clock)
    assert field in problems_of(refused)
    assert count(db, Event) == before


def test_crimes_and_intelligence_are_not_recorded_as_plain_events(db, clock):
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        pole.add_event(session, officer(), NewEvent("crime", "burglary"), clock)
    assert refused.value.code == "event.kind_has_own_route"


def test_crimes_and_intelligence_are_read_only_with_their_own_permission(db, clock):
    crime = make_event(db, "crime", clock)
    intelligence = make_event(db, "intelligence", clock)
    stop = make_event(db, "stop_search", clock)
    with db.unit_of_work() as session:
        assert pole.get_event(session, officer("investigator"), crime.id, clock).record.id == crime.id
        assert pole.get_event(session, officer("call_handler"), stop.id, clock).record.id == stop.id
    for role, event in (("call_handler", crime), ("response_officer", intelligence)):
        with db.unit_of_work() as session, pytest.raises(NotFound) as hidden:
            pole.get_event(session, officer(role), event.id, clock)
        assert hidden.value.detail == f"no event {event.id!r}"


def test_reading_a_record_is_audited_with_the_reason(db, clock):
    car = make_object(db, "vehicle", clock)
    with db.unit_of_work() as session:
        pole.get_object(session, officer(reason="ANPR hit on the A34"), car.id, clock)
    with db.read() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.record_id == car.id)).all()
        assert [(e.action, e.reason) for e in entries][-1] == ("object.read", "ANPR hit on the A34")


# ---------------------------------------------------------------- links


def test_records_are_linked_with_a_role_and_dates(db, clock):
    person = make_person(db, clock)
    car = make_object(db, "vehicle", clock)
    made = make_link(db, person, "keeper", car, clock, from_date=datetime(2024, 5, 1).date(), note="V5C")
    assert (made.from_type, made.role, made.to_type, made.note) == ("person", "keeper", "object", "V5C")
    with db.unit_of_work() as session:
        detail = pole.get_object(session, officer(), car.id, clock)
    assert [(v.link.role, v.outgoing, v.other.id, v.other_label) for v in detail.links] == [
        ("keeper", False, person.id, "SMITH, John (12/03/1985)")
    ]


def test_a_role_must_join_the_kinds_of_record_it_names(db, clock):
    person = make_person(db, clock)
    place = make_location(db, clock)
    phone = make_object(db, "phone", clock)
    with pytest.raises(InvalidInput) as wrong:
        make_link(db, person, "suspect", place, clock)
    assert wrong.value.code == "link.invalid_role"
    assert wrong.value.extra["allowed"] == ["owner", "resides_at", "seen_at"]
    with pytest.raises(InvalidInput) as phone_keeper:
        make_link(db, person, "keeper", phone, clock)
    assert phone_keeper.value.code == "link.invalid_role"
    with pytest.raises(InvalidInput) as unknown:
        make_link(db, person, "cousin_of", place, clock)
    assert "role" in problems_of(unknown)


def test_a_record_is_not_linked_to_itself_or_twice(db, clock):
    person = make_person(db, clock)
    friend = make_person(db, clock, given_names="Ann")
    with pytest.raises(InvalidInput) as itself:
        make_link(db, person, "associate_of", person, clock)
    assert itself.value.code == "link.self"
    first = make_link(db, person, "associate_of", friend, clock)
    with pytest.raises(Conflict) as twice:
        make_link(db, person, "associate_of", friend, clock)
    assert twice.value.code == "link.exists" and twice.value.extra == {"link_id": first.id}
    with pytest.raises(InvalidInput) as backwards:
        make_link(
            db,
            person,
            "associate_of",
            make_person(db, clock),
            clock,
            from_date=NOW.date(),
            to_date=datetime(2020, 1, 1).date(),
        )
    assert "to_date" in problems_of(backwards)


def test_a_record_of_another_force_cannot_be_linked_and_answers_like_a_missing_one(db, clock):
    person = make_person(db, clock)
    theirs = make_person(db, clock, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    with db.unit_of_work() as session, pytest.raises(NotFound) as hidden:
        pole.link(session, officer(), person, "associate_of", theirs, clock)
    with db.unit_of_work() as session, pytest.raises(NotFound) as missing:
        pole.link(session, officer(), person, "associate_of", RecordRef("person", "0" * 32), clock)
    assert hidden.value.detail.replace(theirs.id, "<id>") == missing.value.detail.replace("0" * 32, "<id>")
    assert count(db, Link) == 0


def test_a_link_to_a_record_above_the_actors_clearance_is_refused_like_a_missing_one(db, clock):
    person = make_person(db, clock)
    secret = make_person(db, clock, actor=officer(clearance="SECRET"), marking="SECRET")
    with db.unit_of_work() as session, pytest.raises(NotFound):
        pole.link(session, officer(), person, "associate_of", secret, clock)


def test_unlinking_removes_the_link_and_the_audit_log_keeps_it(db, clock):
    person = make_person(db, clock)
    place = make_location(db, clock)
    made = make_link(db, person, "resides_at", place, clock)
    with db.unit_of_work() as session:
        pole.unlink(session, officer(), made.id, clock, reason="wrong person")
    with db.read() as session:
        assert session.get(Link, made.id) is None
        removed = session.scalars(select(AuditEntry).where(AuditEntry.action == "link.remove")).one()
        assert removed.record_id == person.id and '"reason": "wrong person"' in removed.detail
    with db.unit_of_work() as session, pytest.raises(NotFound):
        pole.unlink(session, officer(), made.id, clock)


# ---------------------------------------------------------------- from the shell


@pytest.fixture
def cli_db(settings, monkeypatch):
    from bluelamp.cli import main
    from bluelamp.storage import Database
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    database = Database.from_url(url)
    yield database
    database.dispose()


def run(capsys, *args: str) -> tuple[int, str, str]:
    from bluelamp.cli import main

    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_add_show_link_and_export_from_the_shell(cli_db, capsys, tmp_path):
    status, out, err = run(
        capsys, "records", "person", "add", "--family", "Smith", "--given", "John", "--dob", "1985-03",
        "--identifier", "pnc_id=99/123456A", "--marker", "violent:assaulted door staff", "--alias", "Jonno Smyth",
    )  # fmt: skip
    assert status == 0, err
    person_id = re.search(r"added person (\w+): SMITH, John \(03/1985\)", out).group(1)
    status, out, err = run(capsys, "records", "location", "add", "--line1", "4 Mill St", "--postcode", "st15 8ba")
    assert status == 0, err
    location_id = re.search(r"added location (\w+)", out).group(1)
    status, out, err = run(
        capsys, "records", "link", "add", f"person:{person_id}", "resides_at", f"location:{location_id}"
    )
    assert status == 0, err
    status, out, err = run(capsys, "records", "person", "show", person_id)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "WARNING VIOLENT: assaulted door staff (since " + lines[0].split("since ")[1]
    assert "alias: SMYTH, Jonno" in out and "pnc_id: 99/123456A" in out and "4 Mill St, ST15 8BA" in out
    target = tmp_path / "chart.graphml"
    status, out, err = run(capsys, "records", "graph", f"person:{person_id}", "--output", str(target))
    assert status == 0, err
    assert "wrote 2 records and 1 links" in out and "4 Mill St" in target.read_text()


def test_bad_input_from_the_shell_is_one_line_and_writes_nothing(cli_db, capsys):
    status, _, err = run(capsys, "records", "person", "add", "--family", "Smith", "--dob", "2099")
    assert status == 1 and err.startswith("error: dob_year: 2099 is in the future")
    status, _, err = run(capsys, "records", "person", "add", "--family", "Smith", "--dob", "next tuesday")
    assert status == 1 and "not a date of birth" in err
    status, _, err = run(capsys, "records", "link", "add", "person:abc", "suspect", "planet:def")
    assert status == 1 and "no record type 'planet'" in err
    with cli_db.read() as session:
        assert session.scalars(select(Person)).first() is None
