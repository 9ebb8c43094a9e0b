"""What the patient pages show at a glance: clearance standing and the next visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from clinic.domain.booking import ClearanceSpan
from clinic.extensions import db
from clinic.models import ACTIVE_STATUSES, Clearance, Patient, Visit
from clinic.services.sites import today as site_today


@dataclass(frozen=True)
class ClearanceStanding:
    """Whether a patient may be treated today, and until when."""

    state: str  # "cleared", "expired" or "not_cleared"
    valid_until: date | None = None
    pending_consent: bool = False


def clearance_standing(patient: Patient, now: datetime) -> ClearanceStanding:
    """Tell whether the patient holds a valid clearance with consent on the site's today."""
    day = site_today(patient.site, now)
    spans = [clearance_span(c) for c in patient.clearances if not c.voided]
    current = [c for c in spans if c.valid_on(day)]
    if current:
        return ClearanceStanding("cleared", max(c.valid_until for c in current))
    usable = [c for c in spans if c.cleared and c.consent_signed]
    if any(c.valid_until < day for c in usable):
        return ClearanceStanding("expired", max(c.valid_until for c in usable))
    pending = any(c.cleared and not c.consent_signed and c.covers(day) for c in spans)
    return ClearanceStanding("not_cleared", pending_consent=pending)


def clearance_span(clearance: Clearance) -> ClearanceSpan:
    """Return a stored clearance as the domain's rules read it."""
    return ClearanceSpan(
        clearance.evaluated_on,
        clearance.valid_until,
        clearance.cleared,
        clearance.consent_signed,
        voided=clearance.voided,
    )


def next_visits(patient_ids: list[int], now: datetime) -> dict[int, Visit]:
    """Return each patient's next visit that still holds a chair (if any)."""
    if not patient_ids:
        return {}
    stmt = (
        select(Visit)
        .where(
            Visit.patient_id.in_(patient_ids),
            Visit.status.in_(ACTIVE_STATUSES),
            Visit.observation_end >= now,
        )
        .order_by(Visit.infusion_start, Visit.id)
    )
    found: dict[int, Visit] = {}
    for visit in db.session.scalars(stmt):
        found.setdefault(visit.patient_id, visit)
    return found


def clearances_newest_first(patient: Patient) -> list[Clearance]:
    """Return a patient's clearances, the latest evaluation (then entry) first."""
    return sorted(patient.clearances, key=lambda c: (c.evaluated_on, c.id), reverse=True)
