"""The reports on PostgreSQL: the same hand-computed week (its SQL differs: extract(epoch),
greatest/least, percentile figures from the same columns)."""

from __future__ import annotations

import pytest

from clinic.extensions import db
from tests.api.test_reports import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_a_bay_visit_holds_the_chair_for_the_infusion_and_a_visit_in_care_counts_until_now,
    test_alerts_count_discharge_alerts_and_their_answer_times,
    test_attendance_names_the_no_show_and_the_late_cancellation,
    test_cycle_times_give_medians_p90_and_the_overrun,
    test_utilisation_counts_each_local_day_the_dst_sunday_has_25_hours,
    week,
)


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app


@pytest.mark.usefixtures("week")
def test_the_week_is_on_postgresql():
    assert db.session.get_bind().dialect.name == "postgresql"
