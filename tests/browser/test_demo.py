"""`bluelamp demo` as a newcomer runs it: the demo seeds itself, serves, and starts the
simulator; a dispatcher signs in and, without touching anything, sees calls arrive in the
control room's queue and units move on the map. Saves the screenshot the README shows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "control-room.png"


@pytest.fixture
def demo(tmp_path):
    """`bluelamp demo` in a subprocess on a fresh SQLite file, simulating at ×60."""
    port = free_port()
    env = {**os.environ, "BLUELAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "BLUELAMP_PORT": str(port)}
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bluelamp", "demo", "--speed", "60"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bluelamp demo exited: {(tmp_path / 'demo.log').read_text()[-3000:]}")
        try:
            if httpx.get(url + "/livez", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass  # not listening yet: seeding takes a while
        time.sleep(0.5)
    else:
        pytest.fail("bluelamp demo did not answer within 5 minutes")
    yield url
    process.send_signal(2)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def marker_places(page) -> dict[str, tuple[float, float]]:
    """Where each unit's marker is drawn, by call sign (screen pixels)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="unit-marker"]')]
              .map(m => { const r = m.getBoundingClientRect(); return [m.dataset.callSign, [r.x, r.y]]; }))"""
    )


def test_make_demo_is_a_working_control_room_within_a_minute(demo, page):
    page.set_viewport_size({"width": 1400, "height": 860})
    page.goto(demo + "/sign-in?next=%2Fcontrol")
    page.get_by_label("Username").fill("dispatcher")
    page.get_by_label("Password").fill("bluelamp-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo + "/control")

    # Calls arrive and are graded without anyone at the screen.
    rows = page.get_by_test_id("queue").locator("tbody tr")
    expect(rows.first).to_be_visible(timeout=60_000)
    # Units report through the tracking ingest and move on the map.
    expect(page.locator('[data-testid="unit-marker"]').first).to_be_visible(timeout=60_000)
    before = marker_places(page)
    moved: list[str] = []
    deadline = time.monotonic() + 45
    while not moved and time.monotonic() < deadline:
        page.wait_for_timeout(3000)
        after = marker_places(page)
        moved = [
            call_sign
            for call_sign, (x, y) in after.items()
            if call_sign in before and abs(x - before[call_sign][0]) + abs(y - before[call_sign][1]) >= 1
        ]
    assert moved, "no unit marker moved in 45 s"
    assert len(before) >= 40, f"only {len(before)} units on the map"

    page.wait_for_timeout(4000)  # let a few more calls arrive for the picture
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
