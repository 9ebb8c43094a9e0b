"""The JSON API, version 1 (docs/api.md): bearer tokens only, never cookies.

flask-smorest reads requests and writes answers through the schemas of
clinic.web.api.schemas, which are also the OpenAPI document; errors keep the one body of
clinic.web.api.errors.
"""

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

import flask_smorest
from flask import Flask, g, request
from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy

from clinic.extensions import csrf
from clinic.services import access
from clinic.services.errors import Invalid, ServiceError
from clinic.services.tokens import user_for_token
from clinic.types import utcnow
from clinic.web.api.errors import error_response
from clinic.web.api.fields import encodable

OPEN_ENDPOINTS = {"api.healthz", "api.openapi", "api.docs", "api.sms_inbound"}


class BadRequest(ServiceError):
    """The body is not JSON, or not an object."""

    status = 400
    code = "bad_request"


def refuse_nul(data: Any, path: str = "") -> None:
    """Raise a 422 for a NUL character anywhere in the body (PostgreSQL text cannot hold it),
    or for a lone surrogate ("\\ud800" is valid JSON but no text any database can store)."""
    if isinstance(data, str) and "\x00" in data:
        raise Invalid("Text may not contain NUL characters.", {path or "body": ["NUL character."]})
    if isinstance(data, str) and not encodable(data):
        raise Invalid("Text must be valid Unicode.", {path or "body": ["A lone surrogate."]})
    if isinstance(data, dict):
        for name, value in data.items():
            if not encodable(name):
                raise BadRequest("The request body's field names must be valid Unicode.")
            refuse_nul(value, f"{path}.{name}" if path else str(name))
    elif isinstance(data, list):
        for value in data:
            refuse_nul(value, path)


def flat_errors(messages: Any, prefix: str = "") -> list[str]:
    """Flatten nested marshmallow messages into lines ("min: Must be ...")."""
    if isinstance(messages, dict):
        return [
            line
            for key, inner in messages.items()
            for line in flat_errors(inner, f"{prefix}{key}: " if key != "_schema" else prefix)
        ]
    if isinstance(messages, list | tuple):
        return [line for item in messages for line in flat_errors(item, prefix)]
    return [f"{prefix}{messages}"]


class Parser(FlaskParser):
    """Read bodies as JSON objects (else 400) and turn every field error into our 422."""

    def load_json(self, req: Any, schema: Any) -> Any:
        """Return the body as a dict, or raise a 400."""
        try:
            data = req.get_json(force=True, silent=True)
        except RecursionError:  # absurdly deep nesting: the decoder gives up, so do we
            data = None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        refuse_nul(data)
        return data

    def load_querystring(self, req: Any, schema: Any) -> Any:
        """Return the query, an empty parameter counting as absent."""
        args = req.args.copy()
        for name in [name for name, value in args.items(multi=True) if value == ""]:
            args.pop(name, None)
        return MultiDictProxy(args, schema)

    def handle_error(self, error: ValidationError, *args: Any, **kwargs: Any) -> Any:
        """Raise the 422 that lists every bad field."""
        by_location = error.messages if isinstance(error.messages, dict) else {}
        messages = next(iter(by_location.values()), {}) if by_location else {}
        if not isinstance(messages, dict):
            messages = {"body": messages}
        fields = {
            "body" if name == "_schema" else str(name): flat_errors(inner)
            for name, inner in messages.items()
        }
        raise Invalid("Some fields are missing or invalid.", fields)


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose arguments are read by our parser."""

    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Read the request with the schema; a body's is named as an input in the document."""
        schema = schema() if isinstance(schema, type) else schema
        if kwargs.get("location", "json") == "json":
            # The document tells schemas apart by class: SiteSchema answers, its input reads.
            body = type(type(schema).__name__, (type(schema),), {"is_input": True})
            schema = body(partial=schema.partial, unknown=schema.unknown)
        return super().arguments(schema, **kwargs)


bp = Blueprint("api", __name__, url_prefix="/api/v1", description="The JSON API, version 1.")


def refuses(*statuses: int) -> Callable[[Any], Any]:
    """Document the error answers an operation gives beyond 400, 401, 404 and 422."""

    def decorate(view: Any) -> Any:
        for status in statuses:
            view = bp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorate


def guard(check: Callable[..., Any], *statuses: int) -> Callable[[Any], Any]:
    """Run check(**path arguments) before the body is read: a refusal comes before a 422."""

    def decorate(view: Any) -> Any:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check(**kwargs)
            return view(*args, **kwargs)

        return refuses(*statuses)(guarded)

    return decorate


def requires(permission: str) -> Callable[[Any], Any]:
    """Refuse (403) a role without the permission before reading the body."""
    return guard(lambda **_: access.require(g.user, permission), 403)


def writes(
    method: str,
    path: str,
    allowed: str | Callable[..., Any],
    body: Any,
    status: int,
    answer: Any,
    *,
    conflict: bool = False,
) -> Callable[[Any], Any]:
    """Declare a write: route, who may call (checked before the body), body, answer, 409 or not."""
    check = requires(allowed) if isinstance(allowed, str) else guard(allowed, 403)

    def decorate(view: Any) -> Any:
        if conflict:
            view = refuses(409)(view)
        view = bp.arguments(body)(bp.response(status, answer)(view))
        return bp.route(path, methods=[method])(check(view))

    return decorate


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
        calendar_feeds,
        courses,
        dashboard,
        document,
        doses,
        health,
        notifications,
        observations,
        people,
        places,
        rems,
        rems_form,
        screening,
        sms,
        tokens,
        treatments,
        visits,
        waitlist,
    )

    csrf.exempt(bp)
    # Keep fields in the order API.md lists them (Flask 3 ignores JSON_SORT_KEYS).
    app.json.sort_keys = app.config.get("JSON_SORT_KEYS", True)
    document.make_api(app).register_blueprint(bp)
    app.add_url_rule("/healthz", "healthz", health.healthz)
