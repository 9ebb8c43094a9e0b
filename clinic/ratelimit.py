"""Rate limits (Flask-Limiter): sign-in and code steps per address and per account, the API
per token. Limits no real clinic reaches; an attacker's guessing or flooding does.

Counts live in memory (per process) unless RATELIMIT_STORAGE_URI names a shared store
(`redis://host:6379/0`), which several workers or machines should use. A limit answers 429
with `Retry-After`: the API's JSON error body, or a plain page.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, render_template, request, session
from flask_limiter import Limiter, RateLimitExceeded

from clinic.web.security import wants_json

# The steps of signing in that take a secret: the password form and the code forms.
SIGN_IN_ENDPOINTS = ("auth.login",)
CODE_ENDPOINTS = ("auth.two_factor", "auth.enrol")
CONFIRM_ENDPOINT = "confirm.page"
KIOSK_ENDPOINT = "kiosk.page"
OFFER_ENDPOINT = "offer.page"
CALENDAR_FEED_ENDPOINT = "calendar_feeds.feed"
TOO_MANY = "Too many attempts. Wait a moment, then try again."
EXTENSION = "clinic.ratelimit"


def address() -> str:
    """Key a request by the address it came from."""
    return "addr:" + (request.remote_addr or "unknown")


def _digest(text: str) -> str:
    """Return a short digest, so that no address, e-mail or token is kept in the store."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def account_signing_in() -> str:
    """Key a sign-in by the account it names (the e-mail typed into the form)."""
    email = request.form.get("email", "")[:254].strip().lower()
    return "account:" + _digest(email)


def account_at_code_step() -> str:
    """Key a code step by the account that passed the password step."""
    from clinic.services import pending_sign_ins
    from clinic.web.auth import PENDING_KEY

    token = session.get(PENDING_KEY)
    user_id = pending_sign_ins.user_id_of(token)
    if user_id is not None:
        return f"account:{user_id}"
    # No live sign-in behind the cookie: count per cookie (the step itself refuses it).
    return "pending:" + _digest(repr(token))


def api_token() -> str:
    """Key an API request by its bearer token (a digest of it), else by address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + _digest(token.strip())
    return address()


def _setting(name: str):
    """Return a callable reading a limit from the app's config at request time."""
    return lambda: current_app.config[name]


def init_app(app: Flask) -> None:
    """Bind a limiter, put the limits on the sign-in views and the API, answer 429s."""
    from clinic.web.api import bp as api_bp

    # One limiter per app: limits are registered per view name, and tests create many apps.
    limiter = Limiter(key_func=address, headers_enabled=False)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    per_address = limiter.limit(
        _setting("RATELIMIT_SIGN_IN_PER_ADDRESS"), key_func=address, methods=["POST"]
    )
    for endpoint, per_account in (
        *((e, account_signing_in) for e in SIGN_IN_ENDPOINTS),
        *((e, account_at_code_step) for e in CODE_ENDPOINTS),
    ):
        view = app.view_functions[endpoint]
        limit = limiter.limit(
            _setting("RATELIMIT_SIGN_IN_PER_ACCOUNT"), key_func=per_account, methods=["POST"]
        )
        app.view_functions[endpoint] = per_address(limit(view))
    limiter.limit(_setting("RATELIMIT_API_PER_TOKEN"), key_func=api_token)(api_bp)
    # The patients' confirmation links: per address, every method (guessing a token).
    # The same for the kiosk's and the waitlist's offer links, and the calendar feeds.
    for endpoint in (CONFIRM_ENDPOINT, KIOSK_ENDPOINT, OFFER_ENDPOINT, CALENDAR_FEED_ENDPOINT):
        if endpoint in app.view_functions:
            per_link = limiter.limit(_setting("RATELIMIT_CONFIRM_PER_ADDRESS"), key_func=address)
            app.view_functions[endpoint] = per_link(app.view_functions[endpoint])
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def too_many_requests(error: RateLimitExceeded):
    """Answer 429 with Retry-After: the API's error body, or a plain page."""
    from clinic.web.api.errors import error_response

    current = current_app.extensions[EXTENSION].current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    if wants_json():
        response = error_response(429, "too_many_requests", TOO_MANY)
    else:
        response = current_app.make_response(
            (render_template("error.html", status=429, message=TOO_MANY), 429)
        )
    response.headers["Retry-After"] = str(wait)
    return response
