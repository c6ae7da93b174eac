"""Call taking and the control room in a real browser: a call taken on the call page
appears in the control room's queue, its recommendations show, one click assigns the
top unit, the unit's marker changes status on the map as it acknowledges, arrives and is
released (no reload), and the incident closes; a second screen sees a new incident
appear; a nearby call of the same category is offered as a duplicate and joins it."""

from __future__ import annotations

import itertools
import re
import secrets
import time

import pytest
from playwright.sync_api import expect

from bluelamp.access import sessions
from bluelamp.clock import Clock
from tests.factories.access import make_user
from tests.factories.command import make_incident, person
from tests.factories.tracking import make_unit

pytestmark = pytest.mark.browser

# Each test works at its own spot in rural Staffordshire, a kilometre or more from the
# others and from the demo's stations, so that its own unit is the nearest.
_spots = itertools.count()
THRIVE = {
    "Threat": "man threatening staff with a bottle",
    "Harm": "serious injury possible",
    "Risk": "high: ongoing",
    "Investigation": "CCTV in the shop",
    "Vulnerability": "lone shop worker",
    "Engagement": "caller staying on the line",
}


def spot() -> tuple[float, float]:
    n = next(_spots)
    return round(52.715 + 0.012 * (n % 4), 5), round(-1.905 + 0.015 * (n // 4), 5)


def sign_in(live_server, context, role: str):
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
def place():
    return spot()


@pytest.fixture
def unit(live_server, place):
    """An available response car a couple of hundred metres from this test's spot."""
    call_sign = f"CR{secrets.token_hex(2).upper()}"
    made = make_unit(live_server.database, call_sign, lat=place[0] + 0.0015, lon=place[1])
    live_server.app.state.tracking.refresh_unit(made.id)
    return made


@pytest.fixture
def dispatcher(live_server, page):
    return sign_in(live_server, page.context, "dispatcher")


def open_room(page, live_server, query: str = "") -> None:
    page.goto(live_server.url + "/control" + query)
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    expect(page.locator("#control")).to_have_attribute("data-snapshot", "true")


def take_call(page, live_server, place, *, search: str, choose: str, caller: str = "Sam Caller") -> None:
    """Fill the call-taking form from the keyboard as a call handler does."""
    page.goto(live_server.url + "/control/call")
    category = page.get_by_role("combobox", name="Category")
    expect(category).to_be_focused()  # the form starts where the call starts
    category.type(search)
    expect(page.get_by_role("option", name=choose)).to_be_visible()
    category.press("Enter")
    expect(page.get_by_test_id("category-chosen")).to_contain_text(choose)
    page.get_by_label("Name").fill(caller)
    page.get_by_label("Name").press("Enter")  # moves on; never sends a half-taken call
    expect(page.get_by_label("Phone")).to_be_focused()
    page.get_by_label("Phone").fill("07700 900123")
    page.get_by_label("The caller agrees to be called back").check()
    page.get_by_label("Address or description of the place").fill("Londis, Main Road")
    page.get_by_label("Latitude").fill(str(place[0]))
    page.get_by_label("Longitude").fill(str(place[1]))
    page.get_by_label("Longitude").press("Tab")
    page.get_by_label("What is happening").fill("man threatening staff, demanding cash")
    for label, text in THRIVE.items():
        page.get_by_label(label, exact=True).fill(text)


def test_a_call_becomes_an_incident_that_is_dispatched_followed_on_the_map_and_closed(
    page, live_server, place, unit, dispatcher
):
    take_call(page, live_server, place, search="robb", choose="Robbery")
    expect(page.get_by_test_id("grade").get_by_label("1 Immediate")).to_be_checked()  # robbery's default grade
    page.get_by_test_id("create-incident").click()

    # The control room opens on the new incident.
    page.wait_for_url(re.compile(r"/control\?incident=\w+"))
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    panel = page.get_by_test_id("incident-panel")
    reference = panel.get_by_test_id("detail-reference").inner_text()
    assert reference.startswith("SP-")
    expect(page.get_by_test_id("notice")).to_have_text("Incident created.")
    row = page.get_by_test_id("queue-row").filter(has_text=reference)
    expect(row).to_be_visible()
    expect(row.locator(".category")).to_have_text("Robbery")
    expect(row.get_by_test_id("countdown")).to_have_attribute("data-state", "ok")
    expect(panel).to_contain_text("20 min: by")  # grade 1 in rural Staffordshire
    expect(row.get_by_test_id("countdown")).to_have_text(re.compile(r"^1?\d:\d\d$"))  # under 20 minutes left
    expect(panel.get_by_test_id("thrive")).to_contain_text("lone shop worker")
    expect(panel.get_by_test_id("callers")).to_contain_text("Sam Caller")
    incident_id = row.get_attribute("data-incident-id")
    expect(page.locator(f'[data-testid="incident-marker"][data-incident-id="{incident_id}"]')).to_be_visible()

    # The nearest suitable unit tops the recommendations; one click sends it.
    top = panel.get_by_test_id("recommendation").first
    expect(top).to_have_attribute("data-call-sign", unit.call_sign)
    marker = page.locator(f'[data-testid="unit-marker"][data-call-sign="{unit.call_sign}"]')
    expect(marker).to_have_attribute("data-status", "available")
    top.get_by_role("button", name=f"Assign {unit.call_sign}").click()

    assigned = panel.get_by_test_id("assigned-unit").filter(has_text=unit.call_sign)
    expect(assigned).to_have_attribute("data-step", "Assigned")
    expect(marker).to_have_attribute("data-status", "assigned")
    expect(row.locator(".incident-status")).to_have_text("Dispatched")

    assigned.get_by_role("button", name=f"{unit.call_sign} acknowledged: en route").click()
    expect(marker).to_have_attribute("data-status", "en_route")
    expect(assigned).to_have_attribute("data-step", "En route")
    assigned.get_by_role("button", name=f"{unit.call_sign} at scene").click()
    expect(marker).to_have_attribute("data-status", "at_scene")
    expect(row.get_by_test_id("countdown")).to_have_text("Attended")
    assigned.get_by_role("button", name=f"Release {unit.call_sign}").click()
    expect(marker).to_have_attribute("data-status", "available")
    expect(panel.get_by_test_id("no-units")).to_be_visible()

    panel.get_by_text("Close the incident").click()
    close = panel.get_by_test_id("close-form")
    close.get_by_label("Result").select_option(label="No trace")
    close.get_by_label("Summary").fill("offender gone on arrival; CCTV seized")
    close.get_by_test_id("close-incident").click()
    expect(panel.get_by_test_id("detail-status")).to_have_text("Closed")
    expect(panel.get_by_test_id("log")).to_contain_text("closed")
    expect(row).to_have_count(0)  # closed incidents leave the queue, and the map
    expect(page.locator(f'[data-testid="incident-marker"][data-incident-id="{incident_id}"]')).to_have_count(0)

    assert page.evaluate("() => window.stillTheSamePage") is True  # every change came without a reload
    assert page.console_log.errors == []


def test_a_second_screen_sees_a_new_incident_appear_without_reloading(page, live_server, browser, place, dispatcher):
    open_room(page, live_server)
    page.evaluate("() => { window.stillTheSamePage = true; }")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    try:
        handler_page = context.new_page()
        sign_in(live_server, context, "call_handler")
        take_call(handler_page, live_server, place, search="dangerous dog", choose="Dangerous dog", caller="Jo Walker")
        handler_page.get_by_test_id("grade").get_by_label("2 Priority").check()
        handler_page.get_by_label("What is happening").press("Control+Enter")
        expect(handler_page.get_by_test_id("incident-panel").get_by_test_id("detail-reference")).to_be_visible()
        reference = handler_page.get_by_test_id("incident-panel").get_by_test_id("detail-reference").inner_text()
    finally:
        context.close()

    row = page.get_by_test_id("queue-row").filter(has_text=reference)
    expect(row).to_be_visible()
    expect(row.locator(".category")).to_have_text("Dangerous dog")
    expect(row.locator(".grade-badge")).to_have_text("2")
    assert page.evaluate("() => window.stillTheSamePage") is True
    assert page.console_log.errors == []


def test_the_queue_fills_even_when_the_control_script_arrives_after_the_feed_could_connect(
    page, live_server, place, dispatcher
):
    """On a slow line the banner's script runs long before the room's own; the feed must
    wait for every script of the page, or the first snapshot reaches only the banner and
    the queue stays empty while the status says Live (as once happened on a loaded CI)."""
    incident = make_incident(
        live_server.database, actor=person("call_handler"), category="theft", lat=place[0], lon=place[1], grade="2"
    )

    def held_back(route):
        response = route.fetch()
        time.sleep(1.5)  # the browser goes on meanwhile: the banner's script has run
        route.fulfill(response=response)

    page.route("**/control/control.js*", held_back)
    open_room(page, live_server)
    expect(page.get_by_test_id("queue-row").filter(has_text=incident.reference)).to_be_visible()
    assert page.console_log.errors == []


def test_a_nearby_call_of_the_same_kind_is_offered_as_a_duplicate_and_joins_it(page, live_server, place, dispatcher):
    existing = make_incident(
        live_server.database, actor=person("call_handler"), category="assault", lat=place[0], lon=place[1], grade="2"
    )
    page.goto(live_server.url + "/control/call")
    category = page.get_by_role("combobox", name="Category")
    category.type("assault")
    category.press("Enter")
    page.get_by_label("Latitude").fill(str(place[0] + 0.001))
    page.get_by_label("Longitude").fill(str(place[1]))
    page.get_by_label("Longitude").press("Tab")

    suggestion = page.get_by_test_id("duplicate").filter(has_text=existing.reference)
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("111 m away")
    page.get_by_label("Name").fill("Second Caller")
    suggestion.get_by_role("button", name=f"Attach this call to {existing.reference}").click()

    expect(page.get_by_test_id("notice")).to_have_text("The call was added to this incident as another caller.")
    panel = page.get_by_test_id("incident-panel")
    expect(panel.get_by_test_id("detail-reference")).to_have_text(existing.reference)
    expect(panel.get_by_test_id("caller")).to_have_count(2)
    expect(panel.get_by_test_id("callers")).to_contain_text("Second Caller")
    assert page.console_log.errors == []


def test_a_map_click_sets_the_location(page, live_server, dispatcher):
    page.goto(live_server.url + "/control/call")
    expect(page.get_by_label("Latitude")).to_have_value("")
    page.get_by_test_id("call-map").click(position={"x": 120, "y": 140})
    expect(page.get_by_label("Latitude")).to_have_value(re.compile(r"^5[23]\.\d{5}$"))
    expect(page.get_by_label("Longitude")).to_have_value(re.compile(r"^-[12]\.\d{5}$"))
    assert page.console_log.errors == []


def test_keyboard_moves_through_the_queue_opens_and_assigns(page, live_server, place, unit, dispatcher):
    incident = make_incident(
        live_server.database, actor=person("call_handler"), category="theft", lat=place[0], lon=place[1], grade="1"
    )
    open_room(page, live_server)
    row = page.get_by_test_id("queue-row").filter(has_text=incident.reference)
    expect(row).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("shortcuts")).to_be_hidden()

    rows = page.get_by_test_id("queue-row")
    position = [r.get_attribute("data-incident-id") for r in rows.all()].index(incident.id)
    for _ in range(position + 1):
        page.keyboard.press("j")
    expect(row).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("Enter")
    panel = page.get_by_test_id("incident-panel")
    expect(panel.get_by_test_id("detail-reference")).to_have_text(incident.reference)
    expect(panel.get_by_test_id("recommendation").first).to_have_attribute("data-call-sign", unit.call_sign)
    page.keyboard.press("a")
    expect(panel.get_by_test_id("assigned-unit").filter(has_text=unit.call_sign)).to_be_visible()
    page.keyboard.press("n")
    expect(panel.locator("#note-text")).to_be_focused()
    page.keyboard.type("caller says the offender went towards the station")
    page.keyboard.press("Escape")
    expect(panel.locator("#note-text")).to_have_value("caller says the offender went towards the station")
    assert page.console_log.errors == []


def test_a_unit_withdrawn_before_arriving_leaves_a_call_back_that_is_closed_from_the_tasks(
    page, live_server, place, unit, dispatcher
):
    incident = make_incident(
        live_server.database, actor=person("call_handler"), category="theft", lat=place[0], lon=place[1], grade="2"
    )
    open_room(page, live_server, f"?incident={incident.id}")
    panel = page.get_by_test_id("incident-panel")
    panel.get_by_role("button", name=f"Assign {unit.call_sign}").click()
    assigned = panel.get_by_test_id("assigned-unit").filter(has_text=unit.call_sign)
    assigned.get_by_label(f"Why {unit.call_sign} is withdrawn before arriving").fill("sent to a fatal collision")
    assigned.get_by_role("button", name=f"Release {unit.call_sign}").click()
    expect(panel.get_by_test_id("no-units")).to_be_visible()

    # The feed tells the tasks list; the call-back owed to the caller appears.
    task = page.get_by_test_id("task").filter(has_text=incident.reference)
    expect(task).to_be_visible()
    expect(task).to_contain_text("sent to a fatal collision")
    outcome = task.get_by_label(f"Outcome of the call back task on {incident.reference}")
    outcome.fill("caller told: a unit will come later")
    task.get_by_role("button", name="Close task").click()
    expect(task).to_have_count(0)
    expect(panel.get_by_test_id("log")).to_contain_text("call back task closed: caller told")
    assert page.console_log.errors == []
