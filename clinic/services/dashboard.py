"""The nurses' dashboard: every patient of a site in the clinic's care, read in bulk.

A fixed number of queries whatever the number of visits or the length of the history:
the site, the active visits (with patient, chair and bay joined), their readings, and the
next bookings of their chairs and bays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from clinic.domain import phases, vitals
from clinic.domain.vitals import DueItem, DueState
from clinic.extensions import db
from clinic.models import Observation, Site, User, Visit
from clinic.services import access
from clinic.services.observations import OBSERVABLE, observations_by_visit

# Only the visits that follow soon can be pushed back by an overrun; later ones cannot.
NEXT_BOOKING_HORIZON = timedelta(hours=24)
WAITING = ("booked", "checked_in")


@dataclass(frozen=True)
class NextBooking:
    """The next visit due to use a chair or bay: when its hold of that place begins."""

    visit_id: int
    starts_at: datetime


@dataclass(frozen=True)
class Row:
    """One patient on the dashboard, with everything derived at `now`."""

    visit: Visit  # patient, chair and recovery_chair loaded
    patient_label: str  # initials only: the dashboard may hang on a wall
    chair: str
    recovery_chair: str | None
    readings: list[Observation]  # oldest first
    latest: Observation | None
    flags: list[str]  # the latest reading's
    vitals: list[DueItem]  # the whole schedule so far with each item's state
    vitals_due: list[DueItem]  # due now
    vitals_next: DueItem | None  # due now, else the next upcoming
    vitals_missed: list[DueItem]
    countdown: phases.Countdown
    seconds_to_discharge_due: int | None
    overdue: bool
    phase_started_at: datetime | None
    minutes_in_phase: int | None
    expected_chair_release: datetime
    next_chair_booking: NextBooking | None
    chair_clash_minutes: int
    expected_bay_release: datetime | None  # bay mode only (else the chair is the bay)
    next_bay_booking: NextBooking | None
    bay_clash_minutes: int


@dataclass(frozen=True)
class Dashboard:
    """A site's dashboard at an instant."""

    site: Site
    now: datetime
    rows: list[Row]


def active_visits(site_id: int) -> list[Visit]:
    """Load a site's checked-in, infusing and recovering visits with patient, chair and bay."""
    stmt = (
        select(Visit)
        .options(
            joinedload(Visit.patient), joinedload(Visit.chair), joinedload(Visit.recovery_chair)
        )
        .where(Visit.site_id == site_id, Visit.status.in_(sorted(OBSERVABLE)))
        .order_by(Visit.chair_id, Visit.infusion_start, Visit.id)
    )
    return list(db.session.scalars(stmt))


def _bay_of(visit: Visit, in_bay_mode: bool) -> int | None:
    """Return the recovery bay a visit holds apart from its chair (bay mode only)."""
    return visit.recovery_chair_id if in_bay_mode else None


def _next_bookings(
    site_id: int, visits: list[Visit], in_bay_mode: bool, now: datetime
) -> tuple[dict[int, NextBooking], dict[int, NextBooking]]:
    """Return visit id -> the next booking of its chair, and of its bay, in one query."""
    if not visits:
        return {}, {}
    chair_ids = {v.chair_id for v in visits}
    # In chair mode recovery_chair_id is the chair itself: there is no separate bay hold.
    bay_ids = {v.recovery_chair_id for v in visits if _bay_of(v, in_bay_mode) is not None}
    earliest = min(v.infusion_start for v in visits)
    place = Visit.chair_id.in_(chair_ids)
    if bay_ids:
        place = or_(place, Visit.recovery_chair_id.in_(bay_ids))
    stmt = select(
        Visit.id, Visit.chair_id, Visit.recovery_chair_id, Visit.infusion_start, Visit.infusion_end
    ).where(
        Visit.site_id == site_id,
        Visit.status.in_(WAITING),
        place,
        Visit.infusion_start > earliest,
        Visit.infusion_start < now + NEXT_BOOKING_HORIZON,
    )
    candidates = db.session.execute(stmt).all()
    chair_next: dict[int, NextBooking] = {}
    bay_next: dict[int, NextBooking] = {}
    for visit in visits:
        chair_starts = [
            NextBooking(c.id, c.infusion_start)
            for c in candidates
            if c.chair_id == visit.chair_id
            and c.id != visit.id
            and c.infusion_start > visit.infusion_start
        ]
        if chair_starts:
            chair_next[visit.id] = min(chair_starts, key=lambda b: (b.starts_at, b.visit_id))
        if _bay_of(visit, in_bay_mode) is not None:
            # A bay is held from the planned end of the infusion.
            bay_starts = [
                NextBooking(c.id, c.infusion_end)
                for c in candidates
                if c.recovery_chair_id == visit.recovery_chair_id
                and c.id != visit.id
                and c.infusion_end > visit.infusion_end
            ]
            if bay_starts:
                bay_next[visit.id] = min(bay_starts, key=lambda b: (b.starts_at, b.visit_id))
    return chair_next, bay_next


def load_dashboard(actor: User, site_id: int | None, now: datetime) -> Dashboard:
    """Return the dashboard of a site the user may see (the user's only site by default)."""
    site = access.get_site(actor, access.default_site_id(actor, site_id))
    visits = active_visits(site.id)
    readings = observations_by_visit(v.id for v in visits)
    chair_next, bay_next = _next_bookings(site.id, visits, site.recovery_mode == "bay", now)
    rows = [
        _row(site, visit, readings.get(visit.id, []), chair_next, bay_next, now) for visit in visits
    ]
    return Dashboard(site=site, now=now, rows=rows)


def _row(
    site: Site,
    visit: Visit,
    readings: list[Observation],
    chair_next: dict[int, NextBooking],
    bay_next: dict[int, NextBooking],
    now: datetime,
) -> Row:
    latest = readings[-1] if readings else None
    schedule = vitals.vitals_schedule(
        visit.checked_in_at,
        visit.infusion_started_at,
        visit.infusion_ended_at,
        visit.discharge_due_at,
        visit.status,
        visit.discharged_at,
    )
    items = vitals.vitals_due(schedule, [r.at for r in readings], now)
    since = phases.phase_started_at(
        visit.status, visit.checked_in_at, visit.infusion_started_at, visit.infusion_ended_at
    )
    in_bay_mode = site.recovery_mode == "bay"

    def release(recovery_in_chair: bool) -> datetime:
        return phases.expected_chair_release(
            visit.infusion_started_at,
            visit.infusion_ended_at,
            visit.infusion_minutes,
            visit.observation_minutes,
            visit.extension_minutes,
            site.turnover_minutes,
            now,
            recovery_in_chair,
            planned_start=visit.infusion_start,
        )

    chair_release = release(recovery_in_chair=not in_bay_mode)
    has_bay = _bay_of(visit, in_bay_mode) is not None
    bay_release = release(recovery_in_chair=True) if has_bay else None
    next_chair, next_bay = chair_next.get(visit.id), bay_next.get(visit.id)
    return Row(
        visit=visit,
        patient_label=visit.patient.initials,
        chair=visit.chair.name,
        recovery_chair=visit.recovery_chair.name if visit.recovery_chair else None,
        readings=readings,
        latest=latest,
        flags=list(latest.flags or []) if latest else [],
        vitals=items,
        vitals_due=[item for item in items if item.state is DueState.DUE],
        vitals_next=vitals.next_due(items),
        vitals_missed=vitals.missed(items),
        countdown=phases.countdown_state(now, visit.discharge_due_at, site.overdue_after_minutes),
        seconds_to_discharge_due=phases.seconds_to(now, visit.discharge_due_at),
        overdue=phases.is_overdue(now, visit.discharge_due_at, site.overdue_after_minutes),
        phase_started_at=since,
        minutes_in_phase=phases.minutes_in_phase(now, since),
        expected_chair_release=chair_release,
        next_chair_booking=next_chair,
        chair_clash_minutes=phases.clash_minutes(
            chair_release, next_chair.starts_at if next_chair else None
        ),
        expected_bay_release=bay_release,
        next_bay_booking=next_bay,
        bay_clash_minutes=(
            phases.clash_minutes(bay_release, next_bay.starts_at)
            if bay_release is not None and next_bay is not None
            else 0
        ),
    )
