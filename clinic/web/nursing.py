"""Nursing: the live recovery dashboard, its JSON feed, the clinical dialogs, the record.

The dialogs post WTForms forms with fetch and get JSON back: {"ok": true, "message"} or
{"errors": {field: [...]}, "message"} with a 4xx status, which the dialog shows in place.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, jsonify, render_template, request
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from clinic.domain.discharge import PADSS_ITEMS, PADSS_PASS, padss_total
from clinic.domain.visits import EventType, Status, allowed_events
from clinic.extensions import db
from clinic.models import Site, Visit
from clinic.services import access, audit, events, observations
from clinic.services import frontdesk as desk
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.services.discharge_record import discharge_record
from clinic.services.errors import Conflict, Invalid, NotFound, ServiceError
from clinic.types import utcnow
from clinic.web.alerts import wall_alerts
from clinic.web.api.dashboard import conditional_json, dashboard_json, etag_of
from clinic.web.api.serialize import instant
from clinic.web.charts import FLAG_LABELS, vitals_chart
from clinic.web.nursing_forms import (
    PADSS_LABELS,
    SIDE_EFFECTS,
    DischargeForm,
    EventForm,
    ExtendForm,
    VitalsForm,
)
from clinic.web.pages import MAX_ID, chosen_site, parse_id

bp = Blueprint("nursing", __name__)

# Endpoints that answer JSON, errors included (the pages answer HTML error pages).
JSON_ENDPOINTS = frozenset({"nursing.feed", "nursing.discharge_prefill"})
# A form's "time, if not now" a little ahead of the clock is today; further ahead, yesterday.
FUTURE_SLACK = timedelta(minutes=2)


# ---------------------------------------------------------------- errors as JSON


def _wants_json() -> bool:
    return request.method != "GET" or request.endpoint in JSON_ENDPOINTS


def json_error(status: int, message: str, errors: dict[str, list[str]] | None = None):
    """Answer a dialog's or the feed's refusal: {"errors": {field: [...]}, "message"}."""
    return jsonify(ok=False, errors=errors or {}, message=message), status


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Answer a service's refusal as JSON for the dialogs and the feed, a page otherwise."""
    db.session.rollback()
    if _wants_json():
        return json_error(error.status, error.message, error.fields)
    return render_template("error.html", status=error.status, message=error.message), (error.status)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Answer a CSRF failure, 403 or 404 as JSON for the dialogs and the feed."""
    if _wants_json():
        message = {
            400: "The form has expired: reload the page and try again.",
            403: "Your role may not do this.",
            404: "No such visit.",
        }.get(error.code or 400, error.description or "Refused.")
        return json_error(error.code or 400, message)
    return render_template("error.html", status=error.code, message=None), error.code


# ---------------------------------------------------------------- the dashboard


def feed_json(board: Dashboard, wall: bool, viewer) -> dict[str, Any]:
    """Return the dashboard's JSON (the API's builder) with what the page needs besides.

    The wall display (no one signed in at it, or no one watching the alerts banner) gets the
    site's open discharge alerts in the same feed: chair and initials only.
    """
    body = dashboard_json(board)
    body["timezone"] = board.site.timezone
    if wall:
        # The wall display shows no notes: strip them before they leave the server.
        for visit in body["visits"]:
            if visit["latest_observation"]:
                visit["latest_observation"]["note"] = ""
        body["wall_alerts"] = wall_alerts(viewer, board.site.id)
    return body


@bp.get("/recovery")
@login_required
def dashboard():
    """Show every patient of a site in the clinic's care, live."""
    sites = desk.visible_sites(current_user)
    site = chosen_site(sites)
    if site is None:
        return render_template("frontdesk/no_site.html")
    wall = request.args.get("wall") == "1"
    board = load_dashboard(current_user, site.id, utcnow())
    body = feed_json(board, wall, current_user)
    shown = _patient_ids(board)
    page = render_template(
        "nursing/dashboard.html",
        sites=sites,
        site=site,
        board=board,
        tz=ZoneInfo(site.timezone),
        wall=wall,
        feed=body,
        etag=etag_of(body),
        can_clinical=access.can(current_user, "clinical"),
        can_override=access.can(current_user, "discharge_early"),
        **dialog_forms(),
    )
    _audit_view(site.id, shown)  # after rendering: the write's commit expires the board
    return page


@bp.get("/recovery/feed")
def feed():
    """Answer the dashboard as JSON with an ETag (304 while nothing has changed)."""
    # A plain GET: no session refresh of its own (a later issue adds idle timeouts).
    if not current_user.is_authenticated:
        return json_error(401, "Signed out: sign in again.")
    raw = request.args.get("site_id")
    site_id = parse_id(raw)
    if raw and site_id is None:
        abort(404)
    board = load_dashboard(current_user, site_id, utcnow())
    body = feed_json(board, request.args.get("wall") == "1", current_user)
    _audit_view(board.site.id, _patient_ids(board))
    return conditional_json(body)


def _patient_ids(board: Dashboard) -> list[int]:
    return [row.visit.patient_id for row in board.rows]


def _audit_view(site_id: int, shown: list[int]) -> None:
    """Audit the patients the dashboard shows: once per session and site, not every poll."""
    session = g.get("auth_session")
    if session is None:  # every signed-in page has one; audit each view if not
        audit.listed(current_user, "dashboard.view", site_id, shown, {"view": "page"}, now=utcnow())
        return
    audit.dashboard_seen(current_user, site_id, shown, session.id, session.created_at, now=utcnow())


# ---------------------------------------------------------------- the dialogs


def dialog_forms() -> dict[str, Any]:
    """Return the dialogs' empty forms and the labels their templates show."""
    return {
        "event_form": EventForm(formdata=None),
        "vitals_form": VitalsForm(formdata=None),
        "extend_form": ExtendForm(formdata=None),
        "discharge_form": DischargeForm(formdata=None),
        "padss_labels": PADSS_LABELS,
        "padss_pass": PADSS_PASS,
        "side_effects": SIDE_EFFECTS,
    }


def clinical_actions(visit: Visit) -> list[str]:
    """List the dialogs the user may open on a visit now, in the order of the day."""
    if not access.can(current_user, "clinical"):
        return []
    allowed = set(allowed_events(Status(visit.status)))
    actions = []
    if EventType.START_INFUSION in allowed:
        actions.append("start_infusion")
    if EventType.END_INFUSION in allowed:
        actions.append("end_infusion")
    if visit.status in observations.OBSERVABLE:
        actions.append("vitals")
    if EventType.EXTEND_OBSERVATION in allowed:
        actions.append("extend")
    if EventType.DISCHARGE in allowed:
        actions.append("discharge")
    return actions


def _visit_id(visit_id: int) -> int:
    """Answer 404 for ids no row can have (the URL converter takes any size)."""
    if not 1 <= visit_id <= MAX_ID:
        raise NotFound("visit")
    return visit_id


def _clinical_visit(visit_id: int) -> Visit:
    """Load a visit of the user's sites (404), then require a clinical role (403)."""
    visit = access.get_visit(current_user, _visit_id(visit_id))
    access.require(current_user, "clinical")
    return visit


def _entry_time(form: EventForm | VitalsForm, site: Site, now: datetime) -> datetime | None:
    """Return the instant of the form's local "time, if not now" (None: now)."""
    chosen = form.at_time.data
    if chosen is None:
        return None
    tz = ZoneInfo(site.timezone)
    at = datetime.combine(now.astimezone(tz).date(), chosen, tzinfo=tz)
    if at > now + FUTURE_SLACK:  # 23:50 entered just after midnight means yesterday
        at -= timedelta(days=1)
    return at.astimezone(UTC)


# The services' field names -> the forms' field names.
FIELD_NAMES = {"at": "at_time"} | {
    f"checklist.{name}": name for name in ("escort_name", "escort_phone", "vitals_stable")
}
FIELD_NAMES |= {f"checklist.padss_items.{item}": f"padss_{item}" for item in PADSS_ITEMS}
FIELD_NAMES["checklist.padss"] = "padss_total"


def _invalid_form(form) -> tuple:
    errors = {name: list(messages) for name, messages in form.errors.items()}
    if "csrf_token" in errors:
        return json_error(400, "The form has expired: reload the page and try again.")
    return json_error(422, "Check the highlighted fields.", errors)


def _apply(visit_id: int, form, act) -> tuple:
    """Validate a dialog's form, run the action, and answer {"ok"} or the errors."""
    visit = _clinical_visit(visit_id)
    if not form.validate_on_submit():
        return _invalid_form(form)
    now = utcnow()
    try:
        message = act(visit, form, now)
    except Invalid as error:
        db.session.rollback()
        fields = {FIELD_NAMES.get(k, k): v for k, v in error.fields.items()}
        return json_error(422, error.message, fields)
    except Conflict as error:
        db.session.rollback()
        return json_error(409, error.message)
    return jsonify(ok=True, message=message), 200


def _event(event: str, done: str, **data):
    def act(visit: Visit, form, now: datetime) -> str:
        at = _entry_time(form, visit.site, now) if hasattr(form, "at_time") else None
        events.record_event(current_user, visit.id, event, now=now, at=at, **data)
        return done.format(chair=visit.chair.name, initials=visit.patient.initials)

    return act


@bp.post("/recovery/visits/<int:visit_id>/start-infusion")
@login_required
def start_infusion(visit_id: int):
    """Start the infusion."""
    return _apply(
        visit_id, EventForm(), _event("start_infusion", "Infusion started: {chair} · {initials}.")
    )


@bp.post("/recovery/visits/<int:visit_id>/end-infusion")
@login_required
def end_infusion(visit_id: int):
    """End the infusion: the observation window starts now (or at the time given)."""
    return _apply(
        visit_id, EventForm(), _event("end_infusion", "Infusion ended: {chair} · {initials}.")
    )


@bp.post("/recovery/visits/<int:visit_id>/vitals")
@login_required
def vitals(visit_id: int):
    """Record vital signs and side effects."""

    def act(visit: Visit, form: VitalsForm, now: datetime) -> str:
        observations.record_observation(
            current_user,
            visit.id,
            form.values(),
            now,
            at=_entry_time(form, visit.site, now),
            note=(form.note.data or "").strip(),
        )
        return f"Vitals recorded: {visit.chair.name} · {visit.patient.initials}."

    return _apply(visit_id, VitalsForm(), act)


@bp.post("/recovery/visits/<int:visit_id>/extend")
@login_required
def extend(visit_id: int):
    """Extend the observation window by some minutes, with a reason."""

    def act(visit: Visit, form: ExtendForm, now: datetime) -> str:
        events.record_event(
            current_user,
            visit.id,
            "extend_observation",
            now=now,
            minutes=form.minutes.data,
            reason=form.reason.data,
        )
        return f"Observation extended by {form.minutes.data} min: {visit.chair.name}."

    return _apply(visit_id, ExtendForm(), act)


@bp.post("/recovery/visits/<int:visit_id>/discharge")
@login_required
def discharge(visit_id: int):
    """Discharge the patient against the checklist (a practitioner may override early)."""

    def act(visit: Visit, form: DischargeForm, now: datetime) -> str:
        items = form.padss_items()
        checklist = {
            "padss": padss_total(items),
            "padss_items": items,
            "escort_name": form.escort_name.data.strip(),
            "vitals_stable": bool(form.vitals_stable.data),
        }
        if (form.escort_phone.data or "").strip():
            checklist["escort_phone"] = form.escort_phone.data.strip()
        override = (form.override_reason.data or "").strip() or None
        events.record_event(
            current_user,
            visit.id,
            "discharge",
            now=now,
            checklist=checklist,
            override_reason=override,
        )
        return f"Discharged: {visit.chair.name} · {visit.patient.initials}."

    return _apply(visit_id, DischargeForm(), act)


@bp.get("/recovery/visits/<int:visit_id>/discharge")
@login_required
def discharge_prefill(visit_id: int):
    """Answer what the discharge dialog starts from: escort, stable vitals, due time."""
    visit = _clinical_visit(visit_id)
    readings = observations.list_observations(current_user, visit.id)
    now = utcnow()
    due = visit.discharge_due_at
    patient = visit.patient
    return jsonify(
        visit_id=visit.id,
        status=visit.status,
        escort_name=patient.escort_name or "",
        escort_phone=patient.escort_phone or "",
        vitals_stable=observations.vitals_stable_for(visit, readings),
        padss_vital_signs=observations.padss_vital_signs_hint(readings),
        has_readings=bool(readings),
        discharge_due_at=instant(due),
        server_time=instant(now),
        early=due is not None and now < due,
        can_override=access.can(current_user, "discharge_early"),
    )


# ---------------------------------------------------------------- the printable record


@bp.get("/visits/<int:visit_id>/record")
@login_required
def record(visit_id: int):
    """Show the printable discharge record: phases, readings, side effects, who did what."""
    now = utcnow()
    found = discharge_record(current_user, _visit_id(visit_id), now)
    audit.viewed(current_user, found.patient.id, "visit", found.visit.id, now=utcnow())
    tz = ZoneInfo(found.site.timezone)
    return render_template(
        "nursing/record.html",
        rec=found,
        visit=found.visit,
        patient=found.patient,
        site=found.site,
        tz=tz,
        chart=vitals_chart(
            [line.observation for line in found.readings],
            tz,
            infusion=(found.visit.infusion_started_at, found.visit.infusion_ended_at),
            discharge_due_at=found.visit.discharge_due_at,
            now=now,
            width=720,
            height=220,
        ),
        printed_at=now,
        padss_labels=PADSS_LABELS,
        side_effects=SIDE_EFFECTS,
        flag_labels=FLAG_LABELS,
    )
