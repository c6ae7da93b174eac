"""The call-taking page and the control room's server-rendered parts, as a signed-in call
handler's, dispatcher's or supervisor's browser uses them: the form and its messages,
one incident however often the form is sent, duplicate suggestions and attaching a
call, the incident panel with recommendations and each dispatch step, notes, tasks,
downgrade approval and closing. (The live queue and map are tested in a real browser:
tests/browser/test_control_room.py.)"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from bluelamp.access.model import NeedToKnow
from bluelamp.command import service
from bluelamp.command.model import Incident
from bluelamp.events import Event
from tests.factories.access import csrf_from, make_user
from tests.factories.command import MANCHESTER, STAFFORD, make_incident, person, staffordshire
from tests.factories.tracking import make_unit
from tests.test_admin_pages import browser_as

THRIVE_FORM = {
    "threat": "man with a bottle",
    "harm": "serious injury possible",
    "risk": "high",
    "investigation": "CCTV at the bar",
    "vulnerability": "none known",
    "engagement": "caller on the line",
}


@pytest.fixture
def force(db):
    staffordshire(db)


@pytest.fixture
def events(app):
    """Every event the app publishes, in order."""
    seen: list[Event] = []
    app.state.bus.subscribe(seen.append)
    return seen


def signed_in(app, db, role: str, username: str | None = None) -> TestClient:
    client = browser_as(app, db, make_user(db, role, username=username))
    client.__enter__()
    return client


@pytest.fixture
def handler(app, db, force):
    client = signed_in(app, db, "call_handler")
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def dispatcher(app, db, force):
    client = signed_in(app, db, "dispatcher")
    yield client
    client.__exit__(None, None, None)


def call_form(client: TestClient, **changes) -> dict:
    """The call form as the page draws it (CSRF token and idempotency key), filled in."""
    page = client.get("/control/call")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    form = {
        "csrf_token": csrf_from(page.text),
        "idempotency_key": key,
        "source": "999",
        "category": "assault",
        "caller_name": "Sam Caller",
        "caller_phone": "07700 900123",
        "callback_consent": "yes",
        "address": "Market Square, Stafford",
        "lat": str(STAFFORD[0]),
        "lon": str(STAFFORD[1]),
        "description": "two men fighting outside the bar",
        "grade": "1",
        **THRIVE_FORM,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def opened_incident(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert urlsplit(response.headers["location"]).path == "/control"
    return query["incident"][0]


def incident_row(db, incident_id: str) -> Incident:
    with db.read() as session:
        return session.get(Incident, incident_id)


def detail(db, incident_id: str):
    with db.unit_of_work() as session:
        return service.incident_detail(session, person("supervisor"), incident_id)


def htmx(client: TestClient, path: str, data: dict | None = None):
    """What htmx sends from the control room: the CSRF header, HX-Request."""
    page = client.get("/control")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    if data is None:
        return client.get(path, headers={"HX-Request": "true"})
    return client.post(path, data=data, headers=headers, follow_redirects=False)


# ---------------------------------------------------------------- call taking


def test_the_call_form_offers_the_forces_categories_by_family_with_their_default_grades(handler):
    page = handler.get("/control/call")
    assert page.status_code == 200
    html = page.text
    for family in ("Public safety and welfare", "Crime", "Anti-social behaviour", "Transport"):
        assert f'<optgroup label="{family}">' in html
    assert '<option value="burglary_dwelling" data-family="Crime">Burglary (dwelling)</option>' in html
    assert '"robbery": "1"' in html  # the default grade the script preselects
    assert 'name="qualifiers" value="firearms"' in html
    for name in THRIVE_FORM:
        assert f'name="{name}"' in html
    assert re.search(r'name="idempotency_key" value="[^"]{8,}"', html)
    assert '<a href="/control/call" aria-current="page">Take a call</a>' in html
    assert "<script>" not in html  # the CSP forbids inline script


def test_a_complete_call_creates_the_incident_and_opens_it_in_the_control_room(db, handler, events):
    response = handler.post("/control/call", data=call_form(handler), follow_redirects=False)
    incident_id = opened_incident(response)
    incident = incident_row(db, incident_id)
    assert (incident.opening_category, incident.grade, incident.status) == ("assault", "1", "open")
    assert incident.address == "Market Square, Stafford"
    assert [e.name for e in events] == ["IncidentChanged"]
    assert events[0].data["incident_id"] == incident_id
    room = handler.get(response.headers["location"])
    assert "Incident created." in room.text
    assert f'data-open="{incident_id}"' in room.text


def test_the_same_form_sent_twice_creates_one_incident(db, handler):
    form = call_form(handler)
    first = opened_incident(handler.post("/control/call", data=form, follow_redirects=False))
    again = handler.post("/control/call", data=form, follow_redirects=False)
    second = opened_incident(again)
    assert first == second
    assert "already recorded" in handler.get(again.headers["location"]).text
    assert len(detail(db, first).calls) == 1


def test_a_call_without_location_or_thrive_comes_back_with_messages_next_to_the_fields(handler):
    form = call_form(handler, lat="", lon="", threat="", risk="", grade="")
    form["qualifiers"] = ["domestic"]
    response = handler.post("/control/call", data=form)
    assert response.status_code == 422
    html = response.text
    assert 'data-testid="location-error"' in html and "click the map" in html
    assert 'data-testid="threat-error"' in html and 'data-testid="risk-error"' in html
    assert 'data-testid="harm-error"' not in html
    # What was typed stays, including the same idempotency key.
    assert form["idempotency_key"] in html
    assert "two men fighting outside the bar" in html
    assert 'value="domestic" checked' in html


def test_coordinates_that_are_not_numbers_are_refused_by_the_form(handler):
    response = handler.post("/control/call", data=call_form(handler, lat="fifty-two"))
    assert response.status_code == 422
    assert 'data-testid="lat-error"' in response.text and "decimal degrees" in response.text


def test_a_location_outside_the_force_area_asks_for_a_reason_then_is_accepted_with_one(db, handler):
    form = call_form(handler, lat=str(MANCHESTER[0]), lon=str(MANCHESTER[1]))
    refused = handler.post("/control/call", data=form)
    assert refused.status_code == 422
    assert 'data-testid="outside-area"' in refused.text
    assert 'data-testid="outside_area_reason-error"' in refused.text
    form["outside_area_reason"] = "caller's daughter is in Stafford custody; GMP informed"
    incident_id = opened_incident(handler.post("/control/call", data=form, follow_redirects=False))
    assert incident_row(db, incident_id).outside_area_reason.startswith("caller's daughter")


def test_an_unknown_category_is_named_next_to_the_category(handler):
    response = handler.post("/control/call", data=call_form(handler, category="alien_landing"))
    assert response.status_code == 422
    assert 'data-testid="category-error"' in response.text


def test_nearby_open_incidents_of_the_category_are_offered_and_the_call_can_join_one(db, handler, clock):
    existing = make_incident(db, clock, category="assault")
    far_away = make_incident(db, clock, category="assault", lat=52.60, lon=-2.00)
    partial = handler.get(
        "/control/call/duplicates",
        params={"category": "assault", "lat": str(STAFFORD[0] + 0.0005), "lon": str(STAFFORD[1])},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200
    assert existing.reference in partial.text and far_away.reference not in partial.text
    assert f'name="attach_to" value="{existing.id}"' in partial.text
    assert "56 m away" in partial.text

    form = call_form(handler, caller_name="Second Caller", caller_phone="07700 900999", attach_to=existing.id)
    response = handler.post("/control/call", data=form, follow_redirects=False)
    assert opened_incident(response) == existing.id
    assert "added to this incident as another caller" in handler.get(response.headers["location"]).text
    callers = [c.caller_name for c in detail(db, existing.id).calls]
    assert callers == ["Sam Caller", "Second Caller"]


def test_no_suggestion_until_there_is_a_category_and_a_location(handler):
    empty = handler.get("/control/call/duplicates", params={"category": "assault", "lat": "", "lon": "-2.1"})
    assert empty.status_code == 200 and 'data-testid="duplicate"' not in empty.text
    none_near = handler.get("/control/call/duplicates", params={"category": "assault", "lat": "52.7", "lon": "-2.3"})
    assert 'data-testid="no-duplicates"' in none_near.text


def test_roles_that_cannot_create_incidents_are_refused_the_call_page(app, db, force):
    with browser_as(app, db, make_user(db, "investigator")) as client:
        assert client.get("/control/call").status_code == 403
        assert client.get("/control").status_code == 200  # investigators read incidents
        assert "Take a call" not in client.get("/control").text
    with browser_as(app, db, make_user(db, "force_admin")) as client:
        assert client.get("/control").status_code == 403


# ---------------------------------------------------------------- the control room


def test_the_control_room_page_names_categories_grades_and_statuses_for_its_script(dispatcher):
    page = dispatcher.get("/control", params={"incident": "abc123"})
    assert page.status_code == 200
    html = page.text
    assert 'data-open="abc123"' in html
    labels = json.loads(unescape(re.search(r"data-labels='([^']+)'", html).group(1)))
    assert labels["categories"]["burglary_dwelling"] == {"name": "Burglary (dwelling)", "family": "Crime"}
    assert labels["grades"]["1"] == "Immediate"
    assert labels["incident_status"]["at_scene"] == "At scene"
    assert labels["status"]["en_route"]["letter"] == "E"  # units as on the resources map
    assert "/static/control/control.js" in html and "/static/js/live.js" in html
    assert 'data-testid="emergencies"' in html  # emergencies on top, as on every staff page
    for chunk in html.split("<script")[1:]:
        assert chunk.split(">")[0].strip().startswith("src="), "inline script"


def test_the_panel_shows_thrive_callers_log_and_recommended_units(db, app, dispatcher, clock):
    incident = make_incident(db, clock, grade="1")
    near = make_unit(db, "SF701", lat=STAFFORD[0] + 0.002, lon=STAFFORD[1])
    far = make_unit(db, "SF702", lat=STAFFORD[0] + 0.05, lon=STAFFORD[1])
    for unit in (near, far):
        app.state.tracking.refresh_unit(unit.id)
    panel = htmx(dispatcher, f"/control/incidents/{incident.id}")
    assert panel.status_code == 200
    html = panel.text
    assert incident.reference in html
    assert "man with a bottle threatening door staff" in html  # THRIVE
    assert "Sam Caller" in html and "07700 900123" in html
    assert "THRIVE assessed: grade 1" in html  # the log
    calls = re.findall(r'data-testid="recommendation" data-call-sign="([^"]+)"', html)
    assert calls[:2] == ["SF701", "SF702"]
    assert re.search(r'aria-label="Assign SF701"[^>]*>|data-top aria-label="Assign SF701"', html)


def test_a_plain_visit_to_a_panel_opens_the_control_room_on_it(db, dispatcher, clock):
    incident = make_incident(db, clock)
    response = dispatcher.get(f"/control/incidents/{incident.id}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/control?incident={incident.id}"


def test_another_forces_incident_answers_like_a_missing_one(db, dispatcher, clock):
    theirs = make_incident(
        db, clock, actor=person("call_handler", force_id="west-yorkshire"), force_id="west-yorkshire"
    )
    panel = htmx(dispatcher, f"/control/incidents/{theirs.id}")
    assert panel.status_code == 404 and 'data-testid="incident-missing"' in panel.text
    assert dispatcher.get(f"/control/incidents/{theirs.id}/row").status_code == 404
    assert htmx(dispatcher, "/control/incidents/no-such-id").status_code == 404


def test_the_queue_row_of_a_visible_incident_is_its_feed_shape(db, dispatcher, clock):
    incident = make_incident(db, clock, grade="2")
    row = dispatcher.get(f"/control/incidents/{incident.id}/row", headers={"Accept": "application/json"})
    assert row.status_code == 200
    assert row.json()["reference"] == incident.reference and row.json()["grade"] == "2"


def test_a_need_to_know_incidents_row_is_served_only_to_those_on_its_access_list(db, app, force, clock):
    incident = make_incident(db, clock)
    listed = make_user(db, "dispatcher")
    with db.unit_of_work() as session:
        session.get(Incident, incident.id).need_to_know = True
        session.add(
            NeedToKnow(
                record_table="command_incident", record_id=incident.id, user_id=listed.id, granted_at=clock.now()
            )
        )
    on_list = browser_as(app, db, listed)
    off_list = browser_as(app, db, make_user(db, "dispatcher"))
    assert on_list.get(f"/control/incidents/{incident.id}/row").json()["reference"] == incident.reference
    assert off_list.get(f"/control/incidents/{incident.id}/row").status_code == 404
    assert htmx(off_list, f"/control/incidents/{incident.id}").status_code == 404


def test_assign_acknowledge_arrive_release_and_close_from_the_panel(db, app, dispatcher, clock, events):
    incident = make_incident(db, clock, grade="1")
    unit = make_unit(db, "SF711", lat=STAFFORD[0] + 0.002, lon=STAFFORD[1])
    app.state.tracking.refresh_unit(unit.id)
    base = f"/control/incidents/{incident.id}"

    assigned = htmx(dispatcher, f"{base}/assign", {"unit_id": unit.id, "rank": "1", "eta_seconds": "90"})
    assert assigned.status_code == 200, assigned.text[:2000]
    assert 'data-call-sign="SF711" data-step="Assigned"' in assigned.text
    assert app.state.tracking.index.units[unit.id].status == "assigned"  # the live index follows
    assert {"IncidentChanged", "UnitStatusChanged"} <= {e.name for e in events}

    step = htmx(dispatcher, f"{base}/units/{unit.id}/acknowledge", {})
    assert 'data-step="En route"' in step.text
    step = htmx(dispatcher, f"{base}/units/{unit.id}/arrive", {})
    assert 'data-step="At scene"' in step.text
    assert incident_row(db, incident.id).status == "at_scene"
    step = htmx(dispatcher, f"{base}/units/{unit.id}/release", {})
    assert 'data-testid="no-units"' in step.text
    assert app.state.tracking.index.units[unit.id].status == "available"

    closed = htmx(
        dispatcher,
        f"{base}/close",
        {"closing_category": "assault", "result": "no_trace", "summary": "parties gone on arrival"},
    )
    assert closed.status_code == 200, closed.text[:2000]
    assert incident_row(db, incident.id).status == "closed"
    assert 'data-testid="close-form"' not in closed.text  # nothing left to close
    changed = [e.data["what"] for e in events if e.name == "IncidentChanged"]
    assert changed[0] == "unit_assigned" and changed[-1] == "closed"


def test_refusals_come_back_in_the_panel_next_to_what_was_refused(db, app, dispatcher, clock):
    incident = make_incident(db, clock, grade="2")
    unit = make_unit(db, "SF721", lat=STAFFORD[0], lon=STAFFORD[1] + 0.003)
    off_duty = make_unit(db, "SF722", status="off_duty", lat=STAFFORD[0], lon=STAFFORD[1])
    app.state.tracking.refresh_unit(unit.id)
    base = f"/control/incidents/{incident.id}"

    refused = htmx(dispatcher, f"{base}/assign", {"unit_id": off_duty.id})
    assert refused.status_code == 409
    assert 'data-testid="assign-error"' in refused.text and "off duty" in refused.text

    htmx(dispatcher, f"{base}/assign", {"unit_id": unit.id, "rank": "1"})
    no_reason = htmx(dispatcher, f"{base}/units/{unit.id}/release", {"reason": ""})
    assert no_reason.status_code == 422
    assert f'data-testid="unit-{unit.id}-error"' in no_reason.text and "required" in no_reason.text

    withdrawn = htmx(dispatcher, f"{base}/units/{unit.id}/release", {"reason": "needed at a grade 1"})
    assert withdrawn.status_code == 200
    # Attendance changed: the caller is owed a call-back, so the incident cannot close yet.
    refused_close = htmx(
        dispatcher, f"{base}/close", {"closing_category": "assault", "result": "resolved", "summary": "x"}
    )
    assert refused_close.status_code == 409
    assert 'data-testid="close-error"' in refused_close.text and "call-back" in refused_close.text
    assert '<details class="panel-form" id="close-details" open>' in refused_close.text

    missing = htmx(dispatcher, f"{base}/close", {"closing_category": "", "result": "", "summary": ""})
    assert missing.status_code == 422
    for name in ("closing_category", "result", "summary"):
        assert f'data-field="{name}"' in missing.text


def test_a_note_goes_on_the_log(db, dispatcher, clock):
    incident = make_incident(db, clock)
    response = htmx(dispatcher, f"/control/incidents/{incident.id}/notes", {"text": "caller rang again: now quiet"})
    assert response.status_code == 200
    assert "caller rang again: now quiet" in response.text
    assert [e.text for e in detail(db, incident.id).log if e.kind == "note"] == ["caller rang again: now quiet"]
    empty = htmx(dispatcher, f"/control/incidents/{incident.id}/notes", {"text": "  "})
    assert empty.status_code == 422 and 'data-testid="note-error"' in empty.text


def test_call_back_tasks_are_listed_and_closed_with_an_outcome(db, app, dispatcher, clock):
    incident = make_incident(db, clock)
    unit = make_unit(db, "SF731", lat=STAFFORD[0], lon=STAFFORD[1])
    app.state.tracking.refresh_unit(unit.id)
    base = f"/control/incidents/{incident.id}"
    htmx(dispatcher, f"{base}/assign", {"unit_id": unit.id})
    htmx(dispatcher, f"{base}/units/{unit.id}/release", {"reason": "diverted to a fatal collision"})

    listed = htmx(dispatcher, "/control/tasks")
    task_ids = re.findall(r'data-task-id="([^"]+)" data-kind="call_back" data-incident-id="' + incident.id, listed.text)
    assert len(task_ids) == 1
    assert incident.reference in listed.text and "diverted to a fatal collision" in listed.text

    refused = htmx(dispatcher, f"/control/tasks/{task_ids[0]}/close", {"outcome": ""})
    assert refused.status_code == 422 and 'data-testid="task-error"' in refused.text
    done = htmx(dispatcher, f"/control/tasks/{task_ids[0]}/close", {"outcome": "caller told: unit on its way later"})
    assert done.status_code == 200
    assert task_ids[0] not in done.text


def test_a_downgrade_waits_for_a_supervisor_who_approves_it_in_the_panel(db, app, dispatcher, clock, force):
    incident = make_incident(db, clock, grade="2")
    lower = {**THRIVE_FORM, "grade": "3", "reason": "caller now safe at a friend's"}
    requested = htmx(dispatcher, f"/control/incidents/{incident.id}/assess", lower)
    assert requested.status_code == 200
    assert 'data-testid="downgrade-request"' in requested.text
    assert 'data-testid="approve-downgrade"' not in requested.text  # a dispatcher cannot approve
    assert incident_row(db, incident.id).grade == "2"

    supervisor = browser_as(app, db, make_user(db, "supervisor"))  # the app is already running
    panel = htmx(supervisor, f"/control/incidents/{incident.id}")
    request_id = re.search(r"/downgrades/([^\"]+)\"", panel.text).group(1)
    approved = htmx(supervisor, f"/control/incidents/{incident.id}/downgrades/{request_id}", {"decision": "approve"})
    assert approved.status_code == 200
    assert incident_row(db, incident.id).grade == "3"
    assert "downgrade to grade 3 approved" in approved.text


def test_a_call_handler_sees_the_incident_but_no_dispatch_actions(app, db, force, clock):
    incident = make_incident(db, clock)
    unit = make_unit(db, "SF741", lat=STAFFORD[0], lon=STAFFORD[1])
    app.state.tracking.refresh_unit(unit.id)
    with browser_as(app, db, make_user(db, "call_handler")) as client:
        panel = htmx(client, f"/control/incidents/{incident.id}")
        assert panel.status_code == 200 and incident.reference in panel.text
        assert 'data-action="assign"' not in panel.text
        assert 'data-testid="close-form"' not in panel.text
        assert 'id="note-form"' in panel.text  # call handlers update incidents
        refused = htmx(client, f"/control/incidents/{incident.id}/assign", {"unit_id": unit.id})
        assert refused.status_code == 403
