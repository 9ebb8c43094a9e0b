"""The owner's reports (API.md, "Reports and interoperability"): JSON, or CSV with ?format=csv.

Admins and practitioners only; a site the caller does not work at is a 404, a bad or too
long range of days a 422 (at most clinic.domain.reports.MAX_REPORT_DAYS local days).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from marshmallow import fields, validate

from clinic.domain.reports import MAX_REPORT_DAYS
from clinic.services import reports
from clinic.types import utcnow
from clinic.web.api import bp, requires
from clinic.web.api.fields import Day, Id
from clinic.web.api.schemas import ApiSchema
from clinic.web.report_tables import compute, csv_answer


class ReportQuery(ApiSchema):
    """?site_id=&from=&to=&format=: site-local dates, both included."""

    site_id = Id(strict=False)
    first = Day(required=True, data_key="from", metadata={"description": "First local day."})
    last = Day(
        required=True,
        data_key="to",
        metadata={"description": f"Last local day, included; at most {MAX_REPORT_DAYS} days."},
    )
    format = fields.String(validate=validate.OneOf(["json", "csv"]))


class UtilisationDaySchema(ApiSchema):
    """One local day's chair minutes: open, booked (planned), used (check-in to release)."""

    date = fields.Date(required=True)
    chair_minutes_open = fields.Integer(required=True)
    chair_minutes_booked = fields.Integer(required=True)
    chair_minutes_used = fields.Integer(required=True)


class AttendanceSchema(ApiSchema):
    """What became of the visits planned in the range."""

    visits = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    cancellations = fields.Integer(required=True)
    late_cancellations = fields.Integer(
        required=True,
        metadata={"description": "Cancelled inside the site's cancel_window_hours."},
    )


class CycleTimeSchema(ApiSchema):
    """Planned against actual minutes of one phase (null with no completed visit)."""

    planned_median = fields.Float(required=True, allow_none=True)
    actual_median = fields.Float(required=True, allow_none=True)
    actual_p90 = fields.Float(required=True, allow_none=True)


class CycleTimesSchema(ApiSchema):
    """Infusion and recovery minutes; overruns: discharged after the planned observation end."""

    infusion = fields.Nested(CycleTimeSchema, required=True)
    recovery = fields.Nested(CycleTimeSchema, required=True)
    overruns = fields.Integer(required=True)
    overrun_minutes_median = fields.Float(required=True, allow_none=True)
    overrun_minutes_total = fields.Integer(required=True)


class AlertFiguresSchema(ApiSchema):
    """Discharge alerts due in the range and how fast they were answered."""

    fired = fields.Integer(required=True)
    acknowledged = fields.Integer(required=True)
    due_to_ack_median_seconds = fields.Float(required=True, allow_none=True)
    due_to_discharge_median_minutes = fields.Float(required=True, allow_none=True)


def _report(kind: str, query: dict[str, Any]) -> Any:
    """Compute a report for the caller: the figures, or a CSV download."""
    now = utcnow()
    span = reports.report_span(g.user, query.get("site_id"), query["first"], query["last"])
    result = compute(kind, span, now)
    return csv_answer(kind, span, result, now) if query.get("format") == "csv" else result


def _csv_too(schema: Any) -> Callable[[Any], Any]:
    """Document the 200 answer as the schema's JSON or, with ?format=csv, text/csv."""
    return bp.doc(
        responses={
            "200": {
                "content": {
                    "application/json": {"schema": schema},
                    "text/csv": {"schema": {"type": "string"}},
                },
                "description": "The report; with ?format=csv the same figures as text/csv.",
            }
        }
    )


def _route(kind: str, schema: Any, view: Callable[[dict[str, Any]], Any]) -> None:
    """Declare one report's operation: the role is refused (403) before the query is read."""
    documented = bp.response(200, schema)(_csv_too(schema)(view))
    answered = bp.arguments(ReportQuery, location="query")(documented)
    bp.route(f"/reports/{kind}", methods=["GET"])(requires("view_reports")(answered))


def report_utilisation(query: dict[str, Any]):
    """Chair minutes per local day: open, booked and used (CSV with ?format=csv)."""
    return _report("utilisation", query)


def report_attendance(query: dict[str, Any]):
    """Visits, completed, no-shows, cancellations and late cancellations (or CSV)."""
    return _report("attendance", query)


def report_cycle_times(query: dict[str, Any]):
    """Planned and actual infusion and recovery minutes, and overruns (or CSV)."""
    return _report("cycle-times", query)


def report_alerts(query: dict[str, Any]):
    """Discharge alerts fired and acknowledged, and their median answer times (or CSV)."""
    return _report("alerts", query)


_route("utilisation", UtilisationDaySchema(many=True), report_utilisation)
_route("attendance", AttendanceSchema, report_attendance)
_route("cycle-times", CycleTimesSchema, report_cycle_times)
_route("alerts", AlertFiguresSchema, report_alerts)
