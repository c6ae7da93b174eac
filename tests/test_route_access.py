"""Every route declares who may call it: a new route without an access check fails here."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

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


def api_routes(app) -> list[tuple[str, APIRoute]]:
    """(full path, route) for every API route, including those of included routers."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append((context.path, route))
    return found


def test_every_route_declares_its_access(app):
    routes = api_routes(app)
    assert len(routes) > 10, "the walk found too few routes: has FastAPI changed how it keeps them?"
    undeclared = []
    for path, route in routes:
        if path in BUILT_IN:
            continue
        if not declared_access(route.dependant):
            undeclared.append(f"{sorted(route.methods)} {path}")
    assert not undeclared, "routes without allow(action), signed_in or public (bluelamp.web.auth): " + ", ".join(
        undeclared
    )


def test_the_check_finds_a_route_without_a_declaration(app):
    @app.get("/api/v1/forgotten")
    def forgotten():
        return {}

    route = next(r for path, r in api_routes(app) if path == "/api/v1/forgotten")
    assert declared_access(route.dependant) == []
