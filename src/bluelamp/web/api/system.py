"""System API: health and the forces on the platform."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from bluelamp.access import queries as access_queries
from bluelamp.web.auth import public
from bluelamp.web.deps import Db

router = APIRouter(dependencies=[Depends(public)])


class Health(BaseModel):
    status: str
    database: str


class Live(BaseModel):
    status: str


@router.get("/livez", response_model=Live, tags=["system"], summary="Liveness check")
async def livez():
    """200 while the process serves requests; touches nothing else (for load balancers)."""
    return Live(status="ok")


@router.get("/healthz", response_model=Health, tags=["system"], summary="Health check")
def healthz(request: Request):
    """200 when the database answers; 503 (problem details) when it does not."""
    database = request.app.state.database
    database.check()
    return Health(status="ok", database=database.dialect)


class ForceOut(BaseModel):
    id: str
    name: str
    reference_prefix: str


@router.get("/api/v1/forces", response_model=list[ForceOut], tags=["forces"], summary="Forces on this platform")
def forces(db: Db):
    with db.read() as session:
        forces = access_queries.list_forces(session)
        return [ForceOut(id=f.id, name=f.name, reference_prefix=f.reference_prefix) for f in forces]
