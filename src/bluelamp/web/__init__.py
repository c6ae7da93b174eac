"""The web layer: the FastAPI app, API routers, pages, templates and static assets.

A route parses its input, calls one service or query, and renders. It holds no
queries and no rules; API and pages call the same services.
"""

from bluelamp.web.app import create_app

__all__ = ["create_app"]
