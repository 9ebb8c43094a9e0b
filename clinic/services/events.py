"""Visit events: the append-only record of what happened, and the state machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from clinic.database import lock_site_for_booking
from clinic.domain.visits import EventType, IllegalTransition, Status, event_time_error, next_status
from clinic.extensions import db
from clinic.models import User, Visit, VisitEvent
from clinic.services import access
from clinic.services.errors import Conflict, Invalid

# Which permission each event needs (API.md, "Roles").
EVENT_PERMISSION = {
    EventType.CHECK_IN: "book",
    EventType.NO_SHOW: "book",
    EventType.CANCEL: "book",
    EventType.START_INFUSION: "clinical",
    EventType.END_INFUSION: "clinical",
    EventType.EXTEND_OBSERVATION: "clinical",
    EventType.DISCHARGE: "clinical",
}


def add_event(
    visit: Visit, type_: str, actor: User | None, at: datetime, now: datetime, data: dict
) -> VisitEvent:
    """Append an event row to a visit (the caller commits)."""
    event = VisitEvent(
        visit=visit,
        type=type_,
        at=at,
        recorded_at=now,
        by_id=actor.id if actor else None,
        data=data,
    )
    db.session.add(event)
    return event


def record_event(
    actor: User, visit_id: int, type_: str, now: datetime, at: datetime | None = None, **data: Any
) -> Visit:
    """Record a lifecycle event on a visit, if the state machine and the clock allow it."""
    try:
        event_type = EventType(type_)
    except ValueError:
        raise Invalid("Unknown event type.", {"type": [f"Not one of {_names()}."]}) from None
    visit = access.get_visit(actor, visit_id)
    access.require(actor, EVENT_PERMISSION[event_type])
    lock_site_for_booking(visit.site_id)
    visit = access.get_visit(actor, visit_id)
    at = now if at is None else at
    # Only what happened to the patient orders the record; booking and rescheduling are
    # office work, and a late entry may well predate them (a walk-in booked on arrival).
    lifecycle = {e.value for e in EventType}
    previous = max((e.at for e in visit.events if e.type in lifecycle), default=None)
    if error := event_time_error(at, now, previous):
        raise Invalid(error, {"at": [error]})
    try:
        status = next_status(Status(visit.status), event_type)
    except IllegalTransition as refusal:
        db.session.rollback()
        raise Conflict(str(refusal)) from None
    payload = APPLY[event_type](visit, at, data, actor)
    visit.status = status.value
    add_event(visit, event_type.value, actor, at, now, payload)
    db.session.commit()
    return visit


def _names() -> str:
    return ", ".join(e.value for e in EventType)


def _required_reason(data: dict) -> str:
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("Give a reason.", {"reason": ["Required."]})
    if len(reason) > 500:
        raise Invalid("The reason is too long.", {"reason": ["At most 500 characters."]})
    return reason.strip()


def _check_in(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    visit.checked_in_at = at
    return {}


def _cancel(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    visit.cancel_reason = _required_reason(data)
    return {"reason": visit.cancel_reason}


def _no_show(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    return {}


APPLY = {
    EventType.CHECK_IN: _check_in,
    EventType.CANCEL: _cancel,
    EventType.NO_SHOW: _no_show,
}


def _start_infusion(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    visit.infusion_started_at = at
    return {}


def _end_infusion(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    visit.infusion_ended_at = at
    visit.discharge_due_at = at + timedelta(
        minutes=visit.observation_minutes + visit.extension_minutes
    )
    return {}


def _extend_observation(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise Invalid("Extend by 1 to 240 minutes.", {"minutes": ["A whole number, 1-240."]})
    reason = _required_reason(data)
    visit.extension_minutes += minutes
    assert visit.infusion_ended_at is not None
    visit.discharge_due_at = visit.infusion_ended_at + timedelta(
        minutes=visit.observation_minutes + visit.extension_minutes
    )
    return {"minutes": minutes, "reason": reason}


def _discharge(visit: Visit, at: datetime, data: dict, actor: User) -> dict:
    checklist = data.get("checklist")
    if not isinstance(checklist, dict):
        raise Invalid("The discharge checklist is missing.", {"checklist": ["Required."]})
    padss, escort, stable = (
        checklist.get("padss"),
        checklist.get("escort_name"),
        checklist.get("vitals_stable"),
    )
    fields: dict[str, list[str]] = {}
    if isinstance(padss, bool) or not isinstance(padss, int) or not 0 <= padss <= 10:
        fields["checklist.padss"] = ["A whole number, 0-10."]
    if not isinstance(escort, str):
        fields["checklist.escort_name"] = ["Required."]
    if not isinstance(stable, bool):
        fields["checklist.vitals_stable"] = ["true or false."]
    if fields:
        raise Invalid("The discharge checklist is incomplete.", fields)
    refusals = []
    if padss < 9:
        refusals.append("PADSS is below 9.")
    if not escort.strip():
        refusals.append("No escort is named.")
    if not stable:
        refusals.append("Vital signs are not stable.")
    override = data.get("override_reason")
    assert visit.discharge_due_at is not None
    if at < visit.discharge_due_at:
        if not access.can(actor, "discharge_early"):
            refusals.append(
                "The observation window has not ended; only a practitioner may override."
            )
        elif not isinstance(override, str) or not override.strip():
            refusals.append("The observation window has not ended: give an override reason.")
    if refusals:
        raise Conflict(" ".join(refusals))
    visit.discharged_at = at
    payload = {
        "checklist": {"padss": padss, "escort_name": escort.strip(), "vitals_stable": stable}
    }
    if at < visit.discharge_due_at:
        payload["override_reason"] = override.strip()
    return payload


APPLY.update(
    {
        EventType.START_INFUSION: _start_infusion,
        EventType.END_INFUSION: _end_infusion,
        EventType.EXTEND_OBSERVATION: _extend_observation,
        EventType.DISCHARGE: _discharge,
    }
)
