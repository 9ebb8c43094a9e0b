"""Administration: a site's treatment types, listed, added and changed."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from clinic.domain.treatments import ObservationFrom, TreatmentKind
from clinic.models import Site, TreatmentType
from clinic.services import access, treatment_types
from clinic.services.errors import Invalid, NotFound
from clinic.services.treatment_types import TYPE_LIMITS
from clinic.types import utcnow
from clinic.web.admin import bp
from clinic.web.forms import show_refusal

# Where the service's field names land on the form.
TYPE_FIELD_FOR = {
    "administration_minutes": "administration_default",
    "observation_minutes": "observation_default",
    "predose_bp_max": "predose_systolic_max",
}
LABELS = {
    "administration_min": "Shortest administration (minutes)",
    "administration_default": "Usual administration (minutes)",
    "administration_max": "Longest administration (minutes)",
    "observation_min": "Shortest observation (minutes)",
    "observation_default": "Usual observation (minutes)",
    "predose_systolic_max": "Systolic at most (mmHg)",
    "predose_diastolic_max": "Diastolic at most (mmHg)",
}
# A new type starts active, watched from the end of its administration.
NEW_TYPE = {
    "kind": TreatmentKind.OTHER.value,
    "active": True,
    "observation_from": ObservationFrom.ADMINISTRATION_END.value,
}


def _strip(value: str | None) -> str | None:
    """Trim the spaces around a typed value."""
    return value.strip() if value else value


def _number(setting: str) -> IntegerField:
    """A whole-number field within a treatment-type setting's limits."""
    low, high = TYPE_LIMITS[setting]
    required = Optional() if setting.startswith("predose_") else InputRequired()
    message = f"A whole number between {low} and {high}."
    return IntegerField(LABELS[setting], validators=[required, NumberRange(low, high, message)])


class TreatmentTypeForm(FlaskForm):
    """A treatment type's settings."""

    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=80)])
    kind = SelectField("Kind", choices=[SelectChoice(k.value, k.label) for k in TreatmentKind])
    active = BooleanField("Active (can be booked)", default=True)
    administration_min = _number("administration_min")
    administration_default = _number("administration_default")
    administration_max = _number("administration_max")
    observation_min = _number("observation_min")
    observation_default = _number("observation_default")
    observation_from = SelectField(
        "Observation counted from",
        choices=[SelectChoice(o.value, o.label) for o in ObservationFrom],
    )
    rems = BooleanField("REMS session (Spravato)")
    predose_systolic_max = _number("predose_systolic_max")
    predose_diastolic_max = _number("predose_diastolic_max")

    def values(self) -> dict[str, Any]:
        """Return the settings as the service takes them."""
        return {name: self[name].data for name in treatment_types.TYPE_FIELDS}


def _site(site_id: int) -> Site:
    """Load a site (administrators see every site)."""
    return access.get_site(current_user, site_id)


def _of_site(site: Site, type_id: int) -> TreatmentType:
    """Load one of the site's treatment types, or answer 404."""
    treatment_type = treatment_types.get_type(current_user, type_id)
    if treatment_type.site_id != site.id:
        raise NotFound("treatment type")
    return treatment_type


def _save(form: TreatmentTypeForm, site: Site, treatment_type: TreatmentType | None) -> Any:
    """Save the form, flash and go back to the list; on a refusal show the form again."""
    try:
        saved = treatment_types.save_type(
            treatment_type, site, form.values(), now=utcnow(), actor=current_user
        )
    except Invalid as error:
        show_refusal(form, error, TYPE_FIELD_FOR)
        return None
    flash(f"{saved.name} is saved.", "success")
    return redirect(url_for("admin.treatment_types", site_id=site.id))


@bp.route(
    "/sites/<int:site_id>/treatment-types", methods=["GET", "POST"], endpoint="treatment_types"
)
def treatment_types_page(site_id: int):
    """List a site's treatment types, and add one."""
    site = _site(site_id)
    form = TreatmentTypeForm(data=NEW_TYPE)
    if form.validate_on_submit() and (answer := _save(form, site, None)):
        return answer
    listed = treatment_types.list_types(current_user, site.id)
    return render_template("admin/treatment_types.html", site=site, types=listed, form=form)


@bp.route("/sites/<int:site_id>/treatment-types/<int:type_id>", methods=["GET", "POST"])
def treatment_type(site_id: int, type_id: int):
    """Change one of a site's treatment types."""
    site = _site(site_id)
    current = _of_site(site, type_id)
    form = TreatmentTypeForm(obj=current)
    if form.validate_on_submit() and (answer := _save(form, site, current)):
        return answer
    return render_template(
        "admin/treatment_type_form.html", site=site, treatment_type=current, form=form
    )
