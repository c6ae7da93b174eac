"""The notebook's hash chain and the canonical content a PDF's hash covers.

An entry's hash is the SHA-256 of its canonical JSON (UTF-8, keys sorted, no spaces),
which holds everything the entry says (its officer, sequence number, text, the four
times, location, photo's SHA-256, the entry it corrects) and the previous entry's hash.
So a signed entry edited, removed or put out of order breaks the chain from there on.

A PDF prints the SHA-256 of ``document_bytes``: the JSON file attached to the PDF, which
anyone can save and hash (``sha256sum notebook-content.json``) to check the figure, and
which Bluelamp rebuilds from its store to check the PDF against what it holds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bluelamp.notebook.model import NotebookEntry, NotebookExport, NotebookPhoto

GENESIS = "0" * 64
ENTRY_FORMAT = "bluelamp-notebook-entry/1"
DOCUMENT_FORMAT = "bluelamp-notebook-pdf/1"
ATTACHMENT_NAME = "notebook-content.json"


def stamp(moment: datetime | None) -> str | None:
    """A time as the canonical content writes it: UTC, microseconds, ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_content(entry: NotebookEntry, photo: NotebookPhoto | None, corrects_seq: int | None) -> dict[str, Any]:
    """What an entry's hash covers (its own hash excluded)."""
    return {
        "format": ENTRY_FORMAT,
        "id": entry.id,
        "officer": entry.owner_id,
        "seq": entry.seq,
        "text": entry.text,
        "written_at": stamp(entry.written_at),
        "received_at": stamp(entry.received_at),
        "signed_at": stamp(entry.signed_at),
        "sign_received_at": stamp(entry.sign_received_at),
        "lat": entry.lat,
        "lon": entry.lon,
        "accuracy_m": entry.accuracy_m,
        "photo_sha256": photo.sha256 if photo is not None else None,
        "corrects_seq": corrects_seq,
        "prev_hash": entry.prev_hash,
    }


def canonical(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: NotebookEntry, photo: NotebookPhoto | None, corrects_seq: int | None) -> str:
    """The entry's place in the chain: SHA-256 of its canonical content with the previous hash."""
    return hashlib.sha256(canonical(entry_content(entry, photo, corrects_seq))).hexdigest()


def document(
    export: NotebookExport,
    entries: list[NotebookEntry],
    photos: dict[str, NotebookPhoto],
    seqs: dict[str, int | None],
) -> dict[str, Any]:
    """The content of a PDF: its header and each entry's canonical content with its hash."""
    listed = []
    for entry in entries:
        photo = photos.get(entry.photo_id) if entry.photo_id else None
        item = entry_content(entry, photo, seqs.get(entry.corrects_id) if entry.corrects_id else None)
        item["hash"] = entry.hash
        if photo is not None:
            item["photo"] = {
                "content_type": photo.content_type,
                "bytes": photo.size,
                "width": photo.width,
                "height": photo.height,
                "lat": photo.lat,
                "lon": photo.lon,
                "received_sha256": photo.received_sha256,
            }
        listed.append(item)
    return {
        "format": DOCUMENT_FORMAT,
        "reference": export.id,
        "made_at": stamp(export.created_at),
        "made_by": export.created_by,
        "officer": export.officer,
        "period": {
            "from": _day(export.period_from),
            "to": _day(export.period_to),
            "time_zone": "Europe/London",
            "entries_chosen_by": "the time each was written on the phone, with the entries they correct and that "
            "correct them",
        },
        "hashes": {
            "entry": "SHA-256 of the entry's canonical JSON (UTF-8, keys sorted, no spaces) without its 'hash' "
            "and 'photo' members; it holds the previous entry's hash (prev_hash)",
            "document": "SHA-256 of this file, byte for byte",
        },
        "entries": listed,
    }


def document_bytes(content: dict[str, Any]) -> bytes:
    """The attached file, byte for byte (the PDF prints its SHA-256)."""
    return (json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _day(value: date) -> str:
    return value.isoformat()
