"""Injectable time and identifiers, so that rules about time can be tested exactly.

Every time Bluelamp stores is UTC; pages show Europe/London local time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bluelamp.errors import FieldProblem, InvalidInput

LONDON = ZoneInfo("Europe/London")


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def new_id(self) -> str:
        """A new unique id for a record."""
        return uuid.uuid4().hex


@dataclass
class FixedClock(Clock):
    """A clock that stands still until moved; for tests and the simulator."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    _counter: int = 0

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta

    def new_id(self) -> str:
        self._counter += 1
        return f"{self._counter:032x}"


def to_local(moment: datetime) -> datetime:
    """The same moment on the Europe/London wall clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON)


def parse_moment(text: str | None, field_name: str, *, zone: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 date or date-time typed by a person or a program, as aware UTC; None when
    blank. Without an offset it is read in ``zone`` (pages pass Europe/London)."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field_name}: {text!r} is not an ISO 8601 date or time (e.g. 2026-03-01 or 2026-03-01T14:30)",
            problems=[FieldProblem(field_name, "use a date or time like 2026-03-01 or 2026-03-01T14:30")],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
