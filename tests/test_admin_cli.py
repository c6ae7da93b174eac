"""The admin command line for real, on a real database: users, tokens, partner organisations,
the audit log (verify, checkpoint, search) and the demo users."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from bluelamp.access import sessions
from bluelamp.access.passwords import verify_password
from bluelamp.cli import app, main
from bluelamp.cli.reference import walk
from bluelamp.clock import Clock
from bluelamp.errors import Unauthenticated
from bluelamp.storage import Database
from tests.conftest import BACKEND
from tests.test_cli import assert_one_line_error, fresh_migrated_url, run_cli

PASSWORD_LINE = re.compile(r"^initial password: (\S+)$", re.MULTILINE)


@pytest.fixture
def cli_db(settings, monkeypatch):
    """A fresh migrated database the CLI commits to, with one force, and a wide console."""
    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    assert main(["force", "add", "west-midlands", "West Midlands Police"]) == 0
    database = Database.from_url(url)
    yield database
    database.dispose()


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run `bluelamp ARGS` in this process; (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def user_row(database: Database, username: str) -> dict:
    with database.read() as session:
        row = session.execute(text("SELECT * FROM access_user WHERE username = :u"), {"u": username}).mappings().one()
        roles = session.scalars(
            text("SELECT role FROM access_user_role WHERE user_id = :id ORDER BY role"), {"id": row["id"]}
        ).all()
        return {**row, "roles": list(roles)}


def audit_actions(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(text("SELECT action FROM access_audit ORDER BY seq")))


ADMIN_COMMANDS = [
    c.path.split()[1:] for c in walk(app) if c.path.split()[1:2] in (["user"], ["token"], ["audit"], ["organisation"])
]


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=" ".join)
def test_every_admin_command_has_help(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_user_add_prints_an_initial_password_once_that_must_be_changed(cli_db, capsys):
    status, out, _ = run(
        capsys, "user", "add", "j.smith", "--name", "PC Jo Smith", "--force", "staffordshire",
        "--role", "response_officer", "--role", "dispatcher", "--clearance", "OFFICIAL-SENSITIVE",
    )  # fmt: skip
    assert status == 0
    password = PASSWORD_LINE.search(out).group(1)
    assert "shown once" in out
    user = user_row(cli_db, "j.smith")
    assert user["display_name"] == "PC Jo Smith"
    assert user["force_id"] == "staffordshire"
    assert user["roles"] == ["dispatcher", "response_officer"]
    assert user["clearance"] == "OFFICIAL-SENSITIVE"
    assert user["must_change_password"]
    assert verify_password(user["password_hash"], password)
    assert password not in str(user)  # only the hash is stored
    assert audit_actions(cli_db)[-1] == "user.create"


def test_user_add_refusals_are_one_line_and_create_nothing(cli_db, capsys):
    assert (
        run(capsys, "user", "add", "amy", "--name", "Amy", "--force", "staffordshire", "--role", "dispatcher")[0] == 0
    )
    status, _, err = run(
        capsys, "user", "add", "amy", "--name", "Amy 2", "--force", "staffordshire", "--role", "dispatcher"
    )
    assert status == 1 and err.strip() == "error: user 'amy' already exists"
    status, _, err = run(capsys, "user", "add", "ben", "--name", "Ben", "--force", "nowhere", "--role", "dispatcher")
    assert status == 1 and err.strip() == "error: no force 'nowhere'"
    status, _, err = run(capsys, "user", "add", "cat", "--name", "Cat", "--role", "dispatcher")
    assert status == 1 and err.startswith("error: force_id: a user belongs to a force")
    status, _, err = run(capsys, "user", "add", "dan", "--name", "Dan", "--force", "staffordshire", "--role", "chief")
    assert status == 2 and "Invalid value for '--role'" in err
    with cli_db.read() as session:
        assert session.scalars(text("SELECT username FROM access_user ORDER BY username")).all() == ["amy"]


def test_partner_users_belong_to_an_organisation_of_the_force(cli_db, capsys):
    status, out, _ = run(
        capsys, "organisation", "add", "stoke-council", "Stoke-on-Trent City Council",
        "--kind", "council", "--force", "staffordshire",
    )  # fmt: skip
    assert status == 0 and "added organisation stoke-council" in out
    assert "Stoke-on-Trent City Council" in run(capsys, "organisation", "list")[1]
    status, _, _ = run(
        capsys, "user", "add", "sw.jones", "--name", "Sam Jones", "--organisation", "stoke-council",
        "--role", "partner_practitioner",
    )  # fmt: skip
    assert status == 0
    assert user_row(cli_db, "sw.jones")["organisation_id"] == "stoke-council"
    status, _, err = run(
        capsys, "user", "add", "sw.two", "--name", "Two", "--organisation", "stoke-council", "--role", "dispatcher"
    )
    assert status == 1 and "partner organisation users hold only partner_practitioner" in err


def test_user_list_shows_home_roles_clearance_and_disabled_and_filters_by_force(cli_db, capsys):
    run(capsys, "user", "add", "staffs-1", "--name", "Staffs One", "--force", "staffordshire", "--role", "dispatcher")
    run(capsys, "user", "add", "wm-1", "--name", "Midlands One", "--force", "west-midlands", "--role", "supervisor",
        "--clearance", "SECRET")  # fmt: skip
    run(capsys, "user", "disable", "wm-1")
    status, out, _ = run(capsys, "user", "list")
    assert status == 0
    staffs = next(line for line in out.splitlines() if "staffs-1" in line)
    assert "Staffs One" in staffs and "staffordshire" in staffs and "dispatcher" in staffs and "OFFICIAL" in staffs
    midlands = next(line for line in out.splitlines() if "wm-1" in line)
    assert "west-midlands" in midlands and "supervisor" in midlands and "SECRET" in midlands
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", midlands), "a disabled user shows when"
    assert not re.search(r"\d{4}-\d\d-\d\d", staffs)
    _, only_staffs, _ = run(capsys, "user", "list", "--force", "staffordshire")
    assert "staffs-1" in only_staffs and "wm-1" not in only_staffs
    status, _, err = run(capsys, "user", "list", "--force", "atlantis")
    assert status == 1 and err.strip() == "error: no force 'atlantis'"


def test_disable_enable_roles_clearance_and_reset_password_change_the_user_and_are_audited(cli_db, capsys):
    run(capsys, "user", "add", "pat", "--name", "Pat", "--force", "staffordshire", "--role", "dispatcher")
    assert run(capsys, "user", "disable", "pat")[0] == 0
    assert user_row(cli_db, "pat")["disabled_at"] is not None
    assert run(capsys, "user", "enable", "pat")[0] == 0
    assert user_row(cli_db, "pat")["disabled_at"] is None
    status, out, _ = run(capsys, "user", "roles", "pat", "--role", "supervisor", "--role", "call_handler")
    assert status == 0 and "call_handler, supervisor" in out
    assert user_row(cli_db, "pat")["roles"] == ["call_handler", "supervisor"]
    assert run(capsys, "user", "clearance", "pat", "SECRET")[0] == 0
    assert user_row(cli_db, "pat")["clearance"] == "SECRET"
    status, out, _ = run(capsys, "user", "reset-password", "pat")
    new_password = re.search(r"new password for pat: (\S+)", out).group(1)
    user = user_row(cli_db, "pat")
    assert verify_password(user["password_hash"], new_password) and user["must_change_password"]
    assert audit_actions(cli_db)[-5:] == [
        "user.disable",
        "user.enable",
        "user.roles",
        "user.clearance",
        "user.reset_password",
    ]
    with cli_db.read() as session:  # done by the platform, recorded in the force's own log for its DPO
        forces = session.scalars(text("SELECT force_id FROM access_audit ORDER BY seq DESC LIMIT 6")).all()
        assert forces == ["staffordshire"] * 6
    status, _, err = run(capsys, "user", "disable", "nobody")
    assert status == 1 and err.strip() == "error: no user 'nobody'"


def test_a_token_is_printed_once_works_and_stops_working_when_revoked(cli_db, capsys):
    run(capsys, "user", "add", "anpr", "--name", "ANPR bridge", "--force", "staffordshire", "--role", "dispatcher")
    status, out, _ = run(capsys, "token", "issue", "anpr", "--name", "camera feed", "--days", "7")
    assert status == 0
    plaintext = re.search(r"^(bl_\S+)$", out, re.MULTILINE).group(1)
    token_id = plaintext.split("_")[1]
    with cli_db.unit_of_work() as session:
        user, _ = sessions.authenticate_token(session, plaintext, Clock())
        assert user.username == "anpr"
        assert plaintext not in str(session.execute(text("SELECT * FROM access_api_token")).all())
    _, listing, _ = run(capsys, "token", "list", "anpr")
    row = next(line for line in listing.splitlines() if token_id in line)
    assert "camera feed" in row and "active" in row and plaintext not in listing
    assert run(capsys, "token", "revoke", token_id) == (0, f"revoked token {token_id} (camera feed)\n", "")
    assert "revoked" in next(line for line in run(capsys, "token", "list", "anpr")[1].splitlines() if token_id in line)
    with cli_db.unit_of_work() as session, pytest.raises(Unauthenticated) as refused:
        sessions.authenticate_token(session, plaintext, Clock())
    assert refused.value.code == "access.token_revoked"
    status, _, err = run(capsys, "token", "revoke", "0123456789ab")
    assert status == 1 and err.strip() == "error: no token '0123456789ab'"
    status, _, err = run(capsys, "token", "issue", "anpr", "--name", "x", "--days", "400")
    assert status == 1 and "1 to 366 days" in err


def tamper(database: Database, statement: str) -> None:
    """What an insider with direct database access could do (triggers off first, where there are any)."""
    with database.unit_of_work() as session:
        if BACKEND == "postgresql":
            session.execute(text("ALTER TABLE access_audit DISABLE TRIGGER USER"))
        else:
            session.execute(text("DROP TRIGGER IF EXISTS access_audit_no_update"))
            session.execute(text("DROP TRIGGER IF EXISTS access_audit_no_delete"))
        session.execute(text(statement))
        if BACKEND == "postgresql":
            session.execute(text("ALTER TABLE access_audit ENABLE TRIGGER USER"))


def test_audit_verify_passes_on_an_intact_log_and_names_the_first_edited_entry(cli_db, capsys):
    for n in range(3):
        run(capsys, "user", "add", f"u{n}", "--name", f"User {n}", "--force", "staffordshire", "--role", "dispatcher")
    status, out, err = run(capsys, "audit", "verify")
    count = len(audit_actions(cli_db))
    assert (status, out, err) == (0, f"audit log intact: {count} entries verified\n", "")
    tamper(cli_db, "UPDATE access_audit SET reason = 'nothing to see' WHERE seq = 3")
    status, out, err = run(capsys, "audit", "verify")
    assert status == 1
    assert err.strip() == "error: the audit log does not verify: entry 3 was edited (its hash does not match)"


def test_audit_verify_in_a_child_process_exits_non_zero_on_a_removed_entry(cli_db, capsys):
    run(capsys, "user", "add", "solo", "--name", "Solo", "--force", "staffordshire", "--role", "dispatcher")
    env = {"BLUELAMP_DATABASE_URL": cli_db.engine.url.render_as_string(hide_password=False)}
    assert run_cli("audit", "verify", env=env).returncode == 0
    tamper(cli_db, "DELETE FROM access_audit WHERE seq = 2")
    result = run_cli("audit", "verify", env=env)
    assert_one_line_error(result, "entry 2 is missing")


def test_a_checkpoint_proves_the_chain_was_not_rewritten_up_to_it(cli_db, capsys):
    run(capsys, "user", "add", "kim", "--name", "Kim", "--force", "staffordshire", "--role", "dispatcher")
    status, checkpoint, err = run(capsys, "audit", "checkpoint")
    assert status == 0 and "verify --expect" in err
    seq, digest = checkpoint.strip().split(":")
    run(capsys, "user", "disable", "kim")
    status, out, _ = run(capsys, "audit", "verify", "--expect", checkpoint.strip())
    assert status == 0 and f"including checkpoint {seq}" in out
    # Rewriting the newest entry and its hash (and the head) passes a plain verify: only the checkpoint catches it.
    from bluelamp.access.audit import content_hash
    from bluelamp.access.model import AuditEntry

    tamper(cli_db, "SELECT 1")
    with cli_db.unit_of_work() as session:
        if BACKEND == "postgresql":
            session.execute(text("ALTER TABLE access_audit DISABLE TRIGGER USER"))
        entries = session.query(AuditEntry).order_by(AuditEntry.seq).all()
        previous = entries[int(seq) - 2].hash
        for entry in entries[int(seq) - 1 :]:
            entry.prev_hash = previous
            if entry.seq == int(seq):
                entry.actor = "someone-else"
            entry.hash = previous = content_hash(entry)
        session.execute(text("UPDATE access_audit_head SET hash = :h"), {"h": previous})
        session.flush()
        if BACKEND == "postgresql":
            session.execute(text("ALTER TABLE access_audit ENABLE TRIGGER USER"))
    assert run(capsys, "audit", "verify")[0] == 0
    status, _, err = run(capsys, "audit", "verify", "--expect", f"{seq}:{digest}")
    assert status == 1 and f"entry {seq} no longer has the checkpoint's hash" in err
    status, _, err = run(capsys, "audit", "verify", "--expect", "12:abc")
    assert status == 1 and "SEQ:HASH" in err


def test_audit_search_finds_a_users_entries_and_a_records_and_is_itself_audited(cli_db, capsys):
    run(capsys, "user", "add", "lee", "--name", "Lee", "--force", "staffordshire", "--role", "dispatcher")
    user_id = user_row(cli_db, "lee")["id"]
    run(capsys, "user", "clearance", "lee", "SECRET")
    run(capsys, "user", "add", "max", "--name", "Max", "--force", "staffordshire", "--role", "dispatcher")
    status, out, _ = run(capsys, "audit", "search", "--record", f"user:{user_id}")
    assert status == 0
    lines = [line for line in out.splitlines() if f"user:{user_id}" in line]
    assert [("user.clearance" in lines[0]), ("user.create" in lines[1])] == [True, True]  # newest first
    assert len(lines) == 2
    _, out, _ = run(capsys, "audit", "search", "--action", "user.create", "--since", "2000-01-01", "--limit", "1")
    assert "user.create" in out and "there are more" in out
    _, out, _ = run(capsys, "audit", "search", "--user", "nobody-at-all")
    assert out.strip() == "no audit entries match"
    assert audit_actions(cli_db)[-3:] == ["audit.search"] * 3
    status, _, err = run(capsys, "audit", "search", "--record", "user")
    assert status == 1 and "TYPE:ID" in err
    status, _, err = run(capsys, "audit", "search", "--since", "last tuesday")
    assert status == 1 and "not an ISO 8601" in err


def test_demo_creates_one_user_per_role_that_can_sign_in_and_keeps_them_when_run_again(
    database_factory, demo_command, monkeypatch, capsys
):
    from bluelamp.access.policy import Role
    from bluelamp.sim.demo import DEMO_PASSWORD

    # The first run, on an empty database, is the one conftest makes once per pass (it takes
    # a minute); this test goes on with a copy of the database it set up.
    first = demo_command.output
    url = database_factory.copy_url(demo_command.url, "demo_cli")
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    assert "created organisation stoke-on-trent-city-council" in first
    for role in Role:
        username = role.value.replace("_", "-")
        line = next(line for line in first.splitlines() if line.split()[:1] == [username])
        assert DEMO_PASSWORD in line and role.value in line
    database = Database.from_url(url)
    try:
        assert user_row(database, "force-admin")["force_id"] == "staffordshire"
        assert user_row(database, "platform-admin")["force_id"] is None
        assert user_row(database, "partner-practitioner")["organisation_id"] == "stoke-on-trent-city-council"
        assert user_row(database, "intelligence-analyst")["clearance"] == "SECRET"
        assert user_row(database, "data-protection-officer")["roles"] == ["data_protection_officer"]
        with database.unit_of_work() as session:
            result = sessions.sign_in(
                session, "force-admin", DEMO_PASSWORD, ip="127.0.0.1", user_agent=None, clock=Clock(),
                policy=sessions.SessionPolicy(),
            )  # fmt: skip
            assert result.error is None
        before = user_row(database, "dispatcher")
        status, second, _ = run(capsys, "demo", "--no-serve")
        assert status == 0 and f"kept {len(Role)} demo users" in second and "created" not in second
        assert user_row(database, "dispatcher") == before
    finally:
        database.dispose()
