"""Vital signs and side effects: record them with their flags, and read them back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinic.database import lock_site_for_writing
from clinic.domain import discharge
from clinic.domain.visits import Status, event_time_error
from clinic.domain.vitals import RANGES, Reading, Thresholds, flags, validate_reading
from clinic.extensions import db
from clinic.models import Observation, Site, User, Visit
from clinic.services import access, audit
from clinic.services.errors import Conflict, Invalid

# A reading is taken while the patient is in the clinic's care.
OBSERVABLE = frozenset({Status.CHECKED_IN.value, Status.INFUSING.value, Status.RECOVERING.value})
MAX_NOTE = 1000
READING_FIELDS = tuple(RANGES)  # systolic .. moaas, in API order
# Site.vital_thresholds keys: the Thresholds fields that are (systolic, diastolic) pairs,
# and those that are single numbers.
PAIR_THRESHOLDS = ("bp_high", "bp_critical")
NUMBER_THRESHOLDS = ("hr_high", "hr_low", "spo2_low", "bp_above_baseline_percent")


def site_thresholds(site: Site) -> Thresholds:
    """Return the site's vital-sign limits: its overrides over DESIGN.md's defaults."""
    overrides = site.vital_thresholds or {}
    values: dict[str, Any] = {}
    for name in PAIR_THRESHOLDS:
        pair = overrides.get(name)
        if isinstance(pair, list | tuple) and len(pair) == 2 and all(_number(v) for v in pair):
            values[name] = (int(pair[0]), int(pair[1]))
    for name in NUMBER_THRESHOLDS:
        if _number(overrides.get(name)):
            values[name] = overrides[name]
    return Thresholds(**values)


def _number(value: Any) -> bool:
    # A stored setting that is not a number is ignored rather than trusted.
    return isinstance(value, int | float) and not isinstance(value, bool)


def reading_of(observation: Observation) -> Reading:
    """Return an observation as the domain's rules read it."""
    return Reading(
        at=observation.at,
        systolic=observation.systolic,
        diastolic=observation.diastolic,
        heart_rate=observation.heart_rate,
        spo2=observation.spo2,
        respiratory_rate=observation.respiratory_rate,
        dissociation=observation.dissociation,
        nausea=observation.nausea,
        dizziness=observation.dizziness,
        moaas=observation.moaas,
    )


def _in_order(observations: Iterable[Observation]) -> list[Observation]:
    return sorted(observations, key=lambda o: (o.at, o.id or 0))


def reading_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return field errors for a reading's numbers; empty when they are valid."""
    return validate_reading(values)


def record_observation(
    actor: User,
    visit_id: int,
    values: dict[str, Any],
    now: datetime,
    at: datetime | None = None,
    note: str = "",
) -> Observation:
    """Record a reading on a visit in the clinic's care; its flags are fixed at write time.

    `values` holds the numbers (systolic, diastolic, heart_rate, spo2 and the optional
    respiratory_rate, dissociation, nausea, dizziness, moaas). A reading taken before the visit's
    first one becomes the baseline, and the later readings' flags are computed again.
    """
    visit = access.get_visit(actor, visit_id)
    access.require(actor, "clinical")
    lock_site_for_writing(visit.site_id)
    visit = access.get_visit(actor, visit_id)
    at = now if at is None else at
    errors = reading_errors(values)
    if error := event_time_error(at, now, None):
        errors["at"] = [error]
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        errors["note"] = [f"Text of at most {MAX_NOTE} characters."]
    if errors:
        raise Invalid("Some readings are missing or out of range.", errors)
    if visit.status not in OBSERVABLE:
        state = visit.status.replace("_", " ")
        raise Conflict(f"Vital signs are recorded only during a visit; this one is {state}.")
    observation = Observation(
        visit_id=visit.id,
        at=at,
        recorded_at=now,
        by_id=actor.id,
        note=note.strip(),
        **{name: values.get(name) for name in READING_FIELDS},
    )
    earlier = _in_order(observations_by_visit([visit.id]).get(visit.id, []))
    thresholds = site_thresholds(visit.site)
    if earlier and at >= earlier[0].at:
        observation.flags = flags(reading_of(observation), reading_of(earlier[0]), thresholds)
    else:
        # The new reading is the baseline: the others are now measured against it.
        baseline = reading_of(observation)
        observation.flags = flags(baseline, None, thresholds)
        for other in earlier:
            other.flags = flags(reading_of(other), baseline, thresholds)
    db.session.add(observation)
    # The scheduler's reconcile and the dashboard's ETag read the visit's updated_at.
    visit.updated_at = now
    audit.record(
        actor,
        "observation.create",
        now,
        patient_id=visit.patient_id,
        object_type="observation",
        object_id=observation,
        detail={"visit_id": visit.id},
        site_id=visit.site_id,
    )
    db.session.commit()
    return observation


def list_observations(actor: User, visit_id: int) -> list[Observation]:
    """Return a visit's readings, oldest first."""
    visit = access.get_visit(actor, visit_id)
    return observations_by_visit([visit.id]).get(visit.id, [])


def observations_by_visit(visit_ids: Iterable[int]) -> dict[int, list[Observation]]:
    """Load the readings of many visits in one query: visit id -> readings, oldest first."""
    ids = sorted(set(visit_ids))
    if not ids:
        return {}
    stmt = (
        select(Observation)
        .where(Observation.visit_id.in_(ids))
        .order_by(Observation.visit_id, Observation.at, Observation.id)
    )
    found: dict[int, list[Observation]] = {}
    for observation in db.session.scalars(stmt):
        found.setdefault(observation.visit_id, []).append(observation)
    return found


def vitals_stable_for(visit: Visit, readings: list[Observation] | None = None) -> bool:
    """Tell whether the visit's latest reading is stable against its first (checklist hint)."""
    if readings is None:
        readings = observations_by_visit([visit.id]).get(visit.id, [])
    if not readings:
        return False
    ordered = _in_order(readings)
    latest, baseline = reading_of(ordered[-1]), reading_of(ordered[0])
    return discharge.vitals_stable(latest, baseline, site_thresholds(visit.site))


def padss_vital_signs_hint(readings: list[Observation]) -> int | None:
    """Return the PADSS vital-signs score of the latest reading against the first, if any."""
    if not readings:
        return None
    ordered = _in_order(readings)
    return discharge.vital_signs_score(reading_of(ordered[-1]), reading_of(ordered[0]))
