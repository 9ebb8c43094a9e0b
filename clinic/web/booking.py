"""Booking a visit: the form, its next free slots, the closest alternatives to a refusal,
and the patient search behind the form."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.domain.ids import is_digits
from clinic.models import Site, TreatmentType
from clinic.services import access, alternatives, audit, availability, booking
from clinic.services import frontdesk as desk
from clinic.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from clinic.services.sites import today
from clinic.types import utcnow
from clinic.web.api.errors import error_response
from clinic.web.api.fields import encodable
from clinic.web.dates import day as day_label
from clinic.web.dates import hm
from clinic.web.forms import ANY_CHAIR, BookingForm
from clinic.web.frontdesk import bp, local, parse_day, parse_time
from clinic.web.pages import parse_id
from clinic.web.roles import role_required

SLOT_COUNT = 8
SLOT_DAYS = 14  # how far the "next free slots" panel looks ahead
SEARCH_LIMIT = 10


def _chosen_type(
    site: Site, types: list[TreatmentType], type_id: int | None
) -> TreatmentType | None:
    """Return the site's type the form names, else the site's default type."""
    own = [t for t in types if t.site_id == site.id]
    named = next((t for t in own if t.id == type_id), None)
    return named or next((t for t in own if t.id == site.default_treatment_type_id), None)


def _prefill(form: BookingForm, sites: list[Site], chairs, types: list[TreatmentType]) -> None:
    """Fill an unsent booking form from the query string and the chosen type's defaults."""
    chair_id = parse_id(request.args.get("chair_id"))
    chair = next((c for c in chairs if c.id == chair_id), None)
    site = next((s for s in sites if chair and s.id == chair.site_id), None)
    site_id = parse_id(request.args.get("site_id"))
    site = site or next((s for s in sites if s.id == site_id), sites[0])
    form.site_id.data = site.id
    form.chair_id.data = chair.id if chair else ANY_CHAIR
    form.date.data = parse_day(request.args.get("date")) or today(site, utcnow())
    form.time.data = parse_time(request.args.get("time"))
    chosen = _chosen_type(site, types, parse_id(request.args.get("treatment_type_id")))
    form.treatment_type_id.data = chosen.id if chosen else None
    form.infusion_minutes.data = chosen.administration_default if chosen else site.infusion_default
    form.observation_minutes.data = (
        chosen.observation_default if chosen else site.observation_default
    )
    patient_id = parse_id(request.args.get("patient_id"))
    form.patient_id.data = str(patient_id) if patient_id else ""


def _selected_patient(form: BookingForm):
    """Return the patient the form names, if the user may see them."""
    raw = (form.patient_id.data or "").strip()
    if not is_digits(raw):
        return None
    try:
        return access.get_patient(current_user, int(raw))
    except NotFound:
        return None


def apply_field_errors(form, error: Invalid) -> list[str]:
    """Put a service's field errors beside the form's fields; return the ones with no field."""
    loose = []
    for name, messages in error.fields.items():
        field = form._fields.get({"infusion_start": "time"}.get(name, name))
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            loose.extend(messages)
    return loose or ([error.message] if not error.fields else [])


def _next_slots(site: Site, day: date, infusion, observation, type_id=None) -> list[dict]:
    """Return the next free start times from a day on, each with the chairs free then."""
    now = utcnow()
    first = max(day, today(site, now))
    chairs = desk.site_chairs(site)
    names = {chair.id: chair.name for chair in chairs}
    # Enough single-chair slots to fill SLOT_COUNT distinct times even when every chair is free.
    limit = SLOT_COUNT * max(1, len(chairs))
    # Minutes out of the type's range show its defaults' slots; a type not of the site, the
    # site's default type's.
    found = None
    for asked in ((type_id, infusion, observation), (type_id, None, None), (None, None, None)):
        try:
            found = availability.slots(
                current_user, site.id, first, SLOT_DAYS, asked[1], asked[2], limit, now, asked[0]
            )
            break
        except Invalid:
            continue
    return _slot_groups(site, found or [], names)


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


def alternative_groups(site: Site, req: booking.Request, exclude_visit_id=None) -> list[dict]:
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
    types = desk.types_of_sites(sites)
    form = BookingForm()
    form.offer(sites, chairs, types)
    if request.method == "GET":
        _prefill(form, sites, chairs, types)
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
                infusion_start=local(site, form.date.data, form.time.data),
                site_id=site.id,
                chair_id=chair.id if chair else None,
                infusion_minutes=form.infusion_minutes.data,
                observation_minutes=form.observation_minutes.data,
                notes=(form.notes.data or "").strip(),
                treatment_type_id=form.treatment_type_id.data,
            )
            try:
                visit, _ = booking.book(current_user, req, now=utcnow())
            except Conflict as refusal:
                reasons = [v.message for v in refusal.reasons] or [refusal.message]
                if refusal.reasons:
                    closest = alternative_groups(site, req)
            except Invalid as error:
                reasons = apply_field_errors(form, error)
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
    chosen = _chosen_type(site, types, form.treatment_type_id.data)
    if closest is None:
        slots = _next_slots(
            site,
            form.date.data or today(site, utcnow()),
            form.infusion_minutes.data if isinstance(form.infusion_minutes.data, int) else None,
            form.observation_minutes.data
            if isinstance(form.observation_minutes.data, int)
            else None,
            chosen.id if chosen else None,
        )
    patient = _selected_patient(form)
    if patient is not None:  # the form shows the patient's name and MRN
        audit.viewed(
            current_user,
            patient.id,
            "patient",
            patient.id,
            {"page": "book"},
            now=utcnow(),
            site_id=patient.site_id,
        )
    return render_template(
        "frontdesk/book.html",
        form=form,
        sites=sites,
        site=site,
        patient=patient,
        reasons=reasons,
        slots=slots if closest is None else closest,
        closest=closest is not None,
        chosen_type=chosen,
        # The picker shows when some site offers more than its default type.
        pick_type=len(types) > len({t.site_id for t in types}),
    )


@bp.route("/book/slots")
@role_required("book")
def book_slots():
    """Answer the next free slots for the booking form (JSON; no patient data in the URL)."""
    sites = desk.visible_sites(current_user)
    site_id = parse_id(request.args.get("site_id"))
    site = next((s for s in sites if s.id == site_id), None)
    if site is None:
        return error_response(404, "not_found", "No such site.")
    day = parse_day(request.args.get("date")) or today(site, utcnow())
    infusion = parse_id(request.args.get("infusion_minutes"))
    observation = parse_id(request.args.get("observation_minutes"))
    type_id = parse_id(request.args.get("treatment_type_id"))
    return jsonify(slots=_next_slots(site, day, infusion, observation, type_id))


@bp.route("/book/patients", methods=["POST"])
@role_required("book")
def patient_search():
    """Find patients for the booking form; the query travels in the body, never the URL."""
    body = request.get_json(silent=True)
    query = body.get("q") if isinstance(body, dict) else None
    if not isinstance(query, str) or len(query) > 100 or "\x00" in query or not encodable(query):
        return error_response(400, "bad_request", 'Send {"q": text}.')
    if not query.strip():
        return jsonify(patients=[])
    sites = desk.visible_sites(current_user)
    now = utcnow()
    on = today(sites[0], now) if sites else now.date()
    matches = desk.find_patients(current_user, query, on, now, SEARCH_LIMIT)
    return jsonify(
        patients=[
            {
                "id": m.patient.id,
                "name": m.patient.full_name,
                "mrn": m.patient.mrn,
                "birth_date": m.patient.birth_date.isoformat(),
                "cleared_until": m.cleared_until.isoformat() if m.cleared_until else None,
                # As every page writes a day ("30 Jul 1979"): the script shows these.
                "born": day_label(m.patient.birth_date, year=True, weekday=False),
                "cleared_to": day_label(m.cleared_until, year=True, weekday=False),
                "site_id": m.patient.site_id,
            }
            for m in matches
        ]
    )
