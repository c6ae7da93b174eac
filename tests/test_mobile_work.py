"""The officer app's work over HTTP, as the phone uses it: my work shows the unit's
assignment with what the officer needs on the way (THRIVE, the caller, warning markers of
the persons around it, previous incidents at the place); one tap moves the unit and its
incident, once per Idempotency-Key; a status the assignment no longer allows is refused in
words; backup requests reach the control room's tasks; the emergency button raises an
emergency with the phone's position; the phone's positions land in tracking; nothing of
another force ever shows. Also the shell: sign-in first, the manifest and the service worker."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bluelamp.clock import Clock
from bluelamp.command.model import Incident, LogEntry
from bluelamp.records.person_parts import NewAddress, NewMarker
from bluelamp.tracking import service as tracking
from bluelamp.tracking.model import Position, Unit
from tests.factories.access import bearer, make_user
from tests.factories.command import STAFFORD, make_incident, send_unit
from tests.factories.records import make_event, make_link, make_location, make_person
from tests.factories.tracking import force_actor, make_unit

PROBLEM = "application/problem+json"
_collars = itertools.count(7001)
# About 30 m north of the incident in Stafford's Market Square; and 600 m away.
NEXT_DOOR = (STAFFORD[0] + 0.00027, STAFFORD[1])
FAR = (STAFFORD[0] + 0.0054, STAFFORD[1])


@dataclass
class At(Clock):
    """A clock standing at one moment (ids as the real clock's: unique across clocks)."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class OnDuty:
    """A response officer who signs in, crews a unit now and carries a registered phone."""

    user: object
    unit: Unit
    collar: str
    phone: str
    headers: dict


def officer_on_duty(db, *, force_id: str = "staffordshire", name: str = "Dan Whitmore", booked: bool = True) -> OnDuty:
    """A response officer (user, officer record, phone) booked on a new unit near Stafford
    for the next eight hours (``booked=False``: not on duty)."""
    user = make_user(db, "response_officer", force_id=force_id)
    unit = make_unit(db, force_id=force_id, lat=STAFFORD[0] + 0.01, lon=STAFFORD[1])
    collar = str(next(_collars))
    actor, clock = force_actor(force_id), Clock()
    now = clock.now()
    with db.unit_of_work() as session:
        tracking.add_officer(session, actor, tracking.AddOfficer(collar, name, user_id=user.id), clock)
        tracking.add_device(
            session, actor, tracking.AddDevice(f"phone-{collar}", "phone", officer_collar=collar), clock
        )
        if booked:
            tracking.book_on(
                session, actor, unit.id, [collar], now - timedelta(hours=1), now + timedelta(hours=8), clock
            )
    return OnDuty(user, unit, collar, f"phone-{collar}", bearer(db, user))


@pytest.fixture
def api(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def events(app):
    seen = []
    app.state.bus.subscribe(seen.append)
    return seen


@pytest.fixture
def dispatcher(db):
    return bearer(db, make_user(db, "dispatcher"))


def dispatch(api, app, incident, unit, dispatcher) -> None:
    """The control room sends the unit (the index knows the unit, as it would after start)."""
    app.state.tracking.refresh_unit(unit.id)
    response = api.post(f"/api/v1/incidents/{incident.id}/assignments", json={"unit_id": unit.id}, headers=dispatcher)
    assert response.status_code == 201, response.text


def status(api, officer: OnDuty, value: str, key: str | None = None, incident_id: str | None = None):
    headers = dict(officer.headers, **({"Idempotency-Key": key} if key else {}))
    return api.post("/api/v1/mobile/status", json={"status": value, "incident_id": incident_id}, headers=headers)


def log_of(db, incident) -> list[LogEntry]:
    with db.read() as session:
        return list(session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id).order_by(LogEntry.id)))


# ---------------------------------------------------------------- my work


def test_my_work_shows_the_assignment_with_markers_callers_and_previous_incidents(api, app, db, dispatcher):
    officer = officer_on_duty(db)
    incident = make_incident(db, address="Market Square, Stafford", description="fight outside the bar")
    # Here before: two months ago (shown), 14 months ago (too old), and 600 m away (elsewhere).
    now = Clock().now()
    before = make_incident(db, clock=At(now - timedelta(days=60)), category="civil_dispute")
    make_incident(db, clock=At(now - timedelta(days=430)))
    make_incident(db, lat=FAR[0], lon=FAR[1])
    # The incident's own record names a suspect with a marker; a neighbour with a marker lives
    # 30 m away; someone 600 m away and someone without markers are not shown.
    record = make_event(db, "incident", incident_id=incident.id, summary="fight at the bar")
    suspect = make_person(
        db, given_names="Jason", family_name="Smyth", markers=(NewMarker("violent", "assaulted police 2024"),)
    )
    make_link(db, suspect, "suspect", record)
    witness = make_person(db, given_names="Wendy", family_name="Witness")
    make_link(db, witness, "witness", record)
    flat = make_location(db, line1="2 Market Square", lat=NEXT_DOOR[0], lon=NEXT_DOOR[1])
    make_person(
        db,
        given_names="Kerry",
        family_name="Neighbour",
        markers=(NewMarker("weapons", "knife found at home"),),
        addresses=(NewAddress(location_id=flat.id, from_date=date(2020, 1, 1)),),
    )
    away = make_location(db, line1="9 Far Street", lat=FAR[0], lon=FAR[1])
    make_person(
        db,
        given_names="Fred",
        family_name="Faraway",
        markers=(NewMarker("drugs", "supplies cannabis"),),
        addresses=(NewAddress(location_id=away.id, from_date=date(2020, 1, 1)),),
    )
    dispatch(api, app, incident, officer.unit, dispatcher)

    response = api.get("/api/v1/mobile/work", headers=officer.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"]["call_sign"] == officer.unit.call_sign and body["unit"]["status"] == "assigned"
    assert body["officer"]["collar_number"] == officer.collar and body["phone"] == officer.phone
    assigned = body["assignment"]
    assert assigned["incident"]["reference"] == incident.reference
    assert assigned["incident"]["address"] == "Market Square, Stafford"
    assert assigned["navigate"] == f"geo:{incident.lat:.6f},{incident.lon:.6f}"
    assert assigned["thrive"]["threat"] == "man with a bottle threatening door staff"
    assert assigned["callers"] == [
        {
            "name": "Sam Caller",
            "phone": "07700 900123",
            "callback_consent": True,
            "received_at": assigned["callers"][0]["received_at"],
            "source": "999",
        }
    ]
    warnings = {w["name"]: w for w in assigned["warnings"]}
    assert set(warnings) == {"SMYTH, Jason (12/03/1985)", "NEIGHBOUR, Kerry (12/03/1985)"}
    assert [m["kind"] for m in warnings["SMYTH, Jason (12/03/1985)"]["markers"]] == ["violent"]
    assert warnings["SMYTH, Jason (12/03/1985)"]["why"] == [f"suspect on {record.reference}"]
    assert warnings["NEIGHBOUR, Kerry (12/03/1985)"]["why"] == ["lives at 2 Market Square, Stafford, ST16 2JP"]
    assert [p["reference"] for p in assigned["previous_incidents"]] == [before.reference]
    assert assigned["previous_incidents_total"] == 1 and assigned["previous_incidents_months"] == 12
    choices = {c["status"]: c for c in body["status_choices"]}
    assert choices["en_route"]["allowed"] and choices["at_scene"]["allowed"] and choices["available"]["allowed"]

    page = api.get("/m", headers={**officer.headers, "Accept": "text/html"})
    assert page.status_code == 200
    for shown in (incident.reference, "Market Square, Stafford", "SMYTH, Jason", "Violent", "Weapons", "07700 900123"):
        assert shown in page.text, shown
    assert "FARAWAY" not in page.text and "WITNESS" not in page.text
    assert f'href="geo:{incident.lat:.6f},{incident.lon:.6f}' in page.text


def test_reading_my_work_audits_the_persons_shown_with_the_assignment_as_reason(api, app, db, dispatcher):
    from bluelamp.access.model import AuditEntry

    officer = officer_on_duty(db)
    incident = make_incident(db)
    record = make_event(db, "incident", incident_id=incident.id)
    suspect = make_person(db, family_name="Audited", markers=(NewMarker("violent", "assaults"),))
    make_link(db, suspect, "suspect", record)
    dispatch(api, app, incident, officer.unit, dispatcher)
    assert api.get("/api/v1/mobile/work", headers=officer.headers).status_code == 200
    with db.read() as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.record_id == suspect.id, AuditEntry.action == "person.read")
        ).all()
    assert [(r.actor, r.reason) for r in reads] == [(officer.user.username, f"attending {incident.reference}")]


def test_an_officer_off_duty_sees_no_work_and_a_user_who_is_no_officer_is_told_so(api, db):
    off = officer_on_duty(db, booked=False)
    body = api.get("/api/v1/mobile/work", headers=off.headers).json()
    assert body["officer"]["collar_number"] == off.collar and body["unit"] is None and body["assignment"] is None
    page = api.get("/m", headers={**off.headers, "Accept": "text/html"}).text
    assert "You are not on duty now" in page
    nobody = make_user(db, "response_officer")
    page = api.get("/m", headers={**bearer(db, nobody), "Accept": "text/html"}).text
    assert "Your account is not linked to an officer in tracking" in page


# ---------------------------------------------------------------- one-tap status


def test_one_tap_status_moves_the_incident_and_a_repeat_with_the_same_key_is_applied_once(
    api, app, db, dispatcher, events
):
    officer = officer_on_duty(db)
    incident = make_incident(db)
    dispatch(api, app, incident, officer.unit, dispatcher)
    events.clear()

    first = status(api, officer, "en_route", key="tap-1", incident_id=incident.id)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "en_route" and first.json()["incident"]["reference"] == incident.reference
    again = status(api, officer, "en_route", key="tap-1", incident_id=incident.id)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e.kind for e in log_of(db, incident)].count("acknowledged") == 1
    # The control room heard it at once: the unit's status and the incident's change.
    assert [(e.name, e.data.get("to")) for e in events if e.name == "UnitStatusChanged"] == [
        ("UnitStatusChanged", "en_route")
    ]
    assert any(e.name == "IncidentChanged" and e.data["what"] == "unit_en_route" for e in events)
    assert app.state.tracking.index.units[officer.unit.id].status == "en_route"

    arrived = status(api, officer, "at_scene", key="tap-2", incident_id=incident.id)
    assert arrived.status_code == 200
    with db.read() as session:
        assert session.get(Incident, incident.id).status == "at_scene"
    cleared = status(api, officer, "available", key="tap-3", incident_id=incident.id)
    assert cleared.status_code == 200 and cleared.json()["status"] == "available"
    assert "released" in [e.kind for e in log_of(db, incident)]
    assert api.get("/api/v1/mobile/work", headers=officer.headers).json()["assignment"] is None


def test_a_status_the_assignment_does_not_allow_is_refused_in_words(api, app, db, dispatcher):
    officer = officer_on_duty(db)
    nothing = status(api, officer, "at_scene", key="no-job")
    assert nothing.status_code == 409 and nothing.headers["content-type"].startswith(PROBLEM)
    assert nothing.json()["code"] == "mobile.no_assignment"
    assert nothing.json()["detail"] == f"{officer.unit.call_sign} has no assignment to be at scene for"

    incident = make_incident(db)
    dispatch(api, app, incident, officer.unit, dispatcher)
    assert status(api, officer, "at_scene", key="arrive", incident_id=incident.id).status_code == 200
    back = status(api, officer, "en_route", key="back", incident_id=incident.id)
    assert back.status_code == 409
    assert back.json()["code"] == "mobile.status_not_allowed"
    assert back.json()["detail"] == (
        f"{officer.unit.call_sign} is at scene ({incident.reference}), so it cannot be en route now; "
        "it can be clear (available), busy, transporting or at hospital"
    )
    assert back.json()["allowed"] == ["available", "busy", "transporting", "at_hospital"]

    # A change made offline for an incident control has since taken the unit off.
    other = make_incident(db)
    moved = api.post(
        f"/api/v1/incidents/{other.id}/assignments",
        json={"unit_id": officer.unit.id, "divert_reason": "grade 1 nearby"},
        headers=dispatcher,
    )
    assert moved.status_code == 201, moved.text
    stale = status(api, officer, "available", key="stale", incident_id=incident.id)
    assert stale.status_code == 409 and stale.json()["code"] == "mobile.assignment_changed"
    assert stale.json()["detail"] == (
        f"{officer.unit.call_sign} is no longer assigned to {incident.reference}; it is now on {other.reference}"
    )
    unknown = status(api, officer, "flying", key="bad")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "status"


def test_status_needs_a_unit_crewed_now(api, db):
    user = make_user(db, "response_officer")
    refused = api.post("/api/v1/mobile/status", json={"status": "available"}, headers=bearer(db, user))
    assert refused.status_code == 409 and refused.json()["code"] == "mobile.not_on_duty"
    work = api.get("/api/v1/mobile/work", headers=bearer(db, user)).json()
    assert work["officer"] is None and work["unit"] is None and work["assignment"] is None
    # Nobody could tell who pressed it: the phone says to use the radio.
    sos = api.post("/api/v1/mobile/emergency", json={}, headers=bearer(db, user))
    assert sos.status_code == 409 and sos.json()["detail"].endswith("use your radio")


# ---------------------------------------------------------------- updates and backup


def test_an_update_is_added_to_the_incident_log_once_per_key(api, app, db, dispatcher):
    officer = officer_on_duty(db)
    incident = make_incident(db)
    dispatch(api, app, incident, officer.unit, dispatcher)
    headers = dict(officer.headers, **{"Idempotency-Key": "note-1"})
    body = {"incident_id": incident.id, "text": "one male detained, ambulance requested"}
    first = api.post("/api/v1/mobile/updates", json=body, headers=headers)
    assert first.status_code == 201, first.text
    second = api.post("/api/v1/mobile/updates", json=body, headers=headers)
    assert second.status_code == 201 and second.json() == first.json()
    notes = [e for e in log_of(db, incident) if e.kind == "note"]
    assert [(n.text, n.by) for n in notes] == [("one male detained, ambulance requested", officer.user.username)]
    empty = api.post("/api/v1/mobile/updates", json={"incident_id": incident.id, "text": " "}, headers=officer.headers)
    assert empty.status_code == 422 and empty.json()["errors"] == [{"field": "text", "message": "write the update"}]


def test_a_backup_request_reaches_the_control_rooms_tasks_and_log(api, app, db, dispatcher, events):
    officer = officer_on_duty(db)
    incident = make_incident(db)
    dispatch(api, app, incident, officer.unit, dispatcher)
    events.clear()
    asked = api.post(
        "/api/v1/mobile/backup",
        json={"incident_id": incident.id, "note": "crowd growing, two more units", "lat": 52.8061, "lon": -2.1171},
        headers=dict(officer.headers, **{"Idempotency-Key": "backup-1"}),
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["already_requested"] is False
    tasks = api.get("/api/v1/tasks", headers=dispatcher).json()
    backup = [t for t in tasks if t["incident_id"] == incident.id and t["kind"] == "backup"]
    assert [t["reason"] for t in backup] == [f"{officer.unit.call_sign} requests backup: crowd growing, two more units"]
    entry = [e for e in log_of(db, incident) if e.kind == "task_created"][-1]
    assert entry.text.startswith("BACKUP REQUESTED") and entry.data["backup"] is True
    assert (entry.data["lat"], entry.data["lon"]) == (52.8061, -2.1171)
    assert [e.data["what"] for e in events if e.name == "IncidentChanged"] == ["backup_requested"]

    repeat = api.post(
        "/api/v1/mobile/backup",
        json={"incident_id": incident.id},
        headers=dict(officer.headers, **{"Idempotency-Key": "backup-2"}),
    )
    assert repeat.status_code == 200 and repeat.json()["already_requested"] is True
    assert repeat.json()["task_id"] == asked.json()["task_id"]
    # A dispatcher closes it with what was sent, like any task.
    closed = api.post(f"/api/v1/tasks/{backup[0]['id']}/close", json={"outcome": "SF99 sent"}, headers=dispatcher)
    assert closed.status_code == 200, closed.text
    work = api.get("/api/v1/mobile/work", headers=officer.headers).json()
    assert work["assignment"]["backup_requested"] == []


# ---------------------------------------------------------------- the emergency button


def test_the_emergency_button_raises_an_emergency_with_the_phones_position(api, app, db, dispatcher, events):
    officer = officer_on_duty(db)
    incident = make_incident(db)
    dispatch(api, app, incident, officer.unit, dispatcher)
    events.clear()
    headers = dict(officer.headers, **{"Idempotency-Key": "sos-1"})
    raised = api.post(
        "/api/v1/mobile/emergency", json={"lat": 52.8071, "lon": -2.1181, "accuracy_m": 8}, headers=headers
    )
    assert raised.status_code == 201, raised.text
    assert raised.json()["call_sign"] == officer.unit.call_sign and raised.json()["already_raised"] is False
    open_ = api.get("/api/v1/emergencies", headers=dispatcher).json()
    mine = [e for e in open_ if e["unit_id"] == officer.unit.id]
    assert [(e["lat"], e["lon"], e["source"], e["call_sign"]) for e in mine] == [
        (52.8071, -2.1181, "app", officer.unit.call_sign)
    ]
    assert app.state.tracking.index.units[officer.unit.id].status == "emergency"
    assert {"EmergencyRaised", "UnitStatusChanged"} <= {e.name for e in events}
    assert any(e.text == f"{officer.unit.call_sign} raised an emergency" for e in log_of(db, incident))

    replay = api.post("/api/v1/mobile/emergency", json={"lat": 1, "lon": 1}, headers=headers)
    assert replay.json() == raised.json() and replay.headers["Idempotent-Replayed"] == "true"
    pressed_again = api.post("/api/v1/mobile/emergency", json={}, headers=officer.headers)
    assert pressed_again.status_code == 200 and pressed_again.json()["already_raised"] is True
    assert (
        len([e for e in api.get("/api/v1/emergencies", headers=dispatcher).json() if e["unit_id"] == officer.unit.id])
        == 1
    )


def test_an_emergency_without_a_usable_position_still_goes_with_the_units_last(api, db):
    officer = officer_on_duty(db)
    raised = api.post("/api/v1/mobile/emergency", json={"lat": 0, "lon": 0}, headers=officer.headers)
    assert raised.status_code == 201
    assert (raised.json()["lat"], raised.json()["lon"]) == (officer.unit.last_lat, officer.unit.last_lon)


# ---------------------------------------------------------------- the phone's position


def test_the_phones_position_lands_in_tracking_while_on_duty(api, app, db):
    officer = officer_on_duty(db)
    sent = api.post(
        "/api/v1/mobile/position",
        json={"lat": 52.8059, "lon": -2.1165, "accuracy_m": 12.5, "speed_mps": 1.2, "bearing": 90},
        headers=officer.headers,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["device_id"] == officer.phone
    app.state.tracking.writer.flush()
    with db.read() as session:
        fixes = session.scalars(select(Position).where(Position.device_id == officer.phone)).all()
    assert [(f.lat, f.lon, f.accuracy_m, f.attributes) for f in fixes] == [
        (52.8059, -2.1165, 12.5, {"source": "officer_app"})
    ]
    refused = api.post("/api/v1/mobile/position", json={"lat": 95, "lon": -2.1}, headers=officer.headers)
    assert refused.status_code == 422 and refused.json()["code"] == "mobile.position_refused"
    assert refused.json()["errors"] == [{"field": "lat", "message": "latitude must be a number from -90 to 90"}]


def test_positions_are_not_taken_off_duty(api, db):
    user = make_user(db, "response_officer")
    refused = api.post("/api/v1/mobile/position", json={"lat": 52.8, "lon": -2.1}, headers=bearer(db, user))
    assert refused.status_code == 409 and refused.json()["code"] == "mobile.not_on_duty"


# ---------------------------------------------------------------- another force


def test_another_forces_incidents_and_records_never_show(api, app, db):
    officer = officer_on_duty(db)
    theirs = make_incident(db, force_id="west-midlands")
    # Their incident at the same spot, their resident next door, and (set up by hand, as no
    # dispatcher could) an assignment of this unit to their incident.
    flat = make_location(db, force_id="west-midlands", lat=NEXT_DOOR[0], lon=NEXT_DOOR[1])
    make_person(
        db,
        force_id="west-midlands",
        family_name="Elsewhere",
        markers=(NewMarker("violent", "x"),),
        addresses=(NewAddress(location_id=flat.id),),
    )
    send_unit(db, theirs, Clock(), unit=officer.unit)
    body = api.get("/api/v1/mobile/work", headers=officer.headers).json()
    assert body["assignment"] is None and body["hidden_assignment"] is True
    page = api.get("/m", headers={**officer.headers, "Accept": "text/html"}).text
    assert theirs.reference not in page and "ELSEWHERE" not in page
    missing = api.post(
        "/api/v1/mobile/updates", json={"incident_id": "0" * len(theirs.id), "text": "x"}, headers=officer.headers
    )
    hidden = api.post("/api/v1/mobile/updates", json={"incident_id": theirs.id, "text": "x"}, headers=officer.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(theirs.id, "<id>") == missing.json()["detail"].replace("0" * 32, "<id>")

    ours = make_incident(db)
    make_incident(db, force_id="west-midlands")  # at the same place as ours
    with db.unit_of_work() as session:
        session.get(Unit, officer.unit.id).current_incident_id = None
    send_unit(db, ours, Clock(), unit=officer.unit)
    assigned = api.get("/api/v1/mobile/work", headers=officer.headers).json()["assignment"]
    assert assigned is not None and assigned["previous_incidents"] == [] and assigned["warnings"] == []


# ---------------------------------------------------------------- the shell


def test_signed_out_the_app_sends_the_officer_to_sign_in_and_back(api):
    response = api.get("/m", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fm"


def test_the_app_is_installable(api):
    manifest = api.get("/m/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/m", "/m", "standalone")
    assert body["name"] == "Bluelamp officer app" and body["theme_color"]
    for icon in body["icons"]:
        assert api.get(icon["src"]).status_code == 200, icon["src"]
    assert {i["sizes"] for i in body["icons"]} >= {"192x192", "512x512", "any"}

    worker = api.get("/m/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/m"
    assert "__VERSION__" not in worker.text and 'var VERSION = "' in worker.text
    offline = api.get("/m/offline", headers={"Accept": "text/html"})
    assert offline.status_code == 200 and "No connection" in offline.text
