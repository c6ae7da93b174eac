"""The application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bluelamp import __version__
from bluelamp.clock import Clock
from bluelamp.events import EventBus
from bluelamp.settings import Settings
from bluelamp.storage import Database
from bluelamp.web import errors as web_errors
from bluelamp.web.api import account as account_api
from bluelamp.web.api import admin as admin_api
from bluelamp.web.api import system as system_api
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages import account as account_pages
from bluelamp.web.pages import admin as admin_pages
from bluelamp.web.pages import audit as audit_pages
from bluelamp.web.pages import home as home_pages
from bluelamp.web.pages import oidc as oidc_pages
from bluelamp.web.security import SecurityHeaders

HERE = Path(__file__).parent

# Each capability's page and API modules: (router, navigation entries).
PAGE_MODULES = [home_pages, account_pages, oidc_pages, admin_pages, audit_pages]
API_MODULES = [system_api, account_api, admin_api]


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
    bus: EventBus | None = None,
) -> FastAPI:
    """Build the Bluelamp web application from settings (and, for tests, ready-made parts)."""
    app = FastAPI(
        title="Bluelamp",
        version=__version__,
        description="Open-source policing operations platform. Errors are RFC 9457 problem details.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_url(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    app.state.clock = clock or Clock()
    app.state.bus = bus or EventBus()

    nav: list[NavItem] = []
    for module in PAGE_MODULES:
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", []))
    for module in API_MODULES:
        app.include_router(module.router)

    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        nav=sorted(nav, key=lambda item: item.order),
        version=__version__,
        tile_url=settings.tile_url,
    )
    app.state.templates = templates

    static_dir = settings.static_dir or HERE / "static"
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    web_errors.install(app)
    app.add_middleware(SecurityHeaders, tile_url=settings.tile_url)
    return app
