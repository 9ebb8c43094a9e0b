"""Vital signs: their flags against a site's thresholds, their ranges, and when they are due.

A visit's vitals are due at baseline (before dosing), at the blood-pressure peak about
40 minutes after the start, every 15 minutes of recovery, and once more before discharge
(DESIGN.md, "Visit lifecycle"; Spravato REMS and academic ketamine programs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from clinic.domain.choices import Choice
from clinic.domain.visits import Status


class Flag(Choice):
    """A warning raised by one reading, named as the API reports it."""

    BP_HIGH = "bp_high", "BP high", "rc-flag-bp_high"
    BP_CRITICAL = "bp_critical", "BP critical", "rc-flag-bp_critical"
    HR_HIGH = "hr_high", "HR high", "rc-flag-hr_high"
    HR_LOW = "hr_low", "HR low", "rc-flag-hr_low"
    SPO2_LOW = "spo2_low", "SpO₂ low", "rc-flag-spo2_low"
    BP_ABOVE_BASELINE = "bp_above_baseline", "BP > 20 % over baseline", "rc-flag-bp_above_baseline"
    SEDATION = "sedation", "Sedation (MOAA/S ≤ 3)", "rc-flag-sedation"


# Which reading each flag is about: the blood pressure, the heart rate or the saturation.
BP_FLAGS = frozenset({Flag.BP_HIGH, Flag.BP_CRITICAL, Flag.BP_ABOVE_BASELINE})
HR_FLAGS = frozenset({Flag.HR_HIGH, Flag.HR_LOW})
SPO2_FLAGS = frozenset({Flag.SPO2_LOW})
# MOAA/S (Modified Observer's Assessment of Alertness/Sedation) 0-5: sedated at 3 or below.
SEDATION_MOAAS_AT_MOST = 3


@dataclass(frozen=True)
class Thresholds:
    """A site's vital-sign limits; the defaults are DESIGN.md's."""

    # (systolic, diastolic): flagged when systolic >= first OR diastolic >= second.
    bp_high: tuple[int, int] = (160, 100)
    bp_critical: tuple[int, int] = (180, 110)
    hr_high: int = 120  # flagged when strictly above
    hr_low: int = 50  # flagged when strictly below
    spo2_low: int = 92  # flagged when strictly below
    # Flagged when systolic or diastolic is strictly more than this percent above the
    # visit's first reading.
    bp_above_baseline_percent: float = 20


@dataclass(frozen=True)
class Reading:
    """One set of vital signs and side-effect scores taken at an instant."""

    at: datetime
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None = None
    dissociation: int | None = None
    nausea: int | None = None
    dizziness: int | None = None
    moaas: int | None = None


def _at_or_over(pressure: tuple[int, int], limit: tuple[int, int]) -> bool:
    return pressure[0] >= limit[0] or pressure[1] >= limit[1]


def above_baseline(value: float, base: float, percent: float) -> bool:
    """Tell whether value is strictly more than `percent` % above base."""
    # Multiplied out rather than divided so that exactly 20 % is never a rounding artefact.
    return value * 100 > base * (100 + percent)


def flags(reading: Reading, baseline: Reading | None, t: Thresholds) -> list[str]:
    """Return the reading's flags in Flag order; a critical BP is reported as bp_high too."""
    pressure = (reading.systolic, reading.diastolic)
    raised: set[Flag] = set()
    if _at_or_over(pressure, t.bp_high):
        raised.add(Flag.BP_HIGH)
    if _at_or_over(pressure, t.bp_critical):
        # A critical pressure is also a high one: both are reported, so a client filtering
        # on bp_high never misses the worst readings.
        raised |= {Flag.BP_HIGH, Flag.BP_CRITICAL}
    if reading.heart_rate > t.hr_high:
        raised.add(Flag.HR_HIGH)
    if reading.heart_rate < t.hr_low:
        raised.add(Flag.HR_LOW)
    if reading.spo2 < t.spo2_low:
        raised.add(Flag.SPO2_LOW)
    if baseline is not None and baseline is not reading:
        percent = t.bp_above_baseline_percent
        if above_baseline(reading.systolic, baseline.systolic, percent) or above_baseline(
            reading.diastolic, baseline.diastolic, percent
        ):
            raised.add(Flag.BP_ABOVE_BASELINE)
    if reading.moaas is not None and reading.moaas <= SEDATION_MOAAS_AT_MOST:
        raised.add(Flag.SEDATION)
    return [str(flag) for flag in Flag if flag in raised]


# field -> (lowest, highest, required)
RANGES: dict[str, tuple[int, int, bool]] = {
    "systolic": (40, 300, True),
    "diastolic": (20, 200, True),
    "heart_rate": (20, 250, True),
    "spo2": (50, 100, True),
    "respiratory_rate": (4, 60, False),
    "dissociation": (0, 4, False),
    "nausea": (0, 3, False),
    "dizziness": (0, 3, False),
    "moaas": (0, 5, False),
}
MOAAS_RANGE = RANGES["moaas"][:2]


def moaas_errors(value: object) -> list[str]:
    """Return the errors of a MOAA/S score (optional, a whole number 0-5); empty when valid."""
    low, high = MOAAS_RANGE
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [f"A whole number, {low}-{high}."]
    return []


def validate_reading(values: Mapping[str, object]) -> dict[str, list[str]]:
    """Return field errors for a reading's numbers (whole numbers in range); empty when valid."""
    errors: dict[str, list[str]] = {}
    for name, (low, high, required) in RANGES.items():
        value = values.get(name)
        if value is None:
            if required:
                errors[name] = ["Required."]
            continue
        # bool is an int subclass; true/false are not measurements.
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [f"A whole number, {low}-{high}."]
    pressures_valid = "systolic" not in errors and "diastolic" not in errors
    # Both pressures are whole numbers once they are valid.
    if pressures_valid and cast(int, values["systolic"]) <= cast(int, values["diastolic"]):
        errors["diastolic"] = ["Must be lower than the systolic pressure."]
    return errors


class DueKind(Choice):
    """Which of a visit's scheduled readings this is."""

    BASELINE = "baseline", "Baseline", "due-baseline"
    PEAK = "peak", "40-min peak", "due-peak"
    RECOVERY = "recovery", "Recovery check", "due-recovery"
    PRE_DISCHARGE = "pre_discharge", "Pre-discharge", "due-pre_discharge"


class DueState(Choice):
    """Whether a scheduled reading was taken."""

    DONE = "done", "Done", "is-done"
    DUE = "due", "Due", "is-due"
    MISSED = "missed", "Missed", "is-missed"
    UPCOMING = "upcoming", "Upcoming", "is-next"


PEAK_AFTER = timedelta(minutes=40)
PEAK_WINDOW = (timedelta(minutes=30), timedelta(minutes=50))  # after the start, inclusive
RECOVERY_EVERY = timedelta(minutes=15)
RECOVERY_HALF_WINDOW = timedelta(minutes=7, seconds=30)
PRE_DISCHARGE_BEFORE = timedelta(minutes=15)
GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class DueReading:
    """A scheduled reading and the window of instants in which a reading satisfies it."""

    kind: DueKind
    due_at: datetime
    opens: datetime | None  # None: any earlier reading counts
    closes: datetime | None  # None: still open (no later bound yet)
    closes_inclusive: bool = True

    def satisfied_by(self, at: datetime) -> bool:
        """Tell whether a reading taken at `at` lies in this window."""
        if self.opens is not None and at < self.opens:
            return False
        if self.closes is None:
            return True
        return at <= self.closes if self.closes_inclusive else at < self.closes


@dataclass(frozen=True)
class DueItem:
    """A scheduled reading and its state at an instant."""

    kind: DueKind
    due_at: datetime
    state: DueState
    reading_at: datetime | None = None  # the reading that satisfied it, when done


INACTIVE = frozenset({Status.BOOKED, Status.CANCELLED, Status.NO_SHOW})


def vitals_schedule(
    checked_in_at: datetime | None,
    infusion_started_at: datetime | None,
    infusion_ended_at: datetime | None,
    discharge_due_at: datetime | None,
    status: str,
    discharged_at: datetime | None = None,
    peak_window: tuple[timedelta, timedelta] = PEAK_WINDOW,
) -> list[DueReading]:
    """Return the visit's scheduled readings so far, in order of due time.

    Baseline: due at check-in, satisfied by any reading up to the start of the infusion.
    Peak: due 40 min after the start, satisfied between 30 and 50 min after it (both
    included; `peak_window` narrows it, e.g. to REMS's 35-45 min).
    Recovery: due every 15 min after the infusion's end, each satisfied within 7.5 min either
    side (half-open, so a reading counts once), up to the pre-discharge reading.
    Pre-discharge: due 15 min before discharge_due_at, satisfied by any reading from then
    until discharge. A cancelled, no-show or merely booked visit has no schedule.
    """
    if str(status) in INACTIVE:
        return []
    schedule: list[DueReading] = []
    baseline_due = checked_in_at or infusion_started_at
    if baseline_due is not None:
        schedule.append(DueReading(DueKind.BASELINE, baseline_due, None, infusion_started_at))
    if infusion_started_at is not None:
        schedule.append(
            DueReading(
                DueKind.PEAK,
                infusion_started_at + PEAK_AFTER,
                infusion_started_at + peak_window[0],
                infusion_started_at + peak_window[1],
            )
        )
    if infusion_ended_at is not None and discharge_due_at is not None:
        pre_due = max(discharge_due_at - PRE_DISCHARGE_BEFORE, infusion_ended_at)
        due = infusion_ended_at + RECOVERY_EVERY
        while due < pre_due:
            schedule.append(
                DueReading(
                    DueKind.RECOVERY,
                    due,
                    due - RECOVERY_HALF_WINDOW,
                    due + RECOVERY_HALF_WINDOW,
                    closes_inclusive=False,
                )
            )
            due += RECOVERY_EVERY
        schedule.append(DueReading(DueKind.PRE_DISCHARGE, pre_due, pre_due, discharged_at))
    return sorted(schedule, key=lambda item: item.due_at)


def vitals_due(
    schedule: list[DueReading],
    readings_at: Iterable[datetime],
    now: datetime,
    grace: timedelta = GRACE,
) -> list[DueItem]:
    """Return each scheduled reading's state at `now`.

    Done when a reading lies in its window; upcoming before its due time; missed once its
    window has closed and `grace` has passed since it fell due; due in between.
    """
    taken = sorted(readings_at)
    items: list[DueItem] = []
    for point in schedule:
        reading_at = next((at for at in taken if point.satisfied_by(at)), None)
        if reading_at is not None:
            state = DueState.DONE
        elif now < point.due_at:
            state = DueState.UPCOMING
        elif _window_closed(point, now) and now > point.due_at + grace:
            state = DueState.MISSED
        else:
            state = DueState.DUE
        items.append(DueItem(point.kind, point.due_at, state, reading_at))
    return items


def _window_closed(point: DueReading, now: datetime) -> bool:
    if point.closes is None:
        return False
    return now > point.closes if point.closes_inclusive else now >= point.closes


def next_due(items: Iterable[DueItem]) -> DueItem | None:
    """Return the earliest item that is due now, else the earliest upcoming one."""
    pending = [item for item in items if item.state in (DueState.DUE, DueState.UPCOMING)]
    due_now = [item for item in pending if item.state is DueState.DUE]
    return min(due_now or pending, key=lambda item: item.due_at, default=None)


def missed(items: Iterable[DueItem]) -> list[DueItem]:
    """Return the items that were missed, in due order."""
    return [item for item in items if item.state is DueState.MISSED]
