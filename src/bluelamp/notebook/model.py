"""Pocket notebook tables: each officer's book (the head of its hash chain), the entries,
the photos attached to them, and the PDFs made for court.

A signed entry is never changed or deleted: the database refuses it (triggers, see
migration 0008), and a correction is a new entry pointing at the one it corrects.
Photos and the record of each PDF are never changed either."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.storage.base import Base, JSONType, UTCDateTime


class NotebookBook(Base):
    """One officer's notebook: the newest signed entry's sequence number and hash, so that
    entries cut off the end of the chain are noticed, and signings are serialised."""

    __tablename__ = "notebook_book"

    owner_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class NotebookEntry(Base):
    """One entry of an officer's pocket notebook.

    Two clocks for each step: the phone's (``written_at``, ``signed_at``: when the officer
    wrote and signed it, earlier than the server's when it waited in the offline outbox)
    and the server's (``received_at``, ``sign_received_at``). An unsigned entry is a draft
    and may still change; signing gives it the next sequence number of the officer's book
    and its place in the hash chain, and locks it."""

    __tablename__ = "notebook_entry"
    __table_args__ = (
        UniqueConstraint("owner_id", "seq"),
        Index("ix_notebook_entry_owner_written", "owner_id", "written_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"))
    text: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    photo_id: Mapped[str | None] = mapped_column(ForeignKey("notebook_photo.id"))
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("notebook_entry.id"), index=True)
    seq: Mapped[int | None] = mapped_column(Integer)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    @property
    def signed(self) -> bool:
        return self.sign_received_at is not None


class NotebookPhoto(Base):
    """A photo as stored: re-encoded without its metadata (EXIF, XMP, comments), with the
    GPS location it carried kept as fields, and the SHA-256 of both the stored bytes and
    the bytes as received."""

    __tablename__ = "notebook_photo"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    received_size: Mapped[int] = mapped_column(Integer)
    received_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotebookExport(Base):
    """A PDF of a period made for court: which entries it holds, the header it printed and
    the SHA-256 of its content, so that a PDF can be checked against the store later."""

    __tablename__ = "notebook_export"
    __table_args__ = (Index("ix_notebook_export_owner_created", "owner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    officer: Mapped[dict] = mapped_column(JSONType)
    entry_ids: Mapped[list[str]] = mapped_column(JSONType)
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
