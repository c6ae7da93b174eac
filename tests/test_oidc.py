"""OpenID Connect sign-in, end to end: Bluelamp (through its HTTP interface) and a real
OpenID provider on loopback (tests/oidc_provider.py), with nothing of Bluelamp mocked."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr
from sqlalchemy import select

from bluelamp.access import service, sessions
from bluelamp.access.model import AuditEntry, User
from bluelamp.clock import FixedClock
from bluelamp.errors import Unauthenticated
from bluelamp.settings import Settings
from bluelamp.web import create_app
from bluelamp.web.auth import SESSION_COOKIE
from tests.factories.access import SYSTEM, make_user
from tests.oidc_provider import running_provider

FORCE = "staffordshire"
CLIENT_ID = "bluelamp-staffordshire"


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def oidc_settings(settings, provider) -> Settings:
    return Settings(
        database_url=settings.database_url,
        oidc_issuer=provider.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr("client-secret-for-tests"),
        oidc_force_id=FORCE,
        oidc_button_label="Sign in with Staffordshire Police account",
    )


def bluelamp(settings: Settings, db, clock) -> TestClient:
    app = create_app(settings, database=db, clock=clock, background_writer=False)
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client(oidc_settings, db, clock):
    with bluelamp(oidc_settings, db, clock) as test_client:
        yield test_client


def officer(db, *, email: str | None = None, subject: str | None = None, issuer: str | None = None) -> User:
    """A pre-provisioned dispatcher of the force, optionally already linked to a provider account."""
    user = make_user(db, "dispatcher", force_id=FORCE)
    with db.unit_of_work() as session:
        row = session.get(User, user.id)
        row.email, row.oidc_issuer, row.oidc_subject = email, issuer, subject
    return row


def start(client: TestClient, next_path: str = "/") -> str:
    """Open Bluelamp's OIDC sign-in; the provider's authorization URL it sends the browser to."""
    response = client.get("/sign-in/oidc", params={"next": next_path})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def consent(authorize_url: str, sub: str) -> str:
    """Sign in at the provider as ``sub``; the callback URL it sends the browser back to."""
    response = httpx.post(authorize_url, data={"sub": sub})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def sign_in(client: TestClient, sub: str, next_path: str = "/") -> httpx.Response:
    return client.get(consent(start(client, next_path), sub), headers={"Accept": "text/html"})


def session_user(db, response: httpx.Response, oidc_settings: Settings, clock) -> User:
    """The user behind the session cookie the response set (resolved as every request is)."""
    cookie = SimpleCookie(next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)))
    with db.read() as session:
        _, user = sessions.resolve_session(
            session, cookie[SESSION_COOKIE].value, clock=clock, policy=oidc_settings.session_policy()
        )
    return user


def signin_audit(db) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "signin").order_by(AuditEntry.seq)))


def test_a_linked_user_signs_in_and_gets_a_session_cookie(client, db, provider, oidc_settings, clock):
    user = officer(db, email="pat.jones@staffordshire.example", subject="pat-0001", issuer=provider.url)
    provider.add_user("pat-0001", email="pat.jones@staffordshire.example", email_verified=True)

    response = sign_in(client, "pat-0001", next_path="/docs")

    assert response.status_code == 303
    assert response.headers["location"] == "/docs"
    set_cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie and "samesite=lax" in session_cookie.lower()
    assert any(c.startswith("bl_oidc=") and "Max-Age=0" in c for c in set_cookie), "the pending sign-in is forgotten"
    assert session_user(db, response, oidc_settings, clock).id == user.id
    me = client.get("/api/v1/me")  # the client's cookie jar now carries the session
    assert (me.status_code, me.json()["username"], me.json()["via"]) == (200, user.username, "session")
    entry = signin_audit(db)[-1]
    assert (entry.outcome, entry.actor_user_id, json.loads(entry.detail)) == ("ok", user.id, {"method": "oidc"})


def test_signing_in_again_ends_the_session_the_browser_held_before(client, db, provider, oidc_settings, clock):
    officer(db, subject="jo-0018", issuer=provider.url)
    provider.add_user("jo-0018", email="jo@staffordshire.example", email_verified=True)
    first = sign_in(client, "jo-0018")
    old_token = SimpleCookie(next(c for c in first.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)))

    second = sign_in(client, "jo-0018")

    assert session_user(db, second, oidc_settings, clock)
    with db.read() as session, pytest.raises(Unauthenticated):
        sessions.resolve_session(
            session, old_token[SESSION_COOKIE].value, clock=clock, policy=oidc_settings.session_policy()
        )


def test_first_sign_in_links_the_user_whose_email_the_provider_verified(client, db, provider, oidc_settings, clock):
    user = officer(db, email="Sam.Khan@Staffordshire.example")
    provider.add_user("sam-0002", email="sam.khan@staffordshire.EXAMPLE", email_verified=True)

    response = sign_in(client, "sam-0002")

    assert response.status_code == 303
    assert session_user(db, response, oidc_settings, clock).id == user.id
    with db.read() as session:
        linked = session.get(User, user.id)
        assert (linked.oidc_issuer, linked.oidc_subject) == (provider.url, "sam-0002")
    # From now on the subject decides, even after the email changes at the provider.
    provider.add_user("sam-0002", email="s.khan@staffordshire.example", email_verified=True)
    assert session_user(db, sign_in(client, "sam-0002"), oidc_settings, clock).id == user.id


def test_an_email_the_provider_did_not_verify_links_nobody(client, db, provider):
    user = officer(db, email="lee.smith@staffordshire.example")
    provider.add_user("lee-0003", email="lee.smith@staffordshire.example", email_verified=False)

    response = sign_in(client, "lee-0003")

    assert response.status_code == 403
    assert "no Bluelamp account" in response.text
    with db.read() as session:
        assert session.get(User, user.id).oidc_subject is None


def test_an_unknown_user_is_refused_in_plain_words_and_audited(client, db, provider):
    officer(db, email="someone.else@staffordshire.example")
    provider.add_user("stranger-0004", email="stranger@example.org", email_verified=True)

    response = sign_in(client, "stranger-0004")

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "no Bluelamp account of this force matches stranger@example.org" in response.text
    assert "access.oidc_unknown_user" in response.text
    assert "Traceback" not in response.text
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in response.headers.get_list("set-cookie"))
    entry = signin_audit(db)[-1]
    assert (entry.outcome, entry.actor, entry.force_id) == ("failed", "stranger@example.org", FORCE)
    assert json.loads(entry.detail)["subject"] == "stranger-0004"


def test_a_user_of_another_force_is_not_linked_by_email(client, db, provider):
    other = make_user(db, "dispatcher", force_id="west-midlands")
    with db.unit_of_work() as session:
        session.get(User, other.id).email = "dual@police.example"
    provider.add_user("dual-0005", email="dual@police.example", email_verified=True)

    assert sign_in(client, "dual-0005").status_code == 403
    with db.read() as session:
        assert session.get(User, other.id).oidc_subject is None


def test_a_disabled_user_is_refused(client, db, provider):
    user = officer(db, email="kim.lowe@staffordshire.example", subject="kim-0006", issuer=provider.url)
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, FixedClock())
    provider.add_user("kim-0006", email="kim.lowe@staffordshire.example", email_verified=True)

    response = sign_in(client, "kim-0006")

    assert response.status_code == 403
    assert "your Bluelamp account is disabled" in response.text
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in response.headers.get_list("set-cookie"))
    entry = signin_audit(db)[-1]
    assert (entry.outcome, entry.actor_user_id, json.loads(entry.detail)["why"]) == (
        "failed",
        user.id,
        "account disabled",
    )


def test_a_disabled_user_found_by_email_is_neither_linked_nor_signed_in(client, db, provider):
    user = officer(db, email="ray.ward@staffordshire.example")
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, FixedClock())
    provider.add_user("ray-0007", email="ray.ward@staffordshire.example", email_verified=True)

    assert sign_in(client, "ray-0007").status_code == 403
    with db.read() as session:
        assert session.get(User, user.id).oidc_subject is None


def test_a_tampered_state_is_refused_and_audited(client, db, provider):
    officer(db, subject="ann-0008", issuer=provider.url)
    provider.add_user("ann-0008", email="ann@staffordshire.example", email_verified=True)
    callback = urlsplit(consent(start(client), "ann-0008"))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    params["state"] = params["state"][:-2] + ("xy" if not params["state"].endswith("xy") else "zz")

    response = client.get(f"{callback.path}?{urlencode(params)}", headers={"Accept": "text/html"})

    assert response.status_code == 401
    assert "expired or was tampered with" in response.text
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in response.headers.get_list("set-cookie"))
    entry = signin_audit(db)[-1]
    assert (entry.outcome, json.loads(entry.detail)["code"]) == ("failed", "access.oidc_failed")
    assert provider.token_requests == [] or provider.token_requests[-1].get("code") != params["code"]


def test_a_callback_the_browser_did_not_start_is_refused(client, db, provider, oidc_settings, clock):
    # Login CSRF: an attacker's own callback URL opened in someone else's browser.
    officer(db, subject="eve-0009", issuer=provider.url)
    provider.add_user("eve-0009", email="eve@staffordshire.example", email_verified=True)
    attackers_callback = consent(start(client), "eve-0009")

    with bluelamp(oidc_settings, db, clock) as victim:
        response = victim.get(attackers_callback, headers={"Accept": "text/html"})

    assert response.status_code == 401
    assert "was not started here" in response.text


def test_the_authorization_request_uses_pkce_s256_with_state_and_nonce(client, db, provider):
    officer(db, subject="pkce-0010", issuer=provider.url)
    provider.add_user("pkce-0010", email="pkce@staffordshire.example", email_verified=True)

    authorize_url = start(client)
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    assert authorize_url.startswith(f"{provider.url}/oauth2/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256 digest
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert set(query["scope"].split()) >= {"openid", "email"}
    assert query["state"] and query["nonce"]
    assert query["redirect_uri"] == "https://testserver/sign-in/oidc/callback"

    response = client.get(consent(authorize_url, "pkce-0010"))

    # The provider refuses the code unless the verifier hashes to the challenge, so this proves both ends.
    assert response.status_code == 303
    assert provider.token_requests[-1]["code_verifier"] not in authorize_url


def test_an_id_token_altered_after_signing_is_refused(client, db, provider):
    officer(db, subject="victim-0011", issuer=provider.url)
    provider.add_user("mallory-0012", email="mallory@example.org", email_verified=True)
    provider.forged_claims = {"sub": "victim-0011"}

    response = sign_in(client, "mallory-0012")

    assert response.status_code == 401
    assert "ID token does not verify" in response.text


def test_an_id_token_for_another_nonce_is_refused(client, db, provider, oidc_settings):
    officer(db, subject="nonce-0013", issuer=provider.url)
    provider.add_user("nonce-0013", email="nonce@staffordshire.example", email_verified=True)
    callback = consent(start(client), "nonce-0013")
    # Replace the pending sign-in with one that expects another nonce, signed with the server's own key.
    serializer = URLSafeTimedSerializer(oidc_settings.secret_key.get_secret_value(), salt="bluelamp.oidc.pending")
    pending = serializer.loads(client.cookies.get("bl_oidc"))
    client.cookies.clear()
    client.cookies.set("bl_oidc", serializer.dumps({**pending, "nonce": "another-nonce"}), domain="testserver.local")

    response = client.get(callback, headers={"Accept": "text/html"})

    assert response.status_code == 401
    assert "ID token does not verify" in response.text


def test_an_expired_id_token_is_refused(oidc_settings, db, provider):
    officer(db, subject="late-0014", issuer=provider.url)
    provider.add_user("late-0014", email="late@staffordshire.example", email_verified=True)
    clock = FixedClock()
    with bluelamp(oidc_settings, db, clock) as late:
        callback = consent(start(late), "late-0014")
        clock.current = FixedClock().now().replace(year=2100)  # the ID token lasts an hour from its issue
        response = late.get(callback, headers={"Accept": "text/html"})

    assert response.status_code == 401
    assert "ID token does not verify" in response.text


def test_a_refusal_at_the_provider_is_shown_in_plain_words(client, db, provider):
    response = httpx.post(start(client), data={"action": "deny"})
    callback = response.headers["location"]

    refused = client.get(callback, headers={"Accept": "text/html"})

    assert refused.status_code == 401
    assert "the sign-in provider did not sign you in" in refused.text


def test_with_create_users_an_unknown_verified_email_gets_a_user_without_roles(oidc_settings, db, provider, clock):
    make_user(db, "force_admin", force_id=FORCE)  # the force exists
    provider.add_user("new-0015", email="New.Starter@staffordshire.example", email_verified=True, name="New Starter")
    settings = oidc_settings.model_copy(update={"oidc_create_users": True})

    with bluelamp(settings, db, clock) as client:
        response = sign_in(client, "new-0015")

    assert response.status_code == 303
    user = session_user(db, response, settings, clock)
    assert (user.username, user.display_name, user.force_id) == (
        "new.starter@staffordshire.example",
        "New Starter",
        FORCE,
    )
    with db.read() as session:
        assert service.actor_for_user(session, user).roles == frozenset()


def test_without_create_users_nobody_is_created(client, db, provider):
    provider.add_user("new-0016", email="another.starter@staffordshire.example", email_verified=True)

    assert sign_in(client, "new-0016").status_code == 403
    with db.read() as session:
        assert session.scalars(select(User).where(User.oidc_subject == "new-0016")).first() is None


def test_the_next_page_must_be_on_this_site(client, db, provider):
    officer(db, subject="next-0017", issuer=provider.url)
    provider.add_user("next-0017", email="next@staffordshire.example", email_verified=True)

    response = sign_in(client, "next-0017", next_path="//evil.example/steal")

    assert response.headers["location"] == "/"


def test_oidc_sign_in_is_not_found_when_not_configured(settings, db, clock):
    with bluelamp(settings, db, clock) as client:
        response = client.get("/sign-in/oidc")
        callback = client.get("/sign-in/oidc/callback?code=x&state=y")

    assert response.status_code == 404
    assert response.json()["code"] == "access.oidc_not_configured"
    assert callback.status_code == 404


def test_an_unreachable_provider_is_reported_not_crashed(settings, db, clock):
    from tests.conftest import free_port

    unreachable = Settings(
        database_url=settings.database_url,
        oidc_issuer=f"http://127.0.0.1:{free_port()}",
        oidc_client_id=CLIENT_ID,
        oidc_force_id=FORCE,
    )
    with bluelamp(unreachable, db, clock) as client:
        response = client.get("/sign-in/oidc", headers={"Accept": "text/html"})

    assert response.status_code == 503
    assert "cannot be reached" in response.text


def test_the_sign_in_button_label_is_a_template_global(client, oidc_settings):
    env = client.app.state.templates.env
    assert env.globals["oidc_enabled"] is True
    assert env.globals["oidc_button_label"] == "Sign in with Staffordshire Police account"


def test_the_pending_sign_in_lasts_ten_minutes_on_the_oidc_paths_only(client):
    response = client.get("/sign-in/oidc", params={"next": "/"})
    pending = next(c for c in response.headers.get_list("set-cookie") if c.startswith("bl_oidc="))
    assert "Max-Age=600" in pending and "Path=/sign-in/oidc" in pending and "HttpOnly" in pending


@pytest.mark.parametrize("issuer", ["http://login.example/tenant/v2.0", "ftp://login.example"])
def test_an_issuer_without_https_is_refused_at_start_up(issuer):
    with pytest.raises(ValueError, match="https"):
        Settings(oidc_issuer=issuer, oidc_client_id="x", oidc_force_id=FORCE)


def test_an_issuer_without_client_or_force_is_refused_at_start_up():
    with pytest.raises(ValueError, match="BLUELAMP_OIDC_ISSUER"):
        Settings(oidc_issuer="https://login.example/tenant/v2.0")
