"""Exactly-once handling of a request that carries an ``Idempotency-Key``.

A route that changes something and may be retried (a phone's queued status change or
notebook entry, a gateway's batch) does, inside the one unit of work of the change::

    with db.unit_of_work() as session:
        earlier = idempotency.earlier_answer(session, caller.actor, key, "POST", path)
        if earlier is not None:
            return replayed(earlier)           # web/idempotency.py: the first answer again
        result = service.do_it(session, ...)
        body = {...}
        idempotency.keep_answer(session, caller.actor, key, "POST", path, 201, body, clock)
    return JSONResponse(body, status_code=201)

The answer is stored in the same transaction as the change, so either both are kept or
neither: a retry after a crash applies the change once. A key is the user's own (two
users' keys never meet); the same key sent for another method or path is refused
(409 ``idempotency.key_reused``). Keys are kept for ``KEEP_DAYS`` days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput
from bluelamp.idempotency import queries
from bluelamp.idempotency.model import IdempotentRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.access.policy import Actor
    from bluelamp.clock import Clock

CATALOGUE.register("idempotency.key_reused", Conflict, "The Idempotency-Key was already used for a different request.")
CATALOGUE.register("idempotency.key_invalid", InvalidInput, "An Idempotency-Key is 1 to 200 visible characters.")

KEEP_DAYS = 30
HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True)
class Answer:
    """The answer a keyed request got the first time."""

    status_code: int
    body: Any


def user_key(actor: Actor) -> str:
    return actor.user_id or f"system:{actor.username}"


def check_key(key: str | None) -> str | None:
    """The key as given, None when absent; InvalidInput when malformed."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput(
            "an Idempotency-Key is 1 to 200 visible ASCII characters",
            code="idempotency.key_invalid",
            problems=[FieldProblem("Idempotency-Key", "1 to 200 visible characters, e.g. a UUID")],
        )
    return key


def earlier_answer(session: Session, actor: Actor, key: str | None, method: str, path: str) -> Answer | None:
    """The first answer to this user's request with ``key``, or None (also when no key)."""
    if check_key(key) is None:
        return None
    row = queries.remembered(session, user_key(actor), key)
    if row is None:
        return None
    if row.method != method.upper() or row.path != path:
        raise Conflict(
            f"this Idempotency-Key was used for {row.method} {row.path}",
            code="idempotency.key_reused",
            extra={"method": row.method, "path": row.path},
        )
    return Answer(row.status_code, row.body)


def keep_answer(
    session: Session, actor: Actor, key: str | None, method: str, path: str, status_code: int, body: Any, clock: Clock
) -> None:
    """Remember the answer to a keyed request (nothing when there is no key)."""
    if check_key(key) is None:
        return
    queries.remember(
        session,
        IdempotentRequest(
            force_id=actor.force_id,
            user_key=user_key(actor),
            key=key,
            method=method.upper(),
            path=path,
            status_code=status_code,
            body=body,
            created_at=clock.now(),
        ),
    )


def forget_old(session: Session, clock: Clock) -> int:
    """Drop answers older than KEEP_DAYS; returns how many."""
    return queries.forget_before(session, clock.now() - timedelta(days=KEEP_DAYS))
