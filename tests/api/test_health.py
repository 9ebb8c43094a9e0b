"""/healthz answers without a token."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from clinic.extensions import db


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/healthz"])
def test_health_needs_no_token(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json() == {
        "database": "ok",
        "scheduler": {"alive": False, "last_heartbeat": None},
    }


def test_api_health_is_not_cached(client):
    assert client.get("/api/v1/healthz").headers["Cache-Control"] == "no-store"


def test_health_reports_a_database_that_does_not_answer(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    assert "connection refused" not in response.get_data(as_text=True)
