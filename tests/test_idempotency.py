"""Exactly-once requests: a change sent again with the same Idempotency-Key gets the first
answer and is not applied twice; a key is each user's own; a key reused for another
request is refused; an answer is remembered only with the change it answered."""

from __future__ import annotations

import secrets
import threading

import pytest

from bluelamp.access.policy import Actor
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, InvalidInput
from bluelamp.idempotency import service as idempotency
from tests.factories.access import ensure_force, make_user


def actor_for(db, name: str) -> Actor:
    ensure_force(db)
    user = make_user(db, "response_officer", username=name)
    return Actor(user_id=user.id, username=user.username, force_id="staffordshire")


def test_the_first_answer_comes_back_for_the_same_key(db):
    officer, clock = actor_for(db, "pc-one"), FixedClock()
    with db.unit_of_work() as session:
        assert idempotency.earlier_answer(session, officer, "k-1", "POST", "/api/v1/x") is None
        idempotency.keep_answer(session, officer, "k-1", "POST", "/api/v1/x", 201, {"id": "n1"}, clock)
    with db.unit_of_work() as session:
        answer = idempotency.earlier_answer(session, officer, "k-1", "post", "/api/v1/x")
    assert (answer.status_code, answer.body) == (201, {"id": "n1"})


def test_keys_are_each_users_own(db):
    one, two, clock = actor_for(db, "pc-a"), actor_for(db, "pc-b"), FixedClock()
    with db.unit_of_work() as session:
        idempotency.keep_answer(session, one, "same", "POST", "/api/v1/x", 201, {"by": "one"}, clock)
    with db.unit_of_work() as session:
        assert idempotency.earlier_answer(session, two, "same", "POST", "/api/v1/x") is None


def test_a_key_reused_for_another_request_is_refused(db):
    officer, clock = actor_for(db, "pc-c"), FixedClock()
    with db.unit_of_work() as session:
        idempotency.keep_answer(session, officer, "k-2", "POST", "/api/v1/x", 201, {}, clock)
    with db.unit_of_work() as session, pytest.raises(Conflict) as refused:
        idempotency.earlier_answer(session, officer, "k-2", "POST", "/api/v1/y")
    assert refused.value.code == "idempotency.key_reused"


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "é"])
def test_a_malformed_key_is_refused(db, key):
    officer = actor_for(db, f"pc-{len(key)}-{key.isascii()}")
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        idempotency.earlier_answer(session, officer, key, "POST", "/api/v1/x")
    assert refused.value.code == "idempotency.key_invalid"


def test_an_answer_is_forgotten_when_its_change_rolls_back(db):
    officer, clock = actor_for(db, "pc-d"), FixedClock()
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        idempotency.keep_answer(session, officer, "k-3", "POST", "/api/v1/x", 201, {}, clock)
        raise RuntimeError("the change failed after the answer was written")
    with db.unit_of_work() as session:
        assert idempotency.earlier_answer(session, officer, "k-3", "POST", "/api/v1/x") is None


def test_a_resend_while_the_first_try_is_being_applied_waits_and_gets_its_answer(demo_force):
    """A phone that loses its answer resends at once: the second request must wait for the
    first, then replay its answer (not apply the change again, nor fail on the key). Two
    connections, so a database of the test's own (the demo force's copy)."""
    db = demo_force
    officer, clock = actor_for(db, f"pc-{secrets.token_hex(4)}"), FixedClock()
    first_looked, first_may_finish = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first() -> None:
        with db.unit_of_work() as session:
            assert idempotency.earlier_answer(session, officer, "resent", "POST", "/api/v1/x") is None
            first_looked.set()
            first_may_finish.wait(10)
            idempotency.keep_answer(session, officer, "resent", "POST", "/api/v1/x", 201, {"id": "n1"}, clock)

    def second() -> None:
        with db.unit_of_work() as session:
            earlier = idempotency.earlier_answer(session, officer, "resent", "POST", "/api/v1/x")
            seen["answer"] = earlier
            if earlier is None:  # as a route does: apply the change and keep its answer
                idempotency.keep_answer(session, officer, "resent", "POST", "/api/v1/x", 201, {"id": "n2"}, clock)

    one = threading.Thread(target=first)
    one.start()
    assert first_looked.wait(10)
    two = threading.Thread(target=_record_error, args=(second, seen))
    two.start()
    two.join(0.5)
    assert two.is_alive(), "the resend went ahead while the first try was still open"
    first_may_finish.set()
    one.join(10)
    two.join(10)
    assert seen.get("error") is None
    answer = seen["answer"]
    assert answer is not None and (answer.status_code, answer.body) == (201, {"id": "n1"})


def _record_error(fn, seen: dict) -> None:
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - reported by the test's assertion
        seen["error"] = error
