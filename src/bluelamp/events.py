"""The in-process event bus that feeds live screens.

Services publish past-tense events (``IncidentOpened``, ``UnitMoved``) after their
unit of work commits; subscribers (the WebSocket hub, and later a cross-process
relay over PostgreSQL LISTEN/NOTIFY or Redis) receive them. A subscriber that
fails never stops the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened, for one force. ``origin`` names the process that published
    it when it arrived from another process through the relay (None: published here)."""

    name: str
    force_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None


Subscriber = Callable[[Event], None]


class EventBus:
    """Publish/subscribe within one process."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver an event to every subscriber; a failing subscriber is logged, not raised."""
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken screen must never break the service that published
                log.exception("event subscriber failed for %s", event.name)
