"""Victims and their Victims' Code clocks: working days that skip weekends and the bank
holidays of England and Wales (Christmas 2026, Easter 2027) and count real time across
the change to BST; the force's windows, enhanced victims, the update cadence, key
decisions, opting out; the overdue list per officer; the API's problem details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import Force
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, InvalidInput, NotFound
from bluelamp.records import crime, victims
from bluelamp.records.model import Link
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.records import make_link, make_person, officer
from tests.test_records_crime import assert_problem, do, record, wire

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 09:00 GMT


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


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def victim_of_new_crime(db, clock, *, enhanced=False, reason=None, oic=None, actor=None, **crime_fields):
    recorded = record(db, clock, actor, officer_in_charge=oic, **crime_fields)
    person = make_person(db, given_names="Ann", family_name="Price", force_id=recorded.event.force_id)
    changed = do(
        db,
        victims.add_victim,
        actor or officer(),
        recorded.event.id,
        person.id,
        clock,
        enhanced=enhanced,
        enhanced_reason=reason,
    )
    return recorded, changed.victim


# ---------------------------------------------------------------- working days


@pytest.mark.parametrize(
    ("reported", "days", "due"),
    [
        # Tuesday: five working days are Wednesday to the next Tuesday; due by its end (midnight GMT).
        ("2026-12-01T09:00+00:00", 5, "2026-12-09T00:00+00:00"),
        # Friday, one working day: the weekend is skipped, due by the end of Monday.
        ("2026-12-04T16:00+00:00", 1, "2026-12-08T00:00+00:00"),
        # Christmas 2026: 25 December (Fri), Boxing Day observed on Monday 28th and New Year's Day are skipped.
        ("2026-12-23T10:00+00:00", 5, "2027-01-05T00:00+00:00"),
        # Easter 2027 and the start of BST (Sunday 28 March): Good Friday and Easter Monday are skipped,
        # and the end of Monday 5 April is midnight BST, 23:00 UTC.
        ("2027-03-25T12:00+00:00", 5, "2027-04-05T23:00+00:00"),
        ("2027-03-25T12:00+00:00", 1, "2027-03-30T23:00+00:00"),
        # 00:30 BST on Wednesday 2 June is still 1 June in UTC: the local day counts.
        ("2027-06-01T23:30+00:00", 1, "2027-06-03T23:00+00:00"),
        # Reported on a Saturday: counting starts with Monday.
        ("2026-12-05T11:00+00:00", 1, "2026-12-08T00:00+00:00"),
    ],
)
def test_working_days_skip_weekends_and_bank_holidays_and_end_at_local_midnight(reported, days, due):
    assert victims.working_days_after(at(reported), days) == at(due)


def test_bank_holidays_come_from_the_england_and_wales_calendar():
    christmas_2026 = [datetime(2026, 12, d).date() for d in (24, 25, 28, 29)]
    assert [victims.is_working_day(d) for d in christmas_2026] == [True, False, False, True]
    easter_2027 = [datetime(2027, 3, d).date() for d in (25, 26, 29, 30)]
    assert [victims.is_working_day(d) for d in easter_2027] == [True, False, False, True]


# ---------------------------------------------------------------- a victim's clock


def test_a_victims_first_update_is_due_within_five_working_days_of_the_report(db, clock):
    recorded, victim = victim_of_new_crime(db, clock, reported_at=NOW - timedelta(hours=2))
    assert victim.next_update_due == at("2026-12-09T00:00+00:00")
    assert (victim.enhanced, victim.opted_out, victim.last_update_at) == (False, False, None)
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.to_id == recorded.event.id, Link.role == "victim")).all()
        assert [link.from_id for link in links] == [victim.person_id]


def test_an_enhanced_victim_is_due_an_update_within_one_working_day_and_needs_a_reason(db, clock):
    with pytest.raises(InvalidInput) as caught:
        victim_of_new_crime(db, clock, enhanced=True)
    assert caught.value.code == "victim.enhanced_reason_required"
    _, victim = victim_of_new_crime(db, clock, enhanced=True, reason="persistently targeted")
    assert victim.next_update_due == at("2026-12-03T00:00+00:00")  # end of Wednesday
    assert victim.enhanced_reason == "persistently targeted"


def test_the_windows_are_the_forces_settings(db, clock):
    with db.unit_of_work() as session:
        force = session.get(Force, "staffordshire")
        force.settings = {
            **(force.settings or {}),
            "victim_first_update_working_days": 3,
            "victim_enhanced_update_working_days": 2,
        }
    _, standard = victim_of_new_crime(db, clock)
    _, enhanced = victim_of_new_crime(db, clock, enhanced=True, reason="vulnerable")
    assert standard.next_update_due == at("2026-12-05T00:00+00:00")  # end of Friday
    assert enhanced.next_update_due == at("2026-12-04T00:00+00:00")


def test_making_a_victim_enhanced_before_the_first_update_brings_it_forward(db, clock):
    _, victim = victim_of_new_crime(db, clock)
    changed = do(db, victims.set_enhanced, officer(), victim.id, True, "intimidated by the suspect", clock)
    assert changed.victim.next_update_due == at("2026-12-03T00:00+00:00")
    back = do(db, victims.set_enhanced, officer(), victim.id, False, None, clock)
    assert back.victim.next_update_due == at("2026-12-09T00:00+00:00") and back.victim.enhanced_reason is None


def test_an_update_restarts_the_clock_on_the_regular_cadence(db, clock):
    recorded, victim = victim_of_new_crime(db, clock)
    clock.current = at("2026-12-04T14:00+00:00")  # Friday
    changed = do(db, victims.record_update, officer(), victim.id, "phone", "told CCTV is being checked", clock)
    assert changed.victim.last_update_at == clock.current
    # 20 working days from Friday 4 December, skipping Christmas, Boxing Day observed and New Year's Day:
    # Wednesday 6 January, due by its end.
    assert changed.victim.next_update_due == at("2027-01-07T00:00+00:00")
    assert changed.update.method == "phone" and changed.update.text == "told CCTV is being checked"
    detail = do(db, crime.get_crime, officer(), recorded.event.id, clock)
    assert [e.kind for e in detail.log][-2:] == ["victim", "victim_update"]


def test_closing_the_crime_is_a_key_decision_and_telling_the_victim_stops_the_clock(db, clock):
    recorded, victim = victim_of_new_crime(db, clock)
    do(db, victims.record_update, officer(), victim.id, "visit", "statement taken", clock)
    clock.current = at("2026-12-10T10:00+00:00")  # Thursday
    do(db, crime.close_crime, officer(), recorded.event.id, "18", "no lines of enquiry left", clock)
    detail = do(db, crime.get_crime, officer(), recorded.event.id, clock)
    ((held, _),) = detail.victims
    assert held.next_update_due == at("2026-12-18T00:00+00:00")  # five working days after the decision
    told = do(db, victims.record_update, officer(), victim.id, "letter", "investigation closed: outcome 18", clock)
    assert told.victim.next_update_due is None


def test_a_victim_who_opts_out_has_no_clock_until_they_opt_back_in(db, clock):
    _, victim = victim_of_new_crime(db, clock)
    with pytest.raises(InvalidInput):
        do(db, victims.set_opted_out, officer(), victim.id, True, "", clock)
    out = do(db, victims.set_opted_out, officer(), victim.id, True, "asked on the phone not to be contacted", clock)
    assert (out.victim.opted_out, out.victim.next_update_due) == (True, None)
    clock.current = at("2027-01-20T10:00+00:00")
    with db.read() as session:
        assert victims.overdue_updates(session, officer(), clock=clock) == []
    back = do(db, victims.set_opted_out, officer(), victim.id, False, "called back wanting news", clock)
    assert back.victim.next_update_due == at("2027-01-28T00:00+00:00")


def test_a_person_is_a_victim_of_a_crime_once_and_must_be_visible(db, clock):
    recorded, victim = victim_of_new_crime(db, clock)
    with pytest.raises(Conflict) as caught:
        do(db, victims.add_victim, officer(), recorded.event.id, victim.person_id, clock)
    assert caught.value.code == "victim.exists"
    elsewhere = make_person(db, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    with pytest.raises(NotFound):
        do(db, victims.add_victim, officer(), recorded.event.id, elsewhere.id, clock)


def test_a_victim_already_linked_by_hand_gets_a_clock_without_a_second_link(db, clock):
    recorded = record(db, clock)
    person = make_person(db)
    make_link(db, person, "victim", recorded.event)
    victim = do(db, victims.add_victim, officer(), recorded.event.id, person.id, clock).victim
    assert victim.next_update_due is not None
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.to_id == recorded.event.id, Link.role == "victim")).all()
        assert len(links) == 1


# ---------------------------------------------------------------- the overdue list


def test_the_overdue_list_is_per_officer_and_only_overdue_victims(db, clock):
    make_user(db, "investigator", username="dc-amber")
    make_user(db, "investigator", username="dc-blake")
    # Reported on Tuesday 1 December: first updates due by the end of Tuesday 8th.
    a1, amber_first = victim_of_new_crime(db, clock, oic="dc-amber")
    _, unassigned = victim_of_new_crime(db, clock)
    _, updated = victim_of_new_crime(db, clock, oic="dc-blake")
    victim_of_new_crime(db, clock, actor=officer(force_id="west-yorkshire"))  # another force's: never listed here
    # Reported on Thursday 3rd: due by the end of Thursday 10th (the enhanced one, of Friday 4th).
    clock.current = NOW + timedelta(days=2)
    _, amber_second = victim_of_new_crime(db, clock, oic="dc-amber")
    _, blake = victim_of_new_crime(db, clock, oic="dc-blake", enhanced=True, reason="vulnerable adult")
    clock.current = at("2026-12-10T10:00+00:00")  # Thursday 10th
    do(db, victims.record_update, officer(), updated.id, "phone", "suspect interviewed", clock)
    with db.read() as session:
        everyone = victims.overdue_updates(session, officer(), clock=clock)
        amber = victims.overdue_updates(session, officer(), officer="DC-Amber", clock=clock)
    assert [(o.officer, o.victim_id) for o in everyone] == [
        ("dc-amber", amber_first.id),
        ("dc-blake", blake.id),
        (None, unassigned.id),
    ]
    first = everyone[0]
    assert (first.crime_reference, first.due_at, first.overdue_working_days) == (
        a1.event.reference,
        at("2026-12-09T00:00+00:00"),
        1,
    )
    assert everyone[1].enhanced is True and everyone[1].overdue_working_days == 3  # Monday to Wednesday
    assert [o.victim_id for o in amber] == [amber_first.id]
    assert amber_second.next_update_due == at("2026-12-11T00:00+00:00")


# ---------------------------------------------------------------- the API


def test_victims_over_http(api, db, clock):
    detective = make_user(db, "investigator", username="dc-cole")
    headers = bearer(db, detective)
    recorded = record(db, clock, officer_in_charge="dc-cole")
    person = make_person(db, given_names="Rita", family_name="Osei")
    response = api.post(f"/api/v1/crimes/{recorded.event.id}/victims", json={"person_id": person.id}, headers=headers)
    assert response.status_code == 201, response.text
    victim = response.json()
    assert victim["next_update_due"].startswith("2026-12-09T00:00:00")
    assert_problem(
        api.post(f"/api/v1/crimes/{recorded.event.id}/victims", json={"person_id": person.id}, headers=headers),
        409,
        "victim.exists",
    )
    body = assert_problem(
        api.post(f"/api/v1/victims/{victim['id']}/updates", json={"method": "pigeon", "text": ""}, headers=headers),
        422,
        "input.invalid",
    )
    assert {e["field"] for e in body["errors"]} == {"method", "text"}
    clock.current = at("2026-12-09T08:00+00:00")
    overdue = api.get("/api/v1/victims/overdue", params={"officer": "dc-cole"}, headers=headers).json()
    assert [(o["victim_id"], o["crime_reference"]) for o in overdue] == [(victim["id"], recorded.event.reference)]
    given = api.post(
        f"/api/v1/victims/{victim['id']}/updates", json={"method": "email", "text": "arrest made"}, headers=headers
    )
    assert given.status_code == 200, given.text
    assert given.json()["overdue"] is False and given.json()["last_update_at"].startswith("2026-12-09T08:00:00")
    assert api.get("/api/v1/victims/overdue", headers=headers).json() == []
    detail = api.get(
        f"/api/v1/crimes/{recorded.event.id}", headers={**headers, "X-Bluelamp-Reason": "victim follow-up"}
    ).json()
    assert [(v["name"], [u["text"] for u in v["updates"]]) for v in detail["victims"]] == [
        ("OSEI, Rita", ["arrest made"])
    ]


def test_a_victim_of_another_force_answers_like_a_missing_one(api, db, clock):
    theirs_actor = officer(force_id="west-yorkshire")
    _, theirs = victim_of_new_crime(db, clock, actor=theirs_actor)
    headers = bearer(db, make_user(db, "investigator"))
    body = {"method": "phone", "text": "hello"}
    hidden = api.post(f"/api/v1/victims/{theirs.id}/updates", json=body, headers=headers)
    missing = api.post(f"/api/v1/victims/{'0' * len(theirs.id)}/updates", json=body, headers=headers)
    assert hidden.status_code == missing.status_code == 404
