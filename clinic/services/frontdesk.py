"""Read models for the front-desk pages: a site's day, its chairs, patient look-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clinic.domain.intervals import Interval
from clinic.extensions import db
from clinic.models import Chair, Clearance, Patient, Site, TreatmentType, User, Visit
from clinic.services import access, patients
from clinic.services.sites import local_day_bounds, opening_hours


@dataclass(frozen=True)
class Day:
    """One site-local day: its chairs and bays, its visits, and its opening hours."""

    site: Site
    day: date
    tz: ZoneInfo
    chairs: list[Chair]  # active infusion chairs, then chairs used today that are inactive
    bays: list[Chair]
    visits: list[Visit]  # patients loaded; every status, in start order
    hours: Interval | None  # None: closed that day


def visible_sites(actor: User) -> list[Site]:
    """Return the sites the user may see, in id order (an admin sees every site)."""
    stmt = access.scope_to_sites(actor, select(Site), Site.id).order_by(Site.id)
    return list(db.session.scalars(stmt))


def load_day(actor: User, site_id: int, day: date) -> Day:
    """Load a site-local day in one query per table (visits bring their patients)."""
    site = access.get_site(actor, site_id)
    tz = ZoneInfo(site.timezone)
    start, end = local_day_bounds(site, day)
    visits = list(
        db.session.scalars(
            select(Visit)
            .options(selectinload(Visit.patient))
            .where(
                Visit.site_id == site.id,
                Visit.infusion_start >= start,
                Visit.infusion_start < end,
            )
            .order_by(Visit.infusion_start, Visit.chair_id, Visit.id)
        )
    )
    all_chairs = list(
        db.session.scalars(select(Chair).where(Chair.site_id == site.id).order_by(Chair.id))
    )
    used = {v.chair_id for v in visits} | {v.recovery_chair_id for v in visits}
    shown = [c for c in all_chairs if c.active or c.id in used]
    return Day(
        site=site,
        day=day,
        tz=tz,
        chairs=[c for c in shown if c.kind == "chair"],
        bays=[c for c in shown if c.kind == "recovery_bay"],
        visits=visits,
        hours=opening_hours(site).interval_on(day, tz),
    )


def site_chairs(site: Site) -> list[Chair]:
    """Return a site's active infusion chairs, in id order."""
    stmt = (
        select(Chair)
        .where(Chair.site_id == site.id, Chair.kind == "chair", Chair.active.is_(True))
        .order_by(Chair.id)
    )
    return list(db.session.scalars(stmt))


def types_of_sites(sites: list[Site]) -> list[TreatmentType]:
    """Return the active treatment types of several sites, each site's default first."""
    if not sites:
        return []
    defaults = {s.default_treatment_type_id for s in sites}
    stmt = select(TreatmentType).where(
        TreatmentType.site_id.in_([s.id for s in sites]), TreatmentType.active.is_(True)
    )
    found = db.session.scalars(stmt)
    return sorted(found, key=lambda t: (t.site_id, t.id not in defaults, t.id))


def chairs_of_sites(sites: list[Site]) -> list[Chair]:
    """Return the active infusion chairs of several sites, by site then id."""
    if not sites:
        return []
    stmt = (
        select(Chair)
        .where(
            Chair.site_id.in_([s.id for s in sites]),
            Chair.kind == "chair",
            Chair.active.is_(True),
        )
        .order_by(Chair.site_id, Chair.id)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class PatientMatch:
    """A patient found by the booking form's search, with the last day they are cleared."""

    patient: Patient
    cleared_until: date | None


def find_patients(
    actor: User, query: str, on: date, now: datetime, limit: int = 10
) -> list[PatientMatch]:
    """Search the user's patients; add each one's clearance end (cleared with consent)."""
    found = patients.search(actor, query, limit=limit, now=now)
    if not found:
        return []
    # One grouped query for every patient's clearances rather than one per patient.
    ends: dict[int, date] = dict(
        db.session.execute(
            select(Clearance.patient_id, func.max(Clearance.valid_until))
            .where(
                Clearance.patient_id.in_([p.id for p in found]),
                Clearance.cleared.is_(True),
                Clearance.consent_signed.is_(True),
                Clearance.evaluated_on <= on,
                Clearance.valid_until >= on,
                Clearance.voided_at.is_(None),
            )
            .group_by(Clearance.patient_id)
        )
        .tuples()
        .all()
    )
    return [PatientMatch(p, ends.get(p.id)) for p in found]
