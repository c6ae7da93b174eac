"""The archive import's parsing process (opendata.forked): what the child yields arrives in
order, its errors are raised here as it raised them, and the child
never outlives the block, however the block is left."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from bluelamp.opendata import forked

pytestmark = pytest.mark.skipif(not forked.AVAILABLE, reason="no fork on this platform")


def test_items_arrive_in_order_from_the_child():
    seen = []

    def items():
        for n in range(2_000):
            seen.append(n)  # the child's own copy of the list
            yield (n, f"row {n}", [n] * 50)
        yield ("seen", len(seen))

    with forked.forked(items) as taken:
        got = list(taken)

    assert got == [(n, f"row {n}", [n] * 50) for n in range(2_000)] + [("seen", 2_000)]
    assert seen == []  # it ran in the child, not here
    assert not multiprocessing.active_children()


def test_an_error_in_the_child_is_raised_here_as_it_was_raised():
    def items():
        yield 1
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    with forked.forked(items) as taken, pytest.raises(EOFError, match="end-of-stream"):
        assert next(taken) == 1
        next(taken)
    assert not multiprocessing.active_children()


def test_an_error_that_cannot_be_pickled_arrives_as_its_traceback():
    class Unpicklable(Exception):
        def __init__(self) -> None:
            super().__init__("the lock went with it")
            self.lock = threading.Lock()

    def items():
        raise Unpicklable
        yield

    with forked.forked(items) as taken, pytest.raises(RuntimeError, match="the lock went with it"):
        list(taken)


def test_leaving_the_block_early_stops_the_child():
    def items():
        n = 0
        while True:  # would never end on its own
            n += 1
            yield n

    with pytest.raises(ValueError, match="the writer failed"), forked.forked(items) as taken:
        assert next(taken) == 1
        raise ValueError("the writer failed")
    assert not multiprocessing.active_children()
