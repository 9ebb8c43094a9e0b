"""Sign in (password, then a TOTP code when enrolled or required), sign out, own security."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from clinic.extensions import login_manager
from clinic.models import User
from clinic.services import calendar_feeds, pending_sign_ins, sessions, tokens, totp
from clinic.services.auth import (
    LOCKOUT_PERIOD,
    MIN_PASSWORD_LENGTH,
    Step,
    attempt_sign_in,
    change_own_password,
    register_failure,
)
from clinic.services.errors import Invalid
from clinic.types import utcnow
from clinic.web.security import SESSION_KEY, reset_session

bp = Blueprint("auth", __name__)

# The session cookie holds only the random id of the server-side pending sign-in.
PENDING_KEY = "pending"
LOCK_MINUTES = int(LOCKOUT_PERIOD.total_seconds() // 60)
LOCKED_MESSAGE = (
    "This account is locked after too many failed sign-ins. Try again in "
    f"{LOCK_MINUTES} minutes or ask an administrator to unlock it."
)
# The password step says the same for an unknown e-mail, a wrong password, a disabled and a
# locked account: the answer never tells whether an account exists.
REFUSED_MESSAGE = (
    "Wrong e-mail or password. An account is locked after too many failed sign-ins: "
    f"then try again in {LOCK_MINUTES} minutes or ask an administrator to unlock it."
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user of the request's live server-side session (checked before the view)."""
    row = g.get("auth_session")
    if row is None or str(row.user_id) != user_id:
        return None
    return row.user


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Sign in")


class CodeForm(FlaskForm):
    """A six-digit code from an authenticator app."""

    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Six digits.")],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 7},
    )
    submit = SubmitField("Continue")


class PasswordChangeForm(FlaskForm):
    """The current password and a new one, twice."""

    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters; not a common password.",
    )
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", message="The two do not match.")]
    )
    submit = SubmitField("Change password")


class DisableTwoFactorForm(CodeForm):
    """The password and a current code: turning the second factor off takes both."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Turn off")


class ActionForm(FlaskForm):
    """A button that posts (only the CSRF token)."""


def _safe_next(target: str | None) -> str:
    """Return a same-site path to continue to after signing in."""
    # Control characters (CR/LF above all) could not go into a Location header: ignore them.
    if target and any(ord(c) < 32 or ord(c) == 127 for c in target):
        target = None
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("frontdesk.board")


# ---------------------------------------------------------------- signing in


def _finish_sign_in(user: User, next_url: str | None, message: str | None = None):
    """Start a server-side session for the user and continue where they were going."""
    target = _safe_next(next_url)
    pending_sign_ins.discard(session.get(PENDING_KEY))
    reset_session()  # a new cookie for a new session: nothing carries over
    row, token = sessions.sign_in(user, utcnow(), request.remote_addr, request.user_agent.string)
    session[SESSION_KEY] = token
    g.auth_session = row
    login_user(user)
    if message:
        flash(message, "success")
    return redirect(target)


def _set_pending(user: User, step: Step, next_url: str | None) -> None:
    """Remember on the server, for a few minutes, who passed the password step and what next."""
    pending_sign_ins.discard(session.get(PENDING_KEY))
    session[PENDING_KEY] = pending_sign_ins.begin(user, str(step), next_url, utcnow())


def _pending(step: Step) -> tuple[User | None, str | None]:
    """Return the user half-way through signing in at this step, and where they go next."""
    row = pending_sign_ins.find(session.get(PENDING_KEY), str(step), utcnow())
    if row is None:
        session.pop(PENDING_KEY, None)
        return None, None
    return row.user, row.next_url


def _start_again(message: str, category: str = "info"):
    """Drop a half-finished sign-in and go back to the password form."""
    pending_sign_ins.discard(session.pop(PENDING_KEY, None))
    flash(message, category)
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and check the e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("frontdesk.board"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = attempt_sign_in(form.email.data, form.password.data, utcnow())
        next_url = request.args.get("next")
        if attempt.step is Step.SIGNED_IN:
            return _finish_sign_in(attempt.user, next_url)
        if attempt.step is Step.SECOND_FACTOR:
            _set_pending(attempt.user, attempt.step, next_url)
            return redirect(url_for("auth.two_factor"))
        if attempt.step is Step.ENROL:
            totp.begin_enrolment(attempt.user)
            _set_pending(attempt.user, attempt.step, next_url)
            return redirect(url_for("auth.enrol"))
        flash(REFUSED_MESSAGE, "danger")
    return render_template("auth/login.html", form=form)


def _code_step(
    form: CodeForm,
    user: User,
    next_url: str | None,
    accepts: Callable[[User, str, datetime], bool],
    locks: Callable[[User, datetime], bool],
    wrong: str,
    done: str | None = None,
):
    """Check a posted code: finish signing in, start again once locked, or say it is wrong."""
    if not form.validate_on_submit():
        return None
    now = utcnow()
    if user.is_locked(now):
        return _start_again(LOCKED_MESSAGE, "danger")
    if accepts(user, form.code.data, now):
        return _finish_sign_in(user, next_url, done)
    if locks(user, now):
        return _start_again(LOCKED_MESSAGE, "danger")
    form.code.errors.append(wrong)
    return None


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor():
    """Ask for the code of a user who has passed the password step."""
    user, next_url = _pending(Step.SECOND_FACTOR)
    if user is None:
        return _start_again("Sign in with your e-mail and password first.")
    form = CodeForm()
    wrong = "That code is not right, or was used already. Try the next one."
    answer = _code_step(form, user, next_url, totp.verify, User.is_locked, wrong)
    return answer or render_template("auth/two_factor.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """Set up the second factor that the user's role requires, then finish signing in."""
    user, next_url = _pending(Step.ENROL)
    secret = totp.secret_of(user) if user is not None else None
    if user is None or not secret:
        return _start_again("Sign in with your e-mail and password first.")
    form = CodeForm()
    answer = _code_step(
        form,
        user,
        next_url,
        totp.confirm_enrolment,
        lambda user, now: register_failure(user, now, "totp_enrol") or user.is_locked(now),
        "That code is not right. Check the secret and try again.",
        done="Two-factor sign-in is on.",
    )
    return answer or render_template(
        "auth/enrol.html",
        form=form,
        secret=secret,
        uri=totp.provisioning_uri(user),
        action=url_for("auth.enrol"),
        required=True,
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign the user out: the server-side session ends, so the cookie opens nothing again."""
    row = g.get("auth_session")
    if row is not None:
        sessions.end(row, utcnow(), "logout")
    logout_user()
    reset_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------- own account


def security_page(new_feed_url: str | None = None, **forms):
    """Render the user's security page with its forms (and a new feed's address, once)."""
    from clinic.web.calendar_feeds import feed_form

    user: User = current_user
    pending_secret = totp.secret_of(user) if not user.totp_enabled else None
    return render_template(
        "auth/security.html",
        password_form=forms.get("password_form") or PasswordChangeForm(formdata=None),
        code_form=forms.get("code_form") or CodeForm(formdata=None),
        disable_form=forms.get("disable_form") or DisableTwoFactorForm(formdata=None),
        action_form=ActionForm(formdata=None),
        pending_secret=pending_secret,
        uri=totp.provisioning_uri(user) if pending_secret else None,
        required=totp.is_required(user),
        live_sessions=sessions.live_sessions(user, utcnow()),
        current_session_id=getattr(g.get("auth_session"), "id", None),
        api_tokens=tokens.list_for(user),
        feed_form=forms.get("feed_form") or feed_form(),
        calendar_feeds=calendar_feeds.list_for(user),
        new_feed_url=new_feed_url,
        now=utcnow(),
    )


@bp.get("/account/security")
@login_required
def security():
    """Show the user's password and two-factor settings, open sessions and API tokens."""
    return security_page()


@bp.post("/account/password")
@login_required
def change_password():
    """Change the user's own password; other sessions of theirs end, their API tokens too."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        current = getattr(g.get("auth_session"), "id", None)
        try:
            ended = change_own_password(
                current_user, form.current.data, form.password.data, utcnow(), current
            )
        except Invalid as error:
            for name, messages in error.fields.items():
                target = form.password if name == "password" else form.current
                target.errors = [*target.errors, *messages]
        else:
            extra = f" {ended} other session(s) were signed out." if ended else ""
            flash("Your password is changed." + extra, "success")
            return redirect(url_for("auth.security"))
    return security_page(password_form=form), 422


@bp.post("/account/two-factor/setup")
@login_required
def setup_two_factor():
    """Create a secret for the user to add to an authenticator app."""
    if ActionForm().validate_on_submit() and not current_user.totp_enabled:
        totp.begin_enrolment(current_user)
    return redirect(url_for("auth.security"))


@bp.post("/account/two-factor/confirm")
@login_required
def confirm_two_factor():
    """Turn two-factor sign-in on once a code from the app matches."""
    form = CodeForm()
    if form.validate_on_submit():
        if totp.confirm_enrolment(current_user, form.code.data, utcnow()):
            flash("Two-factor sign-in is on.", "success")
            return redirect(url_for("auth.security"))
        form.code.errors.append("That code is not right. Check the secret and try again.")
    return security_page(code_form=form), 422


@bp.post("/account/two-factor/disable")
@login_required
def disable_two_factor():
    """Turn two-factor sign-in off: the password and a current code (not when required)."""
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            totp.disable(current_user, current_user, form.password.data, form.code.data, utcnow())
        except Invalid as error:
            for name, messages in (error.fields or {"code": [error.message]}).items():
                target = form.password if name == "password" else form.code
                target.errors = [*target.errors, *messages]
        else:
            flash("Two-factor sign-in is off.", "success")
            return redirect(url_for("auth.security"))
    return security_page(disable_form=form), 422


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's own API tokens."""
    row = tokens.get_for_owner(current_user, token_id)
    if ActionForm().validate_on_submit():
        tokens.revoke(current_user, row, utcnow())
        flash(f"The token “{row.name}” is revoked.", "success")
    return redirect(url_for("auth.security"))
