"""Treatment types, their timing, and the Spravato REMS rules: gates, monitoring form, tracker.

A treatment type says how long the administration lasts, how long the patient is observed
and from which end of the administration the observation is counted. An IV infusion is
watched from its end; esketamine (Spravato) is watched for at least two hours from the first
nasal device, whatever time the last one was taken (Spravato REMS). All arithmetic is done
on UTC instants, so a 09:00 visit on a DST day lasts as many real minutes as on any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from clinic.domain.booking import ObservationFrom as ObservationFrom
from clinic.domain.booking import Rule, Violation
from clinic.domain.choices import Choice
from clinic.domain.discharge import UNSTABLE_FLAGS
from clinic.domain.intervals import Interval
from clinic.domain.visits import EventRule
from clinic.domain.vitals import SEDATION_MOAAS_AT_MOST, Reading, Thresholds, flags


class TreatmentKind(Choice):
    """What a treatment type gives, named as the API sends it."""

    IV_KETAMINE = "iv_ketamine", "IV ketamine", "kind-iv_ketamine"
    ESKETAMINE = "esketamine", "Esketamine (Spravato)", "kind-esketamine"
    OTHER = "other", "Other", "kind-other"


class SubmissionStatus(Choice):
    """Where a session's REMS Patient Monitoring Form stands."""

    DUE = "due", "Due", "rems-due"
    OVERDUE = "overdue", "Overdue", "rems-overdue"
    SUBMITTED = "submitted", "Submitted", "rems-submitted"


class SubmissionMethod(Choice):
    """How a monitoring form was sent to the REMS."""

    ONLINE = "online", "Online", "rems-method-online"
    FAX = "fax", "Fax", "rems-method-fax"


# Spravato REMS: at least two hours of monitoring from the first device.
REMS_MINIMUM_MINUTES = 120
# Minutes an administration or an observation may be booked for, in any type.
MINUTES_RANGE = (1, 24 * 60)
# Observation may be zero, as a site's own setting may (a type migrated from such a site).
OBSERVATION_RANGE = (0, 24 * 60)
# (systolic, diastolic) a pre-dose limit may be set to.
BP_LIMIT_RANGES = ((40, 300), (20, 200))


# The words pages use for the start and the whole of a kind's administration.
WORDS: dict[TreatmentKind, tuple[str, str]] = {
    TreatmentKind.IV_KETAMINE: ("infusion start", "infusion"),
    TreatmentKind.ESKETAMINE: ("first device", "administration"),
    TreatmentKind.OTHER: ("administration start", "administration"),
}


def start_word(kind: TreatmentKind) -> str:
    """Return what the pages call the start of this kind's administration."""
    return WORDS[kind][0]


def administration_word(kind: TreatmentKind) -> str:
    """Return what the pages call this kind's administration."""
    return WORDS[kind][1]


@dataclass(frozen=True)
class TreatmentPlan:
    """A treatment type's timing and gates, as the rules read it."""

    kind: TreatmentKind
    administration_min: int
    administration_max: int
    administration_default: int
    observation_min: int
    observation_default: int
    observation_from: ObservationFrom
    rems: bool = False
    predose_bp_max: tuple[int, int] | None = None  # (systolic, diastolic)

    def errors(self) -> dict[str, list[str]]:
        """Return field errors keyed as the API names them; empty when the type is valid."""
        found: dict[str, list[str]] = {}
        for name, messages in (
            ("administration_minutes", self._administration_errors()),
            ("observation_minutes", self._observation_errors()),
            ("observation_from", self._rems_from_errors()),
            ("predose_bp_max", _bp_limit_errors(self.predose_bp_max)),
        ):
            if messages:
                found[name] = messages
        return found

    def _administration_errors(self) -> list[str]:
        numbers = (self.administration_min, self.administration_default, self.administration_max)
        errors = _minutes_errors(numbers)
        if not errors and not numbers[0] <= numbers[1] <= numbers[2]:
            errors.append("Needs min ≤ default ≤ max.")
        return errors

    def _observation_errors(self) -> list[str]:
        numbers = (self.observation_min, self.observation_default)
        errors = _minutes_errors(numbers, OBSERVATION_RANGE)
        if not errors and numbers[0] > numbers[1]:
            errors.append("Needs min ≤ default.")
        if not errors and self.rems and numbers[0] < REMS_MINIMUM_MINUTES:
            errors.append(f"A REMS type observes for at least {REMS_MINIMUM_MINUTES} minutes.")
        return errors

    def _rems_from_errors(self) -> list[str]:
        if self.rems and self.observation_from is not ObservationFrom.ADMINISTRATION_START:
            return ["A REMS type counts the observation from the first device."]
        return []

    def visit_errors(self, administration: int, observation: int) -> dict[str, list[str]]:
        """Return field errors for a visit's minutes against this type's ranges."""
        found: dict[str, list[str]] = {}
        low, high = self.administration_min, self.administration_max
        if not low <= administration <= high:
            found["infusion_minutes"] = [f"Between {low} and {high} minutes for this type."]
        if observation < self.observation_min:
            found["observation_minutes"] = [f"At least {self.observation_min} minutes."]
        return found


def _minutes_errors(
    numbers: Iterable[object], limits: tuple[int, int] = MINUTES_RANGE
) -> list[str]:
    low, high = limits
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            return [f"Whole minutes, {low}-{high}."]
    return []


def _bp_limit_errors(limit: tuple[int, int] | None) -> list[str]:
    if limit is None:
        return []
    for value, (low, high) in zip(limit, BP_LIMIT_RANGES, strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return ["Systolic 40-300 and diastolic 20-200."]
    if limit[0] <= limit[1]:
        return ["The systolic limit must be above the diastolic."]
    return []


def default_iv_plan(infusion_minutes: int, observation_minutes: int) -> TreatmentPlan:
    """Return the IV type a site's current settings mean (observation from the infusion's end)."""
    return TreatmentPlan(
        kind=TreatmentKind.IV_KETAMINE,
        administration_min=infusion_minutes,
        administration_max=infusion_minutes,
        administration_default=infusion_minutes,
        observation_min=observation_minutes,
        observation_default=observation_minutes,
        observation_from=ObservationFrom.ADMINISTRATION_END,
    )


# Timing -------------------------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    """Return an aware instant in UTC, so adding minutes adds real time on DST days."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def observation_end(
    observation_from: ObservationFrom,
    administration_start: datetime,
    administration_end: datetime,
    observation_minutes: int,
    extension_minutes: int = 0,
) -> datetime:
    """Return the observation's end: its start + minutes + extensions, never before the end."""
    start, end = _utc(administration_start), _utc(administration_end)
    counted_from = start if observation_from is ObservationFrom.ADMINISTRATION_START else end
    return max(counted_from + _minutes(observation_minutes + extension_minutes), end)


def planned_observation_end(
    observation_from: ObservationFrom,
    administration_start: datetime,
    administration_minutes: int,
    observation_minutes: int,
    extension_minutes: int = 0,
) -> datetime:
    """Return a booked visit's observation end from its planned start and lengths."""
    start = _utc(administration_start)
    end = start + _minutes(administration_minutes)
    return observation_end(observation_from, start, end, observation_minutes, extension_minutes)


def discharge_due_at(
    observation_from: ObservationFrom,
    started_at: datetime,
    ended_at: datetime,
    observation_minutes: int,
    extension_minutes: int = 0,
) -> datetime:
    """Return when discharge is due from the administration's real start and end."""
    return observation_end(
        observation_from, started_at, ended_at, observation_minutes, extension_minutes
    )


def chair_hold(start: datetime, observation_ends: datetime, turnover_minutes: int) -> Interval:
    """Return the chair's hold [start, observation end + turnover)."""
    return Interval(_utc(start), _utc(observation_ends) + _minutes(turnover_minutes))


def rems_monitoring_until(first_device_at: datetime, observation_minutes: int) -> datetime:
    """Return the earliest REMS discharge: first device + the observation (2 h at the least)."""
    return _utc(first_device_at) + _minutes(max(observation_minutes, REMS_MINIMUM_MINUTES))


# Gates --------------------------------------------------------------------------------------


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b} {day.year}"


def rems_booking_violations(
    rems: bool,
    site_certified_on: date | None,
    patient_enrolled_on: date | None,
    visit_day: date,
) -> list[Violation]:
    """Return the REMS booking rules a visit breaks (certified and enrolled by the local day)."""
    if not rems:
        return []
    found: list[Violation] = []
    if site_certified_on is None or site_certified_on > visit_day:
        found.append(
            Violation(Rule.REMS_SITE_NOT_CERTIFIED, _certification_message(site_certified_on))
        )
    if patient_enrolled_on is None or patient_enrolled_on > visit_day:
        found.append(
            Violation(Rule.REMS_PATIENT_NOT_ENROLLED, _enrolment_message(patient_enrolled_on))
        )
    return found


def _certification_message(certified_on: date | None) -> str:
    if certified_on is None:
        return "This site is not REMS-certified: a REMS treatment cannot be booked here."
    return f"This site is REMS-certified only from {_day(certified_on)}."


def _enrolment_message(enrolled_on: date | None) -> str:
    if enrolled_on is None:
        return "The patient is not enrolled in the REMS: a practitioner must enrol them first."
    return f"The patient is enrolled in the REMS only from {_day(enrolled_on)}."


PREDOSE_WINDOW = timedelta(minutes=30)


def predose_readings(readings: Iterable[Reading], start_at: datetime) -> list[Reading]:
    """Return the readings in the 30 minutes before a dose, (start - 30 min, start], by time.

    The dose's own minute counts (a reading written down at 09:00 before a 09:00 start); a
    reading exactly 30 minutes old does not.
    """
    start = _utc(start_at)
    opens = start - PREDOSE_WINDOW
    return sorted((r for r in readings if opens < _utc(r.at) <= start), key=lambda r: _utc(r.at))


def _above(reading: Reading, limit: tuple[int, int]) -> bool:
    return reading.systolic > limit[0] or reading.diastolic > limit[1]


def predose_violations(
    readings: Iterable[Reading], start_at: datetime, predose_bp_max: tuple[int, int] | None
) -> list[Violation]:
    """Return the pre-dose rules a start breaks, before any override."""
    recent = predose_readings(readings, start_at)
    if not recent:
        return [
            Violation(
                EventRule.PREDOSE_VITALS_MISSING,
                "No vital signs in the 30 minutes before the dose: take a baseline reading first.",
            )
        ]
    latest = recent[-1]
    if predose_bp_max is not None and _above(latest, predose_bp_max):
        systolic, diastolic = predose_bp_max
        return [
            Violation(
                EventRule.PREDOSE_BP_HIGH,
                f"Blood pressure {latest.systolic}/{latest.diastolic} is above this treatment's "
                f"pre-dose limit of {systolic}/{diastolic}: consider delaying the dose.",
            )
        ]
    return []


OVERRIDE_NOT_PRACTITIONER = " Only a practitioner may override, giving a reason."
OVERRIDE_NO_REASON = " Give an override reason to go ahead."


def with_override(
    violations: list[Violation], is_practitioner: bool, override_reason: str | None
) -> list[Violation]:
    """Return the violations that still refuse once a practitioner's reasoned override applies."""
    if not violations:
        return []
    if is_practitioner and (override_reason or "").strip():
        return []
    suffix = OVERRIDE_NO_REASON if is_practitioner else OVERRIDE_NOT_PRACTITIONER
    return [Violation(v.rule, v.message + suffix) for v in violations]


def start_refusals(
    readings: Iterable[Reading],
    start_at: datetime,
    predose_bp_max: tuple[int, int] | None,
    is_practitioner: bool,
    override_reason: str | None,
) -> list[Violation]:
    """Return why a dose may not start now; empty when it may (or a practitioner overrode)."""
    found = predose_violations(readings, start_at, predose_bp_max)
    return with_override(found, is_practitioner, override_reason)


@dataclass(frozen=True)
class FieldsViolation(Violation):
    """A broken rule that names the fields it is about (the API's `fields`)."""

    fields: tuple[str, ...] = ()


def rems_discharge_refusals(
    first_device_at: datetime,
    observation_minutes: int,
    at: datetime,
    missing: Sequence[str],
    tz: ZoneInfo,
) -> list[Violation]:
    """Return why a REMS session may not be discharged at `at`: for every role, no override."""
    found: list[Violation] = []
    until = rems_monitoring_until(first_device_at, observation_minutes)
    if _utc(at) < until:
        found.append(
            Violation(
                EventRule.REMS_MINIMUM_MONITORING,
                f"REMS monitoring lasts until {until.astimezone(tz):%H:%M}, "
                f"{max(observation_minutes, REMS_MINIMUM_MINUTES)} minutes after the first "
                "device; nobody may discharge earlier.",
            )
        )
    if missing:
        labels = ", ".join(FIELD_LABELS.get(name, name) for name in missing)
        found.append(
            FieldsViolation(
                EventRule.REMS_INCOMPLETE,
                f"The REMS monitoring form is incomplete: {labels}.",
                tuple(missing),
            )
        )
    return found


# The REMS Patient Monitoring Form -----------------------------------------------------------

CONCOMITANT_CLASSES = (
    "benzodiazepines",
    "non_benzodiazepine_sedative_hypnotics",
    "psychostimulants",
    "maois",
)
CONCOMITANT_LABELS = {
    "benzodiazepines": "Benzodiazepines",
    "non_benzodiazepine_sedative_hypnotics": "Non-benzodiazepine sedative hypnotics",
    "psychostimulants": "Psychostimulants",
    "maois": "MAOIs",
}

# The form's fields in the form's order: name (as the API's `missing` lists it) -> label.
FIELD_LABELS: dict[str, str] = {
    "dose_mg": "Dose (56 mg, 84 mg or other)",
    "lot": "Lot number",
    "total_minutes": "Total minutes from the first device to the end of monitoring",
    "ready_to_leave_minutes": "Minutes until ready to leave, were there no 2-hour minimum",
    "vitals_acceptable_before": "Vital signs acceptable before dosing",
    "vitals_acceptable_after": "Vital signs acceptable after monitoring",
    "bp.before": "Blood pressure before dosing",
    "bp.at_40": "Blood pressure about 40 minutes after the first device",
    "bp.before_leaving": "Blood pressure before leaving",
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
    **{f"concomitant.{name}": label for name, label in CONCOMITANT_LABELS.items()},
}
FORM_FIELDS = tuple(FIELD_LABELS)
STANDARD_DOSES_MG = (Decimal(56), Decimal(84))
# The 40-minute BP is accepted 35 to 45 minutes after the first device, both included.
BP_AT_40_WINDOW = (timedelta(minutes=35), timedelta(minutes=45))
# The vitals-due schedule's peak window for a REMS type (clinic.domain.vitals.vitals_schedule).
REMS_PEAK_WINDOW = BP_AT_40_WINDOW
# Respiratory depression is read from the saturation and a respiratory rate below this.
RESPIRATORY_RATE_LOW = 10


@dataclass(frozen=True)
class Dose:
    """One dose given: a nasal device or an infusion."""

    drug: str
    dose_mg: Decimal
    lot: str
    at: datetime
    route: str = ""


@dataclass(frozen=True)
class SessionFacts:
    """What the record holds about one REMS session; `ended_at` is the discharge (or proposed)."""

    doses: tuple[Dose, ...]
    readings: tuple[Reading, ...]
    ended_at: datetime | None
    ready_to_leave_minutes: int | None
    concomitant: Mapping[str, bool | None] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)


def dose_option(total_mg: Decimal) -> str:
    """Return the form's dose box: "56", "84" or "other"."""
    return str(int(total_mg)) if total_mg in STANDARD_DOSES_MG else "other"


def first_device_at(doses: Iterable[Dose]) -> datetime | None:
    """Return the first dose's instant, or None before any dose."""
    return min((_utc(d.at) for d in doses), default=None)


def _sorted_readings(readings: Iterable[Reading]) -> list[Reading]:
    return sorted(readings, key=lambda r: _utc(r.at))


def bp_before(readings: Iterable[Reading], first: datetime) -> Reading | None:
    """Return the latest reading at or before the first device."""
    before = [r for r in _sorted_readings(readings) if _utc(r.at) <= first]
    return before[-1] if before else None


def bp_at_40(readings: Iterable[Reading], first: datetime) -> Reading | None:
    """Return the reading nearest 40 minutes after the first device, within 35-45 minutes."""
    opens, closes = first + BP_AT_40_WINDOW[0], first + BP_AT_40_WINDOW[1]
    inside = [r for r in readings if opens <= _utc(r.at) <= closes]
    target = first + timedelta(minutes=40)
    return min(inside, key=lambda r: (abs(_utc(r.at) - target), _utc(r.at)), default=None)


def bp_before_leaving(
    readings: Iterable[Reading], first: datetime, ended_at: datetime | None
) -> Reading | None:
    """Return the latest reading after the 40-minute window, up to the end of monitoring."""
    after = first + BP_AT_40_WINDOW[1]
    kept = [
        r
        for r in _sorted_readings(readings)
        if _utc(r.at) > after and (ended_at is None or _utc(r.at) <= _utc(ended_at))
    ]
    return kept[-1] if kept else None


def _acceptable(reading: Reading | None, baseline: Reading | None, t: Thresholds) -> bool | None:
    if reading is None:
        return None
    return not UNSTABLE_FLAGS.intersection(flags(reading, baseline, t))


def _any_or_none(values: list[bool]) -> bool | None:
    return any(values) if values else None


def observed_effects(
    readings: Iterable[Reading], first: datetime, t: Thresholds
) -> dict[str, bool | None]:
    """Return sedation, dissociation and respiratory depression seen after the first device."""
    after = [r for r in readings if _utc(r.at) >= first]
    return {
        "sedation": _any_or_none(
            [r.moaas <= SEDATION_MOAAS_AT_MOST for r in after if r.moaas is not None]
        ),
        "dissociation": _any_or_none(
            [r.dissociation > 0 for r in after if r.dissociation is not None]
        ),
        "respiratory_depression": _any_or_none(
            [
                r.spo2 < t.spo2_low
                or (r.respiratory_rate is not None and r.respiratory_rate < RESPIRATORY_RATE_LOW)
                for r in after
            ]
        ),
    }


def _pressure(reading: Reading | None) -> str | None:
    return None if reading is None else f"{reading.systolic}/{reading.diastolic}"


def form_values(facts: SessionFacts) -> dict[str, object]:
    """Return every form field's value (None when unknown), keyed and ordered as FORM_FIELDS."""
    values: dict[str, object] = dict.fromkeys(FORM_FIELDS)
    for name in CONCOMITANT_CLASSES:
        values[f"concomitant.{name}"] = facts.concomitant.get(name)
    values["ready_to_leave_minutes"] = facts.ready_to_leave_minutes
    first = first_device_at(facts.doses)
    if first is None:
        return values
    total = sum((d.dose_mg for d in facts.doses), Decimal(0))
    lots = [d.lot.strip() for d in facts.doses]
    before = bp_before(facts.readings, first)
    leaving = bp_before_leaving(facts.readings, first, facts.ended_at)
    values.update(
        {
            "dose_mg": total,
            "lot": ", ".join(dict.fromkeys(lots)) if all(lots) else None,
            "total_minutes": _total_minutes(first, facts.ended_at),
            "vitals_acceptable_before": _acceptable(before, before, facts.thresholds),
            "vitals_acceptable_after": _acceptable(leaving, before, facts.thresholds),
            "bp.before": _pressure(before),
            "bp.at_40": _pressure(bp_at_40(facts.readings, first)),
            "bp.before_leaving": _pressure(leaving),
            **observed_effects(facts.readings, first, facts.thresholds),
        }
    )
    return values


def _total_minutes(first: datetime, ended_at: datetime | None) -> int | None:
    if ended_at is None:
        return None
    return int((_utc(ended_at) - first).total_seconds() // 60)


@dataclass(frozen=True)
class FormState:
    """The monitoring form's values, whether it is complete, and what is missing (form order)."""

    values: dict[str, object]
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Tell whether every field of the form is recorded."""
        return not self.missing

    def nested(self) -> dict[str, object]:
        """Return the values with `bp.*` and `concomitant.*` nested, as the API answers them."""
        shaped: dict[str, object] = {}
        groups: dict[str, dict[str, object]] = {}
        for name, value in self.values.items():
            group, _, key = name.rpartition(".")
            if group:
                shaped.setdefault(group, groups.setdefault(group, {}))
                groups[group][key] = value
            else:
                shaped[name] = value
        return shaped


def rems_form(facts: SessionFacts) -> FormState:
    """Return the session's monitoring form with its missing fields, in the form's order."""
    values = form_values(facts)
    return FormState(values, tuple(name for name in FORM_FIELDS if values[name] is None))


# The 7-day submission tracker ---------------------------------------------------------------

SUBMIT_WITHIN_DAYS = 7
REMIND_DAYS_BEFORE_OVERDUE = 2


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def submission_due_on(discharged_at: datetime, tz: ZoneInfo) -> date:
    """Return the last day to submit: the site-local discharge date + 7 days."""
    return _utc(discharged_at).astimezone(tz).date() + timedelta(days=SUBMIT_WITHIN_DAYS)


def overdue_from(due_on: date, tz: ZoneInfo) -> datetime:
    """Return the instant a form falls overdue: the site-local midnight after its due day."""
    return _local_midnight(due_on + timedelta(days=1), tz)


def reminder_at(due_on: date, tz: ZoneInfo) -> datetime:
    """Return the reminder instant: site-local midnight two days before the form falls overdue."""
    return _local_midnight(due_on + timedelta(days=1 - REMIND_DAYS_BEFORE_OVERDUE), tz)


def submission_status(
    due_on: date, submitted_at: datetime | None, now: datetime, tz: ZoneInfo
) -> SubmissionStatus:
    """Return whether a session's form is submitted, overdue or still due at `now`."""
    if submitted_at is not None:
        return SubmissionStatus.SUBMITTED
    if _utc(now) >= overdue_from(due_on, tz):
        return SubmissionStatus.OVERDUE
    return SubmissionStatus.DUE


class SubmissionRule(Choice):
    """Why a submission cannot be recorded, named as the API reports it."""

    NOT_REMS_SESSION = "not_rems_session", "Not a REMS session", "rule-not_rems_session"
    ALREADY_SUBMITTED = "already_submitted", "Already submitted", "rule-already_submitted"


def submission_violations(rems_session: bool, submitted: bool) -> list[Violation]:
    """Return why a session's form cannot be marked submitted now (empty: it can).

    Only a discharged visit of a REMS treatment type is a session with a form to send, and
    a form is sent once: a wrong entry is corrected by the REMS, not by a second one here.
    """
    if not rems_session:
        message = "Only a discharged visit of a REMS treatment type has a form to submit."
        return [Violation(SubmissionRule.NOT_REMS_SESSION, message)]
    if submitted:
        message = "This session's monitoring form is already marked submitted."
        return [Violation(SubmissionRule.ALREADY_SUBMITTED, message)]
    return []


# The IV dose check --------------------------------------------------------------------------

DOSE_TOLERANCE_PERCENT = Decimal(10)


def _decimal(value: Decimal | float | int) -> Decimal:
    """Return a number as an exact decimal (floats through their shortest text)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def expected_dose_mg(mg_per_kg: Decimal | float, weight_kg: Decimal | float) -> Decimal:
    """Return the ordered dose: mg/kg times the weight."""
    return _decimal(mg_per_kg) * _decimal(weight_kg)


def dose_needs_confirmation(
    dose_mg: Decimal | float, mg_per_kg: Decimal | float, weight_kg: Decimal | float
) -> bool:
    """Tell whether a dose is more than 10 % off the ordered dose (exactly 10 % is not)."""
    expected = expected_dose_mg(mg_per_kg, weight_kg)
    return abs(_decimal(dose_mg) - expected) * 100 > expected * DOSE_TOLERANCE_PERCENT


def dose_refusal(
    dose_mg: Decimal | float,
    mg_per_kg: Decimal | float | None,
    weight_kg: Decimal | float | None,
    confirmed_by_practitioner: bool,
) -> Violation | None:
    """Return why a dose needs a practitioner's confirmation, or None (no order: no check)."""
    if mg_per_kg is None or weight_kg is None or confirmed_by_practitioner:
        return None
    if not dose_needs_confirmation(dose_mg, mg_per_kg, weight_kg):
        return None
    expected = expected_dose_mg(mg_per_kg, weight_kg).normalize()
    return Violation(
        EventRule.DOSE_CONFIRMATION_REQUIRED,
        f"{_decimal(dose_mg).normalize():f} mg is more than 10 % off the ordered "
        f"{expected:f} mg ({_decimal(mg_per_kg).normalize():f} mg/kg for "
        f"{_decimal(weight_kg).normalize():f} kg): a practitioner must confirm it.",
    )
