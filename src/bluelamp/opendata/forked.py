"""Run a generator in a forked child process and take its items in this one: how the
archive import parses a file on one core while it writes the rows on the other.

Threads cannot do this: parsing CSV is Python work that holds the GIL, and so is the
writer's part of every statement, so a parsing thread and a writing thread take turns more
than they overlap (bench/bench_opendata_import.py measured 87,000 rows/s with a thread,
97,000 with a child process). The child is forked, so it starts at once with everything
the parent had prepared (the open file, the map points already known, the next point id)
and nothing is sent to it. Items come back pickled through a pipe; the pipe is made large
enough for a batch or so to wait in it while the parent writes the one before.

The child touches nothing of the parent's but what the generator uses: no database
connection, no logging, no output. It leaves with ``os._exit`` (multiprocessing's fork
start), so nothing of the parent's is flushed or closed twice."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

try:  # Linux: a pipe can hold up to /proc/sys/fs/pipe-max-size (1 MiB by default)
    from fcntl import F_SETPIPE_SZ, fcntl
except ImportError:  # pragma: no cover - not Linux
    F_SETPIPE_SZ = None

AVAILABLE = "fork" in multiprocessing.get_all_start_methods()
PIPE_BYTES = 1 << 20


class _End:
    """Sent after the child's last item: the items ended there, not the child by accident."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def _pickled(item: object) -> bytes:
    try:
        return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an error that cannot travel travels as text
        if isinstance(item, _Failed):
            text = "".join(traceback.format_exception(item.error))
            return pickle.dumps(_Failed(RuntimeError(text)), protocol=pickle.HIGHEST_PROTOCOL)
        raise


@contextmanager
def forked(items: Callable[[], Iterator[Any]]) -> Iterator[Iterator[Any]]:
    """An iterator of what ``items()`` yields in a forked child. An exception in the child
    is raised here, from the iterator, as the child raised it. Leaving the block before
    the end (an error while writing) kills the child; it is always waited for."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    if F_SETPIPE_SZ is not None:
        with suppress(OSError):  # a smaller system limit: the default pipe still works
            fcntl(sending.fileno(), F_SETPIPE_SZ, PIPE_BYTES)

    def child() -> None:
        gc.disable()  # short-lived: a collection would only copy the parent's pages (copy-on-write)
        receiving.close()
        try:
            for item in items():
                sending.send_bytes(_pickled(item))
            sending.send_bytes(_pickled(_End()))
        except BaseException as exc:  # noqa: BLE001 - raised again in the parent
            sending.send_bytes(_pickled(_Failed(exc)))
        finally:
            sending.close()

    process = context.Process(target=child, name="opendata-parse", daemon=True)
    gc.freeze()  # what exists now is left alone by collections in either process while the child lives
    try:
        process.start()
    finally:
        gc.unfreeze()
    sending.close()
    ended = False

    def taken() -> Iterator[Any]:
        nonlocal ended
        while True:
            try:
                item = pickle.loads(receiving.recv_bytes())
            except EOFError:
                raise RuntimeError(f"the parsing process ended without a word (exit code {process.exitcode})") from None
            if isinstance(item, _End):
                ended = True
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    try:
        yield taken()
    finally:
        if process.is_alive() and not ended:
            process.kill()
        process.join()
        receiving.close()
