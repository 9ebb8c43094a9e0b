"""Front-desk forms: book, reschedule and cancel a visit."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from clinic.domain.ids import MAX_ID, is_digits
from clinic.models import Chair, Site, TreatmentType
from clinic.services.errors import ServiceError

ANY_CHAIR = 0
# Wide sanity bounds; each site's own limits are checked by the booking service.
INFUSION_RANGE = NumberRange(1, 240, message="Between %(min)s and %(max)s minutes.")
OBSERVATION_RANGE = NumberRange(1, 720, message="Between %(min)s and %(max)s minutes.")


def _positive_id(form: FlaskForm, field: HiddenField) -> None:
    """Accept only a positive whole number (the id the search put there)."""
    raw = (field.data or "").strip()
    if not is_digits(raw) or int(raw) <= 0:
        raise ValidationError("Choose a patient: search by name or MRN, then pick one.")


def chair_choices(chairs: list[Chair], sites: list[Site], any_label: str | None) -> list:
    """Return select options: chairs labelled with their site when there are several sites."""
    names = {site.id: site.name for site in sites}
    several = len(sites) > 1
    choices: list = [(ANY_CHAIR, any_label, {"data-site-id": ""})] if any_label else []
    for chair in chairs:
        label = f"{names.get(chair.site_id, '')} · {chair.name}" if several else chair.name
        choices.append((chair.id, label, {"data-site-id": str(chair.site_id)}))
    return choices


def _site_defaults(site: Site) -> dict[str, str]:
    """Return a site's booking defaults as option attributes, for book.js."""
    return {
        "data-infusion-default": str(site.infusion_default),
        "data-infusion-min": str(site.infusion_min),
        "data-infusion-max": str(site.infusion_max),
        "data-observation-default": str(site.observation_default),
        "data-observation-min": str(site.observation_min),
    }


def type_defaults(treatment_type: TreatmentType) -> dict[str, str]:
    """Return a treatment type's minutes as option attributes, for book.js."""
    return {
        "data-site-id": str(treatment_type.site_id),
        "data-infusion-default": str(treatment_type.administration_default),
        "data-infusion-min": str(treatment_type.administration_min),
        "data-infusion-max": str(treatment_type.administration_max),
        "data-observation-default": str(treatment_type.observation_default),
        "data-observation-min": str(treatment_type.observation_min),
    }


def optional_id(value: object) -> int | None:
    """Read a select's id; None when it is empty or not a whole number."""
    text = str(value).strip() if value is not None else ""
    return int(text) if is_digits(text) and 0 < int(text) <= MAX_ID else None


class _Schedule:
    """Date, local time and minutes, shared by booking and rescheduling."""

    date = DateField("Date", validators=[InputRequired("Give a date.")])
    time = TimeField(
        "Time",
        validators=[InputRequired("Give a time.")],
        render_kw={"step": 900},
        description="Site-local time.",
    )
    infusion_minutes = IntegerField(
        "Infusion (min)", validators=[InputRequired("Give the infusion length."), INFUSION_RANGE]
    )
    observation_minutes = IntegerField(
        "Observation (min)",
        validators=[InputRequired("Give the observation length."), OBSERVATION_RANGE],
    )


class BookingForm(_Schedule, FlaskForm):
    """Book a visit: who, where, when, and for how long."""

    patient_id = HiddenField("Patient", validators=[_positive_id])
    site_id = SelectField("Site", coerce=int)
    # Checked by the booking service (an active type of the chosen site); None: the default.
    treatment_type_id = SelectField("Treatment", coerce=optional_id, validate_choice=False)
    chair_id = SelectField("Chair", coerce=int, default=ANY_CHAIR)
    notes = TextAreaField("Notes", validators=[Length(max=1000)], render_kw={"rows": 2})
    submit = SubmitField("Book visit")

    def offer(
        self, sites: list[Site], chairs: list[Chair], types: list[TreatmentType] | None = None
    ) -> None:
        """Fill the site, treatment and chair choices from what the user may book."""
        self.site_id.choices = [(site.id, site.name, _site_defaults(site)) for site in sites]
        # With one site there is nothing to choose: the field is not shown and not checked.
        self.site_id.validate_choice = len(sites) > 1
        self.treatment_type_id.choices = [(t.id, t.name, type_defaults(t)) for t in types or []]
        self.chair_id.choices = chair_choices(chairs, sites, "Any free chair")


class RescheduleForm(_Schedule, FlaskForm):
    """Move a booked visit to another time, chair or length."""

    chair_id = SelectField("Chair", coerce=int)
    submit = SubmitField("Reschedule")

    def offer(self, site: Site, chairs: list[Chair]) -> None:
        """Fill the chair choices from the visit's site."""
        self.chair_id.choices = chair_choices(chairs, [site], None)


class UndoForm(FlaskForm):
    """Undo a check-in or a no-show, or reinstate a cancelled visit; the reason is kept."""

    reason = TextAreaField(
        "Reason",
        validators=[InputRequired("Give a reason."), Length(max=500)],
        render_kw={"rows": 2, "maxlength": 500},
    )


class CancelForm(FlaskForm):
    """Cancel a visit; the reason is kept on the record."""

    reason = TextAreaField(
        "Reason",
        validators=[InputRequired("Give a reason for cancelling."), Length(max=500)],
        render_kw={"rows": 2, "maxlength": 500},
    )
    submit = SubmitField("Cancel visit")


def show_refusal(form, error: ServiceError, field_for: dict[str, str] | None = None) -> None:
    """Put a service's refusal on the form: on its fields when known, on top otherwise."""
    placed = False
    for name, messages in error.fields.items():
        target = (field_for or {}).get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, *messages]
            placed = True
    if not placed:
        form.form_errors.append(error.message)
