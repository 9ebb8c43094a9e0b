"""The waitlist's offer link: `/o/<token>`, no sign-in.

It shows the site and the offered local day and time with *Accept* (a CSRF-protected form).
The first patient to accept is booked through the normal booking path; the others see that
the slot is taken. The token is stored as a digest; an unknown one is a 404; the page is
rate-limited per address.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template
from flask_wtf import FlaskForm
from wtforms import SubmitField

from clinic.domain.waitlist import OfferStatus
from clinic.extensions import db
from clinic.models import OfferRecipient
from clinic.services import waitlist
from clinic.types import utcnow

bp = Blueprint("offer", __name__, url_prefix="/o")


class AcceptForm(FlaskForm):
    """The patient's answer."""

    accept = SubmitField("Accept")


@bp.route("/<token>", methods=["GET", "POST"])
def page(token: str):
    """Show the offered time and place; book the first patient to accept."""
    recipient = waitlist.recipient_for_token(token)
    if recipient is None:
        abort(404)
    form = AcceptForm()
    outcome = None
    now = utcnow()
    if form.validate_on_submit():
        outcome = waitlist.accept(recipient.id, now)
        recipient = db.session.get(OfferRecipient, recipient.id)
        assert recipient is not None
    offer = recipient.offer
    state = waitlist.status_of(offer, now)
    if outcome is None and recipient.answer == "booked":
        outcome = "booked"
    elif outcome is None and state is OfferStatus.TAKEN:
        outcome = "taken"
    elif outcome is None and state is OfferStatus.EXPIRED:
        outcome = "expired"
    tz = ZoneInfo(offer.site.timezone)
    start = offer.infusion_start.astimezone(tz)
    response = render_template(
        "offer/page.html",
        form=form,
        outcome=outcome,
        site=offer.site.name,
        start=start,
        tz=tz,
        zone_name=start.tzname(),
        open=outcome is None and state is OfferStatus.OPEN,
    )
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
