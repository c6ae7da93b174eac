"""`bluelamp incident` for real, on a real database: record a call, the queue, one
incident's log, a note, closing; bad input is one line and writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from bluelamp.cli import app, main
from bluelamp.cli.reference import walk
from bluelamp.storage import Database
from tests.test_cli import fresh_migrated_url

REFERENCE = re.compile(r"\b(SP-\d{8}-\d{4})\b")
THRIVE = [
    "--threat", "none ongoing", "--harm", "property damage", "--risk", "low", "--investigation", "house-to-house",
    "--vulnerability", "none", "--engagement", "by phone",
]  # fmt: skip


@pytest.fixture
def cli_db(settings, monkeypatch):
    """A fresh migrated database the CLI commits to, with one force, and a wide console."""
    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    database = Database.from_url(url)
    yield database
    database.dispose()


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def incidents(database: Database) -> list[dict]:
    with database.read() as session:
        return [dict(r) for r in session.execute(text("SELECT * FROM command_incident ORDER BY reference")).mappings()]


@pytest.mark.parametrize("command", [c.path.split()[1:] for c in walk(app) if c.path.split()[1:2] == ["incident"]])
def test_every_incident_command_has_help(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_record_list_show_note_and_close_an_incident(cli_db, capsys):
    status, out, err = run(
        capsys, "incident", "create", "--category", "criminal_damage", "--grade", "2", "--lat", "52.806",
        "--lon", "-2.117", "--address", "12 High St, Stafford", "--description", "window smashed", "--source", "101",
        "--caller-name", "Pat", "--phone", "07700 900111", *THRIVE, "--idempotency-key", "cli-1",
    )  # fmt: skip
    assert status == 0, err
    reference = REFERENCE.search(out).group(1)
    assert "grade 2, open" in out

    status, out, _ = run(capsys, "incident", "create", "--category", "criminal_damage", "--grade", "2",
                         "--lat", "52.806", "--lon", "-2.117", *THRIVE, "--idempotency-key", "cli-1")  # fmt: skip
    assert status == 0 and f"already received as {reference}" in out
    assert len(incidents(cli_db)) == 1

    status, out, _ = run(capsys, "incident", "list")
    assert status == 0 and reference in out and "criminal_damage" in out

    assert run(capsys, "incident", "note", reference, "CCTV requested from the shop")[0] == 0
    status, out, _ = run(capsys, "incident", "show", reference)
    assert status == 0
    assert "window smashed" in out
    assert "note: CCTV requested from the shop" in out and "created:" in out and "Pat" in out

    closing = ["--category", "criminal_damage", "--result", "crime_recorded", "--summary", "crimed"]
    status, out, _ = run(capsys, "incident", "close", reference, *closing, "--crime-reference", "CR/1/26")
    assert status == 0 and f"closed {reference}" in out
    row = incidents(cli_db)[0]
    assert (row["status"], row["result"], row["crime_reference"]) == ("closed", "crime_recorded", "CR/1/26")
    status, out, _ = run(capsys, "incident", "list")
    assert "no incidents" in out


def test_bad_input_is_one_line_and_writes_nothing(cli_db, capsys):
    status, _, err = run(
        capsys, "incident", "create", "--category", "alien_landing", "--lat", "52.8", "--lon", "-2.1", *THRIVE
    )
    assert status == 1
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: category:")
    status, _, err = run(capsys, "incident", "note", "SP-20990101-0001", "hello")
    assert status == 1 and err.strip() == "error: no incident 'SP-20990101-0001'"
    status, _, err = run(capsys, "incident", "close", "nope", "--category", "theft", "--result", "x", "--summary", "y")
    assert status == 1 and err.startswith("error: ")
    assert incidents(cli_db) == []
