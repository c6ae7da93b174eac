"""How the dedupe job reports its stages: a ``Progress`` callback (the stage, how many done,
how many in all or None) and the seconds each stage took."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, int, int | None], None]


def quiet(stage: str, done: int, total: int | None) -> None:
    """The default progress callback: say nothing."""


@contextmanager
def timed(timings: dict[str, float], stage: str, progress: Progress | None = None) -> Iterator[None]:
    if progress is not None:
        progress(stage, 0, None)
    mark = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - mark
