"""Visit events: the append-only record of what happened, and the state machine."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from clinic.database import lock_site_for_writing
from clinic.domain import discharge, treatments
from clinic.domain.booking import Violation
from clinic.domain.visits import (
    ACTIVE,
    NEEDS_REASON,
    REBOOKING,
    EventRule,
    EventType,
    HistoryType,
    IllegalTransition,
    Status,
    VisitWindow,
    event_time_error,
    next_status,
    rebooking_allows_past,
    window_refusal,
)
from clinic.extensions import db
from clinic.models import TreatmentType, User, Visit, VisitEvent
from clinic.services import (
    access,
    audit,
    booking,
    notifications,
    observations,
    patient_messages,
    rems,
    screening,
)
from clinic.services.errors import Conflict, Invalid

# Which permission each event needs (API.md, "Roles").
EVENT_PERMISSION = {
    EventType.CHECK_IN: "book",
    EventType.NO_SHOW: "book",
    EventType.CANCEL: "book",
    EventType.UNDO_CHECK_IN: "book",
    EventType.UNDO_NO_SHOW: "book",
    EventType.REINSTATE: "book",
    EventType.START_INFUSION: "clinical",
    EventType.END_INFUSION: "clinical",
    EventType.EXTEND_OBSERVATION: "clinical",
    EventType.DISCHARGE: "clinical",
}
MAX_ESCORT_PHONE = 40


class Subject(TypedDict):
    """The patient and the visit that an event's audit rows name, and its site's chain."""

    patient_id: int
    object_type: str
    object_id: int
    site_id: int


def add_event(
    visit: Visit,
    type_: str,
    actor: User | None,
    at: datetime,
    now: datetime,
    data: dict[str, Any],
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
    event_type = _event_type(type_)
    visit = access.get_visit(actor, visit_id)
    access.require(actor, EVENT_PERMISSION[event_type])
    lock_site_for_writing(visit.site_id)
    visit = apply_event(actor, visit_id, type_, now, at, data)
    ids: Subject = {
        "patient_id": visit.patient_id,
        "object_type": "visit",
        "object_id": visit.id,
        "site_id": visit.site_id,
    }
    try:
        booking.commit_or_conflict()
    except Conflict as refusal:
        _audit_refused(actor, event_type, now, refusal, ids)
        raise
    return visit


def apply_event(
    actor: User,
    visit_id: int,
    type_: str,
    now: datetime,
    at: datetime | None,
    data: dict[str, Any],
    message: str | None = None,
) -> Visit:
    """Apply an event to a visit in the session, audited, without committing (the caller
    holds the site's write lock: lock_site_for_writing).

    A refusal rolls the session back (with whatever else the caller had in it), records the
    refusal and raises Conflict. `message` names the change for the patient's messages
    (default: the event's type; see patient_messages.visit_changed).
    """
    event_type = _event_type(type_)
    visit = access.get_visit(actor, visit_id)
    access.require(actor, EVENT_PERMISSION[event_type])
    at = now if at is None else at
    # Booking history (booked, rescheduled) is written at the desk's clock, not the patient's.
    history = {str(t) for t in HistoryType}
    previous = max((e.at for e in visit.events if e.type not in history), default=None)
    if error := event_time_error(at, now, previous):
        raise Invalid(error, {"at": [error]})
    ids: Subject = {
        "patient_id": visit.patient_id,
        "object_type": "visit",
        "object_id": visit.id,
        "site_id": visit.site_id,
    }
    try:
        try:
            status = next_status(Status(visit.status), event_type)
        except IllegalTransition as illegal:
            raise Conflict(str(illegal), [Violation(illegal.rule, str(illegal))]) from None
        if outside := window_refusal(event_type, at, visit_window(visit)):
            raise Conflict(outside.message, [outside])
        reason = _required_reason(data) if event_type in NEEDS_REASON else None
        if event_type in REBOOKING:
            booking.rebook(actor, visit, now, allow_past=rebooking_allows_past(event_type))
        payload = APPLY[event_type](visit, at, data, actor)
    except Conflict as refusal:
        db.session.rollback()
        _audit_refused(actor, event_type, now, refusal, ids)
        raise
    if reason is not None:
        payload["reason"] = reason
    was_recovering = visit.status == Status.RECOVERING.value
    visit.status = status.value
    # The scheduler's reconcile and the dashboard's ETag read updated_at: touch it always.
    visit.updated_at = now
    add_event(visit, event_type.value, actor, at, now, payload)
    # An alert whose condition this change ends (extended past it, discharged, cancelled,
    # no-show) is resolved with it. Alarms fire only for recovering visits: skip the rest.
    if was_recovering or status not in ACTIVE:
        extended = event_type is EventType.EXTEND_OBSERVATION
        notifications.resolve_for_visit(visit, now, "extended" if extended else None)
    patient_messages.visit_changed(visit, message or event_type.value, now)
    action = _action(event_type, early="override_reason" in payload)
    audit.record(actor, action, now, detail={"event": event_type.value}, **ids)
    return visit


def visit_window(visit: Visit) -> VisitWindow:
    """Return when a visit may be checked in, started and called a no-show."""
    site = visit.site
    return VisitWindow(
        infusion_start=visit.infusion_start,
        observation_end=visit.observation_end,
        check_in_open_minutes=site.check_in_open_minutes,
        no_show_after_minutes=site.no_show_after_minutes,
        timezone=ZoneInfo(site.timezone),
    )


def _audit_refused(
    actor: User, event_type: EventType, now: datetime, refusal: Conflict, ids: Subject
) -> None:
    """Record a refused event with the rules it broke (after the rollback)."""
    detail: dict[str, Any] = {"event": event_type.value}
    if refusal.reasons:
        detail["rules"] = sorted({str(v.rule) for v in refusal.reasons})
    audit.record_now(actor, _action(event_type), now, outcome="refused", detail=detail, **ids)


def _action(event_type: EventType, early: bool = False) -> str:
    """Return the audit action of an event; an early discharge, or a start without the
    pre-dose checks, is an override of its own."""
    if event_type is EventType.DISCHARGE:
        return "visit.discharge_override" if early else "visit.discharge"
    if event_type is EventType.START_INFUSION and early:
        return "visit.predose_override"
    return f"visit.event.{event_type.value}"


def _event_type(type_: str) -> EventType:
    try:
        return EventType(type_)
    except ValueError:
        raise Invalid("Unknown event type.", {"type": [f"Not one of {_names()}."]}) from None


def _names() -> str:
    return ", ".join(e.value for e in EventType)


def _required_reason(data: dict[str, Any]) -> str:
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("Give a reason.", {"reason": ["Required."]})
    if len(reason) > 500:
        raise Invalid("The reason is too long.", {"reason": ["At most 500 characters."]})
    return reason.strip()


def _check_in(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    visit.checked_in_at = at
    return {}


def _undo_check_in(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    undone = visit.checked_in_at
    visit.checked_in_at = None
    return {"checked_in_at": undone.isoformat() if undone else None}


def _reinstate(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    visit.cancel_reason = None
    return {}


def _cancel(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    visit.cancel_reason = _required_reason(data)
    return {"reason": visit.cancel_reason}


def _no_show(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    return {}


APPLY = {
    EventType.CHECK_IN: _check_in,
    EventType.CANCEL: _cancel,
    EventType.NO_SHOW: _no_show,
    EventType.UNDO_CHECK_IN: _undo_check_in,
    EventType.UNDO_NO_SHOW: _no_show,
    EventType.REINSTATE: _reinstate,
}


def _start_infusion(
    visit: Visit, at: datetime, data: dict[str, Any], actor: User
) -> dict[str, Any]:
    override = data.get("override_reason")
    if override is not None and not isinstance(override, str):
        raise Invalid("The override reason must be text.", {"override_reason": ["Text."]})
    # The screening gate first: no override lifts a missing or unreviewed screen.
    broken = predose_violations(visit, at)
    refusals = screening.screening_violations(visit, at)
    refusals += treatments.with_override(broken, access.can(actor, "override_predose"), override)
    if refusals:
        raise Conflict(" ".join(v.message for v in refusals), refusals)
    visit.infusion_started_at = at
    _count_discharge_due(visit)
    if not broken:
        return {}
    assert override is not None  # with_override let the start go ahead: a practitioner's reason
    # The override is audited as one of its own (_action), as an early discharge is.
    return {"override_reason": override.strip(), "overridden": [str(v.rule) for v in broken]}


def predose_violations(visit: Visit, at: datetime) -> list[Violation]:
    """Return the pre-dose rules a start at `at` breaks: a baseline in the 30 minutes before,
    and the type's blood-pressure limit if it sets one (before any override)."""
    readings = [
        observations.reading_of(o)
        for o in observations.observations_by_visit([visit.id]).get(visit.id, [])
    ]
    type_ = db.session.get(TreatmentType, visit.treatment_type_id)
    limit = None
    if type_ is not None and type_.predose_systolic_max is not None:
        assert type_.predose_diastolic_max is not None  # the pair is set together (a check)
        limit = (type_.predose_systolic_max, type_.predose_diastolic_max)
    return treatments.predose_violations(readings, at, limit)


def _end_infusion(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    visit.infusion_ended_at = at
    _count_discharge_due(visit)
    return {}


def _count_discharge_due(visit: Visit) -> None:
    """Set when discharge is due from the real start and end, as the visit's type counts it.

    Counted from the end (IV): unknown until the infusion ends. Counted from the start
    (esketamine: from the first device): known once it starts, and never before the end.
    """
    counted_from = treatments.ObservationFrom(visit.treatment_type.observation_from)
    started, ended = visit.infusion_started_at, visit.infusion_ended_at
    if ended is None and counted_from is treatments.ObservationFrom.ADMINISTRATION_END:
        return
    started = started or ended
    assert started is not None
    visit.discharge_due_at = treatments.discharge_due_at(
        counted_from, started, ended or started, visit.observation_minutes, visit.extension_minutes
    )


def _extend_observation(
    visit: Visit, at: datetime, data: dict[str, Any], actor: User
) -> dict[str, Any]:
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise Invalid("Extend by 1 to 240 minutes.", {"minutes": ["A whole number, 1-240."]})
    reason = _required_reason(data)
    visit.extension_minutes += minutes
    _count_discharge_due(visit)
    return {"minutes": minutes, "reason": reason}


def _discharge(visit: Visit, at: datetime, data: dict[str, Any], actor: User) -> dict[str, Any]:
    checklist = _checklist(data.get("checklist"))
    override = data.get("override_reason")
    if override is not None and not isinstance(override, str):
        raise Invalid("The override reason must be text.", {"override_reason": ["Text."]})
    assert visit.discharge_due_at is not None
    refusals = discharge.discharge_refusals(
        checklist, at, visit.discharge_due_at, access.can(actor, "discharge_early"), override
    )
    # A REMS session's own gates come first: no role and no override passes them.
    reasons = rems.discharge_refusals(visit, at)
    reasons += [Violation(EventRule.DISCHARGE_NOT_READY, refusal) for refusal in refusals]
    if reasons:
        raise Conflict(" ".join(reason.message for reason in reasons), reasons)
    visit.discharged_at = at
    payload: dict[str, Any] = {"checklist": _checklist_record(checklist, data["checklist"])}
    if discharge.is_early(at, visit.discharge_due_at):
        payload["override_reason"] = (override or "").strip()
    return payload


def _checklist(raw: Any) -> discharge.Checklist:
    """Read the discharge checklist, or raise a 422 naming every missing or ill-typed field."""
    if not isinstance(raw, dict):
        raise Invalid("The discharge checklist is missing.", {"checklist": ["Required."]})
    padss, escort, stable = raw.get("padss"), raw.get("escort_name"), raw.get("vitals_stable")
    phone, items = raw.get("escort_phone"), raw.get("padss_items")
    fields: dict[str, list[str]] = {}
    if isinstance(padss, bool) or not isinstance(padss, int) or not 0 <= padss <= 10:
        fields["checklist.padss"] = ["A whole number, 0-10."]
    if not isinstance(escort, str):
        fields["checklist.escort_name"] = ["Required."]
    if not isinstance(stable, bool):
        fields["checklist.vitals_stable"] = ["true or false."]
    if phone is not None and (not isinstance(phone, str) or len(phone) > MAX_ESCORT_PHONE):
        fields["checklist.escort_phone"] = [f"Text of at most {MAX_ESCORT_PHONE} characters."]
    if items is not None:
        if not isinstance(items, dict):
            fields["checklist.padss_items"] = ["An object: item -> 0-2."]
        else:
            for item, errors in discharge.padss_errors(items).items():
                fields[f"checklist.padss_items.{item}"] = errors
            if not fields and discharge.padss_total(items) != padss:
                total = discharge.padss_total(items)
                fields["checklist.padss"] = [f"Does not match the PADSS items (total {total})."]
    if fields:
        raise Invalid("The discharge checklist is incomplete.", fields)
    # Each check above names its field in `fields`: what is left is well typed.
    assert isinstance(padss, int) and isinstance(escort, str) and isinstance(stable, bool)
    return discharge.Checklist(
        padss=padss,
        escort_name=escort.strip(),
        vitals_stable=stable,
        escort_phone=phone.strip() if phone else None,
    )


def _checklist_record(checklist: discharge.Checklist, raw: dict[str, Any]) -> dict[str, Any]:
    """Return the checklist as the discharge event keeps it (optional parts only if given)."""
    record: dict[str, Any] = {
        "padss": checklist.padss,
        "escort_name": checklist.escort_name,
        "vitals_stable": checklist.vitals_stable,
    }
    if checklist.escort_phone:
        record["escort_phone"] = checklist.escort_phone
    if raw.get("padss_items") is not None:
        record["padss_items"] = {item: raw["padss_items"][item] for item in discharge.PADSS_ITEMS}
    return record


APPLY.update(
    {
        EventType.START_INFUSION: _start_infusion,
        EventType.END_INFUSION: _end_infusion,
        EventType.EXTEND_OBSERVATION: _extend_observation,
        EventType.DISCHARGE: _discharge,
    }
)
