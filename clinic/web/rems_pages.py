"""The REMS Patient Monitoring Form pages: the printable form, and its two answers.

The form is read from the record (clinic.services.rems); a nurse or practitioner records the
concomitant medication classes and the ready-to-leave minutes here or on the visit page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice
from wtforms.validators import NumberRange, Optional

from clinic.domain.treatments import (
    CONCOMITANT_CLASSES,
    CONCOMITANT_LABELS,
    FIELD_LABELS,
    STANDARD_DOSES_MG,
)
from clinic.extensions import db
from clinic.models import Visit
from clinic.services import access, rems
from clinic.services.errors import Invalid, NotFound
from clinic.types import utcnow
from clinic.web.nursing import bp
from clinic.web.pages import MAX_ID

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
LOW, HIGH = rems.READY_TO_LEAVE_RANGE
# Fields answered yes or no on the form.
YES_NO_FIELDS = frozenset(
    {
        "vitals_acceptable_before",
        "vitals_acceptable_after",
        "sedation",
        "dissociation",
        "respiratory_depression",
        *(f"concomitant.{name}" for name in CONCOMITANT_CLASSES),
    }
)
# Where the answers form came from, and so where a saved one goes back to.
BACK = {"visit": "frontdesk.visit", "form": "nursing.rems_form"}


class RemsAnswersForm(FlaskForm):
    """The monitoring form's answers the record cannot give: either part, or both."""

    benzodiazepines = RadioField(
        CONCOMITANT_LABELS["benzodiazepines"], choices=YES_NO, validators=[Optional()]
    )
    non_benzodiazepine_sedative_hypnotics = RadioField(
        CONCOMITANT_LABELS["non_benzodiazepine_sedative_hypnotics"],
        choices=YES_NO,
        validators=[Optional()],
    )
    psychostimulants = RadioField(
        CONCOMITANT_LABELS["psychostimulants"], choices=YES_NO, validators=[Optional()]
    )
    maois = RadioField(CONCOMITANT_LABELS["maois"], choices=YES_NO, validators=[Optional()])
    ready_to_leave_minutes = IntegerField(
        "Minutes from the first device until ready to leave, were there no 2-hour minimum",
        validators=[
            Optional(),
            NumberRange(LOW, HIGH, message=f"A whole number of minutes, {LOW}-{HIGH}."),
        ],
    )

    def fill(self, visit: Visit) -> None:
        """Show the answers already recorded."""
        given = visit.rems_concomitant or {}
        for name in CONCOMITANT_CLASSES:
            if isinstance(given.get(name), bool):
                self[name].data = "yes" if given[name] else "no"
        self.ready_to_leave_minutes.data = visit.ready_to_leave_minutes

    def changes(self) -> dict[str, Any]:
        """Return the answers given, as the service takes them."""
        found: dict[str, Any] = {}
        answered = {
            name: self[name].data == "yes"
            for name in CONCOMITANT_CLASSES
            if self[name].data in ("yes", "no")
        }
        if answered:
            found["concomitant"] = answered
        if self.ready_to_leave_minutes.data is not None:
            found["ready_to_leave_minutes"] = self.ready_to_leave_minutes.data
        return found


@dataclass(frozen=True)
class Line:
    """One field of the printed form."""

    name: str
    label: str
    kind: str  # "yes_no", "dose", "bp", "minutes" or "text"
    value: Any
    missing: bool


def _kind(name: str) -> str:
    if name in YES_NO_FIELDS:
        return "yes_no"
    if name == "dose_mg":
        return "dose"
    if name.startswith("bp."):
        return "bp"
    if name.endswith("minutes"):
        return "minutes"
    return "text"


def form_lines(form: rems.RemsForm) -> list[Line]:
    """Return every field of the form, in the form's order, with its label and value."""
    missing = set(form.state.missing)
    return [
        Line(name, label, _kind(name), form.state.values[name], name in missing)
        for name, label in FIELD_LABELS.items()
    ]


def panel_context(visit: Visit, answers: RemsAnswersForm | None = None) -> dict[str, Any]:
    """Return what the visit page's REMS panel shows (nothing for another treatment)."""
    if not rems.is_rems(visit):
        return {"rems": None}
    if answers is None:
        answers = RemsAnswersForm(formdata=None)
        answers.fill(visit)
    return {
        "rems": rems.build_form(visit),
        "rems_answers": answers,
        "rems_labels": FIELD_LABELS,
        "can_answer_rems": access.can(current_user, "clinical"),
    }


def _visit(visit_id: int) -> Visit:
    if not 1 <= visit_id <= MAX_ID:  # the URL converter takes any size
        raise NotFound("visit")
    return access.get_visit(current_user, visit_id)


def _page(visit: Visit, answers: RemsAnswersForm, status: int = 200, message: str = ""):
    form = rems.get_form(current_user, visit.id, utcnow())
    html = render_template(
        "nursing/rems_form.html",
        visit=visit,
        patient=visit.patient,
        site=visit.site,
        tz=ZoneInfo(visit.site.timezone),
        form=form,
        lines=form_lines(form),
        standard_doses=[int(mg) for mg in STANDARD_DOSES_MG],
        answers=answers,
        can_answer=access.can(current_user, "clinical"),
        message=message,
        printed_at=utcnow(),
    )
    return html, status


@bp.get("/visits/<int:visit_id>/rems-form")
@login_required
def rems_form(visit_id: int):
    """Show a REMS session's Patient Monitoring Form, every field in the form's order."""
    visit = _visit(visit_id)
    answers = RemsAnswersForm(formdata=None)
    answers.fill(visit)
    return _page(visit, answers)


@bp.post("/visits/<int:visit_id>/rems-form")
@login_required
def rems_answers(visit_id: int):
    """Record the concomitant medication classes and the ready-to-leave minutes."""
    visit = _visit(visit_id)
    access.require(current_user, "clinical")
    answers = RemsAnswersForm()
    back = BACK.get(request.form.get("back", ""), "nursing.rems_form")
    if not answers.validate_on_submit():
        if "csrf_token" in answers.errors:
            return _page(
                visit, answers, 400, "The form has expired: reload the page and try again."
            )
        return _page(visit, answers, 422, "Check the highlighted answers.")
    try:
        rems.record_answers(current_user, visit.id, answers.changes(), utcnow())
    except Invalid as error:
        db.session.rollback()
        loose = []
        for name, texts in error.fields.items():
            field = answers._fields.get(name.removeprefix("concomitant."))
            if field is None:
                loose.extend(texts)
            else:
                field.errors = [*field.errors, *texts]
        if "body" in error.fields:
            loose = ["Answer the medication classes, the minutes, or both."]
        return _page(visit, answers, 422, " ".join(loose) or "Check the highlighted answers.")
    flash("REMS form answers saved.", "success")
    return redirect(url_for(back, visit_id=visit.id))
