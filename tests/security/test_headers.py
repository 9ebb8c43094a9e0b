"""Security headers on every answer (pages, API, static files, errors); generic errors that
show no stack trace, SQL or path; no inline code in any template; bandit in `make test`."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import abort

from clinic.extensions import db
from clinic.web.security import CONTENT_SECURITY_POLICY
from tests.security.conftest import (
    INLINE_HANDLER,
    INLINE_SCRIPT,
    INLINE_STYLE,
    build_path,
    header_problems,
    routes,
    sign_in,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET_DETAIL = "Dana Rivera at /work/main/clinic/secret.py"
LEAKS = ("Traceback", "SELECT", "sqlite", "/work/", ".py", "Dana Rivera", "RuntimeError")


@pytest.fixture
def crashing_app(app):
    """The app with test-only routes that crash (added before the first request)."""

    def crash():
        raise RuntimeError(SECRET_DETAIL)

    def bad_sql():
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE name = 'Dana Rivera'"))

    def bad_insert():
        db.session.execute(
            sa.text("INSERT INTO patients (mrn, given_name) VALUES (:mrn, :name)"),
            {"mrn": "MRN-LEAK", "name": "Dana Rivera"},
        )
        db.session.commit()

    def teapot():
        abort(418)

    for path, view in (
        ("/_test/crash", crash),
        ("/_test/sql", bad_sql),
        ("/_test/insert", bad_insert),
        ("/_test/teapot", teapot),
        ("/api/v1/_test/crash", crash),
        ("/api/v1/_test/sql", bad_sql),
    ):
        app.add_url_rule(path, path.replace("/", "_"), view)
    return app


def test_the_policy_forbids_inline_code_and_framing():
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_every_get_route_has_the_headers_signed_in_or_not(world):
    app = world.app
    failures = []
    for rule, method in routes(app):
        if method != "GET":
            continue
        path = build_path(app, rule, world.args)
        for actor in ("anonymous", "admin", "nurse"):
            if path.startswith(("/api/", "/fhir/")):  # bearer tokens
                response = app.test_client().get(path, headers=world.bearer(actor))
            else:
                response = world.client(actor).get(path)
            for problem in header_problems(response):
                failures.append(f"GET {path} as {actor}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/_test/crash", 500),
        ("/_test/sql", 500),
        ("/_test/insert", 500),
        ("/_test/teapot", 418),
        ("/api/v1/_test/crash", 500),
        ("/api/v1/_test/sql", 500),
        ("/no/such/page", 404),
        ("/api/v1/no/such/thing", 404),
    ],
)
def test_errors_are_generic_and_carry_the_headers(crashing_app, client, clinic, path, status):
    sign_in(client, clinic.nurse)
    response = client.get(path)
    assert response.status_code == status
    assert not header_problems(response), header_problems(response)
    text = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in text, leak
    if path.startswith("/api/"):
        body = response.get_json()
        assert set(body) >= {"error", "message", "fields"}


def test_api_errors_for_a_signed_in_token_carry_the_headers(crashing_app, api_as, clinic):
    for path, status in (("/_test/crash", 500), ("/visits/999999", 404), ("/nowhere", 404)):
        response = api_as(clinic.nurse).get(path)
        assert response.status_code == status
        assert not header_problems(response)
        assert "Traceback" not in response.get_data(as_text=True)


def test_405_and_csrf_400_carry_the_headers(client):
    for response in (client.delete("/login"), client.post("/login", data={})):
        assert response.status_code in (400, 405)
        assert not header_problems(response)


def test_static_files_carry_the_headers_and_may_be_cached(client):
    for path in ("/static/css/app.css", "/bootstrap/static/css/bootstrap.min.css"):
        response = client.get(path)
        assert response.status_code == 200
        assert not header_problems(response)
        assert response.headers.get("Cache-Control") != "no-store"


def test_crash_logs_name_no_patient_and_no_sql_values(crashing_app, client, clinic, caplog):
    sign_in(client, clinic.nurse)
    with caplog.at_level(logging.INFO):
        assert client.get("/_test/insert").status_code == 500
    logged = "\n".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "MRN-LEAK" not in logged and "Dana Rivera" not in logged


def test_no_template_has_inline_script_style_or_handlers():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern, what in (
            (INLINE_SCRIPT, "inline <script>"),
            (INLINE_STYLE, "inline style"),
            (INLINE_HANDLER, "event handler attribute"),
            (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
        ):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {what}")
    assert not offenders, "\n".join(offenders)


def test_make_test_runs_bandit_with_no_medium_or_high_severity_finding():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"bandit -q -r clinic -ll$", makefile, re.MULTILINE)
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run(
        [str(bandit), "-q", "-r", "clinic", "-ll"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "bandit" in (ROOT / "requirements-dev.txt").read_text()
    assert "pyotp" in (ROOT / "requirements.txt").read_text()
