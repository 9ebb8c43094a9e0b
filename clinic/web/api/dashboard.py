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

from clinic.domain.ids import MAX_ID
from clinic.domain.phases import AMBER_MINUTES
from clinic.domain.vitals import DueItem
from clinic.services import audit
from clinic.services.dashboard import Dashboard, Row, load_dashboard
from clinic.types import utcnow
from clinic.web.api import bp
from clinic.web.api.observations import observation_json
from clinic.web.api.parsing import query_int
from clinic.web.api.serialize import instant

# Fields that change with every tick of the clock; the client derives them from server_time.
# Fields that move with the clock alone; the ETag leaves them out so polling gets 304s.
TICKING = ("server_time", "seconds_to_discharge_due", "expected_chair_release")


def due_json(item: DueItem) -> dict[str, Any]:
    """Return a scheduled reading: kind, due_at, state (and the reading that satisfied it)."""
    return {
        "kind": str(item.kind),
        "due_at": instant(item.due_at),
        "state": str(item.state),
        "reading_at": instant(item.reading_at),
    }


def row_json(row: Row) -> dict[str, Any]:
    """Return one dashboard visit: API.md's fields first, then the additions."""
    visit = row.visit
    return {
        "id": visit.id,
        "patient_label": row.patient_label,
        "chair": row.chair,
        "status": visit.status,
        "infusion_started_at": instant(visit.infusion_started_at),
        "infusion_ended_at": instant(visit.infusion_ended_at),
        "discharge_due_at": instant(visit.discharge_due_at),
        "seconds_to_discharge_due": row.seconds_to_discharge_due,
        "overdue": row.overdue,
        "latest_observation": observation_json(row.latest) if row.latest else None,
        "flags": row.flags,
        "vitals_due": [due_json(item) for item in row.vitals_due],
        # Additions.
        "countdown": str(row.countdown),
        "chair_id": visit.chair_id,
        "recovery_chair": row.recovery_chair,
        "recovery_chair_id": visit.recovery_chair_id,
        "checked_in_at": instant(visit.checked_in_at),
        "infusion_start": instant(visit.infusion_start),
        "infusion_end": instant(visit.infusion_end),
        "infusion_minutes": visit.infusion_minutes,
        "observation_minutes": visit.observation_minutes,
        "extension_minutes": visit.extension_minutes,
        "phase_started_at": instant(row.phase_started_at),
        "minutes_in_phase": row.minutes_in_phase,
        "vitals_next": due_json(row.vitals_next) if row.vitals_next else None,
        "vitals_missed": [due_json(item) for item in row.vitals_missed],
        "expected_chair_release": instant(row.expected_chair_release),
        "next_chair_booking_at": instant(
            row.next_chair_booking.starts_at if row.next_chair_booking else None
        ),
        "chair_clash_minutes": row.chair_clash_minutes,
        "next_bay_booking_at": instant(
            row.next_bay_booking.starts_at if row.next_bay_booking else None
        ),
        "bay_clash_minutes": row.bay_clash_minutes,
        "planned_date": row.planned_on.isoformat(),
        "planned_today": row.planned_today,
    }


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    """Return the dashboard as API.md shows it, with the settings the client's clock needs."""
    return {
        "server_time": instant(board.now),
        "visits": [row_json(row) for row in board.rows],
        "site_id": board.site.id,
        "overdue_after_minutes": board.site.overdue_after_minutes,
        "amber_minutes": AMBER_MINUTES,
    }


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


@bp.get("/dashboard")
def dashboard():
    """Show every visit of a site that is checked in, infusing or recovering."""
    board = load_dashboard(g.user, query_int("site_id", high=MAX_ID), utcnow())
    body = dashboard_json(board)
    # Every API read of the dashboard is audited, each request (README, "Audit trail").
    shown = [row.visit.patient_id for row in board.rows]
    audit.listed(g.user, "dashboard.view", board.site.id, shown, {"view": "api"}, now=utcnow())
    return conditional_json(body)
