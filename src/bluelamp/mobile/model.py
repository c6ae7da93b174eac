"""Tables of a crime recorded at the scene (issue 7 item 5): the photos and signatures as
stored (blobs with their SHA-256), the photos linked to the crime with the location they
carried, descriptions of suspects, and witness statements signed on the phone.

The crime itself, its victim, location and links are records (records/model.py); these
tables hang off the crime's event. A stored blob never changes and a signed statement is
never changed or deleted: the database refuses it (triggers, migration 0009), except that
MoPI disposal of the crime deletes them all (migration 0010 allows a delete only then)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.storage.base import Base, UTCDateTime


class SceneBlob(Base):
    """The bytes of a photo or a signature as stored (metadata stripped), with their hash.

    Kept in the database rather than in files: a one-file SQLite deployment backs up as
    one file, a blob commits (or not) with its crime link and audit entry, and it is read
    through the same access checks as the crime. Photos are limited in size (mobile/scene.py)."""

    __tablename__ = "mobile_scene_blob"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScenePhoto(Base):
    """A photo taken at the scene of a crime: its stored bytes (a blob), their hash and the
    hash of the file as received, its size in pixels, and where it was taken (from the
    photo's GPS tags, else from the phone when it was sent)."""

    __tablename__ = "mobile_scene_photo"
    __table_args__ = (Index("ix_mobile_scene_photo_event", "event_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"))
    blob_id: Mapped[str] = mapped_column(ForeignKey("mobile_scene_blob.id"))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    received_size: Mapped[int] = mapped_column(Integer)
    received_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str | None] = mapped_column(String(8))  # photo (its GPS tags) | phone
    caption: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class SceneSuspect(Base):
    """A suspect as the victim or a witness described them at the scene, and the known
    person when there is one (who is also linked to the crime as suspect)."""

    __tablename__ = "mobile_scene_suspect"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("records_person.id"))
    sex: Mapped[str] = mapped_column(String(20), default="")
    age_range: Mapped[str] = mapped_column(String(40), default="")
    height: Mapped[str] = mapped_column(String(40), default="")
    build: Mapped[str] = mapped_column(String(40), default="")
    clothing: Mapped[str] = mapped_column(Text, default="")
    marks: Mapped[str] = mapped_column(Text, default="")  # distinguishing marks: scars, tattoos...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class SceneStatement(Base):
    """A witness statement (as on an MG11): the witness, what they said, the declaration
    they signed, their signature drawn on the phone (a PNG blob and its hash) and a hash
    over all of it. Written signed, and locked: no update, and no delete until its crime is disposed of."""

    __tablename__ = "mobile_scene_statement"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"), index=True)
    witness_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    declaration: Mapped[str] = mapped_column(Text)
    taken_by: Mapped[str] = mapped_column(String(120))  # the officer's username
    taken_by_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # on the phone (it may have waited offline)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature_blob_id: Mapped[str] = mapped_column(ForeignKey("mobile_scene_blob.id"))
    signature_sha256: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
