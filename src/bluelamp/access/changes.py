"""Changes to who may do what (a token revoked, a user disabled, roles or clearance
changed), for the caches that must forget at once.

Web workers cache a bearer token's resolved caller for a few seconds. A service that
changes access calls ``changed(session)``: the epoch moves now and again after the
commit (so a caller resolved between the two is not kept), and listeners hear of it
after the commit (the web app tells other worker processes through the live-feed
relay). A change made where no listener runs (the CLI) reaches running workers when
their cache entries expire (``BLUELAMP_TOKEN_CACHE_SECONDS``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_lock = threading.Lock()
_epoch = 0
_listeners: list[Callable[[], None]] = []


def epoch() -> int:
    """The current access epoch: a cache entry from an older epoch is stale."""
    return _epoch


def bump() -> None:
    """Make every cached caller stale (in this process)."""
    global _epoch
    with _lock:
        _epoch += 1


def changed(session: Session) -> None:
    """Record that this unit of work changes access: caches forget now and after commit."""
    bump()
    callbacks = session.info.setdefault("after_commit", [])
    if _after_commit not in callbacks:
        callbacks.append(_after_commit)


def _after_commit() -> None:
    bump()
    for listener in list(_listeners):
        listener()


def on_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Hear of committed access changes; returns a function that stops listening."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop
