"""The pocket notebook (PNB rules): entries with the phone's and the server's times, signed
and then locked (the database refuses changes too), corrections as new entries, a hash
chain that names an altered or missing entry, photos checked and stripped of metadata,
the PDF for court whose printed hash can be recomputed, and notebooks that are their
officer's alone."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import ExifTags, Image
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bluelamp.access.model import AuditEntry
from bluelamp.access.policy import Actor, Role
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound, TooLarge
from bluelamp.notebook import service
from bluelamp.notebook.chain import ATTACHMENT_NAME, GENESIS
from bluelamp.notebook.model import NotebookEntry, NotebookPhoto
from bluelamp.notebook.photos import MAX_PHOTO_BYTES
from bluelamp.tracking import service as tracking
from tests.conftest import BACKEND
from tests.factories.access import make_user

# A Tuesday afternoon in March (GMT: UK time and UTC agree).
NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
TODAY = date(2026, 3, 3)
_collars = itertools.count(4700)


@pytest.fixture
def clock():
    return FixedClock(NOW)


def officer(db, name: str = "Dan Whitmore", role: str = "response_officer", *, collar: str | None = None) -> Actor:
    """A signed-in officer (a user with an officer record: name and collar number)."""
    user = make_user(db, role)
    collar = collar or str(next(_collars))
    with db.unit_of_work() as session:
        tracking.add_officer(
            session,
            Actor.system("staffordshire", "test"),
            tracking.AddOfficer(collar, name, user_id=user.id),
            FixedClock(NOW, _counter=10_000_000 + int(collar)),
        )
    return Actor(
        user_id=user.id, username=user.username, force_id="staffordshire", roles=frozenset({Role(role)}), via="test"
    )


def do(db, fn, *args, **kwargs):
    with db.unit_of_work() as session:
        return fn(session, *args, **kwargs)


def write(db, clock, actor, text_: str = "Stopped YX19 KTD on Lichfield Street.", **kwargs) -> service.EntryView:
    return do(db, service.write_entry, actor, service.Writing(text=text_, **kwargs), clock)


def signed(db, clock, actor, text_: str = "Spoke to the driver.", **kwargs) -> service.EntryView:
    return write(db, clock, actor, text_, sign=True, **kwargs)


def jpeg_with_metadata(size=(64, 48)) -> bytes:
    """A phone photo: EXIF with the maker, model, orientation and GPS (53.003 N, 2.18 W)."""
    picture = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Handset 12 serial 0042"
    exif[ExifTags.Base.Orientation] = 6  # taken sideways: the stored photo must be upright
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (53.0, 0.0, 10.8),
            ExifTags.GPS.GPSLongitudeRef: "W",
            ExifTags.GPS.GPSLongitude: (2.0, 10.0, 48.0),
        }
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=b"owner: Dan's phone")
    return out.getvalue()


def without_triggers(session) -> None:
    """What an insider with direct database access could do first (rolled back after the test)."""
    if BACKEND == "postgresql":
        session.execute(text("ALTER TABLE notebook_entry DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER notebook_entry_signed_no_update"))
        session.execute(text("DROP TRIGGER notebook_entry_signed_no_delete"))


# ---------------------------------------------------------------- writing and signing


def test_an_entry_sent_from_the_outbox_keeps_the_phones_time_and_the_servers_and_is_signed(db, clock):
    me = officer(db)
    written = NOW - timedelta(minutes=25)  # written offline, sent when the signal came back
    draft = write(db, clock, me, "Arrived at Hanley bus station.", written_at=written, lat=53.0245, lon=-2.1766)
    assert draft.entry.seq is None and not draft.entry.signed
    assert draft.entry.written_at == written and draft.entry.received_at == NOW
    clock.advance(timedelta(minutes=1))
    view = do(db, service.sign_entry, me, draft.entry.id, NOW - timedelta(minutes=24), clock)
    entry = view.entry
    assert entry.signed and entry.seq == 1 and entry.prev_hash == GENESIS
    assert entry.signed_at == NOW - timedelta(minutes=24) and entry.sign_received_at == NOW + timedelta(minutes=1)
    assert entry.written_at == written and entry.received_at == NOW
    assert (entry.lat, entry.lon) == (53.0245, -2.1766)
    assert re.fullmatch(r"[0-9a-f]{64}", entry.hash)
    second = signed(db, clock, me, "Left the scene.")
    assert second.entry.seq == 2 and second.entry.prev_hash == entry.hash


def test_signing_an_empty_entry_is_refused_with_a_clear_message_and_nothing_is_stored(db, clock):
    me = officer(db)
    with pytest.raises(InvalidInput) as refused:
        write(db, clock, me, "   \n", sign=True)
    assert refused.value.code == "notebook.empty_entry"
    assert "empty entry cannot be signed" in refused.value.detail
    photo_only = write(db, clock, me, "", photo=jpeg_with_metadata())  # a photo first, words later
    with pytest.raises(InvalidInput) as again:
        do(db, service.sign_entry, me, photo_only.entry.id, None, clock)
    assert again.value.code == "notebook.empty_entry"
    listed = do(db, service.notebook, me, service.period_of(None, None, clock), clock)
    assert [v.entry.id for v in listed.entries] == [photo_only.entry.id]
    described = do(
        db, service.amend_entry, me, photo_only.entry.id, service.Writing("The smashed window.", sign=True), clock
    )
    assert described.entry.signed and described.photo is not None


def test_a_signed_entry_cannot_be_amended_or_signed_again(db, clock):
    me = officer(db)
    entry = signed(db, clock, me).entry
    with pytest.raises(Conflict) as amended:
        do(db, service.amend_entry, me, entry.id, service.Writing("rewritten"), clock)
    assert amended.value.code == "notebook.signed"
    with pytest.raises(Conflict):
        do(db, service.sign_entry, me, entry.id, None, clock)
    assert do(db, service.entry, me, entry.id, clock).entry.text == "Spoke to the driver."


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE notebook_entry SET text = 'rewritten' WHERE id = :id",
        "UPDATE notebook_entry SET written_at = received_at WHERE id = :id",
        "DELETE FROM notebook_entry WHERE id = :id",
    ],
    ids=["text", "time", "delete"],
)
def test_the_database_refuses_to_change_a_signed_entry(db, clock, statement):
    me = officer(db)
    entry = signed(db, clock, me).entry
    with pytest.raises(DBAPIError) as caught, db.unit_of_work() as session:
        session.execute(text(statement), {"id": entry.id})
    assert "signed notebook entry cannot be changed" in str(caught.value)
    with db.read() as session:
        assert session.get(NotebookEntry, entry.id).text == "Spoke to the driver."


def test_a_draft_may_still_change_but_a_photo_never(db, clock):
    me = officer(db)
    draft = write(db, clock, me, "first words", photo=jpeg_with_metadata())
    with db.unit_of_work() as session:
        session.execute(text("UPDATE notebook_entry SET text = 'second words' WHERE id = :id"), {"id": draft.entry.id})
    with pytest.raises(DBAPIError) as caught, db.unit_of_work() as session:
        session.execute(text("UPDATE notebook_photo SET lat = 0 WHERE id = :id"), {"id": draft.photo.id})
    assert "photo cannot be changed" in str(caught.value)


def test_a_correction_is_a_new_entry_referring_to_the_original_which_stays_as_it_was(db, clock):
    me = officer(db)
    original = signed(db, clock, me, "The car was a blue Ford Focus.").entry
    clock.advance(timedelta(minutes=10))
    correction = do(
        db, service.correct_entry, me, original.id, service.Writing("Correction: a green Ford Focus.", sign=True), clock
    )
    assert correction.entry.corrects_id == original.id and correction.entry.seq == 2
    assert correction.corrects.id == original.id
    shown = do(db, service.entry, me, original.id, clock)
    assert shown.entry.text == "The car was a blue Ford Focus."
    assert [c.id for c in shown.corrections] == [correction.entry.id]
    listed = do(db, service.notebook, me, service.period_of(TODAY, TODAY, clock), clock)
    by_id = {v.entry.id: v for v in listed.entries}
    assert [c.id for c in by_id[original.id].corrections] == [correction.entry.id]
    assert by_id[correction.entry.id].corrects.id == original.id
    draft = write(db, clock, me, "unsigned")
    with pytest.raises(Conflict) as refused:
        do(db, service.correct_entry, me, draft.entry.id, service.Writing("x", sign=True), clock)
    assert refused.value.code == "notebook.not_signed"


# ---------------------------------------------------------------- the hash chain


def test_the_chain_of_an_untouched_notebook_verifies_and_is_per_officer(db, clock):
    me, colleague = officer(db), officer(db, "Priya Shah")
    for n in range(3):
        signed(db, clock, me, f"entry {n}")
    assert signed(db, clock, colleague, "my first").entry.seq == 1
    assert do(db, service.check_chain, me, clock) == service.ChainCheck(True, 3)
    assert do(db, service.check_chain, colleague, clock).ok


def test_the_chain_names_an_entry_altered_behind_the_triggers(db, clock):
    me = officer(db)
    entries = [signed(db, clock, me, f"entry {n}").entry for n in range(3)]
    with db.unit_of_work() as session:
        without_triggers(session)
        session.execute(
            text("UPDATE notebook_entry SET text = 'nothing happened' WHERE id = :id"), {"id": entries[1].id}
        )
    result = do(db, service.check_chain, me, clock)
    assert not result.ok and result.first_bad_seq == 2 and "edited" in result.problem


def test_the_chain_names_a_gap_and_entries_cut_off_the_end(db, clock):
    me = officer(db)
    entries = [signed(db, clock, me, f"entry {n}").entry for n in range(4)]
    with db.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM notebook_entry WHERE id = :id"), {"id": entries[3].id})
    cut = do(db, service.check_chain, me, clock)
    assert not cut.ok and "removed from the end" in cut.problem
    with db.unit_of_work() as session:
        session.execute(text("DELETE FROM notebook_entry WHERE id = :id"), {"id": entries[1].id})
    gap = do(db, service.check_chain, me, clock)
    assert not gap.ok and gap.first_bad_seq == 2 and "missing" in gap.problem


# ---------------------------------------------------------------- photos


def test_a_photo_is_stored_without_its_metadata_upright_with_its_location_and_hashes(db, clock):
    me = officer(db)
    raw = jpeg_with_metadata()
    view = write(db, clock, me, "Damage to the bus shelter.", photo=raw)
    with db.read() as session:
        stored = session.get(NotebookPhoto, view.photo.id)
        data = stored.data
        assert stored.content_type == "image/jpeg"
        assert (stored.lat, stored.lon) == (53.003, -2.18)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.received_sha256 == hashlib.sha256(raw).hexdigest()
        assert (stored.width, stored.height) == (48, 64)
    back = Image.open(io.BytesIO(data))
    assert dict(back.getexif()) == {}
    assert "exif" not in back.info and "comment" not in back.info
    assert b"PhoneCo" not in data and b"Handset" not in data and b"Dan's phone" not in data


def test_a_phones_multi_picture_jpeg_is_stored_as_a_plain_jpeg(db, clock):
    me = officer(db)
    first, second = Image.new("RGB", (40, 30), (255, 0, 0)), Image.new("RGB", (40, 30), (0, 255, 0))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    view = write(db, clock, me, "Two pictures in one file.", photo=out.getvalue())
    assert view.photo.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(view.photo.data)).format == "JPEG"


@pytest.mark.parametrize(
    "raw",
    [b"%PDF-1.7 not a photo", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", b""],
    ids=["pdf", "gif", "empty"],
)
def test_a_photo_of_the_wrong_type_is_refused(db, clock, raw):
    me = officer(db)
    with pytest.raises(InvalidInput) as refused:
        write(db, clock, me, "x", photo=raw)
    assert refused.value.code == "notebook.photo_type"
    assert "JPEG, PNG or WebP" in refused.value.detail or "empty" in refused.value.detail


def test_a_photo_over_the_limit_is_refused_before_anything_is_stored(db, clock):
    me = officer(db)
    with pytest.raises(TooLarge) as refused:
        write(db, clock, me, "x", photo=b"\xff\xd8" + b"\0" * MAX_PHOTO_BYTES)
    assert refused.value.code == "notebook.photo_too_large"
    assert "10 MB" in refused.value.detail
    with db.read() as session:
        assert session.scalar(text("SELECT COUNT(*) FROM notebook_entry WHERE owner_id = :o"), {"o": me.user_id}) == 0


# ---------------------------------------------------------------- the PDF for court


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_holds_the_entries_and_its_printed_hash_is_the_one_recomputed_from_the_store(db, clock):
    me = officer(db, "Dan Whitmore", collar="4721")
    first = signed(db, clock, me, "Stopped YX19 KTD on Lichfield Street at 13:40.", photo=jpeg_with_metadata())
    clock.advance(timedelta(minutes=5))
    signed(db, clock, me, "Driver gave his name as Jason Smyth.", written_at=NOW - timedelta(minutes=3))
    clock.advance(timedelta(minutes=5))
    do(
        db,
        service.correct_entry,
        me,
        first.entry.id,
        service.Writing("Correction: 13:45, not 13:40.", sign=True),
        clock,
    )
    write(db, clock, me, "A draft: not for court")
    made = do(db, service.make_pdf, me, service.period_of(TODAY, TODAY, clock), clock)

    reader = PdfReader(io.BytesIO(made.pdf))
    attached = reader.attachments[ATTACHMENT_NAME][0]
    words = pdf_text(made.pdf)
    printed = re.search(r"Content SHA-256:\s*([0-9a-f]{64})", words).group(1)
    assert printed == hashlib.sha256(attached).hexdigest() == made.content_sha256
    for expected in [
        "Dan Whitmore",
        "4721",
        "Stopped YX19 KTD on Lichfield Street",
        "Driver gave his name as Jason Smyth.",
        "Entry 3: correction of entry 1",
        "Corrected by entry 3",
        first.photo.sha256,
        "What this hash covers",
    ]:
        assert expected in words, expected
    assert "A draft" not in words
    assert len(reader.pages[0].images) == 1  # the photo, scaled

    check = do(db, service.verify_pdf, me, made.pdf, clock)
    assert check.matches, check.problems
    assert check.recomputed_sha256 == check.printed_sha256 == check.recorded_sha256 == made.content_sha256
    assert check.entries == 3


def test_a_pdf_no_longer_verifies_once_an_entry_in_it_was_altered_in_the_store(db, clock):
    me = officer(db)
    entry = signed(db, clock, me, "The suspect ran towards the station.").entry
    made = do(db, service.make_pdf, me, service.period_of(TODAY, TODAY, clock), clock)
    with db.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("UPDATE notebook_entry SET text = 'The suspect walked.' WHERE id = :id"), {"id": entry.id})
    check = do(db, service.verify_pdf, me, made.pdf, clock)
    assert not check.matches
    assert check.recomputed_sha256 != check.printed_sha256
    assert any("Entry 1 was altered" in p for p in check.problems)


def test_a_file_that_is_not_a_notebook_pdf_is_refused(db, clock):
    me = officer(db)
    with pytest.raises(InvalidInput) as refused:
        do(db, service.verify_pdf, me, b"%PDF-1.4 nothing here", clock)
    assert refused.value.code == "notebook.not_a_notebook_pdf"


# ---------------------------------------------------------------- whose notebook


def test_another_officer_can_neither_read_nor_sign_nor_correct_my_entries(db, clock):
    me, colleague = officer(db), officer(db, "Priya Shah")
    mine = write(db, clock, me, "mine", photo=jpeg_with_metadata())
    done = signed(db, clock, me, "signed and mine")
    made = do(db, service.make_pdf, me, service.period_of(TODAY, TODAY, clock), clock)
    for attempt in [
        lambda: do(db, service.entry, colleague, mine.entry.id, clock),
        lambda: do(db, service.sign_entry, colleague, mine.entry.id, None, clock),
        lambda: do(db, service.amend_entry, colleague, mine.entry.id, service.Writing("theirs"), clock),
        lambda: do(db, service.correct_entry, colleague, done.entry.id, service.Writing("x", sign=True), clock),
        lambda: do(db, service.photo, colleague, mine.photo.id, clock),
        lambda: do(db, service.verify_pdf, colleague, made.pdf, clock),
    ]:
        with pytest.raises(NotFound):
            attempt()
    theirs = do(db, service.notebook, colleague, service.period_of(TODAY, TODAY, clock), clock)
    assert theirs.entries == []
    their_pdf = do(db, service.make_pdf, colleague, service.period_of(TODAY, TODAY, clock), clock)
    assert "signed and mine" not in pdf_text(their_pdf.pdf)


def test_a_supervisor_has_no_way_into_an_officers_notebook(db, clock):
    me = officer(db)
    entry = signed(db, clock, me).entry
    sergeant = officer(db, "Sgt Kaur", role="supervisor")
    with pytest.raises(Denied):
        do(db, service.entry, sergeant, entry.id, clock)


def test_every_read_and_write_is_audited_without_the_text(db, clock):
    me = officer(db)
    draft = write(db, clock, me, "secret words", photo=jpeg_with_metadata())
    do(db, service.sign_entry, me, draft.entry.id, None, clock)
    do(db, service.correct_entry, me, draft.entry.id, service.Writing("more words", sign=True), clock)
    do(db, service.notebook, me, service.period_of(TODAY, TODAY, clock), clock)
    do(db, service.entry, me, draft.entry.id, clock)
    do(db, service.photo, me, draft.photo.id, clock)
    do(db, service.make_pdf, me, service.period_of(TODAY, TODAY, clock), clock)
    with db.read() as session:
        rows = session.query(AuditEntry).filter(AuditEntry.actor_user_id == me.user_id).order_by(AuditEntry.seq).all()
    actions = [r.action for r in rows]
    assert actions == [
        "notebook.write",
        "notebook.sign",
        "notebook.correct",
        "notebook.sign",
        "notebook.read",
        "notebook.read",
        "notebook.read",
        "notebook.export",
    ]
    assert all("secret words" not in (r.detail or "") and "more words" not in (r.detail or "") for r in rows)
