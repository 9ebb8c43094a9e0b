"""The alternatives search gives the same slots as the plain one it replaced, cheaper.

`reference` is the search as it was: every rule (`check_booking`) for every candidate slot of
the whole window, ranked at once. The search in clinic/domain/alternatives.py must answer the
same on random sites, schedules, patients and requests, DST days included, while checking
the patient's rules once per start and never the site's rules again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.domain import alternatives
from clinic.domain.alternatives import nearest_alternatives, rank
from clinic.domain.availability import Slot, find_slots
from clinic.domain.booking import (
    ClearanceSpan,
    Context,
    Occupancy,
    OpeningHours,
    Plan,
    RecoveryMode,
    Rule,
    ShiftSpan,
    check_booking,
    holds_for,
    local_day,
)
from clinic.domain.intervals import Interval

from .factories import CHICAGO, booked, clearance, local, make_ctx, make_plan, make_site

START_RULES = {Rule.PATIENT_OVERLAP, Rule.TOO_SOON_AFTER_LAST_INFUSION, Rule.NOT_CLEARED}
MAX_CHECKS = 600


def reference(
    asked: Plan,
    ctx: Context,
    chair_ids: list[int],
    max_starts: int,
    days_around: int,
    after_day: date | None = None,
    include_asked: bool = False,
) -> list[Slot]:
    """The search before it was made cheap: check_booking on every ranked slot."""
    tz = ctx.site.timezone
    asked_day = local_day(asked.infusion_start, tz)
    first_day = asked_day - timedelta(days=days_around)
    if after_day is not None:
        first_day = max(first_day, after_day + timedelta(days=1))
    last_day = asked_day + timedelta(days=days_around)
    if first_day > last_day or max_starts <= 0:
        return []
    candidates = find_slots(
        ctx,
        chair_ids,
        first_day,
        (last_day - first_day).days + 1,
        asked.infusion_minutes,
        asked.observation_minutes,
        limit=10**6,
        observation_from=asked.observation_from,
    )
    found: list[Slot] = []
    starts: set[datetime] = set()
    ruled_out: set[datetime] = set()
    checks = 0
    for slot in rank(candidates, asked, tz):
        start = slot.infusion_start
        asked_slot = start == asked.infusion_start and slot.chair_id == asked.chair_id
        if start in ruled_out or (asked_slot and not include_asked):
            continue
        if start not in starts and len(starts) >= max_starts:
            break
        if checks >= MAX_CHECKS:
            break
        checks += 1
        plan = replace(asked, chair_id=slot.chair_id, infusion_start=start)
        placement, violations = check_booking(plan, ctx)
        if placement is None:
            if any(v.rule in START_RULES for v in violations):
                ruled_out.add(start)
            continue
        starts.add(start)
        found.append(slot)
    return found


HOURS = [
    OpeningHours({d: (8 * 60, 18 * 60) for d in range(6)} | {6: None}),
    OpeningHours({d: (7 * 60 + 50, 1440) for d in range(7)}),
    OpeningHours({d: (0, 1440) for d in range(7)}),
]
# Asked days beside the DST changes of 2026-03-08 and 2026-11-01, and an ordinary Tuesday.
ASKED_DAYS = [date(2026, 3, 8), date(2026, 3, 10), date(2026, 11, 1), date(2026, 11, 2)]
DAYS_AROUND = 2


@st.composite
def searches(draw):
    """Draw a site, its schedule around an asked day, a patient's record and a request."""
    site = make_site(
        nurse_ratio=draw(st.integers(1, 3)),
        turnover_minutes=draw(st.sampled_from([0, 15])),
        require_practitioner_on_site=draw(st.booleans()),
        recovery_mode=draw(st.sampled_from(list(RecoveryMode))),
        opening_hours=draw(st.sampled_from(HOURS)),
        min_hours_between_infusions=draw(st.sampled_from([0, 12, 24, 36])),
    )
    asked_day = draw(st.sampled_from(ASKED_DAYS))
    first = asked_day - timedelta(days=DAYS_AROUND)
    base = datetime.combine(first, datetime.min.time(), tzinfo=CHICAGO).astimezone(UTC)
    reach = (2 * DAYS_AROUND + 1) * 1440
    quarter = st.integers(0, reach // 15).map(lambda q: base + timedelta(minutes=15 * q))
    minute = quarter | st.integers(-600, reach).map(lambda m: base + timedelta(minutes=m))
    length = st.sampled_from([30, 60, 120, 150])

    def occupancy(n: int, patient: int) -> Occupancy:
        plan = Plan(patient, draw(st.integers(1, 3)), draw(minute), 60, draw(length))
        holds = holds_for(plan, site.recovery_mode, site.turnover_minutes)
        bay = draw(st.sampled_from([None, 1, 2])) if holds.bay else None
        bay_hold = holds.bay if bay else None
        return Occupancy(
            n, patient, plan.chair_id, holds.chair, bay, bay_hold, plan.visit, plan.infusion_start
        )

    others = [occupancy(n, 50 + n) for n in range(draw(st.integers(0, 30)))]
    # A busy asked day, so that the search often has to go on to the other days.
    day_start = datetime.combine(asked_day, datetime.min.time(), tzinfo=CHICAGO)
    busy = st.integers(6 * 4, 20 * 4).map(lambda q: day_start + timedelta(minutes=15 * q))
    for n in range(draw(st.integers(0, 12))):
        plan = Plan(80 + n, draw(st.integers(1, 3)), draw(busy), 60, 120)
        holds = holds_for(plan, site.recovery_mode, site.turnover_minutes)
        others.append(
            Occupancy(
                100 + n,
                80 + n,
                plan.chair_id,
                holds.chair,
                None,
                None,
                plan.visit,
                plan.infusion_start,
            )
        )
    own = [occupancy(500 + n, 1) for n in range(draw(st.integers(0, 4)))]
    shifts = []
    for offset in range(2 * DAYS_AROUND + 1):
        day = first + timedelta(days=offset)
        opens = datetime.combine(day, datetime.min.time(), tzinfo=CHICAGO) + timedelta(hours=6)
        span = Interval(opens, opens + timedelta(hours=draw(st.sampled_from([14, 18]))))
        shifts += [ShiftSpan("nurse", span, 1), ShiftSpan("practitioner", span)]
    for _ in range(draw(st.integers(0, 3))):
        start = draw(minute)
        span = Interval(start, start + timedelta(minutes=draw(st.integers(0, 900))))
        shifts.append(ShiftSpan(draw(st.sampled_from(["nurse", "practitioner"])), span))
    # Mostly cleared all along, with lapses, refusals, unsigned consents and voids beside.
    clearances = [clearance("2026-01-01", "2026-12-31")] if draw(st.integers(0, 3)) else []
    for _ in range(draw(st.integers(0, 2))):
        evaluated = asked_day + timedelta(days=draw(st.integers(-4, 2)))
        clearances.append(
            ClearanceSpan(
                evaluated,
                evaluated + timedelta(days=draw(st.integers(0, 6))),
                cleared=draw(st.booleans()) or draw(st.booleans()),
                consent_signed=draw(st.booleans()) or draw(st.booleans()),
                voided=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    ctx = Context(
        site=site,
        now=base + timedelta(minutes=draw(st.integers(-600, 1440))),
        occupancies=others,
        shifts=shifts,
        bay_ids=draw(st.sampled_from([[], [1], [1, 2]])),
        patient_visits=own,
        clearances=clearances,
        check_patient=draw(st.booleans()) or draw(st.booleans()),
    )
    asked_at = datetime.combine(asked_day, datetime.min.time(), tzinfo=CHICAGO)
    asked_at += timedelta(minutes=draw(st.integers(0, 95)) * 15 + draw(st.sampled_from([0, 0, 7])))
    asked = Plan(
        1,
        draw(st.integers(0, 3)),
        asked_at.astimezone(UTC),
        draw(st.sampled_from([45, 60])),
        draw(length),
    )
    after = draw(
        st.none()
        | st.integers(-DAYS_AROUND - 1, DAYS_AROUND).map(lambda d: asked_day + timedelta(days=d))
    )
    options = {
        "max_starts": draw(st.integers(0, 8)),
        "days_around": DAYS_AROUND,
        "after_day": after,
        "include_asked": draw(st.booleans()),
    }
    return asked, ctx, options


@settings(max_examples=150, deadline=None)
@given(search=searches())
def test_the_search_offers_what_checking_every_rule_on_every_slot_offered(search):
    asked, ctx, options = search
    chairs = [3, 1, 2]
    assert nearest_alternatives(asked, ctx, chairs, **options) == reference(
        asked, ctx, chairs, **options
    )


def recorded(monkeypatch, name: str) -> list[tuple]:
    """Record the arguments of each call of one of the search's functions."""
    calls: list[tuple] = []
    real = getattr(alternatives, name)

    def record(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(alternatives, name, record)
    return calls


def test_a_patient_busy_every_other_day_costs_one_patient_check_per_start(monkeypatch):
    # Twelve chairs free all fortnight, but a visit every other day at 11:00 leaves this
    # patient only 11:00 on the days between (24 hours apart): nearly every start is ruled
    # out, each of them for all twelve chairs at once.
    site = make_site(opening_hours=HOURS[2], nurse_ratio=20, require_practitioner_on_site=False)
    days = [date(2026, 3, 10) + timedelta(days=n) for n in range(-8, 9)]
    own = [booked(f"{day} 11:00", patient=1, site=site) for day in days[::2]]
    on_duty = Interval(local(f"{days[0]} 00:00"), local(f"{days[-1]} 23:59"))
    ctx = make_ctx(
        site=site,
        shifts=[ShiftSpan("nurse", on_duty)],
        patient_visits=own,
        clearances=[clearance()],
    )
    asked = make_plan("2026-03-10 10:00", chair=1)
    chairs = list(range(1, 13))
    checks = recorded(monkeypatch, "patient_allows")

    found = nearest_alternatives(asked, ctx, chairs, max_starts=8)

    assert found == reference(asked, ctx, chairs, 8, alternatives.DAYS_AROUND)
    assert {s.infusion_start for s in found} <= {local(f"{day} 11:00") for day in days[1::2]}
    assert len(found) == 12 * len({s.infusion_start for s in found})
    # Only the patient's rules, once per start whatever the chairs (the old search ran
    # every rule, nurse staffing included, once per chair of every start it kept).
    starts = [plan.infusion_start for plan, _ in checks]
    assert len(starts) == len(set(starts)) <= MAX_CHECKS


def test_a_day_with_enough_free_starts_ranks_no_other_day(monkeypatch):
    ctx = make_ctx(occupancies=[booked("10:00", chair=1)])
    ranked = recorded(monkeypatch, "rank")

    found = nearest_alternatives(make_plan("10:00", chair=1), ctx, [1, 2, 3], max_starts=8)

    assert len({s.infusion_start for s in found}) == 8
    assert len(ranked) == 1  # the asked day's slots alone
    assert {local_day(s.infusion_start, CHICAGO) for slots, _, _ in ranked for s in slots} == {
        date(2026, 3, 10)
    }
