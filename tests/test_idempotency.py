"""Exactly-once requests: a change sent again with the same Idempotency-Key gets the first
answer and is not applied twice; a key is each user's own; a key reused for another
request is refused; an answer is remembered only with the change it answered."""

from __future__ import annotations

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
