"""The limits of every numeric site setting, and the time zones a site may use.

One table, read by the service's validation, the admin form's validators, the API's parsing
and the OpenAPI document, so that a value one of them accepts the others accept too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import available_timezones

from clinic.domain.messages import (
    DEFAULT_CHANNELS,
    DEFAULT_OFFSETS_MINUTES,
    MessageChannel,
    ReminderPlan,
    clinical_words,
    line_problem_free,
    offsets_errors,
)
from clinic.domain.vitals import Thresholds


@dataclass(frozen=True)
class Limit:
    """The whole numbers a setting may take, low and high included."""

    low: int
    high: int
    unit: str = "minutes"

    def allows(self, value: Any) -> bool:
        """Tell whether a value is a whole number inside the limits (true/false are not)."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )

    @property
    def message(self) -> str:
        """Say what the limits are, for a form or an error body."""
        return f"A whole number between {self.low} and {self.high} ({self.unit})."


# Setting name -> limits. Adding a numeric setting is one row here.
SITE_LIMITS: dict[str, Limit] = {
    "nurse_ratio": Limit(1, 20, "patients per nurse"),
    "infusion_min": Limit(5, 240),
    "infusion_default": Limit(5, 240),
    "infusion_max": Limit(5, 240),
    "observation_min": Limit(0, 720),
    "observation_default": Limit(0, 720),
    "overdue_after_minutes": Limit(0, 240),
    "turnover_minutes": Limit(0, 120),
    "min_hours_between_infusions": Limit(0, 720, "hours"),
    # The visit's window: check-in opens before the planned start; no-show after it.
    "check_in_open_minutes": Limit(0, 720),
    "no_show_after_minutes": Limit(0, 240),
    # "I can't come" this close to a visit asks the desk; earlier, it cancels the visit.
    "cancel_window_hours": Limit(0, 168, "hours"),
    # Vital-sign thresholds (clinic.domain.vitals.Thresholds, see VITAL_SETTINGS).
    "bp_high_systolic": Limit(120, 220, "mmHg"),
    "bp_high_diastolic": Limit(70, 140, "mmHg"),
    "bp_critical_systolic": Limit(140, 260, "mmHg"),
    "bp_critical_diastolic": Limit(80, 160, "mmHg"),
    "hr_high": Limit(80, 200, "beats per minute"),
    "hr_low": Limit(30, 80, "beats per minute"),
    "spo2_low": Limit(80, 98, "% SpO2"),
    "bp_above_baseline_percent": Limit(5, 100, "% over the first reading"),
}

# Vital-sign settings -> (Thresholds field, index in its (systolic, diastolic) pair or None).
VITAL_SETTINGS: dict[str, tuple[str, int | None]] = {
    "bp_high_systolic": ("bp_high", 0),
    "bp_high_diastolic": ("bp_high", 1),
    "bp_critical_systolic": ("bp_critical", 0),
    "bp_critical_diastolic": ("bp_critical", 1),
    "hr_high": ("hr_high", None),
    "hr_low": ("hr_low", None),
    "spo2_low": ("spo2_low", None),
    "bp_above_baseline_percent": ("bp_above_baseline_percent", None),
}

# IANA names this machine knows; "localtime" names the host's own zone, not a place.
TIME_ZONES: frozenset[str] = frozenset(available_timezones()) - {"localtime"}


def flat_thresholds(thresholds: Thresholds) -> dict[str, int]:
    """Return vital-sign thresholds as flat settings (bp_high_systolic, ..., hr_low)."""
    values: dict[str, int] = {}
    for name, (field, index) in VITAL_SETTINGS.items():
        value = getattr(thresholds, field)
        values[name] = int(value if index is None else value[index])
    return values


def stored_thresholds(values: dict[str, Any]) -> dict[str, Any]:
    """Return flat vital-sign settings as Site.vital_thresholds stores them."""
    stored: dict[str, Any] = {}
    for name, (field, index) in VITAL_SETTINGS.items():
        if index is None:
            stored[field] = values[name]
        else:
            stored.setdefault(field, [None, None])[index] = values[name]
    return stored


DEFAULT_VITALS = flat_thresholds(Thresholds())


def range_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return what is out of its limits among the numeric settings given (empty when valid)."""
    return {
        name: [SITE_LIMITS[name].message]
        for name, value in values.items()
        if name in SITE_LIMITS and not SITE_LIMITS[name].allows(value)
    }


# ---------------------------------------------------------------- patient messages

MAX_INSTRUCTIONS = 1000
DEFAULT_INSTRUCTIONS = (
    "Please eat nothing for 6 hours before your appointment. Come with an adult who can take "
    "you home, and do not drive until the next day."
)
# A site's reminder settings when it has set none (Site.reminders is null).
DEFAULT_REMINDERS: dict[str, Any] = {
    "offsets_minutes": list(DEFAULT_OFFSETS_MINUTES),
    "channels": [channel.value for channel in DEFAULT_CHANNELS],
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "instructions": DEFAULT_INSTRUCTIONS,
}


def reminders_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Return a site's reminder settings, the defaults filling what it has not set."""
    return DEFAULT_REMINDERS | (stored or {})


def _clock(value: Any) -> time | None:
    """Read "HH:MM" (00:00-23:59); raise ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(value)
    hours, minutes = int(value[:2]), int(value[3:])
    return time(hours, minutes)


def reminders_errors(value: Any) -> list[str]:
    """Return what is wrong with a complete reminders object, or nothing."""
    if not isinstance(value, dict) or set(value) - set(DEFAULT_REMINDERS):
        return [f"An object of {', '.join(DEFAULT_REMINDERS)}."]
    offsets = value["offsets_minutes"]
    if not isinstance(offsets, list):
        return ["offsets_minutes: a list of whole minutes."]
    if errors := offsets_errors(offsets):
        return [f"offsets_minutes: {error}" for error in errors]
    channels = value["channels"]
    if (
        not isinstance(channels, list)
        or any(c not in MessageChannel.values() for c in channels)
        or len(set(channels)) != len(channels)
    ):
        return ['channels: each of "email", "sms" at most once.']
    quiet = (value["quiet_start"], value["quiet_end"])
    if (quiet[0] is None) != (quiet[1] is None):
        return ["quiet_start and quiet_end: both times, or both null."]
    if quiet[0] is not None:
        try:
            _clock(quiet[0]), _clock(quiet[1])
        except ValueError:
            return ['quiet_start and quiet_end: "HH:MM" times of day.']
    text = value["instructions"]
    if not isinstance(text, str) or len(text) > MAX_INSTRUCTIONS:
        return [f"instructions: text of at most {MAX_INSTRUCTIONS} characters."]
    if not line_problem_free(text):
        return ["instructions: remove the control characters."]
    if words := clinical_words(text):
        return [f"instructions: no message may name {', '.join(words)}."]
    return []


def reminder_plan(reminders: dict[str, Any]) -> ReminderPlan:
    """Return the domain's plan from a (valid) reminders object."""
    quiet_start, quiet_end = reminders["quiet_start"], reminders["quiet_end"]
    return ReminderPlan(
        offsets_minutes=tuple(reminders["offsets_minutes"]),
        channels=tuple(MessageChannel(c) for c in reminders["channels"]),
        quiet_start=_clock(quiet_start) if quiet_start else None,
        quiet_end=_clock(quiet_end) if quiet_end else None,
    )
