"""Free slots on the local 15-minute grid, and choosing a chair."""

import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.domain.availability import (
    GRID_MINUTES,
    Slot,
    find_slots,
    held,
    place_in_any_chair,
)
from clinic.domain.booking import (
    Context,
    Occupancy,
    OpeningHours,
    Plan,
    RecoveryMode,
    Rule,
    ShiftSpan,
    check_booking,
    holds_for,
)
from clinic.domain.intervals import Interval

from .factories import (
    CHICAGO,
    booked,
    local,
    make_ctx,
    make_plan,
    make_site,
    nurse,
    practitioner,
    span,
)

TUESDAY = date(2026, 3, 10)
AROUND_THE_CLOCK = OpeningHours({d: (0, 1440) for d in range(7)})


def grid_starts(ctx: Context, first_day: date, days: int, visit_minutes: int) -> list[datetime]:
    """List every local grid start of the open days whose visit ends by closing, the slow way."""
    starts = []
    for offset in range(days):
        hours = ctx.site.opening_hours.interval_on(
            first_day + timedelta(days=offset), ctx.site.timezone
        )
        if hours is None:
            continue
        t = hours.start
        while t + timedelta(minutes=visit_minutes) <= hours.end:
            if t.astimezone(ctx.site.timezone).minute % GRID_MINUTES == 0:
                starts.append(t)
            t += timedelta(minutes=1)
    return starts


def brute_force(ctx, chair_ids, first_day, days, infusion, observation):
    """Return every slot that check_booking accepts, for a patient-less plan."""
    plain = replace(ctx, check_patient=False)
    return [
        Slot(
            chair,
            start,
            start + timedelta(minutes=infusion),
            start + timedelta(minutes=infusion + observation),
        )
        for start in grid_starts(ctx, first_day, days, infusion + observation)
        for chair in sorted(chair_ids)
        if not check_booking(Plan(None, chair, start, infusion, observation), plain)[1]
    ]


def slots(ctx, chairs=(1, 2), day=TUESDAY, days=1, infusion=60, observation=120, limit=1000):
    """Return find_slots with the usual visit."""
    return find_slots(ctx, list(chairs), day, days, infusion, observation, limit)


def local_hm(instant: datetime) -> str:
    """Return the Chicago wall time of an instant as HH:MM."""
    return instant.astimezone(CHICAGO).strftime("%H:%M")


def test_quiet_day_offers_every_grid_start_from_open_until_the_visit_ends_by_close():
    found = slots(make_ctx(), chairs=(2, 1))
    starts = sorted({local_hm(s.infusion_start) for s in found})
    assert starts[0] == "08:00" and starts[-1] == "15:00"
    assert len(starts) == 29  # 08:00 to 15:00 every 15 minutes
    assert all(s.infusion_start.astimezone(CHICAGO).minute % 15 == 0 for s in found)
    assert found == sorted(found, key=lambda s: (s.infusion_start, s.chair_id))
    first = found[0]
    assert (first.chair_id, first.infusion_start) == (1, local("08:00"))
    assert first.infusion_end == local("09:00") and first.observation_end == local("11:00")


def test_open_off_the_grid_is_rounded_up():
    site = make_site(opening_hours=OpeningHours({1: (8 * 60 + 10, 18 * 60)}))
    assert local_hm(slots(make_ctx(site=site))[0].infusion_start) == "08:15"


def test_limit_is_respected_and_keeps_the_first_slots():
    everything = slots(make_ctx())
    assert slots(make_ctx(), limit=5) == everything[:5]
    assert slots(make_ctx(), limit=0) == []


def test_closed_day_has_no_slots_and_the_next_day_does():
    sunday = date(2026, 3, 15)
    assert slots(make_ctx(), day=sunday) == []
    ctx = make_ctx(
        shifts=[
            nurse("2026-03-16 07:00", "2026-03-16 19:00"),
            practitioner("2026-03-16 07:00", "2026-03-16 19:00"),
        ]
    )
    found = slots(ctx, day=sunday, days=2)
    assert {s.infusion_start.astimezone(CHICAGO).date() for s in found} == {date(2026, 3, 16)}


def test_a_busy_chair_leaves_only_the_other():
    found = slots(make_ctx(occupancies=[booked("09:00", chair=1)]))
    chair_one = {local_hm(s.infusion_start) for s in found if s.chair_id == 1}
    assert "12:15" in chair_one and "12:00" not in chair_one and "05:45" not in chair_one
    assert "09:00" not in chair_one
    assert "09:00" in {local_hm(s.infusion_start) for s in found if s.chair_id == 2}


def test_past_starts_are_not_offered():
    found = slots(make_ctx(now=local("10:05")))
    assert local_hm(found[0].infusion_start) == "10:15"


def test_spring_forward_day_skips_the_missing_hour():
    ctx = make_ctx(
        site=make_site(opening_hours=AROUND_THE_CLOCK, require_practitioner_on_site=False),
        shifts=[nurse("2026-03-07 00:00", "2026-03-10 00:00")],
    )
    found = slots(ctx, chairs=(1,), day=date(2026, 3, 8), infusion=15, observation=0)
    assert len(found) == 23 * 4
    assert not [s for s in found if s.infusion_start.astimezone(CHICAGO).hour == 2]


def test_fall_back_day_offers_the_repeated_hour_twice():
    ctx = make_ctx(
        site=make_site(opening_hours=AROUND_THE_CLOCK, require_practitioner_on_site=False),
        shifts=[nurse("2026-10-31 00:00", "2026-11-03 00:00")],
    )
    found = slots(ctx, chairs=(1,), day=date(2026, 11, 1), infusion=15, observation=0)
    assert len(found) == 25 * 4
    assert [local_hm(s.infusion_start) for s in found].count("01:30") == 2
    assert all(s.infusion_start.astimezone(CHICAGO).minute % 15 == 0 for s in found)


def test_nine_oclock_opening_gives_a_nine_oclock_first_slot_in_dst_weeks():
    site = make_site(opening_hours=OpeningHours({d: (9 * 60, 17 * 60) for d in range(7)}))
    for day in (date(2026, 3, 9), date(2026, 11, 2)):
        shifts = [
            nurse(f"{day} 00:00", f"{day} 23:00"),
            practitioner(f"{day} 00:00", f"{day} 23:00"),
        ]
        found = slots(make_ctx(site=site, shifts=shifts), chairs=(1,), day=day)
        assert found[0].infusion_start == local(f"{day} 09:00")
        assert local_hm(found[0].infusion_start) == "09:00"


# Same answers as check_booking, on random schedules


OPENING_HOURS = [
    OpeningHours({d: (8 * 60, 18 * 60) for d in range(6)} | {6: None}),
    OpeningHours({d: (7 * 60 + 50, 1440) for d in range(7)}),
    AROUND_THE_CLOCK,
]
# Two days from the first day, across the DST changes on 2026-03-08 and 2026-11-01.
FIRST_DAYS = [date(2026, 3, 7), date(2026, 3, 10), date(2026, 10, 31)]


@st.composite
def random_schedules(draw):
    """Draw a site, a first day and a busy two-day schedule around it."""
    site = make_site(
        nurse_ratio=draw(st.integers(1, 3)),
        turnover_minutes=draw(st.sampled_from([0, 7, 15])),
        require_practitioner_on_site=draw(st.booleans()),
        recovery_mode=draw(st.sampled_from(list(RecoveryMode))),
        opening_hours=draw(st.sampled_from(OPENING_HOURS)),
    )
    first_day = draw(st.sampled_from(FIRST_DAYS))
    base = datetime.combine(first_day, datetime.min.time(), tzinfo=CHICAGO).astimezone(UTC)
    # Quarter-hour instants land exactly on slot boundaries, the others just beside them.
    offsets = st.one_of(st.integers(-8, 2 * 96).map(lambda q: 15 * q), st.integers(-120, 2 * 1440))
    minute = offsets.map(lambda m: base + timedelta(minutes=m))
    length = st.sampled_from([0, 15, 30, 45, 60, 120, 150]) | st.integers(0, 150)

    def drawn_span() -> Interval:
        start = draw(minute)
        return Interval(start, start + timedelta(minutes=draw(length | st.integers(0, 900))))

    occupancies = []
    for n in range(draw(st.integers(0, 14))):
        chair, start = draw(st.integers(1, 4)), draw(minute)
        plan = Plan(50 + n, chair, start, draw(st.sampled_from([30, 45, 60, 41])), draw(length))
        holds = holds_for(plan, site.recovery_mode, site.turnover_minutes)
        bay = draw(st.sampled_from([None, 1, 2, 3])) if holds.bay else None
        chair_hold, visit = holds.chair, plan.visit
        occupancies.append(
            Occupancy(
                n,
                50 + n,
                plan.chair_id,
                chair_hold,
                bay,
                holds.bay if bay else None,
                visit,
                visit.start,
            )
        )
    # A day-shift backbone makes most examples offer slots; drawn shifts add handoffs,
    # gaps and extra staff around it.
    backbone = [span(f"{first_day} 06:00", f"{first_day} 20:00")]
    backbone.append(
        Interval(backbone[0].start + timedelta(days=1), backbone[0].end + timedelta(days=1))
    )
    nurses = backbone[: draw(st.integers(0, 2))] + [
        drawn_span() for _ in range(draw(st.integers(0, 4)))
    ]
    practitioners = backbone[: draw(st.integers(0, 2))] + [
        drawn_span() for _ in range(draw(st.integers(0, 3)))
    ]
    ctx = Context(
        site=site,
        now=base + timedelta(minutes=draw(st.integers(-60, 900))),
        occupancies=occupancies,
        shifts=[ShiftSpan("nurse", s) for s in nurses]
        + [ShiftSpan("practitioner", s) for s in practitioners],
        bay_ids=draw(st.sampled_from([[], [1], [2, 1]])),
    )
    return ctx, first_day


@settings(max_examples=40, deadline=None)
@given(
    schedule=random_schedules(),
    lengths=st.tuples(st.sampled_from([15, 45, 60]), st.sampled_from([0, 60, 120])),
)
def test_find_slots_equals_brute_force_check_booking(schedule, lengths):
    ctx, first_day = schedule
    infusion, observation = lengths
    expected = brute_force(ctx, [3, 1, 2], first_day, 2, infusion, observation)
    assert find_slots(ctx, [3, 1, 2], first_day, 2, infusion, observation, 10_000) == expected


@settings(max_examples=40, deadline=None)
@given(schedule=random_schedules())
def test_visits_given_compactly_hold_as_their_occupancies_do(schedule):
    ctx, first_day = schedule
    expected = find_slots(ctx, [3, 1, 2], first_day, 2, 45, 120, 10_000)
    # Some in the context, the others as compact holds (as the availability walk gives them).
    kept, compact = ctx.occupancies[::2], [held(o) for o in ctx.occupancies[1::2]]
    bare = replace(ctx, occupancies=kept)
    assert find_slots(bare, [3, 1, 2], first_day, 2, 45, 120, 10_000, booked=compact) == expected


def test_find_slots_is_fast_on_a_full_four_week_schedule():
    rng = random.Random(7)
    site = make_site(nurse_ratio=3)
    occupancies, shifts = [], []
    for offset in range(28):
        day = TUESDAY + timedelta(days=offset)
        shifts += [nurse(f"{day} 07:00", f"{day} 19:00") for _ in range(3)]
        shifts.append(practitioner(f"{day} 07:00", f"{day} 19:00"))
        for chair in range(1, 13):
            if rng.random() < 0.6:
                hour = rng.choice([8, 9, 10, 11, 12])
                occupancies.append(
                    booked(f"{day} {hour:02d}:{rng.choice([0, 15, 30, 45]):02d}", chair=chair)
                )
    ctx = make_ctx(site=site, occupancies=occupancies, shifts=shifts)
    assert len(occupancies) > 150
    started = time.perf_counter()
    found = find_slots(ctx, list(range(1, 13)), TUESDAY, 28, 60, 120, 100_000)
    elapsed = time.perf_counter() - started
    assert found
    assert elapsed < 0.5
    plain = replace(ctx, check_patient=False)
    for slot in rng.sample(found, 50):
        plan = Plan(None, slot.chair_id, slot.infusion_start, 60, 120)
        assert check_booking(plan, plain)[1] == []


# Any chair


def test_place_in_any_chair_takes_the_lowest_free_chair():
    ctx = make_ctx(occupancies=[booked("09:00", chair=1)])
    placement, violations = place_in_any_chair(make_plan("09:00", chair=7), ctx, [3, 2, 1])
    assert violations == [] and placement.plan.chair_id == 2


def test_place_in_any_chair_reports_the_chair_with_fewest_violations():
    plan = make_plan("09:00")
    ctx = make_ctx(now=local("09:30"), occupancies=[booked("09:00", chair=1)])
    placement, violations = place_in_any_chair(plan, ctx, [1, 2])
    assert placement is None and [v.rule for v in violations] == [Rule.IN_THE_PAST]


def test_place_in_any_chair_when_every_chair_is_taken():
    ctx = make_ctx(occupancies=[booked("09:00", chair=c) for c in (1, 2)])
    placement, violations = place_in_any_chair(make_plan("09:00"), ctx, [1, 2])
    assert placement is None and [v.rule for v in violations] == [Rule.CHAIR_BUSY]


def test_place_in_any_chair_without_chairs():
    placement, violations = place_in_any_chair(make_plan("09:00"), make_ctx(), [])
    assert placement is None and [v.rule for v in violations] == [Rule.CHAIR_BUSY]
