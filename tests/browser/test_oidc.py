"""OpenID Connect sign-in in a real browser: Bluelamp's sign-in page, the provider's own
sign-in form (tests/oidc_provider.py, on loopback) and back, signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bluelamp.access.model import User
from bluelamp.settings import Settings
from bluelamp.storage import Database, migrate
from tests.conftest import LiveServer, free_port
from tests.factories.access import make_user
from tests.oidc_provider import Provider, running_provider

pytestmark = pytest.mark.browser

FORCE = "staffordshire"
LABEL = "Sign in with Staffordshire Police account"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def oidc_server(database_factory, provider) -> Iterator[LiveServer]:
    """A live Bluelamp configured for the provider, with one pre-provisioned dispatcher."""
    url = database_factory.new_url("oidc")
    database = Database.from_url(url)
    migrate.upgrade(database)
    user = make_user(database, "dispatcher", force_id=FORCE, username="alex.reid")
    with database.unit_of_work() as session:
        session.get(User, user.id).email = "alex.reid@staffordshire.example"
    settings = Settings(
        database_url=url,
        port=free_port(),
        oidc_issuer=provider.url,
        oidc_client_id="bluelamp-staffordshire",
        oidc_client_secret=SecretStr("client-secret-for-tests"),
        oidc_force_id=FORCE,
        oidc_button_label=LABEL,
    )
    server = LiveServer(settings, database)
    server.start()
    yield server
    server.stop()
    database.dispose()


def test_a_person_signs_in_with_their_force_account(page, oidc_server, provider):
    provider.add_user("alex-guid-0001", email="alex.reid@staffordshire.example", email_verified=True)

    page.goto(oidc_server.url + "/sign-in?next=/account")
    page.get_by_role("link", name=LABEL).click()
    page.wait_for_url(provider.url + "/oauth2/authorize*")
    page.get_by_placeholder("sub").fill("alex-guid-0001")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(oidc_server.url + "/account")
    assert page.get_by_test_id("display-name").inner_text() == "Alex.Reid"
    assert page.get_by_test_id("user-name").inner_text() == "Alex.Reid"
    page.console_log.messages.clear()  # the provider's own page loads assets from the internet
    page.reload()
    assert page.get_by_test_id("user-name").inner_text() == "Alex.Reid"
    assert page.console_log.errors == []


def test_a_person_without_an_account_reads_why_they_cannot_sign_in(page, oidc_server, provider):
    provider.add_user("visitor-0002", email="visitor@example.org", email_verified=True)

    page.goto(oidc_server.url + "/sign-in")
    page.get_by_role("link", name=LABEL).click()
    page.get_by_placeholder("sub").fill("visitor-0002")
    page.get_by_role("button", name="Authorize").click()

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Sign-in did not complete" in alert.inner_text()
    assert "no Bluelamp account of this force matches visitor@example.org" in alert.inner_text()
    assert page.get_by_test_id("user-name").count() == 0, "nobody is signed in"
