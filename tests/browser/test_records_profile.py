"""A person's profile in a real browser: an investigator opens it, is asked why first
and comes back to it, sees the warning markers at the top, opens the link chart, sees
the records drawn, and clicks through to a linked record; a location's point is drawn
on a map without a tile server."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import expect

from bluelamp.access import sessions
from bluelamp.clock import Clock
from tests.factories.access import make_user
from tests.factories.records_pages import make_profiled_person

pytestmark = pytest.mark.browser


def sign_in(live_server, context, role: str = "investigator"):
    """A user with ``role`` signed in through a session cookie on a browser context."""
    user = make_user(live_server.database, role, username=f"{role.replace('_', '-')}-{secrets.token_hex(4)}")
    with live_server.database.unit_of_work() as session:
        token, _ = sessions.start_session(
            session,
            user,
            ip="127.0.0.1",
            user_agent="playwright",
            clock=Clock(),
            policy=live_server.settings.session_policy(),
        )
    context.add_cookies([{"name": "bl_session", "value": token, "url": live_server.url}])
    return user


@pytest.fixture
def made(live_server):
    return make_profiled_person(live_server.database)


def state_reason(page) -> None:
    expect(page.get_by_role("heading", name="Why do you need to look?")).to_be_visible()
    page.get_by_label("Investigating a crime").check()
    page.get_by_label("Reference or details").fill("SP-CR-2026-000042")
    page.get_by_role("button", name="Continue").click()


def test_an_investigator_reads_a_profile_opens_its_chart_and_follows_a_link(live_server, page, made):
    sign_in(live_server, page.context)
    profile_url = f"{live_server.url}/records/persons/{made.person.id}"
    page.goto(profile_url)
    state_reason(page)  # no reason stated yet: asked first, then brought back
    expect(page).to_have_url(profile_url)

    expect(page.get_by_test_id("person-name")).to_have_text("O'NEILL, Dean (04/07/1990)")
    markers = page.get_by_test_id("current-markers").get_by_test_id("marker")
    expect(markers).to_have_count(2)
    expect(markers.first).to_contain_text("Weapons")
    expect(page.get_by_test_id("current-markers")).to_contain_text("assaulted door staff with a glass")
    # The markers are the first thing on the page after the name.
    boxes = [page.get_by_test_id(t).bounding_box()["y"] for t in ("markers", "identity", "addresses", "timeline")]
    assert boxes == sorted(boxes)

    page.get_by_test_id("record-actions").get_by_test_id("chart-link").click()
    chart = page.get_by_test_id("chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    nodes = page.locator("[data-testid=chart-node]")
    expect(nodes).to_have_count(int(chart.get_attribute("data-nodes")))
    # The person, the associate, the vehicle, three events, three places: 9 records at least.
    assert nodes.count() >= 9
    expect(page.locator(f'[data-testid=chart-node][data-key="person:{made.person.id}"]')).to_have_class(
        "chart-node node-person level-0 chart-root"
    )
    assert page.locator("[data-testid=chart-edge]").count() >= 8
    vehicle = page.locator(f'[data-testid=chart-node][data-key="object:{made.vehicle.id}"]')
    expect(vehicle).to_have_attribute("aria-label", "Vehicle: KX19 ABC blue Vauxhall Corsa")
    vehicle.click()

    expect(page).to_have_url(f"{live_server.url}/records/objects/{made.vehicle.id}")
    expect(page.get_by_test_id("vrm")).to_have_text("KX19 ABC")
    expect(page.get_by_test_id("links")).to_contain_text("O'NEILL, Dean")
    assert page.console_log.errors == []


def test_a_location_shows_its_point_on_a_map_without_tiles(live_server, page, made):
    sign_in(live_server, page.context)
    page.goto(f"{live_server.url}/records/locations/{made.old_home.id}")
    state_reason(page)
    expect(page.get_by_test_id("location-title")).to_have_text("2 Mill Bank, Stone, ST15 8AA")
    expect(page.get_by_test_id("location-map")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("location-pin")).to_be_visible()
    expect(page.get_by_test_id("residents")).to_contain_text("O'NEILL, Dean")
    assert page.console_log.errors == []
