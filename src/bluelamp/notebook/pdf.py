"""The notebook's PDF for court (fpdf2) and reading one back (pypdf).

The PDF prints the officer, the period, each entry with its sequence number, the times
it was written and signed on the phone and received by the server, its location, its
corrections, its photo's SHA-256 (and the photo, scaled), each entry's chain hashes, and
on every page the SHA-256 of its content. That content is attached to the PDF as
``notebook-content.json``, byte for byte what the hash covers, so a court can save the
attachment and recompute the hash without Bluelamp."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from bluelamp.clock import to_local
from bluelamp.notebook.chain import ATTACHMENT_NAME

if TYPE_CHECKING:
    from bluelamp.notebook.model import NotebookPhoto

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
MARKING = "OFFICIAL-SENSITIVE"
PRINTED = re.compile(r"Content SHA-256:\s*([0-9a-f]{64})")
PHOTO_MAX_W, PHOTO_MAX_H = 90.0, 80.0  # millimetres
PHOTO_MAX_PIXELS = 1400  # the longer side of a photo as printed (the stored photo is the evidence)
LATE_SECONDS = 60

HOW_TO_CHECK = (
    "What this hash covers: it is the SHA-256 of the file {name} attached to this PDF (see your PDF "
    "reader's attachments). That file holds, for every entry printed here, exactly as stored: the officer, "
    "the sequence number, the full text, the times written and signed on the phone and received by the "
    "server (UTC), the location, the SHA-256 of its photo, the entry it corrects, the previous entry's hash "
    "and the entry's own hash; and this document's reference, officer and period. To check it, save the "
    "attachment and compute its SHA-256 (e.g. sha256sum {name}, or certutil -hashfile {name} SHA256): it "
    "must be the figure above. Each entry's hash is the SHA-256 of its canonical JSON (UTF-8, keys sorted, "
    'no spaces; without its "hash" and "photo" members), which includes the previous entry\'s hash, so '
    "an entry changed, removed or put out of order breaks the chain. Bluelamp checks a PDF against its "
    "store: POST /api/v1/notebook/verify with the PDF."
)

logging.getLogger("fpdf").setLevel(logging.ERROR)  # missing glyphs (emoji) are not worth a warning each


class _Document(FPDF):
    def __init__(self, sha256: str) -> None:
        super().__init__(format="A4")
        self.sha256 = sha256
        self.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_auto_page_break(True, margin=22)
        self.set_margins(16, 16, 16)

    def header(self) -> None:
        self.set_font(FONT, "B", 9)
        self.cell(0, 5, MARKING, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font(FONT, "", 7)
        self.cell(0, 4, f"Content SHA-256 {self.sha256}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_font(FONT, "B", 9)
        self.cell(0, 5, MARKING, align="C")


def render(content: dict[str, Any], attachment: bytes, sha256: str, photos: dict[str, NotebookPhoto]) -> bytes:
    """The PDF of a notebook document (chain.document) with its content attached."""
    officer = content["officer"]
    period = content["period"]
    made_at = _utc(content["made_at"])
    doc = _Document(sha256)
    who = " ".join(p for p in (officer.get("rank"), officer.get("collar_number"), officer.get("name")) if p)
    doc.set_title(f"Pocket notebook: {who}, {period['from']} to {period['to']}")
    doc.set_author(officer.get("name") or "")
    doc.set_subject(f"Content SHA-256 {sha256}")
    doc.set_creator("Bluelamp")
    doc.set_lang("en-GB")
    doc.set_creation_date(made_at)
    doc.embed_file(
        bytes=attachment,
        basename=ATTACHMENT_NAME,
        desc="The content of this notebook PDF; its SHA-256 is printed on every page",
        mime_type="application/json",
        modification_date=made_at,
    )
    doc.add_page()
    _title(doc, content, who)
    entries = content["entries"]
    seq_of = {e["id"]: e["seq"] for e in entries}
    corrected_by: dict[int, list[int]] = {}
    for e in entries:
        if e.get("corrects_seq") is not None:
            corrected_by.setdefault(e["corrects_seq"], []).append(e["seq"])
    if not entries:
        doc.set_font(FONT, "", 10)
        doc.multi_cell(
            0, 5, "No signed entries were written in this period.", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
        )
    for e in entries:
        _entry(doc, e, photos, corrected_by.get(e["seq"], []), seq_of)
    return bytes(doc.output())


def _title(doc: _Document, content: dict[str, Any], who: str) -> None:
    officer, period, entries = content["officer"], content["period"], content["entries"]
    doc.set_font(FONT, "B", 16)
    doc.cell(0, 9, "Pocket notebook", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.set_font(FONT, "B", 11)
    doc.cell(0, 6, who, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.set_font(FONT, "", 10)
    lines = []
    if officer.get("force"):
        lines.append(officer["force"])
    lines.append(
        f"Collar number: {officer.get('collar_number') or 'not recorded'}. "
        f"Entries written from {_long_day(period['from'])} to {_long_day(period['to'])} (UK time), "
        "with the entries that correct them and that they correct."
    )
    seqs = [e["seq"] for e in entries]
    if seqs:
        lines.append(f"{len(seqs)} signed entries: sequence numbers {_ranges(seqs)}.")
    lines.append(f"Made {_when(_utc(content['made_at']))} by {content['made_by']}. Reference {content['reference']}.")
    for line in lines:
        doc.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.ln(3)
    doc.set_draw_color(0)
    doc.set_line_width(0.4)
    top = doc.get_y()
    doc.set_x(doc.l_margin + 3)
    doc.set_font(FONT, "B", 9.5)
    doc.cell(doc.epw - 6, 6, "Content SHA-256:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_x(doc.l_margin + 3)
    doc.set_font(FONT, "B", 10.5)
    doc.cell(doc.epw - 6, 6, doc.sha256, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FONT, "", 8)
    doc.set_x(doc.l_margin + 3)
    doc.multi_cell(
        doc.epw - 6, 3.8, HOW_TO_CHECK.format(name=ATTACHMENT_NAME), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
    )
    doc.ln(2)
    doc.rect(doc.l_margin, top, doc.epw, doc.get_y() - top)
    doc.ln(5)


def _entry(
    doc: _Document, e: dict[str, Any], photos: dict[str, NotebookPhoto], corrected_by: list[int], seq_of: dict
) -> None:
    if doc.will_page_break(30):
        doc.add_page()
    doc.set_draw_color(150)
    doc.set_line_width(0.2)
    doc.line(doc.l_margin, doc.get_y(), doc.l_margin + doc.epw, doc.get_y())
    doc.ln(2)
    heading = f"Entry {e['seq']}"
    if e.get("corrects_seq") is not None:
        heading += f": correction of entry {e['corrects_seq']}"
    doc.set_font(FONT, "B", 11)
    doc.cell(0, 6, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.set_font(FONT, "", 8.5)
    written, received = _utc(e["written_at"]), _utc(e["received_at"])
    signed, sign_received = _utc(e["signed_at"]), _utc(e["sign_received_at"])
    times = [
        f"Written {_when(written)} on the phone; received {_when(received)} by the server.",
        f"Signed {_when(signed)} on the phone; received {_when(sign_received)} by the server.",
    ]
    late = (received - written).total_seconds()
    if late > LATE_SECONDS:
        times.append(f"Sent {_duration(late)} after it was written (kept on the phone while offline).")
    elif late < -LATE_SECONDS:
        times.append(f"The phone's clock was {_duration(-late)} ahead of the server's.")
    for line in times:
        doc.multi_cell(0, 4.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.ln(1.5)
    doc.set_font(FONT, "", 10.5)
    doc.multi_cell(0, 5.2, e["text"], new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.ln(1.5)
    doc.set_font(FONT, "", 8.5)
    if e.get("lat") is not None:
        accuracy = f" (within {e['accuracy_m']:.0f} m)" if e.get("accuracy_m") is not None else ""
        doc.multi_cell(
            0, 4.2, f"Location: {e['lat']:.6f}, {e['lon']:.6f}{accuracy}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    if corrected_by:
        doc.set_font(FONT, "B", 8.5)
        listed = ", ".join(str(s) for s in corrected_by)
        doc.multi_cell(
            0, 4.2, f"Corrected by entry {listed} (printed in this document).", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        doc.set_font(FONT, "", 8.5)
    if e.get("photo_sha256"):
        _photo(doc, e, photos)
    doc.set_font(FONT, "", 7)
    doc.set_text_color(80)
    doc.multi_cell(0, 3.6, f"Previous entry's hash {e['prev_hash']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.multi_cell(0, 3.6, f"This entry's hash {e['hash']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    doc.set_text_color(0)
    doc.ln(3)


def _photo(doc: _Document, e: dict[str, Any], photos: dict[str, NotebookPhoto]) -> None:
    meta = e.get("photo") or {}
    kind = (meta.get("content_type") or "image").removeprefix("image/").upper()
    line = (
        f"Photo: {kind}, {meta.get('width')} × {meta.get('height')} pixels, {meta.get('bytes', 0) / 1024:.0f} KB, "
        f"SHA-256 {e['photo_sha256']}"
    )
    if meta.get("lat") is not None:
        line += f". Location in the photo: {meta['lat']:.6f}, {meta['lon']:.6f}"
    doc.multi_cell(0, 4.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    stored = next((p for p in photos.values() if p.sha256 == e["photo_sha256"]), None)
    if stored is None:
        return
    picture = Image.open(io.BytesIO(stored.data))
    picture.thumbnail((PHOTO_MAX_PIXELS, PHOTO_MAX_PIXELS))
    if picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    scale = min(PHOTO_MAX_W / picture.width, PHOTO_MAX_H / picture.height)
    width, height = picture.width * scale, picture.height * scale
    if doc.will_page_break(height + 2):
        doc.add_page()
    doc.ln(1)
    doc.image(picture, x=doc.l_margin, w=width, h=height)
    doc.ln(2)


def read_back(data: bytes) -> tuple[str | None, bytes] | None:
    """(the hash printed on the first page, the attached content) of a notebook PDF, or
    None when the file is not a PDF or has no notebook content attached."""
    try:
        reader = PdfReader(io.BytesIO(data))
        attached = reader.attachments.get(ATTACHMENT_NAME)
        if not attached:
            return None
        text = reader.pages[0].extract_text() if reader.pages else ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return None
    found = PRINTED.search(text or "")
    return (found.group(1) if found else None), attached[0]


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _when(moment: datetime) -> str:
    local = to_local(moment)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def _long_day(day: str) -> str:
    value = datetime.fromisoformat(day)
    return f"{value.day} {value:%B %Y}"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{max(minutes, 1)} min"
    hours = seconds / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def _ranges(seqs: list[int]) -> str:
    parts, start, prev = [], None, None
    for s in sorted(seqs):
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            parts.append(f"{start}" if start == prev else f"{start} to {prev}")
            start = prev = s
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start} to {prev}")
    return ", ".join(parts)
