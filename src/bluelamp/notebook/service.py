"""Pocket notebook use cases: write an entry (with a location and a photo), amend it while
it is a draft, sign it (locked from then on), correct a signed entry with a new one, read
the notebook for a period, make the PDF for court and check a PDF against the store.

A notebook is its officer's own: every use case works on the caller's entries only, and
an entry of someone else answers exactly like a missing one. No role reads another
officer's notebook (the policy has no action for it). Every read and every change is
audited, without the entries' text (the audit log must not become a copy of the notes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action
from bluelamp.access.service import require
from bluelamp.clock import LONDON, to_local
from bluelamp.errors import CATALOGUE, Conflict, Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.notebook import chain, pdf, queries
from bluelamp.notebook.model import NotebookEntry, NotebookExport, NotebookPhoto
from bluelamp.notebook.photos import clean_photo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.access.policy import Actor
    from bluelamp.clock import Clock

CATALOGUE.register(
    "notebook.empty_entry", InvalidInput, "An empty notebook entry cannot be signed (nor saved with nothing in it)."
)
CATALOGUE.register(
    "notebook.signed", Conflict, "The notebook entry is signed: it cannot be changed; write a correction instead."
)
CATALOGUE.register(
    "notebook.not_signed", Conflict, "Only a signed notebook entry is corrected by a new one; a draft is amended."
)
CATALOGUE.register("notebook.not_a_notebook_pdf", InvalidInput, "The file is not a notebook PDF made by Bluelamp.")

MAX_TEXT = 20_000
DEFAULT_DAYS = 14
MAX_PERIOD_DAYS = 366
LIST_LIMIT = 500
PDF_LIMIT = 2_000
EMPTY = "An empty entry cannot be signed: write what you saw, heard or did first."


# ---------------------------------------------------------------- commands and views


@dataclass(frozen=True)
class Writing:
    """An entry's content as the phone sends it. ``written_at`` and ``signed_at`` are the
    phone's clock (when the officer wrote and signed it); the server keeps its own too."""

    text: str = ""
    written_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    photo: bytes | None = None
    sign: bool = False
    signed_at: datetime | None = None


@dataclass(frozen=True)
class Period:
    """Whole days on the UK clock, first to last inclusive."""

    first: date
    last: date

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(), tzinfo=LONDON).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=LONDON).astimezone(UTC)
        return start, end


@dataclass(frozen=True)
class OfficerCard:
    """Who the notebook belongs to, as the PDF prints it."""

    user_id: str
    name: str
    collar_number: str | None
    rank: str | None
    force: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "collar_number": self.collar_number,
            "rank": self.rank,
            "force": self.force,
        }


@dataclass
class EntryView:
    """An entry with its photo, the entry it corrects and the entries that correct it."""

    entry: NotebookEntry
    photo: NotebookPhoto | None = None
    corrects: NotebookEntry | None = None
    corrections: list[NotebookEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Notebook:
    officer: OfficerCard
    period: Period
    entries: list[EntryView]
    truncated: bool


@dataclass(frozen=True)
class MadePdf:
    export: NotebookExport
    pdf: bytes
    content_sha256: str
    filename: str


@dataclass(frozen=True)
class PdfCheck:
    """What checking a PDF against the store found: ``matches`` only when the printed hash,
    the attached content's hash, the hash recorded when the PDF was made and the hash of
    the content rebuilt from the store are all one."""

    matches: bool
    reference: str | None
    printed_sha256: str | None
    attached_sha256: str | None
    recorded_sha256: str | None
    recomputed_sha256: str | None
    entries: int
    problems: list[str]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


# ---------------------------------------------------------------- writing


def write_entry(
    session: Session, actor: Actor, writing: Writing, clock: Clock, *, corrects: NotebookEntry | None = None
) -> EntryView:
    """A new entry (a draft, or signed at once with ``writing.sign``); audited."""
    owner = _owner(actor)
    now = clock.now()
    text = _text(writing.text)
    if writing.sign and not text.strip():
        raise _empty()
    if not text.strip() and writing.photo is None:
        raise InvalidInput(
            "An empty entry cannot be saved: write something or add a photo.",
            code="notebook.empty_entry",
            problems=[FieldProblem("text", "write the entry, or add a photo to describe later")],
        )
    lat, lon, accuracy = _location(writing)
    photo = _store_photo(session, actor, writing.photo, now, clock) if writing.photo is not None else None
    entry = NotebookEntry(
        id=clock.new_id(),
        force_id=actor.force_id,
        owner_id=owner,
        text=text,
        written_at=_device_time(writing.written_at, "written_at", now),
        received_at=now,
        created_at=now,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        photo_id=photo.id if photo else None,
        corrects_id=corrects.id if corrects is not None else None,
    )
    queries.add(session, entry)
    detail: dict[str, Any] = {"photo": photo.id if photo else None, "late_seconds": _late(entry)}
    if corrects is not None:
        detail["corrects"] = corrects.id
    audit.append(
        session,
        actor,
        Audit(
            "notebook.correct" if corrects else "notebook.write",
            record_type="notebook_entry",
            record_id=entry.id,
            detail=detail,
        ),
        clock,
    )
    if writing.sign:
        _sign(session, actor, entry, writing.signed_at, clock)
    return _view(session, owner, entry)


def amend_entry(session: Session, actor: Actor, entry_id: str, writing: Writing, clock: Clock) -> EntryView:
    """Change a draft (its text, the time written, location, or add a photo); a signed
    entry is refused. With ``writing.sign`` the draft is signed in the same step."""
    owner = _owner(actor)
    entry = _own_entry(session, owner, entry_id)
    if entry.signed:
        raise _already_signed(entry)
    now = clock.now()
    text = _text(writing.text)
    if writing.sign and not text.strip():
        raise _empty()
    lat, lon, accuracy = _location(writing)
    if writing.photo is not None:
        entry.photo_id = _store_photo(session, actor, writing.photo, now, clock).id
    entry.text = text
    entry.written_at = _device_time(writing.written_at, "written_at", now)
    entry.received_at = now
    entry.lat, entry.lon, entry.accuracy_m = lat, lon, accuracy
    session.flush()
    audit.append(
        session,
        actor,
        Audit("notebook.amend", record_type="notebook_entry", record_id=entry.id, detail={"photo": entry.photo_id}),
        clock,
    )
    if writing.sign:
        _sign(session, actor, entry, writing.signed_at, clock)
    return _view(session, owner, entry)


def sign_entry(session: Session, actor: Actor, entry_id: str, signed_at: datetime | None, clock: Clock) -> EntryView:
    """Sign (lock) a draft: it takes the next sequence number and its place in the chain."""
    owner = _owner(actor)
    entry = _own_entry(session, owner, entry_id)
    if entry.signed:
        raise _already_signed(entry)
    _sign(session, actor, entry, signed_at, clock)
    return _view(session, owner, entry)


def correct_entry(session: Session, actor: Actor, entry_id: str, writing: Writing, clock: Clock) -> EntryView:
    """A correction: a new entry referring to a signed one, which stays as it was."""
    owner = _owner(actor)
    original = _own_entry(session, owner, entry_id)
    if not original.signed:
        raise Conflict(
            "This entry is not signed yet: change it instead of correcting it.",
            code="notebook.not_signed",
            extra={"entry_id": original.id},
        )
    return write_entry(session, actor, writing, clock, corrects=original)


def _sign(session: Session, actor: Actor, entry: NotebookEntry, signed_at: datetime | None, clock: Clock) -> None:
    if not entry.text.strip():
        raise _empty()
    now = clock.now()
    book = queries.book_for_update(session, entry.owner_id, entry.force_id)
    corrects_seq = None
    if entry.corrects_id:
        corrects_seq = queries.seqs_of(session, [entry.corrects_id]).get(entry.corrects_id)
    photo = queries.photos(session, [entry.photo_id]).get(entry.photo_id) if entry.photo_id else None
    entry.seq = book.last_seq + 1
    entry.prev_hash = book.last_hash
    entry.signed_at = _device_time(signed_at, "signed_at", now)
    entry.sign_received_at = now
    entry.hash = chain.entry_hash(entry, photo, corrects_seq)
    book.last_seq, book.last_hash = entry.seq, entry.hash
    session.flush()
    audit.append(
        session,
        actor,
        Audit("notebook.sign", record_type="notebook_entry", record_id=entry.id, detail={"seq": entry.seq}),
        clock,
    )


def _store_photo(session: Session, actor: Actor, raw: bytes, now: datetime, clock: Clock) -> NotebookPhoto:
    clean = clean_photo(raw)
    photo = NotebookPhoto(
        id=clock.new_id(),
        force_id=actor.force_id,
        owner_id=actor.user_id,
        content_type=clean.content_type,
        data=clean.data,
        size=clean.size,
        sha256=clean.sha256,
        received_size=clean.received_size,
        received_sha256=clean.received_sha256,
        width=clean.width,
        height=clean.height,
        lat=clean.lat,
        lon=clean.lon,
        received_at=now,
    )
    queries.add(session, photo)
    return photo


# ---------------------------------------------------------------- reading


def period_of(first: date | None, last: date | None, clock: Clock) -> Period:
    """The period asked for; by default the last ``DEFAULT_DAYS`` days up to today (UK)."""
    last = last or to_local(clock.now()).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput(
            "The period starts after it ends.", problems=[FieldProblem("from", "choose a day on or before the last")]
        )
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            f"A period is at most {MAX_PERIOD_DAYS} days.",
            problems=[FieldProblem("from", f"choose at most {MAX_PERIOD_DAYS} days")],
        )
    return Period(first, last)


def notebook(session: Session, actor: Actor, period: Period, clock: Clock) -> Notebook:
    """The officer's entries written in the period, newest first, with every draft, each
    with the entry it corrects and its corrections; audited."""
    owner = _owner(actor)
    start, end = period.bounds()
    rows = queries.entries_in_period(session, owner, start, end, drafts=True, limit=LIST_LIMIT + 1)
    truncated = len(rows) > LIST_LIMIT
    rows = rows[:LIST_LIMIT]
    views = _views(session, owner, rows)
    audit.append(
        session,
        actor,
        Audit(
            "notebook.read",
            record_type="notebook",
            record_id=owner,
            detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "entries": len(rows)},
        ),
        clock,
    )
    return Notebook(_officer(session, owner), period, views, truncated)


def entry(session: Session, actor: Actor, entry_id: str, clock: Clock) -> EntryView:
    """One of the officer's entries with its corrections; audited."""
    owner = _owner(actor)
    found = _own_entry(session, owner, entry_id)
    audit.append(session, actor, Audit("notebook.read", record_type="notebook_entry", record_id=found.id), clock)
    return _view(session, owner, found)


def photo(session: Session, actor: Actor, photo_id: str, clock: Clock) -> NotebookPhoto:
    """One of the officer's photos, as stored; audited."""
    owner = _owner(actor)
    found = queries.own_photo(session, owner, photo_id)
    if found is None:
        raise NotFound(f"no notebook photo {photo_id}")
    audit.append(session, actor, Audit("notebook.read", record_type="notebook_photo", record_id=found.id), clock)
    return found


def _views(session: Session, owner: str, rows: list[NotebookEntry]) -> list[EntryView]:
    ids = [e.id for e in rows]
    corrections = queries.corrections_of(session, owner, ids)
    originals = queries.entries_by_id(session, owner, [e.corrects_id for e in rows if e.corrects_id])
    photos = queries.photos(session, [e.photo_id for e in rows if e.photo_id])
    by_original: dict[str, list[NotebookEntry]] = {}
    for correction in corrections:
        by_original.setdefault(correction.corrects_id, []).append(correction)
    return [
        EntryView(
            entry=e,
            photo=photos.get(e.photo_id) if e.photo_id else None,
            corrects=originals.get(e.corrects_id) if e.corrects_id else None,
            corrections=by_original.get(e.id, []),
        )
        for e in rows
    ]


def _view(session: Session, owner: str, found: NotebookEntry) -> EntryView:
    return _views(session, owner, [found])[0]


# ---------------------------------------------------------------- the PDF for court


def make_pdf(session: Session, actor: Actor, period: Period, clock: Clock) -> MadePdf:
    """The PDF of the officer's signed entries written in the period, with the entries they
    correct and that correct them, recorded so that it can be checked later; audited."""
    owner = _owner(actor)
    start, end = period.bounds()
    chosen = queries.entries_in_period(session, owner, start, end, drafts=False, limit=PDF_LIMIT + 1)
    if len(chosen) > PDF_LIMIT:
        raise InvalidInput(
            f"More than {PDF_LIMIT} entries in the period: choose a shorter one.",
            problems=[FieldProblem("from", "choose a shorter period")],
        )
    entries = _with_corrections(session, owner, {e.id: e for e in chosen})
    officer = _officer(session, owner)
    export = NotebookExport(
        id=clock.new_id(),
        force_id=actor.force_id,
        owner_id=owner,
        period_from=period.first,
        period_to=period.last,
        officer=officer.as_dict(),
        entry_ids=[e.id for e in entries],
        content_sha256="",
        created_at=clock.now(),
        created_by=actor.username,
    )
    content = _content(session, export, entries)
    data = chain.document_bytes(content)
    export.content_sha256 = chain.sha256(data)
    queries.add(session, export)
    photos = queries.photos(session, [e.photo_id for e in entries if e.photo_id])
    document = pdf.render(content, data, export.content_sha256, photos)
    audit.append(
        session,
        actor,
        Audit(
            "notebook.export",
            record_type="notebook_export",
            record_id=export.id,
            detail={
                "from": period.first.isoformat(),
                "to": period.last.isoformat(),
                "entries": len(entries),
                "sha256": export.content_sha256,
            },
        ),
        clock,
    )
    collar = officer.collar_number or "officer"
    filename = f"notebook-{collar}-{period.first.isoformat()}-to-{period.last.isoformat()}.pdf"
    return MadePdf(export, document, export.content_sha256, filename)


def _with_corrections(session: Session, owner: str, found: dict[str, NotebookEntry]) -> list[NotebookEntry]:
    """The chosen entries with, over and over, the signed entries that correct them and the
    entries they correct, in sequence order."""
    frontier = set(found)
    while frontier:
        more = [c for c in queries.corrections_of(session, owner, frontier) if c.signed]
        originals = queries.entries_by_id(
            session, owner, [found[i].corrects_id for i in frontier if found[i].corrects_id]
        )
        frontier = set()
        for e in [*more, *originals.values()]:
            if e.id not in found:
                found[e.id] = e
                frontier.add(e.id)
    return sorted(found.values(), key=lambda e: e.seq)


def _content(session: Session, export: NotebookExport, entries: list[NotebookEntry]) -> dict[str, Any]:
    photos = queries.photos(session, [e.photo_id for e in entries if e.photo_id])
    seqs = queries.seqs_of(session, [e.corrects_id for e in entries if e.corrects_id])
    return chain.document(export, entries, photos, seqs)


def verify_pdf(session: Session, actor: Actor, data: bytes, clock: Clock) -> PdfCheck:
    """Check a notebook PDF against the store: its printed hash, its attached content, the
    hash recorded when it was made, and the entries as they are stored now; audited."""
    owner = _owner(actor)
    read = pdf.read_back(data)
    if read is None:
        raise InvalidInput(
            "This file is not a notebook PDF made by Bluelamp (it has no attached notebook content).",
            code="notebook.not_a_notebook_pdf",
            problems=[FieldProblem("file", "choose a notebook PDF")],
        )
    printed, attached = read
    attached_sha = chain.sha256(attached)
    try:
        content = json.loads(attached)
        reference = str(content["reference"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "The PDF's attached notebook content cannot be read.",
            code="notebook.not_a_notebook_pdf",
            problems=[FieldProblem("file", "choose a notebook PDF")],
        ) from None
    export = queries.own_export(session, owner, reference)
    if export is None:
        raise NotFound(f"no notebook PDF {reference} in your notebook")
    problems: list[str] = []
    if printed != attached_sha:
        problems.append("The hash printed on the PDF is not the SHA-256 of the content attached to it.")
    if printed != export.content_sha256:
        problems.append("The hash printed on the PDF is not the one Bluelamp recorded when it made this PDF.")
    stored = queries.entries_by_id(session, owner, export.entry_ids)
    missing = [i for i in export.entry_ids if i not in stored]
    problems.extend(f"Entry {i} of this PDF is no longer in the store." for i in missing)
    entries = [stored[i] for i in export.entry_ids if i in stored]
    rebuilt = chain.document_bytes(_content(session, export, entries))
    recomputed = chain.sha256(rebuilt)
    if recomputed != export.content_sha256:
        problems.append("The entries as stored now do not give the hash recorded when this PDF was made.")
        problems.extend(_entry_differences(session, entries, content))
    audit.append(
        session,
        actor,
        Audit(
            "notebook.verify",
            record_type="notebook_export",
            record_id=export.id,
            detail={"matches": not problems, "printed": printed},
        ),
        clock,
    )
    return PdfCheck(
        matches=not problems,
        reference=reference,
        printed_sha256=printed,
        attached_sha256=attached_sha,
        recorded_sha256=export.content_sha256,
        recomputed_sha256=recomputed,
        entries=len(export.entry_ids),
        problems=problems,
    )


def _entry_differences(session: Session, entries: list[NotebookEntry], content: dict[str, Any]) -> list[str]:
    """Which entries no longer match their own chain hash or what the PDF holds."""
    attached = {item.get("id"): item for item in content.get("entries", []) if isinstance(item, dict)}
    photos = queries.photos(session, [e.photo_id for e in entries if e.photo_id])
    seqs = queries.seqs_of(session, [e.corrects_id for e in entries if e.corrects_id])
    found = []
    for e in entries:
        photo = photos.get(e.photo_id) if e.photo_id else None
        corrects_seq = seqs.get(e.corrects_id) if e.corrects_id else None
        if chain.entry_hash(e, photo, corrects_seq) != e.hash:
            found.append(f"Entry {e.seq} was altered in the store: it no longer matches its own hash.")
        elif photo is not None and chain.sha256(photo.data) != photo.sha256:
            found.append(f"The photo of entry {e.seq} was altered in the store.")
        item = attached.get(e.id)
        if item is not None and item.get("hash") != e.hash:
            found.append(f"Entry {e.seq} differs from the one in the PDF.")
    return found


def check_chain(session: Session, actor: Actor, clock: Clock) -> ChainCheck:
    """Walk the officer's signed entries in order and name the first one edited, removed or
    out of place (and photos altered); audited."""
    owner = _owner(actor)
    entries = queries.signed_entries_in_order(session, owner)
    head = queries.book(session, owner)
    photos = queries.photos(session, [e.photo_id for e in entries if e.photo_id])
    seqs = {e.id: e.seq for e in entries}
    result = verify_entries(entries, photos, seqs, (head.last_seq, head.last_hash) if head else (0, chain.GENESIS))
    audit.append(
        session,
        actor,
        Audit("notebook.check", record_type="notebook", record_id=owner, detail={"ok": result.ok}),
        clock,
    )
    return result


def verify_entries(
    entries: list[NotebookEntry],
    photos: dict[str, NotebookPhoto],
    seqs: dict[str, int | None],
    head: tuple[int, str],
) -> ChainCheck:
    """The chain check itself, on entries in sequence order and the book's head."""
    expected_prev, expected_seq = chain.GENESIS, 1
    for e in entries:
        if e.seq != expected_seq:
            return ChainCheck(
                False, expected_seq - 1, expected_seq, f"entry {expected_seq} is missing (next is {e.seq})"
            )
        if e.prev_hash != expected_prev:
            return ChainCheck(False, expected_seq - 1, e.seq, f"entry {e.seq} does not follow entry {e.seq - 1}")
        photo = photos.get(e.photo_id) if e.photo_id else None
        corrects_seq = seqs.get(e.corrects_id) if e.corrects_id else None
        if chain.entry_hash(e, photo, corrects_seq) != e.hash:
            return ChainCheck(False, expected_seq - 1, e.seq, f"entry {e.seq} was edited (its hash does not match)")
        if photo is not None and chain.sha256(photo.data) != photo.sha256:
            return ChainCheck(False, expected_seq - 1, e.seq, f"the photo of entry {e.seq} was altered")
        expected_prev, expected_seq = e.hash, expected_seq + 1
    checked = expected_seq - 1
    last_seq, last_hash = head
    if last_seq > checked:
        return ChainCheck(False, checked, checked + 1, f"entries {checked + 1} to {last_seq} were removed from the end")
    if last_seq != checked or last_hash != expected_prev:
        return ChainCheck(False, checked, last_seq, "the head of the notebook does not match its last entry")
    return ChainCheck(True, checked)


# ---------------------------------------------------------------- rules


def _owner(actor: Actor) -> str:
    require(actor, Action.NOTEBOOK_WRITE)
    if actor.user_id is None or actor.force_id is None:
        raise Denied("a pocket notebook belongs to a signed-in officer of a force")
    return actor.user_id


def _own_entry(session: Session, owner: str, entry_id: str) -> NotebookEntry:
    found = queries.own_entry(session, owner, entry_id)
    if found is None:
        raise NotFound(f"no notebook entry {entry_id}")
    return found


def _officer(session: Session, owner: str) -> OfficerCard:
    user, officer, force = queries.officer_of(session, owner)
    name = officer.name if officer is not None else (user.display_name if user is not None else owner)
    return OfficerCard(
        user_id=owner,
        name=name,
        collar_number=officer.collar_number if officer is not None else None,
        rank=officer.rank if officer is not None else None,
        force=force.name if force is not None else None,
    )


def _text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"An entry is at most {MAX_TEXT} characters; this one has {len(text)}. Continue in a new entry.",
            problems=[FieldProblem("text", f"at most {MAX_TEXT} characters")],
        )
    return text


def _location(writing: Writing) -> tuple[float | None, float | None, float | None]:
    if (writing.lat is None) != (writing.lon is None):
        raise InvalidInput(
            "A location needs both latitude and longitude.",
            problems=[FieldProblem("lat" if writing.lat is None else "lon", "give both, or neither")],
        )
    problems = []
    if writing.lat is not None and not -90 <= writing.lat <= 90:
        problems.append(FieldProblem("lat", "a latitude is between -90 and 90"))
    if writing.lon is not None and not -180 <= writing.lon <= 180:
        problems.append(FieldProblem("lon", "a longitude is between -180 and 180"))
    if writing.accuracy_m is not None and (writing.accuracy_m < 0 or writing.lat is None):
        problems.append(FieldProblem("accuracy_m", "metres, zero or more, with a location"))
    if problems:
        raise InvalidInput("The location is not valid.", problems=problems)
    return writing.lat, writing.lon, writing.accuracy_m


def _device_time(moment: datetime | None, name: str, now: datetime) -> datetime:
    """The phone's time as sent (the server's when none). It is kept as given, never
    corrected: the PDF prints it next to the server's, so a wrong phone clock shows."""
    if moment is None:
        return now
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{name} needs a time zone (e.g. 2026-03-01T14:30:00Z).",
            problems=[FieldProblem(name, "an ISO 8601 time with Z or an offset")],
        )
    return moment.astimezone(UTC)


def _late(entry: NotebookEntry) -> int:
    return max(0, int((entry.received_at - entry.written_at).total_seconds()))


def _empty() -> InvalidInput:
    return InvalidInput(EMPTY, code="notebook.empty_entry", problems=[FieldProblem("text", "write the entry first")])


def _already_signed(entry: NotebookEntry) -> Conflict:
    return Conflict(
        f"Entry {entry.seq} is signed: it cannot be changed. Write a correction instead.",
        code="notebook.signed",
        extra={"entry_id": entry.id, "seq": entry.seq},
    )
