"""The application factory."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bluelamp import __version__
from bluelamp.access import changes
from bluelamp.clock import Clock, to_local
from bluelamp.command.routing import router_for
from bluelamp.command.runtime import CommandRuntime
from bluelamp.events import Event, EventBus
from bluelamp.relay import transport_for
from bluelamp.settings import Settings
from bluelamp.storage import Database
from bluelamp.tracking.feed import LiveFeed
from bluelamp.tracking.runtime import Tracking
from bluelamp.web import errors as web_errors
from bluelamp.web.api import account as account_api
from bluelamp.web.api import admin as admin_api
from bluelamp.web.api import checks as checks_api
from bluelamp.web.api import crimes as crimes_api
from bluelamp.web.api import dispatch as dispatch_api
from bluelamp.web.api import eido as eido_api
from bluelamp.web.api import incidents as incidents_api
from bluelamp.web.api import intelligence as intelligence_api
from bluelamp.web.api import live as live_api
from bluelamp.web.api import merges as merges_api
from bluelamp.web.api import mobile as mobile_api
from bluelamp.web.api import neighbourhoods as neighbourhoods_api
from bluelamp.web.api import notebook as notebook_api
from bluelamp.web.api import opendata as opendata_api
from bluelamp.web.api import opendata_forces as opendata_forces_api
from bluelamp.web.api import records as records_api
from bluelamp.web.api import resources as resources_api
from bluelamp.web.api import reviews as reviews_api
from bluelamp.web.api import scene as scene_api
from bluelamp.web.api import search as search_api
from bluelamp.web.api import stop_search as stop_search_api
from bluelamp.web.api import system as system_api
from bluelamp.web.api import tracking as tracking_api
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages import account as account_pages
from bluelamp.web.pages import admin as admin_pages
from bluelamp.web.pages import audit as audit_pages
from bluelamp.web.pages import control as control_pages
from bluelamp.web.pages import crime_lists as crime_lists_pages
from bluelamp.web.pages import crime_record as crime_record_pages
from bluelamp.web.pages import crime_recording as crime_recording_pages
from bluelamp.web.pages import crime_victims as crime_victims_pages
from bluelamp.web.pages import home as home_pages
from bluelamp.web.pages import intelligence as intelligence_pages
from bluelamp.web.pages import mobile as mobile_pages
from bluelamp.web.pages import mobile_checks as mobile_checks_pages
from bluelamp.web.pages import mobile_notebook as mobile_notebook_pages
from bluelamp.web.pages import mobile_scene as mobile_scene_pages
from bluelamp.web.pages import oidc as oidc_pages
from bluelamp.web.pages import record_search as record_search_pages
from bluelamp.web.pages import records as records_pages
from bluelamp.web.pages import resources as resources_pages
from bluelamp.web.pages import reviews as reviews_pages
from bluelamp.web.security import SecurityHeaders

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

# Each capability's page and API modules: (router, navigation entries).
PAGE_MODULES = [
    home_pages,
    account_pages,
    oidc_pages,
    admin_pages,
    audit_pages,
    resources_pages,
    control_pages,
    record_search_pages,  # before records_pages: /records/persons/new is a page, not an id
    records_pages,
    crime_lists_pages,  # these two before crime_record_pages: /records/crimes/ncrs and /new are pages, not ids
    crime_recording_pages,
    crime_record_pages,
    crime_victims_pages,
    intelligence_pages,
    reviews_pages,
    mobile_pages,
    mobile_checks_pages,
    mobile_notebook_pages,
    mobile_scene_pages,
]
# The open-data API comes first: FastAPI tries routes in order, and a route late in a long
# table pays for every miss before it (docs/benchmarks.md, "Open data API"). Its paths are
# all under /api/ outside /api/v1, so it shadows nothing; opendata before opendata_forces, so
# that /api/crimes-street/{category} is matched before /api/{force}/{neighbourhood}.
OPEN_DATA_MODULES = [opendata_api, opendata_forces_api]
API_MODULES = [
    system_api,
    account_api,
    admin_api,
    tracking_api,
    resources_api,
    live_api,
    incidents_api,
    dispatch_api,
    eido_api,
    records_api,
    crimes_api,
    intelligence_api,
    reviews_api,
    merges_api,
    mobile_api,
    checks_api,
    notebook_api,
    scene_api,
    search_api,
    neighbourhoods_api,
    stop_search_api,
]


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    background_writer: bool = True,
    freeze_at_start: bool = False,
) -> FastAPI:
    """Build the Bluelamp web application from settings (and, for tests, ready-made parts).

    ``background_writer=False`` stores trail positions only when flushed (tests that
    share one connection across the app must not write from another thread).

    ``freeze_at_start=True`` (the server sets it) moves everything built at start-up, the
    app and the latest-position index, out of the garbage collector's full passes
    (``gc.freeze``): with them, a full collection paused the live feed for about 300 ms
    (docs/benchmarks.md, "Live feed"). Tests that build many apps leave it off, so that
    their garbage stays collectable."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            await run_in_threadpool(app.state.tracking.start)
        except Exception:  # the database may be down: serve anyway, /healthz says 503
            log.exception("tracking could not load its index at start; live positions start empty")
        await app.state.live.start()
        await app.state.command.start()
        # Access changes (a token revoked, a user disabled) reach other worker processes'
        # token caches through the live-feed relay, and theirs reach this one.
        stop_telling = changes.on_change(lambda: app.state.bus.publish(Event(ACCESS_CHANGED, None, {})))
        stop_hearing = app.state.bus.subscribe(_forget_on_remote_access_change)
        if freeze_at_start:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            stop_telling()
            stop_hearing()
            await app.state.command.stop()
            await app.state.live.stop()
            await run_in_threadpool(app.state.tracking.stop)

    app = FastAPI(
        lifespan=lifespan,
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
    app.state.tracking = Tracking(
        app.state.database,
        app.state.clock,
        app.state.bus.publish,
        limits=settings.ingest_limits(),
        staleness=settings.staleness(),
        background_writer=background_writer,
    )
    app.state.router = router_for(settings)
    app.state.command = CommandRuntime(
        app.state.database, app.state.clock, app.state.bus.publish, sweep_seconds=settings.incident_sweep_seconds
    )
    app.state.live = LiveFeed(
        app.state.bus,
        app.state.tracking,
        interval=settings.live_feed_interval_ms / 1000,
        transport=transport_for(settings.redis_url, app.state.database),
    )

    nav: list[NavItem] = []
    for module in OPEN_DATA_MODULES:
        app.include_router(module.router)
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
        oidc_enabled=settings.oidc_enabled,  # the sign-in page offers the provider's button
        oidc_button_label=settings.oidc_button_label,
    )
    templates.env.filters["local_time"] = local_time
    app.state.templates = templates

    static_dir = settings.static_dir or HERE / "static"
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    web_errors.install(app)
    app.add_middleware(SecurityHeaders, tile_url=settings.tile_url)
    return app


ACCESS_CHANGED = "AccessChanged"


def _forget_on_remote_access_change(event: Event) -> None:
    if event.name == ACCESS_CHANGED and event.origin is not None:
        changes.bump()


def local_time(moment: datetime | None) -> str:
    """Jinja filter: a stored UTC time as Europe/London wall-clock time ("2026-03-01 14:30")."""
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
