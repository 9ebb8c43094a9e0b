"""The week view of the board: chairs x 7 site-local days, visits and bookable times."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.domain.availability import find_slots
from clinic.domain.intervals import Interval
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import Chair, Site, User, Visit
from clinic.services import access
from clinic.services.booking import active_chair_ids, site_context, type_timing
from clinic.services.sites import local_day_bounds, opening_hours

DAYS = 7
NOT_ON_THE_BOARD = (Status.CANCELLED, Status.NO_SHOW)


@dataclass(frozen=True)
class Cell:
    """One chair on one day (or a whole day): visits booked, and bookable start times."""

    visits: int
    bookable: int


@dataclass(frozen=True)
class Week:
    """Seven days from a Monday at one site."""

    site: Site
    days: list[date]
    open_days: set[date]
    chairs: list[Chair]
    cells: dict[tuple[int, date], Cell]
    totals: dict[date, Cell]  # bookable: distinct start times with at least one free chair
    infusion_minutes: int
    observation_minutes: int


def week_start(day: date) -> date:
    """Return the Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def load_week(actor: User, site_id: int, any_day: date, now: datetime) -> Week:
    """Count each chair's visits and bookable times over the week holding `any_day`.

    Bookable times are the 15-minute starts at which a visit of the site's default type
    could be booked now under every site rule (chair, bay, nurses, practitioner, hours).
    """
    site = access.get_site(actor, site_id)
    tz = ZoneInfo(site.timezone)
    first = week_start(any_day)
    days = [first + timedelta(days=n) for n in range(DAYS)]
    start, end = local_day_bounds(site, first, DAYS)
    visits = db.session.execute(
        select(Visit.chair_id, Visit.infusion_start).where(
            Visit.site_id == site.id,
            Visit.infusion_start >= start,
            Visit.infusion_start < end,
            Visit.status.not_in(NOT_ON_THE_BOARD),
        )
    ).all()
    booked = Counter((chair, instant.astimezone(tz).date()) for chair, instant in visits)
    active = active_chair_ids(site)
    used = {chair for chair, _ in booked}
    chairs = list(
        db.session.scalars(
            select(Chair)
            .where(Chair.site_id == site.id, Chair.kind == "chair")
            .where(Chair.id.in_(set(active) | used))
            .order_by(Chair.id)
        )
    )
    ctx = site_context(site, Interval(start, end), now)
    times = type_timing(site, site.default_treatment_type_id)
    infusion, observation = times.infusion_default, times.observation_default
    slots = find_slots(
        ctx, active, first, DAYS, infusion, observation, 10**6, times.observation_from
    )
    free = Counter((s.chair_id, s.infusion_start.astimezone(tz).date()) for s in slots)
    starts = Counter(
        day for day in (t.astimezone(tz).date() for t in {s.infusion_start for s in slots})
    )
    cells = {
        (chair.id, day): Cell(booked[(chair.id, day)], free[(chair.id, day)])
        for chair in chairs
        for day in days
    }
    totals = {
        day: Cell(sum(booked[(chair.id, day)] for chair in chairs), starts[day]) for day in days
    }
    hours = opening_hours(site)
    return Week(
        site=site,
        days=days,
        open_days={day for day in days if hours.interval_on(day, tz) is not None},
        chairs=chairs,
        cells=cells,
        totals=totals,
        infusion_minutes=infusion,
        observation_minutes=observation,
    )
