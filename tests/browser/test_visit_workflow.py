"""In the browser: the recovery board dates a visit from another day; the undo form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, chicago
from tests.services.visit_rows import put_visit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_live_board_shows_the_date_of_a_visit_planned_for_another_day(
    page, screenshot, clinic, make_patient
):
    site = clinic.site
    yesterday = put_visit(
        site,
        clinic.chairs[0],
        make_patient(site, given_name="Avery", family_name="Quinn"),
        "checked_in",
        chicago(MONDAY - timedelta(days=1), 16),
    )
    today = put_visit(
        site,
        clinic.chairs[1],
        make_patient(site, given_name="Blake", family_name="Morgan"),
        "checked_in",
        chicago(MONDAY, 7, 5),
    )
    sign_in(page, clinic.nurse, PASSWORD)
    page.goto(f"/recovery?site_id={site.id}")
    page.wait_for_selector("[data-live-text]:has-text('Live')")
    old = page.locator(f"article[data-visit-id='{yesterday.id}']")
    assert old.locator(".rc-day").inner_text() == "planned Sun 29 Nov"
    assert "start planned Sun 29 Nov 16:00" in old.inner_text()
    fresh = page.locator(f"article[data-visit-id='{today.id}']")
    assert fresh.locator(".rc-day").count() == 0
    assert "start planned 07:05" in fresh.inner_text()
    screenshot("recovery-visit-from-another-day")


def test_the_visit_page_offers_the_undo_with_a_reason(page, screenshot, clinic, make_visit, frozen):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 8))
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/visits/{visit.id}")
    page.click("button:has-text('Check in')")
    page.wait_for_selector("#undo-form")
    page.click("#undo-form button[type=submit]")
    page.wait_for_selector("#undo-form .invalid-feedback, #undo-form .is-invalid")
    page.fill("#undo-form textarea", "Checked in the wrong patient")
    page.click("#undo-form button[type=submit]")
    page.wait_for_selector("text=Check-in undone: the visit is booked again.")
    assert page.locator(".timeline").inner_text().count("Check-in undone") == 1
    screenshot("visit-undo-check-in")
