"""Insert visits straight into a phase of the day, bypassing the booking rules.

The dashboard tests need many patients in chairs at once; booking them one by one through
every rule (nurses, capacity, clearances) would test the booking, not the dashboard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clinic.domain.discharge import discharge_due_at
from clinic.extensions import db
from clinic.models import Chair, Observation, Patient, Site, Visit


def put_visit(
    site: Site,
    chair: Chair,
    patient: Patient,
    status: str,
    start: datetime,
    infusion: int = 45,
    observation: int = 120,
    bay: Chair | None = None,
    ended_late: int = 0,
    commit: bool = True,
) -> Visit:
    """Insert a visit booked at `start` that has reached `status` on time.

    checked_in: arrived 10 minutes before the start; infusing: started at the planned start;
    recovering: ended `ended_late` minutes after the planned end; discharged: left when due.
    """
    turnover = timedelta(minutes=site.turnover_minutes)
    infusion_end = start + timedelta(minutes=infusion)
    observation_end = infusion_end + timedelta(minutes=observation)
    visit = Visit(
        patient_id=patient.id,
        site_id=site.id,
        chair_id=chair.id,
        # As booking does: in chair mode the patient recovers in the infusion chair.
        recovery_chair_id=bay.id if bay else chair.id,
        status=status,
        infusion_start=start,
        infusion_end=infusion_end,
        observation_end=observation_end,
        infusion_minutes=infusion,
        observation_minutes=observation,
        chair_released_at=(infusion_end if bay else observation_end) + turnover,
        bay_released_at=observation_end + turnover if bay else None,
    )
    order = ["booked", "checked_in", "infusing", "recovering", "discharged"]
    reached = order.index(status) if status in order else 0
    if reached >= 1:
        visit.checked_in_at = start - timedelta(minutes=10)
    if reached >= 2:
        visit.infusion_started_at = start
    if reached >= 3:
        visit.infusion_ended_at = infusion_end + timedelta(minutes=ended_late)
        visit.discharge_due_at = discharge_due_at(visit.infusion_ended_at, observation, 0)
    if reached >= 4:
        visit.discharged_at = visit.discharge_due_at
    db.session.add(visit)
    if commit:
        db.session.commit()
    return visit


def put_reading(
    visit: Visit,
    at: datetime,
    systolic: int = 120,
    diastolic: int = 80,
    heart_rate: int = 72,
    spo2: int = 98,
    flags: list[str] | None = None,
    commit: bool = True,
    **extra,
) -> Observation:
    """Insert a reading as it would have been stored (flags as given)."""
    observation = Observation(
        visit_id=visit.id,
        at=at,
        recorded_at=at,
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=heart_rate,
        spo2=spo2,
        flags=flags or [],
        **extra,
    )
    db.session.add(observation)
    if commit:
        db.session.commit()
    return observation
