"""The wall display: a site's recovery dashboard in privacy mode, read-only, opened by a
revocable display link instead of a signed-in user.

The link `/display/<token>` is opened once: its page posts the token to `/display/claim`,
which sets the display cookie and redirects to `/display/`. From then on no URL carries a
secret, so access logs and browser history hold none.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from clinic.services import display_links
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.types import utcnow
from clinic.web.nursing import board_feed, board_page

bp = Blueprint("display", __name__, url_prefix="/display")
# Browsers keep a cookie at most 400 days; a wall display is opened once and left running.
COOKIE_MAX_AGE = 400 * 24 * 3600


class ClaimForm(FlaskForm):
    """The link's token, posted once to start the display."""

    token = HiddenField(validators=[DataRequired(), Length(max=display_links.MAX_TOKEN_LENGTH)])


def cookie_name() -> str:
    """Return the display cookie's name (`__Host-` prefixed in production)."""
    return current_app.config.get("DISPLAY_COOKIE_NAME", "display")


def _viewer() -> display_links.DisplayViewer:
    """Return who this display's cookie shows the board to (404 without a live claimed link)."""
    site = display_links.site_for_device(request.cookies.get(cookie_name()))
    if site is None:
        abort(404)
    return display_links.DisplayViewer(site_id=site.id)


def _board() -> tuple[Dashboard, display_links.DisplayViewer]:
    """Load what this display's cookie shows (404 without a live claimed link)."""
    viewer = _viewer()
    return load_dashboard(viewer, viewer.site_id, utcnow()), viewer


@bp.get("/<token>")
def link(token: str):
    """Show the page that exchanges a new link's token for the display cookie."""
    link = display_links.claimable(token)
    if link is None:
        abort(404)
    form = ClaimForm(data={"token": token})
    return render_template("display/claim.html", form=form, site=link.site, label=link.label)


@bp.post("/claim")
def claim():
    """Exchange the link's token for the display cookie, then show the wall without it."""
    form = ClaimForm()
    if not form.validate_on_submit():
        abort(404)
    secret = display_links.claim(form.token.data, utcnow())
    response = redirect(url_for("display.wall"))
    response.set_cookie(
        cookie_name(),
        secret,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.get("/")
def wall():
    """Show the site's recovery board as the wall display, read-only."""
    board, viewer = _board()
    return board_page(
        board, viewer, True, sites=[board.site], feed_url=url_for("display.feed"), display_link=True
    )


@bp.get("/feed")
def feed():
    """Answer the wall's board block for a poll (ETag / 304), privacy mode."""
    viewer = _viewer()
    # A display link has no session; its page view is not audited either.
    return board_feed(viewer, viewer.site_id, True, lambda _site_id, _shown: None)
