"""Command and control's running parts: the rules sweep (re-assessment prompts and
breaches) on a timer. (Being written; see issue 5.)"""

from __future__ import annotations

from collections.abc import Callable

from bluelamp.clock import Clock
from bluelamp.events import Event
from bluelamp.storage import Database


class CommandRuntime:
    def __init__(
        self, database: Database, clock: Clock, publish: Callable[[Event], None], *, sweep_seconds: int
    ) -> None:
        self.database = database
        self.clock = clock
        self.publish = publish
        self.sweep_seconds = sweep_seconds

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
