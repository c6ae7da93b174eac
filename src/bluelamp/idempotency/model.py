"""The answers given to requests that carried an Idempotency-Key, per user: a phone that
sends a queued change again after a dropped connection gets the first answer back, and
nothing is applied twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.storage.base import Base, JSONType, UTCDateTime


class IdempotentRequest(Base):
    """One keyed request of one user: what it asked (method and path, to refuse a key
    reused for something else) and the answer it got (status and JSON body)."""

    __tablename__ = "idempotent_request"
    __table_args__ = (
        UniqueConstraint("user_key", "key", name="uq_idempotent_request_user_key"),
        Index("ix_idempotent_request_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("access_force.id"))
    # The user's id, or "system:<name>" for the platform's own callers.
    user_key: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
