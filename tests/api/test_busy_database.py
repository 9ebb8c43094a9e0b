"""A SQLite database still locked after the busy timeout answers 503, never 500."""

from __future__ import annotations

import sqlite3

import pytest

from clinic import database
from clinic.extensions import db
from tests.conftest import csrf_token


@pytest.fixture
def locked_database(app, monkeypatch):
    """Return a function that holds SQLite's write lock from another connection."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    held = []

    def lock() -> None:
        db.session.remove()
        db.engine.dispose()  # new connections wait only 50 ms
        other = sqlite3.connect(db.engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.append(other)

    yield lock
    for other in held:
        other.execute("ROLLBACK")
        other.close()


def test_the_api_answers_503_with_the_error_body(clinic, api_as, locked_database):
    api = api_as(clinic.admin)
    chair_id = clinic.chairs[0].id
    locked_database()
    for response in (
        api.patch(f"/chairs/{chair_id}", json={"name": "Chair A"}),
        api.post("/sites", json={"name": "Bastrop"}),
    ):
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"] == "unavailable" and body["fields"] == {}
        assert "locked" not in body["message"]
        assert response.headers["Retry-After"]


def test_a_page_answers_a_generic_503_page(clinic, client, auth, locked_database):
    email = clinic.admin.email
    token = csrf_token(client.get("/login").get_data(as_text=True))
    locked_database()
    data = {"email": email, "password": "x", "csrf_token": token}
    response = client.post("/login", data=data)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Busy right now" in html and "locked" not in html.lower()
