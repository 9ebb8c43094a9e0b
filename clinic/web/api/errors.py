"""The API's one error body: {"error", "message", "fields"} (API.md, "General")."""

from flask import jsonify

from clinic.domain.booking import Violation
from clinic.domain.treatments import FIELD_LABELS, FieldsViolation
from clinic.services.errors import Conflict, ServiceError

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    414: "too_large",
    415: "bad_request",
    422: "invalid",
    429: "too_many_requests",
    431: "too_large",
}
MESSAGES = {
    400: "The request body is not a JSON object.",
    401: "Authentication required: send Authorization: Bearer <token>.",
    403: "Your role may not do this.",
    404: "No such object.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
    414: "The request line (path and query) is too long.",
    431: "The request headers are too large.",
    429: "Too many requests. Wait a moment, then try again.",
}


def error_response(
    status: int,
    code: str | None,
    message: str,
    fields: dict | None = None,
    error: ServiceError | None = None,
):
    """Build the JSON error response for a status."""
    body = {
        "error": code or CODES.get(status, "server_error" if status >= 500 else "bad_request"),
        "message": MESSAGES.get(status, message) if code is None else message,
        "fields": fields or {},
    }
    if isinstance(error, Conflict) and error.reasons:
        body["reasons"] = [reason_body(r) for r in error.reasons]
        body["fields"] = body["fields"] | reason_fields(error.reasons)
    if isinstance(error, Conflict) and error.alternatives is not None:
        body["alternatives"] = error.alternatives
    if isinstance(error, Conflict):
        body = error.extra | body
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def reason_body(reason: Violation) -> dict:
    """Return a broken rule as the API shows it; a rule about fields names them in `fields`."""
    shown: dict = {"rule": str(reason.rule), "message": reason.message}
    if isinstance(reason, FieldsViolation):
        shown["fields"] = list(reason.fields)
    return shown


def reason_fields(reasons) -> dict[str, list[str]]:
    """Return the fields the broken rules name, for the body's `fields` (e.g. rems_incomplete)."""
    found: dict[str, list[str]] = {}
    for reason in reasons:
        for name in getattr(reason, "fields", ()):
            found.setdefault(name, []).append(f"Missing: {FIELD_LABELS.get(name, name)}.")
    return found
