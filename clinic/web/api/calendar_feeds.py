"""Calendar feeds: make one (its address is answered once) and revoke it."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.domain.ids import MAX_ID
from clinic.services import calendar_feeds
from clinic.types import utcnow
from clinic.web.api import bp, refuses
from clinic.web.api.schemas import CalendarFeedInputSchema, CalendarFeedSchema
from clinic.web.calendar_feeds import feed_url


@bp.route("/calendar-feeds", methods=["POST"])
@bp.arguments(CalendarFeedInputSchema)
@bp.response(201, CalendarFeedSchema)
@refuses(403)
def create_calendar_feed(body: dict[str, Any]):
    """Make a feed of a site (administrators) or of a staff member's shifts (their own;
    administrators: anyone's); the answer holds its address, which is never shown again."""
    feed, token = calendar_feeds.create(g.user, body["site_id"], body["user_id"], utcnow())
    return {"id": feed.id, "url": feed_url(token)}


@bp.route(f"/calendar-feeds/<int(max={MAX_ID}):feed_id>", methods=["DELETE"])
@bp.response(204)
def revoke_calendar_feed(feed_id: int):
    """Revoke a feed (one's own; administrators: any): its address answers 404 from now."""
    calendar_feeds.revoke(g.user, calendar_feeds.get_for(g.user, feed_id), utcnow())
