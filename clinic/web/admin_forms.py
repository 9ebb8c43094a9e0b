"""Forms of the admin pages: site settings, chairs, shifts, users."""

from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.domain.booking import ChairKind, RecoveryMode, Weekday
from clinic.domain.roles import SHIFT_ROLES, Role
from clinic.services.setup import SITE_FIELDS, VITAL_FIELDS
from clinic.services.site_settings import MAX_INSTRUCTIONS, SITE_LIMITS, TIME_ZONES
from clinic.services.sites import WEEKDAYS
from clinic.services.staff import MIN_PASSWORD_LENGTH

# Offered first in the time-zone select; every other IANA name follows.
COMMON_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
)


def _strip(value):
    """Trim surrounding spaces from text input."""
    return value.strip() if isinstance(value, str) else value


def _parsed(form, field) -> None:
    """Stop checking a field whose input could not be read (its message is already shown)."""
    if field.data is None:
        raise StopValidation()


def _limited(name: str, label: str, **kwargs) -> IntegerField:
    """Return a whole-number field for a site setting, within the service's limits for it."""
    limit = SITE_LIMITS[name]
    return IntegerField(
        label,
        validators=[
            InputRequired(message="Enter a number."),
            _parsed,
            NumberRange(
                min=limit.low, max=limit.high, message=f"Between {limit.low} and {limit.high}."
            ),
        ],
        render_kw={"min": limit.low, "max": limit.high},
        **kwargs,
    )


def _new_password(label: str) -> PasswordField:
    """Return a field for a password an administrator sets, of the length staff passwords need."""
    return PasswordField(
        label,
        validators=[
            InputRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=f"At least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def timezone_choices() -> list[SelectChoice]:
    """Offer the common zones first, then every other IANA name in order."""
    common = [SelectChoice(tz, tz.replace("_", " "), optgroup="Common") for tz in COMMON_TIMEZONES]
    rest = sorted(TIME_ZONES - set(COMMON_TIMEZONES))
    return common + [SelectChoice(tz, tz.replace("_", " "), optgroup="Every zone") for tz in rest]


MIDNIGHT = time(0)


def _clock(value: str) -> time:
    """Read a stored "HH:MM"; a close at 24:00 shows as 00:00, midnight at the day's end."""
    return MIDNIGHT if value == "24:00" else time.fromisoformat(value)


def _hhmm(value: time | None) -> str | None:
    """Write a time of day as "HH:MM" (None stays None)."""
    return value.strftime("%H:%M") if value else None


def _closing(value: time) -> str:
    """Write a closing time; 00:00 closes at midnight at the end of the day (24:00)."""
    return "24:00" if value == MIDNIGHT else value.strftime("%H:%M")


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class DayHoursForm(Form):
    """Opening hours of one weekday."""

    closed = BooleanField("Closed")
    opens = TimeField("Opens", validators=[Optional()])
    closes = TimeField("Closes", validators=[Optional()])


# Numeric setting (SITE_LIMITS) -> its field's label; a high and a critical pressure read alike.
SETTING_LABELS = {
    "nurse_ratio": "Patients per nurse",
    "infusion_min": "Shortest infusion (min)",
    "infusion_default": "Usual infusion (min)",
    "infusion_max": "Longest infusion (min)",
    "observation_min": "Shortest observation (min)",
    "observation_default": "Usual observation (min)",
    "overdue_after_minutes": "Overdue after (min)",
    "turnover_minutes": "Turnover (min)",
    "min_hours_between_infusions": "Hours between a patient's infusions",
    "check_in_open_minutes": "Check-in opens (min before start)",
    "no_show_after_minutes": "No-show after (min)",
    "cancel_window_hours": "Cancellation window (hours)",
    **{f"bp_{level}_systolic": "Systolic at or above" for level in ("high", "critical")},
    **{f"bp_{level}_diastolic": "or diastolic at or above" for level in ("high", "critical")},
    "hr_high": "Heart rate above",
    "hr_low": "Heart rate below",
    "spo2_low": "SpO2 below (%)",
    "bp_above_baseline_percent": "Rise over baseline (%)",
}
# The settings whose fields explain themselves further.
SETTING_HINTS = {
    "nurse_ratio": "Patients in infusion or recovery per nurse.",
    "overdue_after_minutes": "Alert when discharge is this late.",
    "turnover_minutes": "Cleaning time before the next patient.",
    "check_in_open_minutes": "Earliest check-in and infusion start, before the planned start.",
    "no_show_after_minutes": "Minutes past the planned start.",
    "cancel_window_hours": (
        "A patient's \"I can't come\" this close to the visit asks the desk; earlier, it "
        "cancels the visit."
    ),
    "bp_above_baseline_percent": (
        "Flag a pressure more than this far above the visit's first reading."
    ),
}
# One whole-number field per numeric setting, within its limits.
_Settings = type(
    "_Settings",
    (),
    {
        name: _limited(name, SETTING_LABELS[name], description=SETTING_HINTS.get(name, ""))
        for name in SITE_LIMITS
    },
)


class SiteForm(_Settings, FlaskForm):
    """Every setting of a site."""

    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=120)])
    timezone = SelectField(
        "Time zone",
        choices=timezone_choices(),
        validate_choice=False,  # validate_timezone says it in the clinic's words
        description="Local days, opening hours and shifts are counted in this zone.",
    )
    mon = FormField(DayHoursForm, Weekday.MON.label)
    tue = FormField(DayHoursForm, Weekday.TUE.label)
    wed = FormField(DayHoursForm, Weekday.WED.label)
    thu = FormField(DayHoursForm, Weekday.THU.label)
    fri = FormField(DayHoursForm, Weekday.FRI.label)
    sat = FormField(DayHoursForm, Weekday.SAT.label)
    sun = FormField(DayHoursForm, Weekday.SUN.label)
    require_practitioner_on_site = BooleanField("A practitioner must be on site for infusions")
    recovery_mode = SelectField(
        "Recovery",
        choices=[SelectChoice(mode.value, mode.label) for mode in RecoveryMode],
    )
    rems_certified_on = DateField("REMS certified on", validators=[Optional()])
    rems_authorized_representative = StringField(
        "Authorized representative", filters=[_strip], validators=[Length(max=120)]
    )
    # What patients hear (Site.reminders); the marker says the page showed these fields, so a
    # post without them (an older page) leaves the stored reminders alone.
    reminders_shown = HiddenField()
    reminder_hours = StringField(
        "Reminders (hours before the visit)",
        filters=[_strip],
        validators=[Length(max=60)],
        description="Comma-separated, e.g. 72, 24 (at most 4). Local clock time is kept "
        "across a time change.",
    )
    reminder_email = BooleanField("By e-mail")
    reminder_sms = BooleanField("By SMS")
    quiet_start = TimeField("Quiet hours from", validators=[Optional()])
    quiet_end = TimeField("Quiet hours until", validators=[Optional()])
    instructions = TextAreaField(
        "Instructions in every message",
        validators=[Length(max=MAX_INSTRUCTIONS)],
        description="Fasting, escort, no driving until the next day. Never name the treatment.",
    )
    submit = SubmitField("Save settings")

    def validate_reminder_hours(self, field) -> None:
        """Read the hours as numbers (the service checks their range)."""
        try:
            self.reminder_minutes()
        except ValueError:
            raise ValidationError("Numbers of hours, separated by commas.") from None

    def reminder_minutes(self) -> list[int]:
        """Return the reminder offsets in minutes; raise ValueError on a word that is no number."""
        words = [w.strip() for w in (self.reminder_hours.data or "").split(",") if w.strip()]
        hours = [float(w) for w in words]
        if any(h != h or h in (float("inf"), float("-inf")) for h in hours):
            raise ValueError("not a number")
        return [round(h * 60) for h in hours]

    def fill_reminders(self, reminders: dict) -> None:
        """Show a site's reminder settings."""
        self.reminders_shown.data = "1"
        self.reminder_hours.data = ", ".join(
            f"{m // 60}" if m % 60 == 0 else f"{m / 60:g}" for m in reminders["offsets_minutes"]
        )
        self.reminder_email.data = "email" in reminders["channels"]
        self.reminder_sms.data = "sms" in reminders["channels"]
        start, end = reminders["quiet_start"], reminders["quiet_end"]
        self.quiet_start.data = _clock(start) if start else None
        self.quiet_end.data = _clock(end) if end else None
        self.instructions.data = reminders["instructions"]

    def reminders(self) -> dict | None:
        """Return the reminder settings as the service takes them (None: not on the page)."""
        if self.reminders_shown.data != "1":
            return None
        ticks = (("email", self.reminder_email), ("sms", self.reminder_sms))
        channels = [channel for channel, ticked in ticks if ticked.data]
        return {
            "offsets_minutes": self.reminder_minutes(),
            "channels": channels,
            "quiet_start": _hhmm(self.quiet_start.data),
            "quiet_end": _hhmm(self.quiet_end.data),
            "instructions": (self.instructions.data or "").replace("\r\n", "\n").strip(),
        }

    def validate_timezone(self, field) -> None:
        """Refuse anything but an IANA time zone name."""
        if field.data not in TIME_ZONES:
            raise ValidationError("Not an IANA time zone, e.g. America/Chicago.")

    def days(self):
        """Return the weekday sub-forms, Monday first."""
        return [self[day] for day in WEEKDAYS]

    def validate(self, extra_validators=None) -> bool:
        """Check every field, then each day's hours and the minute ranges together."""
        valid = super().validate(extra_validators)
        for day in WEEKDAYS:
            hours = self[day]
            if hours.closed.data:
                continue
            if hours.opens.data is None or hours.closes.data is None:
                hours.form.opens.errors = [*hours.opens.errors, "Give both times, or tick closed."]
                valid = False
            elif _closing(hours.closes.data) <= hours.opens.data.strftime("%H:%M"):
                hours.form.closes.errors = [*hours.closes.errors, "Must be after opening."]
                valid = False
        low, usual, high = (
            self.infusion_min.data,
            self.infusion_default.data,
            self.infusion_max.data,
        )
        if None not in (low, usual, high) and not low <= usual <= high:
            self.infusion_default.errors.append("Need shortest ≤ usual ≤ longest.")
            valid = False
        low, usual = self.observation_min.data, self.observation_default.data
        if None not in (low, usual) and low > usual:
            self.observation_default.errors.append("Must be at least the shortest observation.")
            valid = False
        for kind in ("systolic", "diastolic"):
            high, critical = self[f"bp_high_{kind}"], self[f"bp_critical_{kind}"]
            if None not in (high.data, critical.data) and critical.data < high.data:
                critical.errors.append("Must be at or above the high limit.")
                valid = False
        if (
            None not in (self.hr_low.data, self.hr_high.data)
            and self.hr_low.data >= self.hr_high.data
        ):
            self.hr_low.errors.append("Must be below the high heart rate.")
            valid = False
        return valid

    def fill(self, opening_hours: dict | None) -> None:
        """Show stored opening hours in the weekday rows."""
        for day in WEEKDAYS:
            span = (opening_hours or {}).get(day)
            row = self[day].form
            row.closed.data = not span
            row.opens.data = _clock(span[0]) if span else None
            row.closes.data = _clock(span[1]) if span else None

    def values(self) -> dict:
        """Return the settings as the service takes them."""
        names = [name for name in (*SITE_FIELDS, *VITAL_FIELDS) if name != "opening_hours"]
        values = {name: self[name].data for name in names}
        values["rems_certified_on"] = self.rems_certified_on.data
        values["rems_authorized_representative"] = self.rems_authorized_representative.data or None
        if (reminders := self.reminders()) is not None:
            values["reminders"] = reminders
        values["opening_hours"] = {
            day: None
            if self[day].closed.data
            else [self[day].opens.data.strftime("%H:%M"), _closing(self[day].closes.data)]
            for day in WEEKDAYS
        }
        return values


class ChairForm(FlaskForm):
    """A new chair or recovery bay."""

    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=60)])
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(kind.value, kind.label) for kind in ChairKind],
    )
    submit = SubmitField("Add")


class RenameChairForm(FlaskForm):
    """A chair's new name."""

    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=60)])


class ShiftForm(FlaskForm):
    """Someone on duty on a local day between two local times."""

    user_id = SelectField("Staff member", coerce=int, validators=[InputRequired()])
    role = SelectField(
        "Role on this shift",
        choices=[SelectChoice("", "Their usual role")]
        + [SelectChoice(role.value, role.label) for role in SHIFT_ROLES],
    )
    day = DateField("Day", validators=[InputRequired(message="Enter a date.")])
    starts = TimeField("Starts", validators=[InputRequired(message="Enter a time.")])
    ends = TimeField("Ends", validators=[InputRequired(message="Enter a time.")])
    submit = SubmitField("Add shift")

    def validate_day(self, field) -> None:
        """Refuse days outside a plausible roster range."""
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError("Pick a day between 2000 and 2100.")

    def validate_ends(self, field) -> None:
        """Refuse a shift that ends before it starts (night shifts: enter two)."""
        if field.data and self.starts.data and field.data <= self.starts.data:
            raise ValidationError("Must be after the start, on the same day.")


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, role.label) for role in Role]


class UserForm(FlaskForm):
    """A member of staff: who, what role, which sites."""

    email = EmailField(
        "E-mail",
        filters=[_strip],
        validators=[
            DataRequired(),
            Length(max=254),
        ],
    )
    name = StringField("Name", filters=[_strip], validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=_role_choices())
    site_ids = MultiCheckboxField("Sites", coerce=int)
    active = BooleanField("Active (may sign in)", default=True)
    password = _new_password("Initial password")
    submit = SubmitField("Save")

    def validate_site_ids(self, field) -> None:
        """Require a site for everyone but administrators (who see every site)."""
        if self.role.data != Role.ADMIN and not field.data:
            raise ValidationError("Pick at least one site.")


class PasswordResetForm(FlaskForm):
    """A new password, typed twice."""

    password = _new_password("New password")
    confirm = PasswordField(
        "Repeat it",
        validators=[InputRequired(), EqualTo("password", message="The two entries differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Reset password")
