"""The audit log is append-only and tamper-evident: edits, deletions, reordering and
truncation are all found, and the first bad entry is named."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bluelamp.access import audit
from bluelamp.access.audit import Audit, AuditTrail, Outcome, audited
from bluelamp.access.policy import Actor
from bluelamp.errors import NotFound
from tests.conftest import BACKEND

ACTOR = Actor(user_id="u1", username="pc-jones", force_id="staffordshire", ip="10.1.2.3", via="session")


@pytest.fixture
def chain(db, clock):
    """Ten entries appended through the service."""
    with db.unit_of_work() as session:
        for n in range(10):
            audit.append(
                session,
                ACTOR,
                Audit("person.read", record_type="person", record_id=f"p{n}", reason="incident SP-20261128-0001"),
                clock,
            )
    return db


def without_triggers(session) -> None:
    """What an insider with direct database access could do first (rolled back after the test)."""
    if BACKEND == "postgresql":
        session.execute(text("ALTER TABLE access_audit DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER access_audit_no_update"))
        session.execute(text("DROP TRIGGER access_audit_no_delete"))


def verify(db) -> audit.VerifyResult:
    with db.read() as session:
        return audit.verify(session, batch=3)  # small batches: the walk crosses batch edges


def seq_base(db) -> int:
    with db.read() as session:
        return session.scalar(text("SELECT MIN(seq) FROM access_audit WHERE record_id = 'p0'")) - 1


def test_an_intact_chain_verifies(chain):
    result = verify(chain)
    assert result.ok
    assert result.checked >= 10


def test_the_database_refuses_updates_and_deletes(chain):
    for statement in ["UPDATE access_audit SET reason = 'nothing to see'", "DELETE FROM access_audit"]:
        with pytest.raises(DBAPIError, match="append-only"), chain.unit_of_work() as session:
            session.execute(text(statement))
    assert verify(chain).ok


def test_an_edited_entry_is_named(chain):
    target = seq_base(chain) + 4
    with chain.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("UPDATE access_audit SET record_id = 'p-celebrity' WHERE seq = :s"), {"s": target})
    result = verify(chain)
    assert not result.ok
    assert result.first_bad_seq == target
    assert "edited" in result.problem


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(chain):
    target = seq_base(chain) + 4
    with chain.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("UPDATE access_audit SET record_id = 'p-other' WHERE seq = :s"), {"s": target})
        from bluelamp.access.model import AuditEntry

        entry = session.get(AuditEntry, target)
        session.execute(
            text("UPDATE access_audit SET hash = :h WHERE seq = :s"), {"h": audit.content_hash(entry), "s": target}
        )
    result = verify(chain)
    assert not result.ok
    assert result.first_bad_seq == target + 1


def test_a_deleted_entry_is_named(chain):
    target = seq_base(chain) + 6
    with chain.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM access_audit WHERE seq = :s"), {"s": target})
    result = verify(chain)
    assert not result.ok
    assert result.first_bad_seq == target
    assert "missing" in result.problem


def test_reordered_entries_are_found(chain):
    a, b = seq_base(chain) + 2, seq_base(chain) + 3
    with chain.unit_of_work() as session:
        without_triggers(session)
        # Swap the two entries' places in the sequence.
        session.execute(text("UPDATE access_audit SET seq = -1 WHERE seq = :a"), {"a": a})
        session.execute(text("UPDATE access_audit SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        session.execute(text("UPDATE access_audit SET seq = :b WHERE seq = -1"), {"b": b})
    result = verify(chain)
    assert not result.ok
    assert result.first_bad_seq == a


def test_entries_cut_off_the_end_are_found(chain):
    last = seq_base(chain) + 10
    with chain.unit_of_work() as session:
        without_triggers(session)
        session.execute(text("DELETE FROM access_audit WHERE seq > :s"), {"s": last - 3})
    result = verify(chain)
    assert not result.ok
    assert result.first_bad_seq == last - 2
    assert "removed from the end" in result.problem


def test_a_checkpoint_names_the_newest_entry(chain, clock):
    with chain.read() as session:
        seq, digest = audit.checkpoint(session)
    with chain.unit_of_work() as session:
        entry = audit.append(session, ACTOR, Audit("person.search", detail={"terms": "smith"}), clock)
    assert entry.seq == seq + 1
    assert entry.prev_hash == digest


def test_refusals_are_kept_when_the_attempt_rolls_back(chain, clock):
    trail = AuditTrail(ACTOR, clock)
    with pytest.raises(NotFound), audited(chain, trail) as session:
        audit.append(session, ACTOR, Audit("person.read", record_type="person", record_id="rolled-back"), clock)
        trail.refusal(Audit("person.read", Outcome.DENIED, "person", "secret-1"))
        raise NotFound("no person 'secret-1'")
    with chain.read() as session:
        kept = session.execute(text("SELECT outcome, record_id FROM access_audit ORDER BY seq DESC LIMIT 2")).all()
    assert ("denied", "secret-1") in [tuple(row) for row in kept]
    assert "rolled-back" not in [row[1] for row in kept]
    assert verify(chain).ok


def test_entries_record_who_when_where_what_and_why(chain):
    with chain.read() as session:
        row = session.execute(
            text(
                "SELECT actor, actor_user_id, ip, action, record_type, record_id, reason, at FROM access_audit "
                "WHERE record_id = 'p3'"
            )
        ).one()
    assert row.actor == "pc-jones" and row.actor_user_id == "u1" and row.ip == "10.1.2.3"
    assert (row.action, row.record_type, row.record_id) == ("person.read", "person", "p3")
    assert row.reason == "incident SP-20261128-0001"
    assert row.at is not None
