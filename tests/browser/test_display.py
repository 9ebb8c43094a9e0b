"""The wall display in a real browser: the link's page claims the display by itself, the
wall then runs at /display/ with no token in its address, and keeps updating."""

from __future__ import annotations

import pytest

from clinic.services import display_links, events
from clinic.types import utcnow
from tests.conftest import MONDAY, NOW, chicago

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_opening_the_link_claims_the_display_and_drops_the_token(
    page, clinic, make_visit, screenshot
):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    events.record_event(clinic.nurse, visit.id, "check_in", now=utcnow())
    _link, token = display_links.create(clinic.admin, clinic.site.id, "Recovery wall", NOW)

    page.goto(f"/display/{token}")
    page.wait_for_url("**/display/")
    assert token not in page.url
    page.get_by_text(clinic.patient.initials).first.wait_for()
    screenshot("wall-display-claimed")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "display"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != token
    page.reload()
    assert page.url.endswith("/display/")
    page.get_by_text(clinic.patient.initials).first.wait_for()


def test_without_scripts_the_link_page_offers_a_button(browser, live_server, clinic):
    from tests.browser.conftest import ARTIFACTS

    _link, token = display_links.create(clinic.admin, clinic.site.id, "Recovery wall", NOW)
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/display/{token}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wall-display-link-page.png"), full_page=True)
    page.get_by_role("button", name="Start the wall display").click()
    page.wait_for_url("**/display/")
    context.close()
