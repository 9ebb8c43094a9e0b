"""The enumerations for the pages: `choices` in every template, one JSON block for scripts.

Each enumeration is declared once in clinic/domain with its value, label and CSS class; pages
never retype them. A template writes `choices.status.label_of(visit.status)`; a script reads
`choices.label("status", value)` (static/js/choices.js) from the `data-choices` attribute that
templates/base.html writes.
"""

from __future__ import annotations

from flask import Flask

from clinic.domain.alarms import AlertKind, Channel, DeliveryStatus
from clinic.domain.audit import Outcome
from clinic.domain.booking import ChairKind, RecoveryMode, Rule, Weekday
from clinic.domain.choices import Choice
from clinic.domain.messages import Confirmation
from clinic.domain.phases import Countdown
from clinic.domain.roles import Role
from clinic.domain.treatments import (
    ObservationFrom,
    SubmissionMethod,
    SubmissionStatus,
    TreatmentKind,
)
from clinic.domain.visits import EventRule, EventType, HistoryType, Status
from clinic.domain.vitals import DueKind, DueState, Flag

CHOICES: dict[str, type[Choice]] = {
    "status": Status,
    "event_type": EventType,
    "history_type": HistoryType,
    "rule": Rule,
    "event_rule": EventRule,
    "flag": Flag,
    "due_kind": DueKind,
    "due_state": DueState,
    "countdown": Countdown,
    "role": Role,
    "chair_kind": ChairKind,
    "recovery_mode": RecoveryMode,
    "alert_kind": AlertKind,
    "channel": Channel,
    "delivery_status": DeliveryStatus,
    "outcome": Outcome,
    "weekday": Weekday,
    "treatment_kind": TreatmentKind,
    "observation_from": ObservationFrom,
    "submission_status": SubmissionStatus,
    "submission_method": SubmissionMethod,
    "confirmation": Confirmation,
}


def choices_json() -> dict[str, list[dict[str, str]]]:
    """Return every enumeration as lists of {value, label, css}, in declaration order."""
    return {
        name: [{"value": m.value, "label": m.label, "css": m.css} for m in choice]
        for name, choice in CHOICES.items()
    }


def init_app(app: Flask) -> None:
    """Give every template, macros imported without context included, `choices` and its JSON."""
    app.jinja_env.globals.update(choices=CHOICES, choices_json=choices_json())
