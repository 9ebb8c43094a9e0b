"""The printed REMS monitoring form fits one A4 and one Letter page."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from clinic.extensions import db
from tests.api.test_rems_form import session  # noqa: F401  (the REMS session fixture)
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import Audit, axe_page  # noqa: F401
from tests.conftest import PASSWORD


def pages_of(pdf: bytes) -> int:
    """Count the pages of a PDF (its /Type /Page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_form_prints_on_one_page(page, clinic, session, screenshot, paper):  # noqa: F811
    nurse, visit_id = SimpleNamespace(email=clinic.nurse.email), session["visit"].id
    db.session.commit()  # the fixture's API calls leave no transaction holding the file
    db.session.close()
    sign_in(page, nurse, PASSWORD)
    page.goto(f"/visits/{visit_id}/rems-form")
    assert page.locator("[data-print]").is_visible()
    assert page.locator("tr.rems-missing").count() == 6
    screenshot(f"rems-form-{paper}")
    page.emulate_media(media="print")
    assert not page.locator("[data-print]").is_visible()
    assert not page.locator(".rems-answers").is_visible()
    assert pages_of(page.pdf(format=paper, print_background=True)) == 1


def test_a_nurse_answers_on_the_visit_page(page, clinic, session, screenshot):  # noqa: F811
    nurse, visit_id = SimpleNamespace(email=clinic.nurse.email), session["visit"].id
    db.session.commit()
    db.session.close()
    sign_in(page, nurse, PASSWORD)
    page.goto(f"/visits/{visit_id}")
    panel = page.locator("#rems-panel")
    assert "6 missing" in panel.inner_text()
    for name, answer in (
        ("benzodiazepines", "no"),
        ("non_benzodiazepine_sedative_hypnotics", "no"),
        ("psychostimulants", "yes"),
        ("maois", "no"),
    ):
        panel.locator(f"label[for={name}-{0 if answer == 'yes' else 1}]").click()
    panel.locator("input[name=ready_to_leave_minutes]").fill("95")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector("text=REMS form answers saved.")
    assert "1 missing" in page.locator("#rems-panel").inner_text()
    screenshot("rems-visit-panel")


def test_the_rems_pages_pass_axe(axe_page, clinic, session):  # noqa: F811
    nurse, visit_id = SimpleNamespace(email=clinic.nurse.email), session["visit"].id
    db.session.commit()
    db.session.close()
    audit = Audit(axe_page)
    audit.sign_in(nurse)
    audit.visit(f"/visits/{visit_id}/rems-form", ready=".rems-table")
    audit.visit(f"/visits/{visit_id}", ready="#rems-panel")
    audit.assert_clean()
