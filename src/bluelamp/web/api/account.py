"""API: the caller's own account and API tokens (``/api/v1/me``).

Works with a bearer token or the browser's session cookie; cookie calls that change
something carry the X-CSRF-Token header (checked in ``web.auth``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from bluelamp.access import account
from bluelamp.access.model import ApiToken
from bluelamp.access.policy import Action
from bluelamp.web.auth import Caller, allow, signed_in
from bluelamp.web.deps import Db, Now

router = APIRouter(prefix="/api/v1/me", tags=["account"])

Me = Annotated[Caller, Depends(signed_in)]
TokenOwner = Annotated[Caller, Depends(allow(Action.TOKEN_OWN))]


class MeOut(BaseModel):
    """Who the caller is, as the access policy sees them."""

    id: str
    username: str
    display_name: str
    force_id: str | None
    organisation_id: str | None
    roles: list[str]
    clearance: str
    actions: list[str] = Field(description="Everything the caller's roles allow.")
    via: str = Field(description="How the caller signed in: session (browser cookie) or token.")
    reason: str | None = Field(
        description="The reason stated for looking at personal data, if any: the X-Bluelamp-Reason header "
        "of this request, or the reason a browser session stated on /account/reason."
    )


class TokenOut(BaseModel):
    """One API token, without its secret (that is shown only when it is issued)."""

    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls.model_validate(token, from_attributes=True)


class IssuedTokenOut(TokenOut):
    token: str = Field(
        description="The bearer token. Shown this once only: it is not stored and cannot be shown again."
    )


class TokenIn(BaseModel):
    name: str = Field(description="What will use the token, e.g. 'ANPR bridge'.")
    days: int = Field(30, description="How long the token lasts, 1 to 366 days.")


@router.get("", response_model=MeOut, summary="Who am I")
def me(caller: Me) -> MeOut:
    """The signed-in user or the token's owner, with their roles, clearance and allowed actions."""
    actor, user = caller.actor, caller.user
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        force_id=actor.force_id,
        organisation_id=actor.organisation_id,
        roles=sorted(str(role) for role in actor.roles),
        clearance=str(actor.clearance),
        actions=sorted(str(action) for action in actor.actions),
        via=actor.via,
        reason=actor.reason,
    )


@router.get("/tokens", response_model=list[TokenOut], summary="My API tokens")
def my_tokens(caller: Me, db: Db) -> list[TokenOut]:
    """The caller's tokens, newest first, revoked and expired ones included. Secrets are never shown."""
    with db.read() as session:
        return [TokenOut.of(token) for token in account.own_tokens(session, caller.actor)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201, summary="Issue myself an API token")
def issue_token(caller: TokenOwner, db: Db, clock: Now, body: TokenIn, response: Response) -> IssuedTokenOut:
    """A new token for the caller. The answer carries the token itself, once: copy it now."""
    with db.unit_of_work() as session:
        issued = account.issue_own_token(session, caller.actor, body.name, body.days, clock)
        out = IssuedTokenOut(**TokenOut.of(issued.token).model_dump(), token=issued.plaintext)
    response.headers["Cache-Control"] = "no-store"
    return out


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of my API tokens")
def revoke_token(caller: Me, db: Db, clock: Now, token_id: str) -> Response:
    """Revoke a token of the caller's; it stops working at once. Anyone else's token answers 404."""
    with db.unit_of_work() as session:
        account.revoke_own_token(session, caller.actor, token_id, clock)
    return Response(status_code=204)
