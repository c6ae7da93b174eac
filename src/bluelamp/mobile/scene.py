"""A crime recorded at the scene on the officer's phone (issue 7 item 5): the crime with its
victim, suspect descriptions and place in one go, photos, and witness statements signed
on the screen. The crime, persons, location and links are made by the records services
(records/crime.py, persons.py, victims.py, pole.py); this module adds what the phone
brings: photos, signatures, descriptions and statements (mobile/model.py).

Decisions this module makes:

- **One submission, one unit of work.** The scene form (offence, place, victim, suspects,
  optionally a statement) is recorded all together or not at all, so a phone that sends
  it again after a dropped connection (with its Idempotency-Key, web layer) never leaves
  half a crime. A refusal names every field at fault, prefixed by its part of the form
  (``victim.family_name``, ``statement.signature``); a new victim or witness who looks like
  someone already recorded is refused with ``person.likely_duplicates`` naming the part
  (``field``) and the matches, until the officer picks one or confirms a new person.
- **Where**: the phone's position (latitude, longitude and its accuracy) or an address, or
  both, becomes a records location linked to the crime (``occurred_at``).
- **Suspects** are described in the officer's words (sex, age range, height, build,
  clothing, distinguishing marks), with or without a known person; a known person is
  linked to the crime as suspect. Each description is also written in the investigation
  log, where investigators read the crime.
- **Photos are checked by content, not by name**: JPEG, PNG or WebP by their first bytes
  and by decoding them whole; at most ``MAX_PHOTO_BYTES`` and ``MAX_PHOTO_PIXELS``. Each is
  re-encoded without its metadata (EXIF, XMP, comments: camera, owner, serial numbers,
  times), turned upright first (the EXIF orientation goes with the rest); a JPEG that needs
  no turning keeps its quantisation tables, so it loses no further quality. Its GPS
  position is kept as fields (else the phone's position when it was sent). The colour
  profile is kept: without it the colours of an injury shift, and it names no one. Both the
  stored bytes and the file as received are hashed (SHA-256).
- **Stored in the database** (mobile_scene_blob), not in files: one SQLite file stays the
  whole deployment (one backup), a photo commits with its crime link and audit entry or
  not at all, and it is served only through the crime's own access checks. The size limit
  keeps each row reasonable; a force expecting many large photos may move blobs to a
  store later behind ``photo_content``.
- **Photos and signatures are read only by those who may read the crime** (same force,
  clearance, access list), with a reason, and every read is audited. Another force's
  photo answers exactly like a missing one.
- **A witness statement** (as an MG11, Criminal Justice Act 1967 s.9) is the witness (a
  person of the records), what they said, the declaration they sign (``DECLARATION``) and
  the signature drawn on the phone (a PNG: blank or unreadable is refused). It is written
  signed and locked: the database refuses any update or delete. Its content hash covers
  the crime, witness, text, declaration, officer, time and the signature's hash, so a
  copy given to court can be checked against the store (``statement_hash``). The time of
  signing is the phone's (a statement may wait offline), within ``SIGNED_AT_WINDOW``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import queries as command_queries
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound, TooLarge
from bluelamp.events import Event as BusEvent
from bluelamp.mobile import queries
from bluelamp.mobile.model import SceneBlob, ScenePhoto, SceneStatement, SceneSuspect
from bluelamp.records import classification, crime, person_fields, persons, pole, victims
from bluelamp.records import queries as records_queries
from bluelamp.records.crimes import queries as crime_queries
from bluelamp.records.model import Crime, Event, LinkRole, Location, Person

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.command.model import Incident

for _code, _kind, _meaning in [
    ("scene.photo_too_large", TooLarge, "The photo is over the size limit (bytes or pixels); `limit` gives it."),
    ("scene.photo_not_image", InvalidInput, "The file is not a JPEG, PNG or WebP photo (checked by its content)."),
    ("scene.statement_empty", InvalidInput, "A witness statement needs the witness's words."),
    ("scene.signature_missing", InvalidInput, "A witness statement needs the witness's signature drawn on the screen."),
    ("scene.signature_invalid", InvalidInput, "The signature is not a PNG drawing the phone made."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

MAX_PHOTO_BYTES = 20 * 1024 * 1024  # a 50-megapixel phone JPEG is about 15 MB
MAX_PHOTO_PIXELS = 60_000_000
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_SIDE = 4000
MIN_SIGNATURE_INK = 8  # pixels across or down: a tap is not a signature
STATEMENT_LIMIT = 50_000
CAPTION_LIMIT = 300
DESCRIPTION_LIMIT = 2_000
JPEG_QUALITY = 92  # for a JPEG that had to be turned upright, or another format to WebP
SIGNED_AT_WINDOW = timedelta(hours=72)  # how long a signed statement may wait on the phone
CLOCK_SKEW = timedelta(minutes=5)

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_PILLOW_FORMATS = {"JPEG": ["JPEG", "MPO"], "PNG": ["PNG"], "WEBP": ["WEBP"]}  # MPO: a phone's multi-picture JPEG

# The witness's declaration as on form MG11 (Criminal Justice Act 1967 s.9; Magistrates'
# Courts Act 1980 s.5B; Criminal Procedure Rules r.16.2), worded for a statement read
# and signed on a screen.
DECLARATION = (
    "This statement, shown to me on screen and signed by me, is true to the best of my knowledge and belief "
    "and I make it knowing that, if it is tendered in evidence, I shall be liable to prosecution if I have "
    "wilfully stated anything in it which I know to be false, or do not believe to be true."
)

# The offences a response officer records most at a scene, offered first in the picker.
COMMON_OFFENCES = (
    "46",  # shoplifting
    "105A",  # assault without injury
    "8N",  # assault with injury
    "58D",  # other criminal damage
    "58C",  # criminal damage to a vehicle
    "58A",  # criminal damage to a dwelling
    "28E",  # burglary residential
    "30C",  # burglary business and community
    "45",  # theft from vehicle
    "48",  # theft or unauthorised taking of a motor vehicle
    "44",  # pedal cycle
    "39",  # theft from the person
    "49",  # other theft
    "49A",  # making off without payment
    "34B",  # robbery of personal property
    "9A",  # public fear, alarm or distress
    "8L",  # harassment
    "92E",  # possession of cannabis
)

SUSPECT_FIELDS = ("sex", "age_range", "height", "build", "clothing", "marks")
SUSPECT_LABELS = {
    "sex": "sex",
    "age_range": "age",
    "height": "height",
    "build": "build",
    "clothing": "clothing",
    "marks": "distinguishing marks",
}
_SHORT_LIMITS = {"sex": 20, "age_range": 40, "height": 40, "build": 40}


# ---------------------------------------------------------------- commands and results


@dataclass(frozen=True)
class PersonChoice:
    """A victim or witness: an existing person (``person_id``), or a new one by name and a
    full or partial date of birth (``dob``: 1985-03-12, 03/1985, 1985...)."""

    person_id: str | None = None
    given_names: str = ""
    family_name: str = ""
    dob: str = ""
    gender: str | None = None
    confirm_new: bool = False  # the officer saw the likely matches and this is someone else

    @property
    def is_new(self) -> bool:
        return not (self.person_id or "").strip()


@dataclass(frozen=True)
class Place:
    """Where the crime happened: the phone's position, an address, or both."""

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    line1: str = ""
    town: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class SuspectDescription:
    """A suspect in the officer's words, and the known person when there is one."""

    person_id: str | None = None
    sex: str = ""
    age_range: str = ""
    height: str = ""
    build: str = ""
    clothing: str = ""
    marks: str = ""

    def words(self) -> str:
        """The description as one line for the investigation log."""
        return "; ".join(
            f"{SUSPECT_LABELS[name]}: {' '.join(getattr(self, name).split())}"
            for name in SUSPECT_FIELDS
            if getattr(self, name).strip()
        )


@dataclass(frozen=True)
class NewStatement:
    """A witness statement signed on the phone (``signature_png``: the PNG it drew)."""

    witness: PersonChoice
    text: str
    signature_png: bytes | None
    signed_at: datetime | None = None  # on the phone; default: when it arrives


@dataclass(frozen=True)
class SceneCrime:
    """Command: record a crime at the scene."""

    offence_code: str
    place: Place
    summary: str = ""  # default: the offence's description
    narrative: str = ""
    incident_id: str | None = None  # the incident the officer attends: the crime comes from it
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    victim: PersonChoice | None = None
    victim_contact: str = ""  # how the victim wants to be kept updated
    suspects: tuple[SuspectDescription, ...] = ()
    statement: NewStatement | None = None


@dataclass
class SceneRecorded:
    """What recording a crime at the scene wrote, and the bus events to publish after the commit."""

    event: Event
    crime: Crime
    location: Location
    victim: Person | None
    suspects: list[SceneSuspect]
    statement: SceneStatement | None
    events: list[BusEvent] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo as it will be stored: re-encoded, hashed, with the position it carried."""

    content_type: str
    data: bytes
    width: int
    height: int
    sha256: str
    received_size: int
    received_sha256: str
    lat: float | None
    lon: float | None


@dataclass
class SceneView:
    """A crime's photos, statements (with their witnesses) and suspect descriptions."""

    event: Event
    crime: Crime
    photos: list[ScenePhoto]
    statements: list[tuple[SceneStatement, Person | None]]
    suspects: list[SceneSuspect]


# ---------------------------------------------------------------- shared checks


def _problem(name: str, message: str, code: str = "input.invalid") -> tuple[FieldProblem, str]:
    return FieldProblem(name, message), code


def _prefixed(error: InvalidInput | Conflict, prefix: str) -> InvalidInput | Conflict:
    """The same refusal with its fields named within their part of the form."""
    problems = [FieldProblem(f"{prefix}.{p.field}", p.message) for p in error.problems]
    kind = type(error)
    return kind(f"{prefix}: {error.detail}", code=error.code, problems=problems, extra={**error.extra, "field": prefix})


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _person_problems(choice: PersonChoice, prefix: str) -> list[tuple[FieldProblem, str]]:
    if choice.is_new and not _clean(choice.given_names) and not _clean(choice.family_name):
        return [_problem(f"{prefix}.family_name", "give a name, or find the person")]
    return []


def _statement_problems(command: NewStatement, prefix: str) -> list[tuple[FieldProblem, str]]:
    problems = []
    text = (command.text or "").strip()
    if not text:
        problems.append(_problem(f"{prefix}text", "write down what the witness says", "scene.statement_empty"))
    elif len(text) > STATEMENT_LIMIT:
        problems.append(_problem(f"{prefix}text", f"at most {STATEMENT_LIMIT} characters"))
    if not command.signature_png:
        problems.append(
            _problem(f"{prefix}signature", "the witness must sign on the screen", "scene.signature_missing")
        )
    problems += _person_problems(command.witness, f"{prefix}witness")
    return problems


def _suspect_problems(suspect: SuspectDescription, prefix: str) -> list[tuple[FieldProblem, str]]:
    problems = []
    for name in SUSPECT_FIELDS:
        limit = _SHORT_LIMITS.get(name, DESCRIPTION_LIMIT)
        if len(_clean(getattr(suspect, name))) > limit:
            problems.append(_problem(f"{prefix}.{name}", f"at most {limit} characters"))
    if not suspect.words() and not (suspect.person_id or "").strip():
        problems.append(_problem(f"{prefix}.clothing", "describe the suspect, or find the known person"))
    return problems


def _place_problems(place: Place) -> list[tuple[FieldProblem, str]]:
    if place.lat is None and not _clean(place.line1) and not _clean(place.postcode):
        return [_problem("place.line1", "give the address, or use the phone's position")]
    if place.accuracy_m is not None and not 0 <= place.accuracy_m <= 100_000:
        return [_problem("place.accuracy_m", "accuracy is 0 to 100,000 metres")]
    return []


def _resolve_person(session: Session, actor: Actor, choice: PersonChoice, prefix: str, clock: Clock) -> Person:
    """The person chosen, or a new one written through records (likely duplicates refused
    unless confirmed); refusals name the fields within ``prefix``."""
    if not choice.is_new:
        found = records_queries.visible_person(session, actor, choice.person_id.strip())
        if found is None:
            raise crime.invalid([_problem(f"{prefix}.person_id", f"no person {choice.person_id.strip()!r}")])
        return found
    try:
        year, month, day = person_fields.parse_dob(choice.dob)
        saved = persons.add_person(
            session,
            actor,
            persons.NewPerson(
                given_names=_clean(choice.given_names),
                family_name=_clean(choice.family_name),
                dob_year=year,
                dob_month=month,
                dob_day=day,
                gender=(choice.gender or "").strip().lower() or None,
                confirm_new=choice.confirm_new,
            ),
            clock,
        )
    except (InvalidInput, Conflict) as refused:
        raise _prefixed(refused, prefix) from None
    return saved.person


def _link_once(session: Session, actor: Actor, person: Person, role: LinkRole, event: Event, clock: Clock) -> None:
    if records_queries.open_link(session, event.force_id, pole.ref(person), role.value, pole.ref(event)) is None:
        pole.link(session, actor, person, role.value, event, clock)


def _audit(session: Session, actor: Actor, action: str, event: Event, clock: Clock, reason=None, **detail) -> None:
    audit.append(
        session,
        actor,
        Audit(
            action,
            record_type="event",
            record_id=event.id,
            reason=reason,
            detail={"reference": event.reference, **detail},
        ),
        clock,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob(event: Event, content_type: str, data: bytes, clock: Clock) -> SceneBlob:
    return SceneBlob(
        id=clock.new_id(),
        force_id=event.force_id,
        content_type=content_type,
        size=len(data),
        sha256=_sha256(data),
        data=data,
        created_at=clock.now(),
    )


# ---------------------------------------------------------------- the offence picker


def offence_choices() -> list[tuple[classification.Offence, bool]]:
    """Every offence a force may record, as (offence, common): the common ones at a scene
    first, in ``COMMON_OFFENCES`` order, then the rest in the Home Office table's order."""
    recordable = [o for o in classification.offences() if o.recordable]
    by_code = {o.code: o for o in recordable}
    common = [by_code[c] for c in COMMON_OFFENCES if c in by_code]
    chosen = {o.code for o in common}
    return [(o, True) for o in common] + [(o, False) for o in recordable if o.code not in chosen]


def attending_incident(session: Session, actor: Actor, clock: Clock) -> Incident | None:
    """The incident the officer's unit is assigned to now, when they may see it; else None."""
    if not actor.can(Action.INCIDENT_READ):
        return None
    found = queries.attending(session, actor.user_id, actor.force_id, clock.now())
    if found is None:
        return None
    return command_queries.visible_incident(session, actor, found.id)


# ---------------------------------------------------------------- recording the crime


def record_at_scene(session: Session, actor: Actor, command: SceneCrime, clock: Clock) -> SceneRecorded:
    """Record a crime at the scene in one unit of work: its place (a records location), the
    crime (from the incident attended, else directly), the victim (found or new, with their
    Victims' Code clock), suspect descriptions (a known suspect linked), and a signed
    witness statement if one was taken; audited through each service."""
    require(actor, Action.CRIME_RECORD)
    problems: list[tuple[FieldProblem, str]] = []
    crime.offence_of(command.offence_code, problems)
    problems += _place_problems(command.place)
    if command.victim is not None:
        problems += _person_problems(command.victim, "victim")
    if len(_clean(command.victim_contact)) > 60:
        problems.append(_problem("victim_contact", "at most 60 characters"))
    for index, suspect in enumerate(command.suspects):
        problems += _suspect_problems(suspect, f"suspects[{index}]")
    signature = None
    if command.statement is not None:
        problems += _statement_problems(command.statement, "statement.")
        problems += _signed_at_problems(command.statement.signed_at, clock, "statement.")
        if not problems:
            signature = _checked_signature(command.statement.signature_png, "statement.signature")
    if problems:
        raise crime.invalid(problems)

    place = command.place
    try:
        location = pole.add_location(
            session,
            actor,
            pole.NewLocation(
                line1=_clean(place.line1),
                town=_clean(place.town),
                postcode=_clean(place.postcode),
                lat=place.lat,
                lon=place.lon,
                description=(
                    f"phone position, within {round(place.accuracy_m)} m" if place.accuracy_m is not None else None
                ),
            ),
            clock,
        )
    except InvalidInput as refused:
        raise _prefixed(refused, "place") from None
    offence = classification.offence(command.offence_code)
    summary = _clean(command.summary) or (offence.description if offence is not None else "")
    incident_id = (command.incident_id or "").strip() or None
    changed = crime.record_crime(
        session,
        actor,
        crime.NewCrime(
            source=(crime.CrimeSource.INCIDENT if incident_id else crime.CrimeSource.DIRECT).value,
            offence_code=command.offence_code,
            summary=summary[:300],
            narrative=command.narrative,
            occurred_from=command.occurred_from,
            occurred_to=command.occurred_to,
            incident_id=incident_id,
            location_id=location.id,
        ),
        clock,
    )
    event = changed.event
    victim = None
    if command.victim is not None:
        victim = _resolve_person(session, actor, command.victim, "victim", clock)
        victims.add_victim(
            session, actor, event.id, victim.id, clock, contact_preference=_clean(command.victim_contact) or None
        )
    suspects = [
        _describe_suspect(session, actor, event, suspect, f"suspects[{index}]", clock)
        for index, suspect in enumerate(command.suspects)
    ]
    statement = None
    if command.statement is not None:
        statement = _write_statement(session, actor, event, command.statement, signature, "statement", clock)
    return SceneRecorded(event, changed.crime, location, victim, suspects, statement, changed.events)


def _describe_suspect(
    session: Session, actor: Actor, event: Event, suspect: SuspectDescription, prefix: str, clock: Clock
) -> SceneSuspect:
    person = None
    if (suspect.person_id or "").strip():
        person = records_queries.visible_person(session, actor, suspect.person_id.strip())
        if person is None:
            raise crime.invalid([_problem(f"{prefix}.person_id", f"no person {suspect.person_id.strip()!r}")])
        _link_once(session, actor, person, LinkRole.SUSPECT, event, clock)
    row = SceneSuspect(
        id=clock.new_id(),
        force_id=event.force_id,
        event_id=event.id,
        person_id=person.id if person is not None else None,
        created_at=clock.now(),
        created_by=actor.username,
        **{name: _clean(getattr(suspect, name)) for name in SUSPECT_FIELDS},
    )
    queries.add(session, row)
    who = f"known person {pole.label(person)}" if person is not None else "not identified"
    words = suspect.words()
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.NOTE,
        f"suspect described at the scene ({who})" + (f": {words}" if words else ""),
        clock,
    )
    _audit(session, actor, "scene.suspect", event, clock, suspect_id=row.id, person_id=row.person_id)
    return row


# ---------------------------------------------------------------- photos


def _sniff(data: bytes) -> str | None:
    """The photo format by its first bytes (its magic number), never by its name."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _not_image(message: str, name: str = "photo") -> InvalidInput:
    return InvalidInput(f"{name}: {message}", code="scene.photo_not_image", problems=[FieldProblem(name, message)])


def _too_large(message: str, limit: int, name: str = "photo") -> TooLarge:
    return TooLarge(
        f"{name}: {message}",
        code="scene.photo_too_large",
        problems=[FieldProblem(name, message)],
        extra={"limit": limit},
    )


def _degrees(value, ref) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals and N/S/E/W reference."""
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -result if str(ref).strip().upper() in ("S", "W") else result


def photo_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    """The latitude and longitude in a photo's EXIF GPS tags, or (None, None)."""
    gps = exif.get_ifd(0x8825)  # the GPS IFD
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _degrees(gps[2], gps.get(1, "N")), _degrees(gps[4], gps.get(3, "E"))
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180 or (lat == 0 and lon == 0):
        return None, None  # (0, 0): a camera that had no fix
    return round(lat, 6), round(lon, 6)


def check_photo(data: bytes) -> CheckedPhoto:
    """A photo checked and re-encoded for storage (see the module's decisions): the size
    limits, the real type by content, decoded whole, turned upright, its metadata gone
    and its GPS position kept. TooLarge or InvalidInput name the field ``photo``."""
    if len(data) > MAX_PHOTO_BYTES:
        raise _too_large(
            f"the photo is {len(data) / 1_048_576:.1f} MB; the most is {MAX_PHOTO_BYTES // 1_048_576} MB",
            MAX_PHOTO_BYTES,
        )
    if not data:
        raise _not_image("the file is empty")
    kind = _sniff(data)
    if kind is None:
        raise _not_image("this file is not a photo: use a JPEG, PNG or WebP picture")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[kind])
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise _too_large(
                    f"the photo is {image.width}x{image.height} pixels; the most is "
                    f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels",
                    MAX_PHOTO_PIXELS,
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(
            f"the photo has too many pixels; the most is {MAX_PHOTO_PIXELS // 1_000_000} megapixels",
            MAX_PHOTO_PIXELS,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_image(f"this {kind} file is damaged or not a photo: take or choose it again") from None
    exif = image.getexif()
    lat, lon = photo_position(exif)
    stored, width, height = _reencode(image, kind, exif.get(0x0112))
    return CheckedPhoto(
        content_type=PHOTO_TYPES[kind],
        data=stored,
        width=width,
        height=height,
        sha256=_sha256(stored),
        received_size=len(data),
        received_sha256=_sha256(data),
        lat=lat,
        lon=lon,
    )


def _reencode(image: Image.Image, kind: str, orientation: int | None) -> tuple[bytes, int, int]:
    """The pixels again in the same format, upright, with nothing but the colour profile:
    no EXIF, XMP, comments or text chunks (Pillow writes only what it is given here); and
    the upright width and height."""
    icc = image.info.get("icc_profile")
    keep = {"icc_profile": icc} if icc else {}
    out = io.BytesIO()
    upright = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
    if kind == "JPEG":
        if upright is image and image.format == "JPEG":  # the same pixels: keep the quantisation
            image.save(out, "JPEG", quality="keep", subsampling="keep", comment=b"", **keep)
        else:
            clean = upright.convert("RGB") if upright.mode not in ("RGB", "L", "CMYK") else upright
            clean.info = {}
            clean.save(out, "JPEG", quality=JPEG_QUALITY, comment=b"", **keep)
    elif kind == "PNG":
        clean = upright.copy()
        clean.info = {}
        clean.save(out, "PNG", **keep)
    else:
        clean = upright.convert("RGBA") if upright.mode not in ("RGB", "RGBA") else upright.copy()
        clean.info = {}
        clean.save(out, "WEBP", quality=JPEG_QUALITY, **keep)
    return out.getvalue(), upright.width, upright.height


def add_photo(
    session: Session,
    actor: Actor,
    crime_id: str,
    data: bytes,
    clock: Clock,
    *,
    caption: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> ScenePhoto:
    """Store a photo of a crime (checked, metadata stripped, hashed; see the module), with
    where it was taken: its own GPS position, else the phone's (``lat``/``lon``). Written in
    the investigation log; audited."""
    require(actor, Action.CRIME_RECORD)
    event, _ = crime.visible_crime(session, actor, crime_id, for_update=True)
    problems = []
    words = _clean(caption)
    if len(words) > CAPTION_LIMIT:
        problems.append(_problem("caption", f"at most {CAPTION_LIMIT} characters"))
    if (lat is None) != (lon is None):
        problems.append(_problem("lat" if lat is None else "lon", "give both latitude and longitude"))
    elif lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        problems.append(_problem("lat", "not a position on Earth"))
    if problems:
        raise crime.invalid(problems)
    checked = check_photo(data)
    source = "photo" if checked.lat is not None else ("phone" if lat is not None else None)
    blob = _blob(event, checked.content_type, checked.data, clock)
    photo = ScenePhoto(
        id=clock.new_id(),
        force_id=event.force_id,
        event_id=event.id,
        blob_id=blob.id,
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=checked.sha256,
        received_size=checked.received_size,
        received_sha256=checked.received_sha256,
        width=checked.width,
        height=checked.height,
        lat=checked.lat if checked.lat is not None else lat,
        lon=checked.lon if checked.lat is not None else lon,
        location_source=source,
        caption=words,
        created_at=clock.now(),
        created_by=actor.username,
    )
    queries.add(session, blob)
    queries.add(session, photo)
    where = f"; taken at {photo.lat:.5f}, {photo.lon:.5f} (from the {source})" if source else ""
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.NOTE,
        f"photo added at the scene ({checked.content_type.split('/')[1].upper()} {photo.width}x{photo.height}, "
        f"SHA-256 {photo.sha256}){where}" + (f": {words}" if words else ""),
        clock,
    )
    _audit(session, actor, "scene.photo_add", event, clock, photo_id=photo.id, sha256=photo.sha256)
    return photo


# ---------------------------------------------------------------- witness statements


def signature_from_data_url(text: str | None, name: str = "signature") -> bytes | None:
    """The PNG bytes of a canvas's ``data:image/png;base64,...`` URL (None when absent);
    InvalidInput naming the field ``name`` for anything else."""
    value = (text or "").strip()
    if not value:
        return None
    head, _, payload = value.partition(",")
    if head.lower() != "data:image/png;base64" or not payload:
        raise _signature_invalid(name, "send the signature as the canvas's PNG (data:image/png;base64,...)")
    if len(payload) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise _signature_invalid(name, f"the signature is over {MAX_SIGNATURE_BYTES // 1024} KB")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _signature_invalid(name, "the signature's data is not base64") from None


def _signature_invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", code="scene.signature_invalid", problems=[FieldProblem(name, message)])


def _checked_signature(data: bytes | None, name: str) -> bytes:
    """The signature re-encoded as a bare PNG; refused when it is not a PNG, too large, or
    blank (nothing drawn, or only a dot)."""
    if not data:
        raise InvalidInput(
            f"{name}: the witness must sign on the screen",
            code="scene.signature_missing",
            problems=[FieldProblem(name, "the witness must sign on the screen")],
        )
    if len(data) > MAX_SIGNATURE_BYTES or data[:8] != b"\x89PNG\r\n\x1a\n":
        raise _signature_invalid(name, "the signature must be a PNG drawing of at most 512 KB")
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if max(image.size) > MAX_SIGNATURE_SIDE:
            raise _signature_invalid(name, f"the signature may be at most {MAX_SIGNATURE_SIDE} pixels across")
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _signature_invalid(name, "the signature is not a readable PNG") from None
    rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema() == (255, 255):  # an opaque background: ink is what is not white
        ink = ImageOps.invert(rgba.convert("L")).point(lambda v: 255 if v > 32 else 0).getbbox()
    else:
        ink = alpha.point(lambda v: 255 if v > 32 else 0).getbbox()
    if ink is None or max(ink[2] - ink[0], ink[3] - ink[1]) < MIN_SIGNATURE_INK:
        raise InvalidInput(
            f"{name}: nothing is drawn: the witness must sign on the screen",
            code="scene.signature_missing",
            problems=[FieldProblem(name, "nothing is drawn: the witness must sign on the screen")],
        )
    out = io.BytesIO()
    rgba.save(out, "PNG", optimize=True)
    return out.getvalue()


def _signed_at_problems(signed_at: datetime | None, clock: Clock, prefix: str) -> list[tuple[FieldProblem, str]]:
    if signed_at is None:
        return []
    now = clock.now()
    if signed_at.tzinfo is None:
        return [_problem(f"{prefix}signed_at", "give the time with its offset")]
    if signed_at > now + CLOCK_SKEW:
        return [_problem(f"{prefix}signed_at", "is in the future: check the phone's clock")]
    if signed_at < now - SIGNED_AT_WINDOW:
        return [_problem(f"{prefix}signed_at", "is more than 72 hours ago: take the statement again")]
    return []


def statement_hash(statement: SceneStatement, event: Event) -> str:
    """The SHA-256 over everything a signed statement says (see the module's decisions)."""
    content = {
        "crime": event.reference,
        "event_id": statement.event_id,
        "witness_id": statement.witness_id,
        "text": statement.text,
        "declaration": statement.declaration,
        "taken_by": statement.taken_by,
        "taken_by_name": statement.taken_by_name,
        "signed_at": statement.signed_at.isoformat(),
        "signature_sha256": statement.signature_sha256,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sha256(canonical.encode())


def _write_statement(
    session: Session,
    actor: Actor,
    event: Event,
    command: NewStatement,
    signature: bytes,
    prefix: str,
    clock: Clock,
) -> SceneStatement:
    witness = _resolve_person(session, actor, command.witness, f"{prefix}.witness" if prefix else "witness", clock)
    _link_once(session, actor, witness, LinkRole.WITNESS, event, clock)
    now = clock.now()
    blob = _blob(event, "image/png", signature, clock)
    statement = SceneStatement(
        id=clock.new_id(),
        force_id=event.force_id,
        event_id=event.id,
        witness_id=witness.id,
        text=command.text.strip(),
        declaration=DECLARATION,
        taken_by=actor.username,
        taken_by_name=queries.signing_name(session, actor.user_id, actor.username),
        signed_at=(command.signed_at or now).astimezone(now.tzinfo),
        received_at=now,
        signature_blob_id=blob.id,
        signature_sha256=blob.sha256,
        content_sha256="",
    )
    statement.content_sha256 = statement_hash(statement, event)
    queries.add(session, blob)
    queries.add(session, statement)
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.NOTE,
        f"witness statement of {pole.label(witness)} taken by {statement.taken_by_name} and signed on screen "
        f"(SHA-256 {statement.content_sha256})",
        clock,
    )
    _audit(session, actor, "scene.statement", event, clock, statement_id=statement.id, witness_id=witness.id)
    return statement


def take_statement(
    session: Session, actor: Actor, crime_id: str, command: NewStatement, clock: Clock
) -> SceneStatement:
    """A witness statement for a crime, signed on the phone and locked (see the module):
    the witness found or new (linked ``witness``), the text, the declaration, the signature."""
    require(actor, Action.CRIME_RECORD)
    event, _ = crime.visible_crime(session, actor, crime_id, for_update=True)
    problems = _statement_problems(command, "") + _signed_at_problems(command.signed_at, clock, "")
    if problems:
        raise crime.invalid(problems)
    signature = _checked_signature(command.signature_png, "signature")
    return _write_statement(session, actor, event, command, signature, "", clock)


# ---------------------------------------------------------------- reading


def _readable_crime(session: Session, actor: Actor, crime_id: str, missing: str) -> tuple[Event, Crime]:
    require(actor, Action.CRIME_READ)
    found = crime_queries.visible_crime(session, actor, crime_id)
    if found is None:
        raise NotFound(missing)
    return found


def scene_of(session: Session, actor: Actor, crime_id: str, clock: Clock) -> SceneView:
    """A crime's photos (not their bytes), statements and suspect descriptions; asks for a
    reason; audited."""
    event, row = _readable_crime(session, actor, crime_id, f"no crime {crime_id!r}")
    reason = require_reason(actor)
    statements = queries.statements_of(session, event.id)
    witnesses = {}
    for statement in statements:
        if statement.witness_id not in witnesses:
            witnesses[statement.witness_id] = records_queries.visible_person(session, actor, statement.witness_id)
    view = SceneView(
        event=event,
        crime=row,
        photos=queries.photos_of(session, event.id),
        statements=[(s, witnesses.get(s.witness_id)) for s in statements],
        suspects=queries.suspects_of(session, event.id),
    )
    _audit(session, actor, "scene.read", event, clock, reason=reason)
    return view


def photo_content(
    session: Session, actor: Actor, crime_id: str, photo_id: str, clock: Clock
) -> tuple[ScenePhoto, bytes]:
    """A photo of a crime and its stored bytes, for someone who may read the crime (another
    force's answers like a missing one); asks for a reason; audited."""
    missing = f"no photo {photo_id!r} of crime {crime_id!r}"
    event, _ = _readable_crime(session, actor, crime_id, missing)
    photo = queries.photo_of(session, event.id, photo_id)
    if photo is None:
        raise NotFound(missing)
    reason = require_reason(actor)
    stored = queries.blob(session, photo.blob_id)
    _audit(session, actor, "scene.photo_read", event, clock, reason=reason, photo_id=photo.id, sha256=photo.sha256)
    return photo, stored.data


def signature_content(
    session: Session, actor: Actor, crime_id: str, statement_id: str, clock: Clock
) -> tuple[SceneStatement, bytes]:
    """The signature of a witness statement (PNG), as ``photo_content`` serves photos."""
    missing = f"no statement {statement_id!r} of crime {crime_id!r}"
    event, _ = _readable_crime(session, actor, crime_id, missing)
    statement = queries.statement_of(session, event.id, statement_id)
    if statement is None:
        raise NotFound(missing)
    reason = require_reason(actor)
    stored = queries.blob(session, statement.signature_blob_id)
    _audit(session, actor, "scene.signature_read", event, clock, reason=reason, statement_id=statement.id)
    return statement, stored.data
