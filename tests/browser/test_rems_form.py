"""The printed REMS monitoring form fits one A4 and one Letter page."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from clinic.extensions import db

from tests.api.test_rems_form import session  # noqa: F401  (the REMS session fixture)
from tests.browser.conftest import sign_in
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
