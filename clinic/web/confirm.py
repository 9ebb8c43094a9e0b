"""The confirmation link of a patient message: `/c/<token>`, no sign-in.

It shows only the site, the local day and time, the arrival time, the site's instructions and
the patient's first name, with *Confirm* and *I can't come* (a CSRF-protected form). The token
is stored as a digest; an unknown one is a 404; the page is rate-limited per address.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import SubmitField

from clinic.domain.messages import Reply, arrival_at
from clinic.services import patient_messages
from clinic.services.site_settings import reminders_of
from clinic.types import utcnow

bp = Blueprint("confirm", __name__, url_prefix="/c")


class AnswerForm(FlaskForm):
    """The patient's answer."""

    confirm = SubmitField("Confirm")
    cant_come = SubmitField("I can't come")


@bp.route("/<token>", methods=["GET", "POST"])
def page(token: str):
    """Show the visit's time and place; record Confirm or I can't come."""
    visit = patient_messages.visit_for_token(token)
    if visit is None:
        abort(404)
    form = AnswerForm()
    outcome = None
    if form.validate_on_submit():
        # The button pressed, or an `answer` field (confirm / cant_come) from a plain form.
        answer = request.form.get("answer", "")
        reply = Reply.CONFIRM if form.confirm.data or answer == "confirm" else None
        if reply is None and (form.cant_come.data or answer == "cant_come"):
            reply = Reply.CANT_COME
        if reply is not None:
            outcome = patient_messages.answer(visit, reply, utcnow())
    tz = ZoneInfo(visit.site.timezone)
    response = render_template(
        "confirm/page.html",
        form=form,
        outcome=outcome,
        site=visit.site.name,
        first_name=visit.patient.given_name,
        start=visit.infusion_start.astimezone(tz),
        arrive=arrival_at(visit.infusion_start),
        tz=tz,
        zone_name=visit.infusion_start.astimezone(tz).tzname(),
        instructions=reminders_of(visit.site.reminders)["instructions"],
        status=visit.status,
        confirmation=visit.confirmation,
        open=visit.status == "booked" and utcnow() < visit.infusion_start,
    )
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
