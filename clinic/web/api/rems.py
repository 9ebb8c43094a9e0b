"""The REMS 7-day tracker (API.md, "Treatment types and REMS"): sessions and submissions."""

from __future__ import annotations

from typing import Any

from flask import g

from clinic.services import access, audit, rems_submissions
from clinic.types import utcnow
from clinic.web.api import bp, writes
from clinic.web.api.schemas import RemsSubmissionQuery, RemsSubmissionSchema
from clinic.web.api.visits import VISIT, visible_visit


@bp.route("/rems/submissions", methods=["GET"])
@bp.arguments(RemsSubmissionQuery, location="query")
@bp.response(200, RemsSubmissionSchema(many=True))
def list_rems_submissions(query: dict[str, Any]):
    """List a site's REMS sessions (due, overdue, submitted, or all), earliest due first."""
    now = utcnow()
    site_id = access.default_site_id(g.user, query.get("site_id"))
    sessions = rems_submissions.list_sessions(g.user, site_id, now, query.get("status"))
    shown = [session.visit.patient_id for session in sessions]
    detail = {"view": "rems_tracker", "status": query.get("status") or "all"}
    audit.listed(g.user, "visit.list", site_id, shown, detail, now=now)
    return sessions


def _tracker_of(visit_id: int) -> None:
    """Refuse a role without the tracker, then a visit the caller may not see."""
    access.require(g.user, "track_rems")
    visible_visit(visit_id)


@writes(
    "POST",
    f"{VISIT}/rems-submission",
    _tracker_of,
    RemsSubmissionSchema,
    201,
    RemsSubmissionSchema,
    conflict=True,
)
def record_rems_submission(body: dict[str, Any], visit_id: int):
    """Mark a REMS session's monitoring form submitted (online or fax, confirmation, when)."""
    return rems_submissions.record_submission(
        g.user,
        visit_id,
        body.get("method"),
        body.get("confirmation"),
        body.get("submitted_at"),
        now=utcnow(),
    )
