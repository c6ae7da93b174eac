"""Signing in and out in a real browser: the form, the session cookie Chromium keeps,
the user's name in the top bar, htmx requests carrying the CSRF token."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.factories.access import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def user(live_server):
    return make_user(live_server.database, "dispatcher", username=f"browser-{secrets.token_hex(4)}")


def sign_in_through_the_form(page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_user_signs_in_sees_their_name_and_signs_out(page, live_server, user):
    page.goto(live_server.url + "/account")
    page.wait_for_url(re.compile(r"/sign-in\?next=%2Faccount$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"

    sign_in_through_the_form(page, user.username)
    page.wait_for_url(live_server.url + "/account")
    assert page.get_by_test_id("user-name").inner_text() == user.display_name
    assert page.get_by_test_id("display-name").inner_text() == user.display_name
    [cookie] = [c for c in page.context.cookies() if c["name"] == "bl_session"]
    # Chromium keeps a Secure cookie on http://127.0.0.1: loopback counts as a secure context.
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, True, "Lax", "/")

    page.get_by_test_id("sign-out").click()
    page.wait_for_url(re.compile(r"/sign-in\?signed_out=1$"))
    assert page.get_by_test_id("notice").inner_text() == "You have signed out."
    assert not [c for c in page.context.cookies() if c["name"] == "bl_session"]
    page.goto(live_server.url + "/account")
    page.wait_for_url(re.compile(r"/sign-in\?next="))
    assert page.console_log.errors == []


def test_a_wrong_password_is_explained_next_to_the_field(page, live_server, user):
    page.goto(live_server.url + "/sign-in")
    sign_in_through_the_form(page, user.username, "not the password")
    error = page.get_by_test_id("password-error")
    error.wait_for()
    assert error.inner_text() == "Wrong username or password."
    assert page.get_by_label("Username").input_value() == user.username
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
    # Chromium logs the 401 answer to the form as a failed resource; nothing else may be logged.
    assert page.console_log.errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]


def test_htmx_requests_carry_the_csrf_token(page, live_server, user):
    page.goto(live_server.url + "/sign-in")
    sign_in_through_the_form(page, user.username)
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_test_id("greeting").inner_text().startswith(f"Hello, {user.display_name}.")
    page.wait_for_function("() => window.htmx !== undefined")
    with page.expect_response(lambda response: response.url.endswith("/sign-out")) as signed_out:
        page.evaluate("() => htmx.ajax('POST', '/sign-out', {source: document.body, swap: 'none'})")
    assert signed_out.value.status == 303  # 403 (access.csrf) without the X-CSRF-Token header
    page.goto(live_server.url + "/")
    assert page.get_by_test_id("sign-in").is_visible()
    assert page.console_log.errors == []
