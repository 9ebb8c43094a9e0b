"""The JSON API, version 1 (docs/api.md): bearer tokens only, never cookies."""

from flask import Blueprint, Flask, g, request

from clinic.extensions import csrf
from clinic.services.tokens import user_for_token
from clinic.types import utcnow
from clinic.web.api.errors import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPEN_ENDPOINTS = {"api.healthz", "api.openapi"}


@bp.before_request
def authenticate():
    """Identify the caller from its bearer token, or answer 401."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    bearer = scheme.lower() == "bearer"
    user = user_for_token(token.strip(), utcnow(), request.remote_addr) if bearer else None
    if user is None:
        return error_response(401, None, "")
    g.user = user
    return None


@bp.after_request
def no_store(response):
    """Keep API answers, which carry patient data, out of every cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Register the API's resources and exempt them from CSRF (no cookies are accepted)."""
    from clinic.web.api import (  # noqa: F401  (modules register their routes on bp)
        dashboard,
        health,
        notifications,
        observations,
        openapi,
        people,
        places,
        tokens,
        visits,
    )

    csrf.exempt(bp)
    # Keep fields in the order API.md lists them (Flask 3 ignores JSON_SORT_KEYS).
    app.json.sort_keys = app.config.get("JSON_SORT_KEYS", True)
    app.register_blueprint(bp)
    app.add_url_rule("/healthz", "healthz", health.healthz)
