"""When a visit may be checked in, started, called a no-show, or have its no-show undone."""

from datetime import UTC, date

import pytest

from clinic.domain.visits import EventType, VisitWindow, rebooking_allows_past, window_refusal

from .factories import CHICAGO, local

E = EventType
# Planned Tuesday 13:00-13:45 infusion, observation until 15:45.
WINDOW = VisitWindow(
    infusion_start=local("13:00"),
    observation_end=local("15:45"),
    check_in_open_minutes=120,
    no_show_after_minutes=15,
    timezone=CHICAGO,
)


@pytest.mark.parametrize("event", [E.CHECK_IN, E.START_INFUSION])
@pytest.mark.parametrize(
    ("at", "refused"),
    [
        ("2026-03-06 13:00", True),  # the Friday before: the bug of issue 8
        ("10:59", True),
        ("11:00", False),  # check-in opens 120 minutes before the start
        ("13:00", False),
        ("15:44", False),
        ("15:45", True),  # the planned observation end closes the window
        ("2026-03-11 09:00", True),
    ],
)
def test_check_in_and_start_only_inside_the_visit_window(event, at, refused):
    refusal = window_refusal(event, local(at), WINDOW)
    if refused:
        assert refusal is not None and refusal.rule == "not_today"
        assert "Tue 10 Mar" in refusal.message and "11:00" in refusal.message
    else:
        assert refusal is None


def test_the_window_follows_the_site_setting():
    wide = VisitWindow(local("13:00"), local("15:45"), 240, 15, CHICAGO)
    assert window_refusal(E.CHECK_IN, local("09:00"), wide) is None
    assert window_refusal(E.CHECK_IN, local("08:59"), wide).rule == "not_today"


@pytest.mark.parametrize(
    ("at", "refused"),
    [("11:21", True), ("13:00", True), ("13:14", True), ("13:15", False), ("17:00", False)],
)
def test_no_show_only_after_the_start_and_the_grace_minutes(at, refused):
    refusal = window_refusal(E.NO_SHOW, local(at), WINDOW)
    if refused:
        assert refusal.rule == "too_early"
        assert "13:15" in refusal.message
    else:
        assert refusal is None


def test_undoing_a_no_show_only_on_the_visit_day_in_local_time():
    assert window_refusal(E.UNDO_NO_SHOW, local("23:59"), WINDOW) is None
    next_day = local("2026-03-11 00:00")
    assert window_refusal(E.UNDO_NO_SHOW, next_day, WINDOW).rule == "not_today"
    # 23:30 in Chicago is already Wednesday in UTC: the local day decides.
    assert local("23:30").astimezone(UTC).date() == date(2026, 3, 11)
    assert window_refusal(E.UNDO_NO_SHOW, local("23:30"), WINDOW) is None


@pytest.mark.parametrize("event", [E.END_INFUSION, E.CANCEL, E.REINSTATE, E.UNDO_CHECK_IN])
def test_other_events_have_no_window(event):
    assert window_refusal(event, local("2026-03-01 09:00"), WINDOW) is None


def test_only_an_undone_no_show_may_go_back_after_its_start():
    assert rebooking_allows_past(E.UNDO_NO_SHOW)
    assert not rebooking_allows_past(E.REINSTATE)
