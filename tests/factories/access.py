"""Factories that write real access rows (users, sessions, tokens) for tests."""

from __future__ import annotations

import itertools
import re

from bluelamp.access import service, sessions
from bluelamp.access.model import Force, User
from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.storage import Database

SYSTEM = Actor.system(None, "test")
PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def ensure_force(db: Database, force_id: str = "staffordshire", name: str | None = None) -> Force:
    with db.unit_of_work() as session:
        force = session.get(Force, force_id)
        if force is None:
            force = service.add_force(
                session,
                SYSTEM,
                service.AddForce(force_id, name or force_id.replace("-", " ").title() + " Police"),
                Clock(),
            )
        return force


def make_user(
    db: Database,
    *roles: str,
    force_id: str | None = "staffordshire",
    clearance: str = "OFFICIAL",
    username: str | None = None,
    password: str = PASSWORD,
    organisation_id: str | None = None,
) -> User:
    """A user with the given roles (default: dispatcher) in a force that exists."""
    if force_id and not organisation_id:
        ensure_force(db, force_id)
    username = username or f"{(roles[0] if roles else 'dispatcher').replace('_', '-')}-{next(_numbers)}"
    with db.unit_of_work() as session:
        return service.add_user(
            session,
            SYSTEM,
            service.AddUser(
                username=username,
                display_name=username.replace("-", " ").title(),
                roles=tuple(roles) or ("dispatcher",),
                force_id=None if organisation_id else force_id,
                organisation_id=organisation_id,
                clearance=clearance,
                password=password,
            ),
            Clock(),
        )


def issue_token(db: Database, user: User, days: int = 30, *, clock: Clock | None = None) -> str:
    """A fresh API token for ``user`` (its plaintext), issued at ``clock``'s time."""
    with db.unit_of_work() as session:
        return sessions.issue_token(session, SYSTEM, user.id, "test", days, clock or Clock()).plaintext


def bearer(db: Database, user: User) -> dict[str, str]:
    """Headers that authenticate as ``user`` with a fresh API token."""
    return {"Authorization": f"Bearer {issue_token(db, user)}"}


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD, *, next: str = "/"):
    """Sign in through the form as a browser does (the sign-in page's CSRF cookie and field);
    returns the response to the form, not following its redirect. The client needs an
    https base_url (``TestClient(app, base_url="https://testserver")``): the cookies are Secure."""
    form = client.get("/sign-in", params={"next": next})
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_from(form.text), "next": next},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
