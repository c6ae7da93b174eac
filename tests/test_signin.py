"""Signing in and out through the browser forms, the session cookie, CSRF, throttling,
session expiry, changing one's password and stating a reason, over HTTP on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select

from bluelamp.access import service
from bluelamp.access.model import AuditEntry, SignInAttempt, WebSession
from bluelamp.access.sessions import token_hash
from bluelamp.clock import Clock, FixedClock
from bluelamp.errors import Denied
from bluelamp.web.auth import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Caller, signed_in
from bluelamp.web.navigation import NavItem
from tests.factories.access import PASSWORD, SYSTEM, bearer, csrf_from, make_user, sign_in

HTML = {"Accept": "text/html"}
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def overrides() -> dict:
    """Settings a test changes (parametrize ``overrides`` to set small limits)."""
    return {}


@pytest.fixture
def settings(settings, overrides):
    return settings.model_copy(update=overrides)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(current=datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def clients(app):
    """Makes browsers: https (the session cookie is Secure), from a chosen address."""
    made = []

    def make(address: str = "198.51.100.7") -> TestClient:
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False, client=(address, 50000))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(clients) -> TestClient:
    return clients()


def plant(client: TestClient, value: str) -> None:
    """Put a session cookie in the browser as if the server had set it (httpx keys
    cookies of a dotless host under ``.local``)."""
    client.cookies.set(SESSION_COOKIE, value, domain="testserver.local")


def set_cookie_headers(response, name: str) -> list[SimpleCookie]:
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            cookies.append(cookie)
    return cookies


def only_cookie(response, name: str):
    found = set_cookie_headers(response, name)
    assert len(found) == 1, f"expected one Set-Cookie for {name}, got {response.headers.get_list('set-cookie')}"
    return found[0][name]


def audit_entries(db, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["type"] == f"/errors/{code}"
    return body


def post_form(client, path: str, data: dict, *, html: bool = True):
    return client.post(path, data=data, headers=HTML if html else {}, follow_redirects=False)


# ---------------------------------------------------------------- the sign-in form and its cookies


def test_sign_in_page_sets_a_strict_short_lived_csrf_cookie_matching_its_hidden_field(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    cookie = only_cookie(response, SIGNIN_CSRF_COOKIE)
    assert cookie.value == csrf_from(response.text)
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/sign-in"
    assert 0 < int(cookie["max-age"]) <= 3600
    assert response.headers["cache-control"] == "no-store"


def test_signing_in_sets_a_secure_httponly_lax_session_cookie_and_goes_to_next(client, db):
    user = make_user(db, "dispatcher")
    response = sign_in(client, user.username, next="/account?tab=tokens")
    assert response.status_code == 303
    assert response.headers["location"] == "/account?tab=tokens"
    cookie = only_cookie(response, SESSION_COOKIE)
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert set_cookie_headers(response, SIGNIN_CSRF_COOKIE)[0][SIGNIN_CSRF_COOKIE]["max-age"] == "0"  # used up
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200
    assert f'data-testid="user-name" aria-current="page">{user.display_name}</a>' in page.text


@pytest.mark.parametrize("overrides", [{"session_cookie_secure": False}])
def test_session_cookie_drops_secure_only_when_the_setting_says_so(client, db):
    user = make_user(db)
    cookie = only_cookie(sign_in(client, user.username), SESSION_COOKIE)
    assert not cookie["secure"]
    assert cookie["httponly"]


def test_sign_in_is_audited_with_the_address(client, db):
    user = make_user(db)
    assert sign_in(client, user.username).status_code == 303
    [entry] = audit_entries(db, "signin")
    assert (entry.actor_user_id, entry.outcome, entry.ip, entry.record_id) == (user.id, "ok", "198.51.100.7", user.id)


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/account",
        "/\\evil.example",
        "javascript:alert(1)",
        "account",
        "/sign-out",
        "/sign-in?next=//evil.example",
        "/account\r\nSet-Cookie: x=1",
    ],
)
def test_sign_in_never_sends_the_browser_to_another_site(client, db, unsafe):
    user = make_user(db)
    response = sign_in(client, user.username, next=unsafe)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


# ---------------------------------------------------------------- refusals


def test_wrong_password_gives_the_same_answer_whether_or_not_the_user_exists(client, db):
    user = make_user(db)
    known = sign_in(client, user.username, "not the password")
    unknown = sign_in(client, "nobody-by-this-name", "not the password")
    for response, typed in [(known, user.username), (unknown, "nobody-by-this-name")]:
        assert response.status_code == 401
        assert SESSION_COOKIE not in response.cookies
        assert 'data-testid="password-error">Wrong username or password.</span>' in response.text
        assert f'name="username" type="text" value="{typed}"' in response.text  # what was typed stays
        assert csrf_from(response.text)  # a fresh form to try again
    failed = audit_entries(db, "signin")
    assert [(e.outcome, e.record_id, e.actor) for e in failed] == [
        ("failed", user.id, user.username),
        ("failed", None, "nobody-by-this-name"),
    ]


def test_programs_get_the_wrong_password_as_the_same_problem_json_for_any_username(client, db):
    user = make_user(db)
    bodies = []
    for username in (user.username, "nobody-by-this-name"):
        form = client.get("/sign-in")
        data = {"username": username, "password": "nope", "csrf_token": csrf_from(form.text)}
        bodies.append(assert_problem(post_form(client, "/sign-in", data, html=False), 401, "access.bad_credentials"))
    assert bodies[0] == bodies[1]
    assert bodies[0]["detail"] == "wrong username or password"


def test_disabled_user_is_refused_like_a_wrong_password_and_audited(client, db):
    user = make_user(db)
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, Clock())
    response = sign_in(client, user.username)
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    [entry] = audit_entries(db, "signin")
    assert entry.outcome == "failed" and entry.record_id == user.id and '"account disabled"' in entry.detail


@pytest.mark.parametrize("overrides", [{"signin_max_failures_per_account": 2, "signin_window_seconds": 600}])
def test_failed_sign_ins_throttle_the_account_from_any_address(clients, db):
    user, other = make_user(db), make_user(db)
    first = clients("203.0.113.1")
    assert sign_in(first, user.username, "wrong one").status_code == 401
    assert sign_in(first, user.username, "wrong two").status_code == 401
    throttled = sign_in(first, user.username)  # even the right password
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "600"
    assert "Too many failed sign-ins" in throttled.text
    assert SESSION_COOKIE not in throttled.cookies
    elsewhere = clients("203.0.113.99")
    assert sign_in(elsewhere, user.username).status_code == 429
    assert sign_in(first, other.username).status_code == 303  # the address itself is not blocked
    assert [e.outcome for e in audit_entries(db, "signin")] == ["failed"] * 4 + ["ok"]


@pytest.mark.parametrize("overrides", [{"signin_max_failures_per_address": 3, "signin_max_failures_per_account": 50}])
def test_failed_sign_ins_throttle_the_address_for_every_account(clients, db):
    user = make_user(db)
    guesser = clients("203.0.113.5")
    for name in ("alice", "bob", "carol"):
        assert sign_in(guesser, name, "guess").status_code == 401
    throttled = sign_in(guesser, user.username)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    form = guesser.get("/sign-in")
    as_program = post_form(
        guesser,
        "/sign-in",
        {"username": user.username, "password": PASSWORD, "csrf_token": csrf_from(form.text)},
        html=False,
    )
    assert_problem(as_program, 429, "access.throttled")
    assert sign_in(clients("203.0.113.6"), user.username).status_code == 303


@pytest.mark.parametrize("how", ["no cookie", "no field", "mismatch"])
def test_sign_in_without_a_matching_csrf_token_is_refused_and_audited(client, db, how):
    user = make_user(db)
    token = csrf_from(client.get("/sign-in").text)
    data = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    if how == "no cookie":
        client.cookies.clear()
    elif how == "no field":
        del data["csrf_token"]
    else:
        data["csrf_token"] = token[::-1]
    response = post_form(client, "/sign-in", data, html=False)
    assert_problem(response, 403, "access.csrf")
    assert SESSION_COOKIE not in response.cookies
    assert [(e.outcome, e.ip) for e in audit_entries(db, "csrf")] == [("denied", "198.51.100.7")]
    assert audit_entries(db, "signin") == []  # refused before the password was looked at


def test_an_expired_sign_in_form_is_shown_again_with_a_fresh_token(client, db):
    user = make_user(db)
    client.get("/sign-in")
    client.cookies.clear()  # the short-lived cookie has gone
    response = post_form(client, "/sign-in", {"username": user.username, "password": PASSWORD, "csrf_token": "old"})
    assert response.status_code == 403
    assert "The sign-in form had expired. Please sign in again." in response.text
    fresh = only_cookie(response, SIGNIN_CSRF_COOKIE).value
    assert fresh == csrf_from(response.text)
    retry = post_form(client, "/sign-in", {"username": user.username, "password": PASSWORD, "csrf_token": fresh})
    assert retry.status_code == 303


# ---------------------------------------------------------------- session fixation, forged and replayed cookies


def test_a_cookie_planted_before_sign_in_is_not_the_session_after(clients, db):
    user = make_user(db)
    victim = clients()
    plant(victim, "chosen-by-an-attacker")
    issued = only_cookie(sign_in(victim, user.username), SESSION_COOKIE).value
    assert issued != "chosen-by-an-attacker"
    assert victim.get("/api/v1/me").json()["username"] == user.username
    attacker = clients()
    plant(attacker, "chosen-by-an-attacker")
    assert_problem(attacker.get("/api/v1/me"), 401, "access.unauthenticated")


def test_every_sign_in_gets_a_new_token_and_ends_the_one_before(clients, db):
    user = make_user(db)
    browser = clients()
    first = only_cookie(sign_in(browser, user.username), SESSION_COOKIE).value
    second = only_cookie(sign_in(browser, user.username), SESSION_COOKIE).value
    assert first != second
    replay = clients()
    plant(replay, first)
    assert_problem(replay.get("/api/v1/me"), 401, "access.unauthenticated")
    assert browser.get("/api/v1/me").json()["username"] == user.username


def test_a_forged_cookie_sends_pages_to_sign_in_and_gets_401_from_the_api(client, db):
    plant(client, "forged-token-value")
    page = client.get("/account", headers=HTML, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=%2Faccount"
    api = client.get("/api/v1/me")
    assert_problem(api, 401, "access.unauthenticated")
    assert api.headers["www-authenticate"].startswith("Bearer")
    assert [e.outcome for e in audit_entries(db, "auth")] == ["failed", "failed"]


def test_a_form_posted_after_the_session_ended_signs_in_again_and_returns_to_its_page(client):
    plant(client, "long-gone")
    response = client.post(
        "/account/tokens",
        data={"name": "x"},
        headers={**HTML, "Referer": "https://testserver/account?tab=tokens"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faccount%3Ftab%3Dtokens"


def test_an_htmx_request_without_a_session_is_sent_to_sign_in_by_header(client):
    response = client.get("/account", headers={"HX-Request": "true", "HX-Current-URL": "https://testserver/"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/sign-in?next=%2F"
    api = client.get("/api/v1/me", headers={"HX-Request": "true"})
    assert_problem(api, 401, "access.unauthenticated")


def test_a_cookie_replayed_after_sign_out_is_refused(client, clients, db):
    user = make_user(db)
    token = only_cookie(sign_in(client, user.username), SESSION_COOKIE).value
    account = client.get("/account", headers=HTML)
    signed_out = post_form(client, "/sign-out", {"csrf_token": csrf_from(account.text)})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?signed_out=1"
    assert only_cookie(signed_out, SESSION_COOKIE)["max-age"] == "0"
    assert "You have signed out." in client.get(signed_out.headers["location"]).text
    replay = clients()
    plant(replay, token)
    assert_problem(replay.get("/api/v1/me"), 401, "access.unauthenticated")
    assert [e.outcome for e in audit_entries(db, "signout")] == ["ok"]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_sign_out_without_the_csrf_token_is_refused_and_audited(client, db, token):
    user = make_user(db)
    sign_in(client, user.username)
    response = post_form(client, "/sign-out", {} if token is None else {"csrf_token": token}, html=False)
    assert_problem(response, 403, "access.csrf")
    [entry] = audit_entries(db, "csrf")
    assert (entry.actor_user_id, entry.outcome) == (user.id, "denied")
    assert client.get("/api/v1/me").status_code == 200  # still signed in


def test_an_html_csrf_refusal_shows_the_error_page(client, db):
    user = make_user(db)
    sign_in(client, user.username)
    response = post_form(client, "/sign-out", {"csrf_token": "wrong"})
    assert response.status_code == 403
    assert "<code>access.csrf</code>" in response.text


# ---------------------------------------------------------------- session expiry


@pytest.mark.parametrize("overrides", [{"session_idle_minutes": 30}])
def test_a_session_left_idle_too_long_expires(client, db, clock):
    user = make_user(db)
    sign_in(client, user.username)
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert_problem(client.get("/api/v1/me"), 401, "access.session_expired")
    page = client.get("/account", headers=HTML, follow_redirects=False)
    assert page.headers["location"] == "/sign-in?next=%2Faccount"


@pytest.mark.parametrize("overrides", [{"session_idle_minutes": 30, "session_max_hours": 1}])
def test_a_session_in_constant_use_still_ends_at_its_absolute_limit(client, db, clock):
    user = make_user(db)
    sign_in(client, user.username)
    for _ in range(2):
        clock.advance(timedelta(minutes=25))
        assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=11))  # 61 minutes after sign-in, 11 after the last use
    assert_problem(client.get("/api/v1/me"), 401, "access.session_expired")


# ---------------------------------------------------------------- changing one's password


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(clients, db):
    user = make_user(db)
    here, elsewhere = clients(), clients("192.0.2.20")
    sign_in(here, user.username)
    sign_in(elsewhere, user.username)
    form = here.get("/account/password", headers=HTML)
    response = post_form(
        here,
        "/account/password",
        {
            "csrf_token": csrf_from(form.text),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account?changed=password"
    assert "Your password was changed" in here.get(response.headers["location"], headers=HTML).text
    assert here.get("/api/v1/me").status_code == 200
    assert_problem(elsewhere.get("/api/v1/me"), 401, "access.unauthenticated")
    assert sign_in(clients(), user.username, PASSWORD).status_code == 401
    assert sign_in(clients(), user.username, NEW_PASSWORD).status_code == 303
    assert [e.record_id for e in audit_entries(db, "user.change_password")] == [user.id]


def test_bad_password_changes_are_explained_next_to_each_field(client, clients, db):
    user = make_user(db)
    sign_in(client, user.username)
    form = client.get("/account/password", headers=HTML)
    response = post_form(
        client,
        "/account/password",
        {
            "csrf_token": csrf_from(form.text),
            "current_password": "not my password",
            "new_password": "short",
            "confirm_password": "different",
        },
    )
    assert response.status_code == 422
    assert 'data-testid="current_password-error">That is not your current password.' in response.text
    assert 'data-testid="new_password-error">Use at least 12 characters.' in response.text
    assert 'data-testid="confirm_password-error">The two new passwords are not the same.' in response.text
    assert sign_in(clients(), user.username).status_code == 303


def test_a_mismatched_confirmation_keeps_the_old_password(client, clients, db):
    user = make_user(db)
    sign_in(client, user.username)
    form = client.get("/account/password", headers=HTML)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "!"}
    response = post_form(client, "/account/password", {"csrf_token": csrf_from(form.text), **data}, html=False)
    body = assert_problem(response, 422, "input.invalid")
    assert body["errors"] == [{"field": "confirm_password", "message": "the two new passwords are not the same"}]
    assert sign_in(clients(), user.username).status_code == 303


def test_a_reset_password_must_be_changed_right_after_signing_in(client, db):
    user = make_user(db)
    with db.unit_of_work() as session:
        temporary = service.reset_password(session, SYSTEM, user.id, Clock())
    response = sign_in(client, user.username, temporary, next="/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/password?next=%2Faccount"
    form = client.get(response.headers["location"], headers=HTML)
    assert 'data-testid="must-change"' in form.text
    changed = post_form(
        client,
        "/account/password",
        {
            "csrf_token": csrf_from(form.text),
            "current_password": temporary,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "next": "/account",
        },
    )
    assert changed.headers["location"] == "/account"
    assert 'data-testid="must-change"' not in sign_in_and_open_password_page(client.app, user.username)


def sign_in_and_open_password_page(app, username: str) -> str:
    with TestClient(app, base_url="https://testserver") as browser:
        assert sign_in(browser, username, NEW_PASSWORD).headers["location"] == "/"
        return browser.get("/account/password", headers=HTML).text


# ---------------------------------------------------------------- the reason for looking at personal data


@pytest.fixture
def person_route(app):
    """A stand-in for a service that reads personal data: it wants a stated reason."""

    @app.get("/test/person")
    def person(caller: Caller = Depends(signed_in)):
        if not caller.actor.reason:
            raise Denied("say why you need to look at personal data first", code="access.reason_required")
        return {"reason": caller.actor.reason}

    return "/test/person"


def test_a_page_that_needs_a_reason_sends_people_to_the_prompt_and_back(client, db, person_route):
    user = make_user(db, "investigator")
    sign_in(client, user.username)
    asked = client.get(person_route + "?q=smith", headers=HTML, follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/account/reason?next=%2Ftest%2Fperson%3Fq%3Dsmith"
    prompt = client.get(asked.headers["location"], headers=HTML)
    assert "Responding to an incident" in prompt.text and "Safeguarding concern" in prompt.text
    stated = post_form(
        client,
        "/account/reason",
        {
            "csrf_token": csrf_from(prompt.text),
            "purpose": "Investigating a crime",
            "detail": "crime  SP/1234/26",
            "next": "/test/person?q=smith",
        },
    )
    assert stated.status_code == 303
    assert stated.headers["location"] == "/test/person?q=smith"
    assert client.get(person_route).json() == {"reason": "Investigating a crime: crime SP/1234/26"}
    [entry] = audit_entries(db, "reason.state")
    assert (entry.actor_user_id, entry.reason) == (user.id, "Investigating a crime: crime SP/1234/26")


@pytest.mark.parametrize("overrides", [{"reason_valid_minutes": 10}])
def test_a_stated_reason_goes_stale(client, db, clock, person_route):
    user = make_user(db, "investigator")
    sign_in(client, user.username)
    prompt = client.get("/account/reason", headers=HTML)
    data = {"csrf_token": csrf_from(prompt.text), "purpose": "Safeguarding concern", "detail": "MASH referral 77"}
    post_form(client, "/account/reason", data)
    assert client.get(person_route).status_code == 200
    clock.advance(timedelta(minutes=9))
    assert client.get(person_route).status_code == 200
    clock.advance(timedelta(minutes=1, seconds=1))
    assert_problem(client.get(person_route), 403, "access.reason_required")


def test_an_unexplained_reason_is_refused_next_to_its_fields(client, db):
    user = make_user(db, "investigator")
    sign_in(client, user.username)
    prompt = client.get("/account/reason", headers=HTML)
    response = post_form(
        client, "/account/reason", {"csrf_token": csrf_from(prompt.text), "purpose": "Curiosity", "detail": " x "}
    )
    assert response.status_code == 422
    assert 'data-testid="purpose-error">Choose why you need to look.' in response.text
    assert 'data-testid="detail-error">Give the incident or crime reference, or say briefly why.' in response.text
    assert audit_entries(db, "reason.state") == []


def test_programs_that_need_a_reason_get_problem_json_or_state_it_in_a_header(client, db, person_route):
    user = make_user(db, "investigator")
    headers = bearer(db, user)
    assert_problem(client.get(person_route, headers=headers), 403, "access.reason_required")
    stated = client.get(person_route, headers={**headers, "X-Bluelamp-Reason": "  Responding to  incident 0412 "})
    assert stated.json() == {"reason": "Responding to incident 0412"}
    assert_problem(
        client.get(person_route, headers={**headers, "X-Bluelamp-Reason": "x"}), 403, "access.reason_required"
    )


def test_an_htmx_request_that_needs_a_reason_is_redirected_by_header(client, db, person_route):
    user = make_user(db, "investigator")
    sign_in(client, user.username)
    response = client.get(
        person_route, headers={"HX-Request": "true", "HX-Current-URL": "https://testserver/people?q=smith"}
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/account/reason?next=%2Fpeople%3Fq%3Dsmith"


# ---------------------------------------------------------------- the page shell


def test_the_home_page_greets_a_signed_in_user_and_offers_sign_in_otherwise(client, db):
    anonymous = client.get("/", headers=HTML)
    assert '<a class="button" href="/sign-in">Sign in</a>' in anonymous.text
    assert 'name="csrf-token"' not in anonymous.text
    user = make_user(db)
    sign_in(client, user.username)
    page = client.get("/", headers=HTML)
    assert f"Hello, {user.display_name}." in page.text
    assert 'href="/sign-in"' not in page.text
    token = csrf_from(page.text)  # the sign-out form in the top bar
    assert f'<meta name="csrf-token" content="{token}">' in page.text
    assert 'action="/sign-out"' in page.text
    assert '<script src="https://testserver/static/js/bluelamp.js" defer></script>' in page.text


def test_a_stale_cookie_on_the_home_page_shows_it_signed_out(client, db):
    plant(client, "stale")
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert '<a class="button" href="/sign-in">Sign in</a>' in page.text


def test_the_navigation_shows_only_what_the_user_may_use(app, client, clients, db):
    app.state.templates.env.globals["nav"] = [
        *app.state.templates.env.globals["nav"],
        NavItem("Users", "/admin/users", order=500, action="user.manage"),
    ]
    assert 'href="/admin/users"' not in client.get("/", headers=HTML).text
    sign_in(client, make_user(db, "dispatcher").username)
    assert 'href="/admin/users"' not in client.get("/", headers=HTML).text
    admin = clients()
    sign_in(admin, make_user(db, "force_admin").username)
    assert 'href="/admin/users">Users</a>' in admin.get("/", headers=HTML).text
    assert ">Home</a>" in admin.get("/", headers=HTML).text  # items without an action stay for everyone


def test_only_a_hash_of_the_session_token_is_stored(client, db):
    user = make_user(db)
    token = only_cookie(sign_in(client, user.username), SESSION_COOKIE).value
    with db.read() as session:
        stored = session.scalars(select(WebSession).where(WebSession.user_id == user.id)).one()
        attempts = session.scalars(select(SignInAttempt).where(SignInAttempt.username == user.username)).all()
    assert stored.id == token_hash(token) != token
    assert [a.succeeded for a in attempts] == [True]


def test_passwords_are_stored_as_argon2id_at_rfc_9106_low_memory_parameters(cheap_password_hashes):
    # The tests' own process hashes at argon2-cffi's cheapest parameters (tests/conftest.py);
    # Bluelamp's own hasher (this fixture's value), and so every real account, uses these.
    production = cheap_password_hashes
    stored = production.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert production.verify(stored, PASSWORD)
