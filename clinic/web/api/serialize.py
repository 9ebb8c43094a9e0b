"""Turn models into the JSON objects of API.md, field for field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from clinic.models import Chair, Clearance, Patient, Shift, Site, User, Visit, VisitEvent
from clinic.services.observations import site_thresholds

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def instant(value: datetime | None) -> str | None:
    """Return an instant as UTC ISO 8601 ending in "Z", or None."""
    if value is None:
        return None
    if value.tzinfo is None:  # the column type guarantees awareness; be safe anyway
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    """Return a date as YYYY-MM-DD, or None."""
    return value.isoformat() if value is not None else None


def site_json(site: Site) -> dict[str, Any]:
    """Return a site as API.md shows it."""
    hours = site.opening_hours or {}
    return {
        "id": site.id,
        "name": site.name,
        "timezone": site.timezone,
        "opening_hours": {name: hours.get(name) for name in DAYS},
        "nurse_ratio": site.nurse_ratio,
        "require_practitioner_on_site": site.require_practitioner_on_site,
        "infusion_minutes": {
            "min": site.infusion_min,
            "max": site.infusion_max,
            "default": site.infusion_default,
        },
        "observation_minutes": {"min": site.observation_min, "default": site.observation_default},
        "overdue_after_minutes": site.overdue_after_minutes,
        "turnover_minutes": site.turnover_minutes,
        "min_hours_between_infusions": site.min_hours_between_infusions,
        "recovery_mode": site.recovery_mode,
        "vital_thresholds": vital_thresholds_json(site),
    }


def vital_thresholds_json(site: Site) -> dict[str, Any]:
    """Return the site's vital-sign limits in force (its own, else the defaults)."""
    t = site_thresholds(site)
    return {
        "bp_high": {"systolic": t.bp_high[0], "diastolic": t.bp_high[1]},
        "bp_critical": {"systolic": t.bp_critical[0], "diastolic": t.bp_critical[1]},
        "hr_high": t.hr_high,
        "hr_low": t.hr_low,
        "spo2_low": t.spo2_low,
        "bp_above_baseline_percent": int(t.bp_above_baseline_percent),
    }


def chair_json(chair: Chair) -> dict[str, Any]:
    """Return a chair or recovery bay as API.md shows it."""
    return {
        "id": chair.id,
        "site_id": chair.site_id,
        "name": chair.name,
        "kind": chair.kind,
        "active": chair.active,
    }


def shift_json(shift: Shift) -> dict[str, Any]:
    """Return a shift as API.md shows it."""
    return {
        "id": shift.id,
        "site_id": shift.site_id,
        "user_id": shift.user_id,
        "role": shift.role,
        "starts_at": instant(shift.starts_at),
        "ends_at": instant(shift.ends_at),
    }


def user_json(user: User) -> dict[str, Any]:
    """Return a user as API.md shows it (never the password hash)."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "site_ids": user.site_ids,
    }


def patient_json(patient: Patient) -> dict[str, Any]:
    """Return a patient as API.md shows it."""
    return {
        "id": patient.id,
        "site_id": patient.site_id,
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "birth_date": day(patient.birth_date),
        "phone": patient.phone,
        "email": patient.email,
        "weight_kg": patient.weight_kg,
        "escort_name": patient.escort_name,
        "escort_phone": patient.escort_phone,
    }


def clearance_json(clearance: Clearance) -> dict[str, Any]:
    """Return a clearance as API.md shows it."""
    return {
        "id": clearance.id,
        "patient_id": clearance.patient_id,
        "evaluated_on": day(clearance.evaluated_on),
        "valid_until": day(clearance.valid_until),
        "cleared": clearance.cleared,
        "consent_signed": clearance.consent_signed,
        "contraindications": list(clearance.contraindications or []),
        "notes": clearance.notes or "",
        "practitioner_id": clearance.practitioner_id,
        "corrected_at": instant(clearance.corrected_at),
        "corrected_by_id": clearance.corrected_by_id,
        "voided": clearance.voided,
        "voided_at": instant(clearance.voided_at),
        "voided_by_id": clearance.voided_by_id,
        "void_reason": clearance.void_reason,
    }


def event_json(event: VisitEvent) -> dict[str, Any]:
    """Return a visit event: type, at, by, recorded_at, then its extra data."""
    extra = {k: v for k, v in (event.data or {}).items() if k not in {"type", "at", "by"}}
    return {
        "type": event.type,
        "at": instant(event.at),
        "by": event.by_id,
        "recorded_at": instant(event.recorded_at),
        **extra,
    }


def visit_json(visit: Visit) -> dict[str, Any]:
    """Return a visit as API.md shows it, with its events and notes."""
    return {
        "id": visit.id,
        "patient_id": visit.patient_id,
        "site_id": visit.site_id,
        "chair_id": visit.chair_id,
        "recovery_chair_id": visit.recovery_chair_id,
        "status": visit.status,
        "infusion_start": instant(visit.infusion_start),
        "infusion_end": instant(visit.infusion_end),
        "observation_end": instant(visit.observation_end),
        "infusion_minutes": visit.infusion_minutes,
        "observation_minutes": visit.observation_minutes,
        "checked_in_at": instant(visit.checked_in_at),
        "infusion_started_at": instant(visit.infusion_started_at),
        "infusion_ended_at": instant(visit.infusion_ended_at),
        "discharged_at": instant(visit.discharged_at),
        "discharge_due_at": instant(visit.discharge_due_at),
        "cancel_reason": visit.cancel_reason,
        "notes": visit.notes or "",
        "events": [event_json(event) for event in visit.events],
    }
