"""The availability walk: the same slots as one search of every day, loading only the days it
walks (clinic/services/availability.py)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from clinic.domain.availability import Slot, find_slots
from clinic.domain.intervals import Interval
from clinic.extensions import db
from clinic.models import Shift, Site, TreatmentType, User, Visit
from clinic.services import availability, booking, treatment_types
from clinic.services.sites import local_day_bounds
from tests.conftest import CHICAGO, MONDAY, NOW, statements_of

TUESDAY = MONDAY + timedelta(days=1)
# Across the DST changes of 2026 (8 March, 1 November) and an ordinary week.
FIRST_DAYS = [date(2026, 3, 6), date(2026, 10, 30), TUESDAY]
HOURS = [
    None,  # the factory's: Mon-Fri 08-18, Sat 09-14, closed on Sunday
    {d: ["07:50", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
]
IN_CARE = ("checked_in", "infusing", "recovering")
ACTIVE = ("booked", *IN_CARE)


def one_search(
    actor: User,
    site: Site,
    first_day: date,
    days: int,
    limit: int,
    now: datetime,
    type_id: int | None,
    minutes: tuple[int | None, int | None],
) -> list[Slot]:
    """Search every day at once, as availability did before it walked (the reference)."""
    times = booking.type_timing(site, treatment_types.bookable_type_id(site, type_id))
    infusion, observation = booking._durations(times, *minutes)
    ctx = booking.site_context(site, Interval(*local_day_bounds(site, first_day, days)), now)
    chairs = booking.active_chair_ids(site)
    return find_slots(
        ctx, chairs, first_day, days, infusion, observation, limit, times.observation_from
    )


def random_site(rng: random.Random, make_site, make_chair, make_user, make_patient):
    """Draw a site with chairs, bays, staff, a second treatment type, visits and shifts."""
    overrides = {
        "nurse_ratio": rng.randint(1, 3),
        "turnover_minutes": rng.choice([0, 7, 15]),
        "require_practitioner_on_site": rng.random() < 0.5,
        "recovery_mode": rng.choice(["chair", "bay"]),
    }
    if hours := rng.choice(HOURS):
        overrides["opening_hours"] = hours
    site = make_site(**overrides)
    chairs = [make_chair(site) for _ in range(rng.randint(1, 4))]
    # A site in bay mode without a bay offers nothing: give it one at least.
    bay_count = rng.randint(1 if site.recovery_mode == "bay" else 0, 2)
    bays = [make_chair(site, kind="recovery_bay") for _ in range(bay_count)]
    make_chair(site, active=False)
    clerk = make_user("front_desk", [site])
    staff = {role: make_user(role, [site]) for role in ("nurse", "practitioner")}
    patients = [make_patient(site) for _ in range(3)]
    spravato = TreatmentType(
        site_id=site.id,
        name="Spravato",
        kind="esketamine",
        administration_min=10,
        administration_max=15,
        administration_default=15,
        observation_min=120,
        observation_default=120,
        observation_from="administration_start",
    )
    db.session.add(spravato)
    first_day = rng.choice(FIRST_DAYS)
    base = datetime.combine(first_day, datetime.min.time(), tzinfo=CHICAGO).astimezone(UTC)

    def instant(low_days: float, high_days: float) -> datetime:
        quarter = rng.random() < 0.7  # on the grid, or just beside it
        minutes = rng.randint(int(low_days * 1440), int(high_days * 1440))
        return base + timedelta(minutes=minutes - minutes % 15 if quarter else minutes)

    held: list[tuple[int, datetime, datetime]] = []  # (chair or bay, from, to) of active visits
    for n in range(rng.randint(0, 60)):
        start = instant(-3, 12)
        infusion, observation = rng.choice([15, 40, 45, 60]), rng.choice([0, 60, 120, 150])
        status = rng.choice(["booked"] * 6 + ["cancelled", "discharged", *IN_CARE])
        bay = rng.choice(bays) if bays and rng.random() < 0.6 else None
        released = start + timedelta(minutes=infusion + rng.choice([0, 15, observation]))
        chair = rng.choice(chairs)
        holds = [(chair.id, start, released)]
        if bay:
            holds.append(
                (
                    bay.id,
                    start + timedelta(minutes=infusion),
                    released + timedelta(minutes=observation),
                )
            )
        if status in ACTIVE and any(overlaps(hold, other) for hold in holds for other in held):
            status = "cancelled"  # as PostgreSQL's exclusion constraints would have it
        if status in ACTIVE:
            held.extend(holds)
        visit = Visit(
            patient_id=patients[n % 3].id,
            site_id=site.id,
            chair_id=chair.id,
            recovery_chair_id=bay.id if bay else None,
            treatment_type_id=spravato.id if rng.random() < 0.3 else None,
            status=status,
            infusion_start=start,
            infusion_end=start + timedelta(minutes=infusion),
            observation_end=start + timedelta(minutes=infusion + observation),
            infusion_minutes=infusion,
            observation_minutes=observation,
            chair_released_at=released,
            bay_released_at=released + timedelta(minutes=observation) if bay else None,
        )
        if status in IN_CARE:
            visit.checked_in_at = start + timedelta(minutes=rng.randint(-30, 30))
            if status != "checked_in":
                visit.infusion_started_at = visit.checked_in_at + timedelta(minutes=5)
            if status == "recovering":
                visit.infusion_ended_at = visit.infusion_started_at + timedelta(minutes=infusion)
        db.session.add(visit)
    for day in range(-3, 12):
        for role in ("nurse", "nurse", "practitioner"):
            if rng.random() < 0.8:
                start = base + timedelta(days=day, hours=6)
                db.session.add(staff_shift(staff[role], role, start, 14))
    for _ in range(rng.randint(0, 4)):  # odd ones: short, long, across days
        start = instant(-4, 10)
        role, hours = rng.choice(["nurse", "practitioner"]), rng.choice([1, 3, 30, 80])
        db.session.add(staff_shift(staff[role], role, start, hours))
    db.session.commit()
    return site, clerk, spravato, first_day, base


def overlaps(hold: tuple[int, datetime, datetime], other: tuple[int, datetime, datetime]) -> bool:
    """Tell whether two holds of the same chair or bay share an instant."""
    return hold[0] == other[0] and hold[1] < other[2] and other[1] < hold[2]


def staff_shift(user: User, role: str, starts_at: datetime, hours: int) -> Shift:
    """A shift of a user at their (first) site."""
    return Shift(
        site_id=user.site_ids[0],
        user_id=user.id,
        role=role,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
    )


@pytest.mark.parametrize("seed", range(10))
def test_the_walk_finds_what_one_search_of_every_day_finds(
    seed, make_site, make_chair, make_user, make_patient
):
    rng = random.Random(seed)
    site, clerk, spravato, first_day, base = random_site(
        rng, make_site, make_chair, make_user, make_patient
    )
    checked = 0
    for _ in range(8):
        days, limit = rng.choice([1, 2, 5, 10, 31]), rng.choice([1, 3, 10, 40, 1000])
        now = base + timedelta(minutes=rng.randint(-1440, 3 * 1440))
        type_id = rng.choice([None, spravato.id])
        minutes = rng.choice([(None, None), (60, 90)]) if type_id is None else (None, None)
        day = first_day + timedelta(days=rng.randint(-1, 2))
        walked = availability.slots(clerk, site.id, day, days, *minutes, limit, now, type_id)
        expected = one_search(clerk, site, day, days, limit, now, type_id, minutes)
        assert walked == expected, (seed, day, days, limit, now, type_id, minutes)
        checked += len(expected)
    assert checked  # the drawn sites offer slots, so the comparison compares something


def test_a_patient_in_care_long_after_the_plan_holds_the_chair(
    make_site, make_chair, make_user, clinic
):
    """Checked in 30 hours after the planned start (outside any margin of the plan)."""
    site = make_site()
    chair = make_chair(site)
    nurse, practitioner = make_user("nurse", [site]), make_user("practitioner", [site])
    db.session.add_all(
        [
            staff_shift(nurse, "nurse", NOW - timedelta(days=2), 24 * 10),
            staff_shift(practitioner, "practitioner", NOW, 24 * 9),
        ]
    )
    start = NOW - timedelta(hours=30)
    db.session.add(
        Visit(
            patient_id=clinic.patient.id,
            site_id=site.id,
            chair_id=chair.id,
            status="infusing",
            infusion_start=start,
            infusion_end=start + timedelta(minutes=40),
            observation_end=start + timedelta(minutes=160),
            infusion_minutes=40,
            observation_minutes=120,
            chair_released_at=start + timedelta(minutes=175),
            checked_in_at=NOW - timedelta(minutes=10),
            infusion_started_at=NOW - timedelta(minutes=5),
        )
    )
    db.session.commit()
    admin = clinic.admin
    for days, limit in ((1, 1000), (3, 5), (3, 1000)):
        walked = availability.slots(admin, site.id, MONDAY, days, None, None, limit, NOW)
        assert walked == one_search(admin, site, MONDAY, days, limit, NOW, None, (None, None))
    first = availability.slots(admin, site.id, MONDAY, 1, None, None, 1, NOW)[0]
    assert first.infusion_start >= NOW + timedelta(minutes=155)  # after the real observation


# ---------------------------------------------------------------- statements


def statements_for(api, site_id: int, days: int, limit: int) -> int:
    """Count the statements of one availability request (each day from Tuesday on)."""
    query = f"/availability?site_id={site_id}&date={TUESDAY}&days={days}&limit={limit}"
    response, statements = statements_of(lambda: api.get(query))
    assert response.status_code == 200
    return len(statements)


def test_statements_grow_with_the_days_walked_not_the_days_asked(api_as, clinic):
    api = api_as(clinic.clerk)
    site_id = clinic.site.id
    statements_for(api, site_id, 1, 1)  # the token's first use is written down: not counted
    # The limit is met on the first day: asking for a month costs what asking for a day does.
    assert statements_for(api, site_id, 31, 1) == statements_for(api, site_id, 1, 1)
    assert statements_for(api, site_id, 31, 50) == statements_for(api, site_id, 1, 50)
    # Walking every day (the limit is never met) takes a few windows, a statement each.
    one_day = statements_for(api, site_id, 1, 1000)
    assert one_day < statements_for(api, site_id, 3, 1000) < statements_for(api, site_id, 31, 1000)
    # Each window grows the days walked by half at least: 31 days take 10 windows at most.
    assert statements_for(api, site_id, 31, 1000) <= one_day + 9
