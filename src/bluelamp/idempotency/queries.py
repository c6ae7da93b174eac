"""Reads and writes of remembered answers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from bluelamp.idempotency.model import IdempotentRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def remembered(session: Session, user_key: str, key: str) -> IdempotentRequest | None:
    return session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_key == user_key, IdempotentRequest.key == key)
    )


def remember(session: Session, row: IdempotentRequest) -> None:
    session.add(row)
    session.flush()


def forget_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < moment))
    return result.rowcount or 0
