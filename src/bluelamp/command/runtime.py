"""Command and control's running parts: the rules sweep (re-assessment prompts and
breaches, ``service.sweep``) on a timer, in a worker thread, its events published after
each sweep's transaction commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bluelamp.clock import Clock
from bluelamp.command import service
from bluelamp.events import Event
from bluelamp.storage import Database

log = logging.getLogger(__name__)


class CommandRuntime:
    """Runs the rules sweep every ``sweep_seconds`` while the app runs."""

    def __init__(
        self, database: Database, clock: Clock, publish: Callable[[Event], None], *, sweep_seconds: int
    ) -> None:
        self.database = database
        self.clock = clock
        self.publish = publish
        self.sweep_seconds = sweep_seconds
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="command-rules-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                events = await asyncio.to_thread(self.sweep_once)
            except Exception:  # the database may be down for a moment: try again next time
                log.exception("the incident rules sweep failed; retrying in %s s", self.sweep_seconds)
                continue
            for event in events:
                self.publish(event)

    def sweep_once(self) -> list[Event]:
        """One sweep in its own unit of work; the events, for publishing after the commit."""
        with self.database.unit_of_work() as session:
            return service.sweep(session, self.clock)
