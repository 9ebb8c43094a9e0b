"""Patients: search, demographics, clearances."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from clinic.models import Clearance, Patient
from clinic.services import access, audit, courses, setup
from clinic.services import patients as patient_service
from clinic.services import waitlist as recall
from clinic.services.errors import Conflict, Invalid
from clinic.services.patient_overview import (
    clearance_standing,
    clearances_newest_first,
    next_visits,
)
from clinic.services.sites import today as site_today
from clinic.types import utcnow
from clinic.web.forms import show_refusal
from clinic.web.outcomes import patient_outcomes
from clinic.web.patient_forms import (
    ClearanceForm,
    PatientForm,
    PatientSearchForm,
    PlanForm,
    RemsEnrollmentForm,
    VoidClearanceForm,
    contraindication_label,
    fill_clearance_form,
)
from clinic.web.roles import role_required

bp = Blueprint("patients", __name__)

LIST_LIMIT = 50


@bp.context_processor
def helpers() -> dict:
    """Give the patient templates their formatting helpers."""
    return {
        "contraindication_label": contraindication_label,
        "can": lambda action: access.can(current_user, action),
    }


def add_months(day: date, months: int) -> date:
    """Return the same day some months later (clamped to the month's end)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def _show_service_error(form, error: Invalid | Conflict) -> None:
    """Put a service's refusal on the form; a duplicate MRN beside the MRN."""
    if isinstance(error, Conflict) and "MRN" in error.message and "mrn" in form:
        form.mrn.errors = [*form.mrn.errors, error.message]
    else:
        show_refusal(form, error)


def _saved(form, save: Callable[[], Any], done: str, patient: Patient | None = None):
    """Save a valid form, then show the patient (or the one saved); None leaves the form shown."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save()
    except (Invalid, Conflict) as error:
        _show_service_error(form, error)
        return None
    flash(done, "success")
    return redirect(url_for("patients.detail", patient_id=(patient or saved).id))


def _site_choices(form: PatientForm) -> None:
    """Offer a site select to users of several sites; drop it for the others."""
    sites = setup.list_sites(current_user)
    if len(sites) > 1:
        form.site_id.choices = [SelectChoice(site.id, site.name) for site in sites]
    else:
        del form.site_id


def _rows(patients) -> list[dict]:
    """Return the list rows: patient, clearance standing, next visit."""
    now = utcnow()
    upcoming = next_visits([p.id for p in patients], now)
    return [
        {"patient": p, "standing": clearance_standing(p, now), "next_visit": upcoming.get(p.id)}
        for p in patients
    ]


@bp.route("/patients", methods=["GET", "POST"])
@login_required
def index():
    """List the patients of the user's sites; search by name or MRN with a POST."""
    form = PatientSearchForm()
    query = None
    if form.is_submitted():
        if not form.validate():
            return render_template("patients/index.html", form=form, rows=[], query=None)
        query = form.q.data or None
    patients = patient_service.search(current_user, query, limit=LIST_LIMIT + 1, now=utcnow())
    return render_template(
        "patients/index.html",
        form=form,
        rows=_rows(patients[:LIST_LIMIT]),
        query=query,
        more=len(patients) > LIST_LIMIT,
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@role_required("edit_patients")
def create():
    """Register a new patient."""
    form = PatientForm()
    _site_choices(form)
    site_id = form.site_id.data if "site_id" in form else None
    answer = _saved(
        form,
        lambda: patient_service.create_patient(current_user, site_id, form.values(), now=utcnow()),
        "The patient is registered.",
    )
    return answer or render_template("patients/form.html", form=form, patient=None)


@bp.route("/patients/<int:patient_id>")
@login_required
def detail(patient_id: int):
    """Show a patient: demographics, escort, clearances and visits."""
    patient = access.get_patient(current_user, patient_id)
    audit.viewed(
        current_user, patient.id, "patient", patient.id, now=utcnow(), site_id=patient.site_id
    )
    now = utcnow()
    visits = patient_service.visits_of(patient)
    upcoming = [v for v in visits if v.is_active and v.observation_end >= now]
    upcoming.reverse()  # soonest first
    past = [v for v in visits if v not in upcoming]
    return render_template(
        "patients/detail.html",
        patient=patient,
        standing=clearance_standing(patient, now),
        clearances=clearances_newest_first(patient),
        upcoming=upcoming,
        past=past,
        rems_form=_enrolment_form(patient),
        courses=courses.list_courses(current_user, patient.id),
        outcomes=patient_outcomes(patient),
        plan=_plan(patient),
        plan_editor=_plan_form(patient),
    )


def _enrolment_form(patient: Patient) -> RemsEnrollmentForm:
    """Return the REMS enrolment form, filled with the patient's enrolment if any."""
    return RemsEnrollmentForm(
        enrolled_on=patient.rems_enrolled_on, rems_patient_id=patient.rems_patient_id
    )


@bp.route("/patients/<int:patient_id>/rems-enrollment", methods=["GET", "POST"])
@role_required("record_clearance")
def rems_enrollment(patient_id: int):
    """Record or correct the patient's REMS enrolment (practitioner)."""
    patient = access.get_patient(current_user, patient_id)
    form = _enrolment_form(patient)
    answer = _saved(
        form,
        lambda: patient_service.record_rems_enrollment(
            current_user, patient, form.enrolled_on.data, form.rems_patient_id.data, utcnow()
        ),
        "The REMS enrolment is recorded.",
        patient,
    )
    return answer or render_template("patients/rems_enrollment.html", form=form, patient=patient)


def _plan(patient: Patient) -> dict | None:
    """Return the patient's maintenance plan and the day it makes them due, if one is set."""
    plan = recall.plan_of(patient)
    return None if plan is None else {"plan": plan, "due_on": recall.due_on(plan)}


def _plan_form(patient: Patient) -> PlanForm:
    """Return the plan form, filled with the patient's plan if any."""
    plan = recall.plan_of(patient)
    if plan is None:
        return PlanForm()
    return PlanForm(
        template=plan.template, every_days=plan.every_days, next_due_on=plan.next_due_on
    )


@bp.route("/patients/<int:patient_id>/plan", methods=["GET", "POST"])
@role_required("edit_patients")
def plan(patient_id: int):
    """Set how often the patient comes back (front desk and practitioners)."""
    patient = access.get_patient(current_user, patient_id)
    form = _plan_form(patient)
    answer = _saved(
        form,
        lambda: recall.set_plan(
            current_user,
            patient.id,
            form.every_days.data,
            form.next_due_on.data,
            utcnow(),
            template=form.template.data,
        ),
        "The maintenance plan is saved.",
        patient,
    )
    return answer or render_template("patients/plan.html", form=form, patient=patient)


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
@role_required("edit_patients")
def edit(patient_id: int):
    """Change a patient's details."""
    patient = access.get_patient(current_user, patient_id)
    if request.method == "GET":
        audit.viewed(
            current_user, patient.id, "patient", patient.id, now=utcnow(), site_id=patient.site_id
        )
    form = PatientForm(obj=patient)
    _site_choices(form)

    def save() -> Patient:
        changes = form.values()
        if "site_id" in form:
            changes["site_id"] = form.site_id.data
        return patient_service.update_patient(current_user, patient, changes, now=utcnow())

    answer = _saved(form, save, "The patient's details are saved.", patient)
    return answer or render_template("patients/form.html", form=form, patient=patient)


@bp.route("/patients/<int:patient_id>/clearances/new", methods=["GET", "POST"])
@role_required("record_clearance")
def new_clearance(patient_id: int):
    """Record a practitioner's evaluation of a patient."""
    patient = access.get_patient(current_user, patient_id)
    form = ClearanceForm()
    if not form.is_submitted():
        today = site_today(patient.site, utcnow())
        form.evaluated_on.data = today
        form.valid_until.data = add_months(today, 6)
    answer = _saved(
        form,
        lambda: patient_service.record_clearance(
            current_user, patient, form.values(), now=utcnow()
        ),
        "The clearance is recorded.",
        patient,
    )
    return answer or render_template("patients/clearance_form.html", form=form, patient=patient)


def _live_clearance(patient_id: int, clearance_id: int, if_void: str) -> tuple[Patient, Clearance]:
    """Load a clearance to change (its form's showing is audited); a void one goes back."""
    patient = access.get_patient(current_user, patient_id)
    clearance = patient_service.get_clearance(patient, clearance_id)
    if request.method == "GET":
        audit.viewed(
            current_user,
            patient.id,
            "clearance",
            clearance.id,
            now=utcnow(),
            site_id=patient.site_id,
        )
    if clearance.voided:
        flash(if_void, "warning")
        abort(redirect(url_for("patients.detail", patient_id=patient.id)))
    return patient, clearance


@bp.route("/patients/<int:patient_id>/clearances/<int:clearance_id>/edit", methods=["GET", "POST"])
@role_required("record_clearance")
def correct_clearance(patient_id: int, clearance_id: int):
    """Correct a clearance that was recorded wrongly."""
    patient, clearance = _live_clearance(
        patient_id, clearance_id, "A voided clearance cannot be corrected; record a new one."
    )
    form = ClearanceForm()
    if not form.is_submitted():
        fill_clearance_form(form, clearance)
    answer = _saved(
        form,
        lambda: patient_service.correct_clearance(
            current_user, patient, clearance.id, form.values(), utcnow()
        ),
        "The clearance is corrected.",
        patient,
    )
    return answer or render_template(
        "patients/clearance_form.html", form=form, patient=patient, clearance=clearance
    )


@bp.route("/patients/<int:patient_id>/clearances/<int:clearance_id>/void", methods=["GET", "POST"])
@role_required("record_clearance")
def void_clearance(patient_id: int, clearance_id: int):
    """Void a clearance, with a reason; it stays on the patient's page, marked void."""
    patient, clearance = _live_clearance(
        patient_id, clearance_id, "This clearance is already void."
    )
    form = VoidClearanceForm()
    answer = _saved(
        form,
        lambda: patient_service.void_clearance(
            current_user, patient, clearance.id, form.reason.data, utcnow()
        ),
        "The clearance is void; it no longer clears the patient.",
        patient,
    )
    return answer or render_template(
        "patients/void_clearance.html", form=form, patient=patient, clearance=clearance
    )
