"""Names as search sees them: one normalised form and one sound key for the spellings an
officer meets (Smith/Smyth/Smythe, O'Neil/ONEIL, accents), the parts of double-barrelled
names, and the common nicknames."""

from __future__ import annotations

import pytest

from bluelamp.records import names


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("O'Neil", "ONEIL"),
        ("o’neil", "ONEIL"),
        ("  Seán   Ó Briain ", "SEAN O BRIAIN"),
        ("Smith-Jones", "SMITH JONES"),
        ("Strauß", "STRAUSS"),
        ("Zoë", "ZOE"),
        ("st. john", "ST JOHN"),
        ("", ""),
    ],
)
def test_names_are_normalised_the_same_whatever_the_typing(typed, normal):
    assert names.normalise(typed) == normal


def test_smith_smyth_and_smythe_share_a_family_key():
    keys = {names.keys("John", family).family_key for family in ("Smith", "Smyth", "Smythe", "SMITH")}
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [("Stephen", "Steven"), ("Catherine", "Katherine"), ("Philip", "Phillip"), ("Geoffrey", "Jeffrey")],
)
def test_given_names_that_sound_alike_share_a_key(one, other):
    assert names.keys(one, "X").given_key == names.keys(other, "X").given_key


def test_the_given_key_is_of_the_first_given_name_only():
    assert names.keys("John Michael", "Smith").given_key == names.keys("John", "Smith").given_key
    assert names.keys("John Michael", "Smith").given_norm == "JOHN MICHAEL"


def test_a_different_name_has_a_different_key():
    assert names.keys("John", "Smith").family_key != names.keys("John", "Jones").family_key


def test_a_double_barrelled_name_keys_as_a_whole_and_by_each_part():
    whole = names.keys("Sarah", "Smith-Jones")
    parts = names.part_keys("Sarah", "Smith-Jones")
    assert whole.family_norm == "SMITH JONES"
    assert [p.family_norm for p in parts] == ["SMITH", "JONES"]
    assert parts[0].family_key == names.keys("Sarah", "Smith").family_key
    assert parts[1].family_key == names.keys("Sarah", "Jones").family_key
    assert all(p.given_key == whole.given_key for p in parts)


def test_particles_and_single_names_have_no_parts():
    assert names.part_keys("Anna", "Smith") == []
    assert names.part_keys("Anna", "van der Berg") == []  # one real part: BERG, the rest particles
    assert [p.family_norm for p in names.part_keys("Anna", "de la Cruz-Ortega")] == ["CRUZ", "ORTEGA"]


def test_near_misses_undo_a_letter_typed_twice_or_two_swapped():
    assert "JESSICA" in names.near_misses("JESSSICA")
    assert "HOLLY" in names.near_misses("OHLLY")
    assert "JESICA" in names.near_misses("JEDSICA")
    assert "JEDSICA" not in names.near_misses("JEDSICA")
    assert names.near_misses("") == set()


def test_nicknames_work_both_ways():
    assert {"WILLIAM", "BILLY", "WILL"} <= names.nicknames("Bill")
    assert {"BILL", "WILL", "LIAM"} <= names.nicknames("william")
    assert "PEGGY" in names.nicknames("Margaret")
    assert "MARGARET" in names.nicknames("Peggy")
    assert "ROBERT" in names.nicknames("Bob")


def test_a_name_is_not_its_own_nickname_and_unknown_names_have_none():
    assert "WILLIAM" not in names.nicknames("William")
    assert names.nicknames("Zebedee") == set()
    assert names.nicknames("") == set()


def test_nicknames_use_the_first_given_name():
    assert "ROBERT" in names.nicknames("Bob James")


def test_the_nickname_list_holds_a_few_hundred_pairs():
    pairs = sum(len(others) for others in names.nickname_table().values())
    assert pairs >= 600  # each pair counted from both ends
