"""The audit log: append-only and tamper-evident.

Every read of personal data, every search (with its terms), every change, every
export, every sign-in and failure is one entry: who, when, from where, action,
record, reason. Each entry carries a SHA-256 hash over its content and the previous
entry's hash; the head row holds the newest sequence number and hash, so that
verification also notices entries cut off the end.

Entries are written in the same transaction as what they record, so that a change
and its audit entry commit together. Refusals (a denied or failed attempt) are kept
even when the attempt's own transaction rolls back: see ``AuditTrail``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access import queries
from bluelamp.access.model import AuditEntry
from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.storage import Database

GENESIS = "0" * 64


class Outcome:
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class Audit:
    """What happened, before it is given a place in the chain."""

    action: str
    outcome: str = Outcome.OK
    record_type: str | None = None
    record_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def content_hash(entry: AuditEntry) -> str:
    """The hash of an entry: its content and its predecessor's hash."""
    content = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_user_id": entry.actor_user_id,
        "actor": entry.actor,
        "force_id": entry.force_id,
        "ip": entry.ip,
        "via": entry.via,
        "action": entry.action,
        "outcome": entry.outcome,
        "record_type": entry.record_type,
        "record_id": entry.record_id,
        "reason": entry.reason,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(session: Session, actor: Actor, audit: Audit, clock: Clock) -> AuditEntry:
    """Add one entry to the chain, in the caller's transaction."""
    head = queries.audit_head_for_update(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=clock.now(),
        actor_user_id=actor.user_id,
        actor=actor.username,
        force_id=actor.force_id,
        ip=actor.ip,
        via=actor.via,
        action=audit.action,
        outcome=audit.outcome,
        record_type=audit.record_type,
        record_id=audit.record_id,
        reason=audit.reason if audit.reason is not None else actor.reason,
        detail=json.dumps(audit.detail, sort_keys=True, default=str),
        prev_hash=head.hash,
    )
    entry.hash = content_hash(entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry


class AuditTrail:
    """The audit entries of one request or command.

    ``record`` writes at once, in the current transaction. ``refusal`` keeps an entry
    that must survive a rollback (a denied read, a failed sign-in): it is written by
    ``audited`` after the failed unit of work has rolled back.
    """

    def __init__(self, actor: Actor, clock: Clock) -> None:
        self.actor = actor
        self.clock = clock
        self._refusals: list[Audit] = []

    def record(self, session: Session, audit: Audit) -> AuditEntry:
        return append(session, self.actor, audit, self.clock)

    def refusal(self, audit: Audit) -> None:
        self._refusals.append(audit)

    def write_refusals(self, database: Database) -> None:
        if not self._refusals:
            return
        pending, self._refusals = self._refusals, []
        with database.unit_of_work() as session:
            for audit in pending:
                append(session, self.actor, audit, self.clock)


@contextmanager
def audited(database: Database, trail: AuditTrail) -> Iterator[Session]:
    """A unit of work whose refusals are written even when it fails."""
    try:
        with database.unit_of_work() as session:
            yield session
    except BaseException:
        trail.write_refusals(database)
        raise
    trail.write_refusals(database)


@contextmanager
def refused_if_missing(trail: AuditTrail, audit: Audit) -> Iterator[None]:
    """Inside ``audited``: keep ``audit`` as a refusal when the record is missing or not
    the caller's to see (a guessed id of another force answers, and is logged, like a missing one)."""
    try:
        yield
    except NotFound:
        trail.refusal(audit)
        raise


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain: ok, or the first bad entry and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, batch: int = 5000, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the whole chain in order and name the first entry that was edited,
    removed, reordered or cut off. ``progress`` is called with the number checked so far
    after each batch (for a progress bar)."""
    # Read the head first and walk up to it: entries appended while the walk runs
    # (PostgreSQL's READ COMMITTED sees them) are not mistaken for tampering.
    head = queries.audit_head(session)
    head_seq, head_hash = head.seq, head.hash
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in queries.audit_entries_in_order(session, batch=batch, up_to=head_seq):
        if progress is not None and checked % batch == 0 and checked:
            progress(checked)
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return VerifyResult(False, checked, entry.seq, f"entry {entry.seq} does not follow entry {entry.seq - 1}")
        if content_hash(entry) != entry.hash:
            return VerifyResult(False, checked, entry.seq, f"entry {entry.seq} was edited (its hash does not match)")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    if head_seq != checked or head_hash != expected_prev:
        if head_seq > checked:
            return VerifyResult(
                False, checked, checked + 1, f"entries {checked + 1} to {head_seq} were removed from the end"
            )
        return VerifyResult(False, checked, head_seq, "the head of the chain does not match its last entry")
    if progress is not None:
        progress(checked)
    return VerifyResult(True, checked)


def checkpoint(session: Session) -> tuple[int, str]:
    """The newest (sequence number, hash): keep it elsewhere to prove nothing older changed."""
    head = queries.audit_head(session)
    return head.seq, head.hash


def parse_checkpoint(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``bluelamp audit checkpoint`` prints it."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidInput(
            f"a checkpoint is SEQ:HASH as `bluelamp audit checkpoint` prints it, not {text!r}",
            problems=[FieldProblem("expect", "use SEQ:HASH")],
        )
    return int(seq), digest


def check_checkpoint(session: Session, seq: int, digest: str) -> VerifyResult | None:
    """None when the chain still holds entry ``seq`` with hash ``digest`` (so nothing up
    to it was rewritten, even with every hash recomputed); otherwise what is wrong."""
    if seq == 0:
        return None if digest == GENESIS else VerifyResult(False, 0, 0, "checkpoint 0 has the genesis hash (zeros)")
    entry = queries.audit_entry(session, seq)
    if entry is None:
        return VerifyResult(False, 0, seq, f"checkpoint entry {seq} is no longer in the chain")
    if entry.hash != digest:
        return VerifyResult(
            False, 0, seq, f"entry {seq} no longer has the checkpoint's hash: the chain up to it was rewritten"
        )
    return None


@dataclass(frozen=True)
class AuditQuery:
    """A data protection officer's search of the log."""

    force_id: str | None
    actor: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200
    before: int | None = None  # only entries older than this sequence number (the next page)
