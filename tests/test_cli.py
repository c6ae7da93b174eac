"""The command line: help everywhere, one-line errors, nothing written on bad input."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from contextlib import contextmanager

import pytest

from bluelamp.cli import main
from tests.conftest import free_port

COMMANDS = [
    [],
    ["serve"],
    ["demo"],
    ["settings"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["force"],
    ["force", "add"],
    ["force", "list"],
]


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the real `bluelamp` command in a child process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BLUELAMP_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bluelamp", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage" in out


def test_force_add_and_list(settings, monkeypatch, capsys, db):
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", fresh_migrated_url(settings))
    assert main(["force", "add", "west-yorkshire", "West Yorkshire Police"]) == 0
    assert "reference prefix WYP" in capsys.readouterr().out
    assert main(["force", "list"]) == 0
    assert "West Yorkshire Police" in capsys.readouterr().out
    assert main(["force", "add", "west-yorkshire", "Again"]) == 1
    assert capsys.readouterr().err.strip() == "error: force 'west-yorkshire' already exists"


_MIGRATED: dict[str, str] = {}  # the URL of an empty database at the newest schema, migrated once per pass


def fresh_migrated_url(settings) -> str:
    # Each CLI test gets its own database so that committed rows do not leak between tests:
    # a copy of one migrated once (running every migration again took seconds a test).
    from bluelamp.storage import Database, migrate
    from tests.conftest import DatabaseFactory

    factory = DatabaseFactory(__import__("pathlib").Path(__import__("tempfile").mkdtemp()))
    if "template" not in _MIGRATED:
        url = factory.new_url("cli_template")
        database = Database.from_url(url)
        migrate.upgrade(database)
        database.dispose()
        _MIGRATED["template"] = url
    return factory.copy_url(_MIGRATED["template"], "cli")


def test_unknown_commands_and_missing_arguments_are_one_line_errors():
    assert_one_line_error(run_cli("frobnicate"), "No such command")
    assert_one_line_error(run_cli("force", "add"), "Missing argument")


def test_a_malformed_database_url_is_one_line_and_writes_nothing(tmp_path):
    result = run_cli("db", "upgrade", env={"BLUELAMP_DATABASE_URL": "not a url"})
    assert_one_line_error(result, "BLUELAMP_DATABASE_URL")
    result = run_cli("serve", "--port", str(free_port()), env={"BLUELAMP_DATABASE_URL": "mysql://x@y/z"})
    assert_one_line_error(result, "unsupported database")


def test_a_bad_setting_is_one_line(tmp_path):
    result = run_cli("settings", env={"BLUELAMP_PORT": "not-a-port"})
    assert_one_line_error(result, "BLUELAMP_PORT")


def test_an_unreachable_postgresql_is_one_line():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/bluelamp"
    result = run_cli("serve", "--port", str(free_port()), env={"BLUELAMP_DATABASE_URL": url})
    assert_one_line_error(result, "cannot be reached")


@contextmanager
def read_only(path):
    """Make a file read-only for whoever runs the tests (root ignores permission bits)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(stat.S_IRUSR)
        yield


@pytest.mark.sqlite_only
def test_a_read_only_database_file_is_one_line_and_left_untouched(tmp_path):
    path = tmp_path / "ro.db"
    assert run_cli("db", "upgrade", env={"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"}).returncode == 0
    before = path.read_bytes()
    with read_only(path):
        result = run_cli(
            "serve", "--port", str(free_port()), env={"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"}, timeout=20
        )
        assert_one_line_error(result, "not writable")
        assert_one_line_error(
            run_cli("db", "upgrade", env={"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"}), "not writable"
        )
    assert path.read_bytes() == before


def test_a_port_in_use_is_one_line_and_creates_no_database(tmp_path):
    path = tmp_path / "new.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), env={"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"})
    assert_one_line_error(result, f"port {port}", "in use")
    assert not path.exists()


def test_commands_that_need_a_database_do_not_create_one(tmp_path):
    path = tmp_path / "absent.db"
    result = run_cli("force", "list", env={"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"})
    assert_one_line_error(result, "bluelamp db upgrade")
    assert not path.exists()


@pytest.mark.sqlite_only
def test_db_upgrade_creates_and_migrates_a_new_file(tmp_path):
    path = tmp_path / "fresh.db"
    env = {"BLUELAMP_DATABASE_URL": f"sqlite:///{path}"}
    first = run_cli("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "upgraded from empty" in first.stdout
    again = run_cli("db", "upgrade", env=env)
    assert "already at" in again.stdout
    current = run_cli("db", "current", env=env)
    assert "up to date" in current.stdout


def test_settings_command_shows_every_setting_with_secrets_masked():
    result = run_cli(
        "settings",
        env={
            "BLUELAMP_SECRET_KEY": "top-secret-value",
            "BLUELAMP_DATABASE_URL": "postgresql://a:pw@h/d",
            "COLUMNS": "250",
        },
    )
    assert result.returncode == 0, result.stderr
    from bluelamp.settings import Settings

    for name in Settings.model_fields:
        assert f"BLUELAMP_{name.upper()}" in result.stdout
    assert "top-secret-value" not in result.stdout
    assert "pw" not in result.stdout.replace("postgresql://a:***@h/d", "")


@pytest.mark.sqlite_only
def test_demo_seeds_the_demo_force_and_keeps_data_when_run_again(database_factory, demo_command):
    # The first run on an empty database is conftest's, once per pass and in the tests'
    # process (seeding everything takes a minute); the runs here are real processes on a copy.
    assert "created force staffordshire" in demo_command.output
    env = {"BLUELAMP_DATABASE_URL": database_factory.copy_url(demo_command.url, "demo_cli")}
    assert run_cli("force", "add", "cheshire", "Cheshire Constabulary", env=env).returncode == 0
    second = run_cli("demo", "--no-serve", env=env)
    assert second.returncode == 0, second.stderr
    assert "kept force staffordshire" in second.stdout
    listing = run_cli("force", "list", env=env).stdout
    assert "Cheshire Constabulary" in listing and "Staffordshire Police" in listing
