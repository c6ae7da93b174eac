"""The admin pages as a signed-in force admin's browser uses them: forms with the CSRF
field, messages next to fields, passwords and tokens shown once, another force's users
answering like missing ones."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bluelamp.access import sessions
from bluelamp.access.passwords import verify_password
from bluelamp.clock import Clock
from tests.factories.access import csrf_from, make_user


def browser_as(app, db, user) -> TestClient:
    """A browser signed in as ``user`` (session made directly; the sign-in page is tested elsewhere)."""
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=Clock(), policy=sessions.SessionPolicy()
        )
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    client.cookies.set("bl_session", token)
    client.headers["Accept"] = "text/html"
    return client


@pytest.fixture
def admin(db, app):
    with browser_as(app, db, make_user(db, "force_admin", username="admin-sam")) as client:
        yield client


def form_post(client: TestClient, page_path: str, action: str, data: dict | list) -> object:
    """Open a page, then post one of its forms with the page's CSRF token, as a browser would."""
    token = csrf_from(client.get(page_path).text)
    fields: dict[str, list[str]] = {"csrf_token": [token]}
    for name, value in data.items() if isinstance(data, dict) else data:
        fields.setdefault(name, []).append(value)
    return client.post(action, data=fields, follow_redirects=False)


def user_row(db, username: str) -> dict:
    with db.read() as session:
        return dict(
            session.execute(text("SELECT * FROM access_user WHERE username = :u"), {"u": username}).mappings().one()
        )


def roles_of(db, user_id: str) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                text("SELECT role FROM access_user_role WHERE user_id = :id ORDER BY role"), {"id": user_id}
            )
        )


def test_the_list_shows_the_forces_users_and_not_another_forces(db, admin):
    mine = make_user(db, "dispatcher", "call_handler", username="mine-1")
    make_user(db, "dispatcher", username="theirs-1", force_id="west-yorkshire")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert 'data-username="mine-1"' in page.text and "theirs-1" not in page.text
    row = page.text.split('data-username="mine-1"')[1].split("</tr>")[0]
    assert "call handler" in row and "dispatcher" in row and f"/admin/users/{mine.id}" in row
    assert 'href="/admin/users/new"' in page.text


def test_the_list_filters_by_text_role_and_status(db, admin):
    make_user(db, "dispatcher", username="filter-disp")
    sup = make_user(db, "supervisor", username="filter-sup")
    assert 'data-username="filter-sup"' in admin.get("/admin/users?q=filter&role=supervisor").text
    assert 'data-username="filter-disp"' not in admin.get("/admin/users?q=filter&role=supervisor").text
    form_post(admin, f"/admin/users/{sup.id}", f"/admin/users/{sup.id}/disable", {})
    disabled = admin.get("/admin/users?q=filter&status=disabled").text
    assert 'data-username="filter-sup"' in disabled and 'data-username="filter-disp"' not in disabled


def test_creating_a_user_through_the_form_shows_the_initial_password_once(db, admin):
    response = form_post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        [
            ("username", "pc.new"),
            ("display_name", "PC New Starter"),
            ("home", "force:staffordshire"),
            ("roles", "response_officer"),
            ("roles", "call_handler"),
            ("clearance", "OFFICIAL-SENSITIVE"),
        ],
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    password = re.search(r'data-testid="password-plaintext">([^<]+)<', response.text).group(1)
    user = user_row(db, "pc.new")
    assert verify_password(user["password_hash"], password) and user["must_change_password"]
    assert user["clearance"] == "OFFICIAL-SENSITIVE" and user["force_id"] == "staffordshire"
    assert roles_of(db, user["id"]) == ["call_handler", "response_officer"]
    details = admin.get(f"/admin/users/{user['id']}")
    assert password not in details.text and "must be changed at next sign-in" in details.text
    assert 'data-username="pc.new"' in admin.get("/admin/users").text


def test_a_partner_user_is_created_in_the_forces_partner_organisation(db, admin):
    from tests.test_permission_matrix import partner_organisation

    organisation = partner_organisation(db)
    assert f'value="organisation:{organisation}"' in admin.get("/admin/users/new").text
    response = form_post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        [("username", "sw.lee"), ("display_name", "Lee"), ("home", f"organisation:{organisation}")]
        + [("roles", "partner_practitioner"), ("clearance", "OFFICIAL")],
    )
    assert response.status_code == 201
    assert user_row(db, "sw.lee")["organisation_id"] == organisation


def test_a_bad_form_comes_back_with_each_message_next_to_its_field_and_what_was_typed(db, admin):
    response = form_post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        [
            ("username", "Bad Name!"),
            ("display_name", "Kept Name"),
            ("home", "force:staffordshire"),
            ("clearance", "OFFICIAL"),
        ],
    )
    assert response.status_code == 422
    assert 'data-testid="username-error"' in response.text
    assert 'data-testid="roles-error"' in response.text and "at least one role" in response.text
    assert 'value="Kept Name"' in response.text
    assert 'data-testid="error-summary"' in response.text
    make_user(db, "dispatcher", username="taken")
    taken = form_post(
        admin,
        "/admin/users/new",
        "/admin/users/new",
        [("username", "taken"), ("display_name", "X"), ("home", "force:staffordshire"), ("roles", "dispatcher")]
        + [("clearance", "OFFICIAL")],
    )
    assert taken.status_code == 422 and "That username is taken" in taken.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(db, admin):
    target = make_user(db, "dispatcher")
    response = admin.post(f"/admin/users/{target.id}/disable", data={}, follow_redirects=False)
    assert response.status_code == 403 and "access.csrf" in response.text
    response = admin.post(f"/admin/users/{target.id}/disable", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert user_row(db, target.username)["disabled_at"] is None


def test_roles_clearance_disable_and_enable_through_the_user_page(db, admin):
    target = make_user(db, "dispatcher", username="target-1")
    page = f"/admin/users/{target.id}"
    response = form_post(admin, page, f"{page}/roles", [("roles", "supervisor"), ("roles", "dispatcher")])
    assert response.status_code == 303 and response.headers["location"] == f"{page}?done=roles"
    assert roles_of(db, target.id) == ["dispatcher", "supervisor"]
    assert "roles were changed" in admin.get(response.headers["location"]).text
    assert form_post(admin, page, f"{page}/clearance", {"clearance": "SECRET"}).status_code == 303
    assert user_row(db, "target-1")["clearance"] == "SECRET"
    assert form_post(admin, page, f"{page}/disable", {}).status_code == 303
    assert user_row(db, "target-1")["disabled_at"] is not None
    assert 'data-testid="enable"' in admin.get(page).text
    assert form_post(admin, page, f"{page}/enable", {}).status_code == 303
    assert user_row(db, "target-1")["disabled_at"] is None
    no_roles = form_post(admin, page, f"{page}/roles", {})
    assert no_roles.status_code == 422 and 'data-testid="roles-error"' in no_roles.text
    assert roles_of(db, target.id) == ["dispatcher", "supervisor"]


def test_a_password_reset_is_shown_once_and_not_cached(db, admin):
    target = make_user(db, "dispatcher")
    page = f"/admin/users/{target.id}"
    response = form_post(admin, page, f"{page}/reset-password", {})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    password = re.search(r'data-testid="password-plaintext">([^<]+)<', response.text).group(1)
    assert verify_password(user_row(db, target.username)["password_hash"], password)
    assert password not in admin.get(page).text


def test_a_token_issued_for_a_user_is_shown_once_and_can_be_revoked(db, admin):
    target = make_user(db, "supervisor")
    page = f"/admin/users/{target.id}"
    response = form_post(admin, page, f"{page}/tokens", {"name": "wallboard", "days": "30"})
    assert response.status_code == 200
    plaintext = re.search(r'data-testid="token-plaintext">([^<]+)<', response.text).group(1)
    token_id = plaintext.split("_")[1]
    listing = admin.get(page).text
    assert f'data-token-id="{token_id}"' in listing and plaintext not in listing
    revoked = form_post(admin, page, f"/admin/tokens/{token_id}/revoke", {})
    assert revoked.status_code == 303 and revoked.headers["location"] == f"{page}?done=revoked"
    row = admin.get(page).text.split(f'data-token-id="{token_id}"')[1].split("</tr>")[0]
    assert "revoked" in row
    bad = form_post(admin, page, f"{page}/tokens", {"name": "", "days": "0"})
    assert bad.status_code == 422
    assert 'data-testid="name-error"' in bad.text and 'data-testid="days-error"' in bad.text


def test_another_forces_user_page_answers_exactly_like_a_missing_one(db, admin):
    stranger = make_user(db, "dispatcher", force_id="west-yorkshire")
    missing_id = "f" * len(stranger.id)
    hidden, missing = admin.get(f"/admin/users/{stranger.id}"), admin.get(f"/admin/users/{missing_id}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(stranger.id, "<id>") == missing.text.replace(missing_id, "<id>")
    token = csrf_from(admin.get("/admin/users/new").text)
    for action in ("disable", "reset-password", "tokens"):
        response = admin.post(f"/admin/users/{stranger.id}/{action}", data={"csrf_token": token, "name": "x"})
        assert response.status_code == 404, action
    assert user_row(db, stranger.username)["disabled_at"] is None


def test_a_dispatcher_is_refused_the_admin_pages_and_does_not_see_the_link(db, app):
    with browser_as(app, db, make_user(db, "dispatcher")) as client:
        for path in ("/admin/users", "/admin/users/new", "/admin/users/x"):
            assert client.get(path).status_code == 403, path
        assert 'href="/admin/users"' not in client.get("/").text


def test_a_supervisor_reads_users_but_gets_no_forms_to_change_them(db, app):
    target = make_user(db, "dispatcher")
    with browser_as(app, db, make_user(db, "supervisor")) as client:
        assert 'href="/admin/users"' in client.get("/").text
        page = client.get(f"/admin/users/{target.id}")
        assert page.status_code == 200 and target.username in page.text
        assert "/disable" not in page.text and "/tokens" not in page.text and 'name="roles"' not in page.text
        assert 'href="/admin/users/new"' not in client.get("/admin/users").text
        assert client.get("/admin/users/new").status_code == 403


def test_a_platform_admin_sees_every_forces_users_and_can_narrow_to_one_force(db, app):
    make_user(db, "dispatcher", username="staffs-person")
    make_user(db, "dispatcher", username="yorks-person", force_id="west-yorkshire")
    with browser_as(app, db, make_user(db, "platform_admin", force_id=None)) as client:
        everyone = client.get("/admin/users").text
        assert 'data-username="staffs-person"' in everyone and 'data-username="yorks-person"' in everyone
        assert '<select id="force" name="force">' in everyone
        one = client.get("/admin/users?force=west-yorkshire").text
        assert 'data-username="yorks-person"' in one and 'data-username="staffs-person"' not in one
        assert 'value="platform"' in client.get("/admin/users/new").text
