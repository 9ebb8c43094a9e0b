"""A booking reads only the visits and shifts that can touch its plan (booking._plan_statements):
its verdict is the one the whole site's visits and shifts give."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.domain.availability import place_in_any_chair
from clinic.domain.booking import (
    Context,
    ObservationFrom,
    Plan,
    Rule,
    ShiftSpan,
    check_booking,
    visit_minutes,
)
from clinic.extensions import db
from clinic.models import Patient, Shift, Site, Visit
from clinic.services import booking
from tests.conftest import NOW, chicago
from tests.services.test_availability_walk import TUESDAY, random_site

LONGEST = booking.LONGEST_HOLD


def whole_site(ctx: Context, site: Site) -> Context:
    """Return the context with every active visit and every shift of the site."""
    visits = booking._active_visits(Visit.site_id == site.id)
    shifts = db.session.execute(
        select(Shift.user_id, Shift.role, Shift.starts_at, Shift.ends_at).where(
            Shift.site_id == site.id
        )
    )
    return replace(
        ctx,
        occupancies=[booking.occupancy(v, ctx.site, ctx.now) for v in visits],
        shifts=[
            ShiftSpan(s.role, booking.Interval(s.starts_at, s.ends_at), s.user_id) for s in shifts
        ],
    )


def longest_visit(site: Site, chair_id: int, patient: Patient, start: datetime) -> Visit:
    """A booked visit as long as the limits allow: its chair held LONGEST_HOLD."""
    infusion, observation = 24 * 60, booking.MAX_OBSERVATION_MINUTES
    return Visit(
        patient_id=patient.id,
        site_id=site.id,
        chair_id=chair_id,
        status="booked",
        infusion_start=start,
        infusion_end=start + timedelta(minutes=infusion),
        observation_end=start + timedelta(minutes=infusion + observation),
        infusion_minutes=infusion,
        observation_minutes=observation,
        chair_released_at=start + LONGEST,
    )


@pytest.mark.parametrize("seed", range(8))
def test_a_plan_gets_the_verdict_the_whole_site_gives(
    seed, make_site, make_chair, make_user, make_patient
):
    rng = random.Random(seed)
    site, _, _, _, base = random_site(rng, make_site, make_chair, make_user, make_patient)
    patient, other = make_patient(site), make_patient(site)
    # A chair of visits as long as the limits allow, back to back (holds touch, never overlap).
    long_chair = make_chair(site)
    first = base + timedelta(minutes=15 * rng.randint(-4 * 96, 0))
    for n in range(4):
        db.session.add(longest_visit(site, long_chair.id, other, first + n * LONGEST))
    db.session.commit()
    chair_ids = booking.active_chair_ids(site)
    narrowed = 0
    # Where a visit or a shift begins or ends, the plans' edges fall on or beside it.
    edges = [
        instant
        for v in db.session.scalars(select(Visit).where(Visit.site_id == site.id))
        for instant in (v.infusion_start, v.observation_end, v.chair_released_at, v.bay_released_at)
        if instant is not None
    ]
    edges += [
        instant
        for s in db.session.scalars(select(Shift).where(Shift.site_id == site.id))
        for instant in (s.starts_at, s.ends_at)
    ]
    for _ in range(80):
        infusion = rng.choice([15, 45, 60, 240, 24 * 60])
        observation = rng.choice([0, 60, 120, booking.MAX_OBSERVATION_MINUTES])
        counted_from = rng.choice(list(ObservationFrom))
        length = visit_minutes(infusion, observation, counted_from)
        start = rng.choice(edges) + timedelta(
            minutes=rng.choice([-1, 0, 0, 1])
            - rng.choice([0, infusion, length, length + site.turnover_minutes])
        )
        plan = Plan(patient.id, rng.choice(chair_ids), start, infusion, observation, counted_from)
        now = base + timedelta(minutes=rng.randint(-1440, 3 * 1440))
        ctx, _ = booking.full_context(site, patient, plan.visit, now, None)
        whole = whole_site(ctx, site)
        assert check_booking(plan, ctx) == check_booking(plan, whole), (seed, plan)
        assert place_in_any_chair(plan, ctx, chair_ids) == place_in_any_chair(
            plan, whole, chair_ids
        ), (seed, plan)
        narrowed += len(ctx.occupancies) < len(whole.occupancies)
    assert narrowed  # the plans read fewer visits than the site has, so the test tests that


def test_a_visit_that_began_longer_ago_than_any_margin_still_holds_its_chair(clinic):
    """A 24-hour infusion with 12 hours' observation holds its chair 38 hours: a plan 37
    hours after its start is refused; one where its hold ends is not (not even read)."""
    site, chair = clinic.site, clinic.chairs[0]
    start = chicago(TUESDAY, 10) - timedelta(hours=37)
    db.session.add(longest_visit(site, chair.id, clinic.new_patient(), start))
    db.session.commit()
    patient = clinic.patient
    inside = Plan(patient.id, chair.id, start + timedelta(hours=37), 45, 60)
    ctx, _ = booking.full_context(site, patient, inside.visit, NOW, None)
    assert Rule.CHAIR_BUSY in {v.rule for v in check_booking(inside, ctx)[1]}
    after = replace(inside, infusion_start=start + LONGEST)
    ctx, _ = booking.full_context(site, patient, after.visit, NOW, None)
    assert ctx.occupancies == []


def test_a_window_of_days_reads_a_visit_that_began_up_to_the_longest_hold_before(clinic):
    """The alternatives, the week view and availability read a window of days with MARGIN
    around it: a visit that began 37 hours before the window still holds its chair there."""
    site, chair = clinic.site, clinic.chairs[0]
    start = chicago(TUESDAY, 10) - timedelta(hours=37)
    db.session.add(longest_visit(site, chair.id, clinic.new_patient(), start))
    db.session.commit()
    window = booking.Interval(chicago(TUESDAY, 10), chicago(TUESDAY, 18))
    ctx = booking.site_context(site, window, NOW)
    assert [o.chair_id for o in ctx.occupancies] == [chair.id]
