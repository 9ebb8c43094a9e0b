"""Generic error pages and JSON errors: nothing internal ever reaches a response."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from clinic.extensions import db
from clinic.services.errors import ServiceError


def wants_json() -> bool:
    """Tell whether the request belongs to the JSON API."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors, refusals and crashes."""
    from clinic.web.api.errors import error_response

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        db.session.rollback()
        if wants_json():
            return error_response(error.status, error.code, error.message, error.fields, error)
        return render_template("error.html", status=error.status, message=error.message), (
            error.status
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if wants_json():
            response = error_response(error.code or 500, None, error.description or "")
            if getattr(error, "valid_methods", None):  # a 405 names what the path does take
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        return render_template("error.html", status=error.code, message=None), error.code

    @app.errorhandler(Exception)
    def crash(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        if wants_json():
            return error_response(500, "server_error", "Something went wrong on our side.")
        return render_template("error.html", status=500, message=None), 500
