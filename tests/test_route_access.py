"""Every route declares who may call it: a new route without an access check fails here."""

from __future__ import annotations

from fastapi.routing import APIRoute

# Routes FastAPI itself adds.
BUILT_IN = {"/openapi.json"}


def declared_access(dependant) -> list[str]:
    found = []
    for dependency in dependant.dependencies:
        marker = getattr(dependency.call, "bluelamp_access", None)
        if marker:
            found.append(marker)
        found.extend(declared_access(dependency))
    return found


def test_every_route_declares_its_access(app):
    undeclared = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path in BUILT_IN:
            continue
        if not declared_access(route.dependant):
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert not undeclared, "routes without allow(action), signed_in or public (bluelamp.web.auth): " + ", ".join(
        undeclared
    )


def test_the_check_finds_a_route_without_a_declaration(app):
    @app.get("/api/v1/forgotten")
    def forgotten():
        return {}

    route = next(r for r in app.routes if getattr(r, "path", None) == "/api/v1/forgotten")
    assert declared_access(route.dependant) == []
