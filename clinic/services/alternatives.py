"""Suggest the bookable slots closest to a refused request (booking, reschedule, courses)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.alternatives import DAYS_AROUND, nearest_alternatives
from clinic.domain.availability import Slot
from clinic.domain.booking import Plan
from clinic.domain.intervals import Interval
from clinic.models import User
from clinic.services import access
from clinic.services.booking import Request, active_chair_ids, patient_context, site_context
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
    infusion = req.infusion_minutes or site.infusion_default
    observation = req.observation_minutes or site.observation_default
    plan = Plan(patient.id, req.chair_id or 0, req.infusion_start, infusion, observation)
    day = req.infusion_start.astimezone(ZoneInfo(site.timezone)).date()
    first = day - timedelta(days=DAYS_AROUND)
    window = Interval(*local_day_bounds(site, first, 2 * DAYS_AROUND + 1))
    ctx = site_context(site, window, now, exclude_visit_id)
    ctx = patient_context(ctx, patient, window, exclude_visit_id)
    return nearest_alternatives(
        plan, ctx, chairs, max_starts, after_day=after_day, include_asked=include_asked
    )
