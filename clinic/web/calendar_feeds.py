"""Calendar feeds: the address a calendar app subscribes to (no sign-in: the token in the
path opens it) and the "Calendar feeds" section of the user's security page.

The feed's answer carries only chairs, initials and times; the token never reaches a log of
ours (the access log of a proxy in front may keep the path: revoke a feed that leaked).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import DataRequired

from clinic.services import calendar_feeds, setup
from clinic.services.errors import Forbidden, ServiceError
from clinic.types import utcnow

bp = Blueprint("calendar_feeds", __name__)
FEED_ENDPOINT = "calendar_feeds.feed"


class FeedForm(FlaskForm):
    """A new feed: which site; an administrator may make the whole site's."""

    site_id = SelectField("Site", coerce=int, validators=[DataRequired()])
    whole_site = BooleanField("Every visit of the site (not only during my shifts)")


class ActionForm(FlaskForm):
    """A button that posts (only the CSRF token)."""


def feed_url(token: str) -> str:
    """Return a feed's full address (shown once, when it is made): on PUBLIC_BASE_URL when
    set (as the visits' UIDs and the patients' links), else on the request's host."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for(FEED_ENDPOINT, token=token)
    return url_for(FEED_ENDPOINT, token=token, _external=True)


def feed_form(posted: bool = False) -> FeedForm:
    """Return the new-feed form (blank, or read from the request) with the user's sites."""
    form = FeedForm() if posted else FeedForm(formdata=None)
    form.site_id.choices = [SelectChoice(s.id, s.name) for s in setup.list_sites(current_user)]
    return form


def _domain() -> str:
    """Return the host the visits' UIDs name (as the patients' invitations do)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    return urlsplit(base).hostname or "localhost"


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """Answer a feed's calendar file; 404 for an unknown or revoked token."""
    row = calendar_feeds.live(token)
    if row is None:
        abort(404)
    body = calendar_feeds.render(row, utcnow(), _domain())
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="visits.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/calendar-feeds")
@login_required
def create():
    """Make a feed of the user's own shifts (an administrator: of a whole site)."""
    from clinic.web.auth import security_page

    form = feed_form(posted=True)
    if form.validate_on_submit():
        user_id = None if form.whole_site.data else current_user.id
        try:
            if user_id is None and not current_user.is_admin:
                # The service reads no user as the caller's own feed for all but an admin.
                raise Forbidden("Only an administrator may make a whole site's feed.")
            _row, token = calendar_feeds.create(current_user, form.site_id.data, user_id, utcnow())
        except ServiceError as error:
            form.site_id.errors = [*form.site_id.errors, error.message]
        else:
            flash("The feed is made. Copy its address now: it is not shown again.", "success")
            return security_page(new_feed_url=feed_url(token))
    return security_page(feed_form=form), 422


@bp.post("/account/calendar-feeds/<int:feed_id>/revoke")
@login_required
def revoke(feed_id: int):
    """Revoke a feed (the user's own; an administrator: any)."""
    row = calendar_feeds.get_for(current_user, feed_id)
    if ActionForm().validate_on_submit():
        calendar_feeds.revoke(current_user, row, utcnow())
        flash("The calendar feed is revoked.", "success")
    return redirect(url_for("auth.security"))
