"""The four reports as tables: one place that computes them and lays them out for the
page, the CSV export and the API's ?format=csv."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Response

from clinic.services import reports
from clinic.web.csv_export import csv_download, csv_lines

KINDS = ("utilisation", "attendance", "cycle-times", "alerts")
TITLES = {
    "utilisation": "Chair utilisation",
    "attendance": "Attendance",
    "cycle-times": "Cycle times",
    "alerts": "Discharge alerts",
}
UTILISATION_COLUMNS = ["date", "chair_minutes_open", "chair_minutes_booked", "chair_minutes_used"]

_COMPUTE: dict[str, Callable[[reports.Span, datetime], Any]] = {
    "utilisation": reports.utilisation,
    "attendance": lambda span, now: reports.attendance(span),
    "cycle-times": lambda span, now: reports.cycle_times(span),
    "alerts": lambda span, now: reports.alerts(span),
}


def compute(kind: str, span: reports.Span, now: datetime) -> Any:
    """Compute one report over the span."""
    return _COMPUTE[kind](span, now)


def flat(figures: Any) -> dict[str, Any]:
    """Return a report's figures as one level of names ("infusion_actual_median")."""
    out: dict[str, Any] = {}
    for name, value in asdict(figures).items():
        if isinstance(value, dict):
            out |= {f"{name}_{inner}": v for inner, v in value.items()}
        else:
            out[name] = value
    return out


def table(kind: str, result: Any) -> tuple[list[str], list[list[Any]]]:
    """Return a report's header and rows: a row per day, or one row of figures."""
    if kind == "utilisation":
        rows = [[getattr(day, name) for name in UTILISATION_COLUMNS] for day in result]
        for row in rows:
            row[0] = row[0].isoformat()
        return UTILISATION_COLUMNS, rows
    figures = flat(result)
    return list(figures), [list(figures.values())]


def csv_answer(kind: str, span: reports.Span, result: Any, now: datetime) -> Response:
    """Answer a report as a CSV download named after the report and its site."""
    header, rows = table(kind, result)
    prefix = f"report-{kind}-site{span.site.id}-{span.first.isoformat()}-{span.last.isoformat()}"
    return csv_download(csv_lines(header, rows), prefix, now)
