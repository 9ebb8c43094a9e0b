"""One marshmallow schema per API object: it reads requests, writes answers and is the document.

Unknown fields are ignored (additions to the contract are welcome). A schema loaded with
`partial=True` reads a PATCH: only the fields named change, and none of them may be null.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    pre_dump,
    validate,
    validates_schema,
)

from clinic.domain.accounts import AccountRule
from clinic.domain.alarms import AlertKind
from clinic.domain.booking import ChairKind, RecoveryMode, Rule
from clinic.domain.messages import (
    MAX_OFFSETS,
    OFFSET_RANGE,
    Confirmation,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from clinic.domain.phases import AMBER_MINUTES, Countdown
from clinic.domain.text import line_problem
from clinic.domain.treatments import (
    CONCOMITANT_CLASSES,
    FORM_FIELDS,
    ObservationFrom,
    SubmissionMethod,
    SubmissionRule,
    SubmissionStatus,
    TreatmentKind,
)
from clinic.domain.visits import EventRule, EventType, HistoryType, Status
from clinic.domain.vitals import RANGES, DueKind, DueState, validate_reading
from clinic.domain.vitals import Flag as VitalFlag
from clinic.domain.waitlist import (
    MAX_EVERY_DAYS,
    MAX_WITHIN_DAYS,
    OfferStatus,
    PartOfDay,
    PlanTemplate,
)
from clinic.models import ROLES
from clinic.services.doses import MAX_DOSE_MG, MAX_DRUG, MAX_LOT, MAX_ROUTE
from clinic.services.patients import MAX_VOID_REASON, MG_PER_KG_RANGE
from clinic.services.rems import READY_TO_LEAVE_RANGE
from clinic.services.setup import site_values
from clinic.services.site_settings import (
    MAX_INSTRUCTIONS,
    SITE_LIMITS,
    TIME_ZONES,
    VITAL_SETTINGS,
    reminders_of,
)
from clinic.services.sites import WEEKDAYS
from clinic.services.treatment_types import TYPE_LIMITS, TYPE_MINUTES, type_values
from clinic.types import utcnow
from clinic.web.api.fields import (
    SPAN_DOC,
    Bool,
    Day,
    Flag,
    Id,
    Instant,
    Minutes,
    Number,
    Span,
    Text,
    Whole,
    instant,
)

# Nested minute settings: API name -> {key: setting (a column of the site)}.
SITE_MINUTES = {
    "infusion_minutes": {
        "min": "infusion_min",
        "max": "infusion_max",
        "default": "infusion_default",
    },
    "observation_minutes": {"min": "observation_min", "default": "observation_default"},
}


def _vital_keys() -> dict[str, Any]:
    """Map the API's vital_thresholds keys to settings: {"bp_high": {"systolic": ...}, ...}."""
    keys: dict[str, Any] = {}
    for setting, (field, index) in VITAL_SETTINGS.items():
        if index is None:
            keys[field] = setting
        else:
            keys.setdefault(field, {})[("systolic", "diastolic")[index]] = setting
    return keys


VITAL_THRESHOLDS = _vital_keys()
# Every other numeric setting of the table is a plain number at the top of the site object.
SITE_NUMBERS = tuple(
    name
    for name in SITE_LIMITS
    if name not in VITAL_SETTINGS
    and all(name not in keys.values() for keys in SITE_MINUTES.values())
)
NESTED_SETTINGS = {**SITE_MINUTES, "vital_thresholds": VITAL_THRESHOLDS}
RULES = [*Rule, *EventRule, *AccountRule, *SubmissionRule]
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ApiSchema(Schema):
    """The base of every API schema: unknown fields are ignored."""

    class Meta:
        unknown = EXCLUDE


class Inline(Schema):
    """A small object written out in the document where it is used; unknown keys are errors."""


def _nest(keys: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Arrange flat settings as the API's nested object."""
    return {
        key: _nest(setting, values) if isinstance(setting, dict) else values[setting]
        for key, setting in keys.items()
    }


REMS_CERTIFICATION = {
    "certified_on": "rems_certified_on",
    "authorized_representative": "rems_authorized_representative",
}
PREDOSE_BP = {"systolic": "predose_systolic_max", "diastolic": "predose_diastolic_max"}


def _unnest(
    data: dict[str, Any], nested: dict[str, dict[str, Any]], whole: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Replace each nested object in the input by its flat settings; a `whole` object (or
    null) replaces every one of its settings, a key it leaves out becoming null."""
    for field, keys in nested.items():
        if field in data:
            value = data.pop(field)
            if field in whole:
                value = dict.fromkeys(keys) | (value or {})
            data |= _flatten(keys, value)
    return data


def _flatten(keys: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """Turn a nested settings object back into flat settings."""
    flat: dict[str, Any] = {}
    for key, raw in value.items():
        setting = keys[key]
        flat |= _flatten(setting, raw) if isinstance(setting, dict) else {setting: raw}
    return flat


def _not_empty(value: dict[str, Any]) -> None:
    """Refuse an empty object: it would change nothing by mistake."""
    if not value:
        raise ValidationError("An object with at least one of its settings.")


def _settings(keys: dict[str, Any]) -> fields.Nested:
    """A non-empty object of some of the settings in keys (objects within objects)."""
    declared = {
        key: _settings(setting) if isinstance(setting, dict) else Whole(SITE_LIMITS[setting])
        for key, setting in keys.items()
    }
    schema = Inline.from_dict(declared, name="Settings")
    return fields.Nested(schema, validate=_not_empty, metadata={"minProperties": 1})


OpeningHours = Inline.from_dict(
    {day: Span(metadata=SPAN_DOC) for day in WEEKDAYS}, name="OpeningHours"
)


RemsCertification = Inline.from_dict(
    {"certified_on": Day(required=True), "authorized_representative": Text(120, required=True)},
    name="RemsCertification",
)


Reminders = Inline.from_dict(
    {
        "offsets_minutes": fields.List(
            Whole(validate=validate.Range(OFFSET_RANGE[0], OFFSET_RANGE[1])),
            validate=validate.Length(max=MAX_OFFSETS),
            metadata={"description": "Minutes of local wall-clock time before the visit."},
        ),
        "channels": fields.List(
            fields.String(validate=validate.OneOf(MessageChannel.values())),
            validate=validate.Length(max=len(MessageChannel.values())),
        ),
        "quiet_start": fields.String(
            allow_none=True, validate=validate.Regexp(CLOCK), metadata={"example": "21:00"}
        ),
        "quiet_end": fields.String(
            allow_none=True, validate=validate.Regexp(CLOCK), metadata={"example": "08:00"}
        ),
        "instructions": Text(MAX_INSTRUCTIONS),
    },
    name="Reminders",
)


class SiteSchema(ApiSchema):
    """A site and its settings; the ranges come from the settings table."""

    id = fields.Integer(dump_only=True)
    name = Text(120, required=True)
    timezone = Text(
        64,
        validate=validate.OneOf(
            sorted(TIME_ZONES), error="Not an IANA time zone, e.g. America/Chicago."
        ),
    )
    opening_hours = fields.Nested(OpeningHours)
    nurse_ratio = Whole(SITE_LIMITS["nurse_ratio"])
    require_practitioner_on_site = Bool()
    infusion_minutes = _settings(SITE_MINUTES["infusion_minutes"])
    observation_minutes = _settings(SITE_MINUTES["observation_minutes"])
    overdue_after_minutes = Whole(SITE_LIMITS["overdue_after_minutes"])
    turnover_minutes = Whole(SITE_LIMITS["turnover_minutes"])
    min_hours_between_infusions = Whole(SITE_LIMITS["min_hours_between_infusions"])
    recovery_mode = fields.String(validate=validate.OneOf(RecoveryMode.values()))
    check_in_open_minutes = Whole(SITE_LIMITS["check_in_open_minutes"])
    no_show_after_minutes = Whole(SITE_LIMITS["no_show_after_minutes"])
    cancel_window_hours = Whole(SITE_LIMITS["cancel_window_hours"])
    reminders = fields.Nested(Reminders, metadata={"description": "What patients hear, when."})
    screening_before_start = fields.Raw(
        metadata={"description": "The measures recorded that local day before a start."}
    )
    vital_thresholds = _settings(VITAL_THRESHOLDS)
    default_treatment_type_id = Id()
    rems_certification = fields.Nested(RemsCertification, allow_none=True)

    @pre_dump
    def arrange(self, site: Any, **kwargs: Any) -> dict[str, Any]:
        """Nest the site's flat settings as the API shows them."""
        values = site_values(site)
        hours = site.opening_hours or {}
        nested = {field: _nest(keys, values) for field, keys in NESTED_SETTINGS.items()}
        computed = {
            *nested,
            "opening_hours",
            "rems_certification",
            "reminders",
            "screening_before_start",
        }
        plain = {name: getattr(site, name) for name in self.fields if name not in computed}
        certified = site.rems_certified_on is not None
        rems = {"certified_on": site.rems_certified_on} if certified else None
        if rems is not None:
            rems["authorized_representative"] = site.rems_authorized_representative
        return (
            plain
            | nested
            | {"opening_hours": {day: hours.get(day) for day in WEEKDAYS}}
            | {"rems_certification": rems}
            | {"reminders": reminders_of(site.reminders)}
            | {"screening_before_start": list(site.screening_before_start or [])}
        )

    @post_load
    def flatten(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the changes as the site's flat settings."""
        nested = {**NESTED_SETTINGS, "rems_certification": REMS_CERTIFICATION}
        return _unnest(data, nested, whole=("rems_certification",))


def _type_limit(setting: str) -> Whole:
    """A whole number within a treatment-type setting's limits."""
    low, high = TYPE_LIMITS[setting]
    return Whole(validate=validate.Range(low, high, error=f"Between {low} and {high}."))


def _type_minutes(keys: dict[str, str]) -> type[Schema]:
    """The object of some of a treatment type's minute settings."""
    declared = {key: _type_limit(setting) for key, setting in keys.items()}
    return Inline.from_dict(declared, name="TypeMinutes")


PredoseBp = Inline.from_dict(
    {
        "systolic": _type_limit("predose_systolic_max"),
        "diastolic": _type_limit("predose_diastolic_max"),
    },
    name="PredoseBp",
)


class TreatmentTypeSchema(ApiSchema):
    """What a site gives: administration and observation minutes, REMS, pre-dose BP limit."""

    id = fields.Integer(dump_only=True)
    site_id = Id(required=True)
    name = Text(80, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TreatmentKind.values()))
    active = Bool()
    administration_minutes = fields.Nested(
        _type_minutes(TYPE_MINUTES["administration_minutes"]), required=True, validate=_not_empty
    )
    observation_minutes = fields.Nested(
        _type_minutes(TYPE_MINUTES["observation_minutes"]), required=True, validate=_not_empty
    )
    observation_from = fields.String(validate=validate.OneOf(ObservationFrom.values()))
    rems = Bool()
    predose_bp_max = fields.Nested(PredoseBp, allow_none=True)

    @pre_dump
    def arrange(self, treatment_type: Any, **kwargs: Any) -> dict[str, Any]:
        """Nest the type's flat settings as the API shows them."""
        values = type_values(treatment_type)
        nested = {field: _nest(keys, values) for field, keys in TYPE_MINUTES.items()}
        systolic, diastolic = values["predose_systolic_max"], values["predose_diastolic_max"]
        bp = None if systolic is None else {"systolic": systolic, "diastolic": diastolic}
        plain = {"id": treatment_type.id, "site_id": treatment_type.site_id} | values
        return plain | nested | {"predose_bp_max": bp}

    @post_load
    def flatten(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the changes as the type's flat settings."""
        nested = {**TYPE_MINUTES, "predose_bp_max": PREDOSE_BP}
        return _unnest(data, nested, whole=("predose_bp_max",))


class ChairSchema(ApiSchema):
    """A chair or a recovery bay."""

    id = fields.Integer(dump_only=True)
    site_id = Id(required=True)
    name = Text(60, required=True)
    kind = fields.String(validate=validate.OneOf(ChairKind.values()))
    active = Bool()


class ShiftSchema(ApiSchema):
    """Who is on duty at a site, from when to when."""

    id = fields.Integer(dump_only=True)
    site_id = Id(required=True)
    user_id = Id(required=True)
    role = Text(20, allow_none=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)


class UserSchema(ApiSchema):
    """A user (never the password hash)."""

    id = fields.Integer(dump_only=True)
    email = Text(254, required=True)
    name = Text(120, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = Bool()
    site_ids = fields.List(Id(), validate=validate.Length(max=1000))

    @post_load
    def unique_sites(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Keep each site once, in the order given."""
        if "site_ids" in data:
            data["site_ids"] = list(dict.fromkeys(data["site_ids"]))
        return data


class UserInputSchema(UserSchema):
    """A user as created or changed: with a password (none: API tokens only)."""

    password = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=200))


class RemsEnrollmentSchema(ApiSchema):
    """A patient's REMS enrolment: the day and the REMS patient id."""

    enrolled_on = Day(required=True)
    rems_patient_id = Text(40, required=True)


Contact = Inline.from_dict({"email": Bool(), "sms": Bool()}, name="Contact")


class PatientSchema(ApiSchema):
    """A patient; the optional details may be cleared with null or ""."""

    id = fields.Integer(dump_only=True)
    site_id = Id(allow_none=True)
    mrn = Text(40, required=True)
    given_name = Text(100, required=True)
    family_name = Text(100, required=True)
    birth_date = Day(required=True)
    phone = Text(40, allow_none=True)
    email = Text(254, allow_none=True)
    weight_kg = Number(allow_none=True, validate=validate.Range(1, 500))
    escort_name = Text(120, allow_none=True)
    escort_phone = Text(40, allow_none=True)
    contact = fields.Nested(Contact, metadata={"description": "Consent to messages per channel."})
    escort_sms_consent = Bool(metadata={"description": "The escort agreed to the pick-up SMS."})
    rems_enrollment = fields.Nested(RemsEnrollmentSchema, dump_only=True, allow_none=True)

    @post_load
    def blank_is_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Store a cleared optional detail as null."""
        return {name: value if value != "" else None for name, value in data.items()}


class ClearanceSchema(ApiSchema):
    """A practitioner's evaluation of a patient, with its corrections and voiding."""

    id = fields.Integer(dump_only=True)
    patient_id = fields.Integer(dump_only=True)
    evaluated_on = Day(required=True)
    valid_until = Day(required=True)
    cleared = Bool(required=True)
    consent_signed = Bool(required=True)
    contraindications = fields.List(Text(), validate=validate.Length(max=50))
    notes = Text(4000, allow_none=True)
    mg_per_kg = Number(
        allow_none=True,
        validate=validate.Range(float(MG_PER_KG_RANGE[0]), float(MG_PER_KG_RANGE[1])),
    )
    practitioner_id = fields.Integer(dump_only=True)
    corrected_at = Instant(dump_only=True, allow_none=True)
    corrected_by_id = fields.Integer(dump_only=True, allow_none=True)
    voided = Bool(dump_only=True)
    voided_at = Instant(dump_only=True, allow_none=True)
    voided_by_id = fields.Integer(dump_only=True, allow_none=True)
    void_reason = fields.String(dump_only=True, allow_none=True)

    @post_load
    def tidy(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Drop blank contraindications; no notes are empty notes."""
        if "contraindications" in data:
            data["contraindications"] = [c for c in data["contraindications"] if c]
        if "notes" in data:
            data["notes"] = data["notes"] or ""
        return data


class VoidSchema(ApiSchema):
    """Why a clearance is void."""

    reason = Text(MAX_VOID_REASON, required=True)


class EventSchema(ApiSchema):
    """A lifecycle event: type, at, by, recorded_at, then its extra data."""

    type = fields.String(validate=validate.OneOf(EventType.values()))
    at = Instant()
    by = fields.Integer(attribute="by_id", allow_none=True)
    recorded_at = Instant()

    @post_dump(pass_original=True)
    def extra(self, data: dict[str, Any], event: Any, **kwargs: Any) -> dict[str, Any]:
        """Add the event's own data (reason, minutes, checklist ...) after the common fields."""
        return data | {k: v for k, v in (event.data or {}).items() if k not in data}


class LifecycleEvents(fields.List):
    """A visit's lifecycle events; the booking history (booked, rescheduled) is the desk's."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        history = set(HistoryType)
        events = [event for event in value if event.type not in history]
        return super()._serialize(events, attr, obj, **kwargs)


class VisitSchema(ApiSchema):
    """A visit, its booked plan, what happened and when."""

    id = fields.Integer()
    patient_id = fields.Integer()
    site_id = fields.Integer()
    chair_id = fields.Integer(allow_none=True)
    recovery_chair_id = fields.Integer(allow_none=True)
    treatment_type_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(Status.values()))
    infusion_start = Instant()
    infusion_end = Instant()
    observation_end = Instant()
    infusion_minutes = fields.Integer()
    observation_minutes = fields.Integer()
    checked_in_at = Instant(allow_none=True)
    infusion_started_at = Instant(allow_none=True)
    infusion_ended_at = Instant(allow_none=True)
    discharged_at = Instant(allow_none=True)
    discharge_due_at = Instant(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    notes = fields.String()
    confirmation = fields.String(validate=validate.OneOf(Confirmation.values()))
    events = LifecycleEvents(fields.Nested(EventSchema))


class BookingSchema(ApiSchema):
    """A booking request; without chair_id a free chair is chosen."""

    patient_id = Id(required=True)
    infusion_start = Instant(required=True, within_horizon=True)
    site_id = Id(allow_none=True)
    chair_id = Id(allow_none=True)
    infusion_minutes = Minutes(allow_none=True)
    observation_minutes = Minutes(allow_none=True)
    notes = Text(2000, allow_none=True)
    treatment_type_id = Id(allow_none=True)


RESCHEDULE_FIELDS = ("infusion_start", "chair_id", "infusion_minutes", "observation_minutes")


class RescheduleSchema(BookingSchema):
    """What a reschedule may change; an explicit null chair_id asks for any free chair."""

    infusion_minutes = Minutes()
    observation_minutes = Minutes()

    class Meta(ApiSchema.Meta):
        fields = RESCHEDULE_FIELDS


class ChecklistSchema(ApiSchema):
    """The discharge checklist."""

    padss = Whole(allow_none=True)
    escort_name = Text(120, allow_none=True)
    vitals_stable = Bool(allow_none=True)


class EventInputSchema(ApiSchema):
    """A lifecycle event to record, with the extra fields its type takes."""

    type = Text(40, required=True, validate=validate.OneOf(EventType.values()))
    at = Instant(allow_none=True)
    reason = Text(500, allow_none=True)
    override_reason = Text(500, allow_none=True)
    minutes = Whole(allow_none=True)
    checklist = fields.Nested(ChecklistSchema, allow_none=True)

    def handle_error(self, error: ValidationError, data: Any, **kwargs: Any) -> None:
        """Name the checklist's fields as the service does: checklist.padss."""
        messages = dict(error.messages) if isinstance(error.messages, dict) else {}
        inner = messages.pop("checklist", {})
        for key, lines in (inner if isinstance(inner, dict) else {"_schema": inner}).items():
            messages["checklist" if key == "_schema" else f"checklist.{key}"] = lines
        raise ValidationError(messages)


READINGS = {
    name: Whole(
        required=required,
        allow_none=not required,
        validate=validate.Range(low, high, error=f"A whole number, {low}-{high}."),
    )
    for name, (low, high, required) in RANGES.items()
}


class ObservationSchema(ApiSchema):
    """A reading of vital signs and side effects; its flags are set when it is recorded."""

    id = fields.Integer(dump_only=True)
    visit_id = fields.Integer(dump_only=True)
    at = Instant(allow_none=True)
    recorded_at = Instant(dump_only=True)
    by = fields.Integer(attribute="by_id", dump_only=True, allow_none=True)
    note = Text(1000, allow_none=True)
    flags = fields.List(fields.String(validate=validate.OneOf(VitalFlag.values())), dump_only=True)

    class Meta(ApiSchema.Meta):
        include = READINGS
        fields = ("id", "visit_id", "at", "recorded_at", "by", *RANGES, "note", "flags")

    @validates_schema(skip_on_field_errors=True)
    def pressures(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Refuse a diastolic pressure at or above the systolic one."""
        errors = validate_reading(data)
        if errors:
            raise ValidationError(errors)


class DoseSchema(ApiSchema):
    """A dose given during a visit; an IV dose far off the mg/kg order names who confirmed it."""

    id = fields.Integer(dump_only=True)
    visit_id = fields.Integer(dump_only=True)
    drug = Text(MAX_DRUG, required=True)
    dose_mg = Number(
        required=True,
        validate=validate.Range(
            0, float(MAX_DOSE_MG), min_inclusive=False, error="More than 0 and at most {max} mg."
        ),
    )
    lot = Text(MAX_LOT, required=True)
    at = Instant(allow_none=True)
    route = Text(MAX_ROUTE, allow_none=True)
    recorded_by = fields.Integer(attribute="recorded_by_id", dump_only=True, allow_none=True)
    confirmed_by = fields.Integer(attribute="confirmed_by_id", dump_only=True, allow_none=True)
    confirm = Bool(load_only=True, allow_none=True)


Concomitant = Inline.from_dict(
    {name: Bool(required=True) for name in CONCOMITANT_CLASSES}, name="Concomitant"
)
FormConcomitant = Inline.from_dict(
    {name: Bool(allow_none=True) for name in CONCOMITANT_CLASSES}, name="FormConcomitant"
)
FormBp = Inline.from_dict(
    {name: fields.String(allow_none=True) for name in ("before", "at_40", "before_leaving")},
    name="FormBp",
)


class RemsAnswersSchema(ApiSchema):
    """The monitoring form's answers the record cannot give; at least one of the two."""

    concomitant = fields.Nested(Concomitant)
    ready_to_leave_minutes = Whole(validate=validate.Range(*READY_TO_LEAVE_RANGE))


class RemsFormSchema(ApiSchema):
    """A REMS session's Patient Monitoring Form: every field, null while unknown."""

    visit_id = fields.Integer()
    patient_id = fields.Integer()
    complete = fields.Boolean()
    missing = fields.List(fields.String(validate=validate.OneOf(FORM_FIELDS)))
    treatment_date = fields.Date()
    dose_mg = fields.Float(allow_none=True)
    dose_option = fields.String(allow_none=True, validate=validate.OneOf(["56", "84", "other"]))
    lot = fields.String(allow_none=True)
    total_minutes = fields.Integer(allow_none=True)
    ready_to_leave_minutes = fields.Integer(allow_none=True)
    vitals_acceptable_before = fields.Boolean(allow_none=True)
    vitals_acceptable_after = fields.Boolean(allow_none=True)
    bp = fields.Nested(FormBp)
    sedation = fields.Boolean(allow_none=True)
    dissociation = fields.Boolean(allow_none=True)
    respiratory_depression = fields.Boolean(allow_none=True)
    concomitant = fields.Nested(FormConcomitant)
    first_device_at = Instant(allow_none=True)
    ended_at = Instant(allow_none=True)
    first_treatment = fields.Boolean()
    enrolled = fields.Boolean()
    rems_patient_id = fields.String(allow_none=True)
    site_certification = fields.Nested(RemsCertification, allow_none=True)


class NotificationSchema(ApiSchema):
    """A discharge alarm and whether it has been acknowledged or resolved."""

    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(AlertKind.values()))
    visit_id = fields.Integer()
    site_id = fields.Integer()
    due_at = Instant()
    created_at = Instant()
    acknowledged_at = Instant(allow_none=True)
    acknowledged_by = fields.Integer(attribute="acknowledged_by_id", allow_none=True)
    resolved_at = Instant(allow_none=True)
    resolved_reason = fields.String(allow_none=True)


class RemsSubmissionSchema(ApiSchema):
    """A REMS session on the 7-day tracker; as a request, the form marked submitted.

    `due_on` is the site-local discharge date + 7 days; `status` is due, overdue (from the
    site-local midnight after `due_on`) or submitted.
    """

    visit_id = fields.Integer(dump_only=True)
    due_on = Day(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(SubmissionStatus.values()))
    site_id = fields.Integer(dump_only=True, attribute="visit.site_id")
    patient_id = fields.Integer(dump_only=True, attribute="visit.patient_id")
    patient_initials = fields.String(dump_only=True)
    discharged_at = Instant(dump_only=True)
    method = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(SubmissionMethod.values())
    )
    confirmation = Text(60, required=True, allow_none=True)
    submitted_at = Instant(required=True, allow_none=True)


class MessageSchema(ApiSchema):
    """A message to the patient (or the escort) about a visit: never its address or text."""

    id = fields.Integer()
    channel = fields.String(validate=validate.OneOf(MessageChannel.values()))
    kind = fields.String(validate=validate.OneOf(MessageKind.values()))
    status = fields.String(validate=validate.OneOf(MessageStatus.values()))
    scheduled_for = Instant()
    sent_at = Instant(allow_none=True)


class InboundSmsAnswerSchema(ApiSchema):
    """What an inbound SMS did: confirmed, cancel_requested, cancelled, stopped, closed,
    no_visit, ignored (not a reply word or an unknown number) or unknown (not a number)."""

    result = fields.String()


class TokenSchema(ApiSchema):
    """An API token (never the token itself: only its digest is kept)."""

    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    created_at = Instant()
    expires_at = Instant(allow_none=True)
    last_used_at = Instant(allow_none=True)
    revoked_at = Instant(allow_none=True)
    status = fields.Function(lambda row: row.status(utcnow()), metadata={"type": "string"})


class SlotSchema(ApiSchema):
    """A bookable slot."""

    chair_id = fields.Integer()
    infusion_start = Instant()
    infusion_end = Instant()
    observation_end = Instant()


class AvailabilitySchema(ApiSchema):
    """The bookable slots, by start then chair."""

    slots = fields.List(fields.Nested(SlotSchema))


class DueSchema(ApiSchema):
    """A scheduled reading: kind, due_at, state (and the reading that satisfied it)."""

    kind = fields.String(validate=validate.OneOf(DueKind.values()))
    due_at = Instant()
    state = fields.String(validate=validate.OneOf(DueState.values()))
    reading_at = Instant(allow_none=True)


def _visit(name: str, field: fields.Field | None = None) -> fields.Field:
    """A dashboard field read from the row's visit."""
    field = field or Instant(allow_none=True)
    field.attribute = f"visit.{name}"
    return field


def _booking_start(name: str) -> fields.Field:
    """The start of the row's next booking of a chair or bay, or null."""

    def start(row: Any) -> str | None:
        booking = getattr(row, name)
        return instant(booking.starts_at if booking else None)

    return fields.Function(start, metadata={"type": ["string", "null"], "format": "date-time"})


class DashboardVisitSchema(ApiSchema):
    """One visit on the dashboard: API.md's fields first, then the additions."""

    id = _visit("id", fields.Integer())
    patient_label = fields.String()
    chair = fields.String(allow_none=True)
    status = _visit("status", fields.String(validate=validate.OneOf(Status.values())))
    infusion_started_at = _visit("infusion_started_at")
    infusion_ended_at = _visit("infusion_ended_at")
    discharge_due_at = _visit("discharge_due_at")
    seconds_to_discharge_due = fields.Integer(allow_none=True)
    overdue = Bool()
    latest_observation = fields.Nested(ObservationSchema, attribute="latest", allow_none=True)
    flags = fields.List(fields.String())
    vitals_due = fields.List(fields.Nested(DueSchema))
    countdown = fields.String(validate=validate.OneOf(Countdown.values()))
    chair_id = _visit("chair_id", fields.Integer(allow_none=True))
    recovery_chair = fields.String(allow_none=True)
    recovery_chair_id = _visit("recovery_chair_id", fields.Integer(allow_none=True))
    checked_in_at = _visit("checked_in_at")
    infusion_start = _visit("infusion_start")
    infusion_end = _visit("infusion_end")
    infusion_minutes = _visit("infusion_minutes", fields.Integer())
    observation_minutes = _visit("observation_minutes", fields.Integer())
    extension_minutes = _visit("extension_minutes", fields.Integer())
    phase_started_at = Instant(allow_none=True)
    minutes_in_phase = fields.Integer(allow_none=True)
    vitals_next = fields.Nested(DueSchema, allow_none=True)
    vitals_missed = fields.List(fields.Nested(DueSchema))
    expected_chair_release = Instant(allow_none=True)
    next_chair_booking_at = _booking_start("next_chair_booking")
    chair_clash_minutes = fields.Integer(allow_none=True)
    next_bay_booking_at = _booking_start("next_bay_booking")
    bay_clash_minutes = fields.Integer(allow_none=True)
    planned_date = Day(attribute="planned_on")
    planned_today = Bool()
    treatment_type_id = _visit("treatment_type_id", fields.Integer())
    treatment_type = fields.String(attribute="treatment.name")


class DashboardSchema(ApiSchema):
    """Every visit of a site in its chairs or recovery, with what the client's clock needs."""

    server_time = Instant(attribute="now")
    visits = fields.List(fields.Nested(DashboardVisitSchema), attribute="rows")
    site_id = fields.Integer(attribute="site.id")
    overdue_after_minutes = fields.Integer(attribute="site.overdue_after_minutes")
    amber_minutes = fields.Function(lambda board: AMBER_MINUTES, metadata={"type": "integer"})


class SchedulerSchema(ApiSchema):
    """Whether the scheduler's heartbeat is fresh."""

    alive = Bool()
    last_heartbeat = Instant(allow_none=True)


class HealthSchema(ApiSchema):
    """Whether the database answers and the scheduler is alive."""

    database = fields.String(validate=validate.OneOf(["ok", "unavailable"]))
    scheduler = fields.Nested(SchedulerSchema)


class ReasonSchema(ApiSchema):
    """A broken rule: its name and what it means here."""

    rule = fields.String(required=True, validate=validate.OneOf(RULES))
    message = fields.String(required=True)
    # The fields a rule is about (rems_incomplete: the monitoring form's missing fields).
    fields_ = fields.List(fields.String(), data_key="fields")


class ErrorSchema(ApiSchema):
    """The one error body; `reasons` lists every broken rule of a 409."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.List(fields.String()), required=True
    )
    reasons = fields.List(fields.Nested(ReasonSchema))
    alternatives = fields.List(fields.Nested(SlotSchema))


# ---------------------------------------------------------------- query parameters


class SiteQuery(ApiSchema):
    """?site_id= narrows a list to one site."""

    site_id = Id(strict=False)


class DayQuery(SiteQuery):
    """?site_id=&date= (a site-local day)."""

    date = Day()


class AvailabilityQuery(DayQuery):
    """What to look for: days from the date, lengths, how many slots."""

    days = Whole(strict=False, validate=validate.Range(1, 31), load_default=1)
    infusion_minutes = Minutes(strict=False)
    observation_minutes = Minutes(strict=False)
    limit = Whole(strict=False, validate=validate.Range(1, 1000), load_default=50)
    treatment_type_id = Id(strict=False)  # lengths and counting of this type (default: site's)


class NotificationQuery(SiteQuery):
    """?site_id=&unacknowledged=1."""

    unacknowledged = Flag(load_default=False)


def _one_line(value: str) -> None:
    if problem := line_problem(value):
        raise ValidationError(problem)


class PatientQuery(ApiSchema):
    """?q= a name or MRN prefix (a control character is refused, not ignored)."""

    q = fields.String(load_default="", validate=_one_line)


class TokenQuery(ApiSchema):
    """?user_id= another user's tokens (administrators)."""

    user_id = Id(strict=False)


class RemsSubmissionQuery(SiteQuery):
    """?site_id=&status=due|overdue|submitted."""

    status = fields.String(validate=validate.OneOf(SubmissionStatus.values()))


class MeasureInputSchema(ApiSchema):
    """A completed instrument: its name and answers (checked by the instrument's definition)."""

    instrument = fields.Raw(required=True, metadata={"description": "phq9, gad7, cssrs_screen"})
    answers = fields.Raw(required=True, metadata={"description": "The answers, items in order."})
    at = Instant(allow_none=True)


class MeasureSchema(ApiSchema):
    """A recorded measure: total, band and flags (never its answers)."""

    id = fields.Integer()
    instrument = fields.String()
    score = fields.Integer()
    band = fields.String()
    flags = fields.List(fields.String())
    at = Instant()


class ScreeningReviewSchema(ApiSchema):
    """A practitioner's review of a positive screen."""

    id = fields.Integer(dump_only=True)
    visit_id = fields.Integer(dump_only=True)
    decision = fields.Raw(required=True, metadata={"description": "proceed or defer"})
    note = fields.Raw(required=True)
    at = Instant(dump_only=True)


class KioskLinkSchema(ApiSchema):
    """A one-visit kiosk link."""

    url = fields.String(dump_only=True)
    expires_at = Instant(dump_only=True)


class OutcomeSchema(ApiSchema):
    """One instrument's course outcome."""

    baseline = fields.Integer(allow_none=True)
    latest = fields.Integer(allow_none=True)
    change_pct = fields.Float(allow_none=True)
    response = fields.Boolean()
    remission = fields.Boolean()
    series = fields.List(fields.Dict())


class OutcomesSchema(ApiSchema):
    """A patient's PHQ-9 and GAD-7 outcomes."""

    phq9 = fields.Nested(OutcomeSchema)
    gad7 = fields.Nested(OutcomeSchema)


def _weekdays(**kwargs: Any) -> fields.List:
    """A list of one to seven weekdays, 0 (Monday) to 6 (Sunday)."""
    return fields.List(
        Whole(validate=validate.Range(0, 6, error="0 (Monday) to 6 (Sunday).")),
        validate=validate.Length(min=1, max=7, error="One to seven weekdays."),
        **kwargs,
    )


class CourseCreateSchema(ApiSchema):
    """A course: count dates on the weekdays (0 = Monday) at first_start's local time."""

    patient_id = Id(required=True)
    site_id = Id(allow_none=True)
    first_start = Instant(required=True, within_horizon=True)
    weekdays = _weekdays(required=True)
    count = Whole(required=True, validate=validate.Range(1, 12, error="1 to 12 infusions."))
    chair_id = Id(allow_none=True)
    treatment_type_id = Id(allow_none=True)
    dry_run = Bool(load_default=False)


class CourseAlternativeSchema(ApiSchema):
    """A slot offered instead of a refused date."""

    chair_id = fields.Integer()
    infusion_start = Instant()


class CourseReasonSchema(ApiSchema):
    """A broken rule."""

    rule = fields.String()
    message = fields.String()


class CourseDateSchema(ApiSchema):
    """One date of a course as checked: ok, or the rules it breaks and the closest slots."""

    infusion_start = Instant()
    ok = fields.Boolean()
    reasons = fields.List(fields.Nested(CourseReasonSchema))
    alternatives = fields.List(fields.Nested(CourseAlternativeSchema))


class CourseCheckSchema(ApiSchema):
    """A dry run's answer."""

    dates = fields.List(fields.Nested(CourseDateSchema))


class CourseSchema(ApiSchema):
    """A course with its visits and progress."""

    id = fields.Integer()
    patient_id = fields.Integer()
    site_id = fields.Integer()
    visits = fields.List(fields.Nested(VisitSchema))
    planned = fields.Integer()
    completed = fields.Integer()


class CourseQuery(ApiSchema):
    """?patient_id= (required)."""

    patient_id = Id(strict=False, required=True)


class CourseRescheduleSchema(ApiSchema):
    """Move a visit of a course, and with "following" every later one by the same difference."""

    from_visit_id = Id(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(("this", "following")))
    infusion_start = Instant(required=True, within_horizon=True)
    # With "following": a new weekday pattern for the later dates (default: keep the spacing).
    weekdays = _weekdays(allow_none=True)


class CourseCancelSchema(ApiSchema):
    """Cancel a visit of a course, or it and every later one."""

    from_visit_id = Id(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(("this", "following")))
    reason = Text(500, required=True)


class CourseAddSchema(ApiSchema):
    """One more date for a course."""

    infusion_start = Instant(required=True, within_horizon=True)
    chair_id = Id(allow_none=True)


class PlanSchema(ApiSchema):
    """How often a patient comes back, and when next."""

    patient_id = fields.Integer(dump_only=True)
    every_days = Whole(required=True, validate=validate.Range(1, MAX_EVERY_DAYS))
    next_due_on = Day(required=True)
    # "spravato": next_due_on is the template's start, every_days its maintenance (7 or 14).
    template = fields.String(
        validate=validate.OneOf(PlanTemplate.values()), load_default=PlanTemplate.NONE.value
    )
    due_on = Day(dump_only=True)


class RecallQuery(SiteQuery):
    """?site_id=&within_days= (default 14)."""

    within_days = Whole(strict=False, validate=validate.Range(0, MAX_WITHIN_DAYS), load_default=14)


class RecallSchema(ApiSchema):
    """A patient due back, with their last visit's start."""

    patient_id = fields.Integer()
    due_on = Day()
    last_visit_at = Instant(allow_none=True)


class WaitlistEntrySchema(ApiSchema):
    """A patient waiting for an earlier slot at a site between two days."""

    id = fields.Integer(dump_only=True)
    patient_id = Id(required=True)
    site_id = Id(required=True)
    earliest_on = Day(required=True)
    latest_on = Day(required=True)
    part_of_day = fields.String(
        validate=validate.OneOf(PartOfDay.values()), load_default=PartOfDay.ANY.value
    )
    note = Text(500, allow_none=True)
    status = fields.String(dump_only=True)
    created_at = Instant(dump_only=True)


class MatchQuery(SiteQuery):
    """?site_id=&infusion_start=&chair_id= (a free slot)."""

    infusion_start = Instant(required=True, within_horizon=True)
    chair_id = Id(strict=False, required=True)


class OfferInputSchema(ApiSchema):
    """A free slot offered to some waitlist entries."""

    chair_id = Id(required=True)
    infusion_start = Instant(required=True, within_horizon=True)
    entry_ids = fields.List(Id(), required=True, validate=validate.Length(1, 20))
    hold_minutes = Whole(validate=validate.Range(1, 24 * 60), load_default=15)


class OfferSchema(ApiSchema):
    """An offer's state: open, taken (with the visit booked) or expired."""

    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(OfferStatus.values()))
    visit_id = fields.Integer(allow_none=True)


class CalendarFeedInputSchema(ApiSchema):
    """A new calendar feed: a staff member's, or (no user_id) an admin's: the site's, else
    the caller's own."""

    site_id = Id(required=True)
    user_id = Id(allow_none=True, load_default=None)


class CalendarFeedSchema(ApiSchema):
    """A new calendar feed: its id and its address (shown only in this answer)."""

    id = fields.Integer(dump_only=True)
    url = fields.String(dump_only=True)
