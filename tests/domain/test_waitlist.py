"""Recall and waitlist rules (clinic/domain/waitlist.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from clinic.domain.waitlist import (
    PartOfDay,
    PlanState,
    PlanTemplate,
    Recall,
    days_between,
    fits_part_of_day,
    plan_due_on,
    recalls,
    spravato_due_on,
)

TODAY = date(2026, 11, 27)
SEEN = datetime(2026, 10, 30, 9, tzinfo=UTC)


def plan(pid: int, due: date, future: bool = False) -> PlanState:
    return PlanState(pid, due, SEEN, future)


def test_due_within_the_days_is_listed_with_its_last_visit() -> None:
    assert recalls([plan(1, date(2026, 12, 11))], TODAY, 14) == [
        Recall(1, date(2026, 12, 11), SEEN)
    ]


def test_due_after_the_days_is_not_listed() -> None:
    assert recalls([plan(1, date(2026, 12, 12))], TODAY, 14) == []


def test_overdue_patients_are_listed_first() -> None:
    got = recalls([plan(2, date(2026, 12, 1)), plan(1, date(2026, 11, 20))], TODAY, 14)
    assert [r.patient_id for r in got] == [1, 2]


def test_a_future_active_visit_takes_the_patient_off_the_list() -> None:
    assert recalls([plan(1, date(2026, 11, 28), future=True)], TODAY, 14) == []


def test_zero_days_means_due_today_or_before() -> None:
    got = recalls([plan(1, TODAY), plan(2, date(2026, 11, 28))], TODAY, 0)
    assert [r.patient_id for r in got] == [1]


def test_never_seen_patient_has_no_last_visit() -> None:
    assert recalls([PlanState(3, TODAY, None, False)], TODAY, 1)[0].last_visit_at is None


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        recalls([], TODAY, -1)


@pytest.mark.parametrize(
    ("part", "at", "fits"),
    [
        (PartOfDay.ANY, time(7), True),
        (PartOfDay.MORNING, time(11, 59), True),
        (PartOfDay.MORNING, time(12), False),
        (PartOfDay.AFTERNOON, time(12), True),
        (PartOfDay.AFTERNOON, time(9), False),
    ],
)
def test_part_of_day(part: PartOfDay, at: time, fits: bool) -> None:
    assert fits_part_of_day(part, at) is fits


def test_days_between_includes_both_ends() -> None:
    assert days_between(TODAY, date(2026, 11, 29)) == [
        TODAY,
        date(2026, 11, 28),
        date(2026, 11, 29),
    ]


# --- The Spravato phase template: a Monday start, sessions as the label schedules them.
START = date(2026, 11, 2)  # a Monday
# Weeks 1-4 twice a week (Monday, Thursday), weeks 5-8 weekly (Monday).
INDUCTION = [START + timedelta(days=7 * week + d) for week in range(4) for d in (0, 3)]
WEEKLY = [START + timedelta(days=7 * week) for week in range(4, 8)]


def test_spravato_first_session_is_due_on_the_start() -> None:
    assert spravato_due_on(START, [], 14) == START


def test_spravato_induction_is_twice_a_week() -> None:
    # After Monday's session Thursday is due, after Thursday's the next Monday.
    assert spravato_due_on(START, INDUCTION[:1], 14) == date(2026, 11, 5)
    assert spravato_due_on(START, INDUCTION[:2], 14) == date(2026, 11, 9)
    assert spravato_due_on(START, INDUCTION[:7], 14) == INDUCTION[7]
    dues = [spravato_due_on(START, INDUCTION[:n], 14) for n in range(1, 8)]
    assert dues == INDUCTION[1:]


def test_spravato_weeks_five_to_eight_are_weekly() -> None:
    # The eighth session ends the induction: the ninth is due a week later (week 5).
    assert spravato_due_on(START, INDUCTION, 14) == INDUCTION[-1] + timedelta(days=7)
    done = INDUCTION + WEEKLY[:3]
    assert spravato_due_on(START, done, 14) == WEEKLY[3]


@pytest.mark.parametrize("every_days", [7, 14])
def test_spravato_maintenance_is_every_one_or_two_weeks(every_days: int) -> None:
    done = INDUCTION + WEEKLY
    assert spravato_due_on(START, done, every_days) == WEEKLY[-1] + timedelta(days=every_days)
    later = [*done, WEEKLY[-1] + timedelta(days=every_days)]
    assert spravato_due_on(START, later, every_days) == later[-1] + timedelta(days=every_days)


def test_spravato_counts_only_sessions_since_the_plan_started() -> None:
    earlier_course = [START - timedelta(days=200 - d) for d in range(0, 120, 7)]
    assert spravato_due_on(START, earlier_course, 14) == START
    assert spravato_due_on(START, earlier_course + INDUCTION[:1], 14) == date(2026, 11, 5)


def test_spravato_a_late_session_moves_the_next_due_date() -> None:
    # Thursday's session happened on Saturday: the next is due four days after it.
    late = [START, date(2026, 11, 7)]
    assert spravato_due_on(START, late, 14) == date(2026, 11, 11)


def test_plan_due_on_uses_the_template_or_the_date_as_set() -> None:
    due = date(2026, 12, 1)
    assert plan_due_on(PlanTemplate.NONE, due, 28, INDUCTION) == due
    assert plan_due_on(PlanTemplate.SPRAVATO, START, 14, INDUCTION[:1]) == date(2026, 11, 5)
