"""The bearer-token cache: API calls skip the token lookup for a few seconds, yet a
revoked token, a disabled user, or changed roles or clearance take effect at once, also
when the change was made in another worker process (heard through the relay)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bluelamp.access import service
from bluelamp.access.model import ApiToken
from bluelamp.clock import Clock
from bluelamp.events import Event
from bluelamp.web import auth as web_auth
from tests.factories.access import SYSTEM, bearer, issue_token, make_user


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def revoke_behind_bluelamps_back(db, token: str) -> None:
    """As another process (or a person with SQL) would: no access-change signal here."""
    public = token.removeprefix("bl_").partition("_")[0]
    with db.unit_of_work() as session:
        session.connection().execute(update(ApiToken).where(ApiToken.id == public).values(revoked_at=Clock().now()))


def test_a_cached_token_is_not_looked_up_again_until_it_expires_from_the_cache(client, db, monkeypatch):
    user = make_user(db, "dispatcher")
    token = issue_token(db, user)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoke_behind_bluelamps_back(db, token)
    # Within the cache's seconds the worker has not heard of a change it was not told about...
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # ...and once they pass, it looks again and refuses.
    later = web_auth.time.monotonic() + client.app.state.settings.token_cache_seconds + 1
    monkeypatch.setattr(web_auth.time, "monotonic", lambda: later)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_revoking_a_used_token_through_bluelamp_stops_it_at_once(client, db):
    user = make_user(db, "dispatcher")
    headers = bearer(db, user)
    doomed = client.post("/api/v1/me/tokens", json={"name": "gateway", "days": 5}, headers=headers).json()
    doomed_headers = {"Authorization": f"Bearer {doomed['token']}"}
    assert client.get("/api/v1/me", headers=doomed_headers).status_code == 200  # now cached
    assert client.delete(f"/api/v1/me/tokens/{doomed['id']}", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=doomed_headers)
    assert response.status_code == 401 and response.json()["code"] == "access.token_revoked"


def test_disabling_a_user_and_changing_roles_or_clearance_apply_to_cached_tokens_at_once(client, db):
    user = make_user(db, "dispatcher", clearance="SECRET")
    headers = bearer(db, user)
    assert client.get("/api/v1/me", headers=headers).json()["roles"] == ["dispatcher"]
    with db.unit_of_work() as session:
        service.set_roles(session, SYSTEM, user.id, ["call_handler"], Clock())
    assert client.get("/api/v1/me", headers=headers).json()["roles"] == ["call_handler"]
    with db.unit_of_work() as session:
        service.set_clearance(session, SYSTEM, user.id, "OFFICIAL", Clock())
    assert client.get("/api/v1/me", headers=headers).json()["clearance"] == "OFFICIAL"
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, Clock())
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_access_change_heard_from_another_worker_empties_the_cache(client, db):
    user = make_user(db, "dispatcher")
    token = issue_token(db, user)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoke_behind_bluelamps_back(db, token)  # the other worker's change...
    client.app.state.bus.publish(Event("AccessChanged", None, {}, origin="worker-2"))  # ...and its signal
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_access_change_here_is_told_to_other_workers(client, db):
    heard: list[Event] = []
    client.app.state.bus.subscribe(heard.append)
    user = make_user(db, "dispatcher")
    with db.unit_of_work() as session:
        service.disable_user(session, SYSTEM, user.id, Clock())
    assert [e.name for e in heard if e.origin is None] == ["AccessChanged"]
