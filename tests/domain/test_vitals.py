"""Vital-sign flags at their exact limits, reading ranges, and the vitals-due schedule."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinic.domain.vitals import (
    DueItem,
    DueKind,
    DueState,
    Reading,
    Thresholds,
    flags,
    missed,
    next_due,
    validate_reading,
    vitals_due,
    vitals_schedule,
)

T = Thresholds()
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 09:00 in Chicago


def at(minutes: float) -> datetime:
    """Return the instant `minutes` after the infusion start."""
    return START + timedelta(minutes=minutes)


def reading(systolic=120, diastolic=80, heart_rate=70, spo2=98, minutes=0, **extra) -> Reading:
    """Return a calm reading, changed by the arguments."""
    return Reading(at(minutes), systolic, diastolic, heart_rate, spo2, **extra)


CALM = reading()


def test_a_calm_reading_has_no_flags():
    assert flags(CALM, None, T) == []


def test_thresholds_defaults_are_designs():
    assert Thresholds() == Thresholds(
        bp_high=(160, 100),
        bp_critical=(180, 110),
        hr_high=120,
        hr_low=50,
        spo2_low=92,
        bp_above_baseline_percent=20,
    )


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (159, 99, []),
        (160, 80, ["bp_high"]),
        (140, 100, ["bp_high"]),
        (179, 109, ["bp_high"]),
        (180, 90, ["bp_high", "bp_critical"]),
        (150, 110, ["bp_high", "bp_critical"]),
        (200, 120, ["bp_high", "bp_critical"]),
    ],
)
def test_blood_pressure_limits_are_inclusive_on_either_number(systolic, diastolic, expected):
    assert flags(reading(systolic, diastolic), None, T) == expected


@pytest.mark.parametrize(
    ("heart_rate", "expected"),
    [(120, []), (121, ["hr_high"]), (50, []), (49, ["hr_low"])],
)
def test_heart_rate_limits_are_strict(heart_rate, expected):
    assert flags(reading(heart_rate=heart_rate), None, T) == expected


@pytest.mark.parametrize(("spo2", "expected"), [(92, []), (91, ["spo2_low"])])
def test_spo2_limit_is_strict(spo2, expected):
    assert flags(reading(spo2=spo2), None, T) == expected


@pytest.mark.parametrize(
    ("systolic", "diastolic", "flagged"),
    [
        (150, 80, False),  # systolic exactly 20 % above 125
        (151, 80, True),  # 20.8 %
        (125, 96, False),  # diastolic exactly 20 % above 80
        (125, 97, True),
        (100, 60, False),  # below baseline is not "above" it
    ],
)
def test_bp_above_baseline_is_strictly_more_than_twenty_percent(systolic, diastolic, flagged):
    baseline = reading(125, 80)
    later = reading(systolic, diastolic, minutes=40)
    assert ("bp_above_baseline" in flags(later, baseline, T)) is flagged


def test_bp_above_baseline_at_a_fractional_percent():
    site = Thresholds(bp_above_baseline_percent=20.1)
    baseline = reading(1000, 500)  # out of clinical range, but it resolves 0.1 %
    assert flags(reading(1201, 500), baseline, site) == ["bp_high", "bp_critical"]
    assert "bp_above_baseline" in flags(reading(1202, 500), baseline, site)


def test_the_first_reading_has_no_baseline_flag():
    first = reading(125, 80)
    assert flags(first, None, T) == []
    assert flags(first, first, T) == []


def test_a_site_may_override_every_threshold():
    strict = Thresholds(bp_high=(140, 90), bp_critical=(170, 105), hr_high=100, hr_low=55)
    assert flags(reading(140, 80, heart_rate=101), None, strict) == ["bp_high", "hr_high"]
    assert flags(reading(heart_rate=54), None, strict) == ["hr_low"]
    assert flags(reading(170, 80), None, strict) == ["bp_high", "bp_critical"]


def test_every_flag_at_once_in_a_stable_order():
    baseline = reading(120, 80)
    worst = reading(190, 115, heart_rate=130, spo2=85, minutes=40)
    assert flags(worst, baseline, T) == [
        "bp_high",
        "bp_critical",
        "hr_high",
        "spo2_low",
        "bp_above_baseline",
    ]


VALID = {"systolic": 120, "diastolic": 80, "heart_rate": 70, "spo2": 98}


def test_a_plain_reading_is_valid():
    assert validate_reading(VALID) == {}
    full = VALID | {"respiratory_rate": 14, "dissociation": 4, "nausea": 3, "dizziness": 0}
    assert validate_reading(full) == {}


def test_missing_measurements_are_required_and_side_effects_optional():
    errors = validate_reading({})
    assert set(errors) == {"systolic", "diastolic", "heart_rate", "spo2"}
    assert errors["spo2"] == ["Required."]
    assert validate_reading(VALID | {"nausea": None}) == {}


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("systolic", 40, 300),
        ("diastolic", 20, 200),
        ("heart_rate", 20, 250),
        ("spo2", 50, 100),
        ("respiratory_rate", 4, 60),
        ("dissociation", 0, 4),
        ("nausea", 0, 3),
        ("dizziness", 0, 3),
    ],
)
def test_ranges_are_inclusive(field, low, high):
    # Keep the pressures apart so that only the field under test can fail.
    base = {"systolic": 300, "diastolic": 20, "heart_rate": 70, "spo2": 98}
    for value in (low, high):
        assert validate_reading(base | {field: value}) == {}, value
    for value in (low - 1, high + 1):
        assert validate_reading(base | {field: value}) == {
            field: [f"A whole number, {low}-{high}."]
        }, value


@pytest.mark.parametrize("value", [True, 98.5, "98", [98]])
def test_non_integers_are_refused(value):
    assert validate_reading(VALID | {"spo2": value}) == {"spo2": ["A whole number, 50-100."]}


@pytest.mark.parametrize("diastolic", [120, 130])
def test_systolic_must_be_above_diastolic(diastolic):
    assert validate_reading(VALID | {"systolic": 120, "diastolic": diastolic}) == {
        "diastolic": ["Must be lower than the systolic pressure."]
    }


def test_pressure_order_is_not_checked_when_a_pressure_is_already_wrong():
    assert validate_reading(VALID | {"systolic": 30, "diastolic": 80}) == {
        "systolic": ["A whole number, 40-300."]
    }


# The vitals-due schedule. Check-in 20 min before the start, a 45-minute infusion, 120 minutes
# of observation: discharge due 165 minutes after the start.
CHECK_IN, END, DUE = at(-20), at(45), at(165)


def schedule(status="recovering", ended=END, due=DUE, started=START, discharged_at=None):
    """Return the schedule of the standard visit at a stage."""
    return vitals_schedule(CHECK_IN, started, ended, due, status, discharged_at)


def plan(items) -> list[tuple[str, float]]:
    """Return (kind, minutes after the start) pairs."""
    return [(str(i.kind), (i.due_at - START).total_seconds() / 60) for i in items]


def test_full_schedule_of_a_recovering_visit():
    assert plan(schedule()) == [
        ("baseline", -20),
        ("peak", 40),
        ("recovery", 60),
        ("recovery", 75),
        ("recovery", 90),
        ("recovery", 105),
        ("recovery", 120),
        ("recovery", 135),
        ("pre_discharge", 150),
    ]


def test_schedule_grows_with_the_lifecycle():
    assert vitals_schedule(None, None, None, None, "booked") == []
    assert plan(vitals_schedule(CHECK_IN, None, None, None, "checked_in")) == [("baseline", -20)]
    assert plan(vitals_schedule(CHECK_IN, START, None, None, "infusing")) == [
        ("baseline", -20),
        ("peak", 40),
    ]


@pytest.mark.parametrize("status", ["cancelled", "no_show", "booked"])
def test_inactive_visits_have_no_schedule(status):
    assert schedule(status=status) == []


def test_an_extension_moves_the_pre_discharge_reading_and_adds_recovery_points():
    assert plan(schedule(due=at(185)))[-3:] == [
        ("recovery", 150),
        ("recovery", 165),
        ("pre_discharge", 170),
    ]


def test_a_short_observation_has_only_the_pre_discharge_reading():
    assert plan(schedule(due=at(55)))[2:] == [("pre_discharge", 45)]


def states(now_minutes: float, taken: list[float], **kwargs) -> dict:
    """Return {(kind, due minute): state} for readings taken at these minutes after the start."""
    items = vitals_due(schedule(**kwargs), [at(m) for m in taken], at(now_minutes))
    return {(str(i.kind), (i.due_at - START).total_seconds() / 60): str(i.state) for i in items}


def test_baseline_is_due_from_check_in_and_never_missed_before_the_start():
    items = vitals_due(vitals_schedule(CHECK_IN, None, None, None, "checked_in"), [], at(-1))
    assert [i.state for i in items] == [DueState.DUE]


@pytest.mark.parametrize(("taken", "state"), [(-10, "done"), (0, "done"), (0.5, "missed")])
def test_baseline_needs_a_reading_up_to_the_start(taken, state):
    assert states(1, [taken], status="infusing", ended=None, due=None)["baseline", -20] == state


@pytest.mark.parametrize(
    ("taken", "state"),
    [(29.9, "due"), (30, "done"), (40, "done"), (50, "done"), (50.1, "due")],
)
def test_peak_window_is_30_to_50_minutes_after_the_start(taken, state):
    assert states(50, [taken], status="infusing", ended=None, due=None)["peak", 40] == state


@pytest.mark.parametrize(
    ("now", "state"), [(39.9, "upcoming"), (40, "due"), (50, "due"), (50.1, "missed")]
)
def test_peak_turns_due_then_missed_when_its_window_closes(now, state):
    assert states(now, [], status="infusing", ended=None, due=None)["peak", 40] == state


@pytest.mark.parametrize(
    ("taken", "state"),
    [(52.4, "missed"), (52.5, "done"), (67.4, "done"), (67.5, "missed")],
)
def test_recovery_window_is_seven_and_a_half_minutes_either_side_half_open(taken, state):
    assert states(100, [taken])["recovery", 60] == state


def test_a_reading_on_the_boundary_counts_for_the_later_recovery_point():
    result = states(100, [67.5])
    assert (result["recovery", 60], result["recovery", 75]) == ("missed", "done")


@pytest.mark.parametrize(
    ("now", "state"), [(59.9, "upcoming"), (60, "due"), (67.4, "due"), (67.5, "missed")]
)
def test_recovery_point_states_over_time(now, state):
    assert states(now, [])["recovery", 60] == state


def test_grace_keeps_a_point_due_after_its_window_closes():
    items = vitals_due(schedule(), [], at(69), grace=timedelta(minutes=10))
    assert items[2].kind is DueKind.RECOVERY and items[2].state is DueState.DUE
    items = vitals_due(schedule(), [], at(70.1), grace=timedelta(minutes=10))
    assert items[2].state is DueState.MISSED


@pytest.mark.parametrize(
    ("taken", "state"), [(149.9, "due"), (150, "done"), (165, "done"), (200, "done")]
)
def test_pre_discharge_counts_any_reading_from_15_minutes_before_due(taken, state):
    assert states(210, [taken])["pre_discharge", 150] == state


def test_pre_discharge_stays_due_until_discharge_then_is_missed():
    assert states(300, [])["pre_discharge", 150] == "due"
    after = states(300, [], status="discharged", discharged_at=at(170))
    assert after["pre_discharge", 150] == "missed"
    taken = states(300, [170], status="discharged", discharged_at=at(170))
    assert taken["pre_discharge", 150] == "done"


def test_done_items_carry_the_reading_that_satisfied_them():
    items = vitals_due(schedule(), [at(41), at(-5), at(38)], at(45))
    assert items[0].reading_at == at(-5)
    assert items[1].reading_at == at(38)
    assert items[2].reading_at is None and items[2].state is DueState.UPCOMING


def test_next_due_prefers_what_is_due_now_over_what_is_upcoming():
    items = vitals_due(schedule(), [at(-5), at(40)], at(61))
    assert next_due(items) == DueItem(DueKind.RECOVERY, at(60), DueState.DUE)
    items = vitals_due(schedule(), [at(-5), at(40), at(60)], at(61))
    assert next_due(items) == DueItem(DueKind.RECOVERY, at(75), DueState.UPCOMING)
    done = [replace(i, state=DueState.DONE) for i in items]
    assert next_due(done) is None


def test_missed_lists_the_missed_items_in_order():
    items = vitals_due(schedule(), [at(-5)], at(80))
    assert [(i.kind, i.due_at) for i in missed(items)] == [
        (DueKind.PEAK, at(40)),
        (DueKind.RECOVERY, at(60)),
    ]
