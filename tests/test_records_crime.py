"""Crime recording: the Home Office offence table with its data.police.uk categories, the
NCRS clock and the late flag (also across a clock change), crimes from an incident, an
online report or directly, the officer in charge, the append-only investigation log,
Home Office outcomes and their rules, reclassification, reading with a reason; the API's
problem details and force scoping; `bluelamp records crime-categories`."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.command.model import LogEntry
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.records import classification, crime, victims
from bluelamp.records.model import Crime, Event, InvestigationEntry, Person
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.command import make_incident, person, staffordshire
from tests.factories.records import make_link, make_person, officer

# A Tuesday in December (GMT): local time and UTC agree.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REASON = {"X-Bluelamp-Reason": "investigating the burglary"}
API_MODULES = ("crimes", "intelligence", "reviews")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    staffordshire(db)
    ensure_force(db, "west-yorkshire")


def wire(app) -> None:
    """Include the records API modules of this work if the app does not (yet) include them."""
    import importlib

    paths = {getattr(route, "path", None) for route in app.routes}
    for name in API_MODULES:
        module = importlib.import_module(f"bluelamp.web.api.{name}")
        if not any(getattr(r, "path", None) in paths for r in module.router.routes):
            app.include_router(module.router)


@pytest.fixture
def api(app):
    wire(app)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def do(db, work, *args, **kwargs):
    with db.unit_of_work() as session:
        return work(session, *args, **kwargs)


def record(db, clock, actor=None, **changes) -> crime.CrimeChanged:
    fields = {"source": "direct", "offence_code": "28E", "summary": "house burgled, laptop taken", **changes}
    return do(db, crime.record_crime, actor or officer(), crime.NewCrime(**fields), clock)


def log_of(db, crime_id) -> list[InvestigationEntry]:
    with db.read() as session:
        return list(
            session.scalars(
                select(InvestigationEntry)
                .where(InvestigationEntry.event_id == crime_id)
                .order_by(InvestigationEntry.id)
            )
        )


def audits(db, record_id, action=None) -> list[AuditEntry]:
    with db.read() as session:
        statement = select(AuditEntry).where(AuditEntry.record_id == record_id)
        if action:
            statement = statement.where(AuditEntry.action == action)
        return list(session.scalars(statement.order_by(AuditEntry.seq)))


# ---------------------------------------------------------------- the offence table


def test_the_copied_offence_table_is_unchanged_from_its_documented_source():
    source = (classification.DATA.parent / "CRIME_CATEGORIES_SOURCE.md").read_text()
    documented = re.search(r"SHA-256 \| `([0-9a-f]{64})`", source).group(1)
    assert hashlib.sha256(classification.DATA.read_bytes()).hexdigest() == documented
    assert "Open Government Licence v3.0" in source


def test_each_offence_code_has_its_group_and_data_police_uk_category():
    offences = classification.offences()
    assert all(o.police_uk_category in classification.POLICE_UK_CATEGORIES for o in offences)
    burglary = classification.offence(" 28e ")
    assert (burglary.description, burglary.group, burglary.police_uk_category) == (
        "Burglary Residential",
        "Theft offences",
        "burglary",
    )
    assert classification.offence("105A").police_uk_category == "violent-crime"
    assert classification.offence("105A").police_uk_name == "Violence and sexual offences"
    assert classification.offence("46").police_uk_category == "shoplifting"
    assert classification.offence("58C").police_uk_category == "criminal-damage-arson"
    # One row of the source names four homicide codes: each is an offence of its own.
    assert {classification.offence(c).description for c in ("1", "4.1", "4.10", "4.2")} == {"Homicide"}
    assert classification.offence("999Z") is None


def test_the_outcome_table_has_the_home_office_types_1_to_22():
    assert list(classification.OUTCOMES) == [str(n) for n in range(1, 23)]
    assert classification.outcome("1").name == "Charged/summonsed"
    assert classification.outcome(8).name == "Community resolution"
    assert classification.outcome("18").needs_suspect is False
    assert classification.outcome("1").needs_suspect is True
    assert classification.outcome("23") is None


# ---------------------------------------------------------------- the NCRS clock


def test_a_crime_recorded_within_24_hours_of_the_report_is_on_time(db, clock):
    reported = NOW - timedelta(hours=23, minutes=59)
    recorded = record(db, clock, reported_at=reported)
    assert recorded.crime.reported_at == reported
    assert recorded.crime.ncrs_due_at == reported + timedelta(hours=24)
    assert recorded.crime.recorded_at == NOW
    assert recorded.crime.recorded_late is False
    assert recorded.crime.police_uk_category == "burglary"
    assert recorded.event.reference.startswith("SP-CR-2026-")


def test_a_crime_recorded_after_24_hours_is_flagged_late_in_real_elapsed_time_across_the_clock_change(db, clock):
    # BST ends at 02:00 on Sunday 25 October 2026: the wall clock repeats an hour, the NCRS clock does not.
    reported = datetime(2026, 10, 24, 10, 0, tzinfo=UTC)  # 11:00 BST on Saturday
    clock.current = datetime(2026, 10, 25, 10, 0, 1, tzinfo=UTC)  # 10:00:01 GMT on Sunday
    late = record(db, clock, reported_at=reported)
    assert late.crime.ncrs_due_at == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)
    assert late.crime.recorded_late is True
    assert "LATE" in log_of(db, late.event.id)[0].text
    clock.current = datetime(2026, 10, 25, 9, 59, tzinfo=UTC)
    on_time = record(db, clock, reported_at=reported)
    assert on_time.crime.recorded_late is False
    with db.read() as session:
        flagged = crime.list_crimes(session, officer(), late=True)
    assert [e.id for e, _ in flagged] == [late.event.id]


def test_a_crime_from_an_incident_starts_its_clock_at_the_call_and_tells_the_control_room(db, clock):
    clock.current = NOW - timedelta(hours=30)
    incident = make_incident(db, clock)
    clock.current = NOW
    recorded = record(db, clock, officer("response_officer"), source="incident", incident_id=incident.id)
    assert recorded.event.incident_id == incident.id
    assert recorded.crime.reported_at == NOW - timedelta(hours=30)
    assert recorded.crime.recorded_late is True
    assert [(e.name, e.data["incident_id"], e.data["what"]) for e in recorded.events] == [
        ("IncidentChanged", incident.id, "crime_recorded")
    ]
    with db.read() as session:
        notes = session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id, LogEntry.kind == "note"))
        assert [n.data["crime_reference"] for n in notes] == [recorded.event.reference]
    assert f"from incident {incident.reference}" in log_of(db, recorded.event.id)[0].text


def test_an_incident_of_another_force_is_refused_exactly_like_a_missing_one(db, clock):
    theirs = make_incident(db, clock, person(force_id="west-yorkshire"), force_id="west-yorkshire")
    with pytest.raises(InvalidInput) as hidden:
        record(db, clock, source="incident", incident_id=theirs.id)
    with pytest.raises(InvalidInput) as missing:
        record(db, clock, source="incident", incident_id="f" * len(theirs.id))
    assert hidden.value.detail.replace(theirs.id, "<id>") == missing.value.detail.replace("f" * len(theirs.id), "<id>")
    assert [p.field for p in hidden.value.problems] == ["incident_id"]


def test_an_online_report_needs_its_reference_and_keeps_it_in_the_log(db, clock):
    with pytest.raises(InvalidInput) as caught:
        record(db, clock, source="online")
    assert [p.field for p in caught.value.problems] == ["report_reference"]
    recorded = record(db, clock, source="online", report_reference="OR-2026-1234", reported_at=NOW - timedelta(hours=2))
    assert recorded.crime.source == "online"
    assert "online report OR-2026-1234" in log_of(db, recorded.event.id)[0].text


def test_codes_a_force_may_not_record_are_refused_with_the_reason(db, clock):
    with pytest.raises(InvalidInput) as fraud:
        record(db, clock, offence_code="AF")
    assert fraud.value.code == "crime.offence_not_recordable" and "Action Fraud" in fraud.value.detail
    with pytest.raises(InvalidInput) as unknown:
        record(db, clock, offence_code="28Z")
    assert unknown.value.code == "crime.unknown_offence"


def test_every_problem_with_a_new_crime_is_listed_at_once_and_nothing_is_written(db, clock):
    with pytest.raises(InvalidInput) as caught:
        record(db, clock, source="fax", offence_code="nope", officer_in_charge="nobody")
    assert {p.field for p in caught.value.problems} == {"source", "offence_code", "officer_in_charge"}
    with db.read() as session:
        assert session.scalars(select(Crime)).all() == []


# ---------------------------------------------------------------- officer in charge and the log


def test_the_officer_in_charge_is_a_crime_recording_user_of_the_force(db, clock):
    detective = make_user(db, "investigator", username="dc-jones")
    make_user(db, "dispatcher", username="disp-brown")
    make_user(db, "investigator", force_id="west-yorkshire", username="dc-leeds")
    recorded = record(db, clock, officer_in_charge="DC-Jones")
    assert recorded.crime.officer_in_charge == detective.username
    for wrong in ("disp-brown", "dc-leeds", "nobody"):
        with pytest.raises(InvalidInput) as caught:
            do(db, crime.assign_officer, officer(), recorded.event.id, wrong, clock)
        assert caught.value.code == "crime.unknown_officer", wrong
    make_user(db, "response_officer", username="pc-smith")
    changed = do(db, crime.assign_officer, officer(), recorded.event.id, "pc-smith", clock)
    assert changed.crime.officer_in_charge == "pc-smith"
    assert log_of(db, recorded.event.id)[-1].text == "officer in charge: pc-smith (was dc-jones)"


def test_a_correction_is_a_new_entry_naming_the_one_it_corrects(db, clock):
    recorded = record(db, clock)
    note = do(db, crime.add_note, officer(), recorded.event.id, "neighbour saw a red van", clock).entry
    fixed = do(db, crime.correct, officer(), recorded.event.id, note.id, "the van was blue", clock).entry
    entries = log_of(db, recorded.event.id)
    assert [(e.kind, e.text, e.corrects_id) for e in entries[-2:]] == [
        ("note", "neighbour saw a red van", None),
        ("correction", "the van was blue", note.id),
    ]
    assert fixed.id == entries[-1].id
    other = record(db, clock)
    with pytest.raises(NotFound):
        do(db, crime.correct, officer(), other.event.id, note.id, "wrong crime", clock)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records_investigation_log SET text = 'rewritten' WHERE id = :id",
        "DELETE FROM records_investigation_log WHERE id = :id",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_edit_or_delete_an_investigation_log_entry(db, clock, statement):
    recorded = record(db, clock)
    first = log_of(db, recorded.event.id)[0]
    with pytest.raises(DBAPIError) as caught, db.unit_of_work() as session:
        session.execute(text(statement), {"id": first.id})
    assert "append-only" in str(caught.value)
    assert log_of(db, recorded.event.id)[0].text == first.text


# ---------------------------------------------------------------- outcomes


def test_a_charge_needs_a_suspect_linked_and_raises_their_retention_group(db, clock):
    recorded = record(db, clock, offence_code="8N", summary="punched outside the Swan")  # assault with injury
    with pytest.raises(Conflict) as caught:
        do(db, crime.close_crime, officer(), recorded.event.id, "1", "charged with ABH", clock)
    assert caught.value.code == "crime.suspect_required"
    suspect = make_person(db, given_names="Dean", family_name="Walsh")
    assert suspect.retention_group == "3"
    make_link(db, suspect, "suspect", recorded.event)
    closed = do(db, crime.close_crime, officer(), recorded.event.id, 1, "charged with ABH", clock)
    assert (closed.crime.status, closed.crime.outcome_code, closed.crime.outcome_at) == ("closed", "1", NOW)
    assert log_of(db, recorded.event.id)[-1].text == "closed: outcome 1 Charged/summonsed: charged with ABH"
    with db.read() as session:
        held = session.get(Person, suspect.id)
        assert (held.retention_group, held.review_at) == ("2", NOW.date().replace(year=2036))


def test_investigation_complete_no_suspect_closes_without_one_and_a_closed_crime_takes_no_second_outcome(db, clock):
    recorded = record(db, clock)
    closed = do(db, crime.close_crime, officer(), recorded.event.id, "18", "no CCTV, no witnesses", clock)
    assert closed.crime.status == "closed"
    with pytest.raises(Conflict) as caught:
        do(db, crime.close_crime, officer(), recorded.event.id, "14", "again", clock)
    assert caught.value.code == "crime.closed"
    with pytest.raises(InvalidInput):
        do(db, crime.reopen_crime, officer(), recorded.event.id, "  ", clock)
    reopened = do(db, crime.reopen_crime, officer(), recorded.event.id, "suspect named by a witness", clock)
    assert (reopened.crime.status, reopened.crime.outcome_code) == ("investigating", None)
    with pytest.raises(Conflict) as again:
        do(db, crime.reopen_crime, officer(), recorded.event.id, "twice", clock)
    assert again.value.code == "crime.not_closed"
    kinds = [e.kind for e in log_of(db, recorded.event.id)]
    assert kinds[-2:] == ["outcome", "reopened"]


def test_an_unknown_outcome_is_refused(db, clock):
    recorded = record(db, clock)
    with pytest.raises(InvalidInput) as caught:
        do(db, crime.close_crime, officer(), recorded.event.id, "23", "no such outcome", clock)
    assert caught.value.code == "crime.unknown_outcome"


def test_reclassifying_changes_the_category_and_the_retention_group_and_says_why(db, clock):
    recorded = record(db, clock, offence_code="49")  # other theft: group 3
    assert (recorded.crime.police_uk_category, recorded.event.retention_group) == ("other-theft", "3")
    changed = do(db, crime.reclassify, officer(), recorded.event.id, "34B", "force was used", clock)
    assert (changed.crime.offence_code, changed.crime.police_uk_category) == ("34B", "robbery")
    assert changed.event.retention_group == "2"
    assert "from 49 to 34B" in log_of(db, recorded.event.id)[-1].text


# ---------------------------------------------------------------- reading


def test_reading_a_crime_asks_for_a_reason_and_is_audited(db, clock):
    recorded = record(db, clock)
    with pytest.raises(Denied) as caught:
        do(db, crime.get_crime, officer(reason=None), recorded.event.id, clock)
    assert caught.value.code == "access.reason_required"
    detail = do(db, crime.get_crime, officer(reason="victim called for news"), recorded.event.id, clock)
    assert detail.crime.offence_code == "28E" and detail.log[0].kind == "recorded"
    reads = audits(db, recorded.event.id, "crime.read")
    assert [(a.outcome, a.reason) for a in reads] == [("ok", "victim called for news")]


def test_a_crime_is_hidden_from_other_forces_and_from_roles_without_crime_read(db, clock):
    recorded = record(db, clock)
    with pytest.raises(NotFound):
        do(db, crime.get_crime, officer(force_id="west-yorkshire"), recorded.event.id, clock)
    with pytest.raises(Denied):
        do(db, crime.get_crime, officer("source_handler"), recorded.event.id, clock)


# ---------------------------------------------------------------- the API


def test_a_crime_recorded_and_read_over_http(api, db, clock):
    detective = make_user(db, "investigator")
    headers = bearer(db, detective)
    response = api.post(
        "/api/v1/crimes",
        json={
            "source": "direct",
            "offence_code": "58C",
            "summary": "car keyed in the car park",
            "reported_at": (NOW - timedelta(hours=3)).isoformat(),
            "officer_in_charge": detective.username,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()["crime"]
    assert (created["police_uk_category"], created["recorded_late"], created["offence"]) == (
        "criminal-damage-arson",
        False,
        "Criminal damage to a vehicle",
    )
    assert_problem(api.get(f"/api/v1/crimes/{created['id']}", headers=headers), 403, "access.reason_required")
    detail = api.get(f"/api/v1/crimes/{created['id']}", headers={**headers, **REASON})
    assert detail.status_code == 200, detail.text
    assert [e["kind"] for e in detail.json()["log"]] == ["recorded", "officer"]
    listed = api.get("/api/v1/crimes", params={"officer": detective.username}, headers=headers).json()
    assert [c["id"] for c in listed] == [created["id"]]
    table = api.get("/api/v1/crime-categories", headers=headers).json()
    assert {"code": "28E", "police_uk_category": "burglary"}.items() <= next(
        o for o in table["offences"] if o["code"] == "28E"
    ).items()
    assert len(table["outcomes"]) == 22


def test_bad_crimes_are_problem_details_listing_each_field(api, db):
    headers = bearer(db, make_user(db, "investigator"))
    body = assert_problem(
        api.post("/api/v1/crimes", json={"source": "direct", "offence_code": "AF", "summary": "x"}, headers=headers),
        422,
        "crime.offence_not_recordable",
    )
    assert [e["field"] for e in body["errors"]] == ["offence_code"]
    body = assert_problem(
        api.post("/api/v1/crimes", json={"source": "pigeon", "offence_code": "??", "summary": ""}, headers=headers),
        422,
        "input.invalid",
    )
    assert {e["field"] for e in body["errors"]} == {"source", "offence_code"}
    future = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert_problem(
        api.post(
            "/api/v1/crimes",
            json={"source": "direct", "offence_code": "28E", "summary": "x", "reported_at": future},
            headers=headers,
        ),
        422,
        "input.invalid",
    )


def test_a_crime_of_another_force_answers_over_http_exactly_like_a_missing_one(api, db, clock):
    theirs = record(db, clock, officer(force_id="west-yorkshire"))
    headers = {**bearer(db, make_user(db, "investigator")), **REASON}
    hidden = api.get(f"/api/v1/crimes/{theirs.event.id}", headers=headers)
    missing = api.get(f"/api/v1/crimes/{'0' * len(theirs.event.id)}", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(theirs.event.id, "<id>") == missing.json()["detail"].replace(
        "0" * len(theirs.event.id), "<id>"
    )


def test_an_outcome_without_a_suspect_is_a_409_over_http(api, db, clock):
    recorded = record(db, clock)
    headers = bearer(db, make_user(db, "investigator"))
    body = assert_problem(
        api.post(f"/api/v1/crimes/{recorded.event.id}/outcome", json={"outcome": "8", "text": "CR"}, headers=headers),
        409,
        "crime.suspect_required",
    )
    assert body["outcome"] == "8"
    with db.read() as session:
        assert session.get(Crime, recorded.event.id).status == "investigating"
        assert session.get(Event, recorded.event.id).disposed_at is None


# ---------------------------------------------------------------- the CLI


def test_the_crime_categories_command_lists_the_table(capsys, monkeypatch):
    from bluelamp.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    assert main(["records", "crime-categories", "--category", "burglary"]) == 0
    out = capsys.readouterr().out
    assert "28E" in out and "Burglary Residential" in out and "Shoplifting" not in out
    assert main(["records", "crime-categories", "--category", "nonsense"]) == 1
    assert "not a data.police.uk category" in capsys.readouterr().err


# ---------------------------------------------------------------- makers for the permission matrix


def make_crime(db, force_id: str) -> str:
    """A crime recorded in a force (the permission matrix's record of another force)."""
    from bluelamp.clock import Clock

    ensure_force(db, force_id)
    return record(db, Clock(), officer(force_id=force_id)).event.id


def make_victim(db, force_id: str) -> str:
    """A victim of a crime in a force."""
    from bluelamp.clock import Clock

    crime_id = make_crime(db, force_id)
    person = make_person(db, force_id=force_id)
    return do(db, victims.add_victim, officer(force_id=force_id), crime_id, person.id, Clock()).victim.id
