"""Helpers for the FHIR R4 read API tests: a bearer client and the R4(B) validator."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.conftest import issue_token

MEDIA_TYPE = "application/fhir+json"


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a FHIR answer with fhir.resources (R4B: the R4 resources used here are the
    same) and return it; a Bundle's entries are validated with it."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    for entry in body.get("entry", []):
        valid(entry["resource"])
    return body


class Fhir:
    """A FHIR client that signs its requests with a user's bearer token."""

    def __init__(self, client, user=None, token: str | None = None) -> None:
        self.client = client
        token = token if token is not None else issue_token(user)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **query):
        """GET /fhir/<path>; check the media type; return the response."""
        url = path if path.startswith("http") else f"/fhir/{path}"
        response = self.client.get(url, query_string=query or None, headers=self.headers)
        assert response.mimetype == MEDIA_TYPE, response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        return response

    def read(self, path: str, **query) -> dict[str, Any]:
        """GET a 200 answer and return it validated."""
        response = self.get(path, **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return valid(response.get_json())

    def search(self, path: str, **query) -> dict[str, Any]:
        """GET a searchset Bundle (validated) and return it."""
        body = self.read(path, **query)
        assert (body["resourceType"], body["type"]) == ("Bundle", "searchset")
        return body

    def everything(self, path: str, **query) -> list[dict[str, Any]]:
        """Follow a search's next links to the end; return every resource found."""
        body = self.search(path, **query)
        found = [entry["resource"] for entry in body.get("entry", [])]
        while nxt := [link["url"] for link in body["link"] if link["relation"] == "next"]:
            body = self.search(nxt[0])
            found += [entry["resource"] for entry in body.get("entry", [])]
        return found


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the resources of a Bundle's entries."""
    return [entry["resource"] for entry in bundle.get("entry", [])]


def refused(response, status: int, code: str) -> dict[str, Any]:
    """Check an OperationOutcome error answer and return it."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = valid(response.get_json())
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body


@pytest.fixture
def fhir_as(client):
    """Return a FHIR client for a user: fhir_as(user).search("Appointment", date="...")."""
    return lambda user: Fhir(client, user)
