"""The admin API with bearer tokens: users, roles, clearance, disabling, passwords and API
tokens; a force admin sees and manages only their own force's users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bluelamp.access.passwords import verify_password
from tests.factories.access import bearer, ensure_force, make_user
from tests.test_web import assert_problem


@pytest.fixture
def api(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(db):
    """A Staffordshire force admin's headers."""
    return bearer(db, make_user(db, "force_admin"))


def password_hash(db, user_id: str) -> str:
    with db.read() as session:
        return session.scalar(text("SELECT password_hash FROM access_user WHERE id = :id"), {"id": user_id})


def refusals(db, action: str, record_id: str) -> int:
    with db.read() as session:
        return session.scalar(
            text("SELECT COUNT(*) FROM access_audit WHERE action = :a AND record_id = :r AND outcome = 'denied'"),
            {"a": action, "r": record_id},
        )


def test_a_force_admin_lists_their_forces_users_with_roles_and_not_another_forces(db, api, admin):
    mine = make_user(db, "dispatcher", "call_handler", clearance="OFFICIAL-SENSITIVE")
    theirs = make_user(db, "dispatcher", force_id="west-yorkshire")
    response = api.get("/api/v1/users", headers=admin)
    assert response.status_code == 200
    by_name = {u["username"]: u for u in response.json()}
    assert theirs.username not in by_name
    assert by_name[mine.username]["roles"] == ["call_handler", "dispatcher"]
    assert by_name[mine.username]["clearance"] == "OFFICIAL-SENSITIVE"
    assert by_name[mine.username]["force_id"] == "staffordshire"
    assert "password_hash" not in by_name[mine.username]
    # asking for another force's list gives one's own force, not theirs
    assert theirs.username not in {
        u["username"] for u in api.get("/api/v1/users?force_id=west-yorkshire", headers=admin).json()
    }


def test_a_platform_admin_lists_every_force_and_can_narrow_to_one(db, api):
    platform = bearer(db, make_user(db, "platform_admin", force_id=None))
    staffs = make_user(db, "dispatcher")
    yorks = make_user(db, "supervisor", force_id="west-yorkshire")
    everyone = {u["username"] for u in api.get("/api/v1/users", headers=platform).json()}
    assert {staffs.username, yorks.username} <= everyone
    only = api.get("/api/v1/users", params={"force_id": "west-yorkshire", "role": "supervisor"}, headers=platform)
    assert [u["username"] for u in only.json()] == [yorks.username]


def test_creating_a_user_returns_the_initial_password_once_and_they_must_change_it(db, api, admin):
    body = {
        "username": "J.Smith",
        "display_name": "PC Jo Smith",
        "roles": ["response_officer"],
        "force_id": "staffordshire",
    }
    response = api.post("/api/v1/users", json={**body, "clearance": "OFFICIAL-SENSITIVE"}, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    user = created["user"]
    assert user["username"] == "j.smith" and user["roles"] == ["response_officer"] and user["must_change_password"]
    assert verify_password(password_hash(db, user["id"]), created["initial_password"])
    again = api.get(f"/api/v1/users/{user['id']}", headers=admin)
    assert again.status_code == 200 and created["initial_password"] not in again.text
    assert_problem(api.post("/api/v1/users", json=body, headers=admin), 409, "user.exists")


def test_bad_new_users_are_problem_details_naming_each_field(db, api, admin):
    response = api.post(
        "/api/v1/users",
        json={"username": "X Y", "display_name": " ", "roles": ["chief"], "force_id": "staffordshire"},
        headers=admin,
    )
    body = assert_problem(response, 422, "input.invalid")
    assert {e["field"] for e in body["errors"]} == {"username", "display_name", "roles"}
    good = {"username": "ok", "display_name": "Ok", "roles": ["dispatcher"], "force_id": "staffordshire"}
    no_clearance = api.post("/api/v1/users", json={**good, "clearance": "TOP SECRET"}, headers=admin)
    assert assert_problem(no_clearance, 422, "input.invalid")["errors"][0]["field"] == "clearance"


def test_a_force_admin_cannot_create_users_in_another_force_or_platform_admins(db, api, admin):
    ensure_force(db, "west-yorkshire")
    other = {"username": "spy", "display_name": "Spy", "roles": ["dispatcher"], "force_id": "west-yorkshire"}
    missing = {**other, "force_id": "atlantis"}
    hidden, absent = (api.post("/api/v1/users", json=b, headers=admin) for b in (other, missing))
    assert_problem(hidden, 404, "not_found")
    assert hidden.json()["detail"] == "no force 'west-yorkshire'"
    assert absent.status_code == 404 and absent.json()["detail"] == "no force 'atlantis'"
    platform = {"username": "boss", "display_name": "Boss", "roles": ["platform_admin"]}
    assert_problem(api.post("/api/v1/users", json=platform, headers=admin), 403, "access.denied")


def test_roles_and_clearance_are_replaced_and_returned(db, api, admin):
    user = make_user(db, "dispatcher")
    response = api.put(f"/api/v1/users/{user.id}/roles", json={"roles": ["supervisor", "call_handler"]}, headers=admin)
    assert response.status_code == 200 and response.json()["roles"] == ["call_handler", "supervisor"]
    response = api.put(f"/api/v1/users/{user.id}/clearance", json={"clearance": "SECRET"}, headers=admin)
    assert response.status_code == 200 and response.json()["clearance"] == "SECRET"
    refused = api.put(f"/api/v1/users/{user.id}/roles", json={"roles": ["platform_admin"]}, headers=admin)
    assert assert_problem(refused, 422, "input.invalid")["errors"][0]["field"] == "roles"
    assert api.get(f"/api/v1/users/{user.id}", headers=admin).json()["roles"] == ["call_handler", "supervisor"]


def test_disabling_a_user_stops_their_tokens_at_once_and_enabling_restores_them(db, api, admin):
    user = make_user(db, "supervisor")
    their_token = bearer(db, user)
    assert api.get("/api/v1/users", headers=their_token).status_code == 200
    response = api.post(f"/api/v1/users/{user.id}/disable", headers=admin)
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert_problem(api.get("/api/v1/users", headers=their_token), 401, "access.token_invalid")
    assert api.post(f"/api/v1/users/{user.id}/enable", headers=admin).json()["disabled"] is False
    assert api.get("/api/v1/users", headers=their_token).status_code == 200


def test_a_password_reset_is_returned_once_and_must_be_changed(db, api, admin):
    user = make_user(db, "dispatcher")
    response = api.post(f"/api/v1/users/{user.id}/password-reset", headers=admin)
    assert response.status_code == 200
    assert verify_password(password_hash(db, user.id), response.json()["password"])
    assert api.get(f"/api/v1/users/{user.id}", headers=admin).json()["must_change_password"] is True


def test_tokens_issued_for_a_user_act_as_them_until_revoked(db, api, admin):
    user = make_user(db, "supervisor")
    issued = api.post(f"/api/v1/users/{user.id}/tokens", json={"name": "dashboard", "days": 7}, headers=admin)
    assert issued.status_code == 201, issued.text
    token = issued.json()
    theirs = {"Authorization": f"Bearer {token['token']}"}
    assert api.get("/api/v1/users", headers=theirs).status_code == 200
    listed = api.get(f"/api/v1/users/{user.id}/tokens", headers=admin).json()
    assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
    revoked = api.delete(f"/api/v1/tokens/{token['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(api.get("/api/v1/users", headers=theirs), 401, "access.token_revoked")
    too_long = api.post(f"/api/v1/users/{user.id}/tokens", json={"name": "x", "days": 999}, headers=admin)
    assert_problem(too_long, 422, "input.invalid")


def test_another_forces_user_and_token_answer_exactly_like_missing_ones_and_are_audited(db, api, admin):
    stranger = make_user(db, "dispatcher", force_id="west-yorkshire")
    their_token_id = bearer(db, stranger)["Authorization"].split("_")[1]
    missing_id = "0" * len(stranger.id)
    calls = [
        ("GET", "/api/v1/users/{id}", None),
        ("POST", "/api/v1/users/{id}/disable", None),
        ("POST", "/api/v1/users/{id}/enable", None),
        ("PUT", "/api/v1/users/{id}/roles", {"roles": ["dispatcher"]}),
        ("PUT", "/api/v1/users/{id}/clearance", {"clearance": "SECRET"}),
        ("POST", "/api/v1/users/{id}/password-reset", None),
        ("GET", "/api/v1/users/{id}/tokens", None),
        ("POST", "/api/v1/users/{id}/tokens", {"name": "x", "days": 1}),
    ]
    for method, path, body in calls:
        hidden = api.request(method, path.format(id=stranger.id), json=body, headers=admin)
        missing = api.request(method, path.format(id=missing_id), json=body, headers=admin)
        assert hidden.status_code == missing.status_code == 404, (method, path)
        assert hidden.text.replace(stranger.id, "<id>") == missing.text.replace(missing_id, "<id>"), (method, path)
    assert refusals(db, "user.read", stranger.id) == 1
    assert refusals(db, "user.disable", stranger.id) == 1
    hidden = api.delete(f"/api/v1/tokens/{their_token_id}", headers=admin)
    missing = api.delete("/api/v1/tokens/000000000000", headers=admin)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(their_token_id, "<id>") == missing.text.replace("000000000000", "<id>")
    assert refusals(db, "token.revoke", their_token_id) == 1
    with db.read() as session:
        row = session.execute(
            text("SELECT disabled_at, clearance FROM access_user WHERE id = :id"), {"id": stranger.id}
        )
        assert tuple(row.one()) == (None, "OFFICIAL")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/x"),
        ("POST", "/api/v1/users/x/disable"),
        ("PUT", "/api/v1/users/x/roles"),
        ("PUT", "/api/v1/users/x/clearance"),
        ("POST", "/api/v1/users/x/tokens"),
        ("DELETE", "/api/v1/tokens/x"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/audit/verify"),
    ],
)
def test_a_dispatcher_is_refused_every_admin_route(db, api, method, path):
    dispatcher = bearer(db, make_user(db, "dispatcher"))
    assert_problem(api.request(method, path, headers=dispatcher, json={}), 403, "access.denied")


def test_admin_routes_need_a_token_or_a_session(api):
    assert_problem(api.get("/api/v1/users"), 401, "access.unauthenticated")
    assert_problem(
        api.get("/api/v1/users", headers={"Authorization": "Bearer bl_nope_nope"}), 401, "access.token_invalid"
    )
