"""The resources screens in a real browser: a position posted through /ingest/osmand
moves the unit's marker on an open map without a reload; an emergency appears on top
and is acknowledged; the units table follows status changes and sorts."""

from __future__ import annotations

import json
import secrets
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from bluelamp.access import sessions
from bluelamp.clock import Clock
from bluelamp.tracking import queries, service
from tests.factories.access import issue_token, make_user
from tests.factories.tracking import force_actor, make_unit

pytestmark = pytest.mark.browser


@pytest.fixture
def unit(live_server):
    """A fresh available unit with a phone, known to the running server."""
    database = live_server.database
    call_sign = f"BR{secrets.token_hex(2).upper()}"
    made = make_unit(database, call_sign, lat=52.80, lon=-2.10)
    with database.unit_of_work() as session:
        service.add_device(
            session, force_actor(), service.AddDevice(f"phone-{call_sign}", unit_call_sign=call_sign), Clock()
        )
    live_server.app.state.tracking.refresh_unit(made.id)
    live_server.app.state.tracking.registry.reload()
    return made


@pytest.fixture
def dispatcher(live_server, page):
    """A dispatcher signed in through a session cookie on the page's browser context."""
    user = make_user(live_server.database, "dispatcher", username=f"map-{secrets.token_hex(4)}")
    with live_server.database.unit_of_work() as session:
        token, _ = sessions.start_session(
            session,
            user,
            ip="127.0.0.1",
            user_agent="playwright",
            clock=Clock(),
            policy=live_server.settings.session_policy(),
        )
    page.context.add_cookies([{"name": "bl_session", "value": token, "url": live_server.url}])
    return user


def post_fix(live_server, unit, lat: float, lon: float, **extra) -> None:
    """A fix as the Traccar Client app sends it: a plain HTTP GET."""
    params = {"id": f"phone-{unit.call_sign}", "lat": lat, "lon": lon, "timestamp": datetime.now(UTC).isoformat()}
    with urllib.request.urlopen(f"{live_server.url}/ingest/osmand?{urlencode({**params, **extra})}") as response:
        assert response.status == 200


def open_live(page, live_server, path: str) -> None:
    page.goto(live_server.url + path)
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    if path == "/resources":
        expect(page.locator("#resources")).to_have_attribute("data-framed", "true")  # the view has settled


def test_a_posted_position_moves_the_marker_on_the_open_map(page, live_server, unit, dispatcher):
    open_live(page, live_server, "/resources")
    marker = page.locator(f'[data-testid="unit-marker"][data-call-sign="{unit.call_sign}"]')
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("data-status", "available")
    before = marker.bounding_box()

    post_fix(live_server, unit, 52.83, -2.06)

    expect(marker).to_have_attribute("data-lat", "52.83")
    after = marker.bounding_box()
    assert after["y"] < before["y"] and after["x"] > before["x"], "the marker did not move north-east on screen"
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload

    marker.click()
    details = page.get_by_test_id("unit-details")
    expect(details.locator("#details-heading")).to_have_text(unit.call_sign)
    expect(details.locator('[data-field="status"]')).to_contain_text("Available")
    expect(details.locator('[data-field="freshness"]')).to_have_text("Live")
    expect(details.locator('[data-field="crew"]')).to_have_text("No crew booked on")
    expect(details.locator('[data-field="trail"]')).to_have_text("1 fixes in the last hour")
    assert page.console_log.errors == []


def test_filters_hide_units_of_unticked_statuses(page, live_server, unit, dispatcher):
    open_live(page, live_server, "/resources")
    marker = page.locator(f'[data-testid="unit-marker"][data-call-sign="{unit.call_sign}"]')
    expect(marker).to_be_visible()
    page.get_by_test_id("filters").get_by_label("Available").uncheck()
    expect(marker).to_have_count(0)
    page.get_by_role("button", name="Show all").click()
    expect(marker).to_be_visible()
    page.get_by_test_id("filters").get_by_label("Firearms").check()  # a response car has no firearms
    expect(marker).to_have_count(0)
    assert page.console_log.errors == []


def test_an_emergency_shows_on_top_until_a_dispatcher_acknowledges_it(page, live_server, unit, dispatcher):
    open_live(page, live_server, "/resources")
    expect(page.locator(f'[data-call-sign="{unit.call_sign}"]')).to_be_visible()

    post_fix(live_server, unit, 52.81, -2.09, alarm="sos")

    banner = page.get_by_test_id("emergency").filter(has_text=unit.call_sign)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("EMERGENCY")
    expect(banner).to_contain_text("52.81000, -2.09000")
    expect(page.locator(f'[data-call-sign="{unit.call_sign}"]')).to_have_attribute("data-status", "emergency")
    banner_top = banner.bounding_box()["y"]
    assert banner_top < page.get_by_test_id("map").bounding_box()["y"]

    banner.get_by_role("button", name=f"Acknowledge the emergency of {unit.call_sign}").click()
    expect(banner).to_have_count(0)
    with live_server.database.read() as session:
        emergency = queries.open_emergency_for_unit(session, unit.id)
    assert emergency is None, "the emergency is still open in the store"
    assert page.console_log.errors == []


def test_the_units_table_follows_status_changes_and_sorts(page, live_server, unit, dispatcher):
    open_live(page, live_server, "/resources/units")
    row = page.get_by_test_id(f"unit-row-{unit.call_sign}")
    expect(row.locator('[data-cell="status"]')).to_have_text("A Available")

    token = issue_token(live_server.database, dispatcher)
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/units/{unit.id}/status",
        data=json.dumps({"status": "en_route"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    expect(row.locator('[data-cell="status"]')).to_have_text("E En route")

    header = page.get_by_role("columnheader", name="Call sign")
    expect(header).to_have_attribute("aria-sort", "ascending")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    call_signs = page.locator(".units-table tbody td.call-sign").all_inner_texts()
    assert call_signs == sorted(call_signs, reverse=True)
    assert page.console_log.errors == []
