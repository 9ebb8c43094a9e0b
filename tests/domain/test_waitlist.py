"""Recall and waitlist rules (clinic/domain/waitlist.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from clinic.domain.waitlist import (
    PartOfDay,
    PlanState,
    Recall,
    days_between,
    fits_part_of_day,
    recalls,
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
