"""The access policy, exhaustively: every role x action x marking x force x access
list, generated from the permission table; and the SQL visibility filter on a real
table, applied before LIMIT and before counting."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Boolean, String, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bluelamp.access import queries
from bluelamp.access.policy import PERMISSIONS, Action, Actor, Marking, Role, decide, markings_up_to

FORCES = ["staffordshire", "west-yorkshire"]


def actor(role: Role, clearance: Marking = Marking.OFFICIAL, force: str = "staffordshire", user: str = "u1") -> Actor:
    return Actor(user_id=user, username=user, force_id=force, roles=frozenset({role}), clearance=clearance)


@pytest.mark.parametrize("role", list(Role))
def test_the_decision_matches_the_permission_table_for_every_combination(role):
    for action, clearance, marking, record_force, need_to_know, on_list in itertools.product(
        Action, Marking, Marking, FORCES, [False, True], [False, True]
    ):
        who = actor(role, clearance)
        expected = (
            action in PERMISSIONS[role]
            and record_force == who.force_id
            and clearance.rank >= marking.rank
            and (not need_to_know or on_list)
        )
        decision = decide(
            who, action, force_id=record_force, marking=marking, need_to_know=need_to_know, on_access_list=on_list
        )
        assert bool(decision) is expected, (role, action, clearance, marking, record_force, need_to_know, on_list)
        assert decision.reason


def test_every_role_has_a_description_and_at_least_one_action():
    from bluelamp.access.policy import ROLE_DESCRIPTIONS

    for role in Role:
        assert PERMISSIONS[role], role
        assert ROLE_DESCRIPTIONS[role], role


def test_the_roles_the_issue_names_exist():
    for name in [
        "call_handler",
        "dispatcher",
        "response_officer",
        "investigator",
        "intelligence_analyst",
        "supervisor",
        "partner_practitioner",
        "force_admin",
        "data_protection_officer",
        "platform_admin",
    ]:
        assert Role(name)


def test_only_the_source_handler_sees_intelligence_sources():
    holders = {role for role, actions in PERMISSIONS.items() if Action.INTELLIGENCE_SOURCE_READ in actions}
    assert holders == {Role.SOURCE_HANDLER}


def test_partners_get_no_force_records_by_role_alone():
    partner = PERMISSIONS[Role.PARTNER_PRACTITIONER]
    assert not {a for a in partner if a.value.split(".")[0] in {"person", "crime", "incident", "intelligence"}}


@pytest.mark.parametrize("clearance", list(Marking))
def test_a_clearance_covers_its_own_level_and_below(clearance):
    assert markings_up_to(clearance) == [m.value for m in Marking if m.rank <= clearance.rank]


# ------------------------------------------------------------------ the SQL filter


class ProbeBase(DeclarativeBase):
    pass


class Probe(ProbeBase):
    """A marked record, shaped like every Marked table (created for this test only)."""

    __tablename__ = "test_probe_record"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64))
    marking: Mapped[str] = mapped_column(String(24))
    need_to_know: Mapped[bool] = mapped_column(Boolean)


@pytest.fixture
def probes(db):
    """One record for every force x marking x need-to-know, and an access list entry."""
    from tests.factories.access import make_user

    listed = make_user(db, "investigator", clearance="SECRET", username="listed-investigator")
    with db.unit_of_work() as session:
        ProbeBase.metadata.create_all(session.connection())
        rows = []
        for force, marking, ntk in itertools.product(FORCES, Marking, [False, True]):
            rows.append(
                Probe(id=f"{force}-{marking.value}-{ntk}", force_id=force, marking=marking.value, need_to_know=ntk)
            )
        session.add_all(rows)
        session.flush()
        session.execute(
            text(
                "INSERT INTO access_need_to_know (record_table, record_id, user_id, granted_by, granted_at) "
                "VALUES (:t, :r, :u, 'test', CURRENT_TIMESTAMP)"
            ),
            [{"t": Probe.__tablename__, "r": f"staffordshire-{m.value}-True", "u": listed.id} for m in Marking],
        )
    return listed


@pytest.mark.parametrize("clearance", list(Marking))
@pytest.mark.parametrize("on_list", [False, True])
def test_the_sql_filter_agrees_with_the_decision_for_every_record(db, probes, clearance, on_list):
    who = Actor(
        user_id=probes.id if on_list else "someone-else",
        username="x",
        force_id="staffordshire",
        roles=frozenset({Role.INVESTIGATOR}),
        clearance=clearance,
    )
    with db.read() as session:
        seen = set(session.scalars(select(Probe.id).where(queries.visible(who, Probe))))
        everything = session.scalars(select(Probe)).all()
        expected = {
            p.id
            for p in everything
            if decide(
                who,
                Action.PERSON_READ,
                force_id=p.force_id,
                marking=p.marking,
                need_to_know=p.need_to_know,
                on_access_list=on_list and p.force_id == "staffordshire",
            )
        }
    assert seen == expected
    assert all(record_id.startswith("staffordshire") for record_id in seen)


def test_the_filter_applies_before_limit_and_count(db, probes):
    who = Actor(user_id="nobody", username="x", force_id="staffordshire", roles=frozenset({Role.INVESTIGATOR}))
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(Probe).where(queries.visible(who, Probe)))
        first_page = session.scalars(
            select(Probe.id).where(queries.visible(who, Probe)).order_by(Probe.id).limit(5)
        ).all()
    assert count == 1  # only staffordshire OFFICIAL without need-to-know
    assert first_page == ["staffordshire-OFFICIAL-False"]


def test_a_reason_is_required_before_personal_data_is_read():
    from bluelamp.access.policy import require_reason
    from bluelamp.errors import Denied

    without = actor(Role.INVESTIGATOR)
    with pytest.raises(Denied) as caught:
        require_reason(without)
    assert caught.value.code == "access.reason_required"
    with_reason = Actor(
        user_id="u1",
        username="u1",
        force_id="staffordshire",
        roles=frozenset({Role.INVESTIGATOR}),
        reason="crime SP/123/26",
    )
    assert require_reason(with_reason) == "crime SP/123/26"
