"""The nurses' dashboard as JSON (API.md, "Dashboard"), with an ETag for cheap polling.

The client runs the countdowns itself: it takes `server_time` as the server's clock (or the
X-Server-Time header, sent with a 304 too), keeps the difference from its own clock, and
counts down to each `discharge_due_at`; `seconds_to_discharge_due` is that count at
`server_time`. So the ETag covers the whole answer except `server_time` and
`seconds_to_discharge_due`, which change every second: it changes when a visit, an event or
a reading changes, and at the minute or the threshold when a derived value (minutes in
phase, countdown colour, overdue, vitals due or missed, chair clash) moves on.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, g, jsonify, request

from clinic.services import audit
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.schemas import DashboardSchema, SiteQuery

# Fields that move with the clock alone; the ETag leaves them out so polling gets 304s.
TICKING = ("server_time", "seconds_to_discharge_due", "expected_chair_release")


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    """Return the dashboard as API.md shows it, with the settings the client's clock needs."""
    return DashboardSchema().dump(board)


def etag_of(body: dict[str, Any]) -> str:
    """Return a strong ETag over the answer without its ticking fields."""
    steady = {k: v for k, v in body.items() if k not in TICKING}
    steady["visits"] = [
        {k: v for k, v in visit.items() if k not in TICKING} for visit in body["visits"]
    ]
    text = json.dumps(steady, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def conditional_json(body: dict[str, Any]) -> Response:
    """Answer the body with its ETag, or 304 when the client's If-None-Match matches it."""
    etag = etag_of(body)
    fresh = request.if_none_match.contains_weak(etag)
    response = Response(status=304) if fresh else jsonify(body)
    response.set_etag(etag)
    response.headers["X-Server-Time"] = body["server_time"]
    return response


@bp.route("/dashboard", methods=["GET"])
@bp.arguments(SiteQuery, location="query")
@bp.response(200, DashboardSchema, headers={"ETag": {"schema": {"type": "string"}}})
@bp.alt_response(304, description="Not modified: If-None-Match holds the current ETag.")
def dashboard(query: dict[str, Any]):
    """Show every visit of a site that is checked in, infusing or recovering."""
    board = load_dashboard(g.user, query.get("site_id"), utcnow())
    body = dashboard_json(board)
    # Every API read of the dashboard is audited, each request (README, "Audit trail").
    shown = [row.visit.patient_id for row in board.rows]
    audit.listed(g.user, "dashboard.view", board.site.id, shown, {"view": "api"}, now=utcnow())
    return conditional_json(body)
