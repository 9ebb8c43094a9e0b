"""Alerts in a real browser: the recovery board covers itself within seconds of the session's
end and keeps sounding; a resolved alert's banner goes without a click; the wall display
shows and sounds alerts with chair and initials only."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.extensions import db
from clinic.services import display_links, notifications, sessions
from clinic.services.events import record_event
from clinic.types import utcnow
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import MONDAY, PASSWORD, chicago
from tests.services.visit_rows import put_visit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# How Chromium reports the answers this file expects: the feeds' 401 once signed out, and
# a revoked display link's 404.
EXPECTED = re.compile(r"^Failed to load resource: the server responded with a status of 40[14]")
# Count every sound the page starts (headless Chromium has no speakers to listen to).
COUNT_PLAYS = """
(() => {
  window.__plays = [];
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    window.__plays.push(this.src);
    return play.call(this);
  };
})();
"""


@pytest.fixture
def alert_page(browser, live_server):
    """A page that counts the sounds it plays; console errors fail the test, but a 401."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900})
    context.add_init_script(COUNT_PLAYS)
    page = context.new_page()
    errors: list[str] = []

    def console(msg) -> None:
        if msg.type == "error" and not EXPECTED.match(msg.text):
            errors.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def ward(clinic, make_patient, frozen):
    """Monday 10:30 in Austin: Avery Quinn in Chair 2 is due, the alarm fired; Blake Morgan
    recovers in Chair 1 with half an hour to go."""
    frozen.move_to(chicago(MONDAY, 10, 30))
    site = clinic.site
    avery = make_patient(site, given_name="Avery", family_name="Quinn")
    blake = make_patient(site, given_name="Blake", family_name="Morgan")
    due = put_visit(site, clinic.chairs[1], avery, "recovering", chicago(MONDAY, 8), 45, 60)
    put_visit(site, clinic.chairs[0], blake, "recovering", chicago(MONDAY, 9), 45, 75)
    [clinic.alert_id] = notifications.fire([due.id], DISCHARGE_DUE, now=utcnow())
    clinic.due = due
    return clinic


def write_lock() -> None:
    """Take SQLite's write lock up front: the live server's threads write meanwhile."""
    db.session.commit()
    db.session.connection(execution_options={"sqlite_immediate": True})


def shot(page, name: str) -> None:
    """Save what the screen shows under test-artifacts/ (the viewport: the cover is fixed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def plays(page) -> int:
    """Count the alert sounds the page has started."""
    return page.evaluate("() => window.__plays.filter(s => s.endsWith('/alert.wav')).length")


def open_board(page, user) -> None:
    """Sign in, open the recovery board, turn the sound on (a click, as a nurse does)."""
    page.clock.install()
    sign_in(page, user, PASSWORD)
    page.goto("/recovery")
    page.wait_for_selector("#recovery.is-live")
    page.wait_for_selector("#alerts .alerts-item")
    page.click("[data-alerts-enable]")


def end_by_revoking(user, frozen) -> None:
    """An administrator signs the user out everywhere (or the password was reset)."""
    write_lock()
    sessions.end_all(user.id, utcnow(), "revoked")
    db.session.commit()


def end_by_idle_clock(user, frozen) -> None:
    """Sixteen minutes pass without the user's activity (the site's timeout is 15)."""
    frozen.shift(timedelta(minutes=16))


@pytest.mark.slow
@pytest.mark.parametrize("expire", [end_by_idle_clock, end_by_revoking], ids=["idle", "revoked"])
def test_the_board_is_covered_within_seconds_of_the_sessions_end_and_keeps_sounding(
    alert_page, ward, frozen, expire
):
    page = alert_page
    open_board(page, ward.nurse)
    path = page.evaluate("location.pathname + location.search")
    before = plays(page)

    expire(ward.nurse, frozen)
    started = time.monotonic()
    page.wait_for_selector("#signed-out:not([hidden])", timeout=5000)
    assert time.monotonic() - started < 5

    overlay = page.locator("#signed-out")
    assert "Signed out: alerts have stopped" in overlay.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-signed-out-sign-in')")
    # Nothing behind it looks live or takes a click.
    assert page.locator("#recovery.is-live").count() == 0
    assert page.locator("[data-live-text]").inner_text() == "Signed out"
    assert page.evaluate("document.querySelector('main').inert") is True
    clock = page.locator("[data-clock]").inner_text()
    values = page.locator("[data-countdown-value]").all_inner_texts()
    assert clock == "--:--" and set(values) == {"\u2013"}
    # The cue sounded, and sounds again every 30 seconds.
    page.wait_for_function("() => Number(document.getElementById('signed-out').dataset.cues) === 1")
    assert plays(page) == before + 1
    shot(page, "recovery-signed-out")
    page.clock.fast_forward(31_000)
    page.wait_for_function("() => Number(document.getElementById('signed-out').dataset.cues) === 2")
    assert plays(page) == before + 2
    assert page.locator("[data-clock]").inner_text() == "--:--"  # still not ticking

    # The sign-in returns to the same board, live again.
    page.click("[data-signed-out-sign-in]")
    page.fill("input[name=email]", ward.nurse.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_selector("#recovery.is-live")
    assert page.evaluate("location.pathname + location.search") == path
    assert page.locator("#signed-out").is_hidden()


def test_a_banner_leaves_by_itself_after_an_extension_made_elsewhere(alert_page, ward):
    page = alert_page
    open_board(page, ward.nurse)
    banner = page.locator(f'#alerts .alerts-item[data-alert-id="{ward.alert_id}"]')
    assert "Chair 2" in banner.inner_text() and "AQ" in banner.inner_text()

    write_lock()
    record_event(
        ward.practitioner, ward.due.id, "extend_observation", utcnow(), minutes=30, reason="Pale"
    )
    started = time.monotonic()
    banner.wait_for(state="detached", timeout=8000)  # the alerts poll every 5 seconds
    assert time.monotonic() - started < 8
    assert page.locator("#alerts .alerts-item").count() == 0


def test_the_wall_display_shows_and_sounds_alerts_with_chair_and_initials_only(alert_page, ward):
    page = alert_page
    link, token = display_links.create(ward.admin, ward.site.id, "Recovery wall", utcnow())
    page.goto(f"/display/{token}")
    page.wait_for_selector("#recovery.is-live")
    banner = page.locator("#alerts .alerts-item")
    banner.first.wait_for()
    assert re.sub(r"\s+", " ", banner.first.inner_text()).strip() == (
        f"Discharge due Chair 2 AQ due {page.locator('#alerts time').first.inner_text()}"
    )
    assert page.locator("[data-alerts-ack]").count() == 0
    page.click("[data-alerts-enable]")  # the one click a wall screen needs, for sound
    before = plays(page)

    write_lock()
    notifications.fire([ward.due.id], DISCHARGE_OVERDUE, now=utcnow() + timedelta(minutes=1))
    page.wait_for_selector("#alerts .alerts-item.alerts-overdue", timeout=5000)
    page.wait_for_function(
        f"() => window.__plays.filter(src => src.endsWith('/alert.wav')).length > {before}"
    )
    text = page.inner_text("body")
    assert "Quinn" not in text and "Avery" not in text and "Morgan" not in text
    assert "Discharge overdue" in text
    shot(page, "wall-display-alerts")

    # An extension made elsewhere takes both off the wall.
    write_lock()
    record_event(
        ward.practitioner, ward.due.id, "extend_observation", utcnow(), minutes=30, reason="Pale"
    )
    page.wait_for_function("() => document.querySelectorAll('#alerts .alerts-item').length === 0")

    # The link revoked: the wall covers itself rather than show a stale board.
    write_lock()
    display_links.revoke(ward.admin, link.id, utcnow())
    page.wait_for_selector("#signed-out:not([hidden])", timeout=5000)
    assert "Display link revoked: alerts have stopped" in page.inner_text("#signed-out")
    assert page.locator("[data-signed-out-sign-in]").count() == 0
