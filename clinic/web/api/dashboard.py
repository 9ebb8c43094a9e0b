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
import re
import uuid
from datetime import datetime
from typing import Any

from flask import Response, current_app, g, request

from clinic.domain import phases
from clinic.services import audit, board_cache
from clinic.services.dashboard import Dashboard, load_dashboard
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.fields import instant
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


# Stands in for a clock field in the kept text (a random token no data can contain).
_SLOT = f"tick-{uuid.uuid4().hex}"
_SLOTS = re.compile(f'"{_SLOT}-([0-9]+)"')


def encoded(body: dict[str, Any]) -> list[str]:
    """Return the answer's text as jsonify writes it, cut around its clock fields: text,
    slot number, text, ... (slot 0: server_time; slot i + 1: the i-th visit's seconds)."""
    marked = body | {
        "server_time": f"{_SLOT}-0",
        "visits": [
            visit | {"seconds_to_discharge_due": f"{_SLOT}-{n}"}
            for n, visit in enumerate(body["visits"], start=1)
        ],
    }
    return _SLOTS.split(current_app.json.response(marked).get_data(as_text=True))


def render(parts: list[str], dues: list[datetime | None], now: datetime) -> bytes:
    """Return the kept answer with its clock fields at `now` (the rest holds for the minute)."""
    values = [json.dumps(instant(now))] + [json.dumps(phases.seconds_to(now, due)) for due in dues]
    text = [part if n % 2 == 0 else values[int(part)] for n, part in enumerate(parts)]
    return "".join(text).encode()


@bp.route("/dashboard", methods=["GET"])
@bp.arguments(SiteQuery, location="query")
@bp.response(200, DashboardSchema, headers={"ETag": {"schema": {"type": "string"}}})
@bp.alt_response(304, description="Not modified: If-None-Match holds the current ETag.")
def dashboard(query: dict[str, Any]):
    """Show every visit of a site that is checked in, infusing or recovering."""
    now = utcnow()
    site_id = board_cache.visible_site_id(g.user, query.get("site_id"))
    version = board_cache.board_version(site_id)

    def build() -> board_cache.Built:
        board = load_dashboard(g.user, site_id, now)
        body = dashboard_json(board)
        shown = tuple(row.visit.patient_id for row in board.rows)
        dues = [row.visit.discharge_due_at for row in board.rows]
        # The text is kept, not the dict: a later answer this minute only fills the clock in.
        return board_cache.Built(etag_of(body), encoded(body), shown, dues)

    # No viewer part: the JSON is the same for every role that may read it (no outcomes, no
    # actions), unlike the HTML block (nursing.viewer_kind).
    key = ("api", site_id, version, board_cache.minute_of(now))
    built = board_cache.cached(key, build)[0]
    if request.if_none_match.contains_weak(built.etag):
        # Nothing new is shown: the answer that gave this ETag was audited when it was sent.
        response = Response(status=304)
    else:
        # Every API answer of the dashboard is audited, each request (README, "Audit trail").
        shown = list(built.patient_ids)
        audit.listed(g.user, "dashboard.view", site_id, shown, {"view": "api"}, now=now)
        response = Response(render(built.body, built.extra, now), mimetype="application/json")
    response.set_etag(built.etag)
    response.headers["X-Server-Time"] = instant(now)
    return response
