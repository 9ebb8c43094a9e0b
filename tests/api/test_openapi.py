"""The OpenAPI document describes every endpoint of the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

# Every path of API.md, relative to /api/v1, with its methods.
CONTRACT = {
    "/sites": {"get", "post"},
    "/sites/{id}": {"get", "patch"},
    "/treatment-types": {"get", "post"},
    "/treatment-types/{id}": {"patch"},
    "/chairs": {"get", "post"},
    "/chairs/{id}": {"patch"},
    "/shifts": {"get", "post"},
    "/shifts/{id}": {"delete"},
    "/users": {"get", "post"},
    "/users/{id}": {"patch"},
    "/me": {"get"},
    "/tokens": {"get"},
    "/tokens/{id}": {"delete"},
    "/calendar-feeds": {"post"},
    "/calendar-feeds/{id}": {"delete"},
    "/patients": {"get", "post"},
    "/patients/{id}": {"get", "patch"},
    "/patients/{id}/clearances": {"get", "post"},
    "/availability": {"get"},
    "/visits": {"get", "post"},
    "/visits/{id}": {"get", "patch"},
    "/visits/{id}/events": {"post"},
    "/visits/{id}/observations": {"get", "post"},
    "/visits/{id}/messages": {"get"},
    "/sms/inbound": {"post"},
    "/dashboard": {"get"},
    "/notifications": {"get"},
    "/notifications/{id}/ack": {"post"},
    "/healthz": {"get"},
    "/openapi.json": {"get"},
    "/docs": {"get"},
}
METHODS = {"get", "post", "patch", "put", "delete"}


@pytest.fixture
def document(client):
    """The served document, fetched without a token."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def test_it_is_an_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": "/api/v1"}]
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]


def test_every_path_of_the_contract_is_described(document):
    for path, methods in CONTRACT.items():
        assert path in document["paths"], path
        assert methods <= set(document["paths"][path]), path


def test_every_route_of_the_app_is_described(app, document):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        # The first id of a path is {id}; a second one keeps its name ({clearance_id}).
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        path = re.sub(r"\{[a-z_]+\}", "{id}", path, count=1)
        assert path in document["paths"], path
        described = set(document["paths"][path]) & METHODS
        assert {m.lower() for m in rule.methods} & METHODS <= described, rule.rule


def test_every_operation_lists_its_answers_and_errors(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            answers = op["responses"]
            assert any(code.startswith("2") for code in answers), (path, method)
            public = op.get("security") == []
            signed = path == "/sms/inbound"  # no bearer token: the gateway's signature
            assert public == (path in ("/healthz", "/openapi.json", "/docs") or signed)
            assert ("401" in answers) != (public and not signed), (path, method)
            if "requestBody" in op:
                assert "400" in answers and "422" in answers, (path, method)
            if "{id}" in path:
                assert "404" in answers, (path, method)
            assert op["operationId"] and op["summary"]


def test_the_error_body_and_reasons_are_described(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields"}
    assert "reasons" in error["properties"]
    rules = document["components"]["schemas"]["Reason"]["properties"]["rule"]["enum"]
    assert "chair_busy" in rules and "not_cleared" in rules
    assert {"illegal_transition", "not_today", "too_early"} <= set(rules)
    assert {"own_admin_role", "last_active_admin"} <= set(rules)
    codes = {
        r["content"]["application/json"]["example"]["error"]
        for r in document["components"]["responses"].values()
    }
    assert {"bad_request", "unauthorized", "forbidden", "not_found", "conflict", "invalid"} <= codes


def test_object_schemas_have_the_contract_fields(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["Site"]["properties"]) == {
        "id",
        "name",
        "timezone",
        "opening_hours",
        "nurse_ratio",
        "require_practitioner_on_site",
        "infusion_minutes",
        "observation_minutes",
        "overdue_after_minutes",
        "turnover_minutes",
        "min_hours_between_infusions",
        "recovery_mode",
        "check_in_open_minutes",
        "no_show_after_minutes",
        "vital_thresholds",
        "default_treatment_type_id",
        "rems_certification",
        "reminders",
        "cancel_window_hours",
        "screening_before_start",
    }
    assert set(schemas["TreatmentType"]["properties"]) == {
        "id",
        "site_id",
        "name",
        "kind",
        "active",
        "administration_minutes",
        "observation_minutes",
        "observation_from",
        "rems",
        "predose_bp_max",
    }
    assert set(schemas["Chair"]["properties"]) == {"id", "site_id", "name", "kind", "active"}
    assert set(schemas["User"]["properties"]) == {
        "id",
        "email",
        "name",
        "role",
        "active",
        "site_ids",
    }
    assert set(schemas["PatientInput"]["required"]) == {
        "mrn",
        "given_name",
        "family_name",
        "birth_date",
    }
    assert {
        "discharge_due_at",
        "events",
        "recovery_chair_id",
        "treatment_type_id",
        "confirmation",
    } <= set(schemas["Visit"]["properties"])
    assert set(schemas["Message"]["properties"]) == {
        "id",
        "channel",
        "kind",
        "status",
        "scheduled_for",
        "sent_at",
    }


def test_every_reference_resolves(document):
    text = json.dumps(document)
    for target in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = document
        for part in target.split("/"):
            node = node[part]
        assert isinstance(node, dict), target


def test_docs_api_md_names_every_path_of_the_document(document):
    # docs/api.md is the contract a reader of the repository has: it keeps in step with the
    # served document, so an endpoint added to one and not the other fails here.
    def placeholders(text: str) -> str:
        return re.sub(r"\{[^}]+\}", "{id}", text)

    docs = placeholders((Path(__file__).parents[2] / "docs" / "api.md").read_text())
    missing = [path for path in document["paths"] if placeholders(path) not in docs]
    assert missing == []
