"""`bluelamp user`: create, list and disable users; set roles and clearance; reset passwords."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bluelamp.access import service
from bluelamp.access.policy import Marking, Role
from bluelamp.clock import to_local

app = typer.Typer(
    help="Create, list and disable users; set their roles and clearance; reset passwords.", no_args_is_help=True
)


def find_user(cli, session, username: str):
    """(the platform acting in the user's force, the user): so the force's audit log shows what was done."""
    user = service.find_user(session, cli.actor(), username)
    return cli.actor(service.home_force(session, force_id=user.force_id, organisation_id=user.organisation_id)), user


RolesOption = Annotated[
    list[Role], typer.Option("--role", help="A role the user holds (repeat for several)", show_default=False)
]


@app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Sign-in name: lower-case letters, digits, . - _ @")],
    name: Annotated[str, typer.Option("--name", help="The person's name as colleagues know it")],
    role: RolesOption,
    force: Annotated[
        str | None, typer.Option("--force", help="The user's force (omit for partner users and platform admins)")
    ] = None,
    clearance: Annotated[Marking, typer.Option(help="Security clearance")] = Marking.OFFICIAL,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Partner organisation id, for partner practitioners")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Email address")] = None,
) -> None:
    """Create a user and print their initial password once (they change it at first sign-in)."""
    cli = ctx.obj
    command = service.AddUser(
        username=username,
        display_name=name,
        roles=tuple(r.value for r in role),
        force_id=force,
        organisation_id=organisation,
        clearance=clearance.value,
        email=email,
    )
    with cli.ready_database().unit_of_work() as session:
        actor = cli.actor(service.home_force(session, force_id=force, organisation_id=organisation))
        created = service.add_user_with_initial_password(session, actor, command, cli.clock)
        user = created.user
        home = user.force_id or user.organisation_id or "the platform"
    plain = {"markup": False, "highlight": False}
    cli.console.print(
        f"created user {user.username} ({user.display_name}) in {home}: "
        f"{', '.join(sorted(r.value for r in role))}; clearance {user.clearance}",
        **plain,
    )
    cli.console.print(f"initial password: {created.password}", **plain)
    cli.console.print("(shown once: they must change it when they first sign in)", **plain)


@app.command("list")
def list_(
    ctx: typer.Context,
    force: Annotated[str | None, typer.Option("--force", help="Only this force's users (and its partners')")] = None,
    role: Annotated[Role | None, typer.Option("--role", help="Only users holding this role")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Part of the username or name")] = None,
) -> None:
    """List users with their force or organisation, roles, clearance and whether disabled."""
    cli = ctx.obj
    wanted = service.UserFilter(force_id=force, text=search, role=role.value if role else None, limit=1000)
    with cli.ready_database().read() as session:
        if force:
            service.get_force(session, force)
        rows = service.list_users(session, cli.actor(), wanted)
    if not rows:
        cli.console.print("no users match: add one with `bluelamp user add`")
        return
    table = Table("username", "name", "force / organisation", "roles", "clearance", "disabled")
    table.columns[0].no_wrap = True
    for row in rows:
        user = row.user
        home = f"{user.organisation_id} ({row.home_force_id})" if user.organisation_id else user.force_id or "platform"
        disabled = to_local(user.disabled_at).strftime("%Y-%m-%d %H:%M") if user.disabled_at else ""
        cells = (user.username, user.display_name, home, ", ".join(row.roles), user.clearance, disabled)
        table.add_row(*(Text(cell) for cell in cells))
    cli.console.print(table)
    cli.console.print(f"{len(rows)} user{'s' if len(rows) != 1 else ''}", highlight=False)


@app.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user to disable")]) -> None:
    """Disable a user: they cannot sign in, their sessions end and their API tokens stop working."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        service.disable_user(session, actor, user.id, cli.clock)
    cli.console.print(f"disabled user {user.username}", markup=False, highlight=False)


@app.command("enable")
def enable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user to enable again")]) -> None:
    """Enable a disabled user again."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        service.enable_user(session, actor, user.id, cli.clock)
    cli.console.print(f"enabled user {user.username}", markup=False, highlight=False)


@app.command("roles")
def roles(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user")], role: RolesOption) -> None:
    """Replace a user's roles with the ones given."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        service.set_roles(session, actor, user.id, tuple(r.value for r in role), cli.clock)
    cli.console.print(
        f"{user.username} now holds {', '.join(sorted(r.value for r in role))}", markup=False, highlight=False
    )


@app.command("clearance")
def clearance(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user")],
    level: Annotated[Marking, typer.Argument(help="OFFICIAL, OFFICIAL-SENSITIVE or SECRET")],
) -> None:
    """Set a user's security clearance."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        service.set_clearance(session, actor, user.id, level, cli.clock)
    cli.console.print(f"{user.username} is now cleared to {user.clearance}", markup=False, highlight=False)


@app.command("reset-password")
def reset_password(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user")]) -> None:
    """Give a user a new password, printed once; their sessions end and they must change it at sign-in."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        password = service.reset_password(session, actor, user.id, cli.clock)
    cli.console.print(f"new password for {user.username}: {password}", markup=False, highlight=False)
    cli.console.print("(shown once: they must change it when they next sign in)", markup=False, highlight=False)
