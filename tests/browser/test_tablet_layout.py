"""The course page (with a date's move form open) and the recall list on a tablet (768 x 1024,
portrait): nothing is wider than the screen, no table scrolls sideways, and the controls stay
big enough to touch. Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.services import courses, waitlist
from clinic.types import utcnow
from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, NOW, PASSWORD, chicago

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TABLET = {"width": 768, "height": 1024}
# Every element's right edge inside the viewport, and no scroll box wider than itself.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) wide.push(el.tagName + '.' + el.className);
    const style = getComputedStyle(el);
    if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      wide.push('scrolls: ' + el.tagName + '.' + el.className);
  }
  if (document.documentElement.scrollWidth > width + 1) wide.push('document');
  return wide;
}"""
SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.getBoundingClientRect().height < 30)
  .map(el => el.outerHTML.slice(0, 80))"""


def test_course_page_and_recalls_fit_a_tablet(page, screenshot, clinic, make_visit, frozen):
    patient = clinic.patient
    patient.given_name, patient.family_name = "Maximiliana", "Vandenberghe-Oyelaran"
    db.session.commit()
    requests = courses.plan_requests(clinic.clerk, patient.id, None, chicago(MONDAY, 9), {0, 3}, 4)
    visits = courses.book_course(clinic.clerk, requests, utcnow())
    course = courses.course_of(visits)
    assert course is not None
    # Three patients due back, two of them seen before (their last chair and time shown).
    for offset, chair in ((2, 1), (5, 2), (9, None)):
        other = clinic.new_patient()
        if chair is not None:
            seen = make_visit(
                clinic.clerk, other, chicago(MONDAY, 10), chair_id=clinic.chairs[chair].id
            )
            seen.status = "discharged"
        waitlist.set_plan(clinic.clerk, other.id, 28, MONDAY + timedelta(days=offset), NOW)
    db.session.commit()
    frozen.move_to(chicago(MONDAY, 18))

    page.set_viewport_size(TABLET)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/courses/{course.id}")
    row = page.locator(f'tr[data-visit="{visits[1].id}"]')
    row.locator("summary").click()
    weekdays = row.locator("form[data-move] [data-weekdays]")
    weekdays.wait_for()
    for name in ("Tue", "Fri"):  # the pattern's days are buttons to tap
        weekdays.get_by_text(name, exact=True).click()
    ticked = weekdays.locator("input:checked")
    assert [ticked.nth(i).get_attribute("value") for i in range(ticked.count())] == ["1", "4"]
    screenshot("tablet-course")
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate(SMALL_TARGETS, "tr[data-visit] summary, form[data-move] .btn") == []

    page.goto(f"/recalls?site_id={clinic.site.id}")
    assert page.locator("#recalls [data-patient]").count() == 3
    screenshot("tablet-recalls")
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate(SMALL_TARGETS, "#recalls a.btn") == []
