"""The web shell in a real browser: the home page and the API documentation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_home_page_opens_with_its_title_and_no_console_errors(page, live_server):
    response = page.goto(live_server.url + "/")
    assert response.status == 200
    assert page.title() == "Staffordshire Police · Bluelamp"
    assert page.get_by_role("heading", level=1).inner_text() == "Staffordshire Police"
    assert page.get_by_test_id("forces").get_by_text("staffordshire", exact=True).is_visible()
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.console_log.errors == []


def test_api_documentation_renders_without_a_cdn(page, live_server):
    page.goto(live_server.url + "/docs")
    page.get_by_text("/api/crimes-street/{category}").first.wait_for()
    # Swagger UI draws only the operations near the viewport: scroll down to the system ones.
    for _ in range(200):
        if page.get_by_text("/healthz").count():
            break
        page.mouse.wheel(0, 800)
        page.wait_for_timeout(50)
    page.get_by_text("/healthz").first.wait_for()
    assert page.console_log.errors == []


def test_a_missing_page_shows_the_error_page(page, live_server):
    response = page.goto(live_server.url + "/no/such/page")
    assert response.status == 404
    assert page.get_by_role("alert").get_by_text("Not found").is_visible()
