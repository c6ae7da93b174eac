"""MoPI: retention groups from the offence, review dates, records moved into the review
queue once however often the job runs, retain with a reason and the next review date,
dispose removing the personal data and leaving a tombstone, disposed records answering
like missing ones, everything audited; the API's problem details and
`bluelamp records review-due`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.records import crime, intelligence, mopi, person_parts, person_reads, persons, pole, victims
from bluelamp.records.model import (
    Event,
    Intelligence,
    Link,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    Review,
    Tombstone,
    Victim,
    VictimUpdate,
    WarningMarker,
)
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.records import make_link, make_person, officer
from tests.test_records_crime import assert_problem, do, record, wire
from tests.test_records_intelligence import REPORT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def api(app):
    from fastapi.testclient import TestClient

    wire(app)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def dpo(**kwargs):
    return officer("data_protection_officer", reason=None, **kwargs)


def due_on(db, model, record_id, day: date) -> None:
    """Test set-up: move a record's review date."""
    with db.unit_of_work() as session:
        session.get(model, record_id).review_at = day


def count(db, model, *conditions) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


def queued(db) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.scalars(select(Review).where(Review.decided_at.is_(None)).order_by(Review.due_on))
        return [(r.record_type, r.record_id) for r in rows]


def actions(db, record_id) -> list[str]:
    with db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.record_id == record_id).order_by(AuditEntry.seq))
        return [a.action for a in rows]


def review_of(db, record_id) -> Review:
    with db.read() as session:
        return session.scalars(select(Review).where(Review.record_id == record_id)).one()


# ---------------------------------------------------------------- groups and review dates


@pytest.mark.parametrize(
    ("code", "group"),
    [("19C", "1"), ("4.1", "1"), ("5D", "1"), ("8N", "2"), ("105A", "2"), ("34B", "2"), ("29A", "2"), ("92A", "2")]
    + [("10D", "2"), ("28E", "3"), ("46", "3"), ("58A", "3"), ("92E", "3")],
)
def test_an_offence_puts_its_crime_in_a_mopi_retention_group(code, group):
    assert mopi.group_for_offence(code) == group


def test_a_recorded_crime_carries_its_group_and_first_review_date(db, clock):
    rape = record(db, clock, offence_code="19C", summary="rape reported by the victim")
    burglary = record(db, clock)
    assert (rape.event.retention_group, rape.event.review_at) == ("1", date(2036, 12, 1))
    assert (burglary.event.retention_group, burglary.event.review_at) == ("3", date(2032, 12, 1))
    assert set(mopi.RETENTION_GROUPS) >= {"1", "2", "3"}
    assert mopi.RETENTION_GROUPS["1"].until_age == 100


def test_a_persons_group_only_rises_and_group_1_lasts_until_they_are_100(db, clock):
    person = make_person(db, dob_year=1990, dob_month=6, dob_day=15)
    with db.unit_of_work() as session:
        row = session.get(Person, person.id)
        mopi.assign_group(row, "1", TODAY)
        assert (row.retention_group, row.review_at) == ("1", date(2090, 6, 15))
        mopi.assign_group(row, "3", TODAY)
        assert (row.retention_group, row.review_at) == ("1", date(2090, 6, 15))


# ---------------------------------------------------------------- the queue


def test_review_due_queues_every_due_record_once_however_often_it_runs(db, clock):
    due_person = make_person(db, given_names="Old", family_name="Record")
    later_person = make_person(db, given_names="Recent", family_name="Record")
    theirs = make_person(db, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    old_crime = record(db, clock)
    due_on(db, Person, due_person.id, date(2026, 11, 30))
    due_on(db, Person, later_person.id, date(2026, 12, 2))
    due_on(db, Person, theirs.id, date(2026, 6, 1))
    due_on(db, Event, old_crime.event.id, TODAY)
    with db.unit_of_work() as session:
        assert mopi.review_due(session, clock, force_id="staffordshire") == 2
    with db.unit_of_work() as session:
        assert mopi.review_due(session, clock, force_id="staffordshire") == 0
    assert sorted(queued(db)) == sorted([("person", due_person.id), ("event", old_crime.event.id)])
    with db.unit_of_work() as session:
        assert mopi.review_due(session, clock) == 1  # every force: West Yorkshire's person
        assert mopi.review_due(session, clock) == 0
    with db.read() as session:
        runs = session.scalars(select(AuditEntry).where(AuditEntry.action == "record.review_due")).all()
        assert sorted((a.force_id, a.detail) for a in runs) == [
            ("staffordshire", '{"event": 1, "person": 1, "queued": 2, "today": "2026-12-01"}'),
            ("west-yorkshire", '{"event": 0, "person": 1, "queued": 1, "today": "2026-12-01"}'),
        ]


def test_the_review_queue_is_for_data_protection_officers_of_the_force_and_is_audited(db, clock):
    person = make_person(db, given_names="Queue", family_name="Person", dob_year=1970, dob_month=None, dob_day=None)
    due_on(db, Person, person.id, date(2026, 11, 1))
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    with db.unit_of_work() as session:
        items = mopi.review_queue(session, dpo(name="dpo-lee"), clock)
    assert [(i.label, i.kind, i.retention_group, i.review.due_on) for i in items] == [
        ("PERSON, Queue (1970)", "person", "3", date(2026, 11, 1))
    ]
    with db.unit_of_work() as session:
        assert mopi.review_queue(session, dpo(force_id="west-yorkshire"), clock) == []
        with pytest.raises(Denied):
            mopi.review_queue(session, officer(), clock)
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "record.review_queue")).first()
        assert (entry.actor, entry.detail) == ("dpo-lee", '{"shown": 1}')


# ---------------------------------------------------------------- retain


def queue_person(db, clock, **person_fields) -> tuple[Person, Review]:
    person = make_person(db, **person_fields)
    due_on(db, Person, person.id, date(2026, 11, 30))
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    return person, review_of(db, person.id)


def test_retaining_needs_a_reason_and_sets_the_next_review(db, clock):
    person, review = queue_person(db, clock)
    with pytest.raises(InvalidInput) as caught:
        do(db, mopi.decide, dpo(), review.id, "retain", "  ", clock)
    assert caught.value.code == "review.reason_required"
    with pytest.raises(InvalidInput) as past:
        do(db, mopi.decide, dpo(), review.id, "retain", "still relevant", clock, next_review_on=TODAY)
    assert [p.field for p in past.value.problems] == ["next_review_on"]
    with pytest.raises(InvalidInput):
        do(db, mopi.decide, dpo(), review.id, "archive", "no such decision", clock)
    decided = do(db, mopi.decide, dpo(name="dpo-lee"), review.id, "retain", "linked to an open crime", clock)
    assert (decided.review.decision, decided.review.decided_by, decided.review.next_review_on) == (
        "retain",
        "dpo-lee",
        date(2032, 12, 1),
    )
    with db.read() as session:
        assert session.get(Person, person.id).review_at == date(2032, 12, 1)
    with db.unit_of_work() as session:
        assert mopi.review_due(session, clock) == 0
    with pytest.raises(Conflict) as again:
        do(db, mopi.decide, dpo(), review.id, "dispose", "changed my mind", clock)
    assert again.value.code == "review.decided" and again.value.extra["decision"] == "retain"
    assert actions(db, person.id)[-1] == "record.retain"


def test_a_chosen_next_review_date_is_kept(db, clock):
    person, review = queue_person(db, clock)
    do(db, mopi.decide, dpo(), review.id, "retain", "MAPPA nominal", clock, next_review_on=date(2027, 6, 1))
    with db.read() as session:
        assert session.get(Person, person.id).review_at == date(2027, 6, 1)


def test_a_review_of_another_force_answers_like_a_missing_one(db, clock):
    _, review = queue_person(db, clock)
    with pytest.raises(NotFound) as hidden:
        do(db, mopi.decide, dpo(force_id="west-yorkshire"), review.id, "dispose", "not ours", clock)
    with pytest.raises(NotFound) as missing:
        do(db, mopi.decide, dpo(force_id="west-yorkshire"), "0" * 32, "dispose", "not ours", clock)
    assert hidden.value.detail.replace(review.id, "<id>") == missing.value.detail.replace("0" * 32, "<id>")


# ---------------------------------------------------------------- dispose


def test_disposing_of_a_person_removes_their_personal_data_and_leaves_a_tombstone(db, clock):
    location = pole.NewLocation(line1="12 Lichfield Road", town="Stafford", postcode="ST17 4JX")
    person = make_person(
        db,
        given_names="Gary",
        family_name="Hollins",
        birth_place="Stoke-on-Trent",
        gender="male",
        description={"height_cm": 180},
        names=(person_parts.OtherName("alias", "Gaz", "Hollins"),),
        identifiers=(person_parts.NewIdentifier("pnc_id", "2001/0012345X"),),
        markers=(person_parts.NewMarker("violent", "assaulted an officer in 2019"),),
        addresses=(person_parts.NewAddress(location=location),),
    )
    assaulted = record(db, clock, offence_code="105A", summary="pushed in a queue")
    victim = do(db, victims.add_victim, officer(), assaulted.event.id, person.id, clock).victim
    do(db, victims.record_update, officer(), victim.id, "phone", "told the suspect was warned", clock)
    make_link(db, person, "suspect", record(db, clock).event)
    due_on(db, Person, person.id, date(2026, 11, 30))
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    review = review_of(db, person.id)
    decided = do(db, mopi.decide, dpo(name="dpo-lee"), review.id, "dispose", "no further policing purpose", clock)
    assert decided.removed["names"] >= 2 and decided.removed["identifiers"] == 1
    assert decided.removed["markers"] == 1 and decided.removed["addresses"] == 1
    assert decided.removed["victim_entries"] == 1 and decided.removed["victim_updates"] == 1
    assert decided.removed["links"] == 2
    for model in (PersonName, PersonIdentifier, WarningMarker, PersonAddress, Victim):
        assert count(db, model, model.person_id == person.id) == 0, model.__name__
    assert count(db, VictimUpdate, VictimUpdate.victim_id == victim.id) == 0
    assert count(db, Link, (Link.from_id == person.id) | (Link.to_id == person.id)) == 0
    with db.read() as session:
        row = session.get(Person, person.id)
        assert (row.given_names, row.family_name, row.dob_year, row.birth_place, row.gender, row.description) == (
            "",
            "",
            None,
            None,
            None,
            {},
        )
        assert (row.disposed_at, row.review_at) == (NOW, None)
        tombstone = session.scalars(select(Tombstone).where(Tombstone.record_id == person.id)).one()
        assert (tombstone.record_type, tombstone.disposed_by, tombstone.reason, tombstone.retention_group) == (
            "person",
            "dpo-lee",
            "no further policing purpose",
            "3",
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "record.dispose")).one()
        assert entry.record_id == person.id and '"identifiers": 1' in entry.detail
    # From now on the person answers like a missing one, to everyone; nor is it queued again.
    for actor in (officer(), dpo(), officer("intelligence_analyst")):
        with pytest.raises(NotFound) as caught:
            do(db, person_reads.get_person, actor, person.id, clock)
        assert caught.value.detail.replace(person.id, "<id>") == (f"no person {'0' * 32!r}".replace("0" * 32, "<id>"))
    with db.unit_of_work() as session:
        due_on(db, Person, person.id, date(2020, 1, 1))
        assert mopi.review_due(session, clock) == 0


def test_disposing_of_a_crime_blanks_its_text_and_it_answers_404_like_a_missing_one(api, db, clock):
    burglary = record(db, clock, narrative="Entry forced at the rear; Mrs Price's laptop taken.")
    person = make_person(db)
    do(db, victims.add_victim, officer(), burglary.event.id, person.id, clock)
    due_on(db, Event, burglary.event.id, TODAY)
    reviewer = make_user(db, "data_protection_officer")
    queued_now = api.post("/api/v1/reviews/due", headers=bearer(db, reviewer))
    assert queued_now.status_code == 200 and queued_now.json() == {"queued": 1}
    queue = api.get("/api/v1/reviews", headers=bearer(db, reviewer)).json()
    assert [(i["review"]["record_id"], i["kind"], i["retention_group"]) for i in queue] == [
        (burglary.event.id, "crime", "3")
    ]
    response = api.post(
        f"/api/v1/reviews/{queue[0]['review']['id']}/decision",
        json={"decision": "dispose", "reason": "undetected, past retention"},
        headers=bearer(db, reviewer),
    )
    assert response.status_code == 200, response.text
    assert response.json()["tombstone"]["record_id"] == burglary.event.id
    with db.read() as session:
        event = session.get(Event, burglary.event.id)
        assert (event.summary, event.narrative, event.disposed_at) == ("", "", NOW)
    assert count(db, Victim, Victim.event_id == burglary.event.id) == 0
    headers = {**bearer(db, make_user(db, "investigator")), "X-Bluelamp-Reason": "checking the burglary"}
    gone = api.get(f"/api/v1/crimes/{burglary.event.id}", headers=headers)
    missing = api.get(f"/api/v1/crimes/{'0' * 32}", headers=headers)
    assert gone.status_code == missing.status_code == 404
    assert gone.json()["detail"].replace(burglary.event.id, "<id>") == missing.json()["detail"].replace(
        "0" * 32, "<id>"
    )
    assert api.get("/api/v1/crimes", headers=headers).json() == []


def test_disposing_of_an_intelligence_report_removes_its_text_and_source(db, clock):
    view = do(
        db,
        intelligence.create_intelligence,
        officer("intelligence_analyst"),
        intelligence.NewIntelligence(**REPORT),
        clock,
    )
    due_on(db, Event, view.event.id, TODAY)
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    do(db, mopi.decide, dpo(), review_of(db, view.event.id).id, "dispose", "source deactivated", clock)
    with db.read() as session:
        row = session.get(Intelligence, view.event.id)
        assert (row.sanitised_text, row.source_reference, row.source_details, row.handling_conditions) == (
            "",
            None,
            None,
            None,
        )
    with pytest.raises(NotFound):
        do(db, intelligence.read_source, officer("source_handler"), view.event.id, clock)


def test_a_crime_whose_events_are_disposed_cannot_be_changed(db, clock):
    burglary = record(db, clock)
    due_on(db, Event, burglary.event.id, TODAY)
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    do(db, mopi.decide, dpo(), review_of(db, burglary.event.id).id, "dispose", "past retention", clock)
    with pytest.raises(NotFound):
        do(db, crime.add_note, officer(), burglary.event.id, "late note", clock)


# ---------------------------------------------------------------- the API and the CLI


def test_bad_review_decisions_are_problem_details(api, db, clock):
    person, review = queue_person(db, clock)
    headers = bearer(db, make_user(db, "data_protection_officer"))
    body = assert_problem(
        api.post(f"/api/v1/reviews/{review.id}/decision", json={"decision": "retain"}, headers=headers),
        422,
        "review.reason_required",
    )
    assert [e["field"] for e in body["errors"]] == ["reason"]
    body = assert_problem(
        api.post(
            f"/api/v1/reviews/{review.id}/decision",
            json={"decision": "shred", "reason": "x", "next_review_on": "2020-01-01"},
            headers=headers,
        ),
        422,
        "input.invalid",
    )
    assert {e["field"] for e in body["errors"]} == {"decision", "next_review_on"}
    assert_problem(
        api.post(f"/api/v1/reviews/{'0' * 32}/decision", json={"decision": "retain", "reason": "x"}, headers=headers),
        404,
        "not_found",
    )
    investigator = bearer(db, make_user(db, "investigator"))
    assert_problem(api.get("/api/v1/reviews", headers=investigator), 403, "access.denied")


def test_the_review_due_command_queues_due_records_once(settings, monkeypatch, capsys):
    from bluelamp.cli import main
    from bluelamp.clock import Clock
    from bluelamp.storage import Database
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    database = Database.from_url(url)
    try:
        with database.unit_of_work() as session:
            saved = persons.add_person(
                session,
                officer(),
                persons.NewPerson(given_names="Cli", family_name="Person", check_duplicates=False),
                Clock(),
            )
            saved.person.review_at = date(2020, 1, 1)
        capsys.readouterr()
        assert main(["records", "review-due"]) == 0
        assert capsys.readouterr().out.strip() == "1 record moved into the review queue"
        assert main(["records", "review-due", "--force", "staffordshire"]) == 0
        assert capsys.readouterr().out.strip() == "0 records moved into the review queue"
        with database.read() as session:
            assert session.scalars(select(Review.record_id)).all() == [saved.person.id]
    finally:
        database.dispose()


def make_review(db, force_id: str) -> str:
    """A review waiting in a force's queue (the permission matrix's record of another force)."""
    from bluelamp.clock import Clock

    ensure_force(db, force_id)
    person = make_person(db, force_id=force_id, actor=officer(force_id=force_id))
    due_on(db, Person, person.id, date(2020, 1, 1))
    with db.unit_of_work() as session:
        mopi.review_due(session, Clock(), force_id=force_id)
    return review_of(db, person.id).id
