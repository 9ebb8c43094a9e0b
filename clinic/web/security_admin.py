"""Administration of sign-in security: two-factor by role, automatic logoff, locked
accounts, and the wall displays' read-only links."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.domain.roles import Role
from clinic.extensions import db
from clinic.models import User
from clinic.services import access, display_links, setup, staff, tokens, totp
from clinic.services.auth import audit_event, unlock
from clinic.services.errors import Invalid
from clinic.types import utcnow
from clinic.web.roles import role_required

bp = Blueprint("security_admin", __name__, url_prefix="/admin")

IDLE_MINUTES_RANGE = (2, 60)


class TotpRolesForm(FlaskForm):
    """The roles whose members must sign in with a second factor."""

    roles = SelectMultipleField(
        "Require two-factor sign-in for",
        choices=[SelectChoice(role.value, role.label) for role in Role],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField("Save")


class IdleTimeoutForm(FlaskForm):
    """A site's automatic logoff."""

    minutes = IntegerField(
        "Sign out after (minutes without activity)",
        validators=[InputRequired(), NumberRange(*IDLE_MINUTES_RANGE)],
    )
    submit = SubmitField("Save")


class DisplayLinkForm(FlaskForm):
    """A new wall display: which site, and a name to recognise it by."""

    site_id = SelectField("Site", coerce=int, validators=[DataRequired()])
    label = StringField(
        "Name", validators=[DataRequired(), Length(max=120)], description="e.g. Recovery wall"
    )
    submit = SubmitField("Create link")


class ActionForm(FlaskForm):
    """A button that posts (only the CSRF token)."""


@bp.app_context_processor
def lock_state() -> dict:
    """Let the users pages show which accounts are locked now, and a user's API tokens."""
    return {
        "is_locked": lambda user: user.is_locked(utcnow()),
        "api_tokens_of": tokens.list_for,
        "token_now": utcnow,
    }


@bp.before_request
@role_required("administer")
def require_admin():
    """Let only administrators in (403 for everyone else)."""


def _locked_users() -> list[User]:
    """Return the accounts locked now by failed sign-ins."""
    now = utcnow()
    users = db.session.scalars(select(User).where(User.locked_until > now).order_by(User.name))
    return list(users)


def _security_page(roles_form=None, idle_forms=None):
    """Render the security settings page."""
    sites = setup.list_sites(current_user)
    forms = idle_forms or {}
    return render_template(
        "auth/admin_security.html",
        roles_form=roles_form or TotpRolesForm(data={"roles": sorted(totp.required_roles())}),
        sites=sites,
        idle_forms={
            site.id: forms.get(site.id)
            or IdleTimeoutForm(formdata=None, data={"minutes": site.idle_timeout_minutes})
            for site in sites
        },
        locked=_locked_users(),
        action=ActionForm(formdata=None),
    )


@bp.get("/security")
def security():
    """Show two-factor requirements, automatic logoff per site and locked accounts."""
    return _security_page()


@bp.post("/security/two-factor")
def two_factor_roles():
    """Require a second factor for the chosen roles."""
    form = TotpRolesForm()
    if form.validate_on_submit():
        totp.set_required_roles(current_user, set(form.roles.data or []), utcnow())
        flash("Two-factor requirements saved.", "success")
        return redirect(url_for("security_admin.security"))
    return _security_page(roles_form=form), 422


@bp.post("/security/sites/<int:site_id>/idle-timeout")
def idle_timeout(site_id: int):
    """Set a site's automatic logoff."""
    site = access.get_site(current_user, site_id)
    form = IdleTimeoutForm()
    if form.validate_on_submit():
        site.idle_timeout_minutes = form.minutes.data
        audit_event(
            current_user,
            "admin.site.update",
            utcnow(),
            object_type="site",
            object_id=site.id,
            detail={"fields": ["idle_timeout_minutes"]},
        )
        db.session.commit()
        flash(f"{site.name} now signs out after {form.minutes.data} idle minutes.", "success")
        return redirect(url_for("security_admin.security"))
    return _security_page(idle_forms={site.id: form}), 422


@bp.post("/users/<int:user_id>/unlock")
def unlock_user(user_id: int):
    """Unlock an account locked by failed sign-ins."""
    user = staff.get_user(user_id)
    if ActionForm().validate_on_submit():
        unlock(current_user, user, utcnow())
        flash(f"{user.name} can sign in again.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
def revoke_user_token(user_id: int, token_id: int):
    """Revoke one of a user's API tokens."""
    user = staff.get_user(user_id)
    row = tokens.get_for_owner(user, token_id)
    if ActionForm().validate_on_submit():
        tokens.revoke(current_user, row, utcnow())
        flash(f"The token “{row.name}” of {user.name} is revoked.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


# ---------------------------------------------------------------- display links


def _links_page(form: DisplayLinkForm, new_url: str | None = None):
    """Render the display links page."""
    return render_template(
        "auth/display_links.html",
        form=form,
        links=display_links.list_links(),
        new_url=new_url,
        action=ActionForm(formdata=None),
    )


@bp.route("/display-links", methods=["GET", "POST"])
def display_link_list():
    """List the wall displays' links and make a new one (its address is shown only once)."""
    choices = [SelectChoice(s.id, s.name) for s in setup.list_sites(current_user)]
    form = DisplayLinkForm()
    form.site_id.choices = choices
    if form.validate_on_submit():
        try:
            _link, token = display_links.create(
                current_user, form.site_id.data, form.label.data, utcnow()
            )
        except Invalid as error:
            form.label.errors = [*form.label.errors, error.message]
        else:
            new_url = url_for("display.link", token=token, _external=True)
            flash("The link is made. Copy it now: it is not shown again.", "success")
            fresh = DisplayLinkForm(formdata=None)
            fresh.site_id.choices = choices
            return _links_page(fresh, new_url)
    return _links_page(form)


@bp.post("/display-links/<int:link_id>/revoke")
def revoke_display_link(link_id: int):
    """Revoke a display link: its wall goes blank at the next refresh."""
    if ActionForm().validate_on_submit():
        link = display_links.revoke(current_user, link_id, utcnow())
        flash(f"The link “{link.label}” is revoked.", "success")
    return redirect(url_for("security_admin.display_link_list"))
