"""A visit's timeline: every event, booking change and reading with what, when, who and why.

The one place that loads a visit's history and turns its rows into lines; the visit page
and the printed discharge record both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clinic.domain.treatments import TreatmentKind, administration_word, start_word
from clinic.domain.visits import EventType, HistoryType, is_late_entry
from clinic.extensions import db
from clinic.models import Observation, User, Visit, VisitEvent
from clinic.services import access

EVENT_LABELS = {choice.value: choice.label for choice in (*HistoryType, *EventType)}


# Side effect -> (label, highest score) as a reading's line shows it.
SIDE_EFFECTS = {
    "dissociation": ("Dissociation", 4),
    "nausea": ("Nausea", 3),
    "dizziness": ("Dizziness", 3),
}


@dataclass(frozen=True)
class History:
    """A visit with its events and readings, oldest first, each with who recorded it."""

    visit: Visit
    events: list[VisitEvent]
    readings: list[Observation]


def load_history(actor: User, visit_id: int) -> History:
    """Load a visit the user may see with its events and readings (three queries)."""
    visit = access.get_visit(actor, visit_id)
    events = db.session.scalars(
        select(VisitEvent)
        .options(joinedload(VisitEvent.by))
        .where(VisitEvent.visit_id == visit.id)
        .order_by(VisitEvent.at, VisitEvent.id)
    )
    readings = db.session.scalars(
        select(Observation)
        .options(joinedload(Observation.by))
        .where(Observation.visit_id == visit.id)
        .order_by(Observation.at, Observation.id)
    )
    return History(visit, list(events), list(readings))


@dataclass(frozen=True)
class EventLine:
    """One event of a visit as people read it."""

    type: str
    label: str
    at: datetime
    recorded_at: datetime
    by: str | None  # the member of staff's name
    by_role: str | None
    late: bool
    detail: str
    data: dict[str, Any]


def event_label(type_: str, kind: TreatmentKind = TreatmentKind.IV_KETAMINE) -> str:
    """Return what the timeline calls an event, in the words of the visit's treatment."""
    if kind is not TreatmentKind.IV_KETAMINE:
        if type_ == EventType.START_INFUSION and kind is TreatmentKind.ESKETAMINE:
            return start_word(kind).capitalize()  # "First device"
        if type_ == EventType.START_INFUSION:
            return f"{administration_word(kind)} started".capitalize()
        if type_ == EventType.END_INFUSION:
            return f"{administration_word(kind)} ended".capitalize()
    return str(EVENT_LABELS.get(type_, type_.replace("_", " ").capitalize()))


def _kind(event: VisitEvent) -> TreatmentKind:
    """Return the kind of the event's visit's treatment (IV when unknown)."""
    treatment_type = event.visit.treatment_type if event.visit is not None else None
    kind = treatment_type.kind if treatment_type is not None else None
    if kind is None or kind not in TreatmentKind.values():
        return TreatmentKind.IV_KETAMINE
    return TreatmentKind(kind)


def event_lines(events: list[VisitEvent], tz: ZoneInfo, chairs: dict[int, str]) -> list[EventLine]:
    """Describe each event (in the order given), times in the site's zone, chairs by name."""
    return [
        EventLine(
            type=e.type,
            label=event_label(e.type, _kind(e)),
            at=e.at,
            recorded_at=e.recorded_at,
            by=e.by.name if e.by else None,
            by_role=e.by.role if e.by else None,
            late=is_late_entry(e.at, e.recorded_at),
            detail=_detail(e.type, dict(e.data or {}), tz, chairs),
            data=dict(e.data or {}),
        )
        for e in events
    ]


def _detail(type_: str, data: dict[str, Any], tz: ZoneInfo, chairs: dict[int, str]) -> str:
    """Return the one line that says what an event changed or why."""
    if type_ == "book":
        return _slot(data, tz, chairs)
    if type_ == "reschedule":
        return f"from {_slot(data.get('from'), tz, chairs)} to {_slot(data.get('to'), tz, chairs)}"
    if type_ == "extend_observation" and data.get("minutes"):
        return f"+{data['minutes']} min · {data.get('reason', '')}"
    if type_ == "discharge" and isinstance(data.get("checklist"), dict):
        checklist = data["checklist"]
        detail = f"PADSS {checklist.get('padss')}/10 · escort {checklist.get('escort_name')}"
        if data.get("override_reason"):
            detail += f" · early, practitioner's override: {data['override_reason']}"
        return detail
    if type_ == "start_infusion" and data.get("override_reason"):
        return f"pre-dose checks overridden by a practitioner: {data['override_reason']}"
    return str(data.get("reason") or data.get("override_reason") or "")


def _slot(slot: Any, tz: ZoneInfo, chairs: dict[int, str]) -> str:
    """Return "Tue 1 Dec 09:00 in Chair 2" for a kept slot; "?" when it cannot be read."""
    if not isinstance(slot, dict):
        return "?"
    try:
        start = datetime.fromisoformat(slot["infusion_start"]).astimezone(tz)
    except (KeyError, TypeError, ValueError):
        return "?"
    chair_id = slot.get("chair_id")
    chair = "another chair" if chair_id is None else chairs.get(chair_id, "another chair")
    # The pages' one date format (clinic.web.dates): "Tue 1 Dec 09:00".
    return f"{start:%a} {start.day} {start:%b} {start:%H:%M} in {chair}"


@dataclass(frozen=True)
class ReadingLine:
    """One reading as people read it: values, side effects, flags, and who took it."""

    observation: Observation
    by: str | None
    late: bool
    type: str = "reading"
    label: str = "Vital signs"

    @property
    def at(self) -> datetime:
        """Return when the reading was taken."""
        return self.observation.at

    @property
    def recorded_at(self) -> datetime:
        """Return when the reading was written down."""
        return self.observation.recorded_at

    @property
    def detail(self) -> str:
        """Return the vital signs: "BP 120/80 · HR 70 · SpO₂ 98 %"."""
        o = self.observation
        values = f"BP {o.systolic}/{o.diastolic} · HR {o.heart_rate} · SpO₂ {o.spo2} %"
        return values + (f" · RR {o.respiratory_rate}" if o.respiratory_rate is not None else "")

    @property
    def note(self) -> str:
        """Return the nurse's note on the reading."""
        return self.observation.note or ""

    @property
    def flags(self) -> list[str]:
        """Return the reading's flags (bp_high, spo2_low, ...)."""
        return list(self.observation.flags or [])

    @property
    def effects(self) -> str:
        """Return the side effects scored: "Nausea 1/3 · Dizziness 0/3"."""
        scored = [
            (label, getattr(self.observation, name), high)
            for name, (label, high) in SIDE_EFFECTS.items()
        ]
        return " · ".join(
            f"{label} {score}/{high}" for label, score, high in scored if score is not None
        )


def reading_lines(readings: list[Observation]) -> list[ReadingLine]:
    """Describe each reading (in the order given)."""
    return [
        ReadingLine(o, o.by.name if o.by else None, is_late_entry(o.at, o.recorded_at))
        for o in readings
    ]


def merged(events: list[EventLine], readings: list[ReadingLine]) -> list[EventLine | ReadingLine]:
    """Interleave events and readings in the order they happened (an event first on a tie)."""
    tagged: list[tuple[datetime, int, int, EventLine | ReadingLine]] = [
        (line.at, 0, i, line) for i, line in enumerate(events)
    ]
    tagged += [(line.at, 1, i, line) for i, line in enumerate(readings)]
    return [line for *_, line in sorted(tagged, key=lambda t: t[:3])]
