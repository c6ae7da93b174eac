"""Persons through the service: what an investigator records (names with their search
keys, partial dates of birth, identifiers unique in the force, markers, addresses), what
is refused and why, likely duplicates shown before saving, and the audited profile that
shows warning markers first and only what the reader may see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.records import person_parts, person_reads, persons
from bluelamp.records.model import Person, PersonName
from bluelamp.records.person_parts import NewAddress, NewIdentifier, NewMarker, OtherName
from bluelamp.records.persons import NewPerson
from bluelamp.records.pole import NewLocation
from tests.factories.access import ensure_force
from tests.factories.records import make_event, make_link, make_location, officer

NOW = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


def add(db, clock, actor=None, **fields):
    command = NewPerson(**{"given_names": "John", "family_name": "Smith", "check_duplicates": False, **fields})
    with db.unit_of_work() as session:
        return persons.add_person(session, actor or officer(), command, clock)


def name_rows(db, person_id):
    with db.read() as session:
        rows = session.scalars(select(PersonName).where(PersonName.person_id == person_id)).all()
        return sorted((r.kind, r.given_norm, r.family_norm, r.family_key, r.dob_year) for r in rows)


def audit_actions(db, record_id):
    with db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.record_id == record_id).order_by(AuditEntry.seq))
        return [(e.action, e.outcome, e.reason) for e in rows]


# ---------------------------------------------------------------- recording a person


def test_a_person_is_saved_with_every_name_searchable_by_its_keys(db, clock):
    saved = add(
        db,
        clock,
        given_names="Mary-Jane",
        family_name="Smith-Jones",
        dob_year=1990,
        names=(
            OtherName("previous", "Mary", "Brown", date(1990, 1, 1), date(2015, 6, 1)),
            OtherName("alias", "MJ", "Smyth"),
        ),
    )
    assert [(n.kind, n.given_names, n.family_name) for n in saved.names] == [
        ("primary", "Mary-Jane", "Smith-Jones"),
        ("previous", "Mary", "Brown"),
        ("alias", "MJ", "Smyth"),
    ]
    rows = name_rows(db, saved.person.id)
    assert ("primary", "MARY JANE", "SMITH JONES", "SM0JNS", 1990) in rows
    assert ("previous", "MARY", "BROWN", "BRN", 1990) in rows
    assert ("alias", "MJ", "SMYTH", "SM0", 1990) in rows
    # Search-only rows for each part of the double-barrelled name find "Jones" and "Smith".
    parts = [r for r in rows if r[0] == "part"]
    assert sorted(r[2] for r in parts) == ["JONES", "SMITH"]
    assert audit_actions(db, saved.person.id)[0][0] == "person.create"


def test_dates_of_birth_may_be_partial(db, clock):
    year_only = add(db, clock, dob_year=1980).person
    month_and_year = add(db, clock, dob_year=1980, dob_month=7).person
    unknown = add(db, clock).person
    leap_day_without_year = add(db, clock, dob_month=2, dob_day=29).person
    assert (year_only.dob_year, year_only.dob_month, year_only.dob_day) == (1980, None, None)
    assert (month_and_year.dob_year, month_and_year.dob_month) == (1980, 7)
    assert unknown.dob_year is None
    assert (leap_day_without_year.dob_month, leap_day_without_year.dob_day) == (2, 29)


@pytest.mark.parametrize(
    ("dob", "field", "says"),
    [
        ({"dob_year": 2027}, "dob_year", "in the future"),
        ({"dob_year": 2026, "dob_month": 2}, "dob_month", "in the future"),
        ({"dob_year": 2026, "dob_month": 1, "dob_day": 9}, "dob_day", "in the future"),
        ({"dob_year": 1985, "dob_month": 2, "dob_day": 29}, "dob_day", "February has 28 days"),
        ({"dob_year": 1985, "dob_month": 4, "dob_day": 31}, "dob_day", "April has 30 days"),
        ({"dob_year": 1985, "dob_month": 13}, "dob_month", "1 to 12"),
        ({"dob_year": 1985, "dob_day": 12}, "dob_day", "needs its month"),
        ({"dob_year": 1850}, "dob_year", "more than 130 years ago"),
    ],
)
def test_impossible_or_future_dates_of_birth_are_refused_and_nothing_is_saved(db, clock, dob, field, says):
    with pytest.raises(InvalidInput) as refused:
        add(db, clock, family_name="Refused", **dob)
    assert refused.value.code == "person.invalid_dob"
    assert [p.field for p in refused.value.problems] == [field]
    assert says in refused.value.problems[0].message
    with db.read() as session:
        assert session.scalars(select(Person).where(Person.family_name == "Refused")).first() is None


def test_ethnicity_codes_and_gender_come_from_their_lists(db, clock):
    saved = add(db, clock, self_defined_ethnicity="w1", officer_ethnicity="ic1", gender="Male").person
    assert (saved.self_defined_ethnicity, saved.officer_ethnicity, saved.gender) == ("W1", "IC1", "male")
    with pytest.raises(InvalidInput) as refused:
        add(db, clock, self_defined_ethnicity="W7", officer_ethnicity="IC8", gender="yes")
    assert {p.field for p in refused.value.problems} == {"self_defined_ethnicity", "officer_ethnicity", "gender"}


def test_a_record_cannot_be_marked_above_its_authors_clearance(db, clock):
    with pytest.raises(InvalidInput) as refused:
        add(db, clock, marking="SECRET")
    assert refused.value.code == "record.marking_above_clearance"
    secret = add(db, clock, officer(clearance="SECRET"), marking="secret").person
    assert secret.marking == "SECRET"


def test_review_dates_follow_the_mopi_retention_group(db, clock):
    group3 = add(db, clock, retention_group="3").person
    group2 = add(db, clock, retention_group="2").person
    group1 = add(db, clock, retention_group="1", dob_year=1984, dob_month=2, dob_day=29).person
    group1_unknown_dob = add(db, clock, retention_group="1").person
    chosen = add(db, clock, review_at=date(2027, 5, 1)).person
    assert group3.review_at == date(2032, 1, 8)
    assert group2.review_at == date(2036, 1, 8)
    assert group1.review_at == date(2084, 2, 29)  # the 100th birthday
    assert group1_unknown_dob.review_at == date(2036, 1, 8)
    assert chosen.review_at == date(2027, 5, 1)
    with pytest.raises(InvalidInput) as refused:
        add(db, clock, retention_group="7")
    assert refused.value.problems[0].field == "retention_group"


# ---------------------------------------------------------------- identifiers


def test_identifiers_are_normalised(db, clock):
    saved = add(
        db,
        clock,
        identifiers=(
            NewIdentifier("pnc_id", "2001/0012345x"),
            NewIdentifier("ni_number", "ab 12 34 56 c"),
            NewIdentifier("driving_licence", "MORGA 753116 SM9IJ"),
        ),
    )
    assert sorted((i.kind, i.value) for i in saved.identifiers) == [
        ("driving_licence", "MORGA753116SM9IJ"),
        ("ni_number", "AB123456C"),
        ("pnc_id", "01/12345X"),
    ]


def test_malformed_identifiers_are_refused(db, clock):
    with pytest.raises(InvalidInput) as refused:
        add(db, clock, identifiers=(NewIdentifier("pnc_id", "12345"), NewIdentifier("shoe_size", "9")))
    assert [p.field for p in refused.value.problems] == ["identifiers[0].value", "identifiers[1].kind"]


def test_an_identifier_is_unique_in_the_force_and_the_clash_names_a_holder_the_actor_can_see(db, clock):
    holder = add(db, clock, identifiers=(NewIdentifier("pnc_id", "99/123456A"),)).person
    with pytest.raises(Conflict) as clash:
        add(db, clock, family_name="Smyth", identifiers=(NewIdentifier("pnc_id", "99/0123456a"),))
    assert clash.value.code == "person.identifier_taken"
    assert clash.value.extra == {"kind": "pnc_id", "person_id": holder.id}
    assert "PNC ID" in clash.value.detail
    # Added later to someone else: the same answer.
    other = add(db, clock, family_name="Jones").person
    with db.unit_of_work() as session, pytest.raises(Conflict) as again:
        person_parts.add_identifier(session, officer(), other.id, NewIdentifier("pnc_id", "99/123456A"), clock)
    assert again.value.extra["person_id"] == holder.id


def test_an_identifier_held_by_a_record_the_actor_may_not_see_is_refused_without_naming_it(db, clock):
    add(db, clock, officer(clearance="SECRET"), marking="SECRET", identifiers=(NewIdentifier("passport", "123456789"),))
    with pytest.raises(Conflict) as clash:
        add(db, clock, identifiers=(NewIdentifier("passport", "123456789"),))
    assert clash.value.code == "person.identifier_taken"
    assert clash.value.extra == {"kind": "passport"}
    assert "123456789" not in clash.value.detail


def test_another_force_may_hold_the_same_identifier(db, clock):
    add(db, clock, identifiers=(NewIdentifier("pnc_id", "99/123456A"),))
    saved = add(db, clock, officer(force_id="west-yorkshire"), identifiers=(NewIdentifier("pnc_id", "99/123456A"),))
    assert saved.identifiers[0].value == "99/123456A"


# ---------------------------------------------------------------- likely duplicates


def test_likely_duplicates_are_shown_before_saving_and_a_confirmed_new_person_is_saved(db, clock):
    existing = add(db, clock, given_names="Jonathan", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    command = NewPerson("Jonathon", "Smyth", dob_year=1985, dob_month=3, dob_day=12)
    with db.unit_of_work() as session, pytest.raises(Conflict) as refused:
        persons.add_person(session, officer(), command, clock)
    assert refused.value.code == "person.likely_duplicates"
    matches = refused.value.extra["matches"]
    assert matches[0]["id"] == existing.person.id
    assert matches[0]["family_name"] == "Smith" and matches[0]["dob"] == "12/03/1985" and matches[0]["score"] > 0
    with db.unit_of_work() as session:
        saved = persons.add_person(session, officer(), NewPerson(**{**command.__dict__, "confirm_new": True}), clock)
    assert saved.person.family_name == "Smyth"


def test_a_person_unlike_anyone_recorded_is_saved_at_once(db, clock):
    add(db, clock, given_names="Jonathan", family_name="Smith", dob_year=1985)
    with db.unit_of_work() as session:
        saved = persons.add_person(session, officer(), NewPerson("Priya", "Raman", dob_year=1999), clock)
    assert saved.person.family_name == "Raman"


# ---------------------------------------------------------------- changes


def test_a_corrected_name_is_found_by_its_new_keys_and_the_old_primary_is_gone(db, clock):
    person = add(db, clock, given_names="Jon", family_name="Smith", dob_year=1985).person
    with db.unit_of_work() as session:
        persons.update_person(session, officer(), person.id, {"family_name": "Smythe-Brown", "dob_year": 1986}, clock)
    rows = name_rows(db, person.id)
    assert [r for r in rows if r[0] == "primary"] == [("primary", "JON", "SMYTHE BROWN", "SM0BRN", 1986)]
    assert sorted(r[2] for r in rows if r[0] == "part") == ["BROWN", "SMYTHE"]
    assert [a for a, _, _ in audit_actions(db, person.id)] == ["person.create", "person.update"]


def test_a_changed_date_of_birth_is_checked_whole(db, clock):
    person = add(db, clock, dob_year=1985, dob_month=2).person
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        persons.update_person(session, officer(), person.id, {"dob_day": 30}, clock)
    assert refused.value.code == "person.invalid_dob"
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as unknown:
        persons.update_person(session, officer(), person.id, {"created_by": "me"}, clock)
    assert unknown.value.problems[0].field == "created_by"


def test_a_new_retention_group_brings_its_review_date_unless_one_is_given(db, clock):
    person = add(db, clock, retention_group="3").person
    with db.unit_of_work() as session:
        regrouped = persons.update_person(session, officer(), person.id, {"retention_group": "2"}, clock)
        assert regrouped.review_at == date(2036, 1, 8)
        chosen = persons.update_person(
            session, officer(), person.id, {"retention_group": "3", "review_at": date(2030, 1, 1)}, clock
        )
        assert chosen.review_at == date(2030, 1, 1)


def test_aliases_identifiers_markers_and_addresses_are_added(db, clock):
    person = add(db, clock).person
    actor = officer()
    with db.unit_of_work() as session:
        alias = person_parts.add_alias(session, actor, person.id, OtherName("nickname", "Jonno", "Smith"), clock)
        identifier = person_parts.add_identifier(
            session, actor, person.id, NewIdentifier("passport", "987654321"), clock
        )
        marker = person_parts.add_marker(
            session, actor, person.id, NewMarker("violent", "assaulted officers 2024"), clock
        )
        address, location = person_parts.add_address(
            session,
            actor,
            person.id,
            NewAddress(location=NewLocation("4 Mill Street", town="Stone", postcode="st158ba")),
            clock,
        )
    assert alias.kind == "nickname" and alias.family_key == "SM0"
    assert identifier.value == "987654321"
    assert (marker.kind, marker.from_date, marker.to_date) == ("violent", date(2026, 1, 8), None)
    assert (address.kind, location.postcode, location.postcode_norm) == ("home", "ST15 8BA", "ST158BA")


def test_an_address_must_be_a_location_the_actor_can_see(db, clock):
    person = add(db, clock).person
    elsewhere = make_location(db, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        person_parts.add_address(session, officer(), person.id, NewAddress(location_id=elsewhere.id), clock)
    assert refused.value.problems[0].field == "location_id"


def test_a_marker_ends_once(db, clock):
    person = add(db, clock, markers=(NewMarker("drugs", "supplies class A", date(2025, 1, 1)),)).person
    with db.read() as session:
        marker_id = persons.queries.markers_of(session, person.id)[0].id
    with db.unit_of_work() as session:
        ended = person_parts.end_marker(session, officer(), person.id, marker_id, clock)
    assert ended.to_date == date(2026, 1, 8)
    with db.unit_of_work() as session, pytest.raises(Conflict) as again:
        person_parts.end_marker(session, officer(), person.id, marker_id, clock)
    assert again.value.code == "person.marker_ended"


def test_changing_a_person_needs_person_write(db, clock):
    person = add(db, clock).person
    with db.unit_of_work() as session, pytest.raises(Denied):
        person_parts.add_marker(session, officer("call_handler"), person.id, NewMarker("violent", "x"), clock)


# ---------------------------------------------------------------- reading


def test_reading_a_person_asks_for_a_reason_and_is_audited_with_it(db, clock):
    person = add(db, clock).person
    with db.unit_of_work() as session, pytest.raises(Denied) as refused:
        person_reads.get_person(session, officer(reason=None), person.id, clock)
    assert refused.value.code == "access.reason_required"
    with db.unit_of_work() as session:
        person_reads.get_person(session, officer(reason="checking a caller"), person.id, clock)
    assert ("person.read", "ok", "checking a caller") in audit_actions(db, person.id)


def test_persons_of_another_force_above_clearance_or_disposed_answer_like_missing_ones(db, clock):
    other_force = add(db, clock, officer(force_id="west-yorkshire")).person
    secret = add(db, clock, officer(clearance="SECRET"), marking="SECRET").person
    disposed = add(db, clock).person
    with db.unit_of_work() as session:
        session.get(Person, disposed.id).disposed_at = NOW
    for person_id in (other_force.id, secret.id, disposed.id, "no-such-person"):
        with db.unit_of_work() as session, pytest.raises(NotFound) as missing:
            person_reads.person_profile(session, officer(), person_id, clock)
        assert missing.value.detail == f"no person {person_id!r}"


def test_the_profile_shows_current_markers_first_and_a_timeline_newest_first(db, clock):
    saved = add(
        db,
        clock,
        markers=(
            NewMarker("violent", "assault on staff", date(2024, 5, 1)),
            NewMarker("self_harm", "2019 episode", date(2019, 1, 1), date(2020, 1, 1)),
        ),
        identifiers=(NewIdentifier("pnc_id", "99/123456A"),),
        addresses=(NewAddress(location=NewLocation("1 High Street", town="Leek", postcode="ST13 5AB")),),
    )
    person = saved.person
    older = make_event(db, "stop_search", clock, occurred_from=NOW - timedelta(days=400), summary="searched")
    newer = make_event(db, "missing_person", clock, occurred_from=NOW - timedelta(days=3), summary="missing")
    crime = make_event(db, "crime", clock, occurred_from=NOW - timedelta(days=1), summary="burglary")
    associate = add(db, clock, given_names="Ann", family_name="Other").person
    make_link(db, person, "subject_of", older, clock)
    make_link(db, person, "subject_of", newer, clock)
    make_link(db, person, "suspect", crime, clock)
    make_link(db, person, "associate_of", associate, clock)

    with db.unit_of_work() as session:
        profile = person_reads.person_profile(session, officer("investigator"), person.id, clock)
    assert [m.kind for m in profile.current_markers] == ["violent"]
    assert [m.kind for m in profile.past_markers] == ["self_harm"]
    assert [i.value for i in profile.identifiers] == ["99/123456A"]
    assert [a.line1 for _, a in profile.addresses] == ["1 High Street"]
    assert [(t.event.kind, t.role) for t in profile.timeline] == [
        ("crime", "suspect"),
        ("missing_person", "subject_of"),
        ("stop_search", "subject_of"),
    ]
    assert {v.other_label for v in profile.links} >= {"OTHER, Ann"}
    assert profile.dob == ""

    # A call handler may read persons but not crimes: the crime is simply absent.
    with db.unit_of_work() as session:
        handler_view = person_reads.person_profile(session, officer("call_handler"), person.id, clock)
    assert [t.event.kind for t in handler_view.timeline] == ["missing_person", "stop_search"]
    assert "crime" not in {v.other_kind for v in handler_view.links}
