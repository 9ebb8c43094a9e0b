"""Discharge: PADSS scoring, vital-sign stability, and who may discharge when.

PADSS (Chung's Post-Anesthetic Discharge Scoring System) has five items scored 0-2, total 10;
9 or more means fit for discharge. Release is only to a responsible adult escort, and before
the observation window ends only a practitioner may discharge, giving a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from clinic.domain.vitals import Flag, Reading, Thresholds, flags

PADSS_ITEMS = ("vital_signs", "activity", "nausea_vomiting", "pain", "bleeding")
PADSS_ITEM_MAX = 2
PADSS_PASS = 9
# PADSS vital signs: within 20 % of the pre-procedure value scores 2, within 40 % scores 1.
VITALS_WITHIN_PERCENT = {2: 20, 1: 40}


class InvalidScores(ValueError):
    """PADSS scores with missing, unknown or out-of-range items; `fields` says which."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("The PADSS scores are incomplete or out of range.")
        self.fields = fields


def padss_errors(scores: Mapping[str, object]) -> dict[str, list[str]]:
    """Return field errors for PADSS scores (every item a whole number 0-2); empty when valid."""
    errors: dict[str, list[str]] = {}
    for item in PADSS_ITEMS:
        value = scores.get(item)
        if value is None:
            errors[item] = ["Required."]
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2:
            errors[item] = ["A whole number, 0-2."]
    for item in scores:
        if item not in PADSS_ITEMS:
            errors[str(item)] = ["Not a PADSS item."]
    return errors


def padss_total(scores: Mapping[str, object]) -> int:
    """Return the PADSS total (0-10), or raise InvalidScores."""
    errors = padss_errors(scores)
    if errors:
        raise InvalidScores(errors)
    # padss_errors has checked that every item is a whole number.
    return sum(cast(int, scores[item]) for item in PADSS_ITEMS)


def _within(value: int, base: int, percent: int) -> bool:
    # Multiplied out so that exactly 20 % counts as within, without float rounding.
    return abs(value - base) * 100 <= base * percent


def vital_signs_score(latest: Reading, baseline: Reading) -> int:
    """Score PADSS vital signs: 2 if BP and pulse are within 20 % of baseline, 1 within 40 %."""
    pairs = [
        (latest.systolic, baseline.systolic),
        (latest.diastolic, baseline.diastolic),
        (latest.heart_rate, baseline.heart_rate),
    ]
    for score, percent in VITALS_WITHIN_PERCENT.items():
        if all(_within(value, base, percent) for value, base in pairs):
            return score
    return 0


UNSTABLE_FLAGS = frozenset({Flag.BP_CRITICAL, Flag.HR_HIGH, Flag.HR_LOW, Flag.SPO2_LOW})


def vitals_stable(latest: Reading | None, baseline: Reading | None, t: Thresholds) -> bool:
    """Tell whether the latest reading is safe to leave on: no critical flag, near baseline.

    A bp_high reading is acceptable when it is within 20 % of the patient's own baseline;
    without a baseline the latest reading is the visit's only one and is its own baseline.
    """
    if latest is None:
        return False
    baseline = baseline or latest
    if UNSTABLE_FLAGS.intersection(flags(latest, baseline, t)):
        return False
    return vital_signs_score(latest, baseline) == PADSS_ITEM_MAX


@dataclass(frozen=True)
class Checklist:
    """The nurse's discharge checklist."""

    padss: int
    escort_name: str
    vitals_stable: bool
    escort_phone: str | None = None


PADSS_TOO_LOW = "PADSS is below 9."
NO_ESCORT = "No escort is named."
VITALS_UNSTABLE = "Vital signs are not stable."
EARLY_NOT_PRACTITIONER = "The observation window has not ended; only a practitioner may override."
EARLY_NO_REASON = "The observation window has not ended: give an override reason."


def is_early(at: datetime, discharge_due_at: datetime) -> bool:
    """Tell whether a discharge at `at` is before the observation window has ended."""
    return at < discharge_due_at


def discharge_refusals(
    checklist: Checklist,
    at: datetime,
    discharge_due_at: datetime,
    is_practitioner: bool,
    override_reason: str | None,
) -> list[str]:
    """Return every reason the discharge is refused; an empty list means it may go ahead."""
    refusals: list[str] = []
    if checklist.padss < PADSS_PASS:
        refusals.append(PADSS_TOO_LOW)
    if not checklist.escort_name.strip():
        refusals.append(NO_ESCORT)
    if not checklist.vitals_stable:
        refusals.append(VITALS_UNSTABLE)
    if is_early(at, discharge_due_at):
        if not is_practitioner:
            refusals.append(EARLY_NOT_PRACTITIONER)
        elif not (override_reason or "").strip():
            refusals.append(EARLY_NO_REASON)
    return refusals


def discharge_due_at(
    infusion_ended_at: datetime, observation_minutes: int, extension_minutes: int
) -> datetime:
    """Return when the observation window ends: actual infusion end + observation + extensions."""
    return infusion_ended_at + timedelta(minutes=observation_minutes + extension_minutes)


def monitoring_minutes(infusion_started_at: datetime, discharged_at: datetime) -> int:
    """Return the whole minutes from the start of the infusion to discharge."""
    return int((discharged_at - infusion_started_at).total_seconds() // 60)
