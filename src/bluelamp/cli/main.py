"""The root command and error handling."""

from __future__ import annotations

import sys

import typer

try:  # Typer 0.2x ships its own copy of Click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer uses Click itself
    from click import exceptions as click_exceptions

from bluelamp.cli import audit as audit_commands
from bluelamp.cli import db as db_commands
from bluelamp.cli import eido as eido_commands
from bluelamp.cli import forces as force_commands
from bluelamp.cli import incident as incident_commands
from bluelamp.cli import loadtest as loadtest_commands
from bluelamp.cli import opendata as opendata_commands
from bluelamp.cli import (
    opendata_export,  # noqa: F401  (registers export on opendata)
    opendata_neighbourhoods,  # noqa: F401  (registers neighbourhoods on opendata)
    opendata_publish,  # noqa: F401  (registers publish on opendata)
    records_mopi,  # noqa: F401  (registers review-due and crime-categories on records)
)
from bluelamp.cli import organisations as organisation_commands
from bluelamp.cli import records as records_commands
from bluelamp.cli import records_dedupe as records_dedupe_commands  # noqa: F401  (registers dedupe, merge...)
from bluelamp.cli import records_generate as records_generate_commands  # noqa: F401  (registers generate on records)
from bluelamp.cli import simulate as simulate_commands
from bluelamp.cli import system as system_commands
from bluelamp.cli import tokens as token_commands
from bluelamp.cli import tracking as tracking_commands
from bluelamp.cli import users as user_commands
from bluelamp.cli.context import CliContext
from bluelamp.errors import BluelampError

app = typer.Typer(
    name="bluelamp",
    help="Bluelamp: an open-source policing operations platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(ctx: typer.Context) -> None:
    """Bluelamp: an open-source policing operations platform."""
    ctx.obj = CliContext()


system_commands.register(app)
simulate_commands.register(app)
tracking_commands.register(app)
app.add_typer(db_commands.app, name="db")
app.add_typer(force_commands.app, name="force")
app.add_typer(organisation_commands.app, name="organisation")
app.add_typer(user_commands.app, name="user")
app.add_typer(token_commands.app, name="token")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(incident_commands.app, name="incident")
app.add_typer(eido_commands.app, name="eido")
app.add_typer(records_commands.app, name="records")
app.add_typer(opendata_commands.app, name="opendata")
app.command("loadtest")(loadtest_commands.loadtest)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command; print one line and exit non-zero on any error."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="bluelamp")
    except BluelampError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except click_exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "see `bluelamp --help`")
        return 2
    except click_exceptions.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "bluelamp"
        print(f"error: {exc.format_message()} (see `{command} --help`)", file=sys.stderr)
        return 2
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
