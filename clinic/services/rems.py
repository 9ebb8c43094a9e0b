"""The Spravato REMS Patient Monitoring Form of a session: read from the record, answered, gated.

The form is derived from the record (doses, readings, the discharge) by the pure rules of
clinic.domain.treatments; the two answers the record cannot give (the concomitant medication
classes and "when would the patient have been ready to leave") are stored on the visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.database import lock_site_for_writing
from clinic.domain.booking import Violation
from clinic.domain.treatments import (
    CONCOMITANT_CLASSES,
    Dose,
    FormState,
    SessionFacts,
    dose_option,
    first_device_at,
    rems_discharge_refusals,
    rems_form,
)
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import Dose as DoseRow
from clinic.models import Observation, TreatmentType, User, Visit
from clinic.services import access, audit
from clinic.services.errors import Conflict, Invalid
from clinic.services.observations import reading_of, site_thresholds

# "If there were no 2-hour minimum, when would the patient have been ready to leave": minutes.
READY_TO_LEAVE_RANGE = (0, 24 * 60)
# A form is answered for a session that happened or may still happen.
CLOSED = frozenset({Status.CANCELLED.value, Status.NO_SHOW.value})
NOT_REMS = "This visit is not a REMS session: it has no monitoring form."


def is_rems(visit: Visit) -> bool:
    """Tell whether the visit's treatment type is a REMS session."""
    treatment_type = db.session.get(TreatmentType, visit.treatment_type_id)
    return treatment_type is not None and treatment_type.rems


def doses_of(visit: Visit) -> tuple[Dose, ...]:
    """Return the visit's doses as the domain reads them, in the order given."""
    stmt = select(DoseRow).where(DoseRow.visit_id == visit.id).order_by(DoseRow.at, DoseRow.id)
    return tuple(
        Dose(drug=row.drug, dose_mg=row.dose_mg, lot=row.lot, at=row.at, route=row.route or "")
        for row in db.session.scalars(stmt)
    )


def session_facts(visit: Visit, ended_at: datetime | None = None) -> SessionFacts:
    """Return what the record holds about the session; `ended_at` defaults to the discharge."""
    stmt = select(Observation).where(Observation.visit_id == visit.id)
    readings = tuple(reading_of(o) for o in db.session.scalars(stmt.order_by(Observation.at)))
    concomitant = visit.rems_concomitant or {}
    return SessionFacts(
        doses=doses_of(visit),
        readings=readings,
        ended_at=ended_at if ended_at is not None else visit.discharged_at,
        ready_to_leave_minutes=visit.ready_to_leave_minutes,
        concomitant={name: concomitant.get(name) for name in CONCOMITANT_CLASSES},
        thresholds=site_thresholds(visit.site),
    )


def first_device(visit: Visit, doses: tuple[Dose, ...] | None = None) -> datetime | None:
    """Return the session's first device: the first dose, else the administration's start."""
    first = first_device_at(doses if doses is not None else doses_of(visit))
    return first if first is not None else visit.infusion_started_at


@dataclass(frozen=True)
class RemsForm:
    """A session's monitoring form with what the REMS also asks about the patient and site."""

    visit: Visit
    state: FormState
    treatment_date: date
    first_device_at: datetime | None
    ended_at: datetime | None
    first_treatment: bool
    enrolled: bool

    def answer(self) -> dict[str, Any]:
        """Return the form as the API answers it (bp and concomitant nested)."""
        visit, patient, site = self.visit, self.visit.patient, self.visit.site
        values = self.state.nested()
        dose = values["dose_mg"]
        certified = site.rems_certified_on is not None
        return {
            "visit_id": visit.id,
            "patient_id": visit.patient_id,
            "complete": self.state.complete,
            "missing": list(self.state.missing),
            "treatment_date": self.treatment_date,
            **values,
            "dose_option": dose_option(dose) if isinstance(dose, Decimal) else None,
            "first_device_at": self.first_device_at,
            "ended_at": self.ended_at,
            "first_treatment": self.first_treatment,
            "enrolled": self.enrolled,
            "rems_patient_id": patient.rems_patient_id,
            "site_certification": {
                "certified_on": site.rems_certified_on,
                "authorized_representative": site.rems_authorized_representative,
            }
            if certified
            else None,
        }


def build_form(visit: Visit, ended_at: datetime | None = None) -> RemsForm:
    """Return a REMS visit's monitoring form; `ended_at` stands for the discharge if given."""
    facts = session_facts(visit, ended_at)
    first = first_device(visit, facts.doses)
    tz = ZoneInfo(visit.site.timezone)
    day = (first or visit.infusion_start).astimezone(tz).date()
    enrolled_on = visit.patient.rems_enrolled_on
    return RemsForm(
        visit=visit,
        state=rems_form(facts),
        treatment_date=day,
        first_device_at=first,
        ended_at=facts.ended_at,
        first_treatment=not _earlier_rems_session(visit),
        enrolled=enrolled_on is not None and enrolled_on <= day,
    )


def _earlier_rems_session(visit: Visit) -> bool:
    """Tell whether the patient was discharged from a REMS session before this one."""
    stmt = (
        select(Visit.id)
        .join(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
        .where(
            Visit.patient_id == visit.patient_id,
            Visit.id != visit.id,
            Visit.discharged_at.is_not(None),
            Visit.infusion_start < visit.infusion_start,
            TreatmentType.rems.is_(True),
        )
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def _rems_visit(actor: User, visit_id: int) -> Visit:
    visit = access.get_visit(actor, visit_id)
    if not is_rems(visit):
        raise Conflict(NOT_REMS)
    return visit


def get_form(actor: User, visit_id: int, now: datetime) -> RemsForm:
    """Return a REMS visit's monitoring form to a user who may see the visit (viewing audited)."""
    visit = _rems_visit(actor, visit_id)
    audit.viewed(actor, visit.patient_id, "visit", visit.id, now=now, site_id=visit.site_id)
    return build_form(visit)


def answer_errors(changes: dict[str, Any]) -> dict[str, list[str]]:
    """Return field errors for the form's answers; empty when they are valid."""
    errors: dict[str, list[str]] = {}
    if "concomitant" in changes:
        given = changes["concomitant"]
        if not isinstance(given, dict):
            errors["concomitant"] = ["An object of the four classes: true or false each."]
        else:
            for name in CONCOMITANT_CLASSES:
                if not isinstance(given.get(name), bool):
                    errors[f"concomitant.{name}"] = ["true or false."]
    if "ready_to_leave_minutes" in changes:
        minutes = changes["ready_to_leave_minutes"]
        low, high = READY_TO_LEAVE_RANGE
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
            errors["ready_to_leave_minutes"] = [f"A whole number of minutes, {low}-{high}."]
    if not errors and not {"concomitant", "ready_to_leave_minutes"} & set(changes):
        errors["body"] = ["Give concomitant, ready_to_leave_minutes or both."]
    return errors


def record_answers(actor: User, visit_id: int, changes: dict[str, Any], now: datetime) -> RemsForm:
    """Record the form's answers the record cannot give (nurse, practitioner); audited."""
    visit = access.get_visit(actor, visit_id)
    access.require(actor, "clinical")
    if errors := answer_errors(changes):
        raise Invalid("Some monitoring form answers are missing or invalid.", errors)
    lock_site_for_writing(visit.site_id)
    visit = _rems_visit(actor, visit_id)
    if visit.status in CLOSED:
        raise Conflict(f"This visit is {visit.status.replace('_', ' ')}: it has no session.")
    changed: list[str] = []
    if "concomitant" in changes:
        given = {name: changes["concomitant"][name] for name in CONCOMITANT_CLASSES}
        if visit.rems_concomitant != given:
            visit.rems_concomitant = given
            changed.append("concomitant")
    minutes = changes.get("ready_to_leave_minutes", visit.ready_to_leave_minutes)
    if minutes != visit.ready_to_leave_minutes:
        visit.ready_to_leave_minutes = minutes
        changed.append("ready_to_leave_minutes")
    visit.updated_at = now
    audit.record(
        actor,
        "visit.rems_form",
        now,
        patient_id=visit.patient_id,
        object_type="visit",
        object_id=visit.id,
        detail={"changed": changed},
    )
    db.session.commit()
    return build_form(visit)


def discharge_refusals(visit: Visit, at: datetime) -> list[Violation]:
    """Return why a REMS session may not be discharged at `at` (none for other visits).

    The form is read as it would be with the discharge at `at`: its total minutes and its
    blood pressure before leaving count up to that instant. No role and no override passes.
    """
    if not is_rems(visit):
        return []
    form = build_form(visit, ended_at=at)
    # The session's start is its first device (API.md: infusion_started_at + observation).
    first = visit.infusion_started_at or form.first_device_at or at
    tz = ZoneInfo(visit.site.timezone)
    return rems_discharge_refusals(first, visit.observation_minutes, at, form.state.missing, tz)
