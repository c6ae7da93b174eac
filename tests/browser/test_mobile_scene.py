"""A crime recorded at the scene on a phone (360 x 640, touch): the offence picked from a
search, a new victim, the address, a photo (a text file named .jpg refused next to the
field, the rest kept), a witness statement signed with the mouse as a finger; recorded,
and the photo sent once the crime exists."""

from __future__ import annotations

import io
import secrets
import string

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from bluelamp.mobile.model import ScenePhoto, SceneStatement
from bluelamp.records.model import Event
from tests.browser.test_records_search import sign_in

pytestmark = pytest.mark.browser


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (40, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def test_a_crime_with_a_photo_and_a_signed_statement_is_recorded_from_the_phone(browser, live_server):
    family = "Scene" + "".join(
        secrets.choice(string.ascii_lowercase) for _ in range(6)
    )  # letters: names keep no digits
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    try:
        sign_in(live_server, context, "response_officer")
        page.goto(live_server.url + "/m/crime")
        page.get_by_label("Find the offence").fill("shoplift")
        page.get_by_role("button", name="46 Shoplifting").tap()
        victim = page.get_by_test_id("person-victim")
        victim.get_by_label("Given names").fill("Priya")
        victim.get_by_label("Family name").fill(family)
        page.get_by_label("Address").fill("Spar, 14 Parliament Row")
        page.get_by_label("Town").fill("Hanley")

        page.locator("[data-photo-input]").set_input_files(
            [
                {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all"},
                {"name": "shelf.jpg", "mimeType": "image/jpeg", "buffer": jpeg()},
            ]
        )
        expect(page.locator('[data-error-for="photo"]')).to_contain_text("notes.jpg is not a photo")
        expect(page.get_by_test_id("scene-photos").locator("li")).to_have_count(1)
        expect(victim.get_by_label("Family name")).to_have_value(family)  # the rest of the form is kept

        page.get_by_test_id("scene-take-statement").check()
        witness = page.get_by_test_id("person-statement-witness")
        witness.get_by_label("Given names").fill("Tom")
        witness.get_by_label("Family name").fill(family + "son")
        page.locator("#f-statement-text").fill("I saw a man put two bottles under his hoodie and run out.")
        pad = page.get_by_test_id("scene-signature")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
        page.mouse.down()
        for step in range(1, 25):
            page.mouse.move(box["x"] + 30 + step * 10, box["y"] + box["height"] * (0.7 - (step % 5) * 0.1))
        page.mouse.up()

        page.get_by_test_id("scene-submit").tap()
        expect(page.get_by_test_id("scene-done")).to_be_visible()
        reference = page.get_by_test_id("scene-reference").inner_text()
        expect(page.get_by_test_id("scene-photos").locator("li")).to_have_attribute("data-state", "sent")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than the phone"
        assert failures == []

        with live_server.database.read() as session:
            event = session.scalars(select(Event).where(Event.reference == reference)).one()
            assert len(session.scalars(select(ScenePhoto).where(ScenePhoto.event_id == event.id)).all()) == 1
            statement = session.scalars(select(SceneStatement).where(SceneStatement.event_id == event.id)).one()
            assert statement.text.startswith("I saw a man")
    finally:
        context.close()
