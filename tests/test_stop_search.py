"""Recording a stop and search (PACE Code A) in the Home Office's categories: the service
and POST /api/v1/stop-searches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.command.model import LogEntry
from bluelamp.errors import InvalidInput
from bluelamp.records import stop_search
from bluelamp.records.model import Event, Link, Location, StopSearch
from tests.factories.access import bearer, make_user
from tests.factories.command import make_incident
from tests.factories.records import make_location, make_person, officer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SEARCH = stop_search.NewStopSearch(
    type="Person search",
    occurred_at=NOW - timedelta(minutes=30),
    legislation="Misuse of Drugs Act 1971 (section 23)",
    object_of_search="Controlled drugs",
    outcome="A no further action disposal",
    grounds="Strong smell of cannabis; seen passing a small package to another person.",
    lat=53.0225,
    lon=-2.1751,
    gender="Male",
    age_range="18-24",
    self_defined_ethnicity="White - Irish",
    officer_defined_ethnicity="White",
    removal_of_outer_clothing=False,
)


def record(db, command=SEARCH, actor=None, clock=None):
    actor = actor or officer("response_officer", name="pc-whitmore")
    with db.unit_of_work() as session:
        return stop_search.record_stop_search(session, actor, command, clock or FixedClock(NOW))


def refused(db, **changes) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        record(db, replace(SEARCH, **changes))
    return caught.value


def test_an_officer_records_a_stop_and_search_at_a_point(db):
    make_location(db)  # the force exists
    done = record(db)
    with db.read() as session:
        event = session.get(Event, done.event.id)
        stop = session.get(StopSearch, done.event.id)
        place = session.get(Location, event.location_id)
        audited = session.scalars(select(AuditEntry).where(AuditEntry.record_id == event.id)).all()
    assert event.kind == "stop_search"
    assert event.reference == "SP-SS-2026-000001"
    assert event.occurred_from == NOW - timedelta(minutes=30)
    assert event.narrative.startswith("Strong smell of cannabis")
    assert (place.lat, place.lon, place.line1, place.postcode) == (53.0225, -2.1751, "", "")
    assert stop.officer == "pc-whitmore"  # the searching officer is the one recording it
    assert (stop.type, stop.legislation, stop.object_of_search) == (
        "Person search",
        "Misuse of Drugs Act 1971 (section 23)",
        "Controlled drugs",
    )
    assert (stop.gender, stop.age_range, stop.self_defined_ethnicity) == ("Male", "18-24", "White - Irish")
    assert stop.outcome == "A no further action disposal" and stop.outcome_linked is None
    assert event.retention_group == "4"  # nothing found: MoPI miscellaneous
    assert done.outcome_id == "bu-no-further-action"
    assert {"event.create", "stop_search.record"} <= {a.action for a in audited}


def test_older_wordings_and_any_case_are_stored_in_todays_words(db):
    make_location(db)
    done = record(
        db,
        replace(
            SEARCH,
            type="person AND vehicle search",
            outcome="Suspect arrested",
            outcome_linked=True,
            self_defined_ethnicity="White - White British (W1)",
            legislation="police and criminal evidence act 1984 (section 1)",
            object_of_search="stolen goods",
        ),
    )
    assert done.stop.type == "Person and Vehicle search"
    assert done.stop.outcome == "Arrest" and done.outcome_id == "bu-arrest"
    assert done.stop.self_defined_ethnicity == "White - English/Welsh/Scottish/Northern Irish/British"
    assert done.stop.legislation == "Police and Criminal Evidence Act 1984 (section 1)"
    assert done.stop.object_of_search == "Stolen goods"
    assert done.event.retention_group == "3"


def test_values_outside_the_home_office_lists_are_refused_naming_each_field(db):
    make_location(db)
    error = refused(db, type="Car search", legislation="Made Up Act 2020", gender="Unknown", age_range="35-44")
    assert error.code == "stop_search.unknown_value"
    assert {p.field for p in error.problems} == {"type", "legislation", "gender", "age_range"}
    assert "Person search" in next(p.message for p in error.problems if p.field == "type")
    with db.read() as session:
        assert session.scalars(select(StopSearch)).all() == []


def test_where_when_and_grounds_are_required(db):
    make_location(db)
    error = refused(db, lat=None, lon=None, grounds="  ", occurred_at=None)
    assert {p.field for p in error.problems} == {"location_id", "grounds", "occurred_at"}
    assert error.code == "input.invalid"
    place = make_location(db)
    both = refused(db, location_id=place.id)
    assert [p.field for p in both.problems] == ["location_id"]
    future = refused(db, occurred_at=NOW + timedelta(hours=1))
    assert [p.field for p in future.problems] == ["occurred_at"]


def test_a_no_further_action_disposal_links_to_nothing_and_a_vehicle_search_removes_no_clothing(db):
    make_location(db)
    linked = refused(db, outcome_linked=False)
    assert [p.field for p in linked.problems] == ["outcome_linked"]
    vehicle = refused(db, type="Vehicle search", removal_of_outer_clothing=True)
    assert [p.field for p in vehicle.problems] == ["removal_of_outer_clothing"]


def test_a_search_at_a_location_record_links_the_person_searched(db):
    place = make_location(db, line1="Hanley Bus Station", postcode="ST1 3DW", lat=53.0227, lon=-2.1744)
    person = make_person(db, given_names="Darren", family_name="Cole")
    done = record(db, replace(SEARCH, lat=None, lon=None, location_id=place.id, person_id=person.id))
    assert done.event.location_id == place.id
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.to_id == done.event.id)).all()
    assert {(link.from_id, link.role) for link in links} == {(person.id, "subject_of")}
    missing = refused(db, person_id="no-such-person")
    assert [p.field for p in missing.problems] == ["person_id"]


def test_a_search_from_an_incident_is_noted_in_its_log(db):
    incident = make_incident(db, clock=FixedClock(NOW - timedelta(hours=1)))
    done = record(db, replace(SEARCH, incident_id=incident.id))
    assert [e.data["what"] for e in done.events] == ["stop_search_recorded"]
    with db.read() as session:
        notes = session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id)).all()
    assert any(done.event.reference in n.text for n in notes)


def test_only_a_role_that_records_stops_and_searches_may(db):
    from bluelamp.errors import Denied

    make_location(db)
    with pytest.raises(Denied):
        record(db, actor=officer("investigator"))


# ---------------------------------------------------------------- the API


BODY = {
    "type": "Person search",
    "occurred_at": "2026-03-10T11:30:00+00:00",
    "legislation": "Misuse of Drugs Act 1971 (section 23)",
    "object_of_search": "Controlled drugs",
    "outcome": "Arrest",
    "outcome_linked": True,
    "grounds": "Seen passing a package in a known dealing spot.",
    "lat": 53.0225,
    "lon": -2.1751,
    "gender": "Female",
    "age_range": "25-34",
}


def test_post_records_a_stop_and_search_and_answers_201(db, client):
    user = make_user(db, "response_officer", username="pc-hart")
    response = client.post("/api/v1/stop-searches", json=BODY, headers=bearer(db, user))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("SP-SS-")
    assert (body["type"], body["outcome"], body["outcome_id"]) == ("Person search", "Arrest", "bu-arrest")
    assert (body["lat"], body["lon"], body["officer"], body["operation"]) == (53.0225, -2.1751, "pc-hart", False)


def test_post_with_a_bad_value_is_a_problem_naming_the_field(db, client):
    user = make_user(db, "response_officer")
    response = client.post(
        "/api/v1/stop-searches", json={**BODY, "legislation": "Made Up Act"}, headers=bearer(db, user)
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "stop_search.unknown_value"
    assert [e["field"] for e in problem["errors"]] == ["legislation"]


def test_post_by_a_role_without_the_permission_is_denied(db, client):
    user = make_user(db, "call_handler")
    response = client.post("/api/v1/stop-searches", json=BODY, headers=bearer(db, user))
    assert response.status_code == 403
    assert response.json()["code"] == "access.denied"
