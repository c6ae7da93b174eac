"""The pocket notebook API: the officer's entries for a period, writing an entry (with a
location and a photo), amending a draft, signing, correcting, the photos, the PDF of a
period for court, checking a PDF against the store, and checking the hash chain.

A notebook is the caller's own: another officer's entry answers exactly like a missing
one (and the attempt is audited). Every write takes an ``Idempotency-Key`` (the phone's
offline outbox sends again after a dropped connection): the first answer is kept with
the change, in the same unit of work, and a repeat gets it back (``Idempotent-Replayed:
true``) without storing anything twice. Errors are problem details (web/errors.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.errors import FieldProblem, InvalidInput, TooLarge
from bluelamp.idempotency import service as idempotency
from bluelamp.notebook import service
from bluelamp.notebook.model import NotebookEntry, NotebookPhoto
from bluelamp.notebook.photos import decode_photo
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.idempotency import IdempotencyKey, replayed

router = APIRouter()
TAG = ["notebook"]
MAX_PDF_BYTES = 200 * 1024 * 1024

Officer = Annotated[Caller, Depends(allow(Action.NOTEBOOK_WRITE))]
From = Annotated[date | None, Query(alias="from", description="First day (UK), e.g. 2026-03-01")]
To = Annotated[date | None, Query(alias="to", description="Last day (UK), inclusive")]


# ---------------------------------------------------------------- shapes


class PhotoOut(BaseModel):
    id: str
    url: str
    content_type: str
    size: int
    sha256: str = Field(description="SHA-256 of the photo as stored (its metadata stripped)")
    received_sha256: str = Field(description="SHA-256 of the photo as the phone sent it")
    width: int
    height: int
    lat: float | None = Field(description="Where the photo was taken, from its GPS metadata")
    lon: float | None


class EntryRef(BaseModel):
    """Another entry, as shown next to the one it corrects or is corrected by."""

    id: str
    seq: int | None
    signed: bool
    text: str
    written_at: datetime


class EntryOut(BaseModel):
    id: str
    seq: int | None = Field(description="The officer's sequence number, given when signed")
    signed: bool
    text: str
    written_at: datetime = Field(description="When the officer wrote it (the phone's clock)")
    received_at: datetime = Field(description="When the server received it")
    signed_at: datetime | None = Field(description="When the officer signed it (the phone's clock)")
    sign_received_at: datetime | None = Field(description="When the server received the signature")
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    photo: PhotoOut | None
    corrects: EntryRef | None
    corrections: list[EntryRef]
    prev_hash: str | None
    hash: str | None = Field(description="SHA-256 of the entry's canonical content with the previous hash")


class OfficerOut(BaseModel):
    name: str
    collar_number: str | None
    rank: str | None
    force: str | None


class NotebookOut(BaseModel):
    officer: OfficerOut
    period_from: date
    period_to: date
    entries: list[EntryOut] = Field(description="Newest first (by the time written); every draft included")
    truncated: bool


class PdfCheckOut(BaseModel):
    matches: bool = Field(description="True only when every hash below is the same")
    reference: str | None
    printed_sha256: str | None
    attached_sha256: str | None
    recorded_sha256: str | None
    recomputed_sha256: str | None
    entries: int
    problems: list[str]


class ChainCheckOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None


class EntryIn(BaseModel):
    """An entry as the phone sends it. ``photo``: base64, or a ``data:`` URL (JPEG, PNG or
    WebP, at most 10 MB). ``sign``: sign it at once (refused when empty)."""

    text: str = ""
    written_at: datetime | None = Field(None, description="When the officer wrote it on the phone (with Z/offset)")
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    photo: str | None = None
    sign: bool = False
    signed_at: datetime | None = Field(None, description="When the officer signed it on the phone")

    def writing(self) -> service.Writing:
        return service.Writing(
            text=self.text,
            written_at=self.written_at,
            lat=self.lat,
            lon=self.lon,
            accuracy_m=self.accuracy_m,
            photo=decode_photo(self.photo) if self.photo else None,
            sign=self.sign,
            signed_at=self.signed_at,
        )


class SignIn(BaseModel):
    signed_at: datetime | None = Field(None, description="When the officer signed it on the phone")


# ---------------------------------------------------------------- conversions


def _ref(entry: NotebookEntry) -> EntryRef:
    return EntryRef(id=entry.id, seq=entry.seq, signed=entry.signed, text=entry.text, written_at=entry.written_at)


def _photo(photo: NotebookPhoto) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        url=f"/api/v1/notebook/photos/{photo.id}",
        content_type=photo.content_type,
        size=photo.size,
        sha256=photo.sha256,
        received_sha256=photo.received_sha256,
        width=photo.width,
        height=photo.height,
        lat=photo.lat,
        lon=photo.lon,
    )


def entry_out(view: service.EntryView) -> EntryOut:
    e = view.entry
    return EntryOut(
        id=e.id,
        seq=e.seq,
        signed=e.signed,
        text=e.text,
        written_at=e.written_at,
        received_at=e.received_at,
        signed_at=e.signed_at,
        sign_received_at=e.sign_received_at,
        lat=e.lat,
        lon=e.lon,
        accuracy_m=e.accuracy_m,
        photo=_photo(view.photo) if view.photo else None,
        corrects=_ref(view.corrects) if view.corrects else None,
        corrections=[_ref(c) for c in view.corrections],
        prev_hash=e.prev_hash,
        hash=e.hash,
    )


def notebook_out(book: service.Notebook) -> NotebookOut:
    officer = book.officer
    return NotebookOut(
        officer=OfficerOut(
            name=officer.name, collar_number=officer.collar_number, rank=officer.rank, force=officer.force
        ),
        period_from=book.period.first,
        period_to=book.period.last,
        entries=[entry_out(v) for v in book.entries],
        truncated=book.truncated,
    )


def _missing(kind: str, record_id: str) -> Audit:
    return Audit("notebook.read", Outcome.DENIED, kind, record_id[:64], {"why": "not in the caller's notebook"})


def _keyed(
    request: Request,
    caller: Caller,
    db,
    key: str | None,
    method: str,
    status_code: int,
    change: Callable[[Any], service.EntryView],
    refusal: Audit | None = None,
):
    """Apply ``change(session)`` once per Idempotency-Key; the answer is kept with it."""
    path = request.url.path
    with audited(db, caller.trail) as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, method, path)
        if earlier is not None:
            return replayed(earlier)
        if refusal is not None:
            with refused_if_missing(caller.trail, refusal):
                view = change(session)
        else:
            view = change(session)
        body = entry_out(view).model_dump(mode="json")
        idempotency.keep_answer(session, caller.actor, key, method, path, status_code, body, request.app.state.clock)
    return JSONResponse(body, status_code=status_code)


# ---------------------------------------------------------------- routes


@router.get("/api/v1/notebook/entries", response_model=NotebookOut, tags=TAG, summary="My notebook for a period")
def entries(caller: Officer, db: Db, clock: Now, first: From = None, last: To = None):
    """The caller's entries written in the period (UK days, default the last 14), newest
    first, with every unsigned draft, the entry each corrects and its corrections. Audited."""
    with db.unit_of_work() as session:
        period = service.period_of(first, last, clock)
        return notebook_out(service.notebook(session, caller.actor, period, clock))


@router.post("/api/v1/notebook/entries", response_model=EntryOut, status_code=201, tags=TAG, summary="Write an entry")
def write(request: Request, caller: Officer, db: Db, clock: Now, body: EntryIn, key: IdempotencyKey = None):
    """A new entry, a draft or signed at once (``sign``). 422 ``notebook.empty_entry`` when
    signing an empty entry; ``notebook.photo_type`` / 413 ``notebook.photo_too_large`` for a
    photo that is not a JPEG, PNG or WebP or is over 10 MB."""
    return _keyed(
        request, caller, db, key, "POST", 201, lambda s: service.write_entry(s, caller.actor, body.writing(), clock)
    )


@router.get("/api/v1/notebook/entries/{entry_id}", response_model=EntryOut, tags=TAG, summary="One entry")
def one(caller: Officer, db: Db, clock: Now, entry_id: str):
    """One of the caller's entries with its corrections. Audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("notebook_entry", entry_id)):
        return entry_out(service.entry(session, caller.actor, entry_id, clock))


@router.patch("/api/v1/notebook/entries/{entry_id}", response_model=EntryOut, tags=TAG, summary="Amend a draft")
def amend(
    request: Request, caller: Officer, db: Db, clock: Now, entry_id: str, body: EntryIn, key: IdempotencyKey = None
):
    """Change an unsigned entry: its text, time written and location (a new ``photo`` is
    added; ``sign`` signs it too). 409 ``notebook.signed`` for a signed entry."""
    return _keyed(
        request,
        caller,
        db,
        key,
        "PATCH",
        200,
        lambda s: service.amend_entry(s, caller.actor, entry_id, body.writing(), clock),
        _missing("notebook_entry", entry_id),
    )


@router.post("/api/v1/notebook/entries/{entry_id}/sign", response_model=EntryOut, tags=TAG, summary="Sign an entry")
def sign(
    request: Request,
    caller: Officer,
    db: Db,
    clock: Now,
    entry_id: str,
    body: SignIn | None = None,
    key: IdempotencyKey = None,
):
    """Sign (lock) a draft: it takes the next sequence number and its place in the hash
    chain. 422 ``notebook.empty_entry`` when it is empty; 409 ``notebook.signed`` when signed."""
    signed_at = body.signed_at if body else None
    return _keyed(
        request,
        caller,
        db,
        key,
        "POST",
        200,
        lambda s: service.sign_entry(s, caller.actor, entry_id, signed_at, clock),
        _missing("notebook_entry", entry_id),
    )


@router.post(
    "/api/v1/notebook/entries/{entry_id}/corrections",
    response_model=EntryOut,
    status_code=201,
    tags=TAG,
    summary="Correct a signed entry",
)
def correct(
    request: Request, caller: Officer, db: Db, clock: Now, entry_id: str, body: EntryIn, key: IdempotencyKey = None
):
    """A new entry that corrects a signed one (which stays as it was; they are shown
    together). 409 ``notebook.not_signed`` for a draft (amend it instead)."""
    return _keyed(
        request,
        caller,
        db,
        key,
        "POST",
        201,
        lambda s: service.correct_entry(s, caller.actor, entry_id, body.writing(), clock),
        _missing("notebook_entry", entry_id),
    )


@router.get("/api/v1/notebook/photos/{photo_id}", tags=TAG, summary="A photo", response_class=Response)
def photo(caller: Officer, db: Db, clock: Now, photo_id: str):
    """The photo as stored (metadata stripped); ``X-Content-SHA256`` is its hash. Audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("notebook_photo", photo_id)):
        found = service.photo(session, caller.actor, photo_id, clock)
        data, content_type, sha = found.data, found.content_type, found.sha256
    return Response(
        data,
        media_type=content_type,
        headers={"X-Content-SHA256": sha, "ETag": f'"{sha}"', "Cache-Control": "private, max-age=86400"},
    )


@router.get("/api/v1/notebook/pdf", tags=TAG, summary="The PDF of a period for court", response_class=Response)
def pdf(caller: Officer, db: Db, clock: Now, first: From = None, last: To = None):
    """The caller's signed entries written in the period (UK days, both required) with their
    corrections, photos and hashes; the SHA-256 of its content is printed on every page and
    sent as ``X-Content-SHA256``. Recorded and audited."""
    problems = [FieldProblem(n, "choose a day") for n, v in (("from", first), ("to", last)) if v is None]
    if problems:
        raise InvalidInput("Choose the first and last day of the period.", problems=problems)
    with db.unit_of_work() as session:
        made = service.make_pdf(session, caller.actor, service.period_of(first, last, clock), clock)
    return Response(
        made.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "X-Content-SHA256": made.content_sha256,
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/api/v1/notebook/verify", response_model=PdfCheckOut, tags=TAG, summary="Check a PDF against the store")
def verify(caller: Officer, db: Db, clock: Now, file: Annotated[UploadFile, File(description="A notebook PDF")]):
    """Check one of the caller's notebook PDFs: the hash printed on it, the hash of the
    content attached to it, the hash recorded when it was made, and the hash of that content
    rebuilt from the entries as stored now must all be one (``matches``); ``problems`` says
    what differs. Audited."""
    data = file.file.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise TooLarge(f"a notebook PDF to check is at most {MAX_PDF_BYTES // 1_048_576} MB", code="input.too_large")
    refusal = Audit("notebook.verify", Outcome.DENIED, "notebook_export", None, {"why": "not in the caller's notebook"})
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, refusal):
        check = service.verify_pdf(session, caller.actor, data, clock)
    return PdfCheckOut(**vars(check))


@router.get("/api/v1/notebook/chain", response_model=ChainCheckOut, tags=TAG, summary="Check my notebook's chain")
def chain(caller: Officer, db: Db, clock: Now):
    """Walk the caller's signed entries in order: ``ok``, or the first entry edited, removed
    or out of place, or whose photo was altered. Audited."""
    with db.unit_of_work() as session:
        check = service.check_chain(session, caller.actor, clock)
    return ChainCheckOut(**vars(check))
