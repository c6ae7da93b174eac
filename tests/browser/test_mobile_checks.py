"""A person check on a phone (360 x 640, touch): a misspelt name and a year of birth, a
quick-pick reason, and the person's warning markers shown first, in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_records_search import sign_in
from tests.factories.records import make_person
from tests.factories.search_pages import add_marker

pytestmark = pytest.mark.browser


def test_a_person_check_with_a_quick_pick_reason_shows_the_markers(browser, live_server):
    db = live_server.database
    person = make_person(db, given_names="Marcus", family_name="Ravensworth", dob_year=1987, dob_month=9, dob_day=3)
    add_marker(db, person, "weapons", "Carried a machete, 2025")
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    try:
        sign_in(live_server, context, "response_officer")
        page.goto(live_server.url + "/m/checks")
        page.wait_for_function("() => window.htmx !== undefined")
        page.get_by_label("Family name").fill("Ravensworht")
        page.get_by_label("Given names").fill("Marcus")
        page.get_by_label("Date of birth").fill("1987")
        page.get_by_text("Stop in the street", exact=True).tap()
        page.get_by_test_id("run-check").tap()

        match = page.get_by_test_id("match").first
        expect(match).to_contain_text("RAVENSWORTH, Marcus")
        expect(match.get_by_test_id("marker")).to_have_text("!Weapons")
        assert page.url.endswith("/m/checks"), "the answer is swapped in, no page load"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"
        assert failures == []
    finally:
        context.close()
