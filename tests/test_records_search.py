"""Search as officers use it: a person found however their name was typed (misspelt,
sounding alike, the wrong way round, by a nickname, by one part of a double-barrelled
name, with a full, partial or missing date of birth, or an age range), ranked with the
reasons shown; only what the officer may see; every search audited; vehicles by partial
VRM with wildcards, phones by fragments, words in narratives; bad searches refused clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update

from bluelamp.access.model import AuditEntry
from bluelamp.access.policy import Actor
from bluelamp.clock import FixedClock
from bluelamp.errors import Denied, InvalidInput
from bluelamp.records import search
from bluelamp.records.lookup import queries
from bluelamp.records.model import Event
from bluelamp.records.search import PersonQuery
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.records import make_event, make_object, make_person, officer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REASON = {"X-Bluelamp-Reason": "investigating burglary SP-CR-2026-000001"}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def person(db, clock):
    """Make a person with the records service (no likely-duplicate check)."""

    def make(given: str, family: str, dob: tuple = (None, None, None), **changes):
        year, month, day = dob
        return make_person(
            db, clock, given_names=given, family_name=family, dob_year=year, dob_month=month, dob_day=day, **changes
        )

    return make


def find(db, clock, actor=None, **criteria) -> list[search.PersonHit]:
    with db.unit_of_work() as session:
        return search.search_persons(session, actor or officer(), PersonQuery(**criteria), clock)


def ids(hits) -> list[str]:
    return [h.person_id for h in hits]


def features(hit) -> str:
    return " | ".join(f"{label} ({points:+d})" for label, points in hit.explanation)


# ---------------------------------------------------------------- persons: what is found


def test_a_misspelt_or_sound_alike_family_name_finds_the_person(db, clock, person):
    smith = person("John", "Smith", (1985, 3, 12))
    person("John", "Jones", (1985, 3, 12))
    for typed in ("Smyth", "Smythe", "Smtih", "Smiht"):
        hits = find(db, clock, given_names="John", family_name=typed, dob_year=1985, dob_month=3, dob_day=12)
        assert hits[0].person_id == smith.id, typed
    hits = find(db, clock, given_names="John", family_name="Smyth")
    assert "family name sounds like SMYTH" in features(hits[0])


def test_a_misspelt_given_name_finds_the_person(db, clock, person):
    stephen = person("Stephen", "Walker", (1970, 1, 2))
    for typed in ("Steven", "Stephan", "Stpehen"):
        assert find(db, clock, given_names=typed, family_name="Walker")[0].person_id == stephen.id, typed


def test_names_the_wrong_way_round_find_the_person_and_say_so(db, clock, person):
    smith = person("John", "Smith", (1985, 3, 12))
    hits = find(db, clock, given_names="Smith", family_name="John", dob_year=1985, dob_month=3, dob_day=12)
    assert hits[0].person_id == smith.id
    assert "swapped" in features(hits[0])
    assert ids(find(db, clock, name="Smith, John")) == [smith.id]
    assert ids(find(db, clock, name="John Smith")) == [smith.id]


def test_a_nickname_finds_the_formal_name_and_back(db, clock, person):
    william = person("William", "Hughes", (1960, 5, 5))
    peggy = person("Peggy", "Mountford", (1944, 2, 2))
    hits = find(db, clock, given_names="Bill", family_name="Hughes")
    assert hits[0].person_id == william.id
    assert "WILLIAM is a name for BILL" in features(hits[0])
    assert find(db, clock, given_names="Margaret", family_name="Mountford")[0].person_id == peggy.id


def test_double_barrelled_names_are_found_by_either_part_and_whole(db, clock, person):
    both = person("Sarah", "Smith-Jones", (1990, 7, 7))
    plain = person("Anna", "Bloor", (1980, 1, 1))
    assert both.id in ids(find(db, clock, given_names="Sarah", family_name="Jones"))
    assert both.id in ids(find(db, clock, given_names="Sarah", family_name="Smith"))
    assert find(db, clock, given_names="Sarah", family_name="Smith Jones")[0].person_id == both.id
    hits = find(db, clock, given_names="Anna", family_name="Bloor-Podmore")
    assert hits[0].person_id == plain.id
    assert "part of" in features(hits[0])


def test_a_part_match_ranks_below_the_whole_name(db, clock, person):
    jones = person("Sarah", "Jones", (1990, 7, 7))
    both = person("Sarah", "Smith-Jones", (1990, 7, 7))
    hits = find(db, clock, given_names="Sarah", family_name="Jones", dob_year=1990, dob_month=7, dob_day=7)
    assert ids(hits)[:2] == [jones.id, both.id]


def test_aliases_and_previous_names_are_searched(db, clock, person):
    from bluelamp.records.person_parts import OtherName

    married = person("Emma", "Plant", (1982, 4, 4), names=(OtherName("previous", "Emma", "Boulton"),))
    hits = find(db, clock, given_names="Emma", family_name="Boulton")
    assert hits[0].person_id == married.id
    assert hits[0].matched_kind == "previous"
    assert (hits[0].given_names, hits[0].family_name) == ("Emma", "Plant")


def test_a_date_of_birth_ranks_the_right_person_first_and_leaves_out_other_years(db, clock, person):
    other_year = person("David", "Taylor", (1961, 2, 3))
    same_year = person("David", "Taylor", (1994, 2, 3))
    right = person("David", "Taylor", (1994, 8, 9))
    hits = find(db, clock, given_names="David", family_name="Taylor", dob_year=1994, dob_month=8, dob_day=9)
    assert ids(hits) == [right.id, same_year.id]
    assert other_year.id not in ids(hits)
    assert "date of birth matches (+30)" in features(hits[0])
    assert "month of birth differs (-10)" in features(hits[1])


def test_day_and_month_swapped_still_match(db, clock, person):
    p = person("Lucy", "Hollins", (1988, 4, 11))
    hits = find(db, clock, given_names="Lucy", family_name="Hollins", dob_year=1988, dob_month=11, dob_day=4)
    assert hits[0].person_id == p.id
    assert "day and month swapped" in features(hits[0])


def test_partial_and_missing_dates_of_birth(db, clock, person):
    no_dob = person("Gary", "Salt")
    year_only = person("Gary", "Salt", (1975, None, None))
    full = person("Gary", "Salt", (1975, 6, 30))
    other_year = person("Gary", "Salt", (1990, 6, 30))
    hits = find(db, clock, given_names="Gary", family_name="Salt", dob_year=1975, dob_month=6)
    assert ids(hits) == [full.id, year_only.id, no_dob.id]
    assert other_year.id not in ids(hits)
    scores = {h.person_id: h for h in hits}
    assert "no date of birth on record" in features(scores[no_dob.id])
    # Without a date of birth, every Gary Salt is a full match.
    assert {h.score for h in find(db, clock, given_names="Gary", family_name="Salt")} == {1.0}


def test_an_age_range_keeps_those_born_in_it_and_those_of_unknown_age(db, clock, person):
    thirty = person("Mark", "Degg", (1996, 1, 1))
    sixty = person("Mark", "Degg", (1966, 1, 1))
    unknown = person("Mark", "Degg")
    found = ids(find(db, clock, given_names="Mark", family_name="Degg", age_from=25, age_to=35))
    assert thirty.id in found and unknown.id in found and sixty.id not in found


def test_a_changed_family_name_is_found_by_given_name_and_date_of_birth(db, clock, person):
    p = person("Rebecca Jane", "Mellor", (1987, 9, 14))
    hits = find(db, clock, given_names="Rebecca", family_name="Tunnicliffe", dob_year=1987, dob_month=9, dob_day=14)
    assert hits[0].person_id == p.id


def test_both_names_misspelt_with_a_date_of_birth(db, clock, person):
    p = person("Tyler", "Churwick", (1998, 7, 12))
    hits = find(db, clock, given_names="Tyle", family_name="Churqick", dob_year=1998, dob_month=7, dob_day=12)
    assert hits[0].person_id == p.id


def test_both_names_misspelt_beyond_their_first_sound(db, clock, person):
    sophie = person("Sophie Rebecca", "Standen", (1992, 10, 6))
    person("Sophie", "Stanton", (1992, 4, 1))
    hits = find(db, clock, given_names="Solhie Rebecca", family_name="Staden", dob_year=1992, dob_month=10, dob_day=6)
    assert hits[0].person_id == sophie.id
    assert "date of birth matches" in features(hits[0])


def test_another_record_matching_the_typing_does_not_hide_the_right_spelling(db, clock, person):
    # One record holds the misspelling the officer typed: the person held under the right
    # spelling, born the same day, is still found.
    right = person("David", "Marshall", (1982, 1, 8))
    typed = person("David", "Marsall", (1982, 1, 8))
    hits = find(db, clock, given_names="David", family_name="Marsall", dob_year=1982, dob_month=1, dob_day=8)
    assert ids(hits)[:2] == [typed.id, right.id]
    assert "family name MARSHALL is spelt like MARSALL" in features(hits[1])


def test_a_misspelt_nickname_is_found_by_family_name_and_date_of_birth(db, clock, person):
    charlotte = person("Charlotte", "Pickcliffe", (2009, 7, 1))
    person("Charlotte", "Pickcliffe", (1980, 7, 1))
    hits = find(db, clock, given_names="Lottei", family_name="Pickcliffe", dob_year=2009, dob_month=7, dob_day=1)
    assert ids(hits) == [charlotte.id]
    assert features(hits[0]) == "family name PICKCLIFFE matches (+40) | date of birth matches (+30)"


def test_a_changed_family_name_and_a_misspelt_given_name(db, clock, person):
    # Married since, and the given name mistyped: a given name spelt so but for one letter
    # typed twice or two swapped, born that day, whatever the family name.
    jessica = person("Jessica Megan", "Allen", (2000, 3, 12))
    holly = person("Holly Charlotte", "Ashton", (2000, 7, 6))
    person("Jessica", "Allen", (2000, 5, 5))
    hits = find(db, clock, given_names="Jedsica Megan", family_name="Winland", dob_year=2000, dob_month=3, dob_day=12)
    assert hits[0].person_id == jessica.id
    assert "middle name MEGAN matches" in features(hits[0])
    hits = find(db, clock, given_names="Ohlly", family_name="Lingbrook", dob_year=2000, dob_month=7, dob_day=6)
    assert hits[0].person_id == holly.id


def test_a_changed_family_name_and_a_nickname(db, clock, person):
    mia = person("Mia", "Redden", (2000, 9, 1))
    hits = find(db, clock, given_names="Amy", family_name="Hughes", dob_year=2000, dob_month=9, dob_day=1)
    assert hits[0].person_id == mia.id
    assert "given name MIA is a name for AMY" in features(hits[0])


def test_without_a_date_of_birth_a_given_name_misspelt_early_is_found(db, clock, person):
    thomas = person("Thomas Craig", "Wilson", (1978, 4, 20))
    person("Craig", "Wilson", (1978, 4, 20))
    hits = find(db, clock, given_names="Thlmas Craig", family_name="Wilson")
    assert hits[0].person_id == thomas.id


def test_a_family_name_prefix_with_a_wildcard(db, clock, person):
    p = person("Ian", "Tunnicliffe", (1950, 3, 3))
    person("Ian", "Turner", (1950, 3, 3))
    assert ids(find(db, clock, given_names="Ian", family_name="Tunni*")) == [p.id]


def test_hits_carry_an_explained_score(db, clock, person):
    person("John", "Smith", (1985, 3, 12))
    (hit,) = find(db, clock, given_names="Jon", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    assert 0 < hit.score <= 1
    assert hit.points == sum(points for _, points in hit.explanation)
    labels = [label for label, _ in hit.explanation]
    assert "family name SMITH matches" in labels
    assert "date of birth matches" in labels
    assert any(label.startswith("given name") for label in labels)


# ---------------------------------------------------------------- persons: access, audit, bad input


def test_other_forces_and_higher_markings_are_never_found(db, clock, person):
    ours = person("Karen", "Shenton", (1970, 1, 1))
    make_person(db, clock, force_id="west-yorkshire", given_names="Karen", family_name="Shenton")
    secret = make_person(
        db, clock, Actor.system("staffordshire", "test"), given_names="Karen", family_name="Shenton", marking="SECRET"
    )
    assert ids(find(db, clock, given_names="Karen", family_name="Shenton")) == [ours.id]
    cleared = officer(clearance="SECRET")
    assert set(ids(find(db, clock, cleared, given_names="Karen", family_name="Shenton"))) == {ours.id, secret.id}


def test_a_search_is_audited_with_its_criteria(db, clock, person):
    person("John", "Smith", (1985, 3, 12))
    searcher = officer(name="searcher-1")
    find(db, clock, searcher, given_names="Jon", family_name="Smyth", dob_year=1985)
    with db.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.actor == "searcher-1").order_by(AuditEntry.seq.desc())
        ).first()
    detail = json.loads(entry.detail)
    assert entry.action == "person.search"
    assert detail["criteria"] == {"given_names": "Jon", "family_name": "Smyth", "dob_year": 1985}
    assert detail["found"] == 1
    assert entry.reason == searcher.reason


def test_searching_asks_for_a_reason_and_the_permission(db, clock):
    with pytest.raises(Denied) as refused:
        find(db, clock, officer(reason=None), family_name="Smith")
    assert refused.value.code == "access.reason_required"
    with pytest.raises(Denied):
        find(db, clock, officer("source_handler"), family_name="Smith")


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        ({}, "search.no_criteria"),
        ({"dob_year": 1985}, "search.no_criteria"),
        ({"family_name": "  -- "}, "search.no_criteria"),
        ({"family_name": "*"}, "search.only_wildcards"),
        ({"name": "* ?"}, "search.only_wildcards"),
        ({"family_name": "Smith", "dob_year": 2030}, "search.invalid_criteria"),
        ({"family_name": "Smith", "dob_year": 1985, "dob_month": 2, "dob_day": 30}, "search.invalid_criteria"),
        ({"family_name": "Smith", "dob_month": 13}, "search.invalid_criteria"),
        ({"family_name": "Smith", "age_from": 40, "age_to": 30}, "search.invalid_criteria"),
    ],
)
def test_bad_searches_are_refused_with_a_stable_code(db, clock, criteria, code):
    with pytest.raises(InvalidInput) as refused:
        find(db, clock, **criteria)
    assert refused.value.code == code


def test_likely_matches_before_saving_show_only_close_ones(db, clock, person):
    smith = person("John", "Smith", (1985, 3, 12))
    person("John", "Smith", (1950, 1, 1))
    person("Jane", "Smythe", (1985, 3, 12))
    with db.unit_of_work() as session:
        close = search.likely_matches(session, officer(), "Jon", "Smyth", 1985, 3, 12, clock=clock)
        none = search.likely_matches(session, officer(), "Peter", "Podmore", 1985, 3, 12, clock=clock)
    assert ids(close) == [smith.id]
    assert none == []


@pytest.mark.sqlite_only
def test_candidates_come_from_indexes_never_a_scan_of_persons(db, clock, person):
    person("John", "Smith", (1985, 3, 12))
    actor = officer()
    for criteria in (
        {"given_names": "John", "family_name": "Smith", "dob_year": 1985},
        {"given_names": "John", "family_name": "Smith"},
        {"name": "Smith"},
        {"given_names": "John"},
        {"family_name": "Smi*"},
    ):
        prepared = search._prepare(PersonQuery(**criteria), NOW.date())
        for lookups in (lookups_of(prepared) for lookups_of in search.PASSES):
            if not lookups:
                continue
            statement = queries.person_name_candidates_statement(actor, lookups, years=prepared.age_years, cap=10)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            with db.read() as session:
                plan = [row[3] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
            assert not any(step.startswith("SCAN") and "records_person" in step for step in plan), (criteria, plan)
            assert any("USING COVERING INDEX ix_records_person_name" in step for step in plan), plan


# ---------------------------------------------------------------- vehicles and phones


def test_vehicles_by_full_or_partial_vrm_with_wildcards(db, clock):
    corsa = make_object(db, "vehicle", clock, vrm="AB12 CDE", make="Vauxhall", model="Corsa")
    focus = make_object(db, "vehicle", clock, vrm="AB12 CDF")
    other = make_object(db, "vehicle", clock, vrm="XY66 CDE")
    make_object(db, "vehicle", clock, force_id="west-yorkshire", vrm="AB12 CDE")
    actor = officer()

    def vrm(pattern):
        with db.unit_of_work() as session:
            return {v.id for v in search.search_vehicles(session, actor, pattern, clock)}

    assert vrm("ab12 cde") == {corsa.id}
    assert vrm("AB12") == {corsa.id, focus.id}
    assert vrm("AB12*") == {corsa.id, focus.id}
    assert vrm("*CDE") == {corsa.id, other.id}
    assert vrm("AB?2 CD?") == {corsa.id, focus.id}
    assert vrm("*12*") == {corsa.id, focus.id}
    assert vrm("ZZ99") == set()
    for bad, code in (("*", "search.only_wildcards"), ("? ?", "search.only_wildcards"), ("", "search.no_criteria")):
        with pytest.raises(InvalidInput) as refused, db.unit_of_work() as session:
            search.search_vehicles(session, actor, bad, clock)
        assert refused.value.code == code


def test_sql_wildcards_typed_in_a_vrm_are_not_wildcards(db, clock):
    make_object(db, "vehicle", clock, vrm="AB12 CDE")
    with db.unit_of_work() as session:
        assert search.search_vehicles(session, officer(), "A_12CDE", clock) == []
        assert search.search_vehicles(session, officer(), "%12CDE", clock) == []


def test_phones_by_number_in_any_form_or_by_a_fragment(db, clock):
    mobile = make_object(db, "phone", clock, phone_number="07700 900123", imei=None)
    landline = make_object(db, "phone", clock, phone_number="01785 123456", imei=None)
    actor = officer()

    def phone(fragment):
        with db.unit_of_work() as session:
            return {p.id for p in search.search_phones(session, actor, fragment, clock)}

    assert phone("+44 7700 900123") == {mobile.id}
    assert phone("0044 7700") == {mobile.id}
    assert phone("07700-900-123") == {mobile.id}
    assert phone("900123") == {mobile.id}
    assert phone("123") == {mobile.id, landline.id}
    assert phone("01785") == {landline.id}
    with pytest.raises(InvalidInput) as refused, db.unit_of_work() as session:
        search.search_phones(session, actor, "12", clock)
    assert refused.value.code == "search.too_short"


# ---------------------------------------------------------------- free text


def test_words_in_narratives_are_found_best_first_with_a_snippet(db, clock):
    corsa = make_event(
        db,
        "incident",
        clock,
        summary="Vehicle seen leaving",
        narrative="A red Vauxhall Corsa was seen leaving the car park at speed after the alarm sounded.",
    )
    make_event(db, "incident", clock, summary="Noise", narrative="Loud music from a flat above the shops.")
    make_event(db, "incident", clock, force_id="west-yorkshire", narrative="A red Vauxhall Corsa again.")
    actor = officer()

    def words(query):
        with db.unit_of_work() as session:
            return search.search_text(session, actor, query, clock)

    (hit,) = words("corsa vauxhall")
    assert hit.event.id == corsa.id
    assert "[" in hit.snippet and "]" in hit.snippet
    assert [h.event.id for h in words("vaux*")] == [corsa.id]
    assert [h.event.id for h in words("leaving")] == [corsa.id]  # the summary too
    assert words("corsa music") == []
    # Query syntax typed by a user is only words.
    assert [h.event.id for h in words('corsa" OR NEAR(music) -x')] == []
    with pytest.raises(InvalidInput) as refused:
        words("* ")
    assert refused.value.code == "search.only_wildcards"


def test_text_search_follows_changes_to_a_narrative(db, clock):
    event = make_event(db, "incident", clock, narrative="A blue van was parked on the verge.")
    with db.unit_of_work() as session:
        session.execute(update(Event).where(Event.id == event.id).values(narrative="A green lorry was parked."))
    with db.unit_of_work() as session:
        assert search.search_text(session, officer(), "van", clock) == []
        assert [h.event.id for h in search.search_text(session, officer(), "lorry", clock)] == [event.id]


def test_text_search_shows_only_events_the_officer_may_read(db, clock):
    crime = make_event(db, "crime", clock, narrative="Burglary: a window was forced with a screwdriver.")
    with db.unit_of_work() as session:
        found = [h.event.id for h in search.search_text(session, officer("investigator"), "screwdriver", clock)]
        hidden = search.search_text(session, officer("call_handler"), "screwdriver", clock)
    assert found == [crime.id]
    assert hidden == []


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def app(app):
    """The app with the search routes (registered here until app.py includes them)."""
    from bluelamp.web.api import search as search_api

    if not any(getattr(r, "path", "") == "/api/v1/search/persons" for r in app.routes):
        app.include_router(search_api.router)
    return app


@pytest.fixture
def investigator(db):
    return {**bearer(db, make_user(db, "investigator")), **REASON}


def test_person_search_over_http(client, investigator, db, clock, person):
    smith = person("John", "Smith", (1985, 3, 12))
    response = client.get(
        "/api/v1/search/persons",
        params={"given_names": "Jon", "family_name": "Smyth", "dob": "1985-03"},
        headers=investigator,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["truncated"] is False
    (hit,) = body["hits"]
    assert hit["id"] == smith.id and hit["dob"] == "12/03/1985"
    assert hit["matched"] == {"kind": "primary", "given_names": "JOHN", "family_name": "SMITH"}
    assert {"feature": "year and month of birth match", "points": 22} in hit["explanation"]
    by_name = client.get("/api/v1/search/persons", params={"name": "Smith, John"}, headers=investigator).json()
    assert [h["id"] for h in by_name["hits"]] == [smith.id]


def test_bad_searches_over_http_are_problem_details(client, investigator):
    for params, code in (
        ({}, "search.no_criteria"),
        ({"family_name": "*"}, "search.only_wildcards"),
        ({"family_name": "Smith", "dob": "2099"}, "search.invalid_criteria"),
        ({"family_name": "Smith", "dob": "soon"}, "person.invalid_dob"),
    ):
        response = client.get("/api/v1/search/persons", params=params, headers=investigator)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    response = client.get("/api/v1/search/vehicles", params={"vrm": "**"}, headers=investigator)
    assert response.json()["code"] == "search.only_wildcards"


def test_searching_over_http_needs_a_reason_and_the_permission(client, db):
    no_reason = bearer(db, make_user(db, "investigator"))
    response = client.get("/api/v1/search/persons", params={"family_name": "Smith"}, headers=no_reason)
    assert response.status_code == 403 and response.json()["code"] == "access.reason_required"
    admin = {**bearer(db, make_user(db, "force_admin")), **REASON}
    assert client.get("/api/v1/search/persons", params={"family_name": "Smith"}, headers=admin).status_code == 403


def test_vehicle_phone_and_text_search_over_http(client, investigator, db, clock):
    car = make_object(db, "vehicle", clock, vrm="AB12 CDE")
    phone = make_object(db, "phone", clock, phone_number="07700 900123", imei=None)
    event = make_event(db, "incident", clock, narrative="A red Corsa was seen.")
    vehicles = client.get("/api/v1/search/vehicles", params={"vrm": "ab12*"}, headers=investigator).json()
    assert [v["id"] for v in vehicles] == [car.id]
    phones = client.get("/api/v1/search/phones", params={"number": "+447700900123"}, headers=investigator).json()
    assert [p["id"] for p in phones] == [phone.id]
    texts = client.get("/api/v1/search/text", params={"q": "corsa"}, headers=investigator).json()
    assert [t["id"] for t in texts] == [event.id]
    assert texts[0]["reference"] == event.reference
