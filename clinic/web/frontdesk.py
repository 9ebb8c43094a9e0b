"""Front desk: the day board, its print view, booking, and the visit page."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from clinic.domain.visits import (
    EventType,
    Status,
    allowed_events,
    is_late_entry,
    window_refusal,
)
from clinic.models import Site, Visit
from clinic.services import access, alternatives, audit, booking, events
from clinic.services import frontdesk as desk
from clinic.services.dashboard import load_dashboard
from clinic.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from clinic.services.observations import list_observations
from clinic.services.sites import today
from clinic.services.timeline import EventLine, event_lines
from clinic.types import utcnow
from clinic.web.api.parsing import encodable
from clinic.web.board import lay_out, status_counts
from clinic.web.charts import FLAG_LABELS, vitals_chart
from clinic.web.dates import day as day_label
from clinic.web.dates import hm, when
from clinic.web.forms import ANY_CHAIR, BookingForm, CancelForm, RescheduleForm, UndoForm
from clinic.web.nursing import clinical_actions, dialog_forms
from clinic.web.pages import chosen_site, parse_id
from clinic.web.roles import role_required

bp = Blueprint("frontdesk", __name__)

SLOT_COUNT = 8
SLOT_DAYS = 14  # how far the "next free slots" panel looks ahead
SEARCH_LIMIT = 10
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
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    """Return a visit status as the desk says it."""
    return Status.label_of(status)


# ---------------------------------------------------------------- parsing


def _parse_day(raw: str | None) -> date | None:
    """Read a YYYY-MM-DD query value; None when absent or not a plausible date."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _parse_time(raw: str | None) -> time | None:
    """Read an HH:MM query value as a time of day; None when absent or malformed."""
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", (raw or "").strip())
    return time(int(match[1]), int(match[2])) if match else None


def _chair_names(site: Site) -> dict[int, str]:
    """Return every chair and bay name of a site by id (inactive ones too)."""
    return {chair.id: chair.name for chair in site.chairs}


def _chosen_day(site: Site) -> date:
    """Return the day named by ?date=, or the site's today (with a note if it was bad)."""
    raw = request.args.get("date")
    day = _parse_day(raw)
    if raw and day is None:
        flash("That is not a date (use YYYY-MM-DD); showing today.", "warning")
    return day or today(site, utcnow())


def _local(site: Site, day: date, at) -> datetime:
    """Return the aware instant of a wall-clock time at a site."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(site.timezone))


# ---------------------------------------------------------------- the day board


@bp.route("/")
@login_required
def board():
    """Show one site-local day: chairs and bays by time, every visit as blocks."""
    sites = desk.visible_sites(current_user)
    site = chosen_site(sites)
    if site is None:
        return render_template("frontdesk/no_site.html")
    day = _chosen_day(site)
    loaded = desk.load_day(current_user, site.id, day)
    now = utcnow()
    bookable = access.can(current_user, "book")
    return render_template(
        "frontdesk/board.html",
        overruns=_overruns(site, now, tz=loaded.tz),
        sites=sites,
        site=site,
        day=day,
        today=today(site, now),
        loaded=loaded,
        board=lay_out(loaded, now, bookable),
        counts=status_counts(loaded.visits),
        bookable=bookable,
        tz=loaded.tz,
    )


def _overruns(site: Site, now: datetime, tz: ZoneInfo) -> dict[int, str]:
    """Return visit id -> a warning, for each visit in care now that runs into its chair's or
    bay's next booking (the dashboard's computation)."""
    warnings: dict[int, str] = {}
    for row in load_dashboard(current_user, site.id, now).rows:
        parts = []
        if row.chair_clash_minutes and row.next_chair_booking:
            at = hm(row.next_chair_booking.starts_at, tz)
            parts.append(
                f"Running {row.chair_clash_minutes} min over: {row.chair}'s next patient at "
                f"{at} is affected."
            )
        if row.bay_clash_minutes and row.next_bay_booking:
            at = hm(row.next_bay_booking.starts_at, tz)
            parts.append(
                f"Running {row.bay_clash_minutes} min over: {row.recovery_chair}'s next patient "
                f"at {at} is affected."
            )
        if parts:
            warnings[row.visit.id] = " ".join(parts)
    return warnings


@bp.route("/print")
@login_required
def print_day():
    """Show a printable list of the day's visits by chair and time."""
    sites = desk.visible_sites(current_user)
    site = chosen_site(sites)
    if site is None:
        return render_template("frontdesk/no_site.html")
    day = _chosen_day(site)
    loaded = desk.load_day(current_user, site.id, day)
    shown = [visit.patient_id for visit in loaded.visits]
    audit.listed(current_user, "visit.list", site.id, shown, {"view": "print", "date": day})
    names = {chair.id: chair.name for chair in loaded.chairs + loaded.bays}
    by_chair: dict[int, list[Visit]] = {chair.id: [] for chair in loaded.chairs}
    for visit in loaded.visits:
        by_chair.setdefault(visit.chair_id, []).append(visit)
    return render_template(
        "frontdesk/print.html",
        site=site,
        day=day,
        loaded=loaded,
        by_chair=[(names.get(cid, f"Chair {cid}"), vs) for cid, vs in by_chair.items()],
        names=names,
        tz=loaded.tz,
        printed_at=utcnow(),
    )


# ---------------------------------------------------------------- booking


def _prefill(form: BookingForm, sites: list[Site], chairs) -> None:
    """Fill an unsent booking form from the query string and the site's defaults."""
    chair_id = parse_id(request.args.get("chair_id"))
    chair = next((c for c in chairs if c.id == chair_id), None)
    site = next((s for s in sites if chair and s.id == chair.site_id), None)
    site_id = parse_id(request.args.get("site_id"))
    site = site or next((s for s in sites if s.id == site_id), sites[0])
    form.site_id.data = site.id
    form.chair_id.data = chair.id if chair else ANY_CHAIR
    form.date.data = _parse_day(request.args.get("date")) or today(site, utcnow())
    form.time.data = _parse_time(request.args.get("time"))
    form.infusion_minutes.data = site.infusion_default
    form.observation_minutes.data = site.observation_default
    patient_id = parse_id(request.args.get("patient_id"))
    form.patient_id.data = str(patient_id) if patient_id else ""


def _selected_patient(form: BookingForm):
    """Return the patient the form names, if the user may see them."""
    raw = (form.patient_id.data or "").strip()
    if not raw.isdigit():
        return None
    try:
        return access.get_patient(current_user, int(raw))
    except NotFound:
        return None


def _apply_field_errors(form, error: Invalid) -> list[str]:
    """Put a service's field errors beside the form's fields; return the ones with no field."""
    loose = []
    for name, messages in error.fields.items():
        field = form._fields.get({"infusion_start": "time"}.get(name, name))
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            loose.extend(messages)
    return loose or ([error.message] if not error.fields else [])


def _next_slots(site: Site, day: date, infusion, observation) -> list[dict]:
    """Return the next free start times from a day on, each with the chairs free then."""
    now = utcnow()
    first = max(day, today(site, now))
    chairs = desk.site_chairs(site)
    names = {chair.id: chair.name for chair in chairs}
    # Enough single-chair slots to fill SLOT_COUNT distinct times even when every chair is free.
    limit = SLOT_COUNT * max(1, len(chairs))
    try:
        found = booking.slots(
            current_user, site.id, first, SLOT_DAYS, infusion, observation, limit, now
        )
    except Invalid:  # minutes out of the site's range: show the defaults' slots
        found = booking.slots(current_user, site.id, first, SLOT_DAYS, None, None, limit, now)
    return _slot_groups(site, found, names)


def _slot_groups(site: Site, found, names: dict[int, str]) -> list[dict]:
    """Group slots by start, in their order, at most SLOT_COUNT starts, each with its chairs."""
    tz = ZoneInfo(site.timezone)
    groups: dict[datetime, dict] = {}
    for slot in found:
        group = groups.get(slot.infusion_start)
        if group is None:
            if len(groups) == SLOT_COUNT:
                break
            start = slot.infusion_start.astimezone(tz)
            group = groups[slot.infusion_start] = {
                "date": start.date().isoformat(),
                "time": hm(start, tz),
                "day_label": day_label(start, tz),
                "until": hm(slot.observation_end, tz),
                "chairs": [],
            }
        group["chairs"].append(
            {"id": slot.chair_id, "name": names.get(slot.chair_id, f"Chair {slot.chair_id}")}
        )
    return list(groups.values())


def _alternative_groups(site: Site, req: booking.Request, exclude_visit_id=None) -> list[dict]:
    """Return the free slots closest to a refused request, grouped by start."""
    found = alternatives.suggest(
        current_user, req, utcnow(), exclude_visit_id=exclude_visit_id, max_starts=SLOT_COUNT
    )
    return _slot_groups(site, found, {c.id: c.name for c in desk.site_chairs(site)})


@bp.route("/book", methods=["GET", "POST"])
@role_required("book")
def book():
    """Show the booking form; book the visit under every rule."""
    sites = desk.visible_sites(current_user)
    if not sites:
        return render_template("frontdesk/no_site.html")
    chairs = desk.chairs_of_sites(sites)
    form = BookingForm()
    form.offer(sites, chairs)
    if request.method == "GET":
        _prefill(form, sites, chairs)
    reasons: list[str] = []
    closest: list[dict] | None = None  # alternatives to a refused request
    # A refused or invalid form re-renders with 200, as a browser expects from a form page.
    if len(sites) == 1:
        form.site_id.data = sites[0].id
    if form.validate_on_submit():
        chair = next((c for c in chairs if c.id == form.chair_id.data), None)
        site = next(s for s in sites if s.id == (chair.site_id if chair else form.site_id.data))
        patient = _selected_patient(form)
        if patient is None:
            form.patient_id.errors = ["No such patient at your sites: search again."]
        else:
            req = booking.Request(
                patient_id=patient.id,
                infusion_start=_local(site, form.date.data, form.time.data),
                site_id=site.id,
                chair_id=chair.id if chair else None,
                infusion_minutes=form.infusion_minutes.data,
                observation_minutes=form.observation_minutes.data,
                notes=(form.notes.data or "").strip(),
            )
            try:
                visit, _ = booking.book(current_user, req, now=utcnow())
            except Conflict as refusal:
                reasons = [v.message for v in refusal.reasons] or [refusal.message]
                if refusal.reasons:
                    closest = _alternative_groups(site, req)
            except Invalid as error:
                reasons = _apply_field_errors(form, error)
            except (NotFound, Forbidden):
                raise
            except ServiceError as error:
                reasons = [error.message]
            else:
                tz = ZoneInfo(site.timezone)
                flash(
                    f"Booked {patient.initials} on {day_label(visit.infusion_start, tz)} at "
                    f"{hm(visit.infusion_start, tz)} in {visit.chair.name}.",
                    "success",
                )
                return redirect(url_for("frontdesk.visit", visit_id=visit.id))
    site = next((s for s in sites if s.id == form.site_id.data), sites[0])
    if closest is None:
        slots = _next_slots(
            site,
            form.date.data or today(site, utcnow()),
            form.infusion_minutes.data if isinstance(form.infusion_minutes.data, int) else None,
            form.observation_minutes.data
            if isinstance(form.observation_minutes.data, int)
            else None,
        )
    patient = _selected_patient(form)
    if patient is not None:  # the form shows the patient's name and MRN
        audit.viewed(current_user, patient.id, "patient", patient.id, {"page": "book"})
    return render_template(
        "frontdesk/book.html",
        form=form,
        sites=sites,
        site=site,
        patient=patient,
        reasons=reasons,
        slots=slots if closest is None else closest,
        closest=closest is not None,
    )


@bp.route("/book/slots")
@role_required("book")
def book_slots():
    """Answer the next free slots for the booking form (JSON; no patient data in the URL)."""
    sites = desk.visible_sites(current_user)
    site_id = parse_id(request.args.get("site_id"))
    site = next((s for s in sites if s.id == site_id), None)
    if site is None:
        return jsonify(error="not_found", message="No such site.", fields={}), 404
    day = _parse_day(request.args.get("date")) or today(site, utcnow())
    infusion = parse_id(request.args.get("infusion_minutes"))
    observation = parse_id(request.args.get("observation_minutes"))
    return jsonify(slots=_next_slots(site, day, infusion, observation))


@bp.route("/book/patients", methods=["POST"])
@role_required("book")
def patient_search():
    """Find patients for the booking form; the query travels in the body, never the URL."""
    body = request.get_json(silent=True)
    query = body.get("q") if isinstance(body, dict) else None
    if not isinstance(query, str) or len(query) > 100 or "\x00" in query or not encodable(query):
        return jsonify(error="bad_request", message='Send {"q": text}.', fields={}), 400
    if not query.strip():
        return jsonify(patients=[])
    sites = desk.visible_sites(current_user)
    on = today(sites[0], utcnow()) if sites else utcnow().date()
    matches = desk.find_patients(current_user, query, on, SEARCH_LIMIT)
    return jsonify(
        patients=[
            {
                "id": m.patient.id,
                "name": m.patient.full_name,
                "mrn": m.patient.mrn,
                "birth_date": m.patient.birth_date.isoformat(),
                "cleared_until": m.cleared_until.isoformat() if m.cleared_until else None,
                "site_id": m.patient.site_id,
            }
            for m in matches
        ]
    )


# ---------------------------------------------------------------- the visit page


def _when(instant: datetime, tz: ZoneInfo, day: date) -> str:
    """Format an instant as local HH:MM, with its date when it is not the visit's day."""
    return hm(instant, tz) if instant.astimezone(tz).date() == day else when(instant, tz)


def _timeline(lines: list[EventLine], tz: ZoneInfo, day: date) -> list[dict]:
    """Lay out the timeline's event lines for the visit page, times as the desk reads them."""
    return [
        {
            "type": line.type,
            "label": line.label,
            "instant": line.at,
            "at": _when(line.at, tz, day),
            "by": line.by or "system",
            "late": line.late,
            "recorded": _when(line.recorded_at, tz, day) if line.late else "",
            "detail": line.detail,
        }
        for line in lines
    ]


def _reading_entries(readings, tz: ZoneInfo, day: date) -> list[dict]:
    """Describe each reading for the visit page's timeline: values, side effects, flags."""
    entries = []
    for reading in readings:
        values = f"BP {reading.systolic}/{reading.diastolic} · HR {reading.heart_rate}"
        values += f" · SpO₂ {reading.spo2} %"
        if reading.respiratory_rate is not None:
            values += f" · RR {reading.respiratory_rate}"
        effects = [
            f"{label} {score}/{high}"
            for label, score, high in (
                ("Dissociation", reading.dissociation, 4),
                ("Nausea", reading.nausea, 3),
                ("Dizziness", reading.dizziness, 3),
            )
            if score is not None
        ]
        late = is_late_entry(reading.at, reading.recorded_at)
        entries.append(
            {
                "type": "reading",
                "label": "Vital signs",
                "instant": reading.at,
                "at": _when(reading.at, tz, day),
                "by": reading.by.name if reading.by else "system",
                "late": late,
                "recorded": _when(reading.recorded_at, tz, day) if late else "",
                "detail": values,
                "effects": " · ".join(effects),
                "note": reading.note or "",
                "flags": [(flag, FLAG_LABELS.get(flag, flag)) for flag in reading.flags or []],
            }
        )
    return entries


def _merged_timeline(events_: list[dict], readings: list[dict]) -> list[dict]:
    """Merge events and readings in the order they happened (an event first on a tie)."""
    tagged = [(e["instant"], 0, i, e) for i, e in enumerate(events_)]
    tagged += [(r["instant"], 1, i, r) for i, r in enumerate(readings)]
    return [entry for *_, entry in sorted(tagged, key=lambda t: t[:3])]


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
    visit, events_ = desk.visit_record(current_user, visit_id)
    readings = list_observations(current_user, visit.id)
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
    return render_template(
        "frontdesk/visit.html",
        visit=visit,
        patient=visit.patient,
        site=site,
        tz=tz,
        day=day,
        timeline=_merged_timeline(
            _timeline(event_lines(events_, tz, _chair_names(site)), tz, day),
            _reading_entries(readings, tz, day),
        ),
        chart=vitals_chart(
            readings,
            tz,
            infusion=(visit.infusion_started_at, visit.infusion_ended_at),
            discharge_due_at=visit.discharge_due_at,
            now=now,
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
    )


@bp.route("/visits/<int:visit_id>")
@login_required
def visit(visit_id: int):
    """Show a visit: who, where, when, what happened, and what can be done next."""
    page = _visit_page(visit_id)
    shown = access.get_visit(current_user, visit_id)
    audit.viewed(current_user, shown.patient_id, "visit", shown.id)
    return page


@bp.route("/visits/<int:visit_id>/reschedule", methods=["POST"])
@role_required("book")
def reschedule(visit_id: int):
    """Move a booked visit; show every broken rule if it cannot go there."""
    visit, _ = desk.visit_record(current_user, visit_id)
    site = visit.site
    form = RescheduleForm(formdata=_with_chosen_slot(request.form))
    form.offer(site, desk.site_chairs(site))
    if not form.validate_on_submit():
        return _visit_page(visit_id, reschedule=form)
    changes = {
        "infusion_start": _local(site, form.date.data, form.time.data),
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
            closest = _alternative_groups(site, req, exclude_visit_id=visit.id)
        return _visit_page(visit_id, reschedule=form, reasons=reasons, alternatives=closest)
    except Invalid as error:
        loose = _apply_field_errors(form, error)
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
    desk.visit_record(current_user, visit_id)  # 404 before any form error for a foreign visit
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
    desk.visit_record(current_user, visit_id)  # 404 before any form error for a foreign visit
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
