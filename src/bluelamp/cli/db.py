"""`bluelamp db`: schema migrations."""

from __future__ import annotations

import typer

from bluelamp.storage import migrate

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the database schema up to the newest version (creates a new SQLite file)."""
    cli = ctx.obj
    database = cli.database
    cli.settings  # noqa: B018 - fail early on bad settings
    database.check_writable()
    database.check()
    before = migrate.current(database)
    migrate.upgrade(database)
    after = migrate.current(database)
    if before == after:
        cli.console.print(f"database already at {after} (newest)")
    else:
        cli.console.print(f"database upgraded from {before or 'empty'} to {after}")


@app.command("current")
def current(ctx: typer.Context) -> None:
    """Show the schema version of the database and the newest this code knows."""
    cli = ctx.obj
    database = cli.database
    database.require_existing()
    database.check()
    revision = migrate.current(database)
    newest = migrate.head()
    state = "up to date" if revision == newest else "needs `bluelamp db upgrade`"
    cli.console.print(f"current: {revision or 'empty'}  newest: {newest}  ({state})")
