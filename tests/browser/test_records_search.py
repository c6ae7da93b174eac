"""Person search in a real browser, as an officer uses it: asked for a reason first (and
brought back to the search), a misspelt name and a year of birth find the right person
ranked first with why and their warning markers; a second search swaps the results in
place (no reload) and keeps the address bookmarkable; the result opens the profile."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from bluelamp.access import sessions
from bluelamp.clock import Clock
from tests.factories.access import make_user
from tests.factories.records import make_person
from tests.factories.search_pages import add_marker

pytestmark = pytest.mark.browser


def sign_in(live_server, context, role: str):
    """A user with ``role`` signed in through a session cookie on a browser context."""
    user = make_user(live_server.database, role, username=f"{role.replace('_', '-')}-{secrets.token_hex(4)}")
    with live_server.database.unit_of_work() as session:
        token, _ = sessions.start_session(
            session,
            user,
            ip="127.0.0.1",
            user_agent="playwright",
            clock=Clock(),
            policy=live_server.settings.session_policy(),
        )
    context.add_cookies([{"name": "bl_session", "value": token, "url": live_server.url}])
    return user


def test_a_misspelt_name_finds_the_right_person_first_with_why_and_opens_them(page, live_server):
    db = live_server.database
    catherine = make_person(db, given_names="Catherine", family_name="Abernethy", dob_year=1979, dob_month=7, dob_day=4)
    make_person(db, given_names="Catherine", family_name="Abbott", dob_year=1979, dob_month=7, dob_day=4)
    make_person(db, given_names="Kevin", family_name="Abernethy", dob_year=1990)
    add_marker(db, catherine, "weapons", "carried a knife when arrested")
    sign_in(live_server, page.context, "investigator")

    page.goto(live_server.url + "/records/search")
    expect(page.get_by_role("link", name="Records")).to_have_attribute("aria-current", "page")
    page.get_by_label("Family name").fill("Abernathy")
    page.get_by_label("Given names").fill("Kathryn")
    page.get_by_label("Date of birth").fill("1979")
    page.get_by_test_id("search").click()

    # No reason stated yet: asked why, then brought back to this very search.
    page.wait_for_url(re.compile(r"/account/reason\?next="))
    page.get_by_label("Investigating a crime").check()
    page.get_by_label("Reference or details").fill("burglary SP-CR-2026-000042")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/records/search\?"))

    results = page.get_by_test_id("person-results")
    first = results.get_by_test_id("person-result").first
    expect(first).to_have_attribute("data-person-id", catherine.id)
    expect(first.get_by_test_id("open-person")).to_have_text("ABERNETHY, Catherine")
    why = first.get_by_test_id("why")
    expect(why).to_contain_text("family name sounds like ABERNATHY")
    expect(why).to_contain_text("year of birth matches")
    expect(first.get_by_test_id("marker")).to_have_text("!Weapons")
    expect(page.get_by_test_id("current-reason")).to_have_text("Investigating a crime: burglary SP-CR-2026-000042")

    # A second search swaps the results in place and the address follows it.
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.get_by_label("Given names").fill("Kevin")
    page.get_by_label("Date of birth").fill("")
    page.get_by_label("Family name").press("Enter")
    expect(results.get_by_test_id("person-result").first.get_by_test_id("open-person")).to_have_text("ABERNETHY, Kevin")
    assert page.evaluate("() => window.stillTheSamePage") is True
    query = parse_qs(urlsplit(page.url).query)
    assert query["given_names"] == ["Kevin"] and query["family_name"] == ["Abernathy"]

    page.go_back()
    expect(page.get_by_label("Given names")).to_have_value("Kathryn")
    page.get_by_test_id("person-result").first.get_by_test_id("open-person").click()
    page.wait_for_url(re.compile(rf"/records/persons/{catherine.id}$"))
    expect(page.get_by_test_id("person-name")).to_contain_text("ABERNETHY")
    assert page.console_log.errors == []
