"""The printable discharge record: every phase, reading, side effect and extension, and who."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from clinic.domain import discharge
from clinic.models import Patient, Site, User, Visit, VisitEvent
from clinic.services.observations import vitals_stable_for
from clinic.services.timeline import (
    SIDE_EFFECTS,
    EventLine,
    ReadingLine,
    event_lines,
    load_history,
    reading_lines,
)


@dataclass(frozen=True)
class Phase:
    """One phase of the visit as it happened; ended_at is None while it lasts."""

    name: str  # "waiting" (checked in), "infusion", "recovery"
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None  # whole minutes, to ended_at (or now while it lasts)
    planned_minutes: int | None  # the booked length (infusion, observation + extensions)


@dataclass(frozen=True)
class Extension:
    """One extension of the observation window."""

    at: datetime
    minutes: int
    reason: str
    by: str | None


@dataclass(frozen=True)
class DischargeRecord:
    """Everything a printed discharge record shows."""

    visit: Visit
    patient: Patient
    site: Site
    chair: str
    recovery_chair: str | None
    phases: list[Phase]
    events: list[EventLine]  # in order of when they happened
    readings: list[ReadingLine]  # oldest first
    worst_side_effects: dict[str, int | None]  # dissociation, nausea, dizziness: highest score
    extensions: list[Extension]
    extension_minutes: int
    checklist: dict[str, Any] | None  # as recorded on the discharge event
    override_reason: str | None  # set when a practitioner discharged early
    discharged_by: str | None
    vitals_stable: bool  # the latest reading against the first, by the site's thresholds
    monitoring_minutes: int | None  # infusion start to discharge (or to now, while it lasts)
    complete: bool  # the patient has been discharged


def discharge_record(actor: User, visit_id: int, now: datetime) -> DischargeRecord:
    """Gather a visit's record for printing (three queries: visit, events, readings)."""
    history = load_history(actor, visit_id)
    visit, events, observations = history.visit, history.events, history.readings
    discharge_event = next((e for e in reversed(events) if e.type == "discharge"), None)
    end = visit.discharged_at or now
    return DischargeRecord(
        visit=visit,
        patient=visit.patient,
        site=visit.site,
        chair=visit.chair.name,
        recovery_chair=visit.recovery_chair.name if visit.recovery_chair else None,
        phases=_phases(visit, events, now),
        events=event_lines(
            events, ZoneInfo(visit.site.timezone), {c.id: c.name for c in visit.site.chairs}
        ),
        readings=reading_lines(observations),
        worst_side_effects={
            name: max(
                (getattr(o, name) for o in observations if getattr(o, name) is not None),
                default=None,
            )
            for name in SIDE_EFFECTS
        },
        extensions=[
            Extension(
                e.at,
                int(e.data["minutes"]),
                str(e.data.get("reason", "")),
                e.by.name if e.by else None,
            )
            for e in events
            if e.type == "extend_observation" and "minutes" in (e.data or {})
        ],
        extension_minutes=visit.extension_minutes,
        checklist=dict(discharge_event.data.get("checklist") or {}) if discharge_event else None,
        override_reason=discharge_event.data.get("override_reason") if discharge_event else None,
        discharged_by=(discharge_event.by.name if discharge_event and discharge_event.by else None),
        vitals_stable=vitals_stable_for(visit, observations),
        monitoring_minutes=(
            discharge.monitoring_minutes(visit.infusion_started_at, end)
            if visit.infusion_started_at is not None
            else None
        ),
        complete=visit.discharged_at is not None,
    )


def _phases(visit: Visit, events: list[VisitEvent], now: datetime) -> list[Phase]:
    """Return the phases the visit has entered, each to its end (or to now while it lasts)."""
    # A visit that left without a discharge (cancelled, no-show) ended at its last event.
    closed_at = visit.discharged_at
    if closed_at is None and not visit.is_active and events:
        closed_at = events[-1].at
    marks = [
        ("waiting", visit.checked_in_at, None),
        ("infusion", visit.infusion_started_at, visit.infusion_minutes),
        (
            "recovery",
            visit.infusion_ended_at,
            visit.observation_minutes + visit.extension_minutes,
        ),
    ]
    # A phase ends where the next recorded one begins, or at discharge.
    ends = [visit.infusion_started_at, visit.infusion_ended_at, closed_at]
    found: list[Phase] = []
    for (name, started, planned), ended in zip(marks, ends, strict=True):
        if started is None:
            continue
        ended = ended or closed_at
        until = ended or now
        minutes = max(0, int((until - started).total_seconds() // 60))
        found.append(Phase(name, started, ended, minutes, planned))
    return found
