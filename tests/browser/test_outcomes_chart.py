"""Outcomes in a real browser: the patient's PHQ-9 chart renders at full width with its marks
and its table, the recovery card shows the course, and the site's page lists it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.test_walkthrough import card, person, shot  # noqa: F401  (person: a fixture)
from tests.conftest import NOW
from tests.services.visit_rows import put_visit
from tests.web.test_outcomes import WEEK, score

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def test_the_practitioner_reads_the_course_on_the_chart(person, clinic, frozen):  # noqa: F811
    ada = clinic.new_patient(given_name="Ada", family_name="Byrne")
    visit = put_visit(clinic.site, clinic.chairs[0], ada, "recovering", NOW - timedelta(hours=1))
    for weeks_ago, total in ((5, 23), (4, 19), (3, 15), (2, 13), (1, 9), (0, 4)):
        score(visit, total, at=NOW - weeks_ago * WEEK)
    for weeks_ago, total in ((5, 16), (3, 12), (0, 7)):
        score(visit, total, at=NOW - weeks_ago * WEEK, instrument="gad7")

    with person(clinic.practitioner) as doctor:
        doctor.goto(f"/patients/{ada.id}")
        chart = doctor.locator("#outcome-chart-phq9")
        chart.wait_for()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 120
        assert doctor.locator("#outcome-chart-phq9 .outcome-point").count() == 6
        assert doctor.locator("#outcome-chart-phq9 .is-remission").count() == 1
        assert doctor.locator("#outcome-chart-phq9 .is-response").count() == 1
        summary = doctor.locator('[data-outcome="phq9"] [data-summary]').inner_text()
        assert "83 % below the baseline of 23: remission." in summary
        assert doctor.locator('[data-outcome="phq9"] [data-change]').inner_text() == "\u221283 %"
        doctor.locator("#outcomes").scroll_into_view_if_needed()
        shot(doctor, "outcomes-01-patient-chart")
        doctor.locator('[data-outcome="phq9"] details summary').click()
        assert doctor.locator('[data-outcome="phq9"] details tbody tr').count() == 6

        doctor.goto("/recovery")
        doctor.wait_for_selector("#recovery.is-live")
        assert "PHQ-9 4 (baseline 23, \u221283 %)" in card(doctor, visit.id).inner_text()
        shot(doctor, "outcomes-02-card")

        doctor.goto("/outcomes")
        doctor.locator(f'tr[data-patient-id="{ada.id}"]').wait_for()
        assert doctor.locator('[data-count="remitters"]').inner_text() == "1"
        shot(doctor, "outcomes-03-site")
        doctor.click(f'tr[data-patient-id="{ada.id}"] a')
        doctor.locator("#outcome-chart-phq9").wait_for()
