"""The wall display: a site's recovery dashboard in privacy mode, read-only, opened by a
revocable display link instead of a signed-in user."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, url_for

from clinic.models import Site
from clinic.services import display_links
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.types import utcnow
from clinic.web.api.dashboard import conditional_json, etag_of

bp = Blueprint("display", __name__, url_prefix="/display")


def _board(token: str) -> tuple[Site, Dashboard, dict]:
    """Load what a live display token shows (404 for an unknown or revoked one)."""
    site = display_links.site_for_token(token)
    if site is None:
        abort(404)
    viewer = display_links.DisplayViewer(site_id=site.id)
    board = load_dashboard(viewer, site.id, utcnow())
    from clinic.web.nursing import feed_json

    return site, board, feed_json(board, True, viewer)


@bp.get("/<token>")
def wall(token: str):
    """Show the site's recovery dashboard as the wall display, read-only."""
    site, board, body = _board(token)
    return render_template(
        "nursing/dashboard.html",
        sites=[site],
        site=site,
        board=board,
        tz=ZoneInfo(site.timezone),
        wall=True,
        feed=body,
        etag=etag_of(body),
        can_clinical=False,
        can_override=False,
        feed_url=url_for("display.feed", token=token),
        display_link=True,
    )


@bp.get("/<token>/feed")
def feed(token: str):
    """Answer the wall's dashboard as JSON (ETag / 304), privacy mode."""
    return conditional_json(_board(token)[2])
