"""Request and response hardening: server-side session checks and security headers.

Every request that carries a session cookie is checked against its `user_sessions` row
before any view runs; an ended, idle or expired session signs the browser out (pages
redirect to the sign-in form, JSON feeds answer 401). Every response, whatever produced
it (page, API, static file, error), leaves with the security headers.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import logout_user

from clinic.extensions import login_manager
from clinic.services import sessions
from clinic.types import utcnow
from clinic.web.api.errors import error_response

# The session cookie holds only this random id (and Flask-Login's user id); the row decides.
SESSION_KEY = "sid"
# Sent by the pages' polling scripts (dashboard, alerts): such a request never counts as
# activity, so a screen left open still signs out after the idle timeout.
AUTO_REFRESH_HEADER = "X-Auto-Refresh"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# The JSON API and the FHIR API: bearer tokens, never the session cookie.
API_PREFIXES = ("/api/", "/fhir/")
# Files that hold no patient data and may be cached.
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
TIMEOUT_MESSAGES = {
    "idle": "You were signed out after a period without activity. Sign in again.",
    "absolute": "Your session reached its 12-hour limit. Sign in again.",
    "inactive": "Your account is disabled.",
}


def init_app(app: Flask) -> None:
    """Check sessions before every request and add the security headers to every response."""
    app.before_request(load_session)
    app.after_request(add_security_headers)
    login_manager.unauthorized_handler(unauthorized)


def is_auto_refresh() -> bool:
    """Tell whether the request is a page's automatic refresh (not the user's activity)."""
    return request.headers.get(AUTO_REFRESH_HEADER) == "1"


def wants_json() -> bool:
    """Tell whether the caller expects JSON rather than a page (the API, feeds, JSON posts)."""
    if request.path.startswith(API_PREFIXES) or request.path == "/healthz":
        return True
    return (
        is_auto_refresh() or request.is_json or request.accept_mimetypes.best == "application/json"
    )


def load_session() -> None:
    """Find the live session of the cookie's id, or sign the browser out."""
    g.auth_session = None
    if request.endpoint in STATIC_ENDPOINTS or request.path.startswith(API_PREFIXES):
        return  # the APIs take bearer tokens only; static files need no user
    token = session.get(SESSION_KEY)
    if token is None:
        if "_user_id" in session:  # a sign-in without a server-side session: not valid
            logout_user()
            reset_session()
        return
    verdict = sessions.check(str(token), utcnow(), touch=not is_auto_refresh())
    if verdict.row is None:
        logout_user()
        reset_session()
        message = TIMEOUT_MESSAGES.get(verdict.reason or "")
        if message and not wants_json():
            flash(message, "warning")
        return
    g.auth_session = verdict.row


def reset_session() -> None:
    """Empty the cookie session, CSRF secret included (a new session gets a new token)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the signed token for the request


def unauthorized():
    """Answer a request that needs a signed-in user: 401 for JSON, else the sign-in form."""
    if wants_json():
        return error_response(401, "unauthorized", "You are signed out: sign in again.")
    if not session.get("_flashes"):
        flash("Please sign in.", "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def add_security_headers(response):
    """Add the security headers; keep every page and JSON answer out of caches."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("HSTS"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in STATIC_ENDPOINTS:
        # Pages and feeds show patient data: never store them (browser, proxy, back button).
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response
