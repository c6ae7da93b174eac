"""API bearer tokens for oneself: who am I, issuing (shown once, only a hash stored),
listing, revoking, expiry, and the same on the account page, over HTTP on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bluelamp.access import service
from bluelamp.access.model import ApiToken, AuditEntry
from bluelamp.access.sessions import token_hash
from bluelamp.clock import Clock, FixedClock
from bluelamp.web.auth import SESSION_COOKIE
from tests.factories.access import SYSTEM, bearer, csrf_from, issue_token, make_user, sign_in

HTML = {"Accept": "text/html"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(current=datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def client(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as test_client:
        yield test_client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "code"} <= body.keys()
    assert body["code"] == code and body["status"] == status
    return body


def audit_entries(db, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def issue(client, headers: dict, name: str = "ANPR bridge", days: int = 30):
    return client.post("/api/v1/me/tokens", json={"name": name, "days": days}, headers=headers)


# ---------------------------------------------------------------- who am I


def test_me_describes_the_token_owner(client, db):
    user = make_user(db, "investigator", "supervisor", clearance="OFFICIAL-SENSITIVE")
    response = client.get("/api/v1/me", headers=bearer(db, user))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == user.username and body["display_name"] == user.display_name
    assert body["force_id"] == "staffordshire"
    assert body["roles"] == ["investigator", "supervisor"]
    assert body["clearance"] == "OFFICIAL-SENSITIVE"
    assert body["via"] == "token" and body["reason"] is None
    assert "crime.record" in body["actions"] and "user.manage" not in body["actions"]


def test_me_works_with_the_session_cookie(client, db):
    user = make_user(db)
    sign_in(client, user.username)
    body = client.get("/api/v1/me").json()
    assert (body["username"], body["via"]) == (user.username, "session")


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer not-a-bluelamp-token", "Basic dXNlcjpwYXNz", "Bearer bl_000000000000_guess"]
)
def test_me_without_valid_credentials_is_401_problem_json(client, header):
    response = client.get("/api/v1/me", headers={} if header is None else {"Authorization": header})
    code = "access.unauthenticated" if header is None else "access.token_invalid"
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"] == 'Bearer realm="bluelamp"'


# ---------------------------------------------------------------- issuing, listing, revoking


def test_an_issued_token_is_shown_once_works_and_only_its_hash_is_stored(client, db):
    user = make_user(db)
    response = issue(client, bearer(db, user), "ANPR bridge", 7)
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    plaintext = issued["token"]
    assert plaintext.startswith(f"bl_{issued['id']}_")
    assert issued["name"] == "ANPR bridge"
    created, expires = (datetime.fromisoformat(issued[k]) for k in ("created_at", "expires_at"))
    assert expires - created == timedelta(days=7)
    assert client.get("/api/v1/me", headers=auth(plaintext)).json()["username"] == user.username

    secret = plaintext.split("_", 2)[2]
    with db.read() as session:
        row = session.get(ApiToken, issued["id"])
        entries = session.scalars(select(AuditEntry)).all()
    assert row.secret_hash == token_hash(secret)
    stored = [str(value) for value in vars(row).values()] + [f"{e.detail} {e.reason} {e.record_id}" for e in entries]
    assert not any(secret in value for value in stored), "the token's secret was stored"
    listed = client.get("/api/v1/me/tokens", headers=auth(plaintext)).json()
    assert all("token" not in item and "secret_hash" not in item for item in listed)
    assert secret not in str(listed)


def test_my_tokens_lists_only_mine_newest_first_with_when_each_was_last_used(client, db, clock):
    user, other = make_user(db), make_user(db)
    issue_token(db, other, clock=clock)
    first = issue_token(db, user, clock=clock)
    clock.advance(timedelta(minutes=10))
    second = issue(client, auth(first), "second").json()  # uses the first token
    clock.advance(timedelta(hours=1))
    listed = client.get("/api/v1/me/tokens", headers=auth(second["token"])).json()
    assert [item["name"] for item in listed] == ["second", "test"]
    used = {item["name"]: datetime.fromisoformat(item["last_used_at"]) for item in listed}
    assert used == {"second": clock.now(), "test": clock.now() - timedelta(hours=1)}
    assert [item["revoked_at"] for item in listed] == [None, None]


def test_a_revoked_token_stops_working_at_once(client, db):
    user = make_user(db)
    headers = bearer(db, user)
    doomed = issue(client, headers).json()
    response = client.delete(f"/api/v1/me/tokens/{doomed['id']}", headers=headers)
    assert response.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=auth(doomed["token"])), 401, "access.token_revoked")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    [revoked] = audit_entries(db, "token.revoke")
    assert (revoked.record_id, revoked.actor_user_id) == (doomed["id"], user.id)
    assert [(e.outcome, e.detail) for e in audit_entries(db, "auth")] == [("failed", '{"why": "access.token_revoked"}')]


def test_an_expired_token_is_refused(client, db, clock):
    user = make_user(db)
    token = issue_token(db, user, days=1, clock=clock)
    clock.advance(timedelta(hours=23, minutes=59))
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    clock.advance(timedelta(minutes=1))
    body = assert_problem(client.get("/api/v1/me", headers=auth(token)), 401, "access.token_expired")
    assert body["type"] == "/errors/access.token_expired"


def test_a_disabled_users_tokens_stop_working(client, db):
    user = make_user(db)
    headers = bearer(db, user)
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, Clock())
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "access.token_invalid")


def test_someone_elses_token_cannot_be_revoked_and_answers_like_a_missing_one(client, db):
    user = make_user(db, "force_admin")  # even a token manager: /me/tokens is one's own
    victim = make_user(db)
    victims_token = issue_token(db, victim)
    victims_id = victims_token.split("_")[1]
    headers = bearer(db, user)
    someone_elses = client.delete(f"/api/v1/me/tokens/{victims_id}", headers=headers)
    missing = client.delete("/api/v1/me/tokens/000000000000", headers=headers)
    assert_problem(someone_elses, 404, "not_found")
    assert_problem(missing, 404, "not_found")
    assert someone_elses.json()["detail"].replace(victims_id, "ID") == missing.json()["detail"].replace(
        "000000000000", "ID"
    )
    assert client.get("/api/v1/me", headers=auth(victims_token)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": " ", "days": 30}, "name"), ({"name": "x", "days": 0}, "days"), ({"name": "x", "days": 367}, "days")],
)
def test_bad_token_requests_name_the_field(client, db, body, field):
    response = client.post("/api/v1/me/tokens", json=body, headers=bearer(db, make_user(db)))
    problem = assert_problem(response, 422, "input.invalid")
    assert [error["field"] for error in problem["errors"]] == [field]


def test_cookie_calls_that_change_tokens_need_the_csrf_header(client, db):
    user = make_user(db)
    sign_in(client, user.username)
    refused = client.post("/api/v1/me/tokens", json={"name": "script", "days": 5})
    assert_problem(refused, 403, "access.csrf")
    assert [e.outcome for e in audit_entries(db, "csrf")] == ["denied"]
    csrf = csrf_from(client.get("/account", headers=HTML).text)
    allowed = client.post("/api/v1/me/tokens", json={"name": "script", "days": 5}, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 201
    revoke = client.delete(f"/api/v1/me/tokens/{allowed.json()['id']}")
    assert_problem(revoke, 403, "access.csrf")
    assert client.delete(f"/api/v1/me/tokens/{allowed.json()['id']}", headers={"X-CSRF-Token": csrf}).status_code == 204


def test_the_reason_header_is_audited_as_the_entrys_reason(client, db):
    user = make_user(db)
    headers = {**bearer(db, user), "X-Bluelamp-Reason": "Responding to an incident: SP-20260101-0042"}
    assert client.get("/api/v1/me", headers=headers).json()["reason"] == "Responding to an incident: SP-20260101-0042"
    assert issue(client, headers).status_code == 201
    [entry] = [e for e in audit_entries(db, "token.issue") if e.actor_user_id == user.id]
    assert entry.reason == "Responding to an incident: SP-20260101-0042"


# ---------------------------------------------------------------- the account page


def test_the_account_page_shows_who_i_am(client, db):
    user = make_user(db, "call_handler", "dispatcher", clearance="SECRET")
    sign_in(client, user.username)
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200
    assert f'<dd data-testid="display-name">{user.display_name}</dd>' in page.text
    assert f"<code>{user.username}</code>" in page.text
    assert "<dd>Staffordshire Police</dd>" in page.text
    assert '<span class="tag">call handler</span><span class="tag">dispatcher</span>' in page.text
    assert '<dd data-testid="clearance">SECRET</dd>' in page.text
    assert 'data-testid="no-tokens"' in page.text


def test_a_token_issued_on_the_account_page_is_shown_once_then_listed_and_revocable(client, db):
    user = make_user(db)
    sign_in(client, user.username)
    csrf = csrf_from(client.get("/account", headers=HTML).text)
    issued = client.post(
        "/account/tokens", data={"csrf_token": csrf, "name": "Duty rota sync", "days": "14"}, headers=HTML
    )
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    plaintext = issued.text.split('data-testid="token-plaintext">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers=auth(plaintext)).json()["username"] == user.username
    token_id = plaintext.split("_")[1]

    again = client.get("/account", headers=HTML).text
    assert plaintext.split("_", 2)[2] not in again  # never shown again
    assert "Duty rota sync" in again and f"<code>{token_id}</code>" in again and "active" in again

    revoked = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert revoked.status_code == 303
    page = client.get(revoked.headers["location"], headers=HTML).text
    assert f"Token {token_id} was revoked" in page
    assert f'action="/account/tokens/{token_id}/revoke"' not in page
    assert_problem(client.get("/api/v1/me", headers=auth(plaintext)), 401, "access.token_revoked")


def test_a_bad_token_form_is_shown_again_with_the_message_next_to_the_field(client, db):
    user = make_user(db)
    sign_in(client, user.username)
    csrf = csrf_from(client.get("/account", headers=HTML).text)
    response = client.post(
        "/account/tokens", data={"csrf_token": csrf, "name": "Nightly", "days": "lots"}, headers=HTML
    )
    assert response.status_code == 422
    assert 'data-testid="days-error">A token lasts from 1 to 366 days.' in response.text
    assert 'name="name" type="text" value="Nightly"' in response.text
    assert 'data-testid="token-plaintext"' not in response.text


def test_the_account_pages_need_a_session(client):
    for path in ("/account", "/account/password", "/account/reason"):
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")
    assert SESSION_COOKIE not in client.cookies
