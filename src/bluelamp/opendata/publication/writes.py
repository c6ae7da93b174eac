"""What the publication writes into the open-data tables: the force's map points, and a
month's street crimes, outcomes and stops (replacing an earlier publication of the month),
with the month's record of what was loaded. All in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from bluelamp.opendata.model import Month, Origin, Outcome, Point, Stop, StreetCrime, persistent_key

BATCH = 5_000


def add_points(session: Session, rows: list[Point]) -> None:
    """New map points (their ids are the API's ``location_id``s once flushed)."""
    session.add_all(rows)
    session.flush()


def remove_points(session: Session, ids: Iterable[int]) -> int:
    ids = sorted(ids)
    for start in range(0, len(ids), BATCH):
        session.execute(delete(Point).where(Point.id.in_(ids[start : start + BATCH])))
    return len(ids)


def clear_month(session: Session, force_id: str, month: int) -> int:
    """Remove the force's month from the three tables and the months loaded; the rows removed."""
    removed = 0
    for model in (StreetCrime, Outcome, Stop):
        result = session.execute(delete(model).where(model.force_id == force_id, model.month == month))
        removed += result.rowcount or 0
    session.execute(delete(Month).where(Month.force_id == force_id, Month.month == month))
    return removed


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Batched inserts of one table's rows (plain dicts of its columns)."""
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def add_month(session: Session, row: Month) -> None:
    session.add(row)
    session.flush()


def update_last_outcomes(session: Session, force_id: str, before: int, latest: dict[str, tuple[str, int]]) -> int:
    """Earlier published months' street rows of crimes whose outcome was set since: their
    "last outcome" becomes the new one (data.police.uk's street files show the latest)."""
    changed = 0
    for persistent_id, (category, month) in sorted(latest.items()):
        result = session.execute(
            update(StreetCrime)
            .where(
                StreetCrime.force_id == force_id,
                StreetCrime.origin == Origin.PUBLISH.value,
                StreetCrime.month < before,
                StreetCrime.persistent_key == persistent_key(persistent_id),
                StreetCrime.persistent_id == persistent_id,
            )
            .values(outcome_category=category, outcome_month=month)
        )
        changed += result.rowcount or 0
    return changed
