"""The web shell: health, problem details, the error page, security headers, static assets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bluelamp.access.policy import Actor
from bluelamp.access.service import AddForce, add_force
from bluelamp.settings import Settings
from bluelamp.storage import Database
from bluelamp.web import create_app
from tests.conftest import REPO, free_port

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}

SYSTEM = Actor.system(None, "test")


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/errors/{code}"
    return body


def test_health_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": db.dialect}


def test_health_is_503_when_the_database_is_unreachable():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    app = create_app(Settings(database_url=url), database=Database.from_url(url))
    with TestClient(app) as client:
        body = assert_problem(client.get("/healthz"), 503, "unavailable")
    assert "cannot be reached" in body["detail"]


def test_unknown_api_paths_answer_problem_details(client):
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-thing"


def test_wrong_method_answers_problem_details(client):
    assert_problem(client.delete("/api/v1/forces"), 405, "method_not_allowed")


def test_unexpected_errors_answer_problem_details_without_internals(app):
    @app.get("/api/v1/boom")
    def boom():
        raise ZeroDivisionError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_problem(client.get("/api/v1/boom"), 500, "error")
    assert "secret internals" not in str(body)


def test_people_get_the_html_error_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
    assert "/errors/not_found" in response.text


def test_error_codes_have_pages(client):
    response = client.get("/errors/not_found", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "you may not see" in response.text


def test_forces_api_lists_the_platform_forces(client, db, clock):
    with db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("staffordshire", "Staffordshire Police", "SP"), clock)
    response = client.get("/api/v1/forces")
    assert response.status_code == 200
    assert response.json() == [{"id": "staffordshire", "name": "Staffordshire Police", "reference_prefix": "SP"}]


def test_home_page_shows_the_force(client, db, clock):
    with db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("staffordshire", "Staffordshire Police", "SP"), clock)
    response = client.get("/")
    assert response.status_code == 200
    assert "<title>Staffordshire Police · Bluelamp</title>" in response.text
    assert "/static/vendor/htmx/htmx.min.js" in response.text


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/forces", "/api/v1/missing"])
def test_security_headers_are_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_the_tile_server_is_allowed_for_images_only_when_configured(settings, db):
    configured = settings.model_copy(update={"tile_url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"})
    with TestClient(create_app(configured, database=db, background_writer=False)) as client:
        csp = client.get("/healthz").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://*.tiles.example.org" in csp


def test_no_inline_script_in_pages(client):
    for path in ["/", "/docs"]:
        html = client.get(path).text
        for chunk in html.split("<script")[1:]:
            assert chunk.split(">")[0].strip().startswith("src="), f"inline script on {path}"


@pytest.mark.parametrize(
    "asset",
    [
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/css/bluelamp.css",
    ],
)
def test_vendored_assets_are_served_locally(client, asset):
    assert client.get(asset).status_code == 200


def test_vendored_assets_keep_their_licences():
    vendor = REPO / "src/bluelamp/web/static/vendor"
    for folder in ["htmx", "leaflet", "swagger-ui"]:
        assert (vendor / folder / "LICENSE").stat().st_size > 100


def test_openapi_is_published(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Bluelamp"
    assert "/healthz" in spec["paths"]
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
