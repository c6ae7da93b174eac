"""The pocket notebook over HTTP, as the phone uses it: entries written, signed and
corrected with Idempotency-Keys (the offline outbox sends again), clear refusals, photos,
the PDF for court and its check against the store, and the page at /m/notebook."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader

from bluelamp.access import sessions
from bluelamp.access.model import AuditEntry
from bluelamp.clock import to_local
from bluelamp.notebook.chain import ATTACHMENT_NAME
from bluelamp.notebook.photos import MAX_PHOTO_BYTES
from tests.factories.access import bearer
from tests.test_notebook import jpeg_with_metadata, officer


class Phone:
    """An officer's phone: bearer-authenticated calls to the notebook API."""

    def __init__(self, client: TestClient, db, actor) -> None:
        self.client, self.actor = client, actor
        from bluelamp.access.model import User

        with db.read() as session:
            user = session.get(User, actor.user_id)
        self.headers = bearer(db, user)

    def post(self, path: str, body: dict | None = None, key: str | None = None):
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(path, json=body if body is not None else {}, headers=headers)

    def patch(self, path: str, body: dict, key: str | None = None):
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.patch(path, json=body, headers=headers)

    def get(self, path: str, **params):
        return self.client.get(path, params=params, headers=self.headers)


@pytest.fixture
def phone(client, db):
    return Phone(client, db, officer(db, "Dan Whitmore", collar="4721"))


def now_iso(minutes_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def today() -> str:
    return to_local(datetime.now(UTC)).date().isoformat()


def photo_field(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def test_an_entry_is_written_then_signed_and_listed(phone):
    draft = phone.post("/api/v1/notebook/entries", {"text": "Called to Hanley bus station.", "written_at": now_iso(2)})
    assert draft.status_code == 201, draft.text
    assert draft.json()["signed"] is False and draft.json()["seq"] is None
    entry_id = draft.json()["id"]
    signed = phone.post(f"/api/v1/notebook/entries/{entry_id}/sign", {"signed_at": now_iso(1)})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["signed"] is True and body["seq"] == 1 and len(body["hash"]) == 64
    assert body["written_at"] < body["received_at"]  # the phone's time and the server's, both kept
    listed = phone.get("/api/v1/notebook/entries").json()
    assert listed["officer"]["collar_number"] == "4721" and listed["officer"]["name"] == "Dan Whitmore"
    assert [e["id"] for e in listed["entries"]] == [entry_id]


def test_signing_an_empty_entry_is_refused_with_a_message_for_the_officer(phone):
    refused = phone.post("/api/v1/notebook/entries", {"text": "  ", "sign": True})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "notebook.empty_entry"
    assert problem["detail"] == "An empty entry cannot be signed: write what you saw, heard or did first."
    assert phone.get("/api/v1/notebook/entries").json()["entries"] == []


def test_the_same_idempotency_key_twice_stores_one_entry(phone):
    key = str(uuid.uuid4())
    body = {"text": "Written offline, sent twice.", "written_at": now_iso(30), "sign": True}
    first = phone.post("/api/v1/notebook/entries", body, key=key)
    again = phone.post("/api/v1/notebook/entries", body, key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    entries = phone.get("/api/v1/notebook/entries").json()["entries"]
    assert len(entries) == 1 and entries[0]["seq"] == 1
    sign_key = str(uuid.uuid4())
    draft = phone.post("/api/v1/notebook/entries", {"text": "a draft"}).json()
    assert phone.post(f"/api/v1/notebook/entries/{draft['id']}/sign", key=sign_key).json()["seq"] == 2
    replay = phone.post(f"/api/v1/notebook/entries/{draft['id']}/sign", key=sign_key)
    assert replay.status_code == 200 and replay.json()["seq"] == 2
    twice = phone.post(f"/api/v1/notebook/entries/{draft['id']}/sign")  # a new key: a real second signing
    assert twice.status_code == 409 and twice.json()["code"] == "notebook.signed"


def test_a_correction_refers_to_the_original_and_both_are_listed_together(phone):
    original = phone.post("/api/v1/notebook/entries", {"text": "Blue Ford Focus.", "sign": True}).json()
    correction = phone.post(
        f"/api/v1/notebook/entries/{original['id']}/corrections", {"text": "It was green.", "sign": True}
    )
    assert correction.status_code == 201, correction.text
    assert correction.json()["corrects"]["id"] == original["id"] and correction.json()["corrects"]["seq"] == 1
    entries = {e["id"]: e for e in phone.get("/api/v1/notebook/entries").json()["entries"]}
    assert entries[original["id"]]["text"] == "Blue Ford Focus."
    assert [c["text"] for c in entries[original["id"]]["corrections"]] == ["It was green."]
    changed = phone.patch(f"/api/v1/notebook/entries/{original['id']}", {"text": "rewritten"})
    assert changed.status_code == 409 and changed.json()["code"] == "notebook.signed"


def test_a_draft_is_amended_and_signed_in_one_step(phone):
    draft = phone.post("/api/v1/notebook/entries", {"text": "Half a thought"}).json()
    done = phone.patch(f"/api/v1/notebook/entries/{draft['id']}", {"text": "A whole thought.", "sign": True})
    assert done.status_code == 200, done.text
    assert done.json()["text"] == "A whole thought." and done.json()["signed"] is True


def test_a_photo_is_stored_without_its_metadata_and_served_with_its_hash(phone):
    created = phone.post(
        "/api/v1/notebook/entries", {"text": "The damaged door.", "photo": photo_field(jpeg_with_metadata())}
    )
    assert created.status_code == 201, created.text
    photo = created.json()["photo"]
    assert (photo["lat"], photo["lon"]) == (53.003, -2.18)
    served = phone.get(photo["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(served.content).hexdigest() == photo["sha256"] == served.headers["X-Content-SHA256"]
    assert dict(Image.open(io.BytesIO(served.content)).getexif()) == {}


def test_a_photo_of_the_wrong_type_or_too_large_is_refused_and_nothing_is_stored(phone):
    gif = phone.post("/api/v1/notebook/entries", {"text": "x", "photo": photo_field(b"GIF89a\x01\x00", "image/gif")})
    assert gif.status_code == 422 and gif.json()["code"] == "notebook.photo_type"
    assert "JPEG, PNG or WebP" in gif.json()["detail"]
    big = base64.b64encode(b"\xff\xd8" + b"\0" * MAX_PHOTO_BYTES).decode()
    large = phone.post("/api/v1/notebook/entries", {"text": "x", "photo": big})
    assert large.status_code == 413 and large.json()["code"] == "notebook.photo_too_large"
    assert "10 MB" in large.json()["detail"]
    assert phone.get("/api/v1/notebook/entries").json()["entries"] == []


def test_the_pdf_prints_the_hash_of_its_content_and_verifies_against_the_store(phone):
    phone.post("/api/v1/notebook/entries", {"text": "Arrested Jason Smyth at 14:10.", "sign": True})
    phone.post("/api/v1/notebook/entries", {"text": "Cautioned; he replied: no comment.", "sign": True})
    made = phone.get("/api/v1/notebook/pdf", **{"from": today(), "to": today()})
    assert made.status_code == 200, made.text
    assert made.headers["content-type"] == "application/pdf"
    assert made.headers["content-disposition"].startswith('attachment; filename="notebook-4721-')
    reader = PdfReader(io.BytesIO(made.content))
    words = "\n".join(p.extract_text() for p in reader.pages)
    assert "Arrested Jason Smyth at 14:10." in words and "Cautioned; he replied: no comment." in words
    printed = re.search(r"Content SHA-256:\s*([0-9a-f]{64})", words).group(1)
    attached = reader.attachments[ATTACHMENT_NAME][0]
    assert printed == hashlib.sha256(attached).hexdigest() == made.headers["X-Content-SHA256"]

    checked = phone.client.post(
        "/api/v1/notebook/verify",
        files={"file": ("notebook.pdf", made.content, "application/pdf")},
        headers=phone.headers,
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["matches"] is True and checked.json()["recomputed_sha256"] == printed
    assert phone.get("/api/v1/notebook/chain").json() == {
        "ok": True,
        "checked": 2,
        "first_bad_seq": None,
        "problem": None,
    }


def test_a_pdf_needs_a_period(phone):
    refused = phone.get("/api/v1/notebook/pdf")
    assert refused.status_code == 422
    assert {p["field"] for p in refused.json()["errors"]} == {"from", "to"}


def test_another_officer_cannot_read_my_entries_or_photos(client, db, phone):
    mine = phone.post(
        "/api/v1/notebook/entries", {"text": "Mine alone.", "photo": photo_field(jpeg_with_metadata())}
    ).json()
    colleague = Phone(client, db, officer(db, "Priya Shah"))
    for path in [f"/api/v1/notebook/entries/{mine['id']}", mine["photo"]["url"]]:
        hidden = colleague.get(path)
        missing = colleague.get(path.replace(path.rsplit("/", 1)[1], "0" * 32))
        assert hidden.status_code == missing.status_code == 404
    assert colleague.post(f"/api/v1/notebook/entries/{mine['id']}/sign").status_code == 404
    assert colleague.get("/api/v1/notebook/entries").json()["entries"] == []
    with db.read() as session:
        refusals = session.query(AuditEntry).filter(
            AuditEntry.actor_user_id == colleague.actor.user_id, AuditEntry.outcome == "denied"
        )
        assert {r.record_id for r in refusals} >= {mine["id"], mine["photo"]["id"]}


def test_a_supervisor_is_refused_the_notebook_api(client, db):
    sergeant = Phone(client, db, officer(db, "Sgt Kaur", role="supervisor"))
    assert sergeant.get("/api/v1/notebook/entries").status_code == 403


def test_the_notebook_page_frames_the_app_and_loads_its_script(app, db, clock):
    actor = officer(db)
    from bluelamp.access.model import User

    with db.unit_of_work() as session:
        user = session.get(User, actor.user_id)
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=clock, policy=sessions.SessionPolicy()
        )
    with TestClient(app, base_url="https://testserver") as browser:
        browser.cookies.set("bl_session", token)
        page = browser.get("/m/notebook")
    assert page.status_code == 200
    html = page.text
    assert 'name="csrf-token"' in html
    assert "/static/mobile_notebook/notebook.js" in html
    assert 'data-testid="notebook-compose"' in html and 'data-testid="notebook-entries"' in html
    assert 'aria-current="page"' in html and "Notebook" in html
