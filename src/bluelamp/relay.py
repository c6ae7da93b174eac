"""Carrying bus events between worker processes, so that a screen connected to one
worker sees what happened in another.

Each process tags what it relays with its own origin id. A sender thread takes the
events this process published (the bus subscriber only puts them on a queue, so
publishing never waits for the network), packs them into JSON payloads and sends
them; a listener thread receives every process's payloads, skips its own, and
publishes the others on the local bus with their origin set (so they are never sent
back out, nor delivered twice).

Two transports: PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL (no extra
broker), or Redis pub/sub when ``BLUELAMP_REDIS_URL`` is set. A NOTIFY payload must
be shorter than 8000 bytes, so events are packed into payloads under a size limit,
and an event too big for one payload is split into chunks and joined again on
arrival.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from bluelamp.events import Event, EventBus

if TYPE_CHECKING:
    from bluelamp.storage import Database

log = logging.getLogger(__name__)

CHANNEL = "bluelamp_events"
PG_MAX_PAYLOAD = 7900  # PostgreSQL: "the payload must be shorter than 8000 bytes"
REDIS_MAX_PAYLOAD = 512 * 1024
MAX_BATCH = 5000  # events taken off the queue per send
MAX_PARTIAL = 64  # chunked events waiting for their other pieces
POLL_SECONDS = 0.1  # how often a waiting listener looks up to see whether it should stop


class Transport(Protocol):
    """A way of broadcasting text payloads to every process (including this one)."""

    max_payload: int

    def send(self, payloads: list[str]) -> None:
        """Broadcast payloads, in order (from the sender thread); raise when it fails."""

    def listen(self, deliver: Callable[[str], None], stopping: threading.Event, ready: threading.Event) -> None:
        """Receive payloads until ``stopping`` is set, calling ``deliver`` for each; set
        ``ready`` once subscribed. Raise when the connection fails (the relay retries)."""

    def close(self) -> None:
        """Release connections."""


# ------------------------------------------------------------------ the wire format


def _event_json(event: Event) -> str:
    return json.dumps(
        {"n": event.name, "f": event.force_id, "d": event.data}, default=str, separators=(",", ":"), ensure_ascii=True
    )


def pack(origin: str, events: list[Event], max_bytes: int) -> list[str]:
    """Payloads of at most ``max_bytes`` bytes carrying the events in order:
    ``{"o": origin, "e": [event, ...]}``, or for an event too big for one payload,
    chunks ``{"o": origin, "k": chunk id, "i": n, "of": count, "p": piece}``."""
    head = '{"o":' + json.dumps(origin) + ',"e":['
    payloads: list[str] = []
    batch: list[str] = []
    size = len(head) + 2

    def close_batch() -> None:
        nonlocal batch, size
        if batch:
            payloads.append(head + ",".join(batch) + "]}")
        batch, size = [], len(head) + 2

    for event in events:
        text = _event_json(event)  # ASCII only, so characters are bytes
        if len(head) + len(text) + 2 > max_bytes:
            close_batch()
            payloads.extend(_chunks(origin, text, max_bytes))
            continue
        if batch and size + len(text) + 1 > max_bytes:
            close_batch()
        batch.append(text)
        size += len(text) + 1
    close_batch()
    return payloads


def _chunks(origin: str, text: str, max_bytes: int) -> list[str]:
    # JSON-quoting a piece of ASCII JSON at most doubles it (\" and \\), plus the envelope.
    piece = max(1, (max_bytes - 200) // 2)
    pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    chunk_id = uuid.uuid4().hex[:12]
    return [
        json.dumps({"o": origin, "k": chunk_id, "i": n, "of": len(pieces), "p": part}, separators=(",", ":"))
        for n, part in enumerate(pieces)
    ]


class Reassembler:
    """Turns received payloads back into events, joining chunked ones."""

    def __init__(self) -> None:
        self._partial: OrderedDict[tuple[str, str], dict[int, str]] = OrderedDict()

    def feed(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if "e" in message:
            return list(message["e"])
        key = (message["o"], message["k"])
        pieces = self._partial.setdefault(key, {})
        pieces[int(message["i"])] = message["p"]
        if len(pieces) < int(message["of"]):
            while len(self._partial) > MAX_PARTIAL:
                self._partial.popitem(last=False)
            return []
        del self._partial[key]
        return [json.loads("".join(pieces[n] for n in range(len(pieces))))]


# ------------------------------------------------------------------ the relay


class Relay:
    """Sends this process's events to the others and publishes theirs on the local bus."""

    def __init__(self, bus: EventBus, transport: Transport, *, origin: str | None = None) -> None:
        self.bus = bus
        self.transport = transport
        self.origin = origin or uuid.uuid4().hex
        self.ready = threading.Event()
        self.sent = 0
        self.received = 0
        self._outbox: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._reassembler = Reassembler()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Subscribe to the bus and start the sender and listener threads (never raises:
        the listener connects, and reconnects, in the background)."""
        self._stopping.clear()
        self._unsubscribe = self.bus.subscribe(self.outgoing)
        for target, name in ((self._send_loop, "sender"), (self._listen_loop, "listener")):
            thread = threading.Thread(target=target, name=f"bluelamp-relay-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stopping.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.ready.clear()
        self.transport.close()

    def outgoing(self, event: Event) -> None:
        """The bus subscriber: queue a local event for the sender thread (O(1), never waits)."""
        if event.origin is None:
            self._outbox.put(event)

    def _send_loop(self) -> None:
        while True:
            try:
                first = self._outbox.get(timeout=0.5)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            stopping = first is None
            batch = [] if first is None else [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    continue
                batch.append(item)
            if batch:
                try:
                    self.transport.send(pack(self.origin, batch, self.transport.max_payload))
                    self.sent += len(batch)
                except Exception:  # the other processes miss these; this one carries on
                    log.exception("the relay could not send %d events", len(batch))
            if stopping:
                return

    def _listen_loop(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self.transport.listen(self.receive, self._stopping, self.ready)
                delay = 0.5
            except Exception as exc:
                self.ready.clear()
                log.warning("the relay lost its connection (%s); retrying in %.1f s", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def receive(self, payload: str) -> int:
        """Publish the events of one payload from another process; returns how many."""
        try:
            message = json.loads(payload)
            if message.get("o") == self.origin:
                return 0
            items = self._reassembler.feed(message)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("the relay ignored a malformed payload of %d bytes", len(payload))
            return 0
        for item in items:
            self.bus.publish(Event(item["n"], item.get("f"), item.get("d") or {}, origin=message["o"]))
        self.received += len(items)
        return len(items)


# ------------------------------------------------------------------ transports


class PostgresTransport:
    """PostgreSQL LISTEN/NOTIFY on one channel, through psycopg 3."""

    max_payload = PG_MAX_PAYLOAD

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._sender = None

    def send(self, payloads: list[str]) -> None:
        import psycopg

        if self._sender is None or self._sender.closed:
            self._sender = psycopg.connect(self.url, autocommit=True)
        try:
            with self._sender.transaction():  # delivered together, when the transaction commits
                for payload in payloads:
                    self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
        except psycopg.Error:
            self.close()
            raise

    def listen(self, deliver: Callable[[str], None], stopping: threading.Event, ready: threading.Event) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            ready.set()
            while not stopping.is_set():
                for notify in connection.notifies(timeout=POLL_SECONDS):
                    deliver(notify.payload)
                    if stopping.is_set():
                        break

    def close(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.close()


class RedisTransport:
    """Redis pub/sub on one channel."""

    max_payload = REDIS_MAX_PAYLOAD

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        import redis

        self.url = url
        self.channel = channel
        self._client = redis.Redis.from_url(url)

    def send(self, payloads: list[str]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for payload in payloads:
            pipe.publish(self.channel, payload)
        pipe.execute()

    def listen(self, deliver: Callable[[str], None], stopping: threading.Event, ready: threading.Event) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            while not stopping.is_set():
                message = pubsub.get_message(timeout=POLL_SECONDS)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    ready.set()  # only now is a message published elsewhere sure to arrive
                elif message["type"] == "message":
                    data = message["data"]
                    deliver(data.decode() if isinstance(data, bytes) else data)
        finally:
            pubsub.close()
            client.close()

    def close(self) -> None:
        self._client.close()


def transport_for(redis_url: str, database: Database) -> Transport | None:
    """Redis when a URL is set; else LISTEN/NOTIFY on PostgreSQL; else None (SQLite serves
    one process, so there is nobody to relay to)."""
    if redis_url:
        return RedisTransport(redis_url)
    if database.dialect == "postgresql":
        url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresTransport(url)
    return None
