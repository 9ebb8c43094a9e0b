"""The admin's audit page and CSV export: who may see them, filters, paging, safe cells."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.services import audit
from clinic.web.audit import CSV_COLUMNS
from clinic.web.csv_export import neutralise
from tests.audit.conftest import audit_rows
from tests.conftest import NOW, empty_audit_trail


@pytest.fixture
def trail(clinic):
    """An empty trail, then a known set of rows (oldest first)."""
    empty_audit_trail()
    entries = [
        (clinic.clerk, "visit.book", 11, "visit", 101, "ok", NOW - timedelta(days=3)),
        (clinic.clerk, "visit.book", 12, "visit", 102, "refused", NOW - timedelta(days=2)),
        (clinic.nurse, "patient.view", 11, "patient", 11, "ok", NOW - timedelta(days=1)),
        (clinic.nurse, "visit.event.check_in", 11, "visit", 101, "ok", NOW),
        (clinic.admin, "admin.site.update", None, "site", 1, "ok", NOW),
    ]
    for actor, action, patient, kind, object_id, outcome, at in entries:
        audit.record(
            actor,
            action,
            at,
            patient_id=patient,
            object_type=kind,
            object_id=object_id,
            outcome=outcome,
        )
        db.session.commit()
    return clinic


def listed(client, query: str = "") -> list[tuple[str, str]]:
    """Return (action, outcome) of the table rows the page shows, in order."""
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    import re

    return re.findall(
        r'<code class="audit-action">([^<]+)</code>.*?outcome-(\w+)', html, flags=re.S
    )


@pytest.mark.parametrize("role", ["clerk", "nurse", "practitioner"])
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_the_audit_pages_are_for_admins_only(client, auth, clinic, role, path):
    auth.login(getattr(clinic, role))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_the_audit_pages_need_a_sign_in(client, clinic, path):
    response = client.get(path)
    assert response.status_code in (302, 401)
    assert "/login" in response.headers.get("Location", "/login")


def test_admin_sees_every_row_newest_first(client, auth, trail):
    auth.login(trail.admin)
    shown = listed(client)
    # The sign-in may be audited too (auth events); the five rows come newest first.
    ours = [row for row in shown if not row[0].startswith("auth.")]
    assert ours == [
        ("admin.site.update", "ok"),
        ("visit.event.check_in", "ok"),
        ("patient.view", "ok"),
        ("visit.book", "refused"),
        ("visit.book", "ok"),
    ]


def test_the_admin_index_links_to_the_audit_trail(client, auth, clinic):
    auth.login(clinic.admin)
    assert 'href="/admin/audit"' in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?action=visit.book", [("visit.book", "refused"), ("visit.book", "ok")]),
        (
            "?action=visit.*",
            [("visit.event.check_in", "ok"), ("visit.book", "refused"), ("visit.book", "ok")],
        ),
        ("?outcome=refused", [("visit.book", "refused")]),
        (
            "?patient_id=11&object_type=visit",
            [("visit.event.check_in", "ok"), ("visit.book", "ok")],
        ),
        ("?object_type=visit&object_id=102", [("visit.book", "refused")]),
        ("?who=front_desk", [("visit.book", "refused"), ("visit.book", "ok")]),
        ("?since=2026-11-28&until=2026-11-29", [("patient.view", "ok"), ("visit.book", "refused")]),
        ("?until=2026-11-27", [("visit.book", "ok")]),
    ],
)
def test_filters(client, auth, trail, query, expected):
    auth.login(trail.admin)
    assert listed(client, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "?patient_id=abc",
        "?patient_id=-4",
        "?patient_id=99999999999999",
        "?since=yesterday",
        "?since=2026-12-01&until=2026-11-01",
        "?action=drop%20table",
        "?outcome=maybe",
        "?object_type=%3Cscript%3E",
        "?page=abc",
        "?page=-3",
        "?page=99999999999999999999",
        "?who=" + "x" * 300,
        "?who=%25_%5C",
    ],
)
def test_bad_filters_get_a_message_never_an_error(client, auth, trail, query):
    auth.login(trail.admin)
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_a_bad_filter_is_explained_on_the_form(client, auth, trail):
    auth.login(trail.admin)
    html = client.get("/admin/audit?patient_id=abc").get_data(as_text=True)
    assert "Not a valid integer value" in html and "Correct the search" in html
    assert "Export CSV" not in html  # an export would ignore the broken filter


def test_who_is_matched_literally_not_as_a_like_pattern(client, auth, trail):
    auth.login(trail.admin)
    assert listed(client, "?who=%25") == []


def test_pages_of_fifty(client, auth, clinic):
    empty_audit_trail()
    for n in range(60):
        audit.record(clinic.nurse, "patient.view", NOW, patient_id=n + 1, object_type="patient")
    db.session.commit()
    auth.login(clinic.admin)
    first = listed(client, "?action=patient.view")
    second = listed(client, "?action=patient.view&page=2")
    assert len(first) == 50 and len(second) == 10
    html = client.get("/admin/audit?action=patient.view").get_data(as_text=True)
    assert "page=2" in html and "action=patient.view" in html


# ---------------------------------------------------------------- CSV


def read_csv(client, query: str = "") -> list[list[str]]:
    """Download the export and parse it."""
    response = client.get(f"/admin/audit.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_a_header_and_the_filtered_rows(client, auth, trail):
    auth.login(trail.admin)
    lines = read_csv(client, "?action=visit.book")
    assert tuple(lines[0]) == CSV_COLUMNS
    body = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [(r["action"], r["outcome"], r["object_id"]) for r in body] == [
        ("visit.book", "refused", "102"),
        ("visit.book", "ok", "101"),
    ]
    assert body[0]["actor"] == trail.clerk.email and body[0]["patient_id"] == "12"
    assert len(body[0]["hash"]) == 64


def test_csv_names_each_rows_chain_its_link_is_within(client, auth, trail):
    audit.record("system-test", "patient.view", NOW, patient_id=12, site_id=4)
    audit.record("system-test", "patient.view", NOW, patient_id=12, site_id=4)
    db.session.commit()
    auth.login(trail.admin)
    lines = read_csv(client, "?patient_id=12&action=patient.view")
    newest, oldest = (dict(zip(lines[0], line, strict=True)) for line in lines[1:3])
    assert (newest["chain"], oldest["chain"]) == ("4", "4")
    assert newest["prev_hash"] == oldest["hash"]


def test_the_export_itself_is_audited(client, auth, trail):
    auth.login(trail.admin)
    read_csv(client, "?outcome=refused")
    row = audit_rows("audit.export")[-1]
    assert row.actor_id == trail.admin.id and row.detail == {"filters": ["outcome"]}
    assert audit.verify().ok


def test_csv_neutralises_formula_cells(client, auth, clinic):
    audit.record('=HYPERLINK("http://evil")', "auth.failure", NOW, outcome="failed")
    audit.record("+1+1", "auth.failure", NOW, outcome="failed")
    audit.record("@SUM(A1)", "auth.failure", NOW, outcome="failed")
    audit.record("-2+3", "auth.failure", NOW, outcome="failed")
    db.session.commit()
    auth.login(clinic.admin)
    lines = read_csv(client, "?action=auth.failure")
    actors = {line[3] for line in lines[1:]}
    assert {'\'=HYPERLINK("http://evil")', "'+1+1", "'@SUM(A1)", "'-2+3"} <= actors
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
        (-3.5, "-3.5"),  # a number stays a number
        ("-3.5", "'-3.5"),  # text never does: it might be "-3+cmd|..."
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_csv_of_a_bad_filter_is_refused_without_a_file(client, auth, trail):
    auth.login(trail.admin)
    response = client.get("/admin/audit.csv?since=nonsense")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
