"""PADSS scoring, vital-sign stability, and who may discharge before the window ends."""

from datetime import UTC, datetime, timedelta

import pytest

from clinic.domain.discharge import (
    EARLY_NO_REASON,
    EARLY_NOT_PRACTITIONER,
    NO_ESCORT,
    PADSS_ITEMS,
    PADSS_TOO_LOW,
    VITALS_UNSTABLE,
    Checklist,
    InvalidScores,
    discharge_due_at,
    discharge_refusals,
    monitoring_minutes,
    padss_errors,
    padss_total,
    vital_signs_score,
    vitals_stable,
)
from clinic.domain.vitals import Reading, Thresholds

T = Thresholds()
ENDED = datetime(2026, 12, 1, 15, 45, tzinfo=UTC)
DUE = ENDED + timedelta(minutes=120)
BASELINE = Reading(ENDED - timedelta(minutes=60), 125, 80, 70, 98)


def later(systolic=125, diastolic=80, heart_rate=70, spo2=98) -> Reading:
    """Return a reading taken at the end of observation."""
    return Reading(DUE, systolic, diastolic, heart_rate, spo2)


ALL_TWO = dict.fromkeys(PADSS_ITEMS, 2)


def test_padss_has_chungs_five_items():
    assert PADSS_ITEMS == ("vital_signs", "activity", "nausea_vomiting", "pain", "bleeding")


@pytest.mark.parametrize(
    ("scores", "total"),
    [(ALL_TWO, 10), (ALL_TWO | {"pain": 1}, 9), (ALL_TWO | {"pain": 0}, 8)],
)
def test_padss_total(scores, total):
    assert padss_total(scores) == total


def test_padss_missing_and_out_of_range_items_are_each_reported():
    scores = {"vital_signs": 3, "activity": -1, "nausea_vomiting": True, "pain": 1.5}
    with pytest.raises(InvalidScores) as raised:
        padss_total(scores)
    assert raised.value.fields == {
        "vital_signs": ["A whole number, 0-2."],
        "activity": ["A whole number, 0-2."],
        "nausea_vomiting": ["A whole number, 0-2."],
        "pain": ["A whole number, 0-2."],
        "bleeding": ["Required."],
    }


def test_padss_unknown_items_are_refused():
    assert padss_errors(ALL_TWO | {"intake": 2}) == {"intake": ["Not a PADSS item."]}
    assert padss_errors(ALL_TWO) == {}


@pytest.mark.parametrize(
    ("reading", "score"),
    [
        (later(), 2),
        (later(systolic=150), 2),  # exactly 20 % above
        (later(systolic=100), 2),  # exactly 20 % below
        (later(systolic=151), 1),
        (later(diastolic=63), 1),  # 21.25 % below
        (later(heart_rate=98), 1),  # exactly 40 % above
        (later(heart_rate=99), 0),
        (later(systolic=74), 0),  # 40.8 % below
    ],
)
def test_vital_signs_score_by_distance_from_baseline(reading, score):
    assert vital_signs_score(reading, BASELINE) == score


def test_vitals_stable_needs_a_reading():
    assert not vitals_stable(None, BASELINE, T)


def test_vitals_stable_within_twenty_percent_without_critical_flags():
    assert vitals_stable(later(), BASELINE, T)
    assert vitals_stable(later(systolic=150, diastolic=96), BASELINE, T)
    assert not vitals_stable(later(systolic=151), BASELINE, T)


def test_a_high_but_usual_pressure_is_stable_and_a_critical_one_is_not():
    hypertensive = Reading(BASELINE.at, 160, 100, 70, 98)
    assert vitals_stable(later(165, 102), hypertensive, T)  # bp_high, within 20 %
    assert not vitals_stable(later(180, 102), hypertensive, T)  # bp_critical


@pytest.mark.parametrize("reading", [later(heart_rate=121), later(heart_rate=49), later(spo2=91)])
def test_heart_rate_and_oxygen_flags_are_unstable(reading):
    # The baseline is moved with the reading so that only the flag can fail it.
    baseline = Reading(BASELINE.at, 125, 80, reading.heart_rate, 98)
    assert not vitals_stable(reading, baseline, T)


def test_vitals_stable_without_a_baseline_judges_the_only_reading_by_its_flags():
    assert vitals_stable(later(), None, T)
    assert not vitals_stable(later(spo2=90), None, T)


FIT = Checklist(padss=9, escort_name="Jo Ride", vitals_stable=True, escort_phone="555-0100")


def refusals(checklist=FIT, at=DUE, practitioner=False, reason=None) -> list[str]:
    """Return the refusals of a discharge at `at`."""
    return discharge_refusals(checklist, at, DUE, practitioner, reason)


@pytest.mark.parametrize(("padss", "allowed"), [(8, False), (9, True), (10, True)])
def test_padss_must_be_at_least_nine(padss, allowed):
    result = refusals(Checklist(padss, "Jo Ride", True))
    assert result == ([] if allowed else [PADSS_TOO_LOW])


@pytest.mark.parametrize("escort", ["", "   "])
def test_an_escort_must_be_named(escort):
    assert refusals(Checklist(10, escort, True)) == [NO_ESCORT]


def test_vitals_must_be_stable_and_every_refusal_is_listed():
    assert refusals(Checklist(10, "Jo Ride", False)) == [VITALS_UNSTABLE]
    assert refusals(Checklist(5, "", False), at=DUE - timedelta(seconds=1)) == [
        PADSS_TOO_LOW,
        NO_ESCORT,
        VITALS_UNSTABLE,
        EARLY_NOT_PRACTITIONER,
    ]


def test_a_nurse_may_discharge_at_due_but_not_a_second_before():
    assert refusals(at=DUE) == []
    assert refusals(at=DUE + timedelta(minutes=30)) == []
    assert refusals(at=DUE - timedelta(seconds=1)) == [EARLY_NOT_PRACTITIONER]
    assert refusals(at=DUE - timedelta(seconds=1), reason="ride is here") == [
        EARLY_NOT_PRACTITIONER
    ]


@pytest.mark.parametrize(("reason", "allowed"), [(None, False), ("  ", False), ("stable", True)])
def test_a_practitioner_discharges_early_only_with_a_reason(reason, allowed):
    result = refusals(at=DUE - timedelta(minutes=20), practitioner=True, reason=reason)
    assert result == ([] if allowed else [EARLY_NO_REASON])


def test_a_practitioner_needs_no_reason_once_due():
    assert refusals(at=DUE, practitioner=True) == []


def test_discharge_due_at_counts_from_the_actual_end_with_extensions():
    assert discharge_due_at(ENDED, 120, 0) == DUE
    assert discharge_due_at(ENDED, 120, 25) == DUE + timedelta(minutes=25)


def test_monitoring_minutes_counts_whole_minutes_from_the_start():
    start = ENDED - timedelta(minutes=45)
    assert monitoring_minutes(start, DUE + timedelta(seconds=59)) == 165
