"""A crime recorded at the scene on the officer's phone (issue 7 item 5): the crime with its
victim, place and suspect in one request; photos checked by content, stored without their
metadata but with their position and hashes; a witness statement signed on the screen and
locked even against SQL; the same Idempotency-Key never making two crimes; another
force's photos never served; bad input refused with the field named; the /m/crime page."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bluelamp.access import sessions
from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.mobile import scene
from bluelamp.mobile.model import SceneBlob, ScenePhoto, SceneStatement
from bluelamp.records.model import Event, Link, Location, Person
from bluelamp.tracking import service as tracking
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.command import make_incident, send_unit, staffordshire
from tests.factories.records import make_person
from tests.factories.tracking import force_actor, make_unit

# A Tuesday in December (GMT): UK time and UTC agree.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REASON = {"X-Bluelamp-Reason": "investigating the shoplifting"}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    staffordshire(db)
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def officer(db):
    return make_user(db, "response_officer", username="pc-whitmore")


@pytest.fixture
def api(app, db, officer):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        client.headers.update(bearer(db, officer))
        yield client


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


# ---------------------------------------------------------------- what a phone sends


def signature(*, blank: bool = False) -> str:
    """A canvas's PNG as a data URL: a scribble, or nothing drawn."""
    image = Image.new("RGBA", (320, 120), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 90), (80, 30), (150, 95), (290, 40)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def photo_with_metadata() -> bytes:
    """A phone's JPEG: camera make and model, GPS position, a comment and XMP."""
    image = Image.new("RGB", (64, 48), (180, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "Acme"
    exif[0x0110] = "PhoneCam 9"
    exif[0x9003] = "2026:12:01 08:55:00"
    exif[0x8825] = {1: "N", 2: (53.0, 1.0, 30.0), 3: "W", 4: (2.0, 10.0, 48.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"owner J Bloggs", xmp=b"<x:xmpmeta>serial SN-12345</x:xmpmeta>")
    return out.getvalue()


def shoplifting(**changes) -> dict:
    body = {
        "offence_code": "46",
        "narrative": "Two bottles of whisky taken from the shelf; the suspect ran towards the bus station.",
        "place": {
            "lat": 53.0245,
            "lon": -2.1781,
            "accuracy_m": 12,
            "line1": "Spar, 14 Parliament Row",
            "town": "Hanley",
        },
        "victim": {"given_names": "Priya", "family_name": "Sandhu", "dob": "1990-04-02", "gender": "female"},
        "victim_contact": "phone, evenings",
        "suspects": [
            {
                "sex": "male",
                "age_range": "25 to 30",
                "height": "5ft 10",
                "build": "slim",
                "clothing": "black hoodie, grey joggers",
                "marks": "tattoo on the left hand",
            }
        ],
    }
    return {**body, **changes}


def record(api, body: dict | None = None, **headers) -> dict:
    response = api.post("/api/v1/scene/crimes", json=body or shoplifting(), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def upload(api, crime_id: str, data: bytes, name: str = "IMG_0001.jpg", kind: str = "image/jpeg", **form):
    return api.post(f"/api/v1/crimes/{crime_id}/photos", files={"photo": (name, data, kind)}, data=form)


def statement(**changes) -> dict:
    return {
        "witness": {"given_names": "Tom", "family_name": "Okafor", "dob": "1978"},
        "text": "I saw a man in a black hoodie put two bottles under his top and run out.",
        "signature": signature(),
        **changes,
    }


# ---------------------------------------------------------------- the crime


def test_a_crime_recorded_at_the_scene_has_its_victim_place_and_suspect(db, api):
    recorded = record(api)
    assert recorded["reference"].startswith("SP-CR-2026-")
    assert (recorded["offence_code"], recorded["source"], recorded["summary"]) == ("46", "direct", "Shoplifting")
    assert recorded["victim"] == "SANDHU, Priya (02/04/1990)"

    detail = api.get(f"/api/v1/crimes/{recorded['id']}", headers=REASON).json()
    assert [v["name"] for v in detail["victims"]] == ["SANDHU, Priya"]
    assert detail["victims"][0]["contact_preference"] == "phone, evenings"
    roles = {(link["role"], link["other_type"]) for link in detail["links"]}
    assert ("victim", "person") in roles and ("occurred_at", "location") in roles
    assert any("black hoodie, grey joggers" in e["text"] and "tattoo" in e["text"] for e in detail["log"])
    with db.read() as session:
        place = session.get(Location, recorded["location_id"])
        assert (place.lat, place.lon, place.line1, place.town) == (
            53.0245,
            -2.1781,
            "Spar, 14 Parliament Row",
            "Hanley",
        )
        assert place.description == "phone position, within 12 m"

    seen = api.get(f"/api/v1/crimes/{recorded['id']}/scene", headers=REASON).json()
    assert seen["suspects"][0]["clothing"] == "black hoodie, grey joggers"


def test_a_crime_at_the_incident_attended_comes_from_it(db, api, clock):
    incident = make_incident(db, clock)
    recorded = record(api, shoplifting(incident_id=incident.id, victim=None, suspects=[]))
    assert (recorded["source"], recorded["incident_id"]) == ("incident", incident.id)


def test_a_known_suspect_is_linked_to_the_crime(db, api):
    known = make_person(db, given_names="Jason", family_name="Smyth", dob_year=1994)
    recorded = record(api, shoplifting(suspects=[{"person_id": known.id, "clothing": "red cap"}]))
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.to_id == recorded["id"], Link.role == "suspect")).all()
    assert [link.from_id for link in links] == [known.id]


def test_a_new_victim_like_someone_recorded_is_shown_first_then_saved_when_confirmed(db, api):
    make_person(db, given_names="Priya", family_name="Sandhu", dob_year=1990, dob_month=4, dob_day=2)
    refused = assert_problem(api.post("/api/v1/scene/crimes", json=shoplifting()), 409, "person.likely_duplicates")
    assert refused["field"] == "victim"
    assert refused["matches"][0]["family_name"] == "Sandhu"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "crime")) == 0

    chosen = record(api, shoplifting(victim={"person_id": refused["matches"][0]["id"]}))
    assert chosen["victim_id"] == refused["matches"][0]["id"]


def test_bad_parts_of_the_form_are_each_named(api):
    body = shoplifting(offence_code="", place={}, victim={"given_names": ""}, statement=statement(text="  "))
    refused = api.post("/api/v1/scene/crimes", json=body)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"offence_code", "place.line1", "victim.family_name", "statement.text"} <= fields


def test_the_same_idempotency_key_twice_makes_one_crime(db, api):
    first = api.post("/api/v1/scene/crimes", json=shoplifting(), headers={"Idempotency-Key": "scene-7f3a"})
    again = api.post("/api/v1/scene/crimes", json=shoplifting(), headers={"Idempotency-Key": "scene-7f3a"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "crime")) == 1
        assert session.scalar(select(func.count()).select_from(Person).where(Person.family_name == "Sandhu")) == 1


# ---------------------------------------------------------------- photos


def test_a_photo_is_stored_without_its_metadata_but_with_its_position_and_hash(db, api):
    crime_id = record(api)["id"]
    original = photo_with_metadata()
    stored = upload(api, crime_id, original, caption="the empty shelf")
    assert stored.status_code == 201, stored.text
    photo = stored.json()
    assert (photo["lat"], photo["lon"], photo["location_source"]) == (53.025, -2.18, "photo")
    assert photo["received_sha256"] == hashlib.sha256(original).hexdigest()

    served = api.get(photo["url"], headers=REASON)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "private, no-store"
    assert hashlib.sha256(served.content).hexdigest() == photo["sha256"]
    for secret in (b"Acme", b"PhoneCam", b"J Bloggs", b"SN-12345", b"2026:12:01", b"Exif"):
        assert secret not in served.content
    image = Image.open(io.BytesIO(served.content))
    assert (image.format, image.size, dict(image.getexif())) == ("JPEG", (64, 48), {})
    assert "comment" not in image.info and "xmp" not in image.info
    with db.read() as session:
        blob = session.scalars(select(SceneBlob).join(ScenePhoto, ScenePhoto.blob_id == SceneBlob.id)).one()
        assert blob.sha256 == photo["sha256"] == hashlib.sha256(blob.data).hexdigest()
        read = session.scalars(select(AuditEntry).where(AuditEntry.action == "scene.photo_read")).one()
        assert read.reason == REASON["X-Bluelamp-Reason"]


def test_a_photo_without_a_position_takes_the_phones(api):
    crime_id = record(api)["id"]
    out = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 90, 200, 255)).save(out, "PNG")
    photo = upload(api, crime_id, out.getvalue(), "shelf.png", "image/png", lat="53.02", lon="-2.17").json()
    assert (photo["content_type"], photo["lat"], photo["lon"], photo["location_source"]) == (
        "image/png",
        53.02,
        -2.17,
        "phone",
    )


def test_a_text_file_named_like_a_photo_is_refused(db, api):
    crime_id = record(api)["id"]
    refused = upload(api, crime_id, b"these are my notes, not a photo\n", "evidence.jpg", "image/jpeg")
    body = assert_problem(refused, 422, "scene.photo_not_image")
    assert body["errors"] == [
        {"field": "photo", "message": "this file is not a photo: use a JPEG, PNG or WebP picture"}
    ]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ScenePhoto)) == 0


def test_a_photo_over_the_size_limit_is_refused(api):
    crime_id = record(api)["id"]
    huge = b"\xff\xd8\xff\xe0" + bytes(scene.MAX_PHOTO_BYTES)
    body = assert_problem(upload(api, crime_id, huge), 413, "scene.photo_too_large")
    assert body["errors"][0]["field"] == "photo" and "the most is 20 MB" in body["errors"][0]["message"]


def test_another_forces_crime_photos_are_never_served(db, api):
    crime_id = record(api)["id"]
    photo = upload(api, crime_id, photo_with_metadata()).json()
    outsider = {**bearer(db, make_user(db, "investigator", force_id="west-yorkshire", clearance="SECRET")), **REASON}
    hidden = api.get(photo["url"], headers=outsider)
    missing = api.get(f"/api/v1/crimes/{'0' * len(crime_id)}/photos/{'1' * len(photo['id'])}", headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert not hidden.content.startswith(b"\xff\xd8")
    ids = {crime_id: "C", photo["id"]: "P", "0" * len(crime_id): "C", "1" * len(photo["id"]): "P"}
    details = []
    for answer in (hidden, missing):
        detail = answer.json()["detail"]
        for value, name in ids.items():
            detail = detail.replace(value, name)
        details.append(detail)
    assert details[0] == details[1]
    assert api.get(f"/api/v1/crimes/{crime_id}/scene", headers=outsider).status_code == 404
    # A photo asked for under another crime of the same force is not found either.
    other_crime = record(api, shoplifting(victim=None))["id"]
    assert api.get(f"/api/v1/crimes/{other_crime}/photos/{photo['id']}", headers=REASON).status_code == 404


# ---------------------------------------------------------------- witness statements


def test_a_statement_is_signed_and_then_locked_even_against_sql(db, api):
    crime_id = record(api)["id"]
    taken = api.post(f"/api/v1/crimes/{crime_id}/statements", json=statement(), headers={"Idempotency-Key": "st-1"})
    assert taken.status_code == 201, taken.text
    out = taken.json()
    assert out["declaration"] == scene.DECLARATION and out["taken_by"] == "pc-whitmore"
    signature_png = api.get(out["signature_url"], headers=REASON)
    assert hashlib.sha256(signature_png.content).hexdigest() == out["signature_sha256"]
    with db.read() as session:
        row = session.get(SceneStatement, out["id"])
        assert scene.statement_hash(row, session.get(Event, crime_id)) == row.content_sha256 == out["content_sha256"]
        assert session.scalars(select(Link).where(Link.to_id == crime_id, Link.role == "witness")).one()

    for sql in (
        "UPDATE mobile_scene_statement SET text = 'I saw nothing' WHERE id = :id",
        "DELETE FROM mobile_scene_statement WHERE id = :id",
        "UPDATE mobile_scene_blob SET data = :nothing WHERE id = :blob",
    ):
        with pytest.raises(DBAPIError) as refused, db.unit_of_work() as session:
            session.execute(text(sql), {"id": out["id"], "blob": row.signature_blob_id, "nothing": b""})
        assert "cannot be changed" in str(refused.value)
    with db.read() as session:
        assert session.get(SceneStatement, out["id"]).text.startswith("I saw a man in a black hoodie")


def test_a_statement_taken_with_the_crime_is_recorded_with_it(db, api):
    recorded = record(api, shoplifting(statement=statement()))
    assert recorded["statement"]["witness_id"]
    seen = api.get(f"/api/v1/crimes/{recorded['id']}/scene", headers=REASON).json()
    assert seen["statements"][0]["text"].startswith("I saw a man")
    assert seen["statements"][0]["witness"] == "OKAFOR, Tom (1978)"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"text": "   "}, "text", "scene.statement_empty"),
        ({"signature": ""}, "signature", "scene.signature_missing"),
        ({"signature": signature(blank=True)}, "signature", "scene.signature_missing"),
        (
            {"signature": "data:image/png;base64," + base64.b64encode(b"not a png").decode()},
            "signature",
            "scene.signature_invalid",
        ),
    ],
    ids=["empty", "unsigned", "blank", "not-png"],
)
def test_an_empty_or_unsigned_statement_is_refused(db, api, changes, field, code):
    crime_id = record(api)["id"]
    refused = api.post(f"/api/v1/crimes/{crime_id}/statements", json=statement(**changes))
    body = assert_problem(refused, 422, code)
    assert field in {e["field"] for e in body["errors"]}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SceneStatement)) == 0


def test_a_statement_signed_on_the_phone_keeps_the_phones_time(api):
    crime_id = record(api)["id"]
    signed = (NOW - timedelta(hours=2)).isoformat()
    out = api.post(f"/api/v1/crimes/{crime_id}/statements", json=statement(signed_at=signed)).json()
    assert (out["signed_at"], out["received_at"]) == ("2026-12-01T07:00:00Z", "2026-12-01T09:00:00Z")


# ---------------------------------------------------------------- the page


def signed_in(app, db, clock, user) -> TestClient:
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=clock, policy=sessions.SessionPolicy()
        )
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    client.cookies.set("bl_session", token)
    client.headers["Accept"] = "text/html"
    return client


def test_the_crime_page_offers_common_offences_first_and_the_declaration(app, db, clock, officer):
    with signed_in(app, db, clock, officer) as browser:
        page = browser.get("/m/crime")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="scene-form"' in html and "Shoplifting" in html
    assert html.index('"code": "46"') < html.index('"code": "17A"')  # common first, then the table's order
    assert "true to the best of my knowledge and belief" in html
    assert "need a connection" in html  # photos are not queued offline: the page says so


def test_the_crime_page_starts_from_the_incident_the_officer_attends(app, db, clock, officer):
    incident = make_incident(db, clock)
    unit = make_unit(db)
    with db.unit_of_work() as session:
        tracking.add_officer(
            session, force_actor(), tracking.AddOfficer("4721", "Dan Whitmore", user_id=officer.id), clock
        )
        tracking.book_on(
            session, force_actor(), unit.id, ["4721"], NOW - timedelta(hours=1), NOW + timedelta(hours=7), clock
        )
    send_unit(db, incident, clock, unit=unit, arrived=True)
    with signed_in(app, db, clock, officer) as browser:
        attending = browser.get("/m/crime").text
        named = browser.get(f"/m/crime?incident={incident.id}").text
        unknown = browser.get("/m/crime?incident=no-such-incident")
    for html in (attending, named):
        assert incident.reference in html and f'value="{incident.id}"' in html
    assert unknown.status_code == 200 and "no incident" in unknown.text.lower()
