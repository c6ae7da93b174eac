"""Photos taken for the notebook: the real type checked (not the name or the declared
type), the size limited, the GPS location read into fields, every other piece of
metadata stripped (EXIF with the phone's make, serial numbers and times, XMP, comments),
and the SHA-256 of what is stored and of what was received.

Stripping means re-encoding: the picture is turned upright first (the EXIF orientation
would be lost with the EXIF) and written again in its own format. Only the colour profile
is kept, so that colours print as taken; it says nothing about who or where."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput, TooLarge

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_PIXELS = 50_000_000  # 50 megapixels: larger than any phone's camera, smaller than a decompression bomb
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

CATALOGUE.register("notebook.photo_type", InvalidInput, "A notebook photo must be a JPEG, PNG or WebP image.")
CATALOGUE.register(
    "notebook.photo_too_large", TooLarge, "A notebook photo is over the size limit (10 MB, 50 megapixels)."
)


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: its bytes without metadata and what is known about it."""

    content_type: str
    data: bytes
    sha256: str
    received_sha256: str
    received_size: int
    width: int
    height: int
    lat: float | None
    lon: float | None

    @property
    def size(self) -> int:
        return len(self.data)


def _wrong_type(detail: str) -> InvalidInput:
    return InvalidInput(
        detail, code="notebook.photo_type", problems=[FieldProblem("photo", "choose a JPEG, PNG or WebP photo")]
    )


def _too_large(detail: str) -> TooLarge:
    return TooLarge(detail, code="notebook.photo_too_large", problems=[FieldProblem("photo", detail)])


def decode_photo(text: str) -> bytes:
    """The bytes of a photo sent in JSON as base64, or as a ``data:`` URL (what a phone's
    offline outbox can keep); the size is checked before decoding."""
    _, comma, payload = text.partition(",") if text.startswith("data:") else ("", "", text)
    if text.startswith("data:") and not comma:
        raise _wrong_type("The photo did not arrive whole: choose it again.")
    payload = "".join(payload.split())
    if len(payload) * 3 // 4 > MAX_PHOTO_BYTES + 2:
        raise _too_large(
            f"The photo is about {len(payload) * 3 / 4 / 1_048_576:.1f} MB; the most a notebook photo may be is "
            f"{MAX_PHOTO_BYTES // 1_048_576} MB. Take it again at a lower resolution."
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _wrong_type("The photo did not arrive whole (it is not base64): choose it again.") from None


def clean_photo(raw: bytes) -> CleanPhoto:
    """Check and clean a photo as received; InvalidInput or TooLarge with a message for the officer."""
    if not raw:
        raise _wrong_type("The photo is empty: take or choose it again.")
    if len(raw) > MAX_PHOTO_BYTES:
        raise _too_large(
            f"The photo is {len(raw) / 1_048_576:.1f} MB; the most a notebook photo may be is "
            f"{MAX_PHOTO_BYTES // 1_048_576} MB. Take it again at a lower resolution."
        )
    try:
        image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
    except (UnidentifiedImageError, OSError):
        raise _wrong_type(
            "Only JPEG, PNG or WebP photos can go in the notebook; this file is not one of them."
        ) from None
    width, height = image.size
    if width * height > MAX_PHOTO_PIXELS:
        raise _too_large(
            f"The photo is {width} × {height} pixels; the most is {MAX_PHOTO_PIXELS // 1_000_000} megapixels."
        )
    kind = "JPEG" if image.format == "MPO" else image.format  # MPO: a phone's multi-picture JPEG
    if kind not in FORMATS:
        raise _wrong_type("Only JPEG, PNG or WebP photos can go in the notebook; this file is not one of them.")
    lat, lon = gps_location(image.getexif())
    try:
        image.seek(0)  # an animated PNG or WebP, or an MPO: the first picture only
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise _wrong_type("The photo is damaged or incomplete: take or choose it again.") from None
    data = _without_metadata(upright, kind, image.info.get("icc_profile"))
    return CleanPhoto(
        content_type=FORMATS[kind],
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        received_sha256=hashlib.sha256(raw).hexdigest(),
        received_size=len(raw),
        width=upright.width,
        height=upright.height,
        lat=lat,
        lon=lon,
    )


def _without_metadata(image: Image.Image, kind: str, icc_profile: bytes | None) -> bytes:
    clean = image.copy()
    clean.info = {}  # Pillow writes comments, XMP and EXIF it finds here: none
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if kind == "JPEG":
        if clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        options.update(quality=90)
    elif kind == "WEBP":
        options.update(quality=90)
    out = io.BytesIO()
    clean.save(out, kind, **options)
    return out.getvalue()


def gps_location(exif: Image.Exif) -> tuple[float | None, float | None]:
    """(lat, lon) in degrees from EXIF GPS tags, or (None, None) when absent or nonsense."""
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except (KeyError, ValueError, TypeError):
        return None, None
    try:
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef, "N"), "S")
        lon = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lat, 7), round(lon, 7)


def _degrees(parts, ref, negative: str) -> float:
    degrees, minutes, seconds = (float(p) for p in parts)
    value = degrees + minutes / 60 + seconds / 3600
    ref = ref.decode() if isinstance(ref, bytes) else str(ref)
    return -value if ref.strip().upper() == negative else value
