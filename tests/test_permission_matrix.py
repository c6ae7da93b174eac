"""The permission matrix through the HTTP API, generated from the policy table and the
app's routes: every role against every route that demands an action, and every route
with a record id against a record of another force (which must answer exactly like a
missing one). A new route is exercised here without anyone writing a test for it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bluelamp.access.policy import PERMISSIONS, Action, Role
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.command import make_downgrade_request, make_incident, make_task
from tests.factories.records import make_event, make_link, make_location, make_object, make_person
from tests.factories.tracking import make_unit
from tests.test_records_crime import make_crime, make_victim
from tests.test_records_intelligence import make_report
from tests.test_records_merge import make_candidate, make_merge
from tests.test_records_mopi import make_review
from tests.test_route_access import api_routes, declared_access

PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


def guarded_routes(app) -> list[tuple[str, str, Action]]:
    """(method, path, action) for every route that demands an action."""
    found = []
    for path, route in api_routes(app):
        for marker in declared_access(route.dependant):
            if marker.startswith("allow:"):
                action = Action(marker.removeprefix("allow:"))
                for method in sorted(route.methods - {"HEAD"}):
                    found.append((method, path, action))
    return found


def call(client: TestClient, method: str, path: str, headers: dict, value: str = "no-such-id"):
    url = PARAM.sub(value, path)
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    # Reads of personal data ask for a reason; a program states it in a header. The matrix
    # states one, so that what it sees is the roles' answer, not the missing reason's.
    headers = {"X-Bluelamp-Reason": "permission matrix: checking what each role may reach", **headers}
    return client.request(method, url, headers=headers, json=body)


@pytest.fixture
def api(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def test_there_are_guarded_routes_to_exercise(app):
    assert guarded_routes(app), "no route demands an action: the matrix would test nothing"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.PLATFORM_ADMIN])
def test_each_role_reaches_exactly_the_routes_its_actions_allow(db, app, api, role):
    force_id = None if role is Role.PLATFORM_ADMIN else "staffordshire"
    organisation = None
    if role is Role.PARTNER_PRACTITIONER:
        organisation = partner_organisation(db)
    user = make_user(db, role.value, force_id=force_id, organisation_id=organisation, clearance="SECRET")
    headers = bearer(db, user)
    wrong = []
    for method, path, action in guarded_routes(app):
        response = call(api, method, path, headers)
        allowed = action in PERMISSIONS[role]
        if allowed and response.status_code in (401, 403):
            wrong.append(f"{role} should reach {method} {path} ({action}) but got {response.status_code}")
        if not allowed and (response.status_code != 403 or response.json().get("code") != "access.denied"):
            wrong.append(f"{role} must be refused {method} {path} ({action}) but got {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_platform_admins_reach_exactly_their_routes(db, app, api):
    ensure_force(db)
    user = make_user(db, "platform_admin", force_id=None)
    headers = bearer(db, user)
    for method, path, action in guarded_routes(app):
        response = call(api, method, path, headers)
        allowed = action in PERMISSIONS[Role.PLATFORM_ADMIN]
        assert (response.status_code == 403) is not allowed, (method, path, action, response.status_code)


def test_signed_out_callers_are_refused_everywhere_guarded(app, api):
    for method, path, _ in guarded_routes(app):
        response = call(api, method, path, {})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")


def partner_organisation(db) -> str:
    from bluelamp.access import service
    from bluelamp.access.model import Organisation
    from bluelamp.clock import Clock
    from tests.factories.access import SYSTEM

    ensure_force(db)
    with db.unit_of_work() as session:
        if session.get(Organisation, "stoke-council") is None:
            service.add_organisation(
                session,
                SYSTEM,
                service.AddOrganisation("stoke-council", "Stoke-on-Trent City Council", "council", "staffordshire"),
                Clock(),
            )
    return "stoke-council"


# ------------------------------------------------------------------ records of another force

# For each kind of record a route names by id: how to make one in a given force.
# Each capability adds its record kinds here as its routes appear.
RECORD_MAKERS = {
    "/api/v1/users/": lambda db, force: make_user(db, "dispatcher", force_id=force).id,
    "/api/v1/units/": lambda db, force: make_unit(db, force_id=force).id,
    "/api/v1/incidents/": lambda db, force: make_incident(db, force_id=force).id,
    "/api/v1/tasks/": lambda db, force: make_task(db, force),
    "/api/v1/downgrades/": lambda db, force: make_downgrade_request(db, force),
    "/api/v1/persons/": lambda db, force: make_person(db, force_id=force).id,
    "/api/v1/objects/": lambda db, force: make_object(db, force_id=force).id,
    "/api/v1/locations/": lambda db, force: make_location(db, force_id=force).id,
    "/api/v1/events/": lambda db, force: make_event(db, force_id=force).id,
    "/api/v1/links/": lambda db, force: (
        make_link(db, make_person(db, force_id=force), "resides_at", make_location(db, force_id=force)).id
    ),
    "/api/v1/crimes/": make_crime,
    "/api/v1/victims/": make_victim,
    "/api/v1/intelligence/": make_report,
    "/api/v1/reviews/": make_review,
    "/api/v1/merge-candidates/": make_candidate,
    "/api/v1/merges/": make_merge,
}


def record_routes(app) -> list[tuple[str, str, Action, str]]:
    routes = []
    for method, path, action in guarded_routes(app):
        for prefix in RECORD_MAKERS:
            if path.startswith(prefix) and PARAM.search(path[len(prefix) - 1 :]):
                routes.append((method, path, action, prefix))
    return routes


def test_records_of_another_force_answer_exactly_like_missing_ones(db, app, api):
    ensure_force(db, "west-yorkshire")
    routes = record_routes(app)
    if not routes:
        pytest.fail("no route names a record by id: RECORD_MAKERS covers nothing")
    for method, path, action, prefix in routes:
        role = next(r for r in Role if action in PERMISSIONS[r] and r is not Role.PLATFORM_ADMIN)
        viewer = make_user(db, role.value, force_id="staffordshire", clearance="SECRET")
        headers = bearer(db, viewer)
        other = RECORD_MAKERS[prefix](db, "west-yorkshire")
        hidden = call(api, method, path, headers, value=other)
        missing = call(api, method, path, headers, value="0" * len(other))
        assert hidden.status_code == missing.status_code, (method, path, hidden.status_code, missing.status_code)
        if method == "GET":
            assert hidden.status_code == 404, (method, path, hidden.status_code)
        hidden_body = hidden.json()
        missing_body = missing.json()
        for body, value in ((hidden_body, other), (missing_body, "0" * len(other))):
            body["detail"] = body["detail"].replace(value, "<id>")
            body["instance"] = body["instance"].replace(value, "<id>")
        assert hidden_body == missing_body, (method, path)
