"""docs/ stays complete: a setting, a command or an error code that is not documented fails here."""

from __future__ import annotations

import re

import pytest

import bluelamp.web.app  # noqa: F401  (every module registers its error codes when imported)
from bluelamp.cli import app
from bluelamp.cli.reference import walk
from bluelamp.errors import CATALOGUE
from bluelamp.settings import Settings
from tests.conftest import REPO

DOCS = REPO / "docs"
FIX = "run `make docs` and describe it"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_documented(name):
    assert f"`BLUELAMP_{name.upper()}`" in (DOCS / "settings.md").read_text(), f"BLUELAMP_{name.upper()}: {FIX}"


@pytest.mark.parametrize("command", [c.path for c in walk(app)])
def test_every_cli_command_is_documented(command):
    assert f"## `{command}`" in (DOCS / "cli.md").read_text(), f"{command}: {FIX}"


def test_every_error_code_is_documented():
    text = (DOCS / "errors.md").read_text()
    missing = [code for code in CATALOGUE.entries if f"`{code}`" not in text]
    assert not missing, f"undocumented error codes {missing}: {FIX}"


def test_every_error_code_raised_in_the_code_is_in_the_catalogue():
    raised = set()
    for path in (REPO / "src/bluelamp").rglob("*.py"):
        raised.update(re.findall(r'\bcode="([a-z_]+(?:\.[a-z_]+)+)"', path.read_text()))
    missing = sorted(raised - CATALOGUE.entries.keys())
    assert not missing, f"error codes raised but not registered in errors.CATALOGUE: {missing}"


def test_getting_started_shows_the_two_commands_first():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"^(make \w+)$", readme, flags=re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"], "README must show `make demo` and `make test` first"
    start = (DOCS / "getting-started.md").read_text()
    assert "make demo" in start and "make test" in start and "PostgreSQL" in start
