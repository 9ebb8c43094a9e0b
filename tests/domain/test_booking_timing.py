"""A visit's timing follows its treatment type: observation counted from the start or the end.

Spravato (esketamine) is observed two hours from the first device, however long the
administration; an IV infusion is observed from its end. The booking plan, its chair and bay
holds, the free slots and the in-care release all count the same way.
"""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from clinic.domain.availability import find_slots
from clinic.domain.booking import (
    ObservationFrom,
    RecoveryMode,
    Rule,
    check_booking,
    holds_for,
    visit_minutes,
)
from clinic.domain.intervals import Interval
from clinic.domain.phases import expected_chair_release
from clinic.domain.treatments import planned_observation_end

from .factories import booked, local, make_ctx, make_plan, make_site, minutes

START = ObservationFrom.ADMINISTRATION_START
END = ObservationFrom.ADMINISTRATION_END


def spravato(start: str = "09:00", chair: int = 1, infusion: int = 15, observation: int = 120):
    """Return a Spravato plan: observed from the first device."""
    plan = make_plan(start, chair, infusion=infusion, observation=observation)
    return replace(plan, observation_from=START)


def test_a_plan_counts_from_the_end_by_default_so_iv_visits_are_unchanged():
    plan = make_plan("09:00", infusion=45, observation=120)
    assert plan.observation_from is END
    assert plan.infusion == Interval(local("09:00"), local("09:45"))
    assert plan.recovery == Interval(local("09:45"), local("11:45"))
    assert plan.visit == Interval(local("09:00"), local("11:45"))


def test_a_start_counted_plan_ends_two_hours_after_the_first_device():
    plan = spravato("09:00", infusion=15, observation=120)
    assert plan.infusion == Interval(local("09:00"), local("09:15"))
    assert plan.recovery == Interval(local("09:15"), local("11:00"))
    assert plan.visit == Interval(local("09:00"), local("11:00"))


def test_an_observation_shorter_than_the_administration_never_ends_before_it():
    plan = replace(make_plan("09:00", infusion=60, observation=30), observation_from=START)
    assert plan.recovery == Interval(local("10:00"), local("10:00"))
    assert plan.visit.end == plan.infusion.end


@pytest.mark.parametrize("counted_from", [START, END])
@pytest.mark.parametrize(("infusion", "observation"), [(15, 120), (60, 30), (45, 0), (90, 90)])
def test_the_plan_agrees_with_the_treatment_rules(counted_from, infusion, observation):
    plan = replace(
        make_plan("09:00", infusion=infusion, observation=observation),
        observation_from=counted_from,
    )
    expected = planned_observation_end(counted_from, local("09:00"), infusion, observation)
    assert plan.recovery.end == expected
    length = visit_minutes(infusion, observation, counted_from)
    assert plan.visit.end - plan.visit.start == minutes(length)


def test_the_chair_is_held_to_the_observation_end_plus_turnover():
    holds = holds_for(spravato("09:00"), RecoveryMode.CHAIR, 15)
    assert holds.chair == Interval(local("09:00"), local("11:15"))
    assert holds.bay is None


def test_in_bay_mode_the_bay_is_held_from_the_administration_end_to_the_observation_end():
    holds = holds_for(spravato("09:00"), RecoveryMode.BAY, 15)
    assert holds.chair == Interval(local("09:00"), local("09:30"))
    assert holds.bay == Interval(local("09:15"), local("11:15"))


def test_a_second_booking_inside_the_spravato_hold_is_chair_busy():
    site = make_site()
    first = spravato("09:00")
    holds = holds_for(first, site.recovery_mode, site.turnover_minutes)
    existing = replace(
        booked("09:00", chair=1, infusion=15, observation=105), chair_hold=holds.chair
    )
    ctx = make_ctx(site=site, occupancies=[existing])
    placement, violations = check_booking(make_plan("10:30", chair=1, patient=2), ctx)
    assert placement is None
    assert [v.rule for v in violations] == [Rule.CHAIR_BUSY]
    assert "until 11:15" in violations[0].message
    placement, violations = check_booking(make_plan("11:15", chair=1, patient=2), ctx)
    assert violations == [] and placement is not None


def test_on_a_dst_day_the_hold_lasts_the_same_real_minutes():
    # Sunday 8 March 2026: Chicago's clocks jump from 02:00 to 03:00.
    plan = replace(
        make_plan("2026-03-08 01:30", infusion=15, observation=120), observation_from=START
    )
    holds = holds_for(plan, RecoveryMode.CHAIR, 15)
    assert holds.chair.end - holds.chair.start == timedelta(hours=2, minutes=15)
    # 01:30 CST + 2 h 15 min of real time is 04:45 CDT on the wall.
    assert holds.chair.end == local("2026-03-08 04:45")
    observed = planned_observation_end(START, plan.infusion_start, 15, 120)
    assert holds.chair.end - timedelta(minutes=15) == observed


def test_slots_for_a_start_counted_type_need_only_the_observation_from_the_start():
    ctx = make_ctx()
    day = date(2026, 3, 10)  # open 08:00-18:00
    iv = find_slots(ctx, [1], day, 1, 15, 120, limit=100)
    rems = find_slots(ctx, [1], day, 1, 15, 120, limit=100, observation_from=START)
    # 15 + 120 minutes must end by 18:00 (last start 15:45); two hours from the start, 16:00.
    assert iv[-1].infusion_start == local("15:45")
    assert rems[-1].infusion_start == local("16:00")
    first = rems[0]
    assert (first.infusion_start, first.infusion_end, first.observation_end) == (
        local("08:00"),
        local("08:15"),
        local("10:00"),
    )


def test_slots_respect_a_start_counted_hold_of_another_visit():
    site = make_site()
    holds = holds_for(spravato("09:00"), site.recovery_mode, site.turnover_minutes)
    existing = replace(booked("09:00", chair=1), chair_hold=holds.chair)
    ctx = make_ctx(site=site, occupancies=[existing])
    slots = find_slots(ctx, [1], date(2026, 3, 10), 1, 15, 120, 100, START)
    starts = [s.infusion_start for s in slots]
    assert local("10:30") not in starts
    assert local("11:15") in starts


def test_in_care_a_start_counted_visit_is_released_from_its_real_start():
    now = local("09:20")
    released = expected_chair_release(
        infusion_started_at=local("09:05"),
        infusion_ended_at=local("09:12"),
        planned_infusion_minutes=15,
        observation_minutes=120,
        extension_minutes=10,
        turnover_minutes=15,
        now=now,
        recovery_in_chair=True,
        observation_from=START,
    )
    assert released == local("11:30")  # 09:05 + 120 + 10 extension, + 15 turnover
    from_end = expected_chair_release(
        local("09:05"), local("09:12"), 15, 120, 10, 15, now, True, observation_from=END
    )
    assert from_end == local("11:37")


def test_in_care_a_long_administration_is_never_released_before_it_ends():
    released = expected_chair_release(
        local("09:00"), None, 150, 120, 0, 0, local("11:30"), True, observation_from=START
    )
    assert released == local("11:30")  # the planned end, not 09:00 + 120
