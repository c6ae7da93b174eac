"""docs/permissions.md is the permission table of the code (access.policy.PERMISSIONS), rendered."""

from __future__ import annotations

import importlib.util

from bluelamp.access.policy import PERMISSIONS, Action, Role
from tests.conftest import REPO


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts/gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_permissions_md_matches_the_permission_table():
    expected = gen_docs().permissions_md()
    actual = (REPO / "docs/permissions.md").read_text()
    assert actual == expected, "docs/permissions.md is out of date: run `make docs`"


def test_the_rendered_table_marks_exactly_the_granted_actions():
    lines = gen_docs().permissions_md().splitlines()
    header = next(line for line in lines if line.startswith("| action |"))
    roles = [cell.strip().strip("`") for cell in header.strip("|").split("|")[1:]]
    assert roles == [role.value for role in Role]
    for action in Action:
        row = next(line for line in lines if line.startswith(f"| `{action.value}` |"))
        marks = [cell.strip() for cell in row.strip("|").split("|")[1:]]
        granted = {Role(role) for role, mark in zip(roles, marks, strict=True) if mark == "✓"}
        assert granted == {role for role in Role if action in PERMISSIONS[role]}, action
