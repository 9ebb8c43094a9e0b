"""Nursing forms: the dialogs of the recovery board and the visit page.

Each dialog (templates/nursing/dialog.html) posts one of these with htmx, CSRF token
included; the server validates it here, then the services apply the clinical rules.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from clinic.domain.discharge import PADSS_ITEMS, padss_total
from clinic.domain.vitals import RANGES
from clinic.services.doses import MAX_DOSE_MG, MAX_DRUG, MAX_LOT, ROUTES
from clinic.services.timeline import SIDE_EFFECTS

MAX_NOTE = 1000
MAX_REASON = 500

# PADSS item -> (label, what 2, 1 and 0 mean): Chung's scale as the checklist shows it.
PADSS_LABELS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "vital_signs": (
        "Vital signs",
        ("Within 20 % of baseline", "20-40 % of baseline", "More than 40 % off"),
    ),
    "activity": ("Activity", ("Steady gait, no dizziness", "Needs assistance", "Cannot walk")),
    "nausea_vomiting": ("Nausea / vomiting", ("Minimal", "Moderate", "Severe, continuing")),
    "pain": ("Pain", ("Minimal, acceptable", "Moderate", "Severe")),
    "bleeding": ("IV-site bleeding", ("Minimal", "Moderate", "Severe")),
}
# Measurement (clinic.domain.vitals.RANGES) -> its field's label.
READING_LABELS = {
    "systolic": "Systolic",
    "diastolic": "Diastolic",
    "heart_rate": "Heart rate",
    "spo2": "SpO₂",
    "respiratory_rate": "Resp. rate",
    **{name: label for name, (label, _high) in SIDE_EFFECTS.items()},
    "moaas": "Sedation (MOAA/S)",
}
# MOAA/S score -> what the patient does, in the published wording (Chernik et al. 1990, as
# modified in the esketamine trials and label), from alert to unresponsive.
MOAAS_LEVELS = (
    (5, "Responds readily to name spoken in normal tone"),
    (4, "Lethargic response to name spoken in normal tone"),
    (3, "Responds only after name is called loudly and/or repeatedly"),
    (2, "Responds only after mild prodding or shaking"),
    (1, "Responds only after painful trapezius squeeze"),
    (0, "No response after painful trapezius squeeze"),
)


def _measure(label: str, name: str) -> IntegerField:
    """Return a whole-number field bounded by the domain's range for that measurement."""
    low, high, required = RANGES[name]
    first = InputRequired("Required.") if required else Optional()
    return IntegerField(
        label,
        validators=[first, NumberRange(low, high, message=f"A whole number, {low}-{high}.")],
    )


class _LateEntry:
    """An optional local time for an entry made after the fact (blank means now)."""

    at_time = TimeField(
        "Time, if not now",
        validators=[Optional()],
        description="Leave blank for now; an earlier time is kept as a late entry.",
    )


class EventForm(_LateEntry, FlaskForm):
    """Start or end an infusion: only the time, which defaults to now."""


class StartForm(EventForm):
    """Start an infusion; a practitioner may start without the pre-dose checks, with a reason."""

    override_reason = TextAreaField(
        "Reason for starting without the pre-dose checks",
        validators=[Optional(), Length(max=MAX_REASON)],
    )


class DoseForm(_LateEntry, FlaskForm):
    """A dose given: drug, milligrams, lot and route; a practitioner may confirm one far off
    the order."""

    drug = StringField("Drug", validators=[InputRequired("Name the drug."), Length(max=MAX_DRUG)])
    dose_mg = DecimalField(
        "Dose (mg)",
        places=None,
        validators=[
            InputRequired("Give the dose in mg."),
            NumberRange(min=0.01, max=float(MAX_DOSE_MG), message="More than 0 mg."),
        ],
    )
    lot = StringField("Lot", validators=[InputRequired("Give the lot."), Length(max=MAX_LOT)])
    route = SelectField("Route", choices=[SelectChoice(route, route) for route in ROUTES])
    confirm = BooleanField("I confirm this dose although it is more than 10 % off the order")

    def validate_dose_mg(self, field) -> None:
        """Refuse "nan" and more than two decimals (the service says the same)."""
        value = field.data
        if value is None:
            return
        exponent = value.as_tuple().exponent
        if not value.is_finite() or (isinstance(exponent, int) and exponent < -2):
            raise ValidationError("At most 2 decimals.")

    def values(self) -> dict:
        """Return the dose as the doses service takes it."""
        return {
            "drug": (self.drug.data or "").strip(),
            "dose_mg": self.dose_mg.data,
            "lot": (self.lot.data or "").strip(),
            "route": self.route.data,
        }


# One field per measurement, in the domain's order.
_Readings = type("_Readings", (), {name: _measure(READING_LABELS[name], name) for name in RANGES})


class VitalsForm(_LateEntry, _Readings, FlaskForm):
    """Vital signs and side effects taken at the chair."""

    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])
    moaas_levels = MOAAS_LEVELS

    def values(self) -> dict[str, int | None]:
        """Return the numbers as the observations service takes them."""
        return {name: self[name].data for name in RANGES}

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then that the diastolic pressure is below the systolic."""
        valid = super().validate(extra_validators)
        low, high = self.diastolic.data, self.systolic.data
        if valid and low is not None and high is not None and low >= high:
            self.diastolic.errors.append("Must be lower than the systolic pressure.")
            valid = False
        return valid


class ExtendForm(FlaskForm):
    """Extend the observation window, with a reason."""

    minutes = IntegerField(
        "Extend by (minutes)",
        validators=[
            InputRequired("Required."),
            NumberRange(1, 240, message="A whole number, 1-240."),
        ],
    )
    reason = TextAreaField(
        "Reason",
        validators=[InputRequired("Give a reason."), Length(max=MAX_REASON)],
    )


class DischargeForm(FlaskForm):
    """The discharge checklist: PADSS, escort, stable vitals, and a practitioner's override."""

    escort_name = StringField(
        "Escort's name", validators=[InputRequired("Name the escort."), Length(max=120)]
    )
    escort_phone = StringField("Escort's phone", validators=[Optional(), Length(max=40)])
    vitals_stable = BooleanField("Vital signs stable against baseline")
    override_reason = TextAreaField(
        "Reason for discharging before the window ends",
        validators=[Optional(), Length(max=MAX_REASON)],
    )

    def padss_items(self) -> dict[str, int]:
        """Return the PADSS scores by item."""
        return {item: self[f"padss_{item}"].data for item in PADSS_ITEMS}

    def checklist(self) -> dict:
        """Return the checklist as the events service takes it."""
        items = self.padss_items()
        checklist = {
            "padss": padss_total(items),
            "padss_items": items,
            "escort_name": self.escort_name.data.strip(),
            "vitals_stable": bool(self.vitals_stable.data),
        }
        if (self.escort_phone.data or "").strip():
            checklist["escort_phone"] = self.escort_phone.data.strip()
        return checklist

    def padss_fields(self) -> list:
        """Return the PADSS fields in the scale's order, with their labels and meanings."""
        return [(self[f"padss_{item}"], *PADSS_LABELS[item]) for item in PADSS_ITEMS]


for _item in PADSS_ITEMS:
    setattr(
        DischargeForm,
        f"padss_{_item}",
        IntegerField(
            PADSS_LABELS[_item][0],
            validators=[
                InputRequired("Score this item."),
                NumberRange(0, 2, message="0, 1 or 2."),
            ],
        ),
    )


class ScreeningForm(FlaskForm):
    """One screening instrument's answers; the answers (`<instrument>-<n>`) are read by hand."""

    instrument = StringField("Instrument", validators=[InputRequired()])


class ReviewForm(FlaskForm):
    """A practitioner's review of a positive screen: proceed or defer, with a note."""

    decision = SelectField(
        "Decision",
        choices=[
            SelectChoice("proceed", "Proceed with the treatment"),
            SelectChoice("defer", "Defer the treatment"),
        ],
        validators=[InputRequired()],
    )
    note = TextAreaField("Note", validators=[InputRequired(), Length(max=MAX_NOTE)])
