"""Admin and audit pages in a real browser: a force admin creates a user through the form
and finds them in the list; a data protection officer checks the chain with htmx."""

from __future__ import annotations

import itertools

import pytest

from tests.factories.access import PASSWORD, make_user

pytestmark = pytest.mark.browser

_numbers = itertools.count(1)


def sign_in(page, live_server, role: str) -> str:
    """A new user with ``role`` in the demo force, signed in through the sign-in page."""
    username = f"browser-{role.replace('_', '-')}-{next(_numbers)}"
    make_user(live_server.database, role, username=username, clearance="SECRET")
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    return username


def test_a_force_admin_creates_a_user_through_the_form_and_sees_them_in_the_list(page, live_server):
    sign_in(page, live_server, "force_admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.wait_for_url("**/admin/users")
    assert page.get_by_role("heading", level=1).inner_text() == "Users"
    page.get_by_test_id("new-user").click()
    page.get_by_label("Username").fill("pc.browser")
    page.get_by_label("Name", exact=True).fill("PC Browser Made")
    page.get_by_label("Belongs to").select_option(label="Staffordshire Police")
    page.get_by_role("checkbox", name="response officer").check()
    page.get_by_label("Clearance", exact=True).select_option("OFFICIAL-SENSITIVE")
    page.get_by_role("button", name="Create user").click()
    password = page.get_by_test_id("password-plaintext")
    assert len(password.inner_text().strip()) >= 12
    assert page.get_by_role("heading", level=1).inner_text() == "User pc.browser created"
    page.get_by_role("link", name="All users").click()
    row = page.locator('tr[data-username="pc.browser"]')
    assert row.is_visible()
    assert "PC Browser Made" in row.inner_text() and "response officer" in row.inner_text()
    assert "OFFICIAL-SENSITIVE" in row.inner_text()
    assert page.console_log.errors == []


def test_a_form_mistake_is_shown_next_to_the_field(page, live_server):
    sign_in(page, live_server, "force_admin")
    page.goto(live_server.url + "/admin/users/new")
    page.get_by_label("Username").fill("no roles")
    page.get_by_label("Name", exact=True).fill("Nobody")
    page.get_by_role("button", name="Create user").click()
    assert page.get_by_test_id("roles-error").is_visible()
    assert page.get_by_test_id("username-error").is_visible()
    assert page.get_by_label("Name", exact=True).input_value() == "Nobody"
    # Chromium logs the 422 answer to the form as a failed resource; nothing else may be logged.
    assert page.console_log.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]


def test_a_data_protection_officer_verifies_the_chain_without_leaving_the_page(page, live_server):
    sign_in(page, live_server, "data_protection_officer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    page.wait_for_url("**/audit")
    assert page.get_by_test_id("audit-entries").is_visible()
    page.get_by_test_id("verify").click()
    status = page.get_by_test_id("verify-status")
    status.wait_for()
    assert "The audit chain is intact" in status.inner_text()
    assert page.url == live_server.url + "/audit"  # htmx swapped the status in; no navigation
    assert page.console_log.errors == []
