"""`bluelamp token`: issue, list and revoke users' API tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bluelamp.access import service, sessions
from bluelamp.cli.users import find_user
from bluelamp.clock import to_local

app = typer.Typer(help="Issue, list and revoke API tokens (bearer tokens for programs).", no_args_is_help=True)


def _when(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@app.command("issue")
def issue(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user the token acts as")],
    name: Annotated[str, typer.Option("--name", help="What will use the token, e.g. 'ANPR bridge'")],
    days: Annotated[int, typer.Option("--days", help="Days until it expires (1 to 366)")] = 90,
) -> None:
    """Issue an API token for a user and print it once (only a hash is kept)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        issued = sessions.issue_token(session, actor, user.id, name, days, cli.clock)
        token = issued.token
    plain = {"markup": False, "highlight": False}
    cli.console.print(
        f"issued token {token.id} ({token.name}) for {user.username}, expires {_when(token.expires_at)}:", **plain
    )
    cli.console.print(issued.plaintext, soft_wrap=True, **plain)
    cli.console.print("(shown once: store it now)", **plain)


@app.command("list")
def list_(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user")]) -> None:
    """List a user's API tokens (never their secrets)."""
    cli = ctx.obj
    now = cli.clock.now()
    with cli.ready_database().read() as session:
        actor, user = find_user(cli, session, username)
        tokens = service.list_tokens(session, actor, user.id)
    if not tokens:
        cli.console.print(f"{username.strip().lower()} has no API tokens", markup=False, highlight=False)
        return
    table = Table("id", "name", "created", "expires", "last used", "state")
    for token in tokens:
        state = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
        cells = (
            token.id,
            token.name,
            _when(token.created_at),
            _when(token.expires_at),
            _when(token.last_used_at),
            state,
        )
        table.add_row(*(Text(cell) for cell in cells))
    cli.console.print(table)


@app.command("revoke")
def revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="The token's id")]
) -> None:
    """Revoke an API token: it stops working at once."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        owner = service.token_owner(session, cli.actor(), token_id.strip())
        actor = cli.actor(service.home_force(session, force_id=owner.force_id, organisation_id=owner.organisation_id))
        token = sessions.revoke_token(session, actor, token_id.strip(), cli.clock)
    cli.console.print(f"revoked token {token.id} ({token.name})", markup=False, highlight=False)
