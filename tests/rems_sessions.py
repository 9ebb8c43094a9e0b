"""REMS sessions for the tracker's tests: discharged visits of a REMS type, written directly.

The tracker only reads what a session ended as (a discharged visit of a `rems` type and its
discharge instant), so the rows are written as they stand after a discharge, without the
events and the REMS gates that lead there (those have their own tests).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from clinic.database import begin_write
from clinic.extensions import db
from clinic.models import Chair, Patient, Site, TreatmentType, Visit
from clinic.seed import SPRAVATO as SPRAVATO_WITH_LIMIT

# The demo's Spravato type without its pre-dose limit, for tests about something else.
SPRAVATO = {k: v for k, v in SPRAVATO_WITH_LIMIT.items() if not k.startswith("predose_")}


def rems_type(site: Site, rems: bool = True) -> TreatmentType:
    """Add a treatment type to a site (Spravato-like; `rems=False`: a plain one)."""
    begin_write()
    treatment_type = TreatmentType(
        site_id=site.id,
        name="Spravato 56/84 mg" if rems else "IV ketamine",
        kind="esketamine" if rems else "iv_ketamine",
        active=True,
        administration_min=10,
        administration_max=15,
        administration_default=15,
        observation_min=120,
        observation_default=120,
        observation_from="administration_start",
        rems=rems,
    )
    if rems and site.rems_certified_on is None:
        site.rems_certified_on = date(2026, 10, 1)
        site.rems_authorized_representative = "Dr. Reyes"
    db.session.add(treatment_type)
    db.session.commit()
    return treatment_type


def session(
    patient: Patient,
    chair: Chair,
    treatment_type: TreatmentType,
    discharged_at: datetime,
    status: str = "discharged",
) -> Visit:
    """Write a visit that started 2 h 30 min before `discharged_at` and ended as `status`."""
    start = discharged_at - timedelta(minutes=150)
    begin_write()
    visit = Visit(
        patient_id=patient.id,
        site_id=patient.site_id,
        chair_id=chair.id,
        treatment_type_id=treatment_type.id,
        status=status,
        infusion_start=start,
        infusion_end=start + timedelta(minutes=15),
        observation_end=start + timedelta(minutes=135),
        infusion_minutes=15,
        observation_minutes=120,
        chair_released_at=start + timedelta(minutes=150),
        checked_in_at=start - timedelta(minutes=10) if status != "booked" else None,
        infusion_started_at=start if status in ("recovering", "discharged") else None,
        infusion_ended_at=start + timedelta(minutes=15)
        if status in ("recovering", "discharged")
        else None,
        discharge_due_at=start + timedelta(minutes=135)
        if status in ("recovering", "discharged")
        else None,
        discharged_at=discharged_at if status == "discharged" else None,
    )
    db.session.add(visit)
    db.session.commit()
    return visit
