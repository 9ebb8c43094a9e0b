"""The front desk's day board and its print view."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import flash, render_template, request
from flask_login import current_user, login_required

from clinic.models import Site, Visit
from clinic.services import access, audit, patient_messages
from clinic.services import frontdesk as desk
from clinic.services.dashboard import load_dashboard
from clinic.services.sites import today
from clinic.types import utcnow
from clinic.web.board import lay_out, status_counts
from clinic.web.dates import hm
from clinic.web.frontdesk import bp, parse_day
from clinic.web.pages import chosen_site


def _chosen_day(site: Site) -> date:
    """Return the day named by ?date=, or the site's today (with a note if it was bad)."""
    raw = request.args.get("date")
    day = parse_day(raw)
    if raw and day is None:
        flash("That is not a date (use YYYY-MM-DD); showing today.", "warning")
    return day or today(site, utcnow())


def _chosen_day_of(sites: list[Site]) -> desk.Day | None:
    """Load the day the query names at the site it names; None when the user has no site."""
    site = chosen_site(sites)
    return None if site is None else desk.load_day(current_user, site.id, _chosen_day(site))


@bp.route("/")
@login_required
def board():
    """Show one site-local day: chairs and bays by time, every visit as blocks."""
    sites = desk.visible_sites(current_user)
    loaded = _chosen_day_of(sites)
    if loaded is None:
        return render_template("frontdesk/no_site.html")
    site, day, now = loaded.site, loaded.day, utcnow()
    bookable = access.can(current_user, "book")
    return render_template(
        "frontdesk/board.html",
        overruns=_overruns(site, now, tz=loaded.tz),
        sites=sites,
        site=site,
        day=day,
        today=today(site, now),
        loaded=loaded,
        board=lay_out(loaded, now, bookable),
        counts=status_counts(loaded.visits),
        to_call=patient_messages.to_call(current_user, site.id, now),
        bookable=bookable,
        tz=loaded.tz,
    )


def _overruns(site: Site, now: datetime, tz: ZoneInfo) -> dict[int, str]:
    """Return visit id -> a warning, for each visit in care now that runs into its chair's or
    bay's next booking (the dashboard's computation)."""
    warnings: dict[int, str] = {}
    for row in load_dashboard(current_user, site.id, now).rows:
        parts = [
            f"Running {minutes} min over: {name}'s next patient at "
            f"{hm(booking.starts_at, tz)} is affected."
            for minutes, booking, name in (
                (row.chair_clash_minutes, row.next_chair_booking, row.chair),
                (row.bay_clash_minutes, row.next_bay_booking, row.recovery_chair),
            )
            if minutes and booking
        ]
        if parts:
            warnings[row.visit.id] = " ".join(parts)
    return warnings


@bp.route("/print")
@login_required
def print_day():
    """Show a printable list of the day's visits by chair and time."""
    loaded = _chosen_day_of(desk.visible_sites(current_user))
    if loaded is None:
        return render_template("frontdesk/no_site.html")
    site, day = loaded.site, loaded.day
    shown = [visit.patient_id for visit in loaded.visits]
    audit.listed(
        current_user, "visit.list", site.id, shown, {"view": "print", "date": day}, now=utcnow()
    )
    names = {chair.id: chair.name for chair in loaded.chairs + loaded.bays}
    by_chair: dict[int, list[Visit]] = {chair.id: [] for chair in loaded.chairs}
    for visit in loaded.visits:
        by_chair.setdefault(visit.chair_id, []).append(visit)
    return render_template(
        "frontdesk/print.html",
        site=site,
        day=day,
        loaded=loaded,
        by_chair=[(names.get(cid, f"Chair {cid}"), vs) for cid, vs in by_chair.items()],
        names=names,
        tz=loaded.tz,
        printed_at=utcnow(),
    )
