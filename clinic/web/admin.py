"""Administration: sites, chairs, shifts and users."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from clinic.domain.roles import SHIFT_ROLES, Role
from clinic.models import Site
from clinic.services import access, chair_moves, setup, staff
from clinic.services.errors import Conflict, Invalid
from clinic.services.site_settings import reminders_of
from clinic.services.sites import WEEKDAYS, today
from clinic.types import utcnow
from clinic.web.admin_forms import (
    ActionForm,
    ChairForm,
    PasswordResetForm,
    RenameChairForm,
    ShiftForm,
    SiteForm,
    UserForm,
)
from clinic.web.dates import hm, hm_until
from clinic.web.forms import show_refusal
from clinic.web.roles import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Weeks outside these years are refused (date arithmetic near year 1 or 9999 overflows).
ROSTER_YEARS = (2000, 2100)
# Where a service's field names land on the site form.
SITE_FIELD_FOR = {
    "infusion_minutes": "infusion_default",
    "observation_minutes": "observation_default",
    "vital_thresholds": "bp_critical_systolic",
    "rems_certification": "rems_certified_on",
    "reminders": "reminder_hours",
}


@bp.before_request
@role_required("administer")
def require_admin():
    """Let only administrators in (403 for everyone else)."""


def _site(site_id: int) -> Site:
    """Load a site (administrators see every site)."""
    return access.get_site(current_user, site_id)


# ---------------------------------------------------------------- overview


@bp.route("/")
@bp.route("")
def index():
    """Show the administration overview."""
    sites = setup.list_sites(current_user)
    users = staff.list_users()
    chairs = setup.list_chairs(current_user, None)
    return render_template(
        "admin/index.html",
        sites=sites,
        user_count=sum(1 for user in users if user.active),
        chair_count={
            site.id: sum(1 for c in chairs if c.site_id == site.id and c.active) for site in sites
        },
    )


# ---------------------------------------------------------------- sites


@bp.route("/sites")
def sites():
    """List the sites."""
    return render_template("admin/sites.html", sites=setup.list_sites(current_user))


@bp.route("/sites/new", methods=["GET", "POST"])
def new_site():
    """Open a new site."""
    form = SiteForm(data=setup.SITE_DEFAULTS)
    if not form.is_submitted():
        form.fill(setup.SITE_DEFAULTS["opening_hours"])
        form.fill_reminders(reminders_of(None))
    if form.validate_on_submit():
        try:
            site = setup.save_site(None, form.values(), now=utcnow(), actor=current_user)
        except Invalid as error:
            show_refusal(form, error, SITE_FIELD_FOR)
        else:
            flash(f"{site.name} is set up. Add its chairs next.", "success")
            return redirect(url_for("admin.chairs", site_id=site.id))
    return render_template("admin/site_form.html", form=form, site=None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
def site(site_id: int):
    """Change a site's settings."""
    site = _site(site_id)
    # The thresholds are not columns of the site: they come in as data beside it.
    form = SiteForm(obj=site, data=setup.site_values(site))
    if not form.is_submitted():
        form.fill(site.opening_hours)
        form.fill_reminders(reminders_of(site.reminders))
    if form.validate_on_submit():
        try:
            setup.save_site(site, form.values(), now=utcnow(), actor=current_user)
        except Invalid as error:
            show_refusal(form, error, SITE_FIELD_FOR)
        else:
            flash("The settings are saved.", "success")
            return redirect(url_for("admin.site", site_id=site.id))
    return render_template("admin/site_form.html", form=form, site=site)


# ---------------------------------------------------------------- chairs


@bp.route("/sites/<int:site_id>/chairs", methods=["GET", "POST"])
def chairs(site_id: int):
    """List a site's chairs and bays, and add one."""
    site = _site(site_id)
    form = ChairForm()
    if form.validate_on_submit():
        try:
            chair = setup.save_chair(
                None,
                {"site_id": site.id, "name": form.name.data, "kind": form.kind.data},
                now=utcnow(),
                actor=current_user,
            )
        except Invalid as error:
            show_refusal(form, error)
        else:
            flash(f"{chair.name} is added.", "success")
            return redirect(url_for("admin.chairs", site_id=site.id))
    return _chairs_page(site, form)


def _chairs_page(site: Site, form: ChairForm, **panel):
    """Render the chairs page; `panel` describes a chair that could not leave service (a
    normal answer: the page offers the next step)."""
    page = render_template(
        "admin/chairs.html",
        site=site,
        form=form,
        chairs=setup.list_chairs(current_user, site.id),
        action=ActionForm(),
        tz=ZoneInfo(site.timezone),
        **panel,
    )
    return page


@bp.route("/sites/<int:site_id>/chairs/<int:chair_id>/rename", methods=["POST"])
def rename_chair(site_id: int, chair_id: int):
    """Rename a chair or bay."""
    site = _site(site_id)
    chair = setup.get_chair(site, chair_id)
    form = RenameChairForm()
    if form.validate_on_submit():
        try:
            setup.save_chair(chair, {"name": form.name.data}, now=utcnow(), actor=current_user)
        except Invalid as error:
            problems = [m for messages in error.fields.values() for m in messages]
            flash(" ".join(problems) or error.message, "danger")
        else:
            flash("The chair is renamed.", "success")
    else:
        flash("A chair needs a name of at most 60 characters.", "danger")
    return redirect(url_for("admin.chairs", site_id=site.id))


@bp.route("/sites/<int:site_id>/chairs/<int:chair_id>/active", methods=["POST"])
def toggle_chair(site_id: int, chair_id: int):
    """Take a chair out of service (refused while visits need it), or put it back."""
    site = _site(site_id)
    chair = setup.get_chair(site, chair_id)
    if ActionForm().validate_on_submit():
        try:
            setup.save_chair(chair, {"active": not chair.active}, now=utcnow(), actor=current_user)
        except setup.ChairInUse as refusal:
            return _chairs_page(
                site, ChairForm(formdata=None), blocked=chair, needing=refusal.visits
            )
        state = "back in service" if chair.active else "out of service"
        flash(f"{chair.name} is {state}.", "success")
    return redirect(url_for("admin.chairs", site_id=site.id))


@bp.route("/sites/<int:site_id>/chairs/<int:chair_id>/move-visits", methods=["POST"])
def move_chair_visits(site_id: int, chair_id: int):
    """Move each visit of a chair to another free chair at the same time, then retire it."""
    site = _site(site_id)
    chair = setup.get_chair(site, chair_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        moved = chair_moves.move_visits_and_retire(current_user, chair, utcnow())
    except chair_moves.VisitsCannotMove as refusal:
        chair = setup.get_chair(site, chair_id)
        return _chairs_page(
            site,
            ChairForm(formdata=None),
            blocked=chair,
            needing=setup.visits_needing(chair, utcnow()),
            stuck={item.visit.id: item.reasons for item in refusal.stuck},
        )
    count = len(moved)
    flash(
        f"{count} visit{'s' if count != 1 else ''} moved; {chair.name} is out of service.",
        "success",
    )
    return redirect(url_for("admin.chairs", site_id=site.id))


# ---------------------------------------------------------------- shifts


def _week_start(site, text: str | None) -> date:
    """Return the Monday of the asked week (this week when absent or unreadable)."""
    day = today(site, utcnow())
    if text:
        try:
            asked = date.fromisoformat(text)
        except ValueError:
            asked = None
        if asked is not None and ROSTER_YEARS[0] <= asked.year <= ROSTER_YEARS[1]:
            day = asked
        else:
            flash("That week could not be read; showing this week.", "warning")
    return day - timedelta(days=day.weekday())


def _local_instant(day: date, clock, tz: ZoneInfo) -> datetime | None:
    """Return the UTC instant of a local wall-clock time, or None if the clocks skip it."""
    local = datetime.combine(day, clock, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def _staff_choices(site) -> list[SelectChoice]:
    """Offer the active staff of the site who can be rostered."""
    people = [
        user
        for user in staff.list_users()
        if user.active and user.role in SHIFT_ROLES and site.id in user.site_ids
    ]
    people.sort(key=lambda user: (SHIFT_ROLES.index(user.role), user.name))
    return [SelectChoice(user.id, f"{user.name} · {Role.label_of(user.role)}") for user in people]


@bp.route("/sites/<int:site_id>/shifts", methods=["GET", "POST"])
def shifts(site_id: int):
    """Show a week of shifts as a grid, and add a shift in site-local time."""
    site = _site(site_id)
    tz = ZoneInfo(site.timezone)
    week = _week_start(site, request.args.get("week"))
    form = ShiftForm()
    form.user_id.choices = _staff_choices(site)
    if not form.is_submitted():
        local_today = today(site, utcnow())
        form.day.data = local_today if week <= local_today < week + timedelta(days=7) else week
    if form.validate_on_submit():
        starts = _local_instant(form.day.data, form.starts.data, tz)
        ends = _local_instant(form.day.data, form.ends.data, tz)
        if starts is None or ends is None:
            field = form.starts if starts is None else form.ends
            field.errors.append("The clocks skip this time on that day (daylight saving).")
        else:
            try:
                setup.add_shift(
                    site.id,
                    form.user_id.data,
                    form.role.data or None,
                    starts,
                    ends,
                    now=utcnow(),
                    actor=current_user,
                )
            except Invalid as error:
                show_refusal(form, error, {"ends_at": "ends", "starts_at": "starts"})
            else:
                flash("The shift is added.", "success")
                day = form.day.data
                monday = day - timedelta(days=day.weekday())
                return redirect(url_for("admin.shifts", site_id=site.id, week=monday.isoformat()))
    days = []
    for offset in range(7):
        day = week + timedelta(days=offset)
        blocks = []
        for shift in setup.list_shifts(current_user, site.id, day):
            local_start, local_end = shift.starts_at.astimezone(tz), shift.ends_at.astimezone(tz)
            blocks.append(
                {
                    "shift": shift,
                    "start": hm(shift.starts_at, tz),
                    "end": hm_until(shift.ends_at, tz, shift.starts_at),
                    "from_before": local_start.date() < day,
                    "past_midnight": local_end.date() > day
                    and local_end.time() != datetime.min.time(),
                }
            )
        hours = (site.opening_hours or {}).get(WEEKDAYS[offset])
        days.append(
            {
                "date": day,
                "hours": hours,
                "blocks": blocks,
                "nurses": len(
                    {b["shift"].user_id for b in blocks if b["shift"].role == Role.NURSE}
                ),
                "practitioners": len(
                    {b["shift"].user_id for b in blocks if b["shift"].role == Role.PRACTITIONER}
                ),
                "is_today": day == today(site, utcnow()),
            }
        )
    return render_template(
        "admin/shifts.html",
        site=site,
        form=form,
        days=days,
        week=week,
        prev_week=(week - timedelta(days=7)).isoformat(),
        next_week=(week + timedelta(days=7)).isoformat(),
        this_week=_week_start(site, None).isoformat(),
        action=ActionForm(),
    )


@bp.route("/sites/<int:site_id>/shifts/<int:shift_id>/delete", methods=["POST"])
def delete_shift(site_id: int, shift_id: int):
    """Take a shift off the roster."""
    site = _site(site_id)
    shift = setup.get_shift(site, shift_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    day = shift.starts_at.astimezone(ZoneInfo(site.timezone)).date()
    setup.delete_shift(shift, now=utcnow(), actor=current_user)
    flash("The shift is removed.", "success")
    monday = day - timedelta(days=day.weekday())
    return redirect(url_for("admin.shifts", site_id=site.id, week=monday.isoformat()))


# ---------------------------------------------------------------- users


def _site_choices(form: UserForm) -> None:
    """Offer every site as a checkbox."""
    form.site_ids.choices = [
        SelectChoice(site.id, site.name) for site in setup.list_sites(current_user)
    ]


@bp.route("/users")
def users():
    """List the staff."""
    people = sorted(staff.list_users(), key=lambda u: (not u.active, u.name.lower(), u.id))
    return render_template("admin/users.html", users=people)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user with a role, sites and an initial password."""
    form = UserForm()
    _site_choices(form)
    if form.validate_on_submit():
        try:
            user = staff.create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.site_ids.data,
                password=form.password.data,
                active=form.active.data,
                now=utcnow(),
                actor=current_user,
            )
        except Conflict as error:
            form.email.errors.append(error.message)
        except Invalid as error:
            show_refusal(form, error)
        else:
            flash(f"{user.name} can now sign in.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Change a user's name, e-mail, role, sites or activity."""
    user = staff.get_user(user_id)
    form = UserForm(
        obj=user, data=None if request.method == "POST" else {"site_ids": user.site_ids}
    )
    del form.password
    _site_choices(form)
    reset = PasswordResetForm(formdata=None)
    if form.validate_on_submit():
        changes = {
            "email": form.email.data,
            "name": form.name.data,
            "role": form.role.data,
            "active": form.active.data,
            "site_ids": form.site_ids.data,
        }
        try:
            staff.update_user(user, changes, actor=current_user, now=utcnow())
        except Conflict as error:
            # An account rule (own role, last administrator) or a taken e-mail address.
            if error.reasons:
                form.form_errors.extend(reason.message for reason in error.reasons)
            else:
                form.email.errors.append(error.message)
        except Invalid as error:
            show_refusal(form, error)
        else:
            flash("The user is saved.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, reset=reset)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    """Give a user a new password."""
    user = staff.get_user(user_id)
    reset = PasswordResetForm()
    if reset.validate_on_submit():
        try:
            staff.update_user(
                user, {"password": reset.password.data}, now=utcnow(), actor=current_user
            )
        except Invalid as error:
            show_refusal(reset, error)
        else:
            flash("The password is reset. Tell the user through a safe channel.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    form = UserForm(obj=user, formdata=None)
    del form.password
    _site_choices(form)
    return render_template("admin/user_form.html", form=form, user=user, reset=reset)
