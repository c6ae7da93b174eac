"""Recording a crime in a real browser: an investigator picks the offence by typing in the
picker's filter, records the crime, states why they are looking when the crime opens,
adds the victim and sees the victim's Victims' Code clock start."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import expect

from bluelamp.access import sessions
from bluelamp.clock import Clock
from tests.factories.access import make_user
from tests.factories.records import make_person

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


def test_an_investigator_records_a_crime_adds_the_victim_and_sees_their_clock(live_server, page):
    sign_in(live_server, page.context, "investigator")
    family = f"Okafor{secrets.token_hex(2)}"
    victim = make_person(live_server.database, given_names="Grace", family_name=family, dob_year=1990)

    page.goto(live_server.url + "/records/crimes/new")
    expect(page.get_by_role("heading", name="Record a crime")).to_be_visible()
    # Only the chosen source's reference field shows (a script), and the offences filter as typed.
    expect(page.get_by_label("Incident reference")).to_be_hidden()
    page.get_by_label("Filter the offences by code or words").fill("pedal cycle")
    offered = page.locator("#offence_code option").evaluate_all(
        "options => options.filter(o => !o.hidden).map(o => o.value)"
    )
    assert offered == ["", "44"]
    page.get_by_test_id("offence_code").select_option("44")
    page.get_by_label("What happened, in a line").fill("bike taken from the station rack")
    page.get_by_label("Narrative").fill("D-lock cut; CCTV on platform 2")
    page.get_by_test_id("save-crime").click()

    # Opening the crime asks why (personal data), then comes back to it.
    expect(page.get_by_role("heading", name="Why do you need to look?")).to_be_visible()
    page.get_by_label("Investigating a crime").check()
    page.get_by_label("Reference or details").fill("bike theft at the station")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("notice")).to_have_text("Crime recorded.")
    expect(page.get_by_test_id("classification")).to_contain_text("Theft or unauthorised taking of a pedal cycle")
    expect(page.get_by_test_id("classification")).to_contain_text("Bicycle theft")
    expect(page.get_by_test_id("ncrs-result")).to_contain_text("Recorded within 24 hours")
    expect(page.get_by_test_id("no-victims")).to_be_visible()

    page.get_by_text("Add a victim").click()
    page.get_by_label("Person's record id").fill(victim.id)
    page.get_by_role("button", name="Add the victim").click()
    clock = page.get_by_test_id("victim-clock")
    expect(clock).to_contain_text("Next update due by the end of")
    expect(clock).to_contain_text("working day")
    expect(page.locator("article.victim h3")).to_have_text(f"{family.upper()}, Grace")
    expect(page.get_by_test_id("investigation-log")).to_contain_text("victim recorded (standard service)")
    assert page.console_log.errors == []
