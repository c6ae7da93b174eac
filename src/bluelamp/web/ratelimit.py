"""A leaky-bucket rate limit per client, as data.police.uk applies to its API: each client
may make ``rate`` requests a second on average with bursts of up to ``burst``; beyond
that the request is refused with 429 and a ``Retry-After``.

The buckets live in the worker process (each worker limits on its own: with N workers a
client may reach N times the rate, which is the documented trade for needing no shared
store). Clients are told apart by their address as the server sees it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from bluelamp.errors import RateLimited


class LeakyBucket:
    """Buckets for many clients: each fills by one per request and drains at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._levels: dict[str, tuple[float, float]] = {}  # client -> (level, at)
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def take(self, client: str) -> float:
        """Admit one request from ``client``: 0.0 when admitted, else the seconds to wait."""
        now = self._monotonic()
        with self._lock:
            level, at = self._levels.get(client, (0.0, now))
            level = max(0.0, level - (now - at) * self.rate)
            if level + 1.0 > self.burst:
                self._levels[client] = (level, now)
                return (level + 1.0 - self.burst) / self.rate
            self._levels[client] = (level + 1.0, now)
            if now >= self._next_prune:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket has drained (keeps memory bounded under many clients)."""
        drained = [c for c, (level, at) in self._levels.items() if level - (now - at) * self.rate <= 0.0]
        for client in drained:
            del self._levels[client]
        self._next_prune = now + 10.0


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def open_data_limit(request: Request) -> None:
    """Dependency for the open-data API: refuse with 429 once the client's bucket is full."""
    bucket: LeakyBucket | None = getattr(request.app.state, "opendata_bucket", None)
    if bucket is None:
        settings = request.app.state.settings
        bucket = request.app.state.opendata_bucket = LeakyBucket(
            settings.opendata_rate_per_second, settings.opendata_rate_burst
        )
    wait = bucket.take(client_key(request))
    if wait > 0.0:
        raise RateLimited(
            f"more than {bucket.rate:g} requests a second (bursts of {bucket.burst}); wait and try again",
            extra={"retry_after": math.ceil(wait)},
        )
