"""Moving a course "this and the following" across the 2027-03-14 DST change in a real
browser, on a tablet-sized screen: every later date keeps its local time."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from clinic.extensions import db
from clinic.services import courses
from clinic.types import utcnow
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, chicago

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

CHICAGO = ZoneInfo("America/Chicago")


def test_move_this_and_the_following_across_dst_on_a_tablet(
    browser, live_server, clinic, make_shift
):
    for role in ("nurse", "practitioner"):
        make_shift(
            clinic.site,
            role,
            starts_at=chicago(date(2027, 3, 1), 7),
            ends_at=chicago(date(2027, 3, 26), 19),
        )
    requests = courses.plan_requests(
        clinic.clerk, clinic.patient.id, None, chicago(date(2027, 3, 8), 9), {0, 3}, 4
    )
    visits = courses.book_course(clinic.clerk, requests, utcnow())
    course = courses.course_of(visits)
    assert course is not None
    course_id, second_id = course.id, visits[1].id

    context = browser.new_context(base_url=live_server, viewport={"width": 768, "height": 1024})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, clinic.clerk, PASSWORD)
        page.goto(f"/patients/{clinic.patient.id}")
        page.click(f'[data-courses] a[href="/courses/{course_id}"]')
        page.wait_for_selector("[data-progress]")
        assert "0 of 4" in page.inner_text("[data-progress]")
        row = page.locator(f'tr[data-visit="{second_id}"]')
        row.locator("summary").click()
        form = row.locator("form[data-move]")
        form.locator('input[name="date"]').fill("2027-03-12")
        form.locator('input[name="time"]').fill("10:00")
        form.locator('select[name="scope"]').select_option("following")
        form.locator('button[type="submit"]').click()
        page.wait_for_selector(".alert-success, .alert")
        whens = page.locator("[data-when]").all_inner_texts()
        assert whens == [
            "Mon 8 Mar 09:00",
            "Fri 12 Mar 10:00",
            "Tue 16 Mar 10:00",
            "Fri 19 Mar 10:00",
        ], whens
        # No horizontal scrolling on a tablet.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        context.close()
    db.session.rollback()
    moved = [v.infusion_start.astimezone(CHICAGO).hour for v in courses.course_visits(course)]
    assert moved == [9, 10, 10, 10]
    assert not errors
