"""The REMS 7-day tracker page: a site's REMS sessions due, overdue or submitted, and the
form that marks one submitted (clinic.services.rems_submissions does the work)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateTimeLocalField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from clinic.domain.alarms import REMINDER_KINDS
from clinic.domain.treatments import SubmissionMethod, SubmissionStatus
from clinic.extensions import db
from clinic.models import Notification, Site, User
from clinic.services import access, audit, notifications, rems_submissions
from clinic.services.errors import Conflict, Invalid
from clinic.types import utcnow
from clinic.web.pages import chosen_site, visible_sites
from clinic.web.roles import role_required

bp = Blueprint("rems", __name__)

# The tabs: a status, or every session ("all").
TABS = (*SubmissionStatus.values(), "all")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class SubmissionForm(FlaskForm):
    """Mark a session's monitoring form submitted: how, the REMS's number, when (local)."""

    method = SelectField(
        "Method",
        choices=[SelectChoice(m.value, m.label) for m in SubmissionMethod],
        validators=[InputRequired("Choose online or fax.")],
    )
    confirmation = StringField(
        "Confirmation number",
        validators=[
            InputRequired("Give the confirmation number the REMS gave."),
            Length(max=rems_submissions.MAX_CONFIRMATION),
        ],
    )
    submitted_at = DateTimeLocalField(
        "Submitted at",
        format=LOCAL_FORMAT,
        validators=[InputRequired("Give the date and time the form was sent.")],
    )


def _tab() -> str:
    """Return the tab asked for (?status=), "due" by default; another value is a 404."""
    tab = request.values.get("status") or SubmissionStatus.DUE.value
    if tab not in TABS:
        abort(404)
    return tab


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Read a wall-clock time of the site as an instant (an invalid local time moves on)."""
    if value is None:
        return None
    return value.replace(tzinfo=tz)


def _fresh_form(tz: ZoneInfo) -> SubmissionForm:
    form = SubmissionForm(formdata=None)
    form.submitted_at.data = utcnow().astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)
    return form


def _page(site: Site, sites: list[Site], tab: str, failed: int | None = None, form=None):
    """Render the tracker; `failed` is the session whose form came back with errors."""
    now = utcnow()
    tz = ZoneInfo(site.timezone)
    sessions = rems_submissions.list_sessions(current_user, site.id, now)
    counts = {status: 0 for status in SubmissionStatus.values()}
    for tracked in sessions:
        counts[tracked.status.value] += 1
    shown = [s for s in sessions if tab == "all" or s.status == tab]
    if tab == SubmissionStatus.SUBMITTED:
        shown.sort(key=lambda s: (s.due_on, s.visit_id), reverse=True)  # latest first
    reminded = {
        alert.visit_id for alert in notifications.open_alerts(current_user, site.id, REMINDER_KINDS)
    }
    forms = {
        tracked.visit_id: form if tracked.visit_id == failed and form else _fresh_form(tz)
        for tracked in shown
        if tracked.status != SubmissionStatus.SUBMITTED
    }
    audit.listed(
        current_user,
        "visit.list",
        site.id,
        [tracked.visit.patient_id for tracked in shown],
        {"view": "rems_tracker", "status": tab},
        now=now,
    )
    return render_template(
        "rems/tracker.html",
        site=site,
        sites=sites,
        tab=tab,
        tabs=TABS,
        counts=counts,
        total=len(sessions),
        sessions=shown,
        forms=forms,
        reminded=reminded,
        failed=failed,
        failed_form=form,
        tz=tz,
    )


@bp.get("/rems/submissions")
@role_required("track_rems")
def tracker():
    """List a site's REMS sessions by status, each with its mark-submitted form."""
    sites = visible_sites()
    site = chosen_site(sites)
    if site is None:
        abort(404)
    return _page(site, sites, _tab())


@bp.post("/rems/submissions/<int:visit_id>")
@role_required("track_rems")
def mark_submitted(visit_id: int):
    """Mark one session's form submitted; back to the tracker, or the form with its errors."""
    visit = access.get_visit(current_user, visit_id)  # another site's visit: 404
    site = access.get_site(current_user, visit.site_id)
    sites = visible_sites()
    tab = _tab()
    tz = ZoneInfo(site.timezone)
    form = SubmissionForm()
    if form.validate_on_submit():
        try:
            rems_submissions.record_submission(
                current_user,
                visit.id,
                form.method.data,
                (form.confirmation.data or "").strip(),
                _local(form.submitted_at.data, tz),
                now=utcnow(),
            )
        except (Invalid, Conflict) as error:
            for name, messages in error.fields.items():
                field = getattr(form, name, None)
                if field is not None:
                    field.errors = [*field.errors, *messages]
            if not error.fields:
                form.form_errors.append(error.message)
            status = error.status
        else:
            flash(f"The REMS form of visit {visit.id} is marked submitted.", "success")
            return redirect(url_for("rems.tracker", site_id=site.id, status=tab))
    else:
        status = 422
    return _page(site, sites, tab, failed=visit.id, form=form), status


def tracker_nav(user: User) -> int | None:
    """Return how many REMS reminders are open for the user's sites, or None to hide the link.

    The link shows for staff of a REMS-certified site (an administrator: of any site).
    """
    certified = access.scope_to_sites(
        user, select(Site.id).where(Site.rems_certified_on.is_not(None)), Site.id
    )
    if db.session.scalar(certified.limit(1)) is None:
        return None
    open_reminders = access.scope_to_sites(
        user,
        select(func.count(Notification.id)).where(
            Notification.kind.in_([str(kind) for kind in REMINDER_KINDS]),
            Notification.resolved_at.is_(None),
            Notification.acknowledged_at.is_(None),
        ),
        Notification.site_id,
    )
    return int(db.session.scalar(open_reminders) or 0)


@bp.app_context_processor
def rems_navigation() -> dict:
    """Give the navigation bar the tracker link (with its open reminders) when it applies."""

    def nav() -> int | None:
        if not current_user.is_authenticated or not access.can(current_user, "track_rems"):
            return None
        return tracker_nav(current_user)

    return {"rems_tracker_nav": nav}
