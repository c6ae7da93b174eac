"""MoPI disposal of a crime recorded at the scene: its investigation log, photos, suspect
descriptions, signed witness statements and the stored bytes of the photos and signatures
all go, the tombstone stays and the audit says how many of each went; until then (and for
every crime not disposed of) the database still refuses to delete them, and it refuses to
change them always; migration 0010 undone puts the old refusals back."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime

import pytest
from alembic import command
from PIL import Image, ImageDraw
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.mobile import scene
from bluelamp.mobile.model import SceneBlob, ScenePhoto, SceneStatement, SceneSuspect
from bluelamp.records import crime, mopi
from bluelamp.records.model import Crime, Event, InvestigationEntry, Person, Review, Tombstone
from bluelamp.storage import Database, migrate
from tests.factories.access import ensure_force
from tests.factories.records import officer

# A Tuesday in December (GMT): UK time and UTC agree.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")


def do(db, work, *args, **kwargs):
    with db.unit_of_work() as session:
        return work(session, *args, **kwargs)


def count(db, model, *conditions) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


# ---------------------------------------------------------------- a crime recorded at the scene


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def signature_png() -> bytes:
    image = Image.new("RGBA", (320, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 90), (80, 30), (150, 95), (290, 40)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def scene_crime(db, clock) -> dict:
    """A shoplifting recorded at the scene with a victim and a described suspect, a photo,
    a witness statement signed on the phone and a note in the investigation log; the ids."""
    pc = officer("response_officer")
    recorded = do(
        db,
        scene.record_at_scene,
        pc,
        scene.SceneCrime(
            offence_code="46",
            narrative="Two bottles of whisky taken from the shelf; the suspect ran towards the bus station.",
            place=scene.Place(lat=53.0245, lon=-2.1781, accuracy_m=12, line1="Spar, 14 Parliament Row", town="Hanley"),
            victim=scene.PersonChoice(given_names="Priya", family_name="Sandhu", dob="1990-04-02", confirm_new=True),
            suspects=(scene.SuspectDescription(sex="male", clothing="black hoodie", marks="tattoo on the left hand"),),
        ),
        clock,
    )
    crime_id = recorded.event.id
    photo = do(db, scene.add_photo, pc, crime_id, jpeg(), clock, caption="the empty shelf")
    statement = do(
        db,
        scene.take_statement,
        pc,
        crime_id,
        scene.NewStatement(
            witness=scene.PersonChoice(given_names="Tom", family_name="Okafor", dob="1978", confirm_new=True),
            text="I saw a man in a black hoodie take two bottles and run out.",
            signature_png=signature_png(),
        ),
        clock,
    )
    do(db, crime.add_note, officer(), crime_id, "CCTV asked of the shop manager", clock)
    return {
        "crime": crime_id,
        "photo": photo.id,
        "photo_blob": photo.blob_id,
        "statement": statement.id,
        "signature_blob": statement.signature_blob_id,
        "witness": statement.witness_id,
        "suspect": recorded.suspects[0].id,
        "log": [e.id for e in _log(db, crime_id)],
    }


def _log(db, crime_id) -> list[InvestigationEntry]:
    with db.read() as session:
        return list(session.scalars(select(InvestigationEntry).where(InvestigationEntry.event_id == crime_id)))


def dispose(db, clock, crime_id: str) -> mopi.Decided:
    """The crime's review comes due and a data protection officer disposes of it."""
    with db.unit_of_work() as session:
        session.get(Event, crime_id).review_at = TODAY
    with db.unit_of_work() as session:
        mopi.review_due(session, clock)
    with db.read() as session:
        review = session.scalars(select(Review).where(Review.record_id == crime_id)).one()
    dpo = officer("data_protection_officer", name="dpo-lee", reason=None)
    return do(db, mopi.decide, dpo, review.id, "dispose", "undetected, past retention", clock)


# What a raw SQL statement against each protected row says when the database refuses it.
def deletes(ids: dict) -> list[tuple[str, dict, str]]:
    return [
        ("DELETE FROM records_investigation_log WHERE id = :id", {"id": ids["log"][0]}, "append-only"),
        ("DELETE FROM mobile_scene_photo WHERE id = :id", {"id": ids["photo"]}, "cannot be changed"),
        ("DELETE FROM mobile_scene_statement WHERE id = :id", {"id": ids["statement"]}, "cannot be changed"),
        ("DELETE FROM mobile_scene_blob WHERE id = :id", {"id": ids["photo_blob"]}, "cannot be changed"),
        ("DELETE FROM mobile_scene_blob WHERE id = :id", {"id": ids["signature_blob"]}, "cannot be changed"),
    ]


def updates(ids: dict) -> list[tuple[str, dict, str]]:
    return [
        (
            "UPDATE records_investigation_log SET text = 'rewritten' WHERE id = :id",
            {"id": ids["log"][0]},
            "append-only",
        ),
        ("UPDATE mobile_scene_photo SET caption = 'moved' WHERE id = :id", {"id": ids["photo"]}, "cannot be changed"),
        (
            "UPDATE mobile_scene_statement SET text = 'I saw nothing' WHERE id = :id",
            {"id": ids["statement"]},
            "cannot be changed",
        ),
        ("UPDATE mobile_scene_blob SET size = 0 WHERE id = :id", {"id": ids["photo_blob"]}, "cannot be changed"),
        ("UPDATE mobile_scene_blob SET size = 0 WHERE id = :id", {"id": ids["signature_blob"]}, "cannot be changed"),
    ]


def assert_refused(db, statements) -> None:
    for sql, params, message in statements:
        with pytest.raises(DBAPIError) as refused, db.unit_of_work() as session:
            session.execute(text(sql), params)
        assert message in str(refused.value), sql


def assert_intact(db, ids: dict) -> None:
    assert len(_log(db, ids["crime"])) == len(ids["log"])
    assert count(db, ScenePhoto, ScenePhoto.id == ids["photo"]) == 1
    assert count(db, SceneSuspect, SceneSuspect.id == ids["suspect"]) == 1
    assert count(db, SceneStatement, SceneStatement.id == ids["statement"]) == 1
    assert count(db, SceneBlob, SceneBlob.id.in_([ids["photo_blob"], ids["signature_blob"]])) == 2


# ---------------------------------------------------------------- disposal


def test_disposing_of_a_crime_removes_its_log_photos_suspects_statements_and_their_bytes(db, clock):
    shoplifting = scene_crime(db, clock)
    assert len(shoplifting["log"]) >= 4  # recorded, suspect described, photo, statement, note...

    decided = dispose(db, clock, shoplifting["crime"])

    crime_id = shoplifting["crime"]
    assert _log(db, crime_id) == []
    assert count(db, ScenePhoto, ScenePhoto.event_id == crime_id) == 0
    assert count(db, SceneSuspect, SceneSuspect.event_id == crime_id) == 0
    assert count(db, SceneStatement, SceneStatement.event_id == crime_id) == 0
    assert count(db, SceneBlob, SceneBlob.id.in_([shoplifting["photo_blob"], shoplifting["signature_blob"]])) == 0
    removed = decided.removed
    assert removed["investigation_log_entries"] == len(shoplifting["log"])
    assert (removed["scene_photos"], removed["scene_suspects"], removed["scene_statements"]) == (1, 1, 1)
    assert removed["scene_blobs"] == 2
    assert removed["victim_entries"] == 1 and removed["links"] >= 2  # the victim and the witness at least
    with db.read() as session:
        # The tombstone: the event keeps its id, blanked, and the crime its classification.
        event = session.get(Event, crime_id)
        assert (event.summary, event.narrative, event.disposed_at) == ("", "", NOW)
        assert session.get(Crime, crime_id).offence_code == "46"
        tombstone = session.scalars(select(Tombstone).where(Tombstone.record_id == crime_id)).one()
        assert (tombstone.record_type, tombstone.disposed_by, tombstone.reason) == (
            "event",
            "dpo-lee",
            "undetected, past retention",
        )
        # The witness is a person record of their own, with its own review: still there.
        assert session.get(Person, shoplifting["witness"]).disposed_at is None
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "record.dispose", AuditEntry.record_id == crime_id)
        ).one()
    assert json.loads(entry.detail)["removed"] == removed


def test_until_a_crime_is_disposed_of_the_database_refuses_to_delete_or_change_its_evidence(db, clock):
    shoplifting = scene_crime(db, clock)
    assert_refused(db, deletes(shoplifting))
    assert_refused(db, updates(shoplifting))
    assert_intact(db, shoplifting)


def test_disposing_of_one_crime_leaves_every_other_crimes_evidence_locked(db, clock):
    disposed = scene_crime(db, clock)
    kept = scene_crime(db, clock)
    dispose(db, clock, disposed["crime"])

    assert_intact(db, kept)
    assert_refused(db, deletes(kept))
    assert_refused(db, updates(kept))
    with db.read() as session:
        photo = session.get(ScenePhoto, kept["photo"])
        statement = session.get(SceneStatement, kept["statement"])
        assert photo.caption == "the empty shelf"
        assert scene.statement_hash(statement, session.get(Event, kept["crime"])) == statement.content_sha256
        for blob_id in (kept["photo_blob"], kept["signature_blob"]):
            blob = session.get(SceneBlob, blob_id)
            assert hashlib.sha256(blob.data).hexdigest() == blob.sha256
        assert session.get(SceneBlob, kept["signature_blob"]).sha256 == statement.signature_sha256


def test_the_rows_of_a_disposed_crime_still_cannot_be_changed_before_they_go(db, clock):
    """Marking an event disposed of lets its evidence be deleted, never rewritten."""
    shoplifting = scene_crime(db, clock)
    with db.unit_of_work() as session:
        session.get(Event, shoplifting["crime"]).disposed_at = NOW
    assert_refused(db, updates(shoplifting))
    # A blob is deleted only after the photo or statement that refers to it.
    assert_refused(db, deletes(shoplifting)[3:])
    assert_intact(db, shoplifting)


# ---------------------------------------------------------------- the migration, undone


def _deletes_log(database: Database, crime_id: str) -> bool:
    """Whether the database lets a crime's investigation log be deleted (rolled back either way)."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        try:
            connection.execute(text("DELETE FROM records_investigation_log WHERE event_id = :id"), {"id": crime_id})
            return True
        except DBAPIError as refused:
            assert "append-only" in str(refused)
            return False
        finally:
            transaction.rollback()


def test_undoing_migration_0010_puts_the_old_refusals_back(database_factory, clock):
    database = Database.from_url(database_factory.new_url("disposal"))
    try:
        migrate.upgrade(database)
        ensure_force(database, "staffordshire")
        burglary = do(
            database,
            crime.record_crime,
            officer(),
            crime.NewCrime(source="direct", offence_code="28E", summary="house burgled, laptop taken"),
            clock,
        )
        with database.unit_of_work() as session:
            session.get(Event, burglary.event.id).disposed_at = NOW
        assert _deletes_log(database, burglary.event.id)

        command.downgrade(migrate.alembic_config(database), "0009")
        assert not _deletes_log(database, burglary.event.id)

        migrate.upgrade(database)
        assert _deletes_log(database, burglary.event.id)
        with pytest.raises(DBAPIError, match="append-only"), database.unit_of_work() as session:
            session.execute(text("UPDATE records_investigation_log SET text = 'rewritten'"))
    finally:
        database.dispose()
