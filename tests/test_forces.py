"""Tenancy: forces on the platform."""

from __future__ import annotations

import pytest

from bluelamp.access import queries
from bluelamp.access.policy import Actor
from bluelamp.access.service import AddForce, add_force, force_settings, get_force
from bluelamp.errors import Conflict, InvalidInput, NotFound

SYSTEM = Actor.system(None, "test")


def test_a_force_gets_its_data_police_uk_id_and_a_reference_prefix(db, clock):
    with db.unit_of_work() as session:
        force = add_force(session, SYSTEM, AddForce("west-yorkshire", "West Yorkshire Police"), clock)
        assert force.reference_prefix == "WYP"
    with db.read() as session:
        assert [f.id for f in queries.list_forces(session)] == ["west-yorkshire"]


def test_new_forces_get_the_default_grade_targets(db, clock):
    with db.unit_of_work() as session:
        force = add_force(session, SYSTEM, AddForce("staffordshire", "Staffordshire Police", "SP"), clock)
        targets = force_settings(force).grades
    assert targets["1"].urban_minutes == 15
    assert targets["1"].rural_minutes == 20
    assert targets["2"].urban_minutes == 60
    assert targets["4"].urban_minutes is None


@pytest.mark.parametrize("bad_id", ["Staffordshire", "staffs police", "-x", "a", "x" * 70, "west_yorkshire"])
def test_force_ids_must_look_like_data_police_uk_ids(db, clock, bad_id):
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce(bad_id, "Some Police"), clock)
    assert caught.value.code == "force.invalid_id"


@pytest.mark.parametrize("reserved", ["forces", "crimes-street", "v1", "locate-neighbourhood"])
def test_a_force_id_cannot_be_a_word_of_the_open_data_paths(db, clock, reserved):
    # /api/{force}/neighbourhoods would be unreachable for a force called "crimes-street".
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce(reserved, "Some Police"), clock)
    assert caught.value.code == "force.invalid_id"
    assert "open-data" in caught.value.detail


def test_a_force_cannot_be_added_twice(db, clock):
    with db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("kent", "Kent Police"), clock)
    with pytest.raises(Conflict) as caught, db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("kent", "Kent Police again"), clock)
    assert caught.value.code == "force.exists"
    with db.read() as session:
        assert get_force(session, "kent").name == "Kent Police"


def test_an_unknown_force_is_not_found(db):
    with db.read() as session, pytest.raises(NotFound):
        get_force(session, "atlantis")
