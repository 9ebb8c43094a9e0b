"""Every booking rule, edge by edge, and all of them reported together."""

from datetime import timedelta

import pytest

from clinic.domain.booking import (
    DESK_ORDER,
    Holds,
    OpeningHours,
    Plan,
    RecoveryMode,
    Rule,
    Violation,
    check_booking,
    desk_order,
    holds_for,
)

from .factories import (
    CHICAGO,
    booked,
    clearance,
    local,
    make_ctx,
    make_plan,
    make_site,
    nurse,
    practitioner,
    span,
)

BAY_SITE = make_site(recovery_mode=RecoveryMode.BAY)


def rules(plan, ctx):
    """Return the broken rules of a plan in the order reported."""
    placement, violations = check_booking(plan, ctx)
    assert (placement is None) == bool(violations)
    return [v.rule for v in violations]


def message(plan, ctx, rule):
    """Return the message of one broken rule."""
    return next(v.message for v in check_booking(plan, ctx)[1] if v.rule == rule)


# Holds


def test_chair_mode_holds_the_chair_through_observation_and_turnover():
    holds = holds_for(make_plan("09:00"), RecoveryMode.CHAIR, 15)
    assert holds == Holds(chair=span("09:00", "12:15"), bay=None)


def test_bay_mode_frees_the_chair_after_the_infusion():
    holds = holds_for(make_plan("09:00"), RecoveryMode.BAY, 15)
    assert holds == Holds(chair=span("09:00", "10:15"), bay=span("10:00", "12:15"))


def test_holds_count_real_minutes_across_the_spring_forward_night():
    plan = make_plan("2026-03-08 01:30", infusion=60, observation=120)
    holds = holds_for(plan, RecoveryMode.CHAIR, 15)
    assert holds.chair.end - holds.chair.start == timedelta(minutes=195)
    assert holds.chair.end.astimezone(CHICAGO).strftime("%H:%M") == "05:45"


# A quiet day


def test_quiet_day_books_with_no_violation():
    plan = make_plan("09:00")
    placement, violations = check_booking(plan, make_ctx())
    assert violations == []
    assert placement.plan == plan
    assert placement.holds == Holds(chair=span("09:00", "12:15"), bay=None)
    assert placement.bay_id is None


# Chair


def test_back_to_back_with_exact_turnover_is_allowed_both_ways():
    ctx = make_ctx(occupancies=[booked("12:15")])
    assert rules(make_plan("09:00"), ctx) == []
    ctx = make_ctx(occupancies=[booked("09:00")])
    assert rules(make_plan("12:15"), ctx) == []


def test_one_minute_overlap_is_refused():
    ctx = make_ctx(occupancies=[booked("09:00")])
    assert rules(make_plan("12:14"), ctx) == [Rule.CHAIR_BUSY]
    assert message(make_plan("12:14"), ctx, Rule.CHAIR_BUSY) == "This chair is taken until 12:15."
    ctx = make_ctx(occupancies=[booked("12:14")])
    assert rules(make_plan("09:00"), ctx) == [Rule.CHAIR_BUSY]
    assert message(make_plan("09:00"), ctx, Rule.CHAIR_BUSY) == (
        "This chair is taken from 12:14 until 15:29."
    )


def test_another_chair_is_not_busy():
    assert rules(make_plan("09:00", chair=2), make_ctx(occupancies=[booked("09:00")])) == []


# Recovery bays


def bay_ctx(occupancies=(), bay_ids=(1, 2)):
    """Return a quiet day at a bay-mode site with recovery bays 1 and 2."""
    return make_ctx(site=BAY_SITE, occupancies=list(occupancies), bay_ids=list(bay_ids))


def test_bay_mode_picks_the_lowest_free_bay():
    placement, _ = check_booking(make_plan("09:00"), bay_ctx())
    assert placement.bay_id == 1
    taken = booked("09:00", chair=3, bay=1, site=BAY_SITE)
    placement, _ = check_booking(make_plan("09:00"), bay_ctx([taken], bay_ids=(2, 1)))
    assert placement.bay_id == 2


def test_bay_mode_with_every_bay_taken_is_recovery_full():
    ctx = bay_ctx([booked("09:00", chair=c, bay=c - 2, site=BAY_SITE) for c in (3, 4)])
    assert rules(make_plan("09:30"), ctx) == [Rule.RECOVERY_FULL]
    text = message(make_plan("09:30"), ctx, Rule.RECOVERY_FULL)
    assert text == "No recovery bay is free from 10:30 to 12:45."


def test_bay_freed_at_turnover_end_is_free_again():
    # The bay hold of a 09:00 visit ends at 12:15; a 11:15 plan recovers from 12:15.
    ctx = bay_ctx([booked("09:00", chair=c, bay=c - 2, site=BAY_SITE) for c in (3, 4)])
    assert check_booking(make_plan("11:15"), ctx)[0].bay_id == 1


def test_bay_mode_without_bays_is_recovery_full():
    assert rules(make_plan("09:00"), bay_ctx(bay_ids=())) == [Rule.RECOVERY_FULL]


def test_bay_mode_chair_is_free_after_infusion_and_turnover():
    ctx = bay_ctx([booked("09:00", bay=1, site=BAY_SITE)])
    assert rules(make_plan("10:15"), ctx) == []
    assert rules(make_plan("10:14"), ctx) == [Rule.CHAIR_BUSY]


# Nurses


@pytest.mark.parametrize(
    ("others", "nurses", "broken"), [(2, 1, []), (3, 1, [Rule.NURSE_CAPACITY])]
)
def test_nurse_capacity_at_exactly_the_ratio_and_one_over(others, nurses, broken):
    occupancies = [booked("09:00", chair=10 + n) for n in range(others)]
    ctx = make_ctx(occupancies=occupancies, shifts=[nurse()] * nurses + [practitioner()])
    assert rules(make_plan("09:00"), ctx) == broken


def test_two_nurses_watch_twice_as_many():
    occupancies = [booked("09:00", chair=10 + n) for n in range(5)]
    ctx = make_ctx(occupancies=occupancies, shifts=[nurse(), nurse(), practitioner()])
    assert rules(make_plan("09:00"), ctx) == []
    ctx = make_ctx(occupancies=[*occupancies, booked("09:00", chair=20)], shifts=ctx.shifts)
    assert rules(make_plan("09:00"), ctx) == [Rule.NURSE_CAPACITY]


def test_one_nurse_on_two_overlapping_shifts_is_counted_once():
    # Nurse 7 is on two overlapping rows 07:00-19:00 and 08:00-12:00: still one nurse,
    # who watches at most 3 patients (the ratio), not 6.
    occupancies = [booked("09:00", chair=10 + n) for n in range(3)]
    shifts = [nurse(user=7), nurse("08:00", "12:00", user=7), practitioner()]
    ctx = make_ctx(occupancies=occupancies, shifts=shifts)
    assert rules(make_plan("09:00"), ctx) == [Rule.NURSE_CAPACITY]
    assert "1 nurse already watch 3" in message(make_plan("09:00"), ctx, Rule.NURSE_CAPACITY)
    # Two different people on the same hours do double it.
    two = [nurse(user=7), nurse("08:00", "12:00", user=8), practitioner()]
    assert rules(make_plan("09:00"), make_ctx(occupancies=occupancies, shifts=two)) == []


def test_capacity_is_counted_at_a_change_point_inside_the_visit():
    # Three patients arrive at 11:00, while the plan is still in recovery.
    ctx = make_ctx(occupancies=[booked("11:00", chair=10 + n) for n in range(3)])
    assert rules(make_plan("09:00"), ctx) == [Rule.NURSE_CAPACITY]
    assert message(make_plan("09:00"), ctx, Rule.NURSE_CAPACITY).startswith(
        "Nurses are at capacity at 11:00"
    )
    # A visit that ends as they arrive shares no instant with them.
    assert rules(make_plan("08:00"), ctx) == []


def test_capacity_drops_when_a_nurse_leaves_mid_visit():
    occupancies = [booked("09:00", chair=10 + n) for n in range(3)]
    shifts = [nurse(), nurse("07:00", "10:00"), practitioner()]
    ctx = make_ctx(occupancies=occupancies, shifts=shifts)
    assert rules(make_plan("09:00"), ctx) == [Rule.NURSE_CAPACITY]
    assert "at 10:00" in message(make_plan("09:00"), ctx, Rule.NURSE_CAPACITY)


def test_nurse_shift_gap_in_the_middle_of_a_visit():
    shifts = [nurse("07:00", "10:00"), nurse("10:30", "19:00"), practitioner()]
    ctx = make_ctx(shifts=shifts)
    assert rules(make_plan("09:00"), ctx) == [Rule.NO_NURSE_ON_SHIFT]
    assert message(make_plan("09:00"), ctx, Rule.NO_NURSE_ON_SHIFT) == (
        "No nurse is on shift at 10:00."
    )


def test_nurse_handoff_without_gap_is_covered():
    shifts = [nurse("07:00", "10:00"), nurse("10:00", "19:00"), practitioner()]
    assert rules(make_plan("09:00"), make_ctx(shifts=shifts)) == []


def test_no_nurse_is_reported_instead_of_capacity():
    occupancies = [booked("09:00", chair=10 + n) for n in range(5)]
    ctx = make_ctx(occupancies=occupancies, shifts=[practitioner()])
    assert rules(make_plan("09:00"), ctx) == [Rule.NO_NURSE_ON_SHIFT]


def test_nurse_leaving_as_the_visit_ends_is_enough():
    ctx = make_ctx(shifts=[nurse("09:00", "12:00"), practitioner()])
    assert rules(make_plan("09:00"), ctx) == []
    ctx = make_ctx(shifts=[nurse("09:00", "11:59"), practitioner()])
    assert rules(make_plan("09:00"), ctx) == [Rule.NO_NURSE_ON_SHIFT]


# Practitioner


def test_practitioner_handoff_union_covers_the_infusion():
    shifts = [nurse(), practitioner("07:00", "09:30"), practitioner("09:30", "19:00")]
    assert rules(make_plan("09:00"), make_ctx(shifts=shifts)) == []


def test_practitioner_gap_during_the_infusion_is_refused():
    shifts = [nurse(), practitioner("07:00", "09:30"), practitioner("09:31", "19:00")]
    ctx = make_ctx(shifts=shifts)
    assert rules(make_plan("09:00"), ctx) == [Rule.NO_PRACTITIONER_ON_SITE]
    assert "09:00 to 10:00" in message(make_plan("09:00"), ctx, Rule.NO_PRACTITIONER_ON_SITE)


def test_practitioner_only_needs_to_cover_the_infusion():
    ctx = make_ctx(shifts=[nurse(), practitioner("09:00", "10:00")])
    assert rules(make_plan("09:00"), ctx) == []


def test_a_nurse_is_not_a_practitioner():
    assert rules(make_plan("09:00"), make_ctx(shifts=[nurse()])) == [Rule.NO_PRACTITIONER_ON_SITE]


def test_practitioner_not_required_when_the_site_says_so():
    site = make_site(require_practitioner_on_site=False)
    assert rules(make_plan("09:00"), make_ctx(site=site, shifts=[nurse()])) == []


# Opening hours


@pytest.mark.parametrize(
    ("start", "ok"),
    [("08:00", True), ("07:59", False), ("15:00", True), ("15:01", False), ("19:00", False)],
)
def test_opening_hours_boundaries(start, ok):
    ctx = make_ctx(shifts=[nurse("00:00", "23:59"), practitioner("00:00", "23:59")])
    assert rules(make_plan(start), ctx) == ([] if ok else [Rule.OUTSIDE_OPENING_HOURS])


def test_opening_hours_messages():
    ctx = make_ctx(shifts=[nurse("00:00", "23:59"), practitioner("00:00", "23:59")])
    assert message(make_plan("07:30"), ctx, Rule.OUTSIDE_OPENING_HOURS) == (
        "The clinic is closed at 07:30."
    )
    assert message(make_plan("15:30"), ctx, Rule.OUTSIDE_OPENING_HOURS) == (
        "The visit would end at 18:30, after closing time (18:00)."
    )


def test_closed_day_is_outside_opening_hours():
    day = "2026-03-15"  # Sunday
    ctx = make_ctx(
        shifts=[nurse(f"{day} 07:00", f"{day} 19:00"), practitioner(f"{day} 07:00", f"{day} 19:00")]
    )
    assert rules(make_plan(f"{day} 09:00"), ctx) == [Rule.OUTSIDE_OPENING_HOURS]


def overnight_ctx(wednesday_open: bool):
    """Return a site open Tuesday 20:00-24:00 and maybe Wednesday 00:00-06:00, staffed."""
    hours = {1: (20 * 60, 1440), 2: (0, 6 * 60) if wednesday_open else None}
    site = make_site(opening_hours=OpeningHours(hours))
    shifts = [nurse("2026-03-10 19:00", "2026-03-11 07:00")]
    shifts.append(practitioner("2026-03-10 19:00", "2026-03-11 07:00"))
    return make_ctx(site=site, shifts=shifts)


def test_visit_over_midnight_needs_both_days_open():
    plan = make_plan("23:00")
    assert rules(plan, overnight_ctx(wednesday_open=True)) == []
    assert rules(plan, overnight_ctx(wednesday_open=False)) == [Rule.OUTSIDE_OPENING_HOURS]


# DST weeks


@pytest.mark.parametrize("day", ["2026-03-09", "2026-11-02"])
def test_nine_oclock_visit_in_a_dst_week(day):
    ctx = make_ctx(
        now=span("2026-03-01 00:00", "2026-03-01 00:00").start,
        shifts=[
            nurse(f"{day} 07:00", f"{day} 19:00"),
            practitioner(f"{day} 07:00", f"{day} 19:00"),
        ],
        clearances=[clearance("2026-03-01", "2026-12-31")],
        occupancies=[booked(f"{day} 08:00", chair=1)],
    )
    # The 08:00 visit holds chair 1 until 11:15 local on that day too.
    plan = make_plan(f"{day} 09:00")
    assert rules(plan, ctx) == [Rule.CHAIR_BUSY]
    assert message(plan, ctx, Rule.CHAIR_BUSY) == "This chair is taken until 11:15."
    assert rules(make_plan(f"{day} 11:15"), ctx) == []
    placement, _ = check_booking(make_plan(f"{day} 09:00", chair=2), ctx)
    assert placement.holds.chair.start.astimezone(CHICAGO).hour == 9


# Patient


def test_patient_overlap_is_refused_and_touching_visits_are_not():
    other = booked("2026-03-10 06:00", chair=5, patient=1, infusion=60, observation=120)
    ctx = make_ctx(patient_visits=[other], site=make_site(min_hours_between_infusions=0))
    assert rules(make_plan("09:00"), ctx) == []
    assert rules(make_plan("08:59"), ctx) == [Rule.PATIENT_OVERLAP]


@pytest.mark.parametrize(
    ("other_start", "too_soon"),
    [
        ("2026-03-09 09:01", True),
        ("2026-03-09 09:00", False),
        ("2026-03-11 08:59", True),
        ("2026-03-11 09:00", False),
    ],
)
def test_too_soon_in_both_directions(other_start, too_soon):
    ctx = make_ctx(patient_visits=[booked(other_start, chair=5, patient=1)])
    expected = [Rule.TOO_SOON_AFTER_LAST_INFUSION] if too_soon else []
    assert rules(make_plan("09:00"), ctx) == expected


def test_too_soon_message_names_the_other_infusion():
    ctx = make_ctx(patient_visits=[booked("2026-03-09 14:00", chair=5, patient=1)])
    assert message(make_plan("09:00"), ctx, Rule.TOO_SOON_AFTER_LAST_INFUSION) == (
        "Infusions must be at least 24 hours apart; the patient has one at 14:00 on Mon 9 Mar."
    )


@pytest.mark.parametrize(
    ("clearances", "cleared"),
    [
        ([clearance("2026-03-10", "2026-03-10")], True),
        ([clearance("2026-03-11", "2026-04-10")], False),
        ([clearance("2026-02-01", "2026-03-09")], False),
        ([clearance(consent_signed=False)], False),
        ([clearance(cleared=False)], False),
        ([], False),
        ([clearance(consent_signed=False), clearance("2026-03-10", "2026-03-10")], True),
    ],
)
def test_clearance_validity(clearances, cleared):
    ctx = make_ctx(clearances=clearances)
    assert rules(make_plan("09:00"), ctx) == ([] if cleared else [Rule.NOT_CLEARED])


def test_consent_missing_is_named():
    ctx = make_ctx(clearances=[clearance(consent_signed=False)])
    assert "consent" in message(make_plan("09:00"), ctx, Rule.NOT_CLEARED)


def test_clearance_day_is_the_local_day_not_the_utc_day():
    # 19:30 in Chicago is already the next day in UTC.
    ctx = make_ctx(clearances=[clearance("2026-03-01", "2026-03-10")])
    assert Rule.NOT_CLEARED not in rules(make_plan("19:30"), ctx)


def test_patient_rules_are_skipped_when_not_asked():
    ctx = make_ctx(
        check_patient=False,
        clearances=[],
        patient_visits=[booked("09:00", chair=5, patient=1)],
    )
    assert rules(Plan(None, 1, make_plan().infusion_start, 60, 120), ctx) == []


# Time


def test_start_in_the_past_is_refused_and_now_is_fine():
    plan = make_plan("09:00")
    assert rules(plan, make_ctx(now=plan.infusion_start)) == []
    ctx = make_ctx(now=plan.infusion_start + timedelta(minutes=1))
    assert rules(plan, ctx) == [Rule.IN_THE_PAST]
    assert message(plan, ctx, Rule.IN_THE_PAST) == "The start time 09:00 has passed."


# Everything at once


def test_every_rule_broken_together_is_reported_in_desk_order():
    plan = make_plan("07:30")
    ctx = make_ctx(
        site=make_site(recovery_mode=RecoveryMode.BAY, nurse_ratio=1),
        now=plan.infusion_start + timedelta(hours=1),
        occupancies=[booked("07:30", patient=2, bay=None, site=BAY_SITE)],
        shifts=[nurse()],
        bay_ids=[],
        patient_visits=[booked("08:00", chair=7, patient=1)],
        clearances=[],
    )
    broken = rules(plan, ctx)
    assert broken == [rule for rule in DESK_ORDER if rule != Rule.NO_NURSE_ON_SHIFT]
    assert len(set(broken)) == len(broken)


def test_no_nurse_with_everything_else_broken():
    plan = make_plan("07:30")
    ctx = make_ctx(
        site=BAY_SITE,
        now=plan.infusion_start + timedelta(hours=1),
        occupancies=[booked("07:30", patient=2, site=BAY_SITE)],
        shifts=[],
        patient_visits=[booked("08:00", chair=7, patient=1)],
        clearances=[],
    )
    assert rules(plan, ctx) == [rule for rule in DESK_ORDER if rule != Rule.NURSE_CAPACITY]


def test_reasons_the_desk_can_fix_come_before_staffing_and_clearance():
    plan = make_plan("07:30")
    ctx = make_ctx(
        now=plan.infusion_start + timedelta(hours=1),
        occupancies=[booked("07:30", patient=2)],
        shifts=[],
        clearances=[],
    )
    assert rules(plan, ctx) == [
        Rule.IN_THE_PAST,
        Rule.CHAIR_BUSY,
        Rule.OUTSIDE_OPENING_HOURS,
        Rule.NO_NURSE_ON_SHIFT,
        Rule.NO_PRACTITIONER_ON_SITE,
        Rule.NOT_CLEARED,
    ]


def test_desk_order_puts_rules_it_does_not_name_last_and_keeps_their_order():
    late = [Violation("rule_from_elsewhere", "a"), Violation("another_one", "b")]
    ordered = desk_order([late[0], Violation(Rule.NOT_CLEARED, "c"), late[1]])
    assert [v.rule for v in ordered] == [Rule.NOT_CLEARED, "rule_from_elsewhere", "another_one"]


def test_a_clearance_is_valid_from_evaluation_to_its_last_day_with_consent():
    from datetime import date

    from clinic.domain.booking import ClearanceSpan

    span = ClearanceSpan(date(2026, 11, 20), date(2027, 5, 20), cleared=True, consent_signed=True)
    assert span.valid_on(date(2026, 11, 20)) and span.valid_on(date(2027, 5, 20))
    assert not span.valid_on(date(2026, 11, 19)) and not span.valid_on(date(2027, 5, 21))
    unsigned = ClearanceSpan(date(2026, 11, 20), date(2027, 5, 20), True, False)
    assert unsigned.covers(date(2026, 12, 1)) and not unsigned.valid_on(date(2026, 12, 1))


def test_a_missing_clearance_names_the_day_as_the_pages_write_it():
    plan = make_plan("2026-03-02 09:00")
    ctx = make_ctx(clearances=[], now=local("2026-03-01 12:00"))
    assert message(plan, ctx, Rule.NOT_CLEARED) == (
        "The patient has no valid clearance for Mon 2 Mar."
    )


def test_a_voided_clearance_no_longer_clears_the_patient():
    from dataclasses import replace

    valid = clearance()
    assert rules(make_plan("09:00"), make_ctx(clearances=[valid])) == []
    voided = replace(valid, voided=True)
    assert not voided.valid_on(valid.evaluated_on)
    ctx = make_ctx(clearances=[voided])
    assert rules(make_plan("09:00"), ctx) == [Rule.NOT_CLEARED]
    assert "no valid clearance" in message(make_plan("09:00"), ctx, Rule.NOT_CLEARED)
    # Another, live clearance still clears.
    assert rules(make_plan("09:00"), make_ctx(clearances=[voided, clearance()])) == []
