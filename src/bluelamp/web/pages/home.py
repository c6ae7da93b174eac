"""The home page, the error-code pages and the API documentation page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from bluelamp.access import queries as access_queries
from bluelamp.errors import CATALOGUE, NotFound
from bluelamp.web.auth import Caller, optional_caller, public
from bluelamp.web.deps import Db
from bluelamp.web.navigation import NavItem

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])
NAV = [NavItem("Home", "/", order=0), NavItem("API", "/docs", order=900)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Db, me: Annotated[Caller | None, Depends(optional_caller)]):
    with db.read() as session:
        forces = access_queries.list_forces(session)
    preferred = me.actor.force_id if me and me.actor.force_id else request.app.state.settings.demo_force_id
    force = next((f for f in forces if f.id == preferred), forces[0] if forces else None)
    return request.app.state.templates.TemplateResponse(
        request, "home.html", {"force": force, "forces": forces, "me": me}
    )


@router.get("/errors/{code}", response_class=HTMLResponse)
def error_code(request: Request, code: str):
    entry = CATALOGUE.entries.get(code)
    if entry is None:
        raise NotFound(f"no error code {code!r}")
    return request.app.state.templates.TemplateResponse(request, "error_code.html", {"entry": entry})


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request):
    return request.app.state.templates.TemplateResponse(request, "api_docs.html", {})


@router.get("/favicon.ico")
def favicon(request: Request):
    return FileResponse(STATIC / "img/bluelamp.svg", media_type="image/svg+xml")
