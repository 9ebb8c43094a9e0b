"""Treatment types: what a site gives, how long it takes and how long patients are watched."""

from __future__ import annotations

from typing import Any

from clinic.domain.choices import Choice


class TreatmentKind(Choice):
    """What is given in a session of this type."""

    IV_KETAMINE = "iv_ketamine", "IV ketamine", "kind-iv_ketamine"
    ESKETAMINE = "esketamine", "Esketamine (nasal)", "kind-esketamine"
    OTHER = "other", "Other", "kind-other"


class ObservationFrom(Choice):
    """Which moment the observation minutes are counted from."""

    ADMINISTRATION_START = (
        "administration_start",
        "The start of the administration",
        "from-start",
    )
    ADMINISTRATION_END = "administration_end", "The end of the administration", "from-end"


# Setting -> (low, high) whole minutes (or mmHg); the CHECK constraints use the same bounds.
TYPE_LIMITS: dict[str, tuple[int, int]] = {
    "administration_min": (1, 240),
    "administration_default": (1, 240),
    "administration_max": (1, 240),
    "observation_min": (0, 720),
    "observation_default": (0, 720),
    "predose_systolic_max": (80, 260),
    "predose_diastolic_max": (40, 160),
}
# The API's nested objects: field -> {key: setting}.
TYPE_MINUTES: dict[str, dict[str, str]] = {
    "administration_minutes": {
        "min": "administration_min",
        "max": "administration_max",
        "default": "administration_default",
    },
    "observation_minutes": {"min": "observation_min", "default": "observation_default"},
}


def type_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return what is wrong with a complete set of treatment-type settings (empty when valid)."""
    errors: dict[str, list[str]] = {}
    for setting, (low, high) in TYPE_LIMITS.items():
        value = values.get(setting)
        optional = setting.startswith("predose_")
        if value is None and optional:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            field = "predose_bp_max" if optional else _field_of(setting)
            errors.setdefault(field, []).append(f"Whole numbers between {low} and {high}.")
    if errors:
        return errors
    low, default, high = (values[f"administration_{key}"] for key in ("min", "default", "max"))
    if not low <= default <= high:
        errors["administration_minutes"] = ["Need min <= default <= max."]
    if values["observation_min"] > values["observation_default"]:
        errors["observation_minutes"] = ["Need min <= default."]
    if (values["predose_systolic_max"] is None) != (values["predose_diastolic_max"] is None):
        errors["predose_bp_max"] = ["Give both limits, or neither."]
    return errors


def _field_of(setting: str) -> str:
    """Return the API field that holds a setting."""
    return next(field for field, keys in TYPE_MINUTES.items() if setting in keys.values())
