"""The demo force's command configuration: its towns count as urban for attendance
targets, the countryside between them as rural, and places outside Staffordshire are
outside the force's area."""

from __future__ import annotations

from bluelamp.access.model import Force
from bluelamp.access.service import force_settings
from bluelamp.clock import Clock
from bluelamp.command.config import command_settings
from bluelamp.command.targets import area_kind, in_force_area, target_minutes
from bluelamp.sim.demo import STAFFORDSHIRE, seed_demo


def test_the_demo_force_has_urban_towns_rural_countryside_and_an_outline(demo_force):
    db = demo_force  # seed_demo on an empty database (a copy of the one seeded once per pass)
    with db.read() as session:
        force = force_settings(session.get(Force, STAFFORDSHIRE.id))
    command = command_settings(force.command)
    stoke, countryside, manchester = (53.003, -2.180), (52.95, -1.95), (53.48, -2.24)
    assert area_kind(command, *stoke) == "urban"
    assert area_kind(command, *countryside) == "rural"
    assert in_force_area(command, *stoke) and in_force_area(command, *countryside)
    assert not in_force_area(command, *manchester)
    # DOMAIN.md: grade 1 is 15 minutes in town and 20 in the country.
    assert target_minutes(force, "1", area_kind(command, *stoke)) == 15
    assert target_minutes(force, "1", area_kind(command, *countryside)) == 20


def test_seeding_again_keeps_a_force_admins_changes(demo_force):
    db = demo_force  # seeded once already
    with db.unit_of_work() as session:
        force = session.get(Force, STAFFORDSHIRE.id)
        force.settings = {**force.settings, "command": {"recommend_count": 3}}
    with db.unit_of_work() as session:
        report = seed_demo(session, Clock())
    assert "command areas" in report.kept
    with db.read() as session:
        assert command_settings(force_settings(session.get(Force, STAFFORDSHIRE.id)).command).recommend_count == 3
