"""The officer app on a phone (360 x 640, touch): a job sent from the control room arrives
live, one tap moves the unit, and with the connection gone a status change and an update
wait on the phone (the count in the header), the last assignment stays readable, and when
the connection returns each is applied exactly once."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bluelamp.access import sessions
from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.command.model import Incident, LogEntry
from bluelamp.notebook.model import NotebookEntry
from bluelamp.records import person_parts
from bluelamp.records.person_parts import NewMarker
from bluelamp.tracking.model import Emergency, Position
from tests.conftest import REPO, ConsoleLog
from tests.factories.access import bearer, make_user
from tests.factories.command import make_incident
from tests.factories.records import make_person
from tests.test_mobile_work import officer_on_duty

pytestmark = pytest.mark.browser

OFFLINE_ENTRY = "Written with no signal: both males taken to Hanley police station."
# True once the service worker keeps /m (polled: a promise is not awaited by wait_for_function).
KEPT_OFFLINE = (
    "() => { caches.match('/m').then((kept) => { window.keptOffline = Boolean(kept); }); return window.keptOffline; }"
)


@pytest.fixture
def phone(browser, request):
    """A phone-sized touch browser."""
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    page.console_log = ConsoleLog()
    page.on("console", lambda message: page.console_log.messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: page.console_log.messages.append(("pageerror", str(error))))
    yield page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"))
    context.close()


def signed_in(live_server, page, user) -> None:
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


def log_of(live_server, incident) -> list[LogEntry]:
    with live_server.database.read() as session:
        return list(session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id).order_by(LogEntry.id)))


def test_a_job_arrives_live_and_changes_made_offline_are_applied_once_when_back_online(live_server, phone):
    db = live_server.database
    officer = officer_on_duty(db)
    person = make_person(db, given_names="Lyle", family_name="Quarrendon", dob_year=1990, dob_month=5, dob_day=17)
    with db.unit_of_work() as session:
        person_parts.add_marker(
            session, Actor.system("staffordshire", "test"), person.id, NewMarker("violent", "x"), Clock()
        )
    live_server.app.state.tracking.refresh_unit(officer.unit.id)
    signed_in(live_server, phone, officer.user)
    phone.goto(live_server.url + "/m")
    expect(phone.get_by_test_id("no-assignment")).to_be_visible()
    expect(phone.get_by_test_id("connection")).to_have_text("Live")
    # The worker keeps the app for offline use once it controls the page.
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")
    phone.wait_for_function(KEPT_OFFLINE)

    # The control room sends the unit, through the API, while the page is open.
    incident = make_incident(db, address="Market Square, Stafford", description="fight outside the bar")
    sent = httpx.post(
        f"{live_server.url}/api/v1/incidents/{incident.id}/assignments",
        json={"unit_id": officer.unit.id},
        headers=bearer(db, make_user(db, "dispatcher")),
    )
    assert sent.status_code == 201, sent.text
    assignment = phone.get_by_test_id("assignment")
    expect(assignment).to_contain_text(incident.reference)
    expect(assignment).to_contain_text("Market Square, Stafford")
    expect(phone.get_by_test_id("unit-status")).to_have_text("Assigned")
    expect(phone.get_by_test_id("callers")).to_contain_text("07700 900123")

    phone.get_by_test_id("status-en_route").tap()
    expect(phone.get_by_test_id("status-message")).to_contain_text("En route at")
    expect(phone.get_by_test_id("unit-status")).to_have_text("En route")

    # At the scene: a person check (the checks page), and a notebook entry written and signed.
    phone.goto(live_server.url + "/m/checks")
    phone.wait_for_function("() => window.htmx !== undefined")
    phone.get_by_label("Family name").fill("Quarrendon")
    phone.get_by_label("Given names").fill("Lyle")
    phone.get_by_label("Date of birth").fill("1990")
    phone.get_by_text("Stop in the street", exact=True).tap()
    phone.get_by_test_id("run-check").tap()
    match = phone.get_by_test_id("match").first
    expect(match).to_contain_text("QUARRENDON, Lyle")
    expect(match.get_by_test_id("marker")).to_have_text("!Violent")
    phone.goto(live_server.url + "/m/notebook")
    phone.get_by_label("What you saw, heard and did").fill("Arrived at Market Square: two males fighting.")
    phone.get_by_test_id("notebook-sign").tap()
    expect(phone.locator("[data-compose-message]")).to_have_text("Signed as entry 1.")
    phone.goto(live_server.url + "/m")

    # No connection: a status change and an update wait on the phone.
    phone.context.set_offline(True)
    expect(phone.get_by_test_id("connection")).to_have_text("Offline")
    phone.get_by_test_id("status-at_scene").tap()
    expect(phone.get_by_test_id("status-message")).to_contain_text("No connection")
    phone.get_by_label("What is happening").fill("two males detained, one injured")
    phone.get_by_role("button", name="Add to the incident log").tap()
    expect(phone.get_by_test_id("update-message")).to_contain_text("No connection: saved on this phone")
    expect(phone.get_by_test_id("outbox")).to_have_text("2 waiting to send")
    phone.goto(live_server.url + "/m/notebook")  # kept on the phone: opened while online
    phone.get_by_label("What you saw, heard and did").fill(OFFLINE_ENTRY)
    phone.get_by_test_id("notebook-sign").tap()
    expect(phone.locator("[data-compose-message]")).to_contain_text("Kept on this phone")
    expect(phone.get_by_test_id("outbox")).to_have_text("3 waiting to send")
    # The last assignment stays readable offline, and so does what waits.
    phone.goto(live_server.url + "/m")
    expect(phone.get_by_test_id("assignment")).to_contain_text(incident.reference)
    phone.goto(live_server.url + "/m/outbox")
    items = phone.get_by_test_id("outbox-item")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text(f"Status: At scene ({incident.reference})")
    expect(items.nth(1)).to_contain_text("two males detained, one injured")

    # Back online: sent in order, each applied once.
    phone.context.set_offline(False)
    phone.goto(live_server.url + "/m")
    expect(phone.get_by_test_id("outbox")).to_be_hidden()
    expect(phone.get_by_test_id("unit-status")).to_have_text("At scene")
    expect(phone.get_by_test_id("log")).to_contain_text("two males detained, one injured")
    entries = log_of(live_server, incident)
    assert [e.text for e in entries if e.kind == "note"] == ["two males detained, one injured"]
    assert len([e for e in entries if e.kind == "arrived"]) == 1
    with db.read() as session:
        assert session.get(Incident, incident.id).status == "at_scene"
        entries = session.scalars(select(NotebookEntry.text).where(NotebookEntry.owner_id == officer.user.id)).all()
    assert sorted(entries) == sorted(["Arrived at Market Square: two males fighting.", OFFLINE_ENTRY])
    # (The browser logs the requests that failed while offline; no script failed.)
    assert [text for kind, text in phone.console_log.messages if kind == "pageerror"] == []
    assert [e for e in phone.console_log.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_location_is_shared_only_after_consent_and_the_emergency_needs_a_two_second_hold(live_server, phone):
    db = live_server.database
    officer = officer_on_duty(db)
    live_server.app.state.tracking.refresh_unit(officer.unit.id)
    signed_in(live_server, phone, officer.user)
    phone.context.grant_permissions(["geolocation"], origin=live_server.url)
    phone.context.set_geolocation({"latitude": 52.8072, "longitude": -2.1163, "accuracy": 9})
    phone.goto(live_server.url + "/m")

    # Consent first: what is shared, when, with whom; nothing is sent before it.
    expect(phone.get_by_test_id("sharing-state")).to_have_text("Off")
    phone.get_by_test_id("sharing-start").tap()
    consent = phone.get_by_test_id("consent")
    expect(consent).to_contain_text("only while you are on duty")
    expect(consent).to_contain_text("your force's control room and supervisors")
    phone.get_by_test_id("consent-yes").tap()
    expect(phone.get_by_test_id("sharing-state")).to_have_text(re.compile(r"^On: sharing every 30 s"))
    expect(phone.get_by_test_id("sharing-state")).to_have_attribute("data-on", "true")
    expect(phone.get_by_test_id("sharing-detail")).to_contain_text("Last sent at")
    live_server.app.state.tracking.writer.flush()
    with db.read() as session:
        fixes = session.scalars(select(Position).where(Position.device_id == officer.phone)).all()
    assert [(f.lat, f.lon) for f in fixes][:1] == [(52.8072, -2.1163)]
    # Remembered on this phone: the next visit shares without asking again.
    phone.reload()
    expect(phone.get_by_test_id("sharing-state")).to_have_attribute("data-on", "true")

    # A tap is not enough: it only says how to send an emergency.
    sos = phone.get_by_test_id("emergency-button")
    sos.tap()
    expect(phone.locator("[data-emergency-hint]")).to_contain_text("Press and hold SOS for 2 seconds")
    with db.read() as session:
        assert session.scalars(select(Emergency).where(Emergency.unit_id == officer.unit.id)).all() == []

    # Held (here from the keyboard), it sends the emergency with the phone's position.
    sos.focus()
    phone.keyboard.down(" ")
    expect(phone.get_by_test_id("emergency-status")).to_contain_text("EMERGENCY SENT", timeout=10000)
    phone.keyboard.up(" ")
    expect(phone.get_by_test_id("emergency-status")).to_contain_text("52.80720, -2.11630")
    with db.read() as session:
        raised = session.scalars(select(Emergency).where(Emergency.unit_id == officer.unit.id)).all()
    assert [(e.source, e.lat, e.lon, e.device_id) for e in raised] == [("app", 52.8072, -2.1163, officer.phone)]
    expect(phone.get_by_test_id("emergency-open")).to_be_visible()
