"""Reads and writes of remembered answers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from bluelamp.idempotency.model import IdempotentRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def remembered(session: Session, user_key: str, key: str) -> IdempotentRequest | None:
    """The answer kept for the key. On PostgreSQL a second request with the same key
    (a phone resending while its first try is still being applied) first waits for the
    first one's transaction to end, so that it finds the answer instead of applying the
    change again and failing on the unique key. SQLite needs no lock: a unit of work
    there holds the one write lock from its start (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{user_key}\x1f{key}", 0))))
    return session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_key == user_key, IdempotentRequest.key == key)
    )


def remember(session: Session, row: IdempotentRequest) -> None:
    session.add(row)
    session.flush()


def forget_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < moment))
    return result.rowcount or 0
