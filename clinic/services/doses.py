"""Doses given during a visit: drug, mg, lot, time and route, checked against the mg/kg order.

A nurse or a practitioner records each dose while the patient is in the clinic's care. An IV
dose is checked against the practitioner's order on the patient's clearance (mg/kg times the
patient's weight): more than 10 % off, it needs a practitioner's confirmation
(clinic.domain.treatments.dose_refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from clinic.database import lock_site_for_writing
from clinic.domain.booking import Violation
from clinic.domain.treatments import TreatmentKind, dose_refusal, expected_dose_mg
from clinic.domain.visits import EventRule, event_time_error
from clinic.extensions import db
from clinic.models import Clearance, Dose, Patient, TreatmentType, User, Visit
from clinic.services import access, audit
from clinic.services.errors import Conflict, Invalid
from clinic.services.observations import OBSERVABLE
from clinic.services.patient_overview import clearance_span, clearances_newest_first
from clinic.services.sites import today as site_today

# A dose is given while the patient is in the clinic's care, as a reading is taken.
DOSABLE = OBSERVABLE
MAX_DRUG = 80
MAX_LOT = 40
MAX_ROUTE = 20
# Numeric(8, 2): whole milligrams below a million, to the hundredth.
MAX_DOSE_MG = Decimal("10000")
DOSE_PLACES = 2
# The routes pages offer, as they are written; any other short text is kept as given.
ROUTES = ("IV", "intranasal", "IM")
IV = "IV"
# The route a dose takes when none is given, from the visit's treatment type.
DEFAULT_ROUTE = {
    TreatmentKind.IV_KETAMINE.value: "IV",
    TreatmentKind.ESKETAMINE.value: "intranasal",
}
TIMES = "\u00d7"  # the multiplication sign
DEFAULT_DRUG = {
    TreatmentKind.IV_KETAMINE.value: "Ketamine",
    TreatmentKind.ESKETAMINE.value: "Esketamine",
}


@dataclass(frozen=True)
class Order:
    """The practitioner's IV order for a patient, and the dose it means (None: no check)."""

    mg_per_kg: Decimal | None
    weight_kg: Decimal | None

    @property
    def expected_mg(self) -> Decimal | None:
        """Return mg/kg times the weight, or None without an order or a weight."""
        if self.mg_per_kg is None or self.weight_kg is None:
            return None
        return expected_dose_mg(self.mg_per_kg, self.weight_kg)

    def text(self) -> str:
        """Return the order as the dose dialog shows it: "0.5 mg/kg x 80 kg = 40 mg", with
        the multiplication sign."""
        expected = self.expected_mg
        if expected is None or self.mg_per_kg is None or self.weight_kg is None:
            return ""
        mg_per_kg, weight = _plain(self.mg_per_kg), _plain(self.weight_kg)
        return f"{mg_per_kg} mg/kg {TIMES} {weight} kg = {_mg(expected)} mg"


def _plain(number: Decimal) -> str:
    """Return a decimal without trailing zeros: 0.500 -> 0.5, 80.0 -> 80."""
    text = f"{number.normalize():f}"
    return text


def _mg(number: Decimal) -> str:
    """Return milligrams to the hundredth at most: 41.25, 40."""
    return _plain(number.quantize(Decimal("0.01")))


def order_for(patient: Patient, at: datetime) -> Order:
    """Return the mg/kg of the patient's latest clearance valid on the site's day of `at`,
    with the patient's weight."""
    day = site_today(patient.site, at)
    valid: list[Clearance] = [
        c for c in clearances_newest_first(patient) if clearance_span(c).valid_on(day)
    ]
    mg_per_kg = valid[0].mg_per_kg if valid else None
    weight = patient.weight_kg
    return Order(
        mg_per_kg=Decimal(mg_per_kg) if mg_per_kg is not None else None,
        weight_kg=Decimal(str(weight)) if weight else None,
    )


def treatment_kind(visit: Visit) -> str | None:
    """Return the kind of the visit's treatment type (iv_ketamine, esketamine, other)."""
    type_ = db.session.get(TreatmentType, visit.treatment_type_id)
    return type_.kind if type_ is not None else None


def default_route(visit: Visit) -> str:
    """Return the route a dose of this visit takes when none is given."""
    return DEFAULT_ROUTE.get(treatment_kind(visit) or "", "")


def default_drug(visit: Visit) -> str:
    """Return the drug a dose of this visit usually is (the dialog's prefill)."""
    return DEFAULT_DRUG.get(treatment_kind(visit) or "", "")


def _route(raw: Any, visit: Visit) -> str:
    """Return the route as stored: a known route in its usual spelling, else the text."""
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text:
        return default_route(visit)
    known = {route.lower(): route for route in ROUTES}
    return known.get(text.lower(), text)


def _milligrams(raw: Any) -> Decimal | None:
    """Return a dose as an exact decimal, or None when it is not a usable number."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        return None
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _places(number: Decimal) -> int:
    """Return how many decimals a finite number is written with (2 for 40.25)."""
    exponent = number.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def dose_errors(values: dict[str, Any], at: datetime, now: datetime) -> dict[str, list[str]]:
    """Return field errors of a dose (drug, dose_mg, lot, route, at); empty when valid."""
    errors: dict[str, list[str]] = {}
    for name, limit in (("drug", MAX_DRUG), ("lot", MAX_LOT)):
        text = values.get(name)
        if not isinstance(text, str) or not text.strip():
            errors[name] = ["Required."]
        elif len(text.strip()) > limit:
            errors[name] = [f"At most {limit} characters."]
    route = values.get("route")
    if route is not None and (not isinstance(route, str) or len(route.strip()) > MAX_ROUTE):
        errors["route"] = [f"Text of at most {MAX_ROUTE} characters."]
    mg = _milligrams(values.get("dose_mg"))
    if mg is None:
        errors["dose_mg"] = ["A number of milligrams."]
    elif not Decimal(0) < mg <= MAX_DOSE_MG:
        errors["dose_mg"] = [f"More than 0 and at most {MAX_DOSE_MG} mg."]
    elif _places(mg) > DOSE_PLACES:
        errors["dose_mg"] = [f"At most {DOSE_PLACES} decimals."]
    if error := event_time_error(at, now, None):
        errors["at"] = [error]
    return errors


def record_dose(
    actor: User,
    visit_id: int,
    values: dict[str, Any],
    now: datetime,
    at: datetime | None = None,
    confirm: bool = False,
) -> Dose:
    """Record a dose given during a visit in the clinic's care.

    `values` holds drug, dose_mg, lot and the optional route (the type's usual route when
    left out). An IV dose more than 10 % off the clearance's mg/kg order for the patient's
    weight is refused (409 dose_confirmation_required) unless a practitioner confirms it.
    """
    visit = access.get_visit(actor, visit_id)
    access.require(actor, "clinical")
    lock_site_for_writing(visit.site_id)
    visit = access.get_visit(actor, visit_id)
    at = now if at is None else at
    errors = dose_errors(values, at, now)
    if errors:
        raise Invalid("Some fields of the dose are missing or invalid.", errors)
    patient_id, visit_key = visit.patient_id, visit.id
    try:
        if visit.status not in DOSABLE:
            state = visit.status.replace("_", " ")
            message = f"Doses are recorded only while the patient is in care; this one is {state}."
            raise Conflict(message, [Violation(EventRule.ILLEGAL_TRANSITION, message)])
        mg = _milligrams(values["dose_mg"])
        assert mg is not None  # dose_errors checked it
        route = _route(values.get("route"), visit)
        confirmed = _checked(actor, visit, mg, route, at, confirm)
    except Conflict as refusal:
        db.session.rollback()
        rules = sorted({str(v.rule) for v in refusal.reasons})
        audit.record_now(
            actor,
            "dose.create",
            now,
            patient_id=patient_id,
            object_type="visit",
            object_id=visit_key,
            outcome="refused",
            detail={"rules": rules},
        )
        raise
    dose = Dose(
        visit_id=visit.id,
        drug=values["drug"].strip(),
        dose_mg=mg,
        lot=values["lot"].strip(),
        at=at,
        route=route,
        recorded_by_id=actor.id,
        confirmed_by_id=actor.id if confirmed else None,
        created_at=now,
    )
    db.session.add(dose)
    # The REMS form and the dashboard read the visit's updated_at.
    visit.updated_at = now
    audit.record(
        actor,
        "dose.confirm" if confirmed else "dose.create",
        now,
        patient_id=visit.patient_id,
        object_type="dose",
        object_id=dose,
        detail={"visit_id": visit.id},
        site_id=visit.site_id,
    )
    db.session.commit()
    return dose


def _checked(
    actor: User, visit: Visit, mg: Decimal, route: str, at: datetime, confirm: bool
) -> bool:
    """Check an IV dose against the order; return whether a practitioner confirmed it off."""
    if route != IV:
        return False
    order = order_for(visit.patient, at)
    off = dose_refusal(mg, order.mg_per_kg, order.weight_kg, confirmed_by_practitioner=False)
    if off is None:
        return False
    if confirm and access.can(actor, "confirm_dose"):
        return True
    suffix = (
        " Tick the confirmation to record it as ordered by you."
        if access.can(actor, "confirm_dose")
        else " Only a practitioner may confirm it."
    )
    refusal = Violation(off.rule, off.message + suffix)
    raise Conflict(refusal.message, [refusal])


def list_doses(actor: User, visit_id: int) -> list[Dose]:
    """Return a visit's doses by time (then entry)."""
    visit = access.get_visit(actor, visit_id)
    return doses_by_visit([visit.id]).get(visit.id, [])


def doses_by_visit(visit_ids: list[int]) -> dict[int, list[Dose]]:
    """Load the doses of many visits in one query: visit id -> doses by time."""
    ids = sorted(set(visit_ids))
    if not ids:
        return {}
    stmt = select(Dose).where(Dose.visit_id.in_(ids)).order_by(Dose.visit_id, Dose.at, Dose.id)
    found: dict[int, list[Dose]] = {}
    for dose in db.session.scalars(stmt):
        found.setdefault(dose.visit_id, []).append(dose)
    return found


@dataclass(frozen=True)
class DoseLine:
    """A dose as the record prints it, with who recorded and who confirmed it."""

    dose: Dose
    by: str | None
    confirmed_by: str | None


def dose_lines(actor: User, visit_id: int) -> list[DoseLine]:
    """Return a visit's doses by time with the names of who recorded and confirmed them."""
    given = list_doses(actor, visit_id)
    ids = {d.recorded_by_id for d in given} | {d.confirmed_by_id for d in given}
    known = [i for i in ids if i is not None]
    names: dict[int, str] = {}
    if known:
        names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(known)))}
    return [
        DoseLine(
            dose=d,
            by=names.get(d.recorded_by_id) if d.recorded_by_id else None,
            confirmed_by=names.get(d.confirmed_by_id) if d.confirmed_by_id else None,
        )
        for d in given
    ]
