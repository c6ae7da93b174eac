"""The records search, new person and merge queue pages, as a signed-in officer's or
analyst's browser uses them: a misspelt name finds the person ranked with why and their
warning markers; a search with nothing to search by, only wildcards or an impossible date
of birth says so next to the field; another force's person never appears; every search
is audited with the stated reason (a missing reason asks for one and comes back); a new
person is checked for likely duplicates before saving and saved on confirmation, a
duplicate PNC ID or a future date of birth is refused next to its field with the form
kept; the merge queue compares a pair, merges it with a reason, rejects one, and undoes a
merge. (The same journeys in a real browser: tests/browser/test_records_search.py and
test_records_merge.py.)"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import Clock
from bluelamp.records import person_parts
from bluelamp.records.duplicates import merge
from bluelamp.records.model import Merge, MergeCandidate, Person
from tests.factories.access import ensure_force, make_user
from tests.factories.records import make_event, make_location, make_object, make_person, officer
from tests.factories.search_pages import add_marker, make_candidate_pair, page_csrf, state_reason
from tests.test_admin_pages import browser_as

FORCE = "staffordshire"
OTHER = "west-yorkshire"


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, FORCE)
    ensure_force(db, OTHER)


def signed_in(app, db, role: str, *, reason: bool = True) -> TestClient:
    """A browser signed in with ``role`` (the app runs under the ``client`` fixture's lifespan)."""
    browser = browser_as(app, db, make_user(db, role))
    if reason:
        state_reason(browser)
    return browser


@pytest.fixture
def officer_browser(app, db, client):
    return signed_in(app, db, "investigator")


@pytest.fixture
def analyst_browser(app, db, client):
    return signed_in(app, db, "intelligence_analyst")


def result_rows(html: str) -> list[str]:
    """The person results' rows, best first, as HTML."""
    return re.findall(r'<tr data-testid="person-result".*?</tr>', html, re.S)


def row_person(row: str) -> str:
    return re.search(r'data-person-id="([^"]+)"', row).group(1)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def audit_entries(db, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def count_persons(db, family_name: str) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Person).where(Person.family_name == family_name))


# ---------------------------------------------------------------- search


def test_a_misspelt_name_finds_the_person_first_with_why_and_their_markers(db, officer_browser):
    smith = make_person(db, given_names="John", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    make_person(db, given_names="John", family_name="Jones", dob_year=1985, dob_month=3, dob_day=12)
    add_marker(db, smith, "violent", "assaulted an officer on arrest")

    page = officer_browser.get("/records/search", params={"family_name": "Smyth", "given_names": "Jon", "dob": "1985"})

    assert page.status_code == 200, page.text[:2000]
    rows = result_rows(page.text)
    assert rows and row_person(rows[0]) == smith.id
    first = text_of(rows[0])
    assert "SMITH, John" in first and "12/03/1985" in first
    assert "family name sounds like SMYTH" in first
    assert "year of birth matches" in first
    assert "Violent" in first and 'title="assaulted an officer on arrest"' in rows[0]
    assert f'href="/records/persons/{smith.id}"' in rows[0]
    # The form keeps what was typed, so the search can be refined.
    assert 'name="family_name" type="text" value="Smyth"' in page.text
    assert '<a href="/records/search" aria-current="page">Records</a>' in page.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"family_name": "", "given_names": ""}, "family_name", "Give a family name, a given name or both."),
        ({"family_name": "**", "given_names": ""}, "family_name", "Give at least one letter."),
        ({"family_name": "Smith", "dob": "2090"}, "dob", "A date of birth cannot be in the future."),
        ({"family_name": "Smith", "dob": "31/02/1985"}, "dob", "No such date."),
        ({"family_name": "Smith", "dob": "yesterday"}, "dob", "Use 1985-03-12, 1985-03, 1985 or 12/03/1985."),
        ({"family_name": "Smith", "age_from": "40", "age_to": "30"}, "age_to", "The range ends before it starts."),
        ({"tab": "vehicles", "vrm": "*??*"}, "vrm", "Give at least one letter or digit."),
        ({"tab": "phones", "number": "07"}, "number", "3 digits or more."),
        ({"tab": "text", "q": "  "}, "q", "Some words."),
    ],
)
def test_a_search_that_cannot_be_made_says_why_next_to_the_field(officer_browser, params, field, message):
    page = officer_browser.get("/records/search", params=params)

    assert page.status_code == 422
    error = re.search(
        rf'<span class="field-error" id="{field}-error" data-testid="{field}-error">([^<]*)</span>', page.text
    )
    assert error, page.text[:3000]
    assert unescape(error.group(1)) == message
    assert (
        f'aria-describedby="{field}-hint {field}-error"' in page.text
        or f'aria-describedby="{field}-error"' in page.text
    )
    assert 'data-testid="results"' not in page.text
    for name, value in params.items():
        if name != "tab" and value.strip():
            assert f'value="{value}"' in unescape(page.text)  # what was typed stays


def test_another_forces_person_never_appears(db, officer_browser):
    ours = make_person(db, given_names="John", family_name="Smith", dob_year=1985)
    theirs = make_person(db, force_id=OTHER, given_names="John", family_name="Smith", dob_year=1985)

    page = officer_browser.get("/records/search", params={"family_name": "Smith", "given_names": "John"})

    assert [row_person(r) for r in result_rows(page.text)] == [ours.id]
    assert theirs.id not in page.text


def test_every_search_is_audited_with_its_criteria_and_the_stated_reason(db, officer_browser):
    make_person(db, given_names="John", family_name="Smith", dob_year=1985)
    officer_browser.get("/records/search", params={"family_name": "Smyth", "dob": "1985"})
    officer_browser.get("/records/search", params={"tab": "vehicles", "vrm": "AB12*"})

    [entry] = audit_entries(db, "person.search")
    detail = json.loads(entry.detail)
    assert detail["criteria"] == {"family_name": "Smyth", "dob_year": 1985}
    assert detail["found"] == 1
    assert entry.reason == "Investigating a crime: burglary SP-CR-2026-000042"
    [vehicles] = audit_entries(db, "vehicle.search")
    assert json.loads(vehicles.detail)["criteria"] == {"vrm": "AB12*"}


def test_a_search_without_a_stated_reason_asks_for_one_and_comes_back_to_it(app, db, client):
    browser = signed_in(app, db, "investigator", reason=False)
    plain = browser.get("/records/search?family_name=Smith&given_names=", follow_redirects=False)
    assert plain.status_code == 303
    assert (
        plain.headers["location"] == "/account/reason?next=%2Frecords%2Fsearch%3Ffamily_name%3DSmith%26given_names%3D"
    )

    # An htmx search has not pushed its address yet: the prompt returns to the search itself.
    partial = browser.get(
        "/records/search?family_name=Smith",
        headers={"HX-Request": "true", "HX-Current-URL": "https://testserver/records/search"},
    )
    assert partial.status_code == 204
    assert partial.headers["hx-redirect"] == "/account/reason?next=%2Frecords%2Fsearch%3Ffamily_name%3DSmith"
    assert audit_entries(db, "person.search") == []


def test_an_htmx_search_answers_the_search_area_alone_with_its_messages(db, officer_browser):
    smith = make_person(db, given_names="John", family_name="Smith", dob_year=1985)
    headers = {"HX-Request": "true"}

    found = officer_browser.get("/records/search?family_name=Smith", headers=headers)
    refused = officer_browser.get("/records/search?family_name=&given_names=", headers=headers)

    assert found.status_code == 200
    assert found.text.lstrip().startswith('<div id="search-area"') and "<html" not in found.text
    assert row_person(result_rows(found.text)[0]) == smith.id
    assert refused.status_code == 200  # htmx swaps only a success in: the message comes with it
    assert 'data-testid="family_name-error"' in refused.text


def test_gender_and_postcode_narrow_what_the_name_search_found(db, officer_browser):
    home = make_location(db, line1="4 Mill Lane", postcode="ST16 2AB")
    elsewhere = make_location(db, line1="9 Bridge St", postcode="WS11 1AA")
    at_home = make_person(
        db,
        given_names="Sam",
        family_name="Smith",
        gender="female",
        addresses=(person_parts.NewAddress(location_id=home.id),),
    )
    away = make_person(
        db,
        given_names="Sam",
        family_name="Smith",
        gender="male",
        addresses=(person_parts.NewAddress(location_id=elsewhere.id),),
    )

    by_gender = officer_browser.get("/records/search", params={"family_name": "Smith", "gender": "male"})
    by_district = officer_browser.get("/records/search", params={"family_name": "Smith", "postcode": "st16"})
    by_postcode = officer_browser.get("/records/search", params={"family_name": "Smith", "postcode": "WS111AA"})
    bad = officer_browser.get("/records/search", params={"family_name": "Smith", "postcode": "nowhere"})

    assert [row_person(r) for r in result_rows(by_gender.text)] == [away.id]
    assert [row_person(r) for r in result_rows(by_district.text)] == [at_home.id]
    assert [row_person(r) for r in result_rows(by_postcode.text)] == [away.id]
    assert bad.status_code == 422 and 'data-testid="postcode-error"' in bad.text


def test_vehicles_phones_and_words_are_found_and_link_to_their_records(db, officer_browser):
    car = make_object(db, "vehicle", vrm="AB12 CDE")
    phone = make_object(db, "phone", phone_number="07700 900123")
    event = make_event(db, "incident", summary="disturbance", narrative="a man with a <b>crowbar</b> at the garages")

    vehicles = officer_browser.get("/records/search", params={"tab": "vehicles", "vrm": "ab12*"})
    phones = officer_browser.get("/records/search", params={"tab": "phones", "number": "900 123"})
    words = officer_browser.get("/records/search", params={"tab": "text", "q": "crowbar garages"})

    assert f'href="/records/objects/{car.id}"' in vehicles.text and "AB12 CDE" in vehicles.text
    assert f'href="/records/objects/{phone.id}"' in phones.text and "07700 900123" in phones.text
    assert f'href="/records/events/{event.id}"' in words.text
    assert "<mark>crowbar</mark>" in words.text
    assert "<b>" not in words.text  # the narrative's own markup is shown as text, never run
    assert '<a href="/records/search?tab=text&amp;q=crowbar+garages" aria-current="page"' in words.text


# ---------------------------------------------------------------- a new person


def person_form(client: TestClient, **changes) -> dict:
    page = client.get("/records/persons/new")
    assert page.status_code == 200
    form = {
        "csrf_token": page_csrf(page.text),
        "form_key": re.search(r'name="form_key" value="([0-9a-f]+)"', page.text).group(1),
        "family_name": "Smyth",
        "given_names": "Jon",
        "dob": "12/03/1985",
        "gender": "male",
        "birth_place": "Stafford",
        "line1": "4 Mill Lane",
        "town": "Stafford",
        "postcode": "ST16 2AB",
        "pnc_id": "",
    }
    form.update(changes)
    return form


def test_a_new_person_is_checked_for_likely_duplicates_before_saving_and_saved_on_confirmation(db, officer_browser):
    known = make_person(db, given_names="John", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    form = person_form(officer_browser, pnc_id="99/123456A")

    checked = officer_browser.post("/records/persons/new", data=form, follow_redirects=False)

    assert checked.status_code == 200, checked.text[:2000]
    assert count_persons(db, "Smyth") == 0  # nothing saved yet
    matches = re.findall(r'<tr data-testid="likely-match" data-person-id="([^"]+)"', checked.text)
    assert matches == [known.id]
    assert f'href="/records/persons/{known.id}" data-testid="open-match">This is them: open it' in checked.text
    assert "None of these: create a new person" in checked.text
    confirm = re.search(
        r'<form method="post" action="/records/persons/new" class="rs-choice".*?</form>', checked.text, re.S
    )
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm.group(0)))
    assert fields["family_name"] == "Smyth" and fields["pnc_id"] == "99/123456A"

    created = officer_browser.post(
        "/records/persons/new",
        data={**{k: unescape(v) for k, v in fields.items()}, "confirm_new": "yes"},
        follow_redirects=False,
    )

    assert created.status_code == 303, created.text[:2000]
    person_id = created.headers["location"].removeprefix("/records/persons/")
    with db.read() as session:
        person = session.get(Person, person_id)
        assert (person.family_name, person.given_names, person.dob_year, person.birth_place) == (
            "Smyth",
            "Jon",
            1985,
            "Stafford",
        )
    [entry] = [e for e in audit_entries(db, "person.create") if e.record_id == person_id]
    assert json.loads(entry.detail)["confirmed_new"] is True


def test_a_new_person_with_no_likely_match_is_saved_at_once(db, officer_browser):
    response = officer_browser.post(
        "/records/persons/new",
        data=person_form(officer_browser, family_name="Okonkwo", dob="1990"),
        follow_redirects=False,
    )
    assert response.status_code == 303
    with db.read() as session:
        person = session.get(Person, response.headers["location"].rsplit("/", 1)[1])
    assert (person.family_name, person.dob_year, person.dob_month) == ("Okonkwo", 1990, None)


def test_the_same_form_sent_twice_saves_one_person_and_opens_it_both_times(db, officer_browser):
    form = person_form(officer_browser, family_name="Adeyemi", dob="1991")

    first = officer_browser.post("/records/persons/new", data=form, follow_redirects=False)
    again = officer_browser.post("/records/persons/new", data=form, follow_redirects=False)

    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert count_persons(db, "Adeyemi") == 1


def test_a_pnc_id_the_force_already_holds_is_refused_next_to_it_with_the_form_kept(db, officer_browser):
    make_person(db, family_name="Walker", identifiers=(person_parts.NewIdentifier("pnc_id", "99/123456A"),))
    form = person_form(officer_browser, family_name="Okonkwo", pnc_id="99/0123456a", confirm_new="yes")

    response = officer_browser.post("/records/persons/new", data=form, follow_redirects=False)

    assert response.status_code == 409
    assert re.search(r'data-testid="pnc_id-error">This PNC ID is already recorded\.</span>', response.text)
    for name in ("family_name", "given_names", "birth_place", "line1", "postcode"):
        assert f'name="{name}" type="text" value="{form[name]}"' in response.text
    assert 'value="99/0123456a"' in response.text
    assert count_persons(db, "Okonkwo") == 0


def test_a_future_date_of_birth_is_refused_next_to_it_with_the_form_kept(db, officer_browser):
    form = person_form(officer_browser, family_name="Okonkwo", dob="12/03/2999")
    response = officer_browser.post("/records/persons/new", data=form, follow_redirects=False)

    assert response.status_code == 422
    assert re.search(r'data-testid="dob-error">2999 is in the future\.</span>', response.text)
    assert 'name="dob" type="text" value="12/03/2999"' in response.text
    assert 'name="family_name" type="text" value="Okonkwo"' in response.text
    assert '<a href="#dob">' in response.text  # the summary leads to the field
    assert count_persons(db, "Okonkwo") == 0


# ---------------------------------------------------------------- the merge queue


@pytest.fixture
def pair(db):
    """Two records of one man, the later one with a violent marker and a passport."""
    survivor = make_person(db, given_names="John", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    merged = make_person(
        db,
        given_names="Jon",
        family_name="Smyth",
        dob_year=1985,
        dob_month=3,
        dob_day=12,
        gender="male",
        identifiers=(person_parts.NewIdentifier("passport", "123456789"),),
    )
    add_marker(db, merged, "violent", "assaulted an officer on arrest")
    return survivor, merged, make_candidate_pair(db, survivor, merged)


def post_on(client: TestClient, page_path: str, action: str, data: dict):
    token = page_csrf(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_the_queue_lists_pairs_and_compares_one_side_by_side_with_the_differences_marked(db, analyst_browser, pair):
    survivor, merged, candidate = pair
    theirs = [make_person(db, force_id=OTHER, given_names=n) for n in ("John", "Jon")]
    hidden = make_candidate_pair(db, *theirs, weight=30.0)

    queue = analyst_browser.get("/records/merges")
    assert queue.status_code == 200
    assert re.findall(r'data-testid="candidate" data-candidate-id="([^"]+)"', queue.text) == [candidate.id]
    assert "date of birth: same" in queue.text and hidden.id not in queue.text
    assert '<a href="/records/merges" aria-current="page">Merge queue</a>' in queue.text

    page = analyst_browser.get(f"/records/merges/candidates/{candidate.id}")
    assert page.status_code == 200
    differs = set(re.findall(r'data-field="([^"]+)" data-differs="true"', page.text))
    assert {"Family name", "Given names", "Gender", "Identifiers", "Warning markers"} <= differs
    assert "Date of birth" not in differs and "Place of birth" not in differs
    rows = dict(re.findall(r'data-field="([^"]+)"[^>]*>(.*?)</tr>', page.text, re.S))
    assert "Passport 123456789" in text_of(rows["Identifiers"]) and "Violent" in text_of(rows["Warning markers"])
    explanation = text_of(re.search(r'data-testid="explanation".*?</table>', page.text, re.S).group(0))
    assert "family name: sounds the same +9.4" in explanation and "postcode: different -2.3" in explanation
    [entry] = audit_entries(db, "merge_candidate.compare")
    assert entry.record_id == candidate.id

    assert analyst_browser.get(f"/records/merges/candidates/{hidden.id}").status_code == 404


def test_a_merge_needs_a_survivor_and_a_reason_then_shows_in_recent_merges_and_is_undone(db, analyst_browser, pair):
    survivor, merged, candidate = pair
    compare = f"/records/merges/candidates/{candidate.id}"
    ids = {"left_id": candidate.left_id, "right_id": candidate.right_id}

    no_choice = post_on(analyst_browser, compare, f"{compare}/merge", {**ids, "merge_reason": "same custody photo"})
    no_reason = post_on(
        analyst_browser, compare, f"{compare}/merge", {**ids, "survivor": survivor.id, "merge_reason": " "}
    )

    assert no_choice.status_code == 422 and 'data-testid="survivor-error"' in no_choice.text
    assert "same custody photo" in no_choice.text  # the reason typed is kept
    assert no_reason.status_code == 422
    assert re.search(r'data-testid="merge_reason-error">A reason is required\.</span>', no_reason.text)

    done = post_on(
        analyst_browser,
        compare,
        f"{compare}/merge",
        {**ids, "survivor": survivor.id, "merge_reason": "same custody photo"},
    )

    assert done.status_code == 303 and done.headers["location"] == "/records/merges?done=merged#recent"
    with db.read() as session:
        assert session.get(Person, merged.id).merged_into_id == survivor.id
        assert session.get(MergeCandidate, candidate.id).status == "merged"
        merge_id = session.scalar(select(Merge.id).where(Merge.survivor_id == survivor.id))
    queue = analyst_browser.get(done.headers["location"])
    assert "Merged." in queue.text and 'data-testid="no-candidates"' in queue.text
    recent = re.search(rf'<tr data-testid="recent-merge" data-merge-id="{merge_id}".*?</tr>', queue.text, re.S).group(0)
    assert "same custody photo" in recent and 'data-testid="undo-form"' in recent

    refused = post_on(analyst_browser, "/records/merges", f"/records/merges/{merge_id}/undo", {"undo_reason": ""})
    assert refused.status_code == 422 and 'data-testid="undo-error">A reason is required.' in refused.text

    undone = post_on(
        analyst_browser,
        "/records/merges",
        f"/records/merges/{merge_id}/undo",
        {"undo_reason": "different fingerprints"},
    )

    assert undone.status_code == 303
    with db.read() as session:
        assert session.get(Person, merged.id).merged_into_id is None
        assert session.get(MergeCandidate, candidate.id).status == "open"
    after = analyst_browser.get(undone.headers["location"])
    assert "The merge was undone" in after.text and 'data-testid="undone"' in after.text
    assert [json.loads(e.detail)["merge_id"] for e in audit_entries(db, "person.unmerge")] == [merge_id, merge_id]
    assert {e.reason for e in audit_entries(db, "person.unmerge")} == {"different fingerprints"}


def test_a_merge_the_service_refuses_says_why_on_the_comparison(db, analyst_browser, pair):
    survivor, merged, candidate = pair
    compare = f"/records/merges/candidates/{candidate.id}"
    elsewhere = make_person(db, given_names="Jonathan", family_name="Smyth", dob_year=1985)
    with db.unit_of_work() as session:  # meanwhile, someone merged the later record into a third
        merge.merge(session, officer("intelligence_analyst"), elsewhere.id, merged.id, "same person", Clock())

    response = post_on(
        analyst_browser,
        compare,
        f"{compare}/merge",
        {"left_id": candidate.left_id, "right_id": candidate.right_id, "survivor": survivor.id, "merge_reason": "same"},
    )

    assert response.status_code == 409
    error = re.search(r'<p class="field-error" data-testid="merge-error">([^<]*)</p>', response.text)
    assert error and f"is already merged into {elsewhere.id}" in error.group(1)
    assert 'data-testid="merge-form"' in response.text  # the decision can still be made otherwise


def test_a_pair_rejected_with_a_reason_leaves_the_queue(db, analyst_browser, pair):
    _, _, candidate = pair
    compare = f"/records/merges/candidates/{candidate.id}"

    blank = post_on(analyst_browser, compare, f"{compare}/reject", {"reject_reason": ""})
    assert blank.status_code == 422 and 'data-testid="reject_reason-error"' in blank.text

    rejected = post_on(
        analyst_browser, compare, f"{compare}/reject", {"reject_reason": "twins: different fingerprints"}
    )

    assert rejected.status_code == 303
    queue = analyst_browser.get(rejected.headers["location"])
    assert "not be raised again" in queue.text and candidate.id not in queue.text
    [entry] = audit_entries(db, "merge_candidate.reject")
    assert (entry.record_id, entry.reason) == (candidate.id, "twins: different fingerprints")
    decided = analyst_browser.get(compare)
    assert 'data-testid="merge-form"' not in decided.text and "This pair was rejected" in decided.text


def test_each_page_is_for_the_roles_that_do_that_work(app, db, officer_browser, analyst_browser):
    assert officer_browser.get("/records/merges").status_code == 403
    assert analyst_browser.get("/records/persons/new").status_code == 403
    home = signed_in(app, db, "call_handler", reason=False).get("/records/search")
    assert home.status_code == 200 and "Record a new person" not in home.text
    assert 'href="/records/merges"' not in home.text
    assert 'href="/records/merges"' in analyst_browser.get("/records/search").text
