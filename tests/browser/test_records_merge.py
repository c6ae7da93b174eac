"""The merge queue in a real browser, as an intelligence analyst works it: open a likely
duplicate pair, compare the two records side by side (what differs is marked in words),
merge them into the record kept with a reason, see the merge in the recent merges, and
undo it with a reason."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bluelamp.records import person_parts
from tests.browser.test_records_search import sign_in
from tests.factories.records import make_person
from tests.factories.search_pages import add_marker, make_candidate_pair

pytestmark = pytest.mark.browser


def test_an_analyst_compares_a_pair_merges_it_with_a_reason_and_undoes_it(page, live_server):
    db = live_server.database
    kept = make_person(db, given_names="Desmond", family_name="Okafor", dob_year=1988, dob_month=11, dob_day=2)
    later = make_person(
        db,
        given_names="Des",
        family_name="Okafor",
        dob_year=1988,
        dob_month=11,
        dob_day=2,
        gender="male",
        identifiers=(person_parts.NewIdentifier("passport", "P1234567"),),
    )
    add_marker(db, later, "drugs", "supplying class A")
    candidate = make_candidate_pair(db, kept, later, weight=18.5)
    sign_in(live_server, page.context, "intelligence_analyst")

    page.goto(live_server.url + "/records/merges")
    row = page.locator(f'[data-testid="candidate"][data-candidate-id="{candidate.id}"]')
    expect(row).to_contain_text("OKAFOR, Desmond")
    expect(row).to_contain_text("OKAFOR, Des")
    expect(row).to_contain_text("18.5")
    row.get_by_test_id("compare").click()

    page.wait_for_url(re.compile(rf"/records/merges/candidates/{candidate.id}$"))
    comparison = page.get_by_test_id("comparison")
    expect(comparison.locator('[data-field="Given names"]')).to_contain_text("differs")
    expect(comparison.locator('[data-field="Warning markers"]')).to_contain_text("Drugs")
    expect(comparison.locator('[data-field="Date of birth"]')).not_to_contain_text("differs")
    expect(page.get_by_test_id("explanation")).to_contain_text("date of birth: same")

    form = page.get_by_test_id("merge-form")
    form.get_by_label("OKAFOR, Desmond (02/11/1988)", exact=False).check()
    form.get_by_test_id("merge").click()
    expect(page.get_by_test_id("merge_reason-error")).to_have_text("A reason is required.")
    form = page.get_by_test_id("merge-form")
    expect(form.get_by_label("OKAFOR, Desmond (02/11/1988)", exact=False)).to_be_checked()  # the choice is kept
    form.get_by_label("Why they are the same person").fill("same custody photograph, CU/2026/118")
    form.get_by_test_id("merge").click()

    page.wait_for_url(re.compile(r"/records/merges\?done=merged"))
    expect(page.get_by_test_id("notice")).to_contain_text("Merged.")
    expect(page.locator(f'[data-candidate-id="{candidate.id}"]')).to_have_count(0)
    recent = page.get_by_test_id("recent-merge").filter(has_text="same custody photograph, CU/2026/118")
    expect(recent).to_contain_text("OKAFOR, Desmond")
    expect(recent).to_contain_text("OKAFOR, Des")

    recent.get_by_label("Why undo it").fill("different fingerprints on file")
    recent.get_by_test_id("undo").click()
    page.wait_for_url(re.compile(r"/records/merges\?done=undone"))
    expect(page.get_by_test_id("notice")).to_contain_text("The merge was undone")
    recent = page.get_by_test_id("recent-merge").filter(has_text="same custody photograph, CU/2026/118")
    expect(recent.get_by_test_id("undone")).to_contain_text("Undone")
    expect(page.locator(f'[data-candidate-id="{candidate.id}"]')).to_have_count(1)  # back in the queue
    # The refused merge answered 422 (Chrome logs that); nothing else went wrong in the page.
    assert [e for e in page.console_log.errors if "status of 422" not in e] == []
