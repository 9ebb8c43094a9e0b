"""Nursing: the live recovery board, its dialogs, and the printable record.

The board is drawn once, by the templates in templates/nursing: the page renders it for the
first paint and the feed renders the same HTML for every poll (ETag / 304); htmx swaps it in.
The dialogs are partials too: a GET answers the form, a POST answers the form again with its
errors (422, or 409 for a clinical refusal) or, once saved, the refreshed card.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from clinic.domain import instruments
from clinic.domain.discharge import PADSS_ITEMS, PADSS_PASS
from clinic.domain.ids import is_digits
from clinic.domain.instruments import INSTRUMENTS, SUICIDE_RISK, band_label
from clinic.domain.phases import AMBER_MINUTES
from clinic.domain.visits import EventType, Status, allowed_events
from clinic.domain.vitals import BP_FLAGS, HR_FLAGS
from clinic.extensions import db
from clinic.models import Visit
from clinic.services import (
    access,
    audit,
    board_cache,
    doses,
    events,
    observations,
    rems,
    screening,
)
from clinic.services import frontdesk as desk
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.services.discharge_record import discharge_record
from clinic.services.errors import Conflict, Invalid, NotFound, ServiceError
from clinic.types import utcnow
from clinic.web.alerts import scheduler_alive, wall_alerts
from clinic.web.charts import vitals_chart
from clinic.web.frontdesk import administration_word, started_label
from clinic.web.nursing_forms import (
    PADSS_LABELS,
    SIDE_EFFECTS,
    DischargeForm,
    DoseForm,
    EventForm,
    ExtendForm,
    ReviewForm,
    ScreeningForm,
    StartForm,
    VitalsForm,
)
from clinic.web.pages import MAX_ID, chosen_site, parse_id

bp = Blueprint("nursing", __name__)

# A form's "time, if not now" a little ahead of the clock is today; further ahead, yesterday.
FUTURE_SLACK = timedelta(minutes=2)
EXPIRED = "The form has expired: reload the page and try again."
CHECK_FIELDS = "Check the highlighted fields."
REFUSALS = {
    400: EXPIRED,
    401: "You are signed out: sign in again.",
    403: "Your role may not do this.",
    404: "No such visit.",
}
# Sent by the recovery board's dialogs: a saved dialog answers the card to swap in as well.
BOARD_HEADER = "X-Recovery-Board"


def is_htmx() -> bool:
    """Tell whether the request is one of the pages' htmx swaps."""
    return request.headers.get("HX-Request") == "true"


def refusal(status: int, message: str | None = None):
    """Answer a refusal: in a dialog (htmx) its message in place, otherwise the error page."""
    db.session.rollback()
    message = message or REFUSALS.get(status) or "Refused."
    template = "nursing/_refusal.html" if is_htmx() else "error.html"
    return render_template(template, status=status, message=message), status


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Answer a service's refusal in the dialog, or as a page."""
    return refusal(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Answer a CSRF failure, 403 or 404 in the dialog, or as a page."""
    return refusal(error.code or 400, REFUSALS.get(error.code or 400) if is_htmx() else None)


@bp.before_request
def signed_in_for_swaps():
    """Answer a signed-out swap 401 in place (a redirect would swap the sign-in page in)."""
    if is_htmx() and not current_user.is_authenticated:
        return refusal(401)
    return None


# ---------------------------------------------------------------- the board


def viewer_kind(viewer, wall: bool) -> dict[str, bool]:
    """Return every permission the board's block shows differently by: what board_context
    gives the templates and what the poll cache keys on, so the two cannot drift (a kept
    answer is shared only by viewers who would see the very same block)."""
    return {
        "wall": wall,
        "can_clinical": not wall and access.can(viewer, "clinical"),
        "can_outcomes": not wall and access.can(viewer, "outcomes"),
        # clinical_actions offers the review only to those who may override.
        "can_override_predose": not wall and access.can(viewer, "override_predose"),
    }


def board_context(board: Dashboard, viewer, wall: bool) -> dict:
    """Return what the board's templates read (the wall's open alerts included)."""
    site = board.site
    return viewer_kind(viewer, wall) | {
        "board": board,
        "tz": ZoneInfo(site.timezone),
        "clinical_actions": clinical_actions,
        "bp_flags": BP_FLAGS,
        "hr_flags": HR_FLAGS,
        "amber": timedelta(minutes=AMBER_MINUTES),
        "overdue_after": timedelta(minutes=site.overdue_after_minutes),
        "wall_alerts": wall_alerts(viewer, site.id) if wall else None,
    }


def _swap(context: dict) -> tuple[str, str]:
    """Render the board's block as a poll swaps it in (cards and counts), with its ETag."""
    html = render_template("nursing/_board.html", with_summary=True, **context)
    # A strong ETag of the HTML: the block holds nothing that moves by the second.
    return html, hashlib.sha256(html.encode()).hexdigest()[:32]


def board_feed(viewer, site_id: int, wall: bool, audit_view: Callable[[int, list[int]], None]):
    """Answer the board's block with its ETag, or 304 while it would be the same.

    What is answered is kept per site, board version, minute and viewer (board_cache): a
    poll reads the version and, unless it moved, builds nothing. A 200 is audited through
    `audit_view`; a 304 shows nothing new and writes nothing."""
    now = utcnow()
    alive = scheduler_alive()[0] if wall else None  # the wall shows the scheduler's state
    key = (
        "html",
        site_id,
        board_cache.board_version(site_id),
        board_cache.minute_of(now),
        tuple(sorted(viewer_kind(viewer, wall).items())),
        alive,
    )

    def build() -> board_cache.Built:
        board = load_dashboard(viewer, site_id, now)
        html, etag = _swap(board_context(board, viewer, wall))
        return board_cache.Built(etag, html, tuple(row.visit.patient_id for row in board.rows))

    built = board_cache.cached(key, build)[0]
    if request.if_none_match.contains(built.etag):
        response = Response(status=304)
    else:
        response = Response(built.body)
        audit_view(site_id, list(built.patient_ids))
    response.set_etag(built.etag)
    response.headers["X-Server-Time"] = now.isoformat()
    return response


def board_page(board: Dashboard, viewer, wall: bool, **page) -> str:
    """Render the recovery page around the board's block."""
    context = board_context(board, viewer, wall)
    etag = _swap(context)[1]
    return render_template(
        "nursing/dashboard.html", site=board.site, etag=etag, with_summary=False, **context, **page
    )


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
    feed_url = url_for("nursing.feed", site_id=site.id, wall=1 if wall else None)
    page = board_page(board, current_user, wall, sites=sites, feed_url=feed_url, display_link=False)
    # After rendering: the audit write's commit expires the board.
    _audit_view(board.site.id, [row.visit.patient_id for row in board.rows])
    return page


@bp.get("/recovery/feed")
@login_required
def feed():
    """Answer the board's block for a poll (ETag / 304)."""
    raw = request.args.get("site_id")
    site_id = parse_id(raw)
    if raw and site_id is None:
        abort(404)
    site_id = board_cache.visible_site_id(current_user, site_id)
    return board_feed(current_user, site_id, request.args.get("wall") == "1", _audit_view)


def _audit_view(site_id: int, shown: list[int]) -> None:
    """Audit the patients the board shows: once per session and site, not every poll."""
    session = g.get("auth_session")
    if session is None:  # every signed-in page has one; audit each view if not
        audit.listed(current_user, "dashboard.view", site_id, shown, {"view": "page"}, now=utcnow())
        return
    audit.dashboard_seen(current_user, site_id, shown, session.id, session.created_at, now=utcnow())


# ---------------------------------------------------------------- the dialogs


def dialog_forms() -> dict:
    """Return what a page needs to host the dialogs: nothing, they load their forms on open."""
    return {}


def clinical_actions(visit, screen: str | None = None) -> list[str]:
    """List the dialogs the user may open on a visit now, in the order of the day (`screen`:
    the visit's screening state when the caller has it, as the board does)."""
    if not access.can(current_user, "clinical"):
        return []
    allowed = set(allowed_events(Status(visit.status)))
    wanted = {
        "start_infusion": EventType.START_INFUSION in allowed,
        "end_infusion": EventType.END_INFUSION in allowed,
        "vitals": visit.status in observations.OBSERVABLE,
        "dose": visit.status in doses.DOSABLE,
        "extend": EventType.EXTEND_OBSERVATION in allowed,
        "discharge": EventType.DISCHARGE in allowed,
        "screening": visit.status in screening.OPEN,
        "review": visit.status in screening.OPEN
        and access.can(current_user, "override_predose")
        and (screen_state(visit) if screen is None else screen) == "review",
    }
    return [action for action, ok in wanted.items() if ok]


def screen_state(visit: Visit) -> str:
    """Tell a visit's page what screening needs today (instruments.screen_state)."""
    if visit.status not in screening.OPEN:
        return ""
    required = list(visit.site.screening_before_start or [])
    return instruments.screen_state(required, screening.day_screen(visit, utcnow()))


def _clinical_visit(visit_id: int) -> Visit:
    """Load a visit of the user's sites (404), then require a clinical role (403)."""
    if not 1 <= visit_id <= MAX_ID:  # the URL converter takes any size
        raise NotFound("visit")
    visit = access.get_visit(current_user, visit_id)
    access.require(current_user, "clinical")
    return visit


def _entry_time(form, visit: Visit, now: datetime) -> datetime | None:
    """Return the instant of the form's local "time, if not now" (None: now)."""
    chosen = getattr(form, "at_time", None)
    if chosen is None or chosen.data is None:
        return None
    tz = ZoneInfo(visit.site.timezone)
    at = datetime.combine(now.astimezone(tz).date(), chosen.data, tzinfo=tz)
    if at > now + FUTURE_SLACK:  # 23:50 entered just after midnight means yesterday
        at -= timedelta(days=1)
    return at.astimezone(UTC)


# The services' field names -> the forms' field names.
FIELD_NAMES = {"at": "at_time", "checklist.padss": "padss_total"} | {
    f"checklist.{name}": name for name in ("escort_name", "escort_phone", "vitals_stable")
}
FIELD_NAMES |= {f"checklist.padss_items.{item}": f"padss_{item}" for item in PADSS_ITEMS}


def _discharge_context(visit: Visit, form: DischargeForm, fill: bool) -> dict:
    """Return what the checklist shows beside its fields (and prefill them on a GET)."""
    readings = observations.list_observations(current_user, visit.id)
    stable = observations.vitals_stable_for(visit, readings)
    hint = observations.padss_vital_signs_hint(readings)
    if fill:
        patient = visit.patient
        form.escort_name.data = patient.escort_name or ""
        form.escort_phone.data = patient.escort_phone or ""
        form.vitals_stable.data = stable
        form.padss_vital_signs.data = hint
    due = visit.discharge_due_at
    return {
        "has_readings": bool(readings),
        "stable": stable,
        "padss_hint": hint,
        "early": due is not None and utcnow() < due,
        "can_override": access.can(current_user, "discharge_early"),
    }


def _start_context(visit: Visit, form: StartForm) -> dict:
    """Return the pre-dose checks a start now would break, and whether the user may override."""
    broken = events.predose_violations(visit, utcnow())
    return {
        "predose": [v.message for v in broken],
        "can_override": access.can(current_user, "override_predose"),
        "show_override": bool(broken or form.override_reason.data),
    }


def _dose_context(visit: Visit, form: DoseForm, fill: bool, message: str) -> dict:
    """Return the order's expected dose, the doses so far, and prefill drug and route."""
    if fill:
        form.drug.data = doses.default_drug(visit)
        form.route.data = doses.default_route(visit) or doses.IV
    order = doses.order_for(visit.patient, utcnow())
    confirm_needed = "confirm" in message or bool(form.confirm.data)
    return {
        "order": order.text(),
        "weight_missing": order.mg_per_kg is not None and order.weight_kg is None,
        "given": doses.list_doses(current_user, visit.id),
        "can_confirm": access.can(current_user, "confirm_dose"),
        "confirm_needed": confirm_needed,
    }


def _screening_context(visit: Visit, form: ScreeningForm) -> dict:
    """Return the instruments, the site's required ones first, and what is done today."""
    required = [n for n in visit.site.screening_before_start or [] if n in INSTRUMENTS]
    names = [*required, *(n for n in INSTRUMENTS if n not in required)]
    done = {m.instrument for m in screening.day_measures(visit, utcnow())}
    if not form.instrument.data:
        form.instrument.data = next((n for n in names if n not in done), names[0])
    return {
        "instruments": [INSTRUMENTS[n] for n in names],
        "required": required,
        "done": done,
        "answered": request.form if request.method == "POST" else {},
    }


def _form(visit: Visit, action: str, form, status: int = 200, message: str = ""):
    """Render a dialog's form for a visit, with its errors and a message if any."""
    extra = {}
    if action == "discharge":
        extra = _discharge_context(visit, form, fill=request.method == "GET")
    elif action == "start_infusion":
        extra = _start_context(visit, form)
    elif action == "dose":
        extra = _dose_context(visit, form, request.method == "GET", message)
    elif action == "screening":
        extra = _screening_context(visit, form)
    html = render_template(
        "nursing/dialog.html",
        action=action,
        form=form,
        visit=visit,
        tz=ZoneInfo(visit.site.timezone),
        message=message,
        padss_pass=PADSS_PASS,
        side_effects=SIDE_EFFECTS,
        **extra,
    )
    return html, status


def _saved(visit: Visit, message: str):
    """Answer a saved dialog: close it with a message, and swap the visit's card if shown."""
    html = ""
    if request.headers.get(BOARD_HEADER) == "1":
        board = load_dashboard(current_user, visit.site_id, utcnow())
        row = next((row for row in board.rows if row.visit.id == visit.id), None)
        context = board_context(board, current_user, wall=False)
        html = render_template("nursing/_card_swap.html", row=row, visit_id=visit.id, **context)
    headers = {"HX-Reswap": "none", "HX-Trigger": json.dumps({"nursing:saved": message})}
    return html, 200, headers


Act = Callable[[Visit, object, datetime], str]


def _dialog(visit_id: int, action: str, form_class: type, act: Act):
    """Answer a dialog: its form (GET), or run it and answer the card or the form's errors."""
    visit = _clinical_visit(visit_id)
    if action == "review":  # a practitioner's decision
        access.require(current_user, "override_predose")
    if request.method == "GET":
        return _form(visit, action, form_class(formdata=None))
    form = form_class()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return _form(visit, action, form, 400, EXPIRED)
        return _form(visit, action, form, 422, CHECK_FIELDS)
    try:
        message = act(visit, form, utcnow())
    except Invalid as error:
        db.session.rollback()
        placed = {name: _place(form, name, texts) for name, texts in error.fields.items()}
        loose = [" ".join(error.fields[name]) for name, ok in placed.items() if not ok]
        return _form(visit, action, form, 422, " ".join(loose) or CHECK_FIELDS)
    except Conflict as error:
        db.session.rollback()
        return _form(visit, action, form, 409, error.message)
    return _saved(visit, message)


def _place(form, name: str, texts: list[str]) -> bool:
    """Put a service's field errors on the form's field; False if the form has no such field."""
    field = form._fields.get(FIELD_NAMES.get(name, name))
    if field is None:
        return False
    field.errors = [*field.errors, *texts]
    return True


def dialog(rule: str, action: str, form_class: type, method: str = "", endpoint: str = ""):
    """Route a dialog's action: a GET answers its form, a POST runs it (or one of the two)."""

    def route(act: Act) -> Act:
        def view(visit_id: int):
            return _dialog(visit_id, action, form_class, act)

        view.__doc__ = act.__doc__
        methods = [method] if method else ["GET", "POST"]
        bp.add_url_rule(rule, endpoint or action, login_required(view), methods=methods)
        return act

    return route


def _event(event: str, done: str, doc: str) -> Act:
    def act(visit: Visit, form, now: datetime) -> str:
        at = _entry_time(form, visit, now)
        events.record_event(current_user, visit.id, event, now=now, at=at)
        return done.format(
            chair=visit.chair.name,
            initials=visit.patient.initials,
            # The type's words: "Infusion started" / "First device" ...
            started=started_label(visit.treatment_type),
            administration=administration_word(visit.treatment_type).capitalize(),
        )

    act.__doc__ = doc
    return act


VISIT = "/recovery/visits/<int:visit_id>"


@dialog(f"{VISIT}/start-infusion", "start_infusion", StartForm)
def start_infusion(visit: Visit, form: StartForm, now: datetime) -> str:
    """Start the infusion: a baseline reading in the 30 minutes before (and the type's BP
    limit) or a practitioner's override with a reason."""
    at = _entry_time(form, visit, now)
    override = (form.override_reason.data or "").strip() or None
    events.record_event(
        current_user, visit.id, "start_infusion", now=now, at=at, override_reason=override
    )
    # The type's words: "Infusion started" / "First device" ...
    started = started_label(visit.treatment_type)
    return f"{started}: {visit.chair.name} · {visit.patient.initials}."


dialog(f"{VISIT}/end-infusion", "end_infusion", EventForm)(
    _event(
        "end_infusion",
        "{administration} ended: {chair} · {initials}.",
        "End the infusion: the observation window starts now (or at the time given).",
    )
)


@dialog(f"{VISIT}/vitals", "vitals", VitalsForm)
def record_vitals(visit: Visit, form: VitalsForm, now: datetime) -> str:
    """Record vital signs and side effects."""
    at = _entry_time(form, visit, now)
    note = (form.note.data or "").strip()
    observations.record_observation(current_user, visit.id, form.values(), now, at=at, note=note)
    return f"Vitals recorded: {visit.chair.name} · {visit.patient.initials}."


@dialog(f"{VISIT}/dose", "dose", DoseForm)
def record_dose(visit: Visit, form: DoseForm, now: datetime) -> str:
    """Record a dose given: drug, mg, lot, route (an IV dose is checked against the order)."""
    at = _entry_time(form, visit, now)
    confirm = bool(form.confirm.data)
    given = doses.record_dose(current_user, visit.id, form.values(), now, at=at, confirm=confirm)
    return f"Dose recorded: {given.drug} {given.dose_mg.normalize():f} mg · {visit.chair.name}."


@dialog(f"{VISIT}/extend", "extend", ExtendForm)
def extend(visit: Visit, form: ExtendForm, now: datetime) -> str:
    """Extend the observation window by some minutes, with a reason."""
    minutes, reason = form.minutes.data, form.reason.data
    events.record_event(
        current_user, visit.id, "extend_observation", now=now, minutes=minutes, reason=reason
    )
    return f"Observation extended by {minutes} min: {visit.chair.name}."


@dialog(f"{VISIT}/discharge", "discharge", DischargeForm, "GET", "discharge_prefill")
@dialog(f"{VISIT}/discharge", "discharge", DischargeForm, "POST")
def discharge(visit: Visit, form: DischargeForm, now: datetime) -> str:
    """Discharge against the checklist (a practitioner may override early); GET: prefilled."""
    override = (form.override_reason.data or "").strip() or None
    checklist = form.checklist()
    events.record_event(
        current_user, visit.id, "discharge", now=now, checklist=checklist, override_reason=override
    )
    return f"Discharged: {visit.chair.name} · {visit.patient.initials}."


@dialog(f"{VISIT}/screening", "screening", ScreeningForm)
def record_screening(visit: Visit, form: ScreeningForm, now: datetime) -> str:
    """Record one screening instrument (C-SSRS screener, PHQ-9, GAD-7) asked by the nurse."""
    name = form.instrument.data
    definition = INSTRUMENTS.get(name or "")
    if definition is None:
        raise Invalid("Choose an instrument.", {"instrument": ["Choose an instrument."]})
    answers: list[int | bool] = []
    missing = []
    for n in range(1, len(definition.items) + 1):
        raw = request.form.get(f"{definition.name}-{n}", "")
        if definition.kind == "yes_no" and raw in ("0", "1"):
            answers.append(raw == "1")
        elif definition.kind != "yes_no" and is_digits(raw) and len(raw) < 3:
            answers.append(int(raw))
        else:
            missing.append(str(n))
    if missing:
        text = f"Answer every question of the {definition.title} (missing: {', '.join(missing)})."
        raise Invalid(text, {"answers": [text]})
    measure = screening.record_measure(current_user, visit.id, definition.name, answers, now)
    band = band_label(definition.name, measure.band)
    text = f"{definition.title}: {measure.score} ({band}) · {visit.chair.name}."
    if SUICIDE_RISK in (measure.flags or []):
        text += " Positive screen: a practitioner must review before the treatment starts."
    return text


@dialog(f"{VISIT}/screening-review", "review", ReviewForm)
def review_screening(visit: Visit, form: ReviewForm, now: datetime) -> str:
    """Record a practitioner's review of a positive screen: proceed or defer, with a note."""
    screening.record_review(current_user, visit.id, form.decision.data, form.note.data, now)
    word = "proceed" if form.decision.data == "proceed" else "defer"
    return f"Screen reviewed ({word}): {visit.chair.name} · {visit.patient.initials}."


# ---------------------------------------------------------------- the printable record


@bp.get("/visits/<int:visit_id>/record")
@login_required
def record(visit_id: int):
    """Show the printable discharge record: phases, readings, side effects, who did what."""
    now = utcnow()
    if not 1 <= visit_id <= MAX_ID:
        raise NotFound("visit")
    found = discharge_record(current_user, visit_id, now)
    audit.viewed(
        current_user,
        found.patient.id,
        "visit",
        found.visit.id,
        now=now,
        site_id=found.visit.site_id,
    )
    tz = ZoneInfo(found.site.timezone)
    visit = found.visit
    return render_template(
        "nursing/record.html",
        rec=found,
        visit=visit,
        patient=found.patient,
        site=found.site,
        tz=tz,
        chart=vitals_chart(
            [line.observation for line in found.readings],
            tz,
            infusion=(visit.infusion_started_at, visit.infusion_ended_at),
            discharge_due_at=visit.discharge_due_at,
            now=now,
            band=administration_word(visit.treatment_type).capitalize(),
            width=720,
            height=220,
        ),
        printed_at=now,
        doses=doses.dose_lines(current_user, visit.id),
        padss_labels=PADSS_LABELS,
        side_effects=SIDE_EFFECTS,
        has_rems_form=rems.is_rems(visit),
    )
