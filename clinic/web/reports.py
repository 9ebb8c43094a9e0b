"""The reports page for admins and practitioners: a site and a range of local days (GET),
the four reports as tables and SVG charts, and a CSV download of each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import InputRequired

from clinic.domain.reports import range_problems
from clinic.models import Site
from clinic.services import access, reports
from clinic.services.sites import today
from clinic.types import utcnow
from clinic.web import report_charts
from clinic.web.pages import parse_id, visible_sites
from clinic.web.report_tables import KINDS, TITLES, compute, csv_answer, flat, table
from clinic.web.roles import role_required

bp = Blueprint("reports", __name__)

DEFAULT_DAYS = 28  # a first visit shows the last four weeks, today included
LABELS = {
    "visits": "Visits planned",
    "completed": "Completed",
    "no_shows": "No-shows",
    "cancellations": "Cancellations",
    "late_cancellations": "Late cancellations",
    "infusion_planned_median": "Infusion, planned (median min)",
    "infusion_actual_median": "Infusion, actual (median min)",
    "infusion_actual_p90": "Infusion, actual (p90 min)",
    "recovery_planned_median": "Recovery, planned (median min)",
    "recovery_actual_median": "Recovery, actual (median min)",
    "recovery_actual_p90": "Recovery, actual (p90 min)",
    "overruns": "Overruns (left after the planned end)",
    "overrun_minutes_median": "Overrun (median min)",
    "overrun_minutes_total": "Overrun (total min)",
    "fired": "Alerts fired",
    "acknowledged": "Acknowledged",
    "due_to_ack_median_seconds": "Due → acknowledged (median s)",
    "due_to_discharge_median_minutes": "Due → discharged (median min)",
}


EMPTY = {
    "utilisation": "No chair time was booked or used in these days.",
    "attendance": "No visits were planned in these days.",
    "cycle-times": "No visit was completed in these days.",
    "alerts": "No discharge alert fired in these days.",
}


class RangeForm(Form):
    """A site and two local days, both included (a GET form: it changes nothing)."""

    site_id = SelectField("Site", coerce=int)
    first = DateField("From", name="from", validators=[InputRequired("Give the first day.")])
    last = DateField("To", name="to", validators=[InputRequired("Give the last day.")])

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then the range: in order, within the years, not too long."""
        if not super().validate(extra_validators):
            return False
        problems = range_problems(self.first.data, self.last.data)
        for name, text in problems.items():
            (self.first if name == "from" else self.last).errors.append(text)
        return not problems


def _bound() -> tuple[RangeForm, Site, list[Site], bool]:
    """Bind the form to the query: the site first (another site is a 404), then the days.

    Return the form, its site, the user's sites and whether the days are valid; a first
    visit, with no query, shows the last four weeks.
    """
    sites = visible_sites()
    raw = request.args.get("site_id")
    site = sites[0] if not raw else access.get_site(current_user, parse_id(raw) or 0)
    form = RangeForm(formdata=request.args if request.args else None)
    form.site_id.choices = [SelectChoice(s.id, s.name) for s in sites]
    form.site_id.data = site.id
    if not request.args:
        form.last.data = today(site, utcnow())
        form.first.data = form.last.data - timedelta(days=DEFAULT_DAYS - 1)
        return form, site, sites, True
    return form, site, sites, form.validate()


@bp.route("/reports")
@role_required("view_reports")
def index():
    """Show the four reports of a site over a range of local days."""
    form, site, sites, valid = _bound()
    if not valid:
        return _invalid(form, site, sites)
    now = utcnow()
    span = reports.report_span(current_user, site.id, form.first.data, form.last.data)
    results = {kind: compute(kind, span, now) for kind in KINDS}
    return render_template(
        "reports/index.html",
        form=form,
        site=site,
        sites=sites,
        span=span,
        kinds=KINDS,
        titles=TITLES,
        tables={kind: table(kind, result) for kind, result in results.items()},
        days=results["utilisation"],
        charts=_charts(results),
        empty={kind for kind, result in results.items() if _empty(kind, result)},
        empty_texts=EMPTY,
        labels=LABELS,
        query={"site_id": site.id, "from": span.first, "to": span.last},
    )


def _invalid(form: RangeForm, site: Site, sites: list[Site]) -> tuple[str, int]:
    """Show the form with what is wrong with it, and no figures."""
    return render_template("reports/index.html", form=form, site=site, sites=sites), 422


def _empty(kind: str, result: Any) -> bool:
    """Whether a report has nothing to draw: no chair time in use, or no figure at all."""
    if kind == "utilisation":
        return not any(day.chair_minutes_booked or day.chair_minutes_used for day in result)
    return not any(flat(result).values())


def _charts(results: dict[str, Any]) -> dict[str, Any]:
    """Draw each report's chart."""
    figures = {kind: flat(result) for kind, result in results.items() if kind != "utilisation"}

    def bars(kind: str, names: tuple[str, ...], label: str, unit: str = "") -> Any:
        return report_charts.bar_chart(label, [(LABELS[n], figures[kind][n]) for n in names], unit)

    return {
        "utilisation": report_charts.utilisation_chart(results["utilisation"]),
        "attendance": bars(
            "attendance",
            ("visits", "completed", "no_shows", "cancellations", "late_cancellations"),
            "Visits by outcome",
        ),
        "cycle-times": bars(
            "cycle-times",
            (
                "infusion_planned_median",
                "infusion_actual_median",
                "infusion_actual_p90",
                "recovery_planned_median",
                "recovery_actual_median",
                "recovery_actual_p90",
            ),
            "Planned and actual minutes",
            " min",
        ),
        "alerts": bars("alerts", ("fired", "acknowledged"), "Discharge alerts"),
    }


@bp.route("/reports/<kind>.csv")
@role_required("view_reports")
def export(kind: str):
    """Download one report as CSV, for the page's site and days."""
    if kind not in KINDS:
        abort(404)
    form, site, sites, valid = _bound()
    if not valid:
        return _invalid(form, site, sites)
    now = utcnow()
    span = reports.report_span(current_user, site.id, form.first.data, form.last.data)
    return csv_answer(kind, span, compute(kind, span, now), now)
