"""The navigation bar: one row on a desktop, nothing pushed off the screen; a menu below."""

from __future__ import annotations

import pytest

from clinic.extensions import db
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

# Everything in the bar's row that must stay on the screen.
OFF_SCREEN = """() => [...document.querySelectorAll('nav.app-navbar a, nav.app-navbar button')]
    .filter(el => el.offsetParent !== null)
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(el => el.textContent.trim())"""


@pytest.mark.parametrize("width", [1200, 1280, 1440, 1920])
def test_a_practitioners_links_fit_one_row(page, clinic, width):
    clinic.practitioner.name = "Dr. Maximiliana Featherstonehaugh-Smythe"  # a long name
    db.session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, clinic.practitioner, PASSWORD)
    page.goto("/patients")
    nav = page.locator("nav.app-navbar")
    assert nav.locator("a:has-text('Reports')").is_visible()  # the practitioner's last link
    assert page.evaluate(OFF_SCREEN) == []
    assert nav.bounding_box()["height"] < 70  # one row
    person = nav.locator(".nav-person")
    assert person.get_attribute("title") == "Practitioner"


def test_below_a_desktop_the_links_fold_into_a_menu(page, clinic):
    page.set_viewport_size({"width": 1024, "height": 900})
    sign_in(page, clinic.practitioner, PASSWORD)
    page.goto("/patients")
    reports = page.locator("nav.app-navbar a:has-text('Reports')")
    assert not reports.is_visible()
    page.get_by_role("button", name="Menu").click()
    reports.wait_for(state="visible")
    assert page.evaluate(OFF_SCREEN) == []
