"""The pocket notebook on a phone (360 x 640, touch): an empty entry refused with a clear
message, an entry written and signed, another written with no connection (kept in the
outbox), and, back online, stored exactly once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from bluelamp.notebook.model import NotebookEntry
from tests.browser.test_records_search import sign_in

pytestmark = pytest.mark.browser

OFFLINE_WORDS = "Written with no signal: the suspect left towards Parliament Row."


def test_an_entry_is_signed_and_one_written_offline_is_stored_once_back_online(browser, live_server):
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
        officer = sign_in(live_server, context, "response_officer")
        page.goto(live_server.url + "/m/notebook")
        expect(page.locator("[data-list-state]")).to_contain_text("No entries")

        page.get_by_test_id("notebook-sign").tap()
        refusal = page.locator("[data-compose-message]")
        expect(refusal).to_have_text("An empty entry cannot be signed: write what you saw, heard or did first.")

        page.get_by_label("What you saw, heard and did").fill("Attended Hanley bus station: two males fighting.")
        page.get_by_test_id("notebook-sign").tap()
        expect(refusal).to_have_text("Signed as entry 1.")
        first = page.locator("[data-entries] > li").first
        expect(first).to_contain_text("Entry 1")
        expect(first).to_contain_text("Signed")

        context.set_offline(True)
        page.get_by_label("What you saw, heard and did").fill(OFFLINE_WORDS)
        page.get_by_test_id("notebook-sign").tap()
        expect(refusal).to_contain_text("Kept on this phone")
        expect(page.locator("[data-waiting] > li")).to_contain_text(OFFLINE_WORDS)

        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        newest = page.locator("[data-entries] > li").first
        expect(newest).to_contain_text(OFFLINE_WORDS, timeout=15_000)
        expect(newest).to_contain_text("Entry 2")
        expect(page.locator("[data-waiting] > li")).to_have_count(0)
        with live_server.database.read() as session:
            stored = session.scalar(
                select(func.count())
                .select_from(NotebookEntry)
                .where(NotebookEntry.owner_id == officer.id, NotebookEntry.text == OFFLINE_WORDS)
            )
        assert stored == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"
        assert failures == []
    finally:
        context.close()
