"""The OpenAPI document, generated from the schemas and routes, and its docs page."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify, make_response, render_template

from clinic.web.api import bp
from clinic.web.api.errors import CODES, MESSAGES
from clinic.web.api.schemas import ErrorSchema, Inline

PREFIX = "/api/v1"
METHODS = ("get", "post", "patch", "put", "delete")
DESCRIPTION = (
    "Scheduling and recovery supervision for ketamine infusion clinics. Instants in requests "
    "need an offset (naive ones are 422); answers give UTC. Dates are the site's local day. "
    'Errors share one body: {"error", "message", "fields"}. Non-admin users see only their '
    "sites; anything else answers 404."
)
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (flask users token EMAIL); never a cookie. It expires "
    "(90 days by default) and can be revoked.",
}
WHEN = {
    400: "The body is not JSON, or not a JSON object.",
    401: "No token, an unknown token, or a disabled user.",
    403: "The caller's role may not do this.",
    404: "No such object (also for objects of a site the caller may not see).",
    409: "A booking rule or capacity would be broken (every broken rule is listed in "
    "`reasons`), an illegal state transition, or a duplicate MRN or e-mail.",
    422: "A field is missing, of the wrong type or out of range; `fields` says which.",
}


def schema_name(schema: Any) -> str | None:
    """Name a schema in the document (an Inline one is written out where it is used).

    SiteSchema is Site in an answer, SiteInput as a body and SiteChanges as a PATCH body.
    """
    cls = schema if isinstance(schema, type) else type(schema)
    if issubclass(cls, Inline):
        return None
    name = cls.__name__.removesuffix("Schema").removesuffix("Input")
    if getattr(schema, "partial", False):
        return f"{name}Changes"
    return f"{name}Input" if getattr(schema, "is_input", False) else name


class ClinicApi(flask_smorest.Api):
    """flask-smorest, answering errors through the app's own handlers and error body."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Keep the app's handlers (clinic.web.errors): one error body for pages and API."""

    def _register_responses(self) -> None:
        """Describe each error answer with an example of our body."""
        self.spec.components.schema("Error", schema=ErrorSchema)
        for status in (*WHEN, 405, 413, 429, 503):
            self.spec.components.response(HTTPStatus(status).name, error_answer(status))
        self.spec.components.response("DEFAULT_ERROR", error_answer(500))


def error_answer(status: int) -> dict[str, Any]:
    """Return the document's description of one error answer."""
    code = CODES.get(status, "server_error" if status == 500 else "unavailable")
    when = WHEN.get(status) or MESSAGES.get(status, "Something went wrong.")
    return {
        "description": f"{status} {code}: {when}",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": code, "message": when, "fields": {}},
            }
        },
    }


def make_api(app: Any) -> ClinicApi:
    """Create the app's API description."""
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # served below, at the API's own path
    return ClinicApi(
        app,
        spec_kwargs={
            "title": "Infusion Desk API",
            "version": "1",
            "openapi_version": "3.1.0",
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
            "info": {"description": DESCRIPTION},
            "security": [{"bearer": []}],
        },
    )


def build(spec: dict[str, Any], app: Any) -> dict[str, Any]:
    """Return the document: paths relative to /api/v1, first id named {id}, errors listed."""
    endpoints = {
        (doc_path(rule.rule)[0], method.lower()): rule.endpoint.removeprefix("api.")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods
    }
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        new_path, first = doc_path(path)
        tag = new_path.split("/")[1].removesuffix(".json")
        operations = [(method, item[method]) for method in METHODS if method in item]
        for param in [
            *item.get("parameters", []),
            *(p for _, op in operations for p in op.get("parameters", [])),
        ]:
            if param["in"] == "path" and param["name"] == first:
                param["name"] = "id"
        for method, op in operations:
            op |= {"operationId": endpoints[new_path, method], "tags": [tag]}
            errors = [] if op.get("security") == [] else [401]
            errors += [400, 422] if "requestBody" in op else []
            errors += [404] if first else []
            for status in errors:
                op["responses"].setdefault(str(status), ref(status))
        paths[new_path] = item
    tags = dict.fromkeys(
        op["tags"][0]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict) and "tags" in op
    )
    spec |= {"paths": paths, "tags": [{"name": tag} for tag in tags], "servers": [{"url": PREFIX}]}
    spec["components"]["securitySchemes"] = {"bearer": BEARER}
    return spec


def ref(status: int) -> dict[str, str]:
    """Point to a shared error answer."""
    return {"$ref": f"#/components/responses/{HTTPStatus(status).name}"}


def doc_path(path: str) -> tuple[str, str | None]:
    """Return a path relative to /api/v1 with its first parameter named {id}, and that name."""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path).removeprefix(PREFIX)
    found = re.search(r"\{([a-z_]+)\}", path)
    return path.replace(found.group(0), "{id}", 1) if found else path, (
        found.group(1) if found else None
    )


@bp.route("/openapi.json", methods=["GET"])
@bp.doc(security=[])
@bp.response(200, description="This document.")
def openapi():
    """Serve the OpenAPI document (no authentication)."""
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    if not hasattr(api, "document"):
        api.document = build(api.spec.to_dict(), current_app)
    return jsonify(api.document)


@bp.route("/docs", methods=["GET"])
@bp.doc(security=[])
@bp.response(200, description="This document as a page.", content_type="text/html")
def docs():
    """Show the document as a page (no authentication, like the document)."""
    return make_response(render_template("api/docs.html"))
