"""Reads and writes of notebook rows. Every read is of one owner's rows: an officer's
notebook is theirs alone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from bluelamp.access.model import Force, User
from bluelamp.notebook.chain import GENESIS
from bluelamp.notebook.model import NotebookBook, NotebookEntry, NotebookExport, NotebookPhoto
from bluelamp.tracking.model import Officer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def own_entry(session: Session, owner_id: str, entry_id: str) -> NotebookEntry | None:
    return session.scalar(select(NotebookEntry).where(NotebookEntry.id == entry_id, NotebookEntry.owner_id == owner_id))


def own_photo(session: Session, owner_id: str, photo_id: str) -> NotebookPhoto | None:
    return session.scalar(select(NotebookPhoto).where(NotebookPhoto.id == photo_id, NotebookPhoto.owner_id == owner_id))


def own_export(session: Session, owner_id: str, export_id: str) -> NotebookExport | None:
    return session.scalar(
        select(NotebookExport).where(NotebookExport.id == export_id, NotebookExport.owner_id == owner_id)
    )


def photos(session: Session, photo_ids: Iterable[str]) -> dict[str, NotebookPhoto]:
    wanted = sorted(set(photo_ids))
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(NotebookPhoto).where(NotebookPhoto.id.in_(wanted)))}


def entries_by_id(session: Session, owner_id: str, entry_ids: Iterable[str]) -> dict[str, NotebookEntry]:
    wanted = sorted(set(entry_ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(NotebookEntry).where(NotebookEntry.owner_id == owner_id, NotebookEntry.id.in_(wanted))
    )
    return {e.id: e for e in rows}


def entries_in_period(
    session: Session, owner_id: str, start: datetime, end: datetime, *, drafts: bool, limit: int
) -> list[NotebookEntry]:
    """Entries written in [start, end), newest first; with ``drafts``, every unsigned entry too."""
    in_period = (NotebookEntry.written_at >= start) & (NotebookEntry.written_at < end)
    if drafts:
        in_period = or_(in_period, NotebookEntry.sign_received_at.is_(None))
    else:
        in_period = in_period & NotebookEntry.sign_received_at.is_not(None)
    statement = (
        select(NotebookEntry)
        .where(NotebookEntry.owner_id == owner_id, in_period)
        .order_by(NotebookEntry.written_at.desc(), NotebookEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def corrections_of(session: Session, owner_id: str, entry_ids: Iterable[str]) -> list[NotebookEntry]:
    wanted = sorted(set(entry_ids))
    if not wanted:
        return []
    statement = (
        select(NotebookEntry)
        .where(NotebookEntry.owner_id == owner_id, NotebookEntry.corrects_id.in_(wanted))
        .order_by(NotebookEntry.written_at, NotebookEntry.id)
    )
    return list(session.scalars(statement))


def signed_entries_in_order(session: Session, owner_id: str) -> list[NotebookEntry]:
    """Every signed entry of one book by sequence number (a book is one officer's: small)."""
    statement = (
        select(NotebookEntry)
        .where(NotebookEntry.owner_id == owner_id, NotebookEntry.seq.is_not(None))
        .order_by(NotebookEntry.seq)
    )
    return list(session.scalars(statement))


def seqs_of(session: Session, entry_ids: Iterable[str]) -> dict[str, int | None]:
    wanted = sorted(set(entry_ids))
    if not wanted:
        return {}
    rows = session.execute(select(NotebookEntry.id, NotebookEntry.seq).where(NotebookEntry.id.in_(wanted)))
    return {entry_id: seq for entry_id, seq in rows}


def book(session: Session, owner_id: str) -> NotebookBook | None:
    return session.get(NotebookBook, owner_id)


def book_for_update(session: Session, owner_id: str, force_id: str) -> NotebookBook:
    """The officer's book, created when it is the first signing, locked until the
    transaction ends so that two signings never take the same sequence number
    (PostgreSQL: SELECT ... FOR UPDATE; SQLite serialises writers itself)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(NotebookBook)
        .values(owner_id=owner_id, force_id=force_id, last_seq=0, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["owner_id"])
    )
    return session.scalars(
        select(NotebookBook)
        .where(NotebookBook.owner_id == owner_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def officer_of(session: Session, user_id: str) -> tuple[User | None, Officer | None, Force | None]:
    """The signed-in user, their officer record (collar number, rank) and their force."""
    user = session.get(User, user_id)
    officer = session.scalar(select(Officer).where(Officer.user_id == user_id))
    force = session.get(Force, user.force_id) if user is not None and user.force_id else None
    return user, officer, force


def add(session: Session, *rows) -> None:
    session.add_all(rows)
    session.flush()
