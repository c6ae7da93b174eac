"""Crimes recorded at the scene (the officer's phone, /m/crime): the crime with its place,
victim, suspect descriptions and optionally a signed witness statement in one request;
photos of a crime (multipart upload: checked by content, metadata stripped, hashed);
witness statements signed on the screen; and reading them back (photos and signatures
only for those who may read the crime, with a reason, audited).

Every write here may be queued by the phone while offline and sent again: it takes an
``Idempotency-Key`` and answers a repeat with the first answer (``Idempotent-Replayed:
true``), applying nothing twice. Photos are too large for the phone's outbox: the page
uploads them only while online, but the key still protects a retried upload.
Services: mobile/scene.py."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.idempotency import service as idempotency
from bluelamp.mobile import scene
from bluelamp.records import classification, pole
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.idempotency import IdempotencyKey, replayed

router = APIRouter()
TAG = ["scene"]

Reader = Annotated[Caller, Depends(allow(Action.CRIME_READ))]
Recorder = Annotated[Caller, Depends(allow(Action.CRIME_RECORD))]
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
NO_STORE = "private, no-store"


# ---------------------------------------------------------------- bodies


class PersonIn(BaseModel):
    """An existing person (``person_id``) or a new one by name and date of birth."""

    person_id: str | None = None
    given_names: str = ""
    family_name: str = ""
    dob: str = Field("", description="Full or partial: 1985-03-12, 1985-03, 1985, 12/03/1985")
    gender: str | None = Field(None, description="female, male, other or unknown")
    confirm_new: bool = Field(False, description="Save as new although likely matches were shown")

    def choice(self) -> scene.PersonChoice:
        return scene.PersonChoice(**self.model_dump())


class PlaceIn(BaseModel):
    """The phone's position, an address, or both."""

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = Field(None, description="The phone's accuracy in metres")
    line1: str = ""
    town: str = ""
    postcode: str = ""


class SuspectIn(BaseModel):
    """A suspect in the officer's words, and the known person when there is one."""

    person_id: str | None = None
    sex: str = ""
    age_range: str = Field("", description='As said: "25 to 30", "teens"')
    height: str = ""
    build: str = ""
    clothing: str = ""
    marks: str = Field("", description="Distinguishing marks: scars, tattoos, piercings")


class StatementIn(BaseModel):
    """A witness statement signed on the phone."""

    witness: PersonIn
    text: str = ""
    signature: str = Field("", description="The signature drawn on screen: data:image/png;base64,...")
    signed_at: datetime | None = Field(None, description="When the witness signed, on the phone")


class SceneCrimeIn(BaseModel):
    """A crime recorded at the scene. Without ``incident_id`` it is recorded directly."""

    offence_code: str = Field("", description="Home Office offence code, e.g. 46 (see /api/v1/crime-categories)")
    summary: str = Field("", description="Default: the offence's description")
    narrative: str = ""
    incident_id: str | None = Field(None, description="The incident attended: the crime comes from it")
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    place: PlaceIn = PlaceIn()
    victim: PersonIn | None = None
    victim_contact: str = Field("", description="How the victim wants to be kept updated")
    suspects: list[SuspectIn] = Field([], max_length=10)
    statement: StatementIn | None = None


def _statement_command(body: StatementIn, signature_field: str) -> scene.NewStatement:
    return scene.NewStatement(
        witness=body.witness.choice(),
        text=body.text,
        signature_png=scene.signature_from_data_url(body.signature, signature_field),
        signed_at=body.signed_at,
    )


def _scene_command(body: SceneCrimeIn) -> scene.SceneCrime:
    return scene.SceneCrime(
        offence_code=body.offence_code,
        place=scene.Place(**body.place.model_dump()),
        summary=body.summary,
        narrative=body.narrative,
        incident_id=body.incident_id,
        occurred_from=body.occurred_from,
        occurred_to=body.occurred_to,
        victim=body.victim.choice() if body.victim is not None else None,
        victim_contact=body.victim_contact,
        suspects=tuple(scene.SuspectDescription(**s.model_dump()) for s in body.suspects),
        statement=_statement_command(body.statement, "statement.signature") if body.statement else None,
    )


# ---------------------------------------------------------------- answers


class StatementOut(BaseModel):
    id: str
    crime_id: str
    witness_id: str
    witness: str | None = Field(description="FAMILY, Given (date of birth), when the caller may see them")
    signed_at: datetime
    received_at: datetime
    taken_by: str
    taken_by_name: str
    declaration: str
    signature_sha256: str
    content_sha256: str = Field(description="SHA-256 over the whole statement (mobile/scene.py statement_hash)")
    signature_url: str
    text: str | None = Field(None, description="The witness's words (in a crime's scene, not in answers to writes)")


class PhotoOut(BaseModel):
    id: str
    crime_id: str
    url: str
    content_type: str
    size: int
    width: int
    height: int
    sha256: str = Field(description="SHA-256 of the bytes as stored (metadata stripped)")
    received_size: int
    received_sha256: str = Field(description="SHA-256 of the file as the phone sent it")
    lat: float | None
    lon: float | None
    location_source: str | None = Field(description="photo (its GPS tags), phone (when it was sent), or none")
    caption: str
    created_at: datetime
    created_by: str


class SuspectOut(BaseModel):
    id: str
    person_id: str | None
    sex: str
    age_range: str
    height: str
    build: str
    clothing: str
    marks: str


class SceneCrimeOut(BaseModel):
    id: str
    reference: str
    offence_code: str
    offence: str
    summary: str
    source: str
    incident_id: str | None
    location_id: str | None
    reported_at: datetime
    recorded_at: datetime
    ncrs_due_at: datetime
    recorded_late: bool
    victim_id: str | None
    victim: str | None
    suspects: list[SuspectOut]
    statement: StatementOut | None
    photos_url: str = Field(description="Where to send the crime's photos (multipart, one per request)")


class SceneOut(BaseModel):
    crime_id: str
    reference: str
    photos: list[PhotoOut]
    statements: list[StatementOut]
    suspects: list[SuspectOut]


def _statement(statement, witness, *, text: bool = False) -> StatementOut:
    return StatementOut(
        id=statement.id,
        crime_id=statement.event_id,
        witness_id=statement.witness_id,
        witness=pole.label(witness) if witness is not None else None,
        signed_at=statement.signed_at,
        received_at=statement.received_at,
        taken_by=statement.taken_by,
        taken_by_name=statement.taken_by_name,
        declaration=statement.declaration,
        signature_sha256=statement.signature_sha256,
        content_sha256=statement.content_sha256,
        signature_url=f"/api/v1/crimes/{statement.event_id}/statements/{statement.id}/signature",
        text=statement.text if text else None,
    )


def _photo(photo) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        crime_id=photo.event_id,
        url=f"/api/v1/crimes/{photo.event_id}/photos/{photo.id}",
        content_type=photo.content_type,
        size=photo.size,
        width=photo.width,
        height=photo.height,
        sha256=photo.sha256,
        received_size=photo.received_size,
        received_sha256=photo.received_sha256,
        lat=photo.lat,
        lon=photo.lon,
        location_source=photo.location_source,
        caption=photo.caption,
        created_at=photo.created_at,
        created_by=photo.created_by,
    )


def _suspect(row) -> SuspectOut:
    return SuspectOut(**{name: getattr(row, name) for name in SuspectOut.model_fields})


def _recorded(recorded: scene.SceneRecorded) -> SceneCrimeOut:
    event, row = recorded.event, recorded.crime
    offence = classification.offence(row.offence_code)
    return SceneCrimeOut(
        id=event.id,
        reference=event.reference,
        offence_code=row.offence_code,
        offence=offence.description if offence else row.offence_code,
        summary=event.summary,
        source=row.source,
        incident_id=event.incident_id,
        location_id=event.location_id,
        reported_at=row.reported_at,
        recorded_at=row.recorded_at,
        ncrs_due_at=row.ncrs_due_at,
        recorded_late=row.recorded_late,
        victim_id=recorded.victim.id if recorded.victim is not None else None,
        victim=pole.label(recorded.victim) if recorded.victim is not None else None,
        suspects=[_suspect(s) for s in recorded.suspects],
        statement=_statement(recorded.statement, None) if recorded.statement is not None else None,
        photos_url=f"/api/v1/crimes/{event.id}/photos",
    )


def _digest(sha256_hex: str) -> str:
    """An RFC 9530 ``Repr-Digest`` header value from a hex SHA-256."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"


# ---------------------------------------------------------------- routes


@router.post(
    "/api/v1/scene/crimes",
    response_model=SceneCrimeOut,
    status_code=201,
    tags=TAG,
    summary="Record a crime at the scene",
)
def record_at_scene(
    request: Request, caller: Recorder, db: Db, clock: Now, body: SceneCrimeIn, key: IdempotencyKey = None
):
    """Record the crime, its place, victim, suspects and an optional signed statement,
    all or nothing. 422 names each field (``victim.family_name``, ``statement.signature``);
    409 ``person.likely_duplicates`` names the part (``field``: victim or statement.witness)
    and its ``matches``: pick one (``person_id``) or send ``confirm_new``."""
    path = request.url.path
    command = _scene_command(body)
    with db.unit_of_work() as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, "POST", path)
        if earlier is not None:
            return replayed(earlier)
        recorded = scene.record_at_scene(session, caller.actor, command, clock)
        out = _recorded(recorded).model_dump(mode="json")
        idempotency.keep_answer(session, caller.actor, key, "POST", path, 201, out, clock)
    for event in recorded.events:
        request.app.state.bus.publish(event)
    return JSONResponse(out, status_code=201)


@router.post(
    "/api/v1/crimes/{crime_id}/photos", response_model=PhotoOut, status_code=201, tags=TAG, summary="Add a photo"
)
def add_photo(
    request: Request,
    caller: Recorder,
    db: Db,
    clock: Now,
    crime_id: str,
    photo: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo (checked by its content), up to 20 MB")],
    caption: Annotated[str, Form(max_length=2000)] = "",
    lat: Annotated[float | None, Form(description="The phone's position, used when the photo has none")] = None,
    lon: Annotated[float | None, Form()] = None,
    key: IdempotencyKey = None,
):
    """Store a photo of the crime without its metadata, its GPS position kept as fields,
    hashed (SHA-256) as stored and as received. 413 ``scene.photo_too_large``; 422
    ``scene.photo_not_image`` for anything not a JPEG, PNG or WebP picture, whatever its
    name says."""
    path = request.url.path
    data = photo.file.read(scene.MAX_PHOTO_BYTES + 1)
    with db.unit_of_work() as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, "POST", path)
        if earlier is not None:
            return replayed(earlier)
        stored = scene.add_photo(session, caller.actor, crime_id, data, clock, caption=caption, lat=lat, lon=lon)
        out = _photo(stored).model_dump(mode="json")
        idempotency.keep_answer(session, caller.actor, key, "POST", path, 201, out, clock)
    return JSONResponse(out, status_code=201)


@router.post(
    "/api/v1/crimes/{crime_id}/statements",
    response_model=StatementOut,
    status_code=201,
    tags=TAG,
    summary="Take a witness statement",
)
def take_statement(
    request: Request, caller: Recorder, db: Db, clock: Now, crime_id: str, body: StatementIn, key: IdempotencyKey = None
):
    """A witness statement signed on the screen, locked once written. 422
    ``scene.statement_empty`` without words, ``scene.signature_missing`` without a
    signature (or a blank one); 409 ``person.likely_duplicates`` for a new witness who looks
    like someone recorded."""
    path = request.url.path
    command = _statement_command(body, "signature")
    with db.unit_of_work() as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, "POST", path)
        if earlier is not None:
            return replayed(earlier)
        statement = scene.take_statement(session, caller.actor, crime_id, command, clock)
        out = _statement(statement, None).model_dump(mode="json")
        idempotency.keep_answer(session, caller.actor, key, "POST", path, 201, out, clock)
    return JSONResponse(out, status_code=201)


def _missing(action: str, crime_id: str, **detail) -> Audit:
    why = {"why": "not found in the caller's force", **{k: v[:64] for k, v in detail.items()}}
    return Audit(action, Outcome.DENIED, "event", crime_id[:64], why)


@router.get("/api/v1/crimes/{crime_id}/scene", response_model=SceneOut, tags=TAG, summary="A crime's scene")
def scene_of(caller: Reader, db: Db, clock: Now, crime_id: str):
    """The crime's photos (links to their bytes), witness statements and suspect
    descriptions. Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("scene.read", crime_id)):
        view = scene.scene_of(session, caller.actor, crime_id, clock)
        return SceneOut(
            crime_id=view.event.id,
            reference=view.event.reference,
            photos=[_photo(p) for p in view.photos],
            statements=[_statement(s, w, text=True) for s, w in view.statements],
            suspects=[_suspect(s) for s in view.suspects],
        )


@router.get(
    "/api/v1/crimes/{crime_id}/photos/{photo_id}",
    tags=TAG,
    summary="A photo's bytes",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def photo_bytes(caller: Reader, db: Db, clock: Now, crime_id: str, photo_id: str):
    """The photo as stored, for someone who may read the crime; asks for a reason; audited.
    ``Repr-Digest`` carries its SHA-256; never cached."""
    refusal = _missing("scene.photo_read", crime_id, photo_id=photo_id)
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, refusal):
        photo, data = scene.photo_content(session, caller.actor, crime_id, photo_id, clock)
    return Response(
        data,
        media_type=photo.content_type,
        headers={
            "Cache-Control": NO_STORE,
            "Repr-Digest": _digest(photo.sha256),
            "Content-Disposition": f'inline; filename="photo-{photo.id}.{EXTENSIONS[photo.content_type]}"',
        },
    )


@router.get(
    "/api/v1/crimes/{crime_id}/statements/{statement_id}/signature",
    tags=TAG,
    summary="A statement's signature",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def signature_bytes(caller: Reader, db: Db, clock: Now, crime_id: str, statement_id: str):
    """The witness's signature (PNG) as stored; asks for a reason; audited; never cached."""
    refusal = _missing("scene.signature_read", crime_id, statement_id=statement_id)
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, refusal):
        statement, data = scene.signature_content(session, caller.actor, crime_id, statement_id, clock)
    return Response(
        data,
        media_type="image/png",
        headers={"Cache-Control": NO_STORE, "Repr-Digest": _digest(statement.signature_sha256)},
    )
