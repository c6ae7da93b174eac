"""`bluelamp serve`, `bluelamp demo` and `bluelamp settings`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("settings")(show_settings)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default BLUELAMP_HOST)")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default BLUELAMP_PORT)", min=1, max=65535)
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default BLUELAMP_WORKERS)", min=1)] = None,
) -> None:
    """Serve Bluelamp over HTTP (migrates a new SQLite file first)."""
    from bluelamp.web import server

    cli = ctx.obj
    settings = cli.settings.model_copy(
        update={k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None}
    )
    database = server.prepare(settings)
    cli.console.print(f"Bluelamp is serving on http://{settings.host}:{settings.port} (Ctrl+C to stop)")
    server.run(settings, database)


def demo(
    ctx: typer.Context,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after seeding")] = True,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on", min=1, max=65535)] = None,
    simulate_after: Annotated[
        bool,
        typer.Option(
            "--simulate/--no-simulate",
            help="While serving, run `bluelamp simulate` against the demo: calls arrive, units move",
        ),
    ] = True,
    speed: Annotated[
        float, typer.Option(help="The simulator's speed: simulated seconds per real second", min=0.1, max=3600)
    ] = 10.0,
    auto_dispatch: Annotated[
        bool,
        typer.Option(
            "--auto-dispatch/--no-auto-dispatch",
            help="The simulator sends the recommended units itself, or leaves every call to you in the control room",
        ),
    ] = True,
) -> None:
    """Set up the demo forces (migrating the database first), then serve, with the simulator running."""
    from bluelamp.sim.demo import seed_demo, seed_second_force
    from bluelamp.sim.demo_opendata import seed_opendata
    from bluelamp.sim.demo_records import seed_records
    from bluelamp.storage import migrate
    from bluelamp.web import server

    cli = ctx.obj
    settings = cli.settings.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    if serve_after:
        server.check_port_free(settings.host, settings.port)
    database = cli.database
    database.check_writable()
    database.check()
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        report = seed_demo(session, cli.clock)
    with cli.console.status("Seeding the demo force's records (persons, crimes, the merge queue)..."):
        seed_records(database, cli.clock, report)
    with cli.console.status("Seeding the demo force's addresses, crimes and stops, and publishing its last month..."):
        seed_opendata(database, cli.clock, report, secret_key=settings.secret_key.get_secret_value())
    with cli.console.status("Seeding the second force, West Yorkshire, with its real published crime..."):
        seed_second_force(database, cli.clock, report)
    for line in report.created:
        cli.console.print(f"created {line}")
    for line in report.kept:
        cli.console.print(f"kept {line} (already there)")
    # Plain aligned lines, not a Rich table: a narrow terminal must not cut off a username or password.
    rows = [("username", "password", "role", "clearance", "belongs to")]
    rows += [(u.username, report.password, u.role.value, u.clearance.value, u.home) for u in report.users]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cli.console.print("\nDemo users (sign in at /sign-in):", highlight=False)
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        cli.console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    cli.console.print("Demo passwords stay as they are unless someone changes theirs. Never give them to real people.")
    if serve_after:
        cli.console.print(f"Bluelamp demo is serving on http://{settings.host}:{settings.port} (Ctrl+C to stop)")
        simulator = None
        if simulate_after:
            import logging
            import subprocess
            import sys

            # The simulator's own requests would fill the terminal: keep page requests only.
            logging.getLogger("uvicorn.access").addFilter(
                lambda record: (
                    not (
                        isinstance(record.args, tuple)
                        and len(record.args) > 2
                        and str(record.args[2]).startswith(("/ingest/", "/api/v1/", "/livez"))
                    )
                )
            )
            local = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
            simulator = subprocess.Popen(
                [sys.executable, "-m", "bluelamp", "simulate", "--url", f"http://{local}:{settings.port}"]
                + ["--speed", f"{speed:g}", "--wait", "120", "--plain", "--every", "60"]
                + ([] if auto_dispatch else ["--no-auto-dispatch"])
            )
            cli.console.print(
                f"The simulator starts once the server answers: calls arrive and units move at ×{speed:g} "
                "(`--no-simulate` to serve without it; docs/demo.md)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        try:
            server.run(settings, database)
        finally:
            if simulator is not None:  # it stops between two requests and revokes its token
                import signal

                if simulator.poll() is None:
                    simulator.send_signal(signal.SIGTERM)
                try:
                    simulator.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    simulator.kill()


def show_settings(ctx: typer.Context) -> None:
    """Show every setting, its current value (secrets masked) and what it does."""
    cli = ctx.obj
    table = Table("environment variable", "value", "meaning", show_lines=False)
    for name, value, description in cli.settings.described():
        table.add_row(name, value, description)
    cli.console.print(table)
