"""Patient messages (pure): wall-clock reminders, quiet hours, replies, the words never sent."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.domain.messages import (
    MessageChannel,
    ReminderPlan,
    Reply,
    arrival_at,
    cant_come_cancels,
    clinical_words,
    in_quiet_hours,
    offsets_errors,
    pickup_at,
    reminder_at,
    reply_meaning,
    wall_clock_before,
)

CHICAGO = ZoneInfo("America/Chicago")


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CHICAGO)


def test_the_24_hour_reminder_of_a_9am_visit_on_2_nov_goes_at_9am_cst_on_1_nov():
    # DST ended at 02:00 on 1 Nov 2026: both instants are CST.
    at = wall_clock_before(local(2026, 11, 2, 9), 24 * 60, CHICAGO)
    assert at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
    assert at.astimezone(CHICAGO).strftime("%H:%M %Z") == "09:00 CST"


def test_a_reminder_across_the_change_holds_the_local_time_not_the_real_hours():
    start = local(2026, 11, 2, 9)
    at = wall_clock_before(start, 72 * 60, CHICAGO)
    assert at.astimezone(CHICAGO).strftime("%a %H:%M %Z") == "Fri 09:00 CDT"
    assert start - at == timedelta(hours=73)
    # Spring forward (02:00 on Sun 8 Mar 2026): 48 h before 09:00 CDT on Mon 9 Mar is
    # 09:00 CST on Sat 7 Mar, 47 real hours.
    spring = local(2026, 3, 9, 9)
    assert spring - wall_clock_before(spring, 48 * 60, CHICAGO) == timedelta(hours=47)


def test_a_wall_clock_time_that_does_not_exist_moves_forward():
    # 02:30 on 8 Mar 2026 does not exist in Chicago; 24 h before 02:30 on 9 Mar reads as 03:30.
    at = wall_clock_before(local(2026, 3, 9, 2, 30), 24 * 60, CHICAGO)
    assert at.astimezone(CHICAGO).strftime("%H:%M") == "03:30"


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_span_midnight_and_are_half_open(clock, quiet):
    at = datetime.combine(datetime(2026, 12, 1).date(), clock, tzinfo=CHICAGO)
    assert in_quiet_hours(at, time(21, 0), time(8, 0), CHICAGO) is quiet


def test_quiet_hours_within_one_day_and_none():
    noon = local(2026, 12, 1, 12)
    assert in_quiet_hours(noon, time(12, 0), time(13, 0), CHICAGO)
    assert not in_quiet_hours(noon, time(13, 0), time(14, 0), CHICAGO)
    assert not in_quiet_hours(noon, None, None, CHICAGO)
    assert not in_quiet_hours(noon, time(12, 0), time(12, 0), CHICAGO)


def test_a_reminder_in_quiet_hours_waits_for_their_end():
    plan = ReminderPlan()
    booked = local(2026, 11, 20, 9)
    # A 07:00 visit: its 24 h reminder would go at 07:00, inside 21:00-08:00: it goes at 08:00.
    at = reminder_at(local(2026, 12, 2, 7), 24 * 60, plan, CHICAGO, booked)
    assert at == local(2026, 12, 1, 8)
    # A 22:00 visit's 24 h reminder waits until 08:00 the day of the visit: still before it.
    at = reminder_at(local(2026, 12, 2, 22), 24 * 60, plan, CHICAGO, booked)
    assert at == local(2026, 12, 2, 8)


def test_a_reminder_whose_quiet_hours_last_until_the_visit_is_skipped():
    plan = ReminderPlan(offsets_minutes=(60,), quiet_start=time(21, 0), quiet_end=time(8, 0))
    booked = local(2026, 11, 20, 9)
    assert reminder_at(local(2026, 12, 2, 7, 30), 60, plan, CHICAGO, booked) is None


def test_a_reminder_whose_time_passed_before_booking_is_skipped_not_late():
    plan = ReminderPlan()
    start = local(2026, 12, 2, 10)
    booked = start - timedelta(hours=30)
    assert reminder_at(start, 72 * 60, plan, CHICAGO, booked) is None
    assert reminder_at(start, 24 * 60, plan, CHICAGO, booked) == local(2026, 12, 1, 10)


def test_offsets_and_channels_pair_up_or_multiply():
    assert ReminderPlan().pairs() == [(4320, MessageChannel.EMAIL), (1440, MessageChannel.SMS)]
    one = ReminderPlan(offsets_minutes=(1440, 120), channels=(MessageChannel.SMS,))
    assert one.pairs() == [(1440, MessageChannel.SMS), (120, MessageChannel.SMS)]
    both = ReminderPlan(offsets_minutes=(1440,), channels=tuple(MessageChannel))
    assert both.pairs() == [(1440, MessageChannel.EMAIL), (1440, MessageChannel.SMS)]


def test_arrival_and_pickup_are_fifteen_minutes_before():
    start = local(2026, 12, 2, 10)
    assert arrival_at(start) == local(2026, 12, 2, 9, 45)
    assert pickup_at(local(2026, 12, 2, 11, 55)) == local(2026, 12, 2, 11, 40)


@pytest.mark.parametrize(
    ("body", "meaning"),
    [
        ("C", Reply.CONFIRM),
        ("yes", Reply.CONFIRM),
        (" Yes! see you", Reply.CONFIRM),
        ("X", Reply.CANT_COME),
        ("no.", Reply.CANT_COME),
        ("STOP", Reply.STOP),
        ("unsubscribe", Reply.STOP),
        ("maybe", None),
        ("", None),
        ("123", None),
    ],
)
def test_sms_replies(body, meaning):
    assert reply_meaning(body) is meaning


def test_cant_come_cancels_only_outside_the_window():
    start = local(2026, 12, 2, 10)
    assert cant_come_cancels(start - timedelta(hours=24, minutes=1), start, 24)
    assert not cant_come_cancels(start - timedelta(hours=24), start, 24)
    assert not cant_come_cancels(start - timedelta(hours=2), start, 24)


def test_clinical_words_are_found_whatever_their_case():
    assert clinical_words("Your appointment at Austin on Wed 2 Dec at 10:00.") == []
    found = clinical_words("Your KETAMINE infusion; Spravato 84 mg; BP check")
    assert found == ["infusion", "ketamine", "mg", "spravato"]
    # Words that merely contain a forbidden one are fine ("remsen" is not "rems").
    assert clinical_words("Remember: bring your escort. Dosewell Street") == ["dose"]


def test_offsets_are_checked():
    assert offsets_errors([4320, 1440]) == []
    assert offsets_errors([10]) and offsets_errors([True]) and offsets_errors([1440, 1440])
    assert offsets_errors([60, 120, 180, 240, 300])
