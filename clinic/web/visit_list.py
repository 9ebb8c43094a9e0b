"""The visits list across days (search, pages, CSV) and the week view of the board."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    render_template,
    request,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from clinic.domain.visits import Status
from clinic.models import Chair, Site
from clinic.services import frontdesk as desk
from clinic.services import visit_list
from clinic.services.sites import today
from clinic.services.week import load_week
from clinic.types import utcnow
from clinic.web.csv_export import csv_download, csv_lines
from clinic.web.pages import chosen_site, parse_id, visible_sites
from clinic.web.roles import role_required

bp = Blueprint("visits", __name__)

PER_PAGE = 50
FIRST_DAY, LAST_DAY = date(2000, 1, 8), date(2199, 12, 24)  # a week either side stays valid
MAX_PAGE = 100_000
# Filters that may travel in a URL: never the patient search words (no PHI in URLs).
URL_FILTERS = ("site_id", "status", "chair_id", "first_day", "last_day")
CSV_COLUMNS = (
    "visit_id",
    "date",
    "infusion_start",
    "infusion_end",
    "observation_end",
    "chair",
    "status",
    "patient_id",
    "patient",
    "mrn",
    "course",
)


class VisitSearchForm(Form):
    """The search: every field optional, status and chair from allowlists."""

    site_id = SelectField("Site", coerce=int, validators=[Optional()])
    q = StringField("Patient", validators=[Optional(), Length(max=100)])
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")] + [SelectChoice(s.value, s.label) for s in Status],
        validators=[Optional()],
    )
    chair_id = SelectField("Chair", validators=[Optional()])
    first_day = DateField("From", validators=[Optional()])
    last_day = DateField("To", validators=[Optional()])

    def validate_last_day(self, field) -> None:
        """Refuse a range that ends before it starts."""
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError("Must be on or after the first day.")

    def filters(self, site: Site) -> visit_list.VisitFilters:
        """Return the search the form describes, at one site."""
        return visit_list.VisitFilters(
            site_id=site.id,
            query=(self.q.data or "").strip() or None,
            status=self.status.data or None,
            chair_id=parse_id(self.chair_id.data),
            first_day=self.first_day.data,
            last_day=self.last_day.data,
        )


def _bound_form() -> tuple[VisitSearchForm, Site, list[Site], bool]:
    """Bind the form to the posted search, or to the URL's filters (no search words).

    Return the form, its site, the user's sites, and whether it validated. A first visit
    with no filters lists the site's visits from today on.
    """
    sites = visible_sites()
    if request.method == "POST":
        data = request.form
    else:
        data = MultiDict((k, v) for k, v in request.args.items(multi=True) if k in URL_FILTERS)
    site_id = parse_id(data.get("site_id"))
    site = next((s for s in sites if s.id == site_id), None) if site_id else sites[0]
    if site is None:
        abort(404)
    form = VisitSearchForm(formdata=data)
    form.site_id.choices = [SelectChoice(s.id, s.name) for s in sites]
    form.site_id.data = site.id
    chairs = _chairs(site)
    form.chair_id.choices = [SelectChoice("", "Any chair")] + [
        SelectChoice(str(c.id), c.name if c.active else f"{c.name} (out of service)")
        for c in chairs
    ]
    if request.method == "GET" and not data:
        form.first_day.data = today(site, utcnow())
    return form, site, sites, form.validate()


def _chairs(site: Site) -> list[Chair]:
    """Return every infusion chair of the site, out-of-service ones too (their history)."""
    return [c for c in site.chairs if c.kind == "chair"]


def _page() -> int:
    page = request.values.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


@bp.route("/visits", methods=["GET", "POST"])
@role_required("list_visits")
def index():
    """List a site's visits across days; search by patient (posted), status, chair, dates."""
    form, site, sites, valid = _bound_form()
    found = None
    if valid:
        found = visit_list.search(current_user, form.filters(site), _page(), PER_PAGE, utcnow())
    return _list_page(form, site, sites, found, bool(form.q.data and form.q.data.strip()))


def _list_page(form, site: Site, sites: list[Site], found, searched: bool) -> str:
    """Render the visits list with its search form."""
    return render_template(
        "visits/index.html",
        form=form,
        site=site,
        sites=sites,
        found=found,
        tz=ZoneInfo(site.timezone),
        searched=searched,
    )


@bp.post("/visits.csv")
@role_required("list_visits")
def export():
    """Download every visit the search matches as CSV (posted: the search may name a patient)."""
    form, site, sites, valid = _bound_form()
    if not valid:
        return _list_page(form, site, sites, None, False), 422
    now = utcnow()
    # Read every row now, inside the request: the lines are then written without a session.
    rows = list(visit_list.export(current_user, form.filters(site), now))
    return csv_download(_csv_lines(rows, ZoneInfo(site.timezone)), "visits", now)


def _csv_lines(rows: list[visit_list.VisitRow], tz: ZoneInfo) -> Iterator[str]:
    """Yield the CSV: a header, then one line per visit; times site-local."""
    return csv_lines(CSV_COLUMNS, (_cells(row, tz) for row in rows))


def _cells(row: visit_list.VisitRow, tz: ZoneInfo) -> list:
    """Return one visit as CSV cells."""
    start = row.infusion_start.astimezone(tz)
    return [
        row.id,
        start.date().isoformat(),
        start.isoformat(timespec="minutes"),
        row.infusion_end.astimezone(tz).isoformat(timespec="minutes"),
        row.observation_end.astimezone(tz).isoformat(timespec="minutes"),
        row.chair,
        row.status,
        row.patient_id,
        row.patient_name,
        row.mrn,
        "yes" if row.series_id else "",
    ]


@bp.route("/week")
@login_required
def week():
    """Show a site's week: chairs x days, visits and bookable times, each day linked."""
    sites = desk.visible_sites(current_user)
    site = chosen_site(sites)
    if site is None:
        return render_template("frontdesk/no_site.html")
    now = utcnow()
    raw = request.args.get("date")
    day = _parse_day(raw)
    if raw and day is None:
        flash("That is not a date (use YYYY-MM-DD); showing this week.", "warning")
    loaded = load_week(current_user, site.id, day or today(site, now), now)
    first = loaded.days[0]
    return render_template(
        "visits/week.html",
        sites=sites,
        site=site,
        week=loaded,
        today=today(site, now),
        previous=(first - timedelta(days=7)).isoformat(),
        following=(first + timedelta(days=7)).isoformat(),
    )


def _parse_day(raw: str | None) -> date | None:
    """Read a YYYY-MM-DD query value; None when absent or not a plausible date."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None
