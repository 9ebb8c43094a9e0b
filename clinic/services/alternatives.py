"""Suggest the bookable slots closest to a refused request (booking, reschedule, courses)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.alternatives import DAYS_AROUND, nearest_alternatives
from clinic.domain.availability import Slot
from clinic.domain.booking import Plan
from clinic.domain.intervals import Interval
from clinic.domain.treatments import rems_booking_violations
from clinic.extensions import db
from clinic.models import Site, TreatmentType, User, Visit
from clinic.services import access, treatment_types
from clinic.services.booking import (
    Request,
    active_chair_ids,
    patient_context,
    site_context,
    type_timing,
)
from clinic.services.sites import local_day_bounds

MAX_STARTS = 8  # distinct start times offered after a refusal


def suggest(
    actor: User,
    req: Request,
    now: datetime,
    exclude_visit_id: int | None = None,
    max_starts: int = MAX_STARTS,
    after_day: date | None = None,
    include_asked: bool = False,
) -> list[Slot]:
    """Return the slots closest to what the request asked, for this patient, under every rule.

    `exclude_visit_id` is the visit being rescheduled (its own slot counts as free);
    `include_asked` offers the asked slot itself too when it is free (a proposed extra date).
    """
    patient = access.get_patient(actor, req.patient_id)
    site = access.get_site(actor, req.site_id or patient.site_id)
    chairs = active_chair_ids(site)
    if not chairs:
        return []
    type_id = _type_id(site, req, exclude_visit_id)
    times = type_timing(site, type_id)
    infusion = req.infusion_minutes or times.infusion_default
    observation = req.observation_minutes or times.observation_default
    plan = Plan(
        patient.id,
        req.chair_id or 0,
        req.infusion_start,
        infusion,
        observation,
        times.observation_from,
    )
    tz = ZoneInfo(site.timezone)
    day = req.infusion_start.astimezone(tz).date()
    # One load of the type: a REMS check per slot would otherwise be a query per slot.
    treatment_type = db.session.get(TreatmentType, type_id) if type_id is not None else None
    rems = treatment_type is not None and treatment_type.rems
    gates = (site.rems_certified_on, patient.rems_enrolled_on)

    def rems_refused(start: datetime) -> bool:
        """Tell whether the REMS rules refuse a start (as booking.rems_violations does)."""
        return bool(rems_booking_violations(rems, *gates, start.astimezone(tz).date()))

    if rems_refused(req.infusion_start):
        if None in gates:
            return []  # the site or the patient is not in the REMS on any day
        first_day = max(day for day in gates if day is not None)
        after_day = max(after_day or date.min, first_day - timedelta(days=1))

    first = day - timedelta(days=DAYS_AROUND)
    window = Interval(*local_day_bounds(site, first, 2 * DAYS_AROUND + 1))
    ctx = site_context(site, window, now, exclude_visit_id)
    ctx = patient_context(ctx, patient, window, exclude_visit_id)
    found = nearest_alternatives(
        plan, ctx, chairs, max_starts, after_day=after_day, include_asked=include_asked
    )
    return [s for s in found if not rems_refused(s.infusion_start)]


def _type_id(site: Site, req: Request, exclude_visit_id: int | None) -> int | None:
    """Return the treatment type of the visit being moved, or the one the request books."""
    moved = db.session.get(Visit, exclude_visit_id) if exclude_visit_id is not None else None
    if moved is not None and moved.treatment_type_id is not None:
        return moved.treatment_type_id
    return treatment_types.bookable_type_id(site, req.treatment_type_id)
