"""Forms of the patient pages: search, demographics, clearance."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.domain.waitlist import PlanTemplate
from clinic.services.patients import MG_PER_KG_RANGE, PATIENT_FIELDS

# DESIGN.md, "Screening": the contraindications a practitioner checks for.
CONTRAINDICATIONS = (
    ("uncontrolled_hypertension", "Uncontrolled hypertension"),
    ("psychosis_or_mania", "Psychosis or mania"),
    ("active_substance_use", "Active substance use"),
    ("pregnancy", "Pregnancy"),
    ("recent_mi_or_stroke", "Recent MI or stroke"),
    ("aneurysm", "Aneurysm"),
)
CONTRAINDICATION_LABELS = dict(CONTRAINDICATIONS)
OTHER_PREFIX = "other: "


def _strip(value):
    """Trim surrounding spaces from text input."""
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PatientSearchForm(FlaskForm):
    """Find a patient by name or MRN; posted so that no name ends up in a URL."""

    q = StringField(
        "Name or MRN",
        filters=[_strip],
        validators=[Length(max=100)],
        render_kw={"placeholder": "Name or MRN", "autocomplete": "off", "autofocus": True},
    )
    submit = SubmitField("Search")


class PatientForm(FlaskForm):
    """A patient's demographics and escort."""

    site_id = SelectField("Home site", coerce=int, validators=[DataRequired()])
    mrn = StringField("MRN", filters=[_strip], validators=[DataRequired(), Length(max=40)])
    given_name = StringField(
        "Given name", filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )
    family_name = StringField(
        "Family name", filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )
    birth_date = DateField("Birth date", validators=[DataRequired(message="Enter a date.")])
    phone = TelField("Phone", filters=[_strip], validators=[Optional(), Length(max=40)])
    email = StringField("E-mail", filters=[_strip], validators=[Optional(), Length(max=254)])
    weight_kg = FloatField(
        "Weight (kg)",
        validators=[Optional(), NumberRange(min=20, max=400, message="Between 20 and 400 kg.")],
    )
    escort_name = StringField(
        "Escort name", filters=[_strip], validators=[Optional(), Length(max=120)]
    )
    escort_phone = TelField(
        "Escort phone", filters=[_strip], validators=[Optional(), Length(max=40)]
    )
    consent_email = BooleanField("The patient agrees to appointment e-mails")
    consent_sms = BooleanField("The patient agrees to appointment text messages (SMS)")
    escort_sms_consent = BooleanField("The escort agrees to a pick-up text message (SMS)")
    submit = SubmitField("Save patient")

    def validate_birth_date(self, field) -> None:
        """Refuse birth dates in the future or before 1900."""
        if field.data and not date(1900, 1, 1) <= field.data <= date.today():  # noqa: DTZ011
            raise ValidationError("The birth date is not plausible.")

    def validate_weight_kg(self, field) -> None:
        """Refuse "nan", which float() reads and every range check lets through."""
        if field.data is not None and field.data != field.data:
            raise ValidationError("Between 20 and 400 kg.")

    def values(self) -> dict:
        """Return the patient fields as the service takes them (blank text as None)."""
        values = {
            name: (self[name].data if self[name].data != "" else None) for name in PATIENT_FIELDS
        }
        values["contact"] = {"email": self.consent_email.data, "sms": self.consent_sms.data}
        values["escort_sms_consent"] = self.escort_sms_consent.data
        return values


class ClearanceForm(FlaskForm):
    """A practitioner's evaluation of a patient."""

    evaluated_on = DateField("Evaluated on", validators=[DataRequired(message="Enter a date.")])
    valid_until = DateField("Valid until", validators=[DataRequired(message="Enter a date.")])
    cleared = BooleanField("Cleared for treatment")
    consent_signed = BooleanField("Consent signed")
    contraindications = MultiCheckboxField(
        "Contraindications",
        choices=[SelectChoice(code, label) for code, label in CONTRAINDICATIONS],
    )
    other = StringField(
        "Other contraindication", filters=[_strip], validators=[Optional(), Length(max=200)]
    )
    notes = TextAreaField("Notes", filters=[_strip], validators=[Length(max=4000)])
    mg_per_kg = DecimalField(
        "IV ketamine order (mg/kg)",
        places=None,
        validators=[
            Optional(),
            NumberRange(
                min=MG_PER_KG_RANGE[0],
                max=MG_PER_KG_RANGE[1],
                message=f"Between {MG_PER_KG_RANGE[0]} and {MG_PER_KG_RANGE[1]} mg/kg.",
            ),
        ],
        description="Optional. With the patient's weight it gives the nurse the expected dose; "
        "a dose more than 10 % off needs a practitioner's confirmation.",
    )
    submit = SubmitField("Record clearance")

    def validate_mg_per_kg(self, field) -> None:
        """Refuse more than three decimals, and "nan" that every range check lets through."""
        value = field.data
        if value is None:
            return
        exponent = value.as_tuple().exponent
        if not value.is_finite() or (isinstance(exponent, int) and exponent < -3):
            raise ValidationError("At most 3 decimals, e.g. 0.5 or 0.75.")

    def validate_valid_until(self, field) -> None:
        """Refuse a clearance that ends before it starts."""
        if field.data and self.evaluated_on.data and field.data < self.evaluated_on.data:
            raise ValidationError("Must be on or after the evaluation date.")

    def values(self) -> dict:
        """Return the clearance as the service takes it."""
        found = list(self.contraindications.data or [])
        if self.other.data:
            found.append(OTHER_PREFIX + self.other.data)
        return {
            "evaluated_on": self.evaluated_on.data,
            "valid_until": self.valid_until.data,
            "cleared": bool(self.cleared.data),
            "consent_signed": bool(self.consent_signed.data),
            "contraindications": found,
            "notes": self.notes.data or "",
            "mg_per_kg": self.mg_per_kg.data,
        }


def fill_clearance_form(form: ClearanceForm, clearance) -> None:
    """Show a stored clearance in the form, "other" contraindications in their own field."""
    found = list(clearance.contraindications or [])
    form.evaluated_on.data = clearance.evaluated_on
    form.valid_until.data = clearance.valid_until
    form.cleared.data = clearance.cleared
    form.consent_signed.data = clearance.consent_signed
    form.contraindications.data = [c for c in found if not c.startswith(OTHER_PREFIX)]
    others = [c.removeprefix(OTHER_PREFIX) for c in found if c.startswith(OTHER_PREFIX)]
    form.other.data = "; ".join(others)
    form.notes.data = clearance.notes or ""
    order = clearance.mg_per_kg
    form.mg_per_kg.data = order.normalize() if order is not None else None


class VoidClearanceForm(FlaskForm):
    """Why a clearance is void."""

    reason = TextAreaField(
        "Reason",
        filters=[_strip],
        validators=[DataRequired(message="Say why the clearance is void."), Length(max=1000)],
        description="Kept with the clearance and shown beside it.",
    )
    submit = SubmitField("Void clearance")


class RemsEnrollmentForm(FlaskForm):
    """A practitioner's record of the patient's REMS enrolment."""

    enrolled_on = DateField("Enrolled on", validators=[DataRequired(message="Enter a date.")])
    rems_patient_id = StringField(
        "REMS patient ID",
        filters=[_strip],
        validators=[DataRequired(message="Enter the REMS patient ID."), Length(max=40)],
    )
    submit = SubmitField("Record enrolment")


class PlanForm(FlaskForm):
    """How often the patient comes back: every N days, or the Spravato phases."""

    template = SelectField(
        "Plan",
        choices=[
            SelectChoice(PlanTemplate.NONE.value, "Every few days or weeks"),
            SelectChoice(
                PlanTemplate.SPRAVATO.value,
                "Spravato phases: twice weekly, weekly, then every 1 or 2 weeks",
            ),
        ],
    )
    every_days = IntegerField(
        "Every (days)",
        validators=[InputRequired(message="Enter a number of days.")],
        description="Spravato: the maintenance interval after week 8, 7 or 14 days.",
    )
    next_due_on = DateField(
        "Next due",
        validators=[DataRequired(message="Enter a date.")],
        description="Spravato: the day the first induction session is due.",
    )
    submit = SubmitField("Save plan")


def contraindication_label(code: str) -> str:
    """Return how a stored contraindication reads on a page."""
    if code.startswith(OTHER_PREFIX):
        return "Other: " + code.removeprefix(OTHER_PREFIX)
    return CONTRAINDICATION_LABELS.get(code, code)
