"""EIDO exchange: an incident exported as a NENA EIDO document that validates against
NENA's schema, and an EIDO document imported as a new incident (a transferred call).

NENA's schema has no licence file, so it is not in the repository: the conformance tests
read it from BLUELAMP_EIDO_SCHEMA_DIR or ../shared/spec/eido beside the checkout, and are
skipped (a failure under CI=true) only where it is absent.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bluelamp.access.model import AuditEntry, Force
from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.cli import main
from bluelamp.clock import FixedClock
from bluelamp.command import dispatch, eido
from bluelamp.command import service as incidents
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.model import Assessment, Call, Incident, LogEntry, Task
from bluelamp.errors import InvalidInput, NotFound
from bluelamp.storage import Database
from tests.conftest import REPO
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.tracking import make_unit

SENDER = "staffordshire.police.uk"
HANLEY = (53.0245, -2.1747)
THRIVE = Thrive(
    "man waving a knife at passers-by",
    "serious injury likely",
    "high: weapon and intoxication",
    "CCTV on the shop front",
    "caller is 78 and alone",
    "armed officers to attend",
)
SAMPLE = "Samples/Sample call transfer EIDO.json"


def handler(force_id: str = "staffordshire", name: str = "call-handler", clearance: str = "OFFICIAL") -> Actor:
    return Actor(
        user_id=None,
        username=name,
        force_id=force_id,
        roles=frozenset({Role.CALL_HANDLER, Role.DISPATCHER}),
        clearance=Marking(clearance),
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 28, 14, 30, tzinfo=UTC))


@pytest.fixture
def schema(settings):
    """NENA's schema folder, as the application finds it (the setting, else ../shared/spec/eido)."""
    folder = settings.eido_schema_dir or REPO.parent / "shared" / "spec" / "eido"
    if not (folder / "Schema" / "openapi.yaml").is_file():
        pytest.skip(
            f"NENA's EIDO schema is not at {folder} (set BLUELAMP_EIDO_SCHEMA_DIR, or put the NENA911/EIDO-JSON "
            "snapshot at ../shared/spec/eido): the EIDO conformance tests need it"
        )
    return folder


@pytest.fixture
def validator(schema):
    return eido.validator(schema)


def sample(schema) -> dict:
    return json.loads((schema / SAMPLE).read_text())


def open_incident(db: Database, clock, *, force_id: str = "staffordshire", marking: str | None = None, **changes):
    """A knife incident reported by two callers (one attached as a duplicate call)."""
    ensure_force(db, force_id)
    command = NewIncident(
        source="999",
        category="weapons",
        lat=HANLEY[0],
        lon=HANLEY[1],
        address="12 Piccadilly, Hanley, Stoke-on-Trent ST1 1DL",
        description='Man shouting "I\'ll cut you" & waving a knife <outside the shop>\nwearing a red jacket',
        qualifiers=("firearms", "domestic"),
        grade="1",
        thrive=THRIVE,
        caller=CallerDetails("Jane Smith", "01782 123456", True),
        marking=marking,
    )
    command = NewIncident(**{**command.__dict__, **changes})
    cleared = marking or "OFFICIAL"
    with db.unit_of_work() as session:
        intake = incidents.create_incident(session, handler(force_id, clearance=cleared), command, clock)
        incidents.create_incident(
            session,
            handler(force_id, "call-handler-2", cleared),
            NewIncident(
                source="101",
                category="weapons",
                lat=None,
                lon=None,
                description="saw him from the bus stop",
                caller=CallerDetails("Sam Jones", "07700 900123", False),
                attach_to=intake.incident.id,
            ),
            clock,
        )
        incidents.add_note(
            session,
            handler(force_id, clearance=cleared),
            intake.incident.id,
            "caller says he has gone into the shop",
            clock,
        )
        return intake.incident


def export(db, clock, incident_id, *, actor: Actor | None = None) -> dict:
    with db.unit_of_work() as session:
        return eido.export_incident(session, actor or handler(), incident_id, clock, sender=SENDER)


def import_(db, clock, document, *, force_id: str = "west-midlands", schema=None, **kwargs):
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        return eido.import_document(
            session, handler(force_id, "wm-handler"), document, clock, schema_directory=schema, **kwargs
        )


def component(document: dict, kind: str, ref: dict | str) -> dict:
    wanted = ref["$ref"] if isinstance(ref, dict) else ref
    return next(part for part in document[kind] if part["$id"] == wanted)


def notes_text(document: dict) -> list[str]:
    return [eido.from_html(note["notesActionComments"]) for note in document.get("notesComponent", [])]


# ---------------------------------------------------------------- the schema


def test_the_shipped_sample_validates_with_zero_errors(schema, validator):
    assert validator.errors(sample(schema)) == []


def test_the_schema_defect_is_read_as_the_integer_it_means(schema, validator):
    # openapi.yaml says `minItems: 1,` for an agent's roles; read as 1, an agent without roles is refused
    document = sample(schema)
    document["agentComponent"][0]["agentRoleRegistryText"] = []
    errors = validator.errors(document)
    assert [e.path for e in errors] == ["$.agentComponent[0].agentRoleRegistryText"]
    assert "1," in (schema / "Schema" / "openapi.yaml").read_text()  # the file itself is never edited


def test_the_validator_reports_errors_deep_in_the_document_with_their_paths(schema, validator):
    document = sample(schema)
    document["eidoVersion"] = "2.0"
    document["callComponent"][0]["direction"] = "sideways"
    document["personComponent"][0]["ncPersonComponent"] = {"name": [{"personFullName": [{"value": 42}]}]}
    document["callComponent"][0]["callStartTimestamp"] = "yesterday"
    paths = {e.path for e in validator.errors(document)}
    assert paths == {
        "$.eidoVersion",
        "$.callComponent[0].direction",
        "$.callComponent[0].callStartTimestamp",
        "$.personComponent[0].ncPersonComponent.name[0].personFullName[0].value",
    }


def test_nenas_schema_is_not_copied_into_the_repository():
    # it has no licence file: it is read from beside the checkout, never shipped
    copies = [
        path
        for folder in ("src", "tests", "docs", "scripts", "bench")
        if (REPO / folder).is_dir()
        for path in (REPO / folder).rglob("*")
        if path.name in {"openapi.yaml", "NIEMComponents", "nc.yaml", "Sample call transfer EIDO.json"}
    ]
    assert copies == []


# ---------------------------------------------------------------- export


def test_an_exported_incident_validates_with_zero_errors(db, clock, validator):
    incident = open_incident(db, clock)
    unit = make_unit(db, "SF99", unit_type="armed_response_vehicle", status="available")
    with db.unit_of_work() as session:
        dispatch.assign(session, handler(), incident.id, unit.id, clock, eta_seconds=420)
    clock.advance(timedelta(minutes=2))
    document = export(db, clock, incident.id)
    assert validator.errors(document) == []
    ids = [part["$id"] for kind in eido.COMPONENT_LISTS for part in document.get(kind, [])]
    assert len(ids) == len(set(ids)), "every component has its own $id"
    assert document["emergencyResourceComponent"][0]["emergencyResourceName"] == "SF99"
    assert document["emergencyResourceComponent"][0]["primaryUnitStatusRegistryText"] == "Dispatched"
    assert "firearms" in document["emergencyResourceComponent"][0]["resourceAttributeInternalText"]


def test_an_export_carries_the_incident_its_callers_thrive_and_log(db, clock, validator):
    incident = open_incident(db, clock)
    document = export(db, clock, incident.id)
    assert validator.errors(document) == []  # also without any unit assigned
    part = document["incidentComponent"]
    assert document["$id"] == f"urn:emergency:uid:incidentid:{incident.id}:{SENDER}"
    assert part["internalIncidentId"] == incident.reference
    assert (part["incidentTypeInternalCode"], part["incidentTypeInternalText"]) == (
        "weapons",
        "Weapons (knife or other, not firearm)",
    )
    assert part["incidentTypeCommonRegistryText"] == "Weapons Offense"
    assert part["incidentCommonPriorityNumber"] == 1
    assert part["incidentPriorityInternalText"] == "Grade 1 Immediate"
    assert part["incidentStatusInternalText"] == ["open"]
    where = component(document, "locationComponent", part["locationReference"][0])
    assert f"<gml:pos>{HANLEY[0]} {HANLEY[1]}</gml:pos>" in where["locationByValue"]
    assert where["locationDescriptionText"] == "12 Piccadilly, Hanley, Stoke-on-Trent ST1 1DL"
    # callers: name, a call-back number, consent, and the call each made
    people = [component(document, "personComponent", ref) for ref in part["personReference"]]
    assert [p["ncPersonComponent"]["name"][0]["personFullName"][0]["value"] for p in people] == [
        "Jane Smith",
        "Sam Jones",
    ]
    numbers = [
        component(document, "callbackComponent", p["callBackReference"])["callBackInformationUri"] for p in people
    ]
    assert numbers == [["tel:+441782123456"], ["tel:+447700900123"]]
    assert [c["standardPrimaryCallType"] for c in document["callComponent"]] == ["emergency", "nonEmergency"]
    texts = notes_text(document)
    description = component(document, "notesComponent", part["notesReference"][0])
    assert eido.from_html(description["notesActionComments"]) == incident.description
    assert "&lt;outside the shop&gt;" in description["notesActionComments"]  # HTML5 notes: escaped
    assert "Call-back consent: given" in texts and "Call-back consent: not given" in texts
    assert "Protective marking: OFFICIAL" in texts
    thrive = next(t for t in texts if t.startswith("THRIVE"))
    assert "Threat: man waving a knife at passers-by" in thrive and "Vulnerability: caller is 78 and alone" in thrive
    assert "note: caller says he has gone into the shop" in texts
    cautions = {c["cautionTypeCommonSubRegistryText"][0]: c["cautionSeverity"] for c in document["cautionComponent"]}
    assert cautions == {"firearms": "highest", "domestic": "normal"}
    stamps = [document["lastUpdateTimeStamp"], *(p["lastUpdateTimeStamp"] for p in document["notesComponent"])]
    assert all(datetime.fromisoformat(s.replace("Z", "+00:00")).tzinfo is not None for s in stamps)


def test_a_closed_incident_exports_its_disposition(db, clock, validator):
    incident = open_incident(db, clock)
    with db.unit_of_work() as session:
        incidents.close_incident(
            session, handler(), incident.id, "public_order", "no_trace", "area searched, no trace of the man", clock
        )
    document = export(db, clock, incident.id)
    assert validator.errors(document) == []
    [disposition] = document["incidentComponent"]["dispositionComponent"]
    assert disposition["dispositionCategoryText"] == "public_order"
    assert disposition["dispositionDescriptionText"] == "no_trace; area searched, no trace of the man"
    assert document["incidentComponent"]["incidentStatusInternalText"] == ["closed"]


def test_every_export_is_audited_and_logged_on_the_incident(db, clock):
    incident = open_incident(db, clock)
    first = export(db, clock, incident.id)
    clock.advance(timedelta(minutes=1))
    second = export(db, clock, incident.reference)  # by reference too
    with db.read() as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "incident.eido_export", AuditEntry.record_id == incident.id)
        ).all()
        logged = session.scalars(
            select(LogEntry).where(LogEntry.incident_id == incident.id, LogEntry.kind == "eido_exported")
        ).all()
    assert len(audits) == 2 and audits[0].actor == "call-handler"
    assert json.loads(audits[0].detail)["callers"] == 2
    assert [e.data["sender"] for e in logged] == [SENDER, SENDER]
    # an export is not itself exported, and the same parts keep the same ids
    assert notes_text(first) == notes_text(second)
    assert [p["$id"] for p in first["notesComponent"]] == [p["$id"] for p in second["notesComponent"]]


def test_an_incident_of_another_force_or_above_clearance_answers_like_a_missing_one(db, clock):
    theirs = open_incident(db, clock, force_id="west-midlands")
    sensitive = open_incident(db, clock, marking="OFFICIAL-SENSITIVE")
    for incident_id in (theirs.id, "0" * 32):
        with pytest.raises(NotFound), db.unit_of_work() as session:
            eido.export_incident(session, handler(), incident_id, clock, sender=SENDER)
    with pytest.raises(NotFound), db.unit_of_work() as session:
        eido.export_incident(session, handler(), sensitive.id, clock, sender=SENDER)
    # cleared for it: the marking travels with the document
    document = export(db, clock, sensitive.id, actor=handler(clearance="OFFICIAL-SENSITIVE"))
    assert "Protective marking: OFFICIAL-SENSITIVE" in notes_text(document)


def test_the_api_exports_as_a_json_download_and_hides_other_forces(db, app, clock):
    incident = open_incident(db, clock)
    theirs = open_incident(db, clock, force_id="west-midlands")
    headers = bearer(db, make_user(db, "call_handler"))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.get(f"/api/v1/incidents/{incident.id}/eido", headers=headers)
        hidden = client.get(f"/api/v1/incidents/{theirs.id}/eido", headers=headers)
        missing = client.get(f"/api/v1/incidents/{'0' * 32}/eido", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == f'attachment; filename="{incident.reference}.eido.json"'
    assert response.json()["incidentComponent"]["internalIncidentId"] == incident.reference
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(theirs.id, "<id>") == missing.json()["detail"].replace("0" * 32, "<id>")


# ---------------------------------------------------------------- import


def test_a_round_trip_into_another_force_opens_an_equivalent_transferred_incident(db, clock, schema):
    original = open_incident(db, clock)
    document = export(db, clock, original.id)
    clock.advance(timedelta(minutes=5))
    intake = import_(db, clock, document, schema=schema)
    assert intake.created and not intake.warnings
    with db.read() as session:
        received = session.get(Incident, intake.incident.id)
        calls = session.scalars(select(Call).where(Call.incident_id == received.id).order_by(Call.received_at)).all()
        assessment = session.get(Assessment, received.assessment_id)
        tasks = session.scalars(select(Task).where(Task.incident_id == received.id)).all()
        entries = session.scalars(select(LogEntry).where(LogEntry.incident_id == received.id)).all()
    assert received.force_id == "west-midlands" and received.reference.startswith("WMP-")
    assert received.source == "transfer"
    assert received.external_id == document["$id"]
    assert (received.opening_category, received.grade, received.qualifiers) == (
        "weapons",
        "1",
        ["firearms", "domestic"],
    )
    assert (received.lat, received.lon, received.address) == (original.lat, original.lon, original.address)
    assert received.description == original.description
    assert received.marking == "OFFICIAL"
    assert [(c.caller_name, c.caller_phone, c.callback_consent) for c in calls] == [
        ("Jane Smith", "01782123456", True),
        ("Sam Jones", "07700900123", False),
    ]
    # the receiving handler must assess it themselves
    assert {getattr(assessment, part) for part in incidents.THRIVE_PARTS} == {"transferred: re-assess"}
    assert [(t.kind, t.closed_at) for t in tasks] == [("reassessment", None)]
    kinds = [e.kind for e in entries]
    assert "eido_imported" in kinds
    imported = next(e for e in entries if e.kind == "eido_imported")
    assert "Staffordshire Police" in imported.text and original.reference in imported.text
    assert imported.data["validated_against_schema"] is True
    # what the sender knew arrives in the log: their THRIVE, their notes
    texts = [e.text for e in entries if e.kind == "note"]
    assert any("Threat: man waving a knife at passers-by" in t for t in texts)
    assert any("caller says he has gone into the shop" in t for t in texts)


def test_the_same_document_twice_opens_one_incident(db, clock, schema):
    document = export(db, clock, open_incident(db, clock).id)
    first = import_(db, clock, document, schema=schema)
    again = import_(db, clock, copy.deepcopy(document), schema=schema)
    assert first.created and not again.created
    assert again.incident.id == first.incident.id
    with db.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.external_id == document["$id"])
        )
        tasks = session.scalar(select(func.count()).select_from(Task).where(Task.incident_id == first.incident.id))
    assert count == 1 and tasks == 1


def test_an_incident_type_we_cannot_map_opens_as_the_fallback_with_the_original_kept(db, clock, schema):
    document = export(db, clock, open_incident(db, clock).id)
    part = document["incidentComponent"]
    part["incidentTypeInternalCode"] = "UFO"
    part["incidentTypeInternalText"] = "Unidentified flying object"
    part["incidentTypeCommonRegistryText"] = "Aerial Phenomenon"
    intake = import_(db, clock, document, schema=schema)
    with db.read() as session:
        received = session.get(Incident, intake.incident.id)
        notes = session.scalars(select(LogEntry.text).where(LogEntry.incident_id == received.id)).all()
    assert received.opening_category == "concern_for_safety"
    assert "Unidentified flying object / UFO / Aerial Phenomenon" in received.description
    assert any("matches none of our categories" in text for text in notes)
    assert any("matched no category" in warning for warning in intake.warnings)
    other = import_(db, clock, document, force_id="west-yorkshire", schema=schema, fallback_category="civil_dispute")
    assert other.incident.opening_category == "civil_dispute"


def test_a_document_from_another_system_is_read_by_its_common_parts(db, clock, schema, validator):
    # NENA's sample (a US PSAP's call transfer), given a point and an incident with a note
    document = sample(schema)
    where = document["locationComponent"][0]
    where["locationByValue"] = where["locationByValue"].replace(
        "<gp:location-info>",
        '<gp:location-info><gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326">'
        "<gml:pos>53.0245 -2.1747</gml:pos></gml:Point>",
    )
    prologue = {"lastUpdateTimeStamp": "2021-04-30T14:43:00-04:00", "updatedByAgencyReference": {"$ref": "state.pa.us"}}
    document["notesComponent"] = [
        {"$id": "note-1", **prologue, "notesActionComments": "<p>Two cars collided; one driver trapped</p>"}
    ]
    document["incidentComponent"] = {
        "$id": "incident-1",
        **prologue,
        "incidentTypeCommonRegistryText": "Traffic Collision",
        "notesReference": [{"$ref": "note-1"}],
    }
    assert validator.errors(document) == []
    intake = import_(db, clock, document, schema=schema)
    received = intake.incident
    assert (received.opening_category, received.grade, received.source) == ("rtc_damage_only", "2", "transfer")
    assert (received.lat, received.lon) == (53.0245, -2.1747)
    assert received.address == "42 W Cellular Street, Wilmington, DE, US"
    assert received.description == "Two cars collided; one driver trapped"
    assert intake.call.caller_phone == "8195551212"
    assert received.external_id == "urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us"


def test_a_location_outside_our_force_area_is_accepted_with_the_reason_recorded(db, clock, schema):
    document = export(db, clock, open_incident(db, clock).id)
    ensure_force(db, "west-midlands")
    birmingham = {
        "type": "Polygon",
        "coordinates": [[[-2.0, 52.35], [-1.7, 52.35], [-1.7, 52.6], [-2.0, 52.6], [-2.0, 52.35]]],
    }
    with db.unit_of_work() as session:
        force = session.get(Force, "west-midlands")
        force.settings = {
            **force.settings,
            "command": {"force_area": {"name": "West Midlands", "geometry": birmingham}},
        }
    intake = import_(db, clock, document, schema=schema)
    assert intake.created
    assert (
        intake.incident.outside_area_reason
        == "transferred by Staffordshire Police: the location is outside our force area"
    )
    assert any("outside the force area" in warning for warning in intake.warnings)


def test_invalid_documents_are_refused_with_the_json_paths_of_their_errors(db, app, schema):
    document = sample(schema)
    document["eidoVersion"] = "2.0"
    del document["agencyComponent"]
    document["callComponent"][0]["direction"] = "sideways"
    headers = bearer(db, make_user(db, "call_handler"))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.post("/api/v1/eido", headers=headers, json=document)
        not_an_object = client.post("/api/v1/eido", headers=headers, json=["not", "an", "EIDO"])
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "eido.invalid"
    assert {e["field"] for e in body["errors"]} == {"$", "$.eidoVersion", "$.callComponent[0].direction"}
    assert any("agencyComponent" in e["message"] for e in body["errors"])
    assert not_an_object.status_code == 422
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident).where(Incident.source == "transfer")) == 0


def test_a_valid_document_without_coordinates_is_refused(db, clock, schema):
    # NENA's own sample locates the caller by a civic address only
    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, sample(schema), schema=schema)
    assert refused.value.code == "eido.no_location"
    assert "42 W Cellular Street, Wilmington, DE, US" in refused.value.detail


def test_the_api_imports_with_201_and_replays_with_200(db, app, clock, schema):
    document = export(db, clock, open_incident(db, clock).id)
    headers = bearer(db, make_user(db, "call_handler", force_id="west-midlands"))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        created = client.post("/api/v1/eido", headers=headers, json=document)
        replayed = client.post("/api/v1/eido", headers=headers, json=document)
        refused = client.post("/api/v1/eido", headers=bearer(db, make_user(db, "investigator")), json=document)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/incidents/{body['incident_id']}"
    assert (body["source"], body["category"], body["created"]) == ("transfer", "weapons", True)
    assert body["reference"].startswith("WMP-") and body["external_id"] == document["$id"]
    assert body["validated_against_schema"] is True
    assert replayed.status_code == 200
    assert replayed.json()["incident_id"] == body["incident_id"] and replayed.json()["created"] is False
    assert refused.status_code == 403


def test_without_nenas_schema_export_works_and_import_checks_shape_only(db, clock, monkeypatch, tmp_path):
    monkeypatch.setattr(eido.schema, "_CHECKOUT", tmp_path / "checkout")  # nothing beside this checkout
    assert eido.validator(None) is None
    document = export(db, clock, open_incident(db, clock).id)
    assert eido.check_document({"eidoVersion": "9"}).errors[0].path == "$.eidoVersion"
    intake = import_(db, clock, document)
    assert intake.created
    assert any("checked for shape only" in w for w in intake.warnings)
    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, {**document, "agencyComponent": "none"})
    assert refused.value.code == "eido.invalid"
    assert [p.field for p in refused.value.problems] == ["$.agencyComponent"]


# ---------------------------------------------------------------- command line


def test_the_cli_exports_to_a_file_and_imports_it_into_another_force(settings, monkeypatch, capsys, tmp_path, clock):
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    database = Database.from_url(url)
    try:
        ensure_force(database, "west-midlands")
        incident = open_incident(database, clock)
        out = tmp_path / "transfer.json"
        assert main(["eido", "export", incident.reference.lower(), "--out", str(out), "--force", "staffordshire"]) == 0
        assert f"wrote the EIDO document of {incident.reference}" in capsys.readouterr().out
        document = json.loads(out.read_text())
        assert document["incidentComponent"]["internalIncidentId"] == incident.reference
        assert main(["eido", "import", str(out), "--force", "west-midlands"]) == 0
        printed = capsys.readouterr().out
        assert "opened WMP-" in printed and "re-assessment task is open" in printed
        assert main(["eido", "import", str(out), "--force", "west-midlands"]) == 0
        assert "already imported as WMP-" in capsys.readouterr().out
        assert main(["eido", "export", "SP-19990101-0001", "--force", "staffordshire"]) == 1
        assert capsys.readouterr().err.strip() == "error: no incident SP-19990101-0001"
    finally:
        database.dispose()
