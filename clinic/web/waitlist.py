"""The desk's waitlist and recall pages (clinic.services.waitlist does the work).

`/waitlist?site_id=` lists the waiting entries with the offers each got; given a free slot
(`date`, `time`, `chair_id`) it lists the entries that could be booked there and sends them an
offer. `/recalls?site_id=` lists the patients due back, each with one click to the booking
page prefilled with the chair and time of their last visit.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Chair, OfferRecipient, Patient, WaitlistOffer
from clinic.services import audit
from clinic.services import waitlist as service
from clinic.services.errors import Invalid, NotFound, ServiceError
from clinic.types import utcnow
from clinic.web.frontdesk import local, parse_day, parse_time
from clinic.web.pages import chosen_site, parse_id, visible_sites
from clinic.web.roles import role_required

bp = Blueprint("waitlist", __name__)


class CsrfForm(FlaskForm):
    """A form with only its CSRF token."""


def _site():
    sites = visible_sites()
    site = chosen_site(sites)
    if site is None:
        abort(404)
    return site, sites


@bp.get("/waitlist")
@role_required("book")
def index():
    """List the site's waitlist; with a free slot, the entries that fit it."""
    site, sites = _site()
    now = utcnow()
    tz = ZoneInfo(site.timezone)
    chairs = list(
        db.session.scalars(
            select(Chair).where(Chair.site_id == site.id, Chair.kind == "chair", Chair.active)
        )
    )
    entries = service.entries(current_user, site.id)
    day, at = parse_day(request.args.get("date")), parse_time(request.args.get("time"))
    chair_id = parse_id(request.args.get("chair_id"))
    matches = None
    slot = None
    message = None
    if day and at and chair_id:
        slot = local(site, day, at)
        try:
            matches = service.matches(current_user, site.id, slot, chair_id, now)
        except (Invalid, NotFound) as error:
            message = error.message
    ids = [e.id for e in entries]
    offers: dict[int, list[tuple[OfferRecipient, WaitlistOffer]]] = {}
    if ids:
        rows = db.session.execute(
            select(OfferRecipient, WaitlistOffer)
            .join(WaitlistOffer, WaitlistOffer.id == OfferRecipient.offer_id)
            .where(OfferRecipient.entry_id.in_(ids))
            .order_by(WaitlistOffer.id.desc())
        ).all()
        for recipient, offer in rows:
            offers.setdefault(recipient.entry_id, []).append((recipient, offer))
    audit.listed(
        current_user,
        "patient.list",
        site.id,
        [e.patient_id for e in entries],
        {"view": "waitlist"},
        now=now,
    )
    return render_template(
        "waitlist/index.html",
        site=site,
        sites=sites,
        tz=tz,
        chairs=chairs,
        entries=entries,
        matches=matches,
        slot=slot,
        chair_id=chair_id,
        day=day,
        at=at,
        message=message,
        offers=offers,
        status_of=lambda offer: service.status_of(offer, now).value,
        form=CsrfForm(),
    )


@bp.post("/waitlist/offers")
@role_required("book")
def send_offer():
    """Offer the free slot to the entries ticked; back to the waitlist page."""
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    site, _ = _site()
    day, at = parse_day(request.form.get("date")), parse_time(request.form.get("time"))
    chair_id = parse_id(request.form.get("chair_id"))
    entry_ids = [i for i in (parse_id(v) for v in request.form.getlist("entry_id")) if i]
    hold = parse_id(request.form.get("hold_minutes")) or 15
    back = url_for("waitlist.index", site_id=site.id)
    if not (day and at and chair_id):
        flash("Choose the free slot's day, time and chair.", "danger")
        return redirect(back)
    try:
        sent = service.create_offer(
            current_user, chair_id, local(site, day, at), entry_ids, hold, utcnow()
        )
    except NotFound:
        raise
    except ServiceError as error:
        detail = "; ".join(m for ms in error.fields.values() for m in ms)
        flash(f"{error.message} {detail}".strip(), "danger")
        return redirect(back)
    flash(f"Offer sent to {len(sent.tokens)} patient(s); it holds for {hold} minutes.", "success")
    return redirect(back)


@bp.get("/recalls")
@role_required("book")
def recalls():
    """List the patients due back within the days, each with a prefilled booking link."""
    site, sites = _site()
    now = utcnow()
    within = parse_id(request.args.get("within_days")) or 14
    within = min(within, 366)
    due = service.due_recalls(current_user, site.id, within, now)
    patients = {
        p.id: p
        for p in db.session.scalars(
            select(Patient).where(Patient.id.in_([r.patient_id for r in due]))
        )
    }
    tz = ZoneInfo(site.timezone)
    rows = []
    for recall in due:
        last = service.last_visit(recall.patient_id, now)
        args = {"patient_id": recall.patient_id, "site_id": site.id}
        if last is not None:
            start = last.infusion_start.astimezone(tz)
            args |= {"chair_id": last.chair_id, "time": f"{start:%H:%M}"}
        args["date"] = max(recall.due_on, now.astimezone(tz).date()).isoformat()
        rows.append(
            {
                "recall": recall,
                "patient": patients.get(recall.patient_id),
                "last": last,
                "book_url": url_for("frontdesk.book", **args),
            }
        )
    audit.listed(
        current_user,
        "patient.list",
        site.id,
        [r.patient_id for r in due],
        {"view": "recalls"},
        now=now,
    )
    return render_template(
        "waitlist/recalls.html",
        site=site,
        sites=sites,
        tz=tz,
        rows=rows,
        within=within,
        today=now.astimezone(tz).date(),
    )
