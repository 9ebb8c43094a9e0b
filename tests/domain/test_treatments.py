"""Treatment types: validation, timing on ordinary and DST days, REMS gates, form and tracker."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from clinic.domain.booking import Rule
from clinic.domain.treatments import (
    FORM_FIELDS,
    REMS_PEAK_WINDOW,
    Dose,
    FieldsViolation,
    ObservationFrom,
    SessionFacts,
    SubmissionRule,
    SubmissionStatus,
    TreatmentKind,
    TreatmentPlan,
    administration_word,
    chair_hold,
    default_iv_plan,
    discharge_due_at,
    dose_needs_confirmation,
    dose_option,
    dose_refusal,
    expected_dose_mg,
    observation_end,
    overdue_from,
    planned_observation_end,
    predose_readings,
    reminder_at,
    rems_booking_violations,
    rems_discharge_refusals,
    rems_form,
    rems_monitoring_until,
    start_refusals,
    start_word,
    submission_due_on,
    submission_status,
    submission_violations,
)
from clinic.domain.visits import EventRule
from clinic.domain.vitals import Flag, Reading, Thresholds, flags, moaas_errors, vitals_schedule
from tests.domain.factories import CHICAGO, local

START = ObservationFrom.ADMINISTRATION_START
END = ObservationFrom.ADMINISTRATION_END

SPRAVATO = TreatmentPlan(
    kind=TreatmentKind.ESKETAMINE,
    administration_min=10,
    administration_max=20,
    administration_default=15,
    observation_min=120,
    observation_default=120,
    observation_from=START,
    rems=True,
    predose_bp_max=(140, 90),
)
IV = default_iv_plan(45, 90)


def utc(when: str) -> datetime:
    """Return the UTC instant of a Chicago local "YYYY-MM-DD HH:MM" (or "HH:MM")."""
    return local(when).astimezone(UTC)


# The type and its validation ------------------------------------------------------------------


def test_valid_types_have_no_errors():
    assert SPRAVATO.errors() == {}
    assert IV.errors() == {}
    assert IV.observation_from is END and IV.rems is False and IV.predose_bp_max is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"administration_min": 50, "administration_default": 45}, "administration_minutes"),
        ({"administration_default": 21}, "administration_minutes"),
        ({"administration_min": 0}, "administration_minutes"),
        ({"administration_max": 24 * 60 + 1}, "administration_minutes"),
        ({"observation_min": 150}, "observation_minutes"),
        ({"observation_min": 119, "observation_default": 119}, "observation_minutes"),
        ({"observation_from": END}, "observation_from"),
        ({"predose_bp_max": (90, 140)}, "predose_bp_max"),
        ({"predose_bp_max": (301, 90)}, "predose_bp_max"),
        ({"predose_bp_max": (140, 19)}, "predose_bp_max"),
    ],
)
def test_an_inconsistent_type_names_the_field(changes, field):
    assert list(replace(SPRAVATO, **changes).errors()) == [field]


def test_equal_bounds_are_valid_and_non_rems_types_may_observe_briefly():
    plan = replace(IV, administration_min=40, administration_default=40, administration_max=40)
    assert plan.errors() == {}
    assert replace(IV, observation_min=30, observation_default=30).errors() == {}


def test_a_visits_minutes_are_checked_against_its_type():
    assert SPRAVATO.visit_errors(10, 120) == {}
    assert SPRAVATO.visit_errors(20, 180) == {}
    assert list(SPRAVATO.visit_errors(9, 120)) == ["infusion_minutes"]
    assert list(SPRAVATO.visit_errors(21, 119)) == ["infusion_minutes", "observation_minutes"]


# Timing -------------------------------------------------------------------------------------


def test_end_counted_observation_follows_the_end():
    ends = planned_observation_end(END, utc("09:00"), 45, 90)
    assert ends == utc("11:15")


def test_start_counted_observation_ignores_when_the_administration_ended():
    assert planned_observation_end(START, utc("09:00"), 15, 120) == utc("11:00")
    # Real times: the last device at 09:25 does not move discharge; started late it does.
    assert discharge_due_at(START, utc("09:05"), utc("09:25"), 120) == utc("11:05")


def test_observation_never_ends_before_the_administration():
    assert observation_end(START, utc("09:00"), utc("11:30"), 120) == utc("11:30")
    assert planned_observation_end(START, utc("09:00"), 150, 120) == utc("11:30")


def test_extensions_add_to_either_count():
    assert discharge_due_at(START, utc("09:00"), utc("09:15"), 120, 30) == utc("11:30")
    assert discharge_due_at(END, utc("09:00"), utc("09:50"), 90, 15) == utc("11:35")


def test_the_chair_is_held_until_the_observation_end_plus_turnover():
    hold = chair_hold(utc("09:00"), planned_observation_end(START, utc("09:00"), 15, 120), 15)
    assert (hold.start, hold.end) == (utc("09:00"), utc("11:15"))
    # Half-open: the next visit may sit down at the very end of the hold.
    assert not hold.contains_instant(utc("11:15")) and hold.contains_instant(utc("11:14"))


@pytest.mark.parametrize("day", ["2026-03-08", "2026-11-01"])
def test_a_9am_visit_on_a_dst_day_lasts_two_real_hours(day):
    start = local(f"{day} 09:00")  # given in local time, not UTC
    ends = planned_observation_end(START, start, 15, 120)
    assert ends - start.astimezone(UTC) == timedelta(hours=2)
    assert ends.astimezone(CHICAGO).strftime("%H:%M") == "11:00"


def test_minutes_are_real_minutes_across_spring_forward():
    # 01:00 CST + 2 real hours: the clocks skip 02:00-03:00, so it is 04:00 CDT.
    ends = planned_observation_end(START, local("2026-03-08 01:00"), 15, 120)
    assert ends.astimezone(CHICAGO).strftime("%H:%M %Z") == "04:00 CDT"


def test_minutes_are_real_minutes_across_fall_back():
    # 00:30 CDT + 2 real hours: 01:00-02:00 is lived twice, so it is the second 01:30.
    ends = discharge_due_at(END, local("2026-11-01 00:15"), local("2026-11-01 00:30"), 120)
    assert ends.astimezone(CHICAGO).strftime("%H:%M %Z") == "01:30 CST"


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        planned_observation_end(START, datetime(2026, 3, 10, 9), 15, 120)


# Booking gates ------------------------------------------------------------------------------

VISIT_DAY = date(2026, 3, 10)


def test_a_rems_booking_needs_a_certified_site_and_an_enrolled_patient_by_the_day():
    assert rems_booking_violations(True, VISIT_DAY, VISIT_DAY, VISIT_DAY) == []
    assert rems_booking_violations(True, date(2025, 1, 1), date(2026, 3, 9), VISIT_DAY) == []
    found = rems_booking_violations(True, None, None, VISIT_DAY)
    assert [v.rule for v in found] == [Rule.REMS_SITE_NOT_CERTIFIED, Rule.REMS_PATIENT_NOT_ENROLLED]
    assert "not REMS-certified" in found[0].message and "enrol" in found[1].message


def test_a_certification_or_enrolment_dated_after_the_visit_does_not_count():
    tomorrow = VISIT_DAY + timedelta(days=1)
    found = rems_booking_violations(True, tomorrow, tomorrow, VISIT_DAY)
    assert [v.rule for v in found] == [Rule.REMS_SITE_NOT_CERTIFIED, Rule.REMS_PATIENT_NOT_ENROLLED]
    assert "from Wed 11 Mar 2026" in found[0].message


def test_a_type_without_rems_is_never_refused_for_it():
    assert rems_booking_violations(False, None, None, VISIT_DAY) == []


# Start gates --------------------------------------------------------------------------------


def reading(when: str, systolic: int = 120, diastolic: int = 80, **extra: int) -> Reading:
    """Return a reading at a local time of DAY."""
    return Reading(utc(when), systolic, diastolic, 70, 98, **extra)


def test_the_predose_window_is_half_open_including_the_dose_minute():
    readings = [reading("08:30"), reading("08:31"), reading("09:00"), reading("09:01")]
    assert [r.at for r in predose_readings(readings, utc("09:00"))] == [utc("08:31"), utc("09:00")]


def test_a_dose_without_a_recent_reading_is_refused():
    found = start_refusals([reading("08:30")], utc("09:00"), None, False, None)
    assert [v.rule for v in found] == [EventRule.PREDOSE_VITALS_MISSING]
    assert "Only a practitioner may override" in found[0].message
    assert start_refusals([reading("08:31")], utc("09:00"), None, False, None) == []


def test_the_latest_predose_reading_must_be_within_either_limit():
    limit = (140, 90)
    assert start_refusals([reading("08:50", 140, 90)], utc("09:00"), limit, False, None) == []
    for high in (reading("08:50", 141, 80), reading("08:50", 130, 91)):
        found = start_refusals([high], utc("09:00"), limit, False, None)
        assert [v.rule for v in found] == [EventRule.PREDOSE_BP_HIGH]
    # A high reading followed by an acceptable one: the latest counts.
    later = [reading("08:40", 150, 95), reading("08:55", 135, 85)]
    assert start_refusals(later, utc("09:00"), limit, False, None) == []
    # No limit on the type: no BP gate.
    assert start_refusals([reading("08:50", 190, 120)], utc("09:00"), None, False, None) == []


def test_a_practitioner_may_override_either_start_gate_with_a_reason():
    high = [reading("08:50", 160, 100)]
    assert start_refusals([], utc("09:00"), (140, 90), True, "Seen; proceed") == []
    assert start_refusals(high, utc("09:00"), (140, 90), True, "Usual for her") == []
    found = start_refusals(high, utc("09:00"), (140, 90), True, "  ")
    assert [v.rule for v in found] == [EventRule.PREDOSE_BP_HIGH]
    assert "override reason" in found[0].message
    # A nurse's reason is no override.
    assert start_refusals(high, utc("09:00"), (140, 90), False, "Fine")


# Discharge gates ----------------------------------------------------------------------------


def test_rems_discharge_waits_two_hours_from_the_first_device_for_everyone():
    first = utc("09:00")
    found = rems_discharge_refusals(first, 120, utc("10:59"), [], CHICAGO)
    assert [v.rule for v in found] == [EventRule.REMS_MINIMUM_MONITORING]
    assert "until 11:00" in found[0].message
    assert rems_discharge_refusals(first, 120, utc("11:00"), [], CHICAGO) == []
    assert rems_monitoring_until(first, 90) == utc("11:00")  # never under two hours
    assert rems_monitoring_until(first, 150) == utc("11:30")


def test_rems_discharge_lists_the_missing_form_fields():
    found = rems_discharge_refusals(utc("09:00"), 120, utc("11:05"), ["lot", "bp.at_40"], CHICAGO)
    assert [v.rule for v in found] == [EventRule.REMS_INCOMPLETE]
    assert isinstance(found[0], FieldsViolation) and found[0].fields == ("lot", "bp.at_40")
    assert "Lot number" in found[0].message


# The monitoring form ------------------------------------------------------------------------


def test_the_form_lists_its_fields_in_the_forms_order():
    assert FORM_FIELDS == (
        "dose_mg",
        "lot",
        "total_minutes",
        "ready_to_leave_minutes",
        "vitals_acceptable_before",
        "vitals_acceptable_after",
        "bp.before",
        "bp.at_40",
        "bp.before_leaving",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "concomitant.benzodiazepines",
        "concomitant.non_benzodiazepine_sedative_hypnotics",
        "concomitant.psychostimulants",
        "concomitant.maois",
    )


CONCOMITANT = {
    "benzodiazepines": False,
    "non_benzodiazepine_sedative_hypnotics": False,
    "psychostimulants": True,
    "maois": False,
}


def session(**changes: object) -> SessionFacts:
    """Return a complete 84 mg session: devices 09:00-09:10, discharged at 11:05."""
    facts = SessionFacts(
        doses=tuple(
            Dose("esketamine", Decimal(28), "L123", utc(t)) for t in ("09:00", "09:05", "09:10")
        ),
        readings=(
            reading("08:50", 128, 82),
            reading("09:40", 138, 88, moaas=4, dissociation=2),
            reading("10:55", 124, 80, moaas=5, dissociation=0),
        ),
        ended_at=utc("11:05"),
        ready_to_leave_minutes=75,
        concomitant=CONCOMITANT,
    )
    return replace(facts, **changes)


def test_a_complete_session_fills_every_field():
    form = rems_form(session())
    assert form.complete and form.missing == ()
    assert form.values["dose_mg"] == Decimal(84) and dose_option(Decimal(84)) == "84"
    assert form.values["lot"] == "L123"
    assert form.values["total_minutes"] == 125
    assert form.values["bp.before"] == "128/82"
    assert form.values["bp.at_40"] == "138/88"
    assert form.values["bp.before_leaving"] == "124/80"
    assert form.values["vitals_acceptable_before"] is True
    assert form.values["vitals_acceptable_after"] is True
    assert (form.values["sedation"], form.values["dissociation"]) == (False, True)
    assert form.values["respiratory_depression"] is False
    assert form.values["concomitant.psychostimulants"] is True


def test_a_session_with_nothing_recorded_misses_every_field():
    form = rems_form(
        SessionFacts(doses=(), readings=(), ended_at=None, ready_to_leave_minutes=None)
    )
    assert not form.complete and form.missing == FORM_FIELDS


def test_the_40_minute_bp_is_accepted_35_to_45_minutes_after_the_first_device():
    base = session().readings
    for when, kept in (("09:34", False), ("09:35", True), ("09:45", True), ("09:46", False)):
        readings = (base[0], reading(when, 130, 85, moaas=5, dissociation=0), base[2])
        assert (rems_form(session(readings=readings)).values["bp.at_40"] is not None) is kept, when


def test_the_nearest_reading_to_40_minutes_is_the_40_minute_bp():
    readings = (*session().readings, reading("09:36", 150, 95), reading("09:43", 132, 84))
    assert rems_form(session(readings=readings)).values["bp.at_40"] == "138/88"


def test_missing_facts_are_named():
    form = rems_form(
        session(
            doses=(Dose("esketamine", Decimal(56), " ", utc("09:00")),),
            readings=(reading("09:40", moaas=3),),
            ended_at=None,
            ready_to_leave_minutes=None,
            concomitant={"benzodiazepines": True},
        )
    )
    assert form.values["dose_mg"] == Decimal(56) and form.values["sedation"] is True
    assert form.missing == (
        "lot",
        "total_minutes",
        "ready_to_leave_minutes",
        "vitals_acceptable_before",
        "vitals_acceptable_after",
        "bp.before",
        "bp.before_leaving",
        "dissociation",
        "concomitant.non_benzodiazepine_sedative_hypnotics",
        "concomitant.psychostimulants",
        "concomitant.maois",
    )


def test_unstable_vitals_and_low_saturation_are_answered_no_and_yes():
    readings = (
        reading("08:50", 185, 112),
        reading("09:40"),
        Reading(utc("10:55"), 120, 80, 70, 90, dissociation=0, moaas=5),
    )
    values = rems_form(session(readings=readings)).values
    assert values["vitals_acceptable_before"] is False
    assert values["vitals_acceptable_after"] is False
    assert values["respiratory_depression"] is True


def test_other_doses_read_as_other():
    assert dose_option(Decimal(56)) == "56" and dose_option(Decimal("28")) == "other"
    assert dose_option(Decimal("84.5")) == "other"


# The submission tracker ---------------------------------------------------------------------


def test_a_form_is_due_on_the_local_discharge_date_plus_seven_days():
    # 23:30 local on 10 March is already 11 March in UTC: the local date counts.
    assert submission_due_on(local("2026-03-10 23:30"), CHICAGO) == date(2026, 3, 17)


def test_status_turns_overdue_at_the_local_midnight_after_the_due_day():
    due_on = date(2026, 3, 17)
    last = local("2026-03-17 23:59")
    assert submission_status(due_on, None, last, CHICAGO) is SubmissionStatus.DUE
    midnight = local("2026-03-18 00:00")
    assert submission_status(due_on, None, midnight, CHICAGO) is SubmissionStatus.OVERDUE
    submitted = submission_status(due_on, utc("2026-03-20 10:00"), midnight, CHICAGO)
    assert submitted is SubmissionStatus.SUBMITTED


def test_the_reminder_and_overdue_instants_straddle_fall_back():
    due_on = submission_due_on(local("2026-10-26 11:00"), CHICAGO)
    assert due_on == date(2026, 11, 2)
    assert reminder_at(due_on, CHICAGO) == datetime(2026, 11, 1, 5, tzinfo=UTC)  # 00:00 CDT
    assert overdue_from(due_on, CHICAGO) == datetime(2026, 11, 3, 6, tzinfo=UTC)  # 00:00 CST


def test_the_reminder_and_overdue_instants_straddle_spring_forward():
    due_on = submission_due_on(local("2026-03-01 11:00"), CHICAGO)
    assert due_on == date(2026, 3, 8)
    assert reminder_at(due_on, CHICAGO) == datetime(2026, 3, 7, 6, tzinfo=UTC)  # 00:00 CST
    assert overdue_from(due_on, CHICAGO) == datetime(2026, 3, 9, 5, tzinfo=UTC)  # 00:00 CDT


# The dose check -----------------------------------------------------------------------------


def test_the_expected_dose_is_mg_per_kg_times_weight():
    assert expected_dose_mg(Decimal("0.5"), Decimal("70")) == Decimal("35.0")
    assert expected_dose_mg(0.5, 72.4) == Decimal("36.20")


@pytest.mark.parametrize(
    ("dose", "needs"),
    [("35", False), ("38.5", False), ("31.5", False), ("38.51", True), ("31.49", True)],
)
def test_a_dose_more_than_ten_percent_off_needs_confirmation(dose, needs):
    assert dose_needs_confirmation(Decimal(dose), Decimal("0.5"), Decimal("70")) is needs


def test_floats_are_compared_exactly_at_the_boundary():
    # 0.1 x 3 in binary floats is 0.30000000000000004; the check uses decimals.
    assert dose_needs_confirmation(0.33, 0.1, 3) is False


def test_an_off_dose_is_refused_until_a_practitioner_confirms():
    refusal = dose_refusal(Decimal(40), Decimal("0.5"), Decimal(70), False)
    assert refusal is not None and refusal.rule is EventRule.DOSE_CONFIRMATION_REQUIRED
    assert "40 mg" in refusal.message and "35 mg" in refusal.message
    assert dose_refusal(Decimal(40), Decimal("0.5"), Decimal(70), True) is None
    assert dose_refusal(Decimal(36), Decimal("0.5"), Decimal(70), False) is None
    assert dose_refusal(Decimal(84), None, None, False) is None  # no order: no check


# MOAA/S and the sedation flag ---------------------------------------------------------------


@pytest.mark.parametrize(("score", "sedated"), [(0, True), (3, True), (4, False), (5, False)])
def test_moaas_at_three_or_below_raises_the_sedation_flag(score, sedated):
    raised = flags(reading("09:40", moaas=score), None, Thresholds())
    assert (Flag.SEDATION in raised) is sedated


def test_a_reading_without_moaas_raises_no_sedation_and_other_flags_keep_their_order():
    raised = flags(Reading(utc("09:40"), 185, 80, 130, 90, moaas=2), None, Thresholds())
    assert raised == ["bp_high", "bp_critical", "hr_high", "spo2_low", "sedation"]
    assert Flag.SEDATION not in flags(reading("09:40"), None, Thresholds())


@pytest.mark.parametrize(
    ("value", "ok"), [(None, True), (0, True), (5, True), (6, False), (-1, False), (True, False)]
)
def test_moaas_is_a_whole_number_from_0_to_5(value, ok):
    assert (moaas_errors(value) == []) is ok


def test_rems_narrows_the_peak_reading_window():
    start = utc("09:00")
    peak = vitals_schedule(
        start,
        start,
        None,
        None,
        "infusing",
        peak_window=REMS_PEAK_WINDOW,
    )[1]
    assert (peak.opens, peak.closes) == (utc("09:35"), utc("09:45"))


def test_the_api_shape_nests_the_blood_pressures_and_the_medications():
    shaped = rems_form(session()).nested()
    assert shaped["bp"] == {"before": "128/82", "at_40": "138/88", "before_leaving": "124/80"}
    assert shaped["concomitant"] == CONCOMITANT
    assert list(shaped)[:4] == ["dose_mg", "lot", "total_minutes", "ready_to_leave_minutes"]


def test_pages_use_the_kinds_own_words():
    assert start_word(TreatmentKind.ESKETAMINE) == "first device"
    assert administration_word(TreatmentKind.IV_KETAMINE) == "infusion"
    assert all(start_word(kind) and administration_word(kind) for kind in TreatmentKind)


def test_a_type_may_observe_zero_minutes_as_a_site_setting_may_but_not_negative():
    """A site allowed an observation of 0 minutes; its migrated default type stays valid."""
    assert replace(IV, observation_min=0, observation_default=0).errors() == {}
    assert "observation_minutes" in replace(IV, observation_min=-1).errors()
    assert "administration_minutes" in replace(IV, administration_min=0).errors()


def test_only_a_discharged_rems_session_not_yet_submitted_may_be_marked_submitted():
    assert submission_violations(True, False) == []
    assert [v.rule for v in submission_violations(False, False)] == [
        SubmissionRule.NOT_REMS_SESSION
    ]
    assert [v.rule for v in submission_violations(True, True)] == [SubmissionRule.ALREADY_SUBMITTED]
    # Not a session at all is the reason given, submitted or not.
    assert [v.rule for v in submission_violations(False, True)] == [SubmissionRule.NOT_REMS_SESSION]
