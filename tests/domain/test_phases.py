"""The dashboard's countdown, time in phase, and what a long infusion does to the next booking."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.domain.phases import (
    Countdown,
    clash_minutes,
    countdown_state,
    expected_chair_release,
    is_overdue,
    minutes_in_phase,
    phase_started_at,
    seconds_to,
)

DUE = datetime(2026, 12, 1, 17, 45, tzinfo=UTC)
S = timedelta(seconds=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (DUE - 10 * M - S, "ok"),
        (DUE - 10 * M, "amber"),
        (DUE - S, "amber"),
        (DUE, "due"),
        (DUE + 15 * M, "due"),
        (DUE + 15 * M + S, "overdue"),
    ],
)
def test_countdown_states_at_the_exact_seconds(now, state):
    assert countdown_state(now, DUE, overdue_after_minutes=15) == state


def test_countdown_without_a_due_time_and_with_a_site_amber():
    assert countdown_state(DUE, None, 15) is Countdown.NONE
    assert countdown_state(DUE - 5 * M - S, DUE, 15, amber_minutes=5) is Countdown.OK
    assert countdown_state(DUE - 5 * M, DUE, 15, amber_minutes=5) is Countdown.AMBER


def test_overdue_is_strictly_after_the_allowance():
    assert not is_overdue(DUE + 15 * M, DUE, 15)
    assert is_overdue(DUE + 15 * M + S, DUE, 15)
    assert not is_overdue(DUE + 15 * M, None, 15)
    assert is_overdue(DUE + S, DUE, 0)


def test_countdown_across_the_autumn_dst_change_counts_elapsed_time():
    chicago = ZoneInfo("America/Chicago")
    due = datetime(2026, 11, 1, 1, 50, tzinfo=chicago)  # 01:50 CDT, the first one
    now = datetime(2026, 11, 1, 1, 5, fold=1, tzinfo=chicago)  # 01:05 CST, 15 min later
    now_utc, due_utc = now.astimezone(UTC), due.astimezone(UTC)
    assert seconds_to(now_utc, due_utc) == -15 * 60
    assert countdown_state(now_utc, due_utc, 10) is Countdown.OVERDUE


@pytest.mark.parametrize(
    ("now", "seconds"),
    [(DUE - 90 * S, 90), (DUE - S / 2, 1), (DUE, 0), (DUE + S / 2, 0), (DUE + 61 * S, -61)],
)
def test_seconds_to_is_positive_exactly_while_not_yet_due(now, seconds):
    assert seconds_to(now, DUE) == seconds
    assert (seconds > 0) == (countdown_state(now, DUE, 15) in ("ok", "amber"))


def test_seconds_to_nothing_is_none():
    assert seconds_to(DUE, None) is None


CHECKED_IN = DUE - 200 * M
STARTED = DUE - 180 * M
ENDED = DUE - 120 * M


@pytest.mark.parametrize(
    ("status", "since"),
    [
        ("checked_in", CHECKED_IN),
        ("infusing", STARTED),
        ("recovering", ENDED),
        ("booked", None),
        ("discharged", None),
    ],
)
def test_phase_started_at(status, since):
    assert phase_started_at(status, CHECKED_IN, STARTED, ENDED) == since


def test_minutes_in_phase_are_whole_and_never_negative():
    assert minutes_in_phase(ENDED + 14 * M + 59 * S, ENDED) == 14
    assert minutes_in_phase(ENDED - M, ENDED) == 0
    assert minutes_in_phase(ENDED, None) is None


START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def release(started=START, ended=None, now=START, in_chair=True, extension=0, planned=None):
    """Return the expected chair release of a 45 + 120 minute visit with 15 min turnover."""
    return expected_chair_release(started, ended, 45, 120, extension, 15, now, in_chair, planned)


def test_an_infusion_on_time_releases_the_chair_at_the_planned_hold_end():
    assert release() == START + 180 * M
    assert release(now=START + 44 * M) == START + 180 * M


def test_a_long_infusion_pushes_the_release_by_its_overrun():
    assert release(now=START + 55 * M) == START + 190 * M
    assert release(ended=START + 58 * M, now=START + 60 * M) == START + 193 * M


def test_extensions_and_a_patient_still_there_after_due_hold_the_chair():
    ended = START + 45 * M
    assert release(ended=ended, now=START + 60 * M, extension=30) == START + 210 * M
    assert release(ended=ended, now=START + 200 * M) == START + 215 * M


def test_bay_mode_frees_the_chair_after_the_infusion():
    assert release(in_chair=False) == START + 60 * M
    assert release(in_chair=False, now=START + 50 * M) == START + 65 * M
    assert release(ended=START + 47 * M, now=START + 200 * M, in_chair=False) == START + 62 * M


def test_a_visit_not_started_starts_at_its_plan_or_now_whichever_is_later():
    assert release(started=None, now=START - 30 * M, planned=START) == START + 180 * M
    assert release(started=None, now=START + 10 * M, planned=START) == START + 190 * M
    assert release(started=None, now=START + 10 * M) == START + 190 * M


@pytest.mark.parametrize(
    ("release_at", "minutes"),
    [(-M, 0), (0 * M, 0), (S, 1), (10 * M, 10), (10 * M + S, 11)],
)
def test_clash_minutes_with_the_next_booking(release_at, minutes):
    next_start = START + 180 * M
    assert clash_minutes(next_start + release_at, next_start) == minutes


def test_no_next_booking_no_clash():
    assert clash_minutes(START, None) == 0
