"""Induction courses: check a whole series of dates, then book all or the chosen ones."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TimeField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange

from clinic.domain.booking import Weekday
from clinic.domain.ids import is_digits
from clinic.models import Course, Patient
from clinic.services import access, audit
from clinic.services import frontdesk as desk
from clinic.services.booking import Request, active_chair_ids
from clinic.services.courses import (
    MAX_COURSE_LENGTH,
    CourseRefused,
    add_date,
    book_course,
    cancel_course,
    check_course,
    course_starts,
    course_visits,
    get_course,
    progress,
    reschedule_course,
)
from clinic.services.errors import ServiceError
from clinic.types import utcnow
from clinic.web.forms import optional_id, type_defaults
from clinic.web.roles import role_required

bp = Blueprint("courses", __name__)

# The course's own fields, carried with the choices so that the clerk can check again.
COURSE_FIELDS = ("first_day", "start_time", "weekdays", "count", "chair_id", "treatment_type_id")

WEEKDAY_CHOICES = [SelectChoice(str(i), day.short) for i, day in enumerate(Weekday)]


class CourseForm(FlaskForm):
    """The shape of an induction course."""

    patient_id = HiddenField(validators=[DataRequired()])
    first_day = DateField("First infusion", validators=[DataRequired()])
    start_time = TimeField("Time", validators=[DataRequired()])
    weekdays = SelectMultipleField(
        "Weekdays",
        choices=WEEKDAY_CHOICES,
        default=["0", "2", "4"],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="Choose at least one weekday.")],
    )
    count = IntegerField(
        "Infusions", default=6, validators=[DataRequired(), NumberRange(1, MAX_COURSE_LENGTH)]
    )
    chair_id = SelectField("Chair", coerce=int, default=0)
    # Checked by the booking service (an active type of the site); None: the site's default.
    treatment_type_id = SelectField("Treatment", coerce=optional_id, validate_choice=False)
    infusion_minutes = IntegerField("Infusion (min)", validators=[DataRequired()])
    observation_minutes = IntegerField("Observation (min)", validators=[DataRequired()])
    check = SubmitField("Check dates")


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the chosen dates come as radio values."""

    book = SubmitField("Book the chosen dates")


def _patient() -> Patient | None:
    """Return the patient the course is for (by id: no PHI in the URL), if one is named."""
    patient_id = request.values.get("patient_id", type=int)
    return None if patient_id is None else access.get_patient(current_user, patient_id)


def _no_patient():
    flash("Open a patient first, then book a course from their page.", "warning")
    return redirect(url_for("patients.index"))


def _requests(form: CourseForm, patient: Patient) -> list[Request]:
    tz = ZoneInfo(patient.site.timezone)
    starts = course_starts(
        form.first_day.data,
        form.start_time.data,
        {int(d) for d in form.weekdays.data},
        form.count.data,
        tz,
    )
    return [
        Request(
            patient_id=patient.id,
            infusion_start=start,
            site_id=patient.site_id,
            chair_id=form.chair_id.data or None,
            infusion_minutes=form.infusion_minutes.data,
            observation_minutes=form.observation_minutes.data,
            treatment_type_id=form.treatment_type_id.data,
        )
        for start in starts
    ]


@bp.route("/book/course", methods=["GET", "POST"])
@role_required("book")
def course():
    """Plan a course, show every clash with alternatives, and book the chosen dates."""
    patient = _patient()
    if patient is None:
        return _no_patient()
    site = patient.site
    types = desk.types_of_sites([site])
    default = next((t for t in types if t.id == site.default_treatment_type_id), None)
    form = CourseForm(
        patient_id=patient.id,
        treatment_type_id=default.id if default else None,
        infusion_minutes=default.administration_default if default else site.infusion_default,
        observation_minutes=default.observation_default if default else site.observation_default,
    )
    form.treatment_type_id.choices = [(t.id, t.name, type_defaults(t)) for t in types]
    chairs = access.get_site(current_user, site.id).chairs
    form.chair_id.choices = [SelectChoice(0, "Any free chair")] + [
        SelectChoice(c.id, c.name) for c in chairs if c.id in set(active_chair_ids(site))
    ]
    results, extra = None, []
    if form.validate_on_submit():
        try:
            results, extra = check_course(
                current_user,
                _requests(form, patient),
                utcnow(),
                {int(d) for d in form.weekdays.data},
            )
        except ServiceError as error:
            flash(error.message, "danger")
    audit.viewed(current_user, patient.id, "patient", patient.id, {"page": "course"}, now=utcnow())
    return render_template(
        "courses/course.html",
        form=form,
        patient=patient,
        site=site,
        tz=ZoneInfo(site.timezone),
        results=results,
        extra=extra,
        confirm=ConfirmForm(),
        chair_names={c.id: c.name for c in chairs},
        pick_type=len(types) > 1,
    )


@bp.post("/book/course/confirm")
@role_required("book")
def confirm():
    """Book the dates the clerk chose: all of them, or none if one was taken meanwhile."""
    patient = _patient()
    if patient is None:
        return _no_patient()
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired; check the course again.", "warning")
        return redirect(url_for("courses.course", patient_id=patient.id))
    minutes = (
        request.form.get("infusion_minutes", type=int),
        request.form.get("observation_minutes", type=int),
    )
    type_id = optional_id(request.form.get("treatment_type_id"))
    requests = []
    chosen = [v for k, v in request.form.items() if k.startswith("choice-")]
    for choice in chosen:
        chair, _, start = choice.partition("@")
        try:
            infusion_start = datetime.fromisoformat(start)
        except ValueError:
            continue
        requests.append(
            Request(
                patient_id=patient.id,
                infusion_start=infusion_start,
                site_id=patient.site_id,
                chair_id=int(chair) if is_digits(chair) and chair != "0" else None,
                infusion_minutes=minutes[0],
                observation_minutes=minutes[1],
                treatment_type_id=type_id,
            )
        )
    requests.sort(key=lambda r: r.infusion_start)
    asked = request.form.get("asked", type=int) or 0
    if (
        requests
        and len(requests) != asked
        and request.form.get("count_confirmed", type=int) != len(requests)
    ):
        # Fewer (or more) dates than the course asked for: the clerk says so explicitly.
        return render_template(
            "courses/confirm.html",
            patient=patient,
            tz=ZoneInfo(patient.site.timezone),
            requests=requests,
            asked=asked,
            chair_names={c.id: c.name for c in patient.site.chairs},
            carried=_carried(chosen),
            confirm=form,
        )
    try:
        visits = book_course(current_user, requests, utcnow())
    except ServiceError as error:
        flash(error.message, "danger")
        return redirect(url_for("courses.course", patient_id=patient.id))
    flash(f"Booked {len(visits)} infusions for {patient.full_name}.", "success")
    return redirect(url_for("patients.detail", patient_id=patient.id))


def _carried(chosen: list[str]) -> list[tuple[str, str]]:
    """Return the posted fields to carry through the count confirmation, choices included."""
    names = ("asked", "infusion_minutes", "observation_minutes", *COURSE_FIELDS)
    carried = [(name, value) for name in names for value in request.form.getlist(name)]
    return carried + [(f"choice-{i}", value) for i, value in enumerate(chosen, 1)]


# --- One course after booking: its dates, progress, move, cancel the rest, add a date ------

SCOPE_CHOICES = [
    SelectChoice("this", "This date only"),
    SelectChoice("following", "This and the following"),
]


class MoveForm(FlaskForm):
    """Move a date (and the following ones by the same local-time difference)."""

    visit_id = HiddenField(validators=[DataRequired()])
    scope = SelectField("Which dates", choices=SCOPE_CHOICES, default="following")
    date = DateField("New date", validators=[DataRequired()])
    time = TimeField("New time", validators=[DataRequired()])
    # Optional, with "following": a new weekday pattern (none ticked: keep the spacing).
    weekdays = SelectMultipleField(
        "New weekdays",
        choices=WEEKDAY_CHOICES,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    move = SubmitField("Move")


class CancelForm(FlaskForm):
    """Cancel a date, or it and the rest of the course."""

    visit_id = HiddenField(validators=[DataRequired()])
    scope = SelectField("Which dates", choices=SCOPE_CHOICES, default="following")
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    cancel = SubmitField("Cancel")


class AddDateForm(FlaskForm):
    """One more date for the course."""

    date = DateField("Date", validators=[DataRequired()])
    time = TimeField("Time", validators=[DataRequired()])
    add = SubmitField("Add the date")


def _course_page(course: Course, status: int = 200, refusal: CourseRefused | None = None, **forms):
    site = access.get_site(current_user, course.site_id)
    tz = ZoneInfo(site.timezone)
    visits = course_visits(course)
    completed, planned = progress(visits)
    audit.viewed(current_user, course.patient_id, "course", course.id, now=utcnow())
    patient = access.get_patient(current_user, course.patient_id)
    return (
        render_template(
            "courses/manage.html",
            course=course,
            patient=patient,
            site=site,
            tz=tz,
            visits=visits,
            completed=completed,
            planned=planned,
            refusal=refusal,
            move_form=forms.get("move_form") or MoveForm(formdata=None),
            cancel_form=forms.get("cancel_form") or CancelForm(formdata=None),
            add_form=forms.get("add_form") or AddDateForm(formdata=None),
            chair_names={c.id: c.name for c in site.chairs},
            can_book=access.can(current_user, "book"),
            weekday_choices=WEEKDAY_CHOICES,
        ),
        status,
    )


@bp.get("/courses/<int:course_id>")
@role_required("read")
def manage(course_id: int):
    """Show a course: every date with its status, progress, and what can be changed."""
    return _course_page(get_course(current_user, course_id))


def _local(site_tz: ZoneInfo, day, at) -> datetime:
    return datetime.combine(day, at, tzinfo=site_tz)


def _overrides() -> dict[int, tuple[datetime, int | None]]:
    """Return the alternatives the desk picked for dates that clashed (override-<visit id>)."""
    found: dict[int, tuple[datetime, int | None]] = {}
    for name, value in request.form.items():
        if not name.startswith("override-") or not value:
            continue
        visit_id = name.removeprefix("override-")
        chair, _, start = value.partition("@")
        try:
            at = datetime.fromisoformat(start)
        except ValueError:
            continue
        if is_digits(visit_id) and at.tzinfo is not None:
            found[int(visit_id)] = (at, int(chair) if is_digits(chair) else None)
    return found


@bp.post("/courses/<int:course_id>/move")
@role_required("book")
def move(course_id: int):
    """Move a date, or it and the following ones; all or nothing, alternatives per clash."""
    course = get_course(current_user, course_id)
    form = MoveForm()
    if not form.validate_on_submit() or not is_digits(form.visit_id.data):
        problem = "Weekdays are Monday to Sunday." if form.weekdays.errors else ""
        flash(problem or "Choose a date and a time to move to.", "warning")
        return _course_page(course, 422, move_form=form)
    tz = ZoneInfo(access.get_site(current_user, course.site_id).timezone)
    try:
        reschedule_course(
            current_user,
            course.id,
            int(form.visit_id.data),
            form.scope.data,
            _local(tz, form.date.data, form.time.data),
            utcnow(),
            overrides=_overrides(),
            weekdays={int(d) for d in form.weekdays.data} or None,
        )
    except CourseRefused as refusal:
        flash(refusal.message + " Pick another time for each date that clashes.", "danger")
        return _course_page(course, 409, refusal=refusal, move_form=form)
    except ServiceError as error:
        flash(error.message, "danger")
        return _course_page(course, error.status, move_form=form)
    flash("Moved. The patient gets one message about the change.", "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.post("/courses/<int:course_id>/cancel")
@role_required("book")
def cancel(course_id: int):
    """Cancel a date, or it and the rest of the course, with a reason."""
    course = get_course(current_user, course_id)
    form = CancelForm()
    if not form.validate_on_submit() or not is_digits(form.visit_id.data):
        flash("Give a reason to cancel.", "warning")
        return _course_page(course, 422, cancel_form=form)
    try:
        cancel_course(
            current_user,
            course.id,
            int(form.visit_id.data),
            form.scope.data,
            form.reason.data,
            utcnow(),
        )
    except ServiceError as error:
        flash(error.message, "danger")
        return _course_page(course, error.status, cancel_form=form)
    flash("Cancelled.", "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.post("/courses/<int:course_id>/add")
@role_required("book")
def add(course_id: int):
    """Book one more date for the course."""
    course = get_course(current_user, course_id)
    form = AddDateForm()
    if not form.validate_on_submit():
        flash("Choose a date and a time.", "warning")
        return _course_page(course, 422, add_form=form)
    tz = ZoneInfo(access.get_site(current_user, course.site_id).timezone)
    try:
        add_date(
            current_user, course.id, _local(tz, form.date.data, form.time.data), None, utcnow()
        )
    except ServiceError as error:
        flash(error.message, "danger")
        return _course_page(course, error.status, add_form=form)
    flash("Date added.", "success")
    return redirect(url_for("courses.manage", course_id=course.id))
