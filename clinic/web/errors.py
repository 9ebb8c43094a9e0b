"""Generic error pages and JSON errors: nothing internal ever reaches a response."""

from flask import Flask, g, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from clinic.database import is_busy
from clinic.extensions import db
from clinic.models import User
from clinic.services import audit
from clinic.services.errors import ServiceError
from clinic.types import utcnow
from clinic.web.api.errors import error_response
from clinic.web.security import wants_json

# A signed-in user refused an object or an action: the audit trail keeps the attempt.
DENIED = (403, 404)
BUSY_RETRY_AFTER_SECONDS = 2


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors, refusals and crashes."""

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        audit_denial(error.status)
        db.session.rollback()
        if wants_json():
            return error_response(error.status, error.code, error.message, error.fields, error)
        return render_template("error.html", status=error.status, message=error.message), (
            error.status
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/fhir/"):  # FHIR's errors are OperationOutcomes
            from clinic.web import fhir

            return fhir.http_error(error)
        audit_denial(error.code)
        if wants_json():
            response = error_response(error.code or 500, None, error.description or "")
            if getattr(error, "valid_methods", None):  # a 405 names what the path does take
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        return render_template("error.html", status=error.code, message=None), error.code

    @app.errorhandler(OperationalError)
    def database_error(error: OperationalError):
        if not is_busy(error):
            return crash(error)
        # SQLite still locked after the busy timeout: nothing was saved, try again shortly.
        db.session.rollback()
        app.logger.warning("database busy on %s %s", request.method, request.url_rule)
        if wants_json():
            response = error_response(
                503, "unavailable", "The database is busy; nothing was saved. Try again shortly."
            )
        else:
            response = make_response(render_template("error.html", status=503, message=None))
            response.status_code = 503
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def crash(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        if wants_json():
            return error_response(500, "server_error", "Something went wrong on our side.")
        return render_template("error.html", status=500, message=None), 500


def audit_denial(status: int | None) -> None:
    """Record a 403 or 404 given to a known user on a real route (not unknown URLs)."""
    if status not in DENIED or request.endpoint is None:
        return
    user = request_user()
    if user is None:
        return
    identity = inspect(user).identity  # the key survives an expired or detached object
    if identity is None:
        return
    db.session.rollback()
    detail = {"endpoint": request.endpoint, "method": request.method, "status": status}
    actor = db.session.get(User, identity[0])
    audit.record_now(actor, "access.denied", utcnow(), outcome="denied", detail=detail)


def request_user() -> User | None:
    """Return the user of the current request: the API's token user or the signed-in one."""
    user = g.get("user")
    if isinstance(user, User):
        return user
    return current_user if getattr(current_user, "is_authenticated", False) else None
