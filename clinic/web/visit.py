"""The visit page: who, where, when, the timeline, and the desk's actions on the visit."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from clinic.domain.visits import EventType, Status, allowed_events, window_refusal
from clinic.models import Visit
from clinic.services import (
    access,
    audit,
    booking,
    courses,
    events,
    patient_messages,
    screening,
    waitlist,
)
from clinic.services import frontdesk as desk
from clinic.services.errors import Conflict, Invalid
from clinic.services.timeline import event_lines, load_history, merged, reading_lines
from clinic.types import utcnow
from clinic.web.booking import alternative_groups, apply_field_errors
from clinic.web.charts import FLAG_LABELS, vitals_chart
from clinic.web.dates import hm, when
from clinic.web.forms import CancelForm, RescheduleForm, UndoForm
from clinic.web.frontdesk import administration_word, bp, local
from clinic.web.nursing import clinical_actions, dialog_forms
from clinic.web.rems_pages import panel_context
from clinic.web.roles import role_required

# Undo event -> (endpoint, title, what it does, button, done message).
UNDO = {
    EventType.UNDO_CHECK_IN: (
        "frontdesk.undo_check_in",
        "Undo check-in",
        "Back to booked, before the infusion starts.",
        "Undo check-in",
        "Check-in undone: the visit is booked again.",
    ),
    EventType.UNDO_NO_SHOW: (
        "frontdesk.undo_no_show",
        "Undo no-show",
        "Back to booked on the visit's day, if its chair is still free under every rule.",
        "Undo no-show",
        "No-show undone: the visit is booked again.",
    ),
    EventType.REINSTATE: (
        "frontdesk.reinstate",
        "Reinstate",
        "Book the visit again as it was, if every booking rule still allows it.",
        "Reinstate visit",
        "Visit reinstated: it is booked again.",
    ),
}


def _when(instant: datetime, tz: ZoneInfo, day: date) -> str:
    """Format an instant as local HH:MM, with its date when it is not the visit's day."""
    return hm(instant, tz) if instant.astimezone(tz).date() == day else when(instant, tz)


def _timeline(lines: list, tz: ZoneInfo, day: date) -> list[dict]:
    """Lay out the timeline's lines (events and readings) with times as the desk reads them."""
    return [
        {
            "type": line.type,
            "label": line.label,
            "at": _when(line.at, tz, day),
            "by": line.by or "system",
            "late": line.late,
            "recorded": _when(line.recorded_at, tz, day) if line.late else "",
            "detail": line.detail,
            "effects": getattr(line, "effects", ""),
            "note": getattr(line, "note", ""),
            "flags": [(flag, FLAG_LABELS.get(flag, flag)) for flag in getattr(line, "flags", [])],
        }
        for line in lines
    ]


def _not_yet(visit: Visit, allowed: set[str], now: datetime) -> dict[str, str]:
    """Return why check-in or no-show would be refused now, by event, for the buttons."""
    window = events.visit_window(visit)
    found = {}
    for event in (EventType.CHECK_IN, EventType.NO_SHOW):
        refusal = window_refusal(event, now, window) if event.value in allowed else None
        if refusal is not None:
            found[event.value] = refusal.message
    return found


def _visit_page(visit_id: int, **forms):
    """Render a visit with its timeline, chart, and the actions its status and the role allow."""
    history = load_history(current_user, visit_id)
    visit, readings = history.visit, history.readings
    now = utcnow()
    site = visit.site
    tz = ZoneInfo(site.timezone)
    can_act = access.can(current_user, "book")
    allowed = {e.value for e in allowed_events(Status(visit.status))} if can_act else set()
    undo = next((event for event in UNDO if event.value in allowed), None)
    reschedule = forms.get("reschedule")
    if reschedule is None:
        reschedule = RescheduleForm(formdata=None)
        local_start = visit.infusion_start.astimezone(tz)
        reschedule.date.data = local_start.date()
        reschedule.time.data = local_start.time().replace(second=0, microsecond=0)
        reschedule.chair_id.data = visit.chair_id
        reschedule.infusion_minutes.data = visit.infusion_minutes
        reschedule.observation_minutes.data = visit.observation_minutes
    chairs = desk.site_chairs(site)
    reschedule.offer(site, chairs)
    day = visit.infusion_start.astimezone(tz).date()
    freed_at, freed_matches = (
        waitlist.matches_for_freed(current_user, visit, now) if can_act else (None, [])
    )
    return render_template(
        "frontdesk/visit.html",
        freed_at=freed_at,
        freed_matches=freed_matches,
        visit=visit,
        course=courses.course_for_visit(visit),
        patient=visit.patient,
        messages=patient_messages.visit_messages(current_user, visit.id),
        site=site,
        tz=tz,
        day=day,
        timeline=_timeline(
            merged(
                event_lines(history.events, tz, {chair.id: chair.name for chair in site.chairs}),
                reading_lines(readings),
            ),
            tz,
            day,
        ),
        chart=vitals_chart(
            readings,
            tz,
            infusion=(visit.infusion_started_at, visit.infusion_ended_at),
            discharge_due_at=visit.discharge_due_at,
            now=now,
            band=administration_word(visit.treatment_type).capitalize(),
        ),
        readings=readings,
        nursing_actions=clinical_actions(visit),
        **dialog_forms(),
        can_act=can_act,
        can_reschedule=can_act and visit.status == Status.BOOKED.value,
        can_check_in=EventType.CHECK_IN.value in allowed,
        can_cancel=EventType.CANCEL.value in allowed,
        can_no_show=EventType.NO_SHOW.value in allowed,
        not_yet=_not_yet(visit, allowed, now),
        reschedule_form=reschedule,
        cancel_form=forms.get("cancel") or CancelForm(formdata=None),
        undo=_undo_view(undo) if undo else None,
        undo_form=forms.get("undo") or UndoForm(formdata=None, prefix="undo"),
        reasons=forms.get("reasons", []),
        alternatives=forms.get("alternatives"),
        **panel_context(visit),
    )


@bp.route("/visits/<int:visit_id>")
@login_required
def visit(visit_id: int):
    """Show a visit: who, where, when, what happened, and what can be done next."""
    page = _visit_page(visit_id)
    shown = access.get_visit(current_user, visit_id)
    audit.viewed(
        current_user, shown.patient_id, "visit", shown.id, now=utcnow(), site_id=shown.site_id
    )
    return page


@bp.route("/visits/<int:visit_id>/reschedule", methods=["POST"])
@role_required("book")
def reschedule(visit_id: int):
    """Move a booked visit; show every broken rule if it cannot go there."""
    visit = access.get_visit(current_user, visit_id)
    site = visit.site
    form = RescheduleForm(formdata=_with_chosen_slot(request.form))
    form.offer(site, desk.site_chairs(site))
    if not form.validate_on_submit():
        return _visit_page(visit_id, reschedule=form)
    changes = {
        "infusion_start": local(site, form.date.data, form.time.data),
        "chair_id": form.chair_id.data,
        "infusion_minutes": form.infusion_minutes.data,
        "observation_minutes": form.observation_minutes.data,
    }
    try:
        booking.reschedule(current_user, visit_id, changes, now=utcnow())
    except Conflict as refusal:
        reasons = [v.message for v in refusal.reasons] or [refusal.message]
        closest = None
        if refusal.reasons:
            req = booking.Request(patient_id=visit.patient_id, site_id=site.id, **changes)
            closest = alternative_groups(site, req, exclude_visit_id=visit.id)
        return _visit_page(visit_id, reschedule=form, reasons=reasons, alternatives=closest)
    except Invalid as error:
        loose = apply_field_errors(form, error)
        return _visit_page(visit_id, reschedule=form, reasons=loose)
    flash("Visit rescheduled.", "success")
    return redirect(url_for("frontdesk.visit", visit_id=visit_id))


def _undo_view(event: EventType) -> dict:
    """Return what the visit page shows for the one undo its status allows."""
    endpoint, title, help_, button, _ = UNDO[event]
    return {"endpoint": endpoint, "title": title, "help": help_, "button": button}


def _with_chosen_slot(formdata):
    """Return the reschedule form's data, with date, time and chair from a chosen
    alternative ("YYYY-MM-DD HH:MM CHAIR") when the clerk picked one."""
    chosen = re.fullmatch(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d) (\d{1,10})", formdata.get("slot", ""))
    if chosen is None:
        return formdata
    data = formdata.copy()
    data["date"], data["time"], data["chair_id"] = chosen.groups()
    return data


def _record(visit_id: int, event: str, done: str, **data):
    """Record a desk event on a visit; a refusal becomes a message, never an error page."""
    try:
        events.record_event(current_user, visit_id, event, now=utcnow(), **data)
    except Conflict as refusal:
        reasons = [v.message for v in refusal.reasons if v.message != refusal.message]
        flash(" ".join([refusal.message, *reasons]), "danger")
    except Invalid as refusal:
        flash(refusal.message, "danger")
    else:
        flash(done, "success")
    return redirect(url_for("frontdesk.visit", visit_id=visit_id))


@bp.route("/visits/<int:visit_id>/check-in", methods=["POST"])
@role_required("book")
def check_in(visit_id: int):
    """Check the patient in."""
    return _record(visit_id, EventType.CHECK_IN.value, "Checked in.")


@bp.route("/visits/<int:visit_id>/no-show", methods=["POST"])
@role_required("book")
def no_show(visit_id: int):
    """Mark the visit as a no-show; its chair is free again."""
    return _record(visit_id, EventType.NO_SHOW.value, "Marked as no-show; the chair is free.")


@bp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@role_required("book")
def cancel(visit_id: int):
    """Cancel the visit with a reason; its chair is free again."""
    access.get_visit(current_user, visit_id)  # 404 before any form error for a foreign visit
    form = CancelForm()
    if not form.validate_on_submit() or not form.reason.data.strip():
        if not form.reason.errors:
            form.reason.errors = ["Give a reason for cancelling."]
        return _visit_page(visit_id, cancel=form)
    return _record(
        visit_id,
        EventType.CANCEL.value,
        "Visit cancelled; the chair is free.",
        reason=form.reason.data,
    )


def _undo(visit_id: int, event: EventType):
    """Record an undo with its reason; without one, show the form again with the message."""
    access.get_visit(current_user, visit_id)  # 404 before any form error for a foreign visit
    form = UndoForm(prefix="undo")
    if not form.validate_on_submit() or not form.reason.data.strip():
        if not form.reason.errors:
            form.reason.errors = ["Give a reason."]
        return _visit_page(visit_id, undo=form)
    return _record(visit_id, event.value, UNDO[event][4], reason=form.reason.data)


@bp.route("/visits/<int:visit_id>/undo-check-in", methods=["POST"])
@role_required("book")
def undo_check_in(visit_id: int):
    """Put a checked-in visit back to booked (before the infusion starts), with a reason."""
    return _undo(visit_id, EventType.UNDO_CHECK_IN)


@bp.route("/visits/<int:visit_id>/undo-no-show", methods=["POST"])
@role_required("book")
def undo_no_show(visit_id: int):
    """Put a no-show back to booked on its day, if every booking rule allows, with a reason."""
    return _undo(visit_id, EventType.UNDO_NO_SHOW)


@bp.route("/visits/<int:visit_id>/reinstate", methods=["POST"])
@role_required("book")
def reinstate(visit_id: int):
    """Book a cancelled visit again as it was, if every booking rule allows, with a reason."""
    return _undo(visit_id, EventType.REINSTATE)


@bp.route("/visits/<int:visit_id>/kiosk-link", methods=["POST"])
@role_required("clinical")
def kiosk_link(visit_id: int):
    """Make the visit's kiosk link for the tablet and show it once (only its digest is kept)."""
    now = utcnow()
    try:
        link, token = screening.create_kiosk_link(current_user, visit_id, now)
    except Conflict as refusal:
        flash(refusal.message, "danger")
        return redirect(url_for("frontdesk.visit", visit_id=visit_id))
    visit = link.visit
    html = render_template(
        "frontdesk/kiosk_link.html",
        visit=visit,
        url=url_for("kiosk.page", token=token, _external=True),
        expires_at=link.expires_at,
        tz=ZoneInfo(visit.site.timezone),
    )
    return html, 200, {"Cache-Control": "no-store"}
