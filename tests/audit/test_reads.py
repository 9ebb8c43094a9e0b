"""Reads that show patients write an audit row: the day list, the booking and course forms,
the recovery dashboard (once per session and site) and the API's dashboard and visit list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.audit.conftest import audit_rows
from tests.conftest import MONDAY, AuthActions, chicago, statements_of
from tests.services.visit_rows import put_visit

TUESDAY = MONDAY + timedelta(days=1)
AUTO = {"X-Auto-Refresh": "1", "Accept": "application/json"}


@pytest.fixture
def in_recovery(clinic, make_chair):
    """Put a new patient of the clinic in recovery (Monday, started 06:00)."""

    def seat():
        patient = clinic.new_patient()
        return put_visit(
            clinic.site, make_chair(clinic.site), patient, "recovering", chicago(MONDAY, 6)
        )

    return seat


def test_the_printed_day_list_names_its_patients_by_id(client, auth, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    auth.login(clinic.clerk)
    assert client.get(f"/print?site_id={clinic.site.id}&date={TUESDAY}").status_code == 200
    (row,) = audit_rows("visit.list")
    assert (row.actor_id, row.object_type, row.object_id) == (
        clinic.clerk.id,
        "site",
        clinic.site.id,
    )
    assert row.detail == {
        "view": "print",
        "date": TUESDAY.isoformat(),
        "patient_ids": [visit.patient_id],
        "results": 1,
    }


def test_the_booking_form_for_a_patient_is_a_view_of_that_patient(client, auth, clinic):
    auth.login(clinic.clerk)
    assert client.get(f"/book?patient_id={clinic.patient.id}").status_code == 200
    (row,) = audit_rows("patient.view")
    assert (row.patient_id, row.object_type, row.detail) == (
        clinic.patient.id,
        "patient",
        {"page": "book"},
    )
    client.get("/book")  # no patient named: nothing to record
    assert len(audit_rows("patient.view")) == 1


def test_the_course_page_is_a_view_of_its_patient(client, auth, clinic):
    auth.login(clinic.clerk)
    assert client.get(f"/book/course?patient_id={clinic.patient.id}").status_code == 200
    (row,) = audit_rows("patient.view")
    assert (row.patient_id, row.detail) == (clinic.patient.id, {"page": "course"})


def test_the_recovery_dashboard_is_audited_once_per_session_and_site(
    app, client, auth, clinic, in_recovery
):
    first = in_recovery()
    auth.login(clinic.nurse)
    assert client.get(f"/recovery?site_id={clinic.site.id}").status_code == 200
    for _ in range(3):  # the page's polling
        assert client.get(f"/recovery/feed?site_id={clinic.site.id}", headers=AUTO).status_code in (
            200,
            304,
        )
    (row,) = audit_rows("dashboard.view")
    assert (row.actor_id, row.object_id) == (clinic.nurse.id, clinic.site.id)
    assert row.detail["patient_ids"] == [first.patient_id]

    # A patient who arrives later is recorded once, alone; the others are not repeated.
    second = in_recovery()
    client.get(f"/recovery/feed?site_id={clinic.site.id}", headers=AUTO)
    client.get(f"/recovery/feed?site_id={clinic.site.id}", headers=AUTO)
    rows = audit_rows("dashboard.view")
    assert [r.detail["patient_ids"] for r in rows] == [[first.patient_id], [second.patient_id]]

    # Another session (another browser) is recorded again.
    other = AuthActions(app.test_client())
    other.login(clinic.nurse)
    other.client.get(f"/recovery?site_id={clinic.site.id}")
    rows = audit_rows("dashboard.view")
    assert len(rows) == 3
    assert rows[-1].detail["patient_ids"] == [first.patient_id, second.patient_id]
    assert rows[-1].detail["session"] != rows[0].detail["session"]


def test_every_api_read_of_the_dashboard_is_audited(api_as, clinic, in_recovery):
    visit = in_recovery()
    api = api_as(clinic.nurse)
    for _ in range(2):
        assert api.get(f"/dashboard?site_id={clinic.site.id}").status_code == 200
    rows = audit_rows("dashboard.view")
    assert len(rows) == 2
    assert rows[0].detail == {"view": "api", "patient_ids": [visit.patient_id], "results": 1}


def test_the_api_visit_list_is_audited(api_as, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    response = api_as(clinic.nurse).get(f"/visits?site_id={clinic.site.id}&date={TUESDAY}")
    assert response.status_code == 200 and len(response.get_json()) == 1
    (row,) = audit_rows("visit.list")
    assert (row.actor_id, row.object_id) == (clinic.nurse.id, clinic.site.id)
    assert row.detail == {
        "view": "api",
        "date": TUESDAY.isoformat(),
        "patient_ids": [visit.patient_id],
        "results": 1,
    }


def test_a_feed_poll_that_shows_no_one_new_reads_no_audit_rows(
    app, client, auth, clinic, in_recovery
):
    in_recovery()
    auth.login(clinic.nurse)
    feed = f"/recovery/feed?site_id={clinic.site.id}"
    assert client.get(f"/recovery?site_id={clinic.site.id}").status_code == 200
    response, statements = statements_of(lambda: client.get(feed, headers=AUTO))
    assert response.status_code == 200  # no ETag sent: the whole block again
    assert not [s for s in statements if "audit_events" in s], statements

    # A process that has not served this session (another worker) reads what was recorded
    # and records nothing again.
    app.extensions["dashboard_seen"].clear()
    response, statements = statements_of(lambda: client.get(feed, headers=AUTO))
    assert response.status_code == 200
    assert [s for s in statements if "audit_events" in s]
    assert len(audit_rows("dashboard.view")) == 1
