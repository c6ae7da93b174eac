"""Command and control API: EIDO exchange. An incident as a NENA Emergency Incident Data
Object (JSON) for another force, and an EIDO document received as a new incident."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from bluelamp.access.policy import Action
from bluelamp.command import eido
from bluelamp.errors import TooLarge
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()

# An EIDO is a few kilobytes; additional data (PIDF-LO, vCards) can add some. Far more is not a call transfer.
MAX_DOCUMENT_BYTES = 2_000_000


@router.get(
    "/api/v1/incidents/{incident_id}/eido",
    tags=["eido"],
    summary="An incident as a NENA EIDO document",
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The EIDO document (NENA-STA-021 JSON)."}},
)
def export_eido(
    request: Request,
    incident_id: str,
    db: Db,
    clock: Now,
    caller: Caller = Depends(allow(Action.INCIDENT_READ)),
):
    """The incident (by id or reference) as an EIDO document for another force or agency,
    callers included: a disclosure, so it is audited and written in the incident's log."""
    with db.unit_of_work() as session:
        result = eido.export(session, caller.actor, incident_id, clock, sender=eido.sender_for(caller.actor.force_id))
        reference = result.incident.reference
    for event in result.events:
        request.app.state.bus.publish(event)
    return JSONResponse(
        result.document, headers={"Content-Disposition": f'attachment; filename="{reference}.eido.json"'}
    )


class ImportedOut(BaseModel):
    """The incident an EIDO document opened (or had opened before, on a replay)."""

    incident_id: str
    reference: str
    created: bool
    source: str
    category: str
    grade: str
    status: str
    external_id: str | None
    validated_against_schema: bool
    warnings: list[str]


@router.post(
    "/api/v1/eido",
    response_model=ImportedOut,
    status_code=201,
    tags=["eido"],
    summary="Open an incident from an EIDO document (a transferred call)",
    responses={200: {"model": ImportedOut, "description": "This document was imported before: that incident."}},
)
def import_eido(
    request: Request,
    response: Response,
    db: Db,
    clock: Now,
    document: dict[str, Any] = Body(description="An EIDO document (NENA-STA-021 JSON), as another force sent it."),
    caller: Caller = Depends(allow(Action.INCIDENT_CREATE)),
):
    """201 with the new incident and its Location; 200 with the same incident when the
    same sender's same incident is sent again. 422 (eido.invalid) lists the first schema
    errors with their JSON paths. The incident's THRIVE says "transferred: re-assess" and a
    re-assessment task is open until the receiving handler assesses it."""
    if int(request.headers.get("content-length") or 0) > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"an EIDO document may be at most {MAX_DOCUMENT_BYTES} bytes", code="input.too_large")
    configured = request.app.state.settings.eido_schema_dir
    with db.unit_of_work() as session:
        intake = eido.import_document(session, caller.actor, document, clock, schema_directory=configured)
        incident = intake.incident
        out = ImportedOut(
            incident_id=incident.id,
            reference=incident.reference,
            created=intake.created,
            source=incident.source,
            category=incident.opening_category,
            grade=incident.grade,
            status=incident.status,
            external_id=incident.external_id,
            validated_against_schema=eido.schema_dir(configured) is not None,
            warnings=list(intake.warnings),
        )
    for event in intake.events:
        request.app.state.bus.publish(event)
    response.headers["Location"] = f"/api/v1/incidents/{out.incident_id}"
    if not intake.created:
        response.status_code = 200
    return out
