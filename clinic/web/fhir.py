"""The FHIR R4 read API under /fhir (docs/api.md, "FHIR R4"): bearer tokens, as /api/v1.

Every answer is `application/fhir+json`: a resource, a `searchset` Bundle, or an
OperationOutcome for an error (400 bad parameter, 401, 403 role, 404 unknown or another
site's, 429). The resources come from clinic.services.fhir.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, g, json, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from clinic.domain.ids import is_digits
from clinic.extensions import csrf
from clinic.services import access
from clinic.services import fhir as resources
from clinic.services.errors import NotFound, ServiceError
from clinic.services.fhir import BadParameter
from clinic.types import utcnow
from clinic.web.api import bearer_user

MEDIA_TYPE = "application/fhir+json"
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    422: "invalid",
    429: "throttled",
}
MESSAGES = {
    401: "Authentication required: send Authorization: Bearer <token>.",
    403: "Your role may not read this.",
    404: "No such resource.",
}
PAGING = ("_count", "_offset")

bp = Blueprint("fhir", __name__, url_prefix="/fhir")


def answer(body: dict[str, Any], status: int = 200):
    """Return a FHIR JSON response."""
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def outcome(status: int, message: str):
    """Return an OperationOutcome answer for an error status."""
    from clinic.web.errors import audit_denial

    audit_denial(status)
    issue = {
        "severity": "error",
        "code": ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid"),
        "diagnostics": MESSAGES.get(status, message),
    }
    response = answer({"resourceType": "OperationOutcome", "issue": [issue]}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


@bp.before_request
def authenticate():
    """Identify the caller from its bearer token, or answer 401."""
    user = bearer_user()
    if user is None:
        return outcome(401, "")
    g.user = user
    return None


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Answer a refusal as an OperationOutcome (a 422 of a service is a bad parameter here)."""
    from clinic.extensions import db

    db.session.rollback()
    return outcome(400 if error.status == 422 else error.status, error.message)


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded):
    """Answer 429 with the limiter's Retry-After and an OperationOutcome."""
    from clinic.ratelimit import TOO_MANY, too_many_requests

    response = outcome(429, TOO_MANY)
    response.headers["Retry-After"] = too_many_requests(error).headers["Retry-After"]
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Answer 404, 405 and the like as an OperationOutcome (also for paths under /fhir/ that
    match no route: clinic.web.errors sends them here)."""
    response = outcome(error.code or 500, error.description or "")
    if getattr(error, "valid_methods", None):  # a 405 names what the path does take
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def args(*allowed: str) -> dict[str, list[str]]:
    """Return the query's parameters (empty ones dropped); an unknown one is a 400."""
    query = {name: [v for v in values if v] for name, values in request.args.lists()}
    query = {name: values for name, values in query.items() if values}
    unknown = sorted(set(query) - set(allowed) - set(PAGING) - {"_format"})
    if unknown:
        raise BadParameter(f"Unknown search parameter: {unknown[0][:40]}.")
    return query


def single(query: dict[str, list[str]], name: str) -> str | None:
    """Return a parameter given at most once."""
    values = query.get(name, [])
    if len(values) > 1:
        raise BadParameter(f"{name}: give it once.")
    return values[0] if values else None


def number(query: dict[str, list[str]], name: str, default: int, high: int) -> int:
    """Return a whole-number parameter from 0 to high."""
    text = single(query, name)
    if text is None:
        return default
    if not is_digits(text) or int(text) > high:
        raise BadParameter(f"{name}: a whole number from 0 to {high}.")
    return int(text)


def reference(query: dict[str, list[str]], name: str, kind: str) -> int | None:
    """Return the id a reference parameter names, if given."""
    text = single(query, name)
    return None if text is None else resources.parse_reference(name, text, kind)


def bundle(query: dict[str, list[str]], search: Callable[[int, int], resources.Page]):
    """Run a search for the page the query asks and answer it as a searchset Bundle."""
    count = number(query, "_count", resources.DEFAULT_COUNT, resources.MAX_COUNT)
    offset = number(query, "_offset", 0, 10**9)
    total, found = search(offset, count)
    base = request.url_root + "fhir"

    def link(relation: str, at: int) -> dict[str, str]:
        params = [(n, v) for n, values in query.items() if n not in PAGING for v in values]
        params += [("_count", str(count)), ("_offset", str(at))]
        return {"relation": relation, "url": f"{request.base_url}?{urlencode(params)}"}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    body["link"] = links
    if found:
        body["entry"] = [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in found
        ]
    return answer(body)


def required(query: dict[str, list[str]], name: str, kind: str) -> int:
    """Return the id of a reference parameter the search needs."""
    found = reference(query, name, kind)
    if found is None:
        raise BadParameter(f"{name}: required.")
    return found


def path_id(value: str) -> int:
    """Return the id of a resource's path, or 404."""
    found = resources.parse_id(value)
    if found is None:
        raise NotFound("resource")
    return found


@bp.get("/metadata")
def metadata():
    """The CapabilityStatement."""
    access.require(g.user, "read")
    return answer(resources.capability_statement(utcnow(), request.url_root + "fhir"))


@bp.get("/Patient/<patient_id>")
def read_patient(patient_id: str):
    """One patient of the caller's sites."""
    access.require(g.user, "read")
    return answer(resources.read_patient(g.user, path_id(patient_id), utcnow()))


@bp.get("/Appointment/<visit_id>")
def read_appointment(visit_id: str):
    """One visit of the caller's sites."""
    access.require(g.user, "read")
    return answer(resources.read_appointment(g.user, path_id(visit_id), utcnow()))


@bp.get("/Appointment")
def search_appointments():
    """Visits by patient and date (ge/le)."""
    access.require(g.user, "read")
    query = args("patient", "date")
    patient = reference(query, "patient", "Patient")
    dates = resources.parse_dates("date", query.get("date", []))
    search = partial(resources.search_appointments, g.user, patient, dates, now=utcnow())
    return bundle(query, search)


@bp.get("/Schedule")
def search_schedules():
    """One Schedule per active chair."""
    access.require(g.user, "read")
    query = args()
    return bundle(query, partial(resources.search_schedules, g.user))


@bp.get("/Slot")
def search_slots():
    """Free slots of a chair, computed from availability."""
    access.require(g.user, "read")
    query = args("schedule", "start")
    chair = reference(query, "schedule", "Schedule")
    starts = resources.parse_dates("start", query.get("start", []))
    return bundle(query, partial(resources.search_slots, g.user, chair, starts, utcnow()))


@bp.get("/Observation")
def search_observations():
    """A patient's vital signs and screening totals."""
    access.require(g.user, "read")
    query = args("patient", "category", "date")
    patient = required(query, "patient", "Patient")
    categories = [c for value in query.get("category", []) for c in value.split(",")]
    categories = [c.rpartition("|")[2] for c in categories]
    if set(categories) - {resources.VITAL_SIGNS, resources.SURVEY}:
        raise BadParameter("category: vital-signs or survey.")
    dates = resources.parse_dates("date", query.get("date", []))
    search = partial(
        resources.search_observations, g.user, patient, categories, dates, now=utcnow()
    )
    return bundle(query, search)


@bp.get("/QuestionnaireResponse")
def search_questionnaire_responses():
    """A patient's completed PHQ-9 and GAD-7 measures."""
    access.require(g.user, "clinical")
    query = args("patient", "authored")
    patient = required(query, "patient", "Patient")
    dates = resources.parse_dates("authored", query.get("authored", []))
    search = partial(resources.search_questionnaire_responses, g.user, patient, dates, now=utcnow())
    return bundle(query, search)


@bp.after_request
def no_store(response):
    """Keep FHIR answers, which carry patient data, out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Mount the FHIR API, exempt from CSRF like the JSON API (no cookies are accepted)."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
