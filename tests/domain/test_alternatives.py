"""Alternatives to a refused booking, closest to what was asked first."""

from dataclasses import replace
from datetime import date, timedelta

from clinic.domain.alternatives import nearest_alternatives, rank
from clinic.domain.availability import Slot
from clinic.domain.booking import check_booking

from .factories import CHICAGO, booked, local, make_ctx, make_plan, make_site, nurse, practitioner

TUESDAY = date(2026, 3, 10)


def on_days(first: str, days: int) -> list:
    """Return a nurse and a practitioner 07:00-19:00 on each of `days` days from `first`."""
    shifts = []
    start = date.fromisoformat(first)
    for n in range(days):
        day = (start + timedelta(days=n)).isoformat()
        shifts += [
            nurse(f"{day} 07:00", f"{day} 19:00"),
            practitioner(f"{day} 07:00", f"{day} 19:00"),
        ]
    return shifts


def slot(when: str, chair: int = 1) -> Slot:
    start = local(when)
    return Slot(chair, start, start + timedelta(minutes=60), start + timedelta(minutes=180))


def times(slots: list[Slot]) -> list[str]:
    return [f"{s.infusion_start.astimezone(CHICAGO):%a %H:%M} c{s.chair_id}" for s in slots]


def test_a_refused_ten_oclock_offers_ten_oclock_in_another_chair_first():
    ctx = make_ctx(occupancies=[booked("10:00", chair=1)])
    asked = make_plan("10:00", chair=1)
    assert check_booking(asked, ctx)[0] is None

    found = nearest_alternatives(asked, ctx, [1, 2, 3], max_starts=3)

    assert times(found)[:2] == ["Tue 10:00 c2", "Tue 10:00 c3"]
    assert all(
        check_booking(replace(asked, chair_id=s.chair_id, infusion_start=s.infusion_start), ctx)[0]
        for s in found
    )


def test_then_the_nearest_times_the_same_day_either_way_later_first():
    site = make_site(turnover_minutes=0)
    ctx = make_ctx(site=site, occupancies=[booked("10:00", infusion=10, observation=5, site=site)])
    asked = make_plan("10:00", infusion=10, observation=5)

    found = nearest_alternatives(asked, ctx, [1], max_starts=5)

    assert times(found) == [
        "Tue 10:15 c1",
        "Tue 09:45 c1",
        "Tue 10:30 c1",
        "Tue 09:30 c1",
        "Tue 10:45 c1",
    ]


def test_the_asked_chair_comes_first_at_each_other_time():
    site = make_site(turnover_minutes=0)
    busy = [
        booked("10:00", chair=c, infusion=10, observation=5, site=site, patient=90 + c)
        for c in (1, 2)
    ]
    ctx = make_ctx(site=site, occupancies=busy)
    asked = make_plan("10:00", chair=2, infusion=10, observation=5)

    found = nearest_alternatives(asked, ctx, [1, 2], max_starts=1)

    assert times(found) == ["Tue 10:15 c2", "Tue 10:15 c1"]


def test_then_the_same_time_on_the_nearest_days():
    # The patient's infusion on Tuesday 10:00 rules out all of Tuesday and Monday 14:00.
    ctx = make_ctx(
        shifts=on_days("2026-03-05", 12),
        patient_visits=[booked("10:00", chair=3, patient=1)],
        occupancies=[booked("10:00", chair=3, patient=1)],
    )
    asked = make_plan("14:00", chair=1)

    found = nearest_alternatives(asked, ctx, [1], max_starts=4)

    assert times(found) == ["Wed 14:00 c1", "Thu 14:00 c1", "Fri 14:00 c1", "Sat 14:00 c1"]
    assert found[3].infusion_start == local("2026-03-07 14:00")


def test_after_a_day_only_later_days_are_offered():
    ctx = make_ctx(shifts=on_days("2026-03-05", 12))
    asked = make_plan("09:00")

    found = nearest_alternatives(asked, ctx, [1], max_starts=2, after_day=TUESDAY)

    assert times(found) == ["Wed 09:00 c1", "Thu 09:00 c1"]


def test_nothing_free_gives_nothing():
    ctx = make_ctx(shifts=[])
    assert nearest_alternatives(make_plan("09:00"), ctx, [1, 2], max_starts=5) == []


def test_ranking_puts_the_tiers_in_order():
    asked = make_plan("10:00", chair=1)
    slots = [
        slot("2026-03-11 11:00"),  # another day, another time
        slot("2026-03-09 10:00"),  # the same time the day before
        slot("2026-03-11 10:00"),  # the same time the day after
        slot("09:45"),
        slot("10:15"),
        slot("10:00", chair=2),
        slot("08:00"),
    ]
    assert times(rank(slots, asked, CHICAGO)) == [
        "Tue 10:00 c2",
        "Tue 10:15 c1",
        "Tue 09:45 c1",
        "Tue 08:00 c1",
        "Wed 10:00 c1",
        "Mon 10:00 c1",
        "Wed 11:00 c1",
    ]


def test_the_same_wall_clock_time_across_a_dst_change_is_the_same_time():
    # Sunday 8 March 2026 Chicago springs forward: Monday 09:00 and Saturday 09:00 are
    # different UTC hours but the same time for the clinic.
    asked = replace(make_plan(), infusion_start=local("2026-03-09 09:00"))
    slots = [slot("2026-03-09 10:00"), slot("2026-03-07 09:00"), slot("2026-03-10 08:00")]
    assert times(rank(slots, asked, CHICAGO)) == ["Mon 10:00 c1", "Sat 09:00 c1", "Tue 08:00 c1"]


def test_the_asked_slot_itself_is_offered_only_when_asked_for():
    ctx = make_ctx()
    asked = make_plan("09:00", chair=1)
    assert times(nearest_alternatives(asked, ctx, [1], max_starts=1)) == ["Tue 09:15 c1"]
    assert times(nearest_alternatives(asked, ctx, [1], max_starts=1, include_asked=True)) == [
        "Tue 09:00 c1"
    ]
