"""The web side of exactly-once requests (bluelamp.idempotency.service): the key from its
header, and a remembered answer sent back as it was first given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse

from bluelamp.idempotency.service import Answer

# A route parameter: ``key: IdempotencyKey = None``.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def replayed(answer: Answer) -> JSONResponse:
    """The first answer to a keyed request, marked as a replay."""
    return JSONResponse(answer.body, status_code=answer.status_code, headers={"Idempotent-Replayed": "true"})
