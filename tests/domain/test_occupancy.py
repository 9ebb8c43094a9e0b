"""A chair whose patient is in it is busy from the real check-in until the real release."""

from datetime import date

from clinic.domain.availability import find_slots
from clinic.domain.booking import RecoveryMode, check_booking
from clinic.domain.occupancy import Progress, in_care

from .factories import booked, local, make_ctx, make_plan, make_site, minutes

TUESDAY = date(2026, 3, 10)


def progress(checked_in, started=None, ended=None, infusion=60, observation=120, extension=0):
    """Return what really happened to a visit, times as local "HH:MM"."""
    return Progress(
        checked_in_at=local(checked_in),
        infusion_started_at=local(started) if started else None,
        infusion_ended_at=local(ended) if ended else None,
        infusion_minutes=infusion,
        observation_minutes=observation,
        extension_minutes=extension,
    )


def occupant(now: str, **happened):
    """Return the 08:00 visit of chair 1 (plan until 11:15 with turnover) as it stands at now."""
    planned = booked("08:00", chair=1)
    site = make_site()
    return in_care(planned, progress(**happened), site.recovery_mode, 15, local(now))


def test_an_infusion_started_late_pushes_the_chair_hold_out():
    # Planned 08:00-09:00 + 2 h, chair free at 11:15; the infusion really started at 09:30.
    held = occupant("09:40", checked_in="07:55", started="09:30")
    assert held.chair_hold.start == local("07:55")
    assert held.chair_hold.end == local("12:45")  # 09:30 + 60 + 120 + 15


def test_an_infusion_running_long_holds_the_chair_until_now_at_least():
    held = occupant("10:20", checked_in="07:55", started="08:00")  # still infusing at 10:20
    assert held.chair_hold.end == local("10:20") + minutes(120 + 15)


def test_recovery_ends_at_the_real_due_time_with_extensions():
    held = occupant("11:00", checked_in="07:55", started="08:10", ended="09:20", extension=30)
    assert held.chair_hold.end == local("12:05")  # 09:20 + 120 + 30 + 15


def test_a_patient_checked_in_early_holds_the_chair_from_then():
    held = occupant("07:00", checked_in="06:50")
    assert held.chair_hold.start == local("06:50")
    assert held.chair_hold.end == local("11:15")  # not started: the plan from 08:00


def test_booking_refuses_the_chair_while_the_late_infusion_still_holds_it():
    held = occupant("09:40", checked_in="07:55", started="09:30")
    ctx = make_ctx(now=local("09:40"), occupancies=[held])
    # 11:30 in chair 1 was free under the plan (released 11:15), not in reality (12:45).
    _, violations = check_booking(make_plan("11:30", chair=1), ctx)
    assert [v.rule for v in violations] == ["chair_busy"]
    assert "12:45" in violations[0].message
    placement, _ = check_booking(make_plan("12:45", chair=1), ctx)
    assert placement is not None


def test_availability_offers_the_chair_only_after_the_real_release():
    held = occupant("09:40", checked_in="07:55", started="09:30")
    ctx = make_ctx(now=local("09:40"), occupancies=[held])
    first = find_slots(ctx, [1], TUESDAY, 1, 60, 120, 100)[0]
    assert first.infusion_start == local("12:45")  # under the plan: 11:15


def test_availability_and_booking_agree_on_an_early_check_in():
    planned = booked("10:00", chair=1)
    held = in_care(planned, progress("07:30"), RecoveryMode.CHAIR, 15, local("07:30"))
    ctx = make_ctx(now=local("07:30"), occupancies=[held])
    _, violations = check_booking(make_plan("08:00", chair=1, infusion=45, observation=60), ctx)
    assert [v.rule for v in violations] == ["chair_busy"]
    # Under the plan alone 08:00 would be offered (free until the 10:00 start).
    assert find_slots(ctx, [1], TUESDAY, 1, 45, 60, 100)[0].infusion_start == local("13:15")


def test_in_bay_mode_the_bay_follows_the_real_infusion_end():
    site = make_site(recovery_mode=RecoveryMode.BAY)
    planned = booked("08:00", chair=1, bay=7, site=site)
    held = in_care(
        planned,
        progress("07:55", started="09:00"),
        RecoveryMode.BAY,
        15,
        local("09:10"),
    )
    assert held.chair_hold.end == local("10:15")  # 09:00 + 60 + turnover
    assert held.bay_hold.start == local("10:00")
    assert held.bay_hold.end == local("12:15")
    assert held.visit.end == local("12:00")  # nurses watch the patient until then
