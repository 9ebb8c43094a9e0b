"""A visit's timeline: every event and booking change with what, when, who and why.

The one place that turns event rows into lines; the visit page and the printed discharge
record both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from clinic.domain.visits import EventType, HistoryType, is_late_entry
from clinic.models import VisitEvent

EVENT_LABELS = {choice.value: choice.label for choice in (*HistoryType, *EventType)}


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


def event_lines(events: list[VisitEvent], tz: ZoneInfo, chairs: dict[int, str]) -> list[EventLine]:
    """Describe each event (in the order given), times in the site's zone, chairs by name."""
    return [
        EventLine(
            type=e.type,
            label=EVENT_LABELS.get(e.type, e.type.replace("_", " ").capitalize()),
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
