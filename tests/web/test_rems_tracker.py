"""The REMS tracker page: sessions by status, the mark-submitted form, the navigation link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Notification, RemsSubmission
from tests.conftest import CHICAGO, NOW, csrf_token
from tests.rems_sessions import rems_type, session
from tests.security.conftest import header_problems

# Due on Monday 30 November 2026 (NOW's day in Austin), overdue from Tuesday 00:00 CST.
DISCHARGED = datetime(2026, 11, 23, 16, 0, tzinfo=CHICAGO).astimezone(UTC)


@pytest.fixture
def sessions(clinic):
    """A session due today, one overdue, one submitted, and a plain (not REMS) discharge."""
    spravato = rems_type(clinic.site)

    def make(discharged_at, treatment_type=spravato, **names):
        patient = clinic.new_patient(**names)
        return session(patient, clinic.chairs[0], treatment_type, discharged_at)

    due = make(DISCHARGED, given_name="Avery", family_name="Due")
    overdue = make(DISCHARGED - timedelta(days=3), given_name="Blake", family_name="Late")
    submitted = make(DISCHARGED - timedelta(days=1), given_name="Casey", family_name="Sent")
    db.session.add(
        RemsSubmission(
            visit_id=submitted.id,
            method="online",
            confirmation="RX-555",
            submitted_at=DISCHARGED,
            recorded_by_id=clinic.nurse.id,
        )
    )
    db.session.commit()
    plain = make(DISCHARGED, rems_type(clinic.site, rems=False), given_name="Drew")
    return {"due": due, "overdue": overdue, "submitted": submitted, "plain": plain}


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def rows(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'<tr id="visit-(\d+)"', html)]


def test_the_tracker_lists_the_sessions_of_each_status_with_links_and_a_form(
    client, auth, clinic, sessions
):
    auth.login(clinic.clerk)
    html = page(client, "/rems/submissions")  # the "due" tab by default
    due = sessions["due"]
    assert rows(html) == [due.id]
    assert "Avery Due" in html and "Mon 30 Nov 2026" in html
    assert 'class="status-badge rems-due">Due</span>' in html
    assert f'href="/visits/{due.id}"' in html and f'href="/visits/{due.id}/rems-form"' in html
    assert f'action="/rems/submissions/{due.id}"' in html and 'name="csrf_token"' in html
    assert 'value="2026-11-30T07:00"' in html  # submitted at: now, in Austin's wall-clock time

    overdue = page(client, "/rems/submissions?status=overdue")
    assert rows(overdue) == [sessions["overdue"].id]
    assert 'class="status-badge rems-overdue">Overdue</span>' in overdue
    submitted = page(client, "/rems/submissions?status=submitted")
    assert rows(submitted) == [sessions["submitted"].id]
    assert "RX-555" in submitted and "Mark submitted" not in submitted
    response = client.get("/rems/submissions?status=all")
    assert header_problems(response) == []  # no inline script or style, no caching
    every = response.get_data(as_text=True)
    assert sorted(rows(every)) == sorted(
        [sessions["due"].id, sessions["overdue"].id, sessions["submitted"].id]
    )
    assert "Drew" not in every  # not a REMS session
    page(client, "/rems/submissions?status=late", 404)


def test_marking_a_form_submitted_records_it_in_the_sites_time(client, auth, clinic, sessions):
    auth.login(clinic.nurse)
    due = sessions["due"]
    html = page(client, "/rems/submissions")
    response = client.post(
        f"/rems/submissions/{due.id}",
        data={
            "csrf_token": csrf_token(html),
            "status": "due",
            "method": "fax",
            "confirmation": " FX-42 ",
            "submitted_at": "2026-11-30T06:45",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/rems/submissions?site_id={clinic.site.id}&status=due"
    )
    row = db.session.scalar(select(RemsSubmission).where(RemsSubmission.visit_id == due.id))
    assert (row.method, row.confirmation, row.recorded_by_id) == ("fax", "FX-42", clinic.nurse.id)
    assert row.submitted_at == datetime(2026, 11, 30, 6, 45, tzinfo=CHICAGO)
    html = page(client, "/rems/submissions")
    assert rows(html) == [] and "is marked submitted" in html
    assert due.id in rows(page(client, "/rems/submissions?status=submitted"))


def test_a_bad_or_refused_form_is_shown_again_with_its_errors(client, auth, clinic, sessions):
    auth.login(clinic.practitioner)
    due = sessions["due"]
    token = csrf_token(page(client, "/rems/submissions"))
    form = {"csrf_token": token, "method": "fax", "submitted_at": "2026-11-30T06:45"}

    blank = client.post(f"/rems/submissions/{due.id}", data=form | {"confirmation": ""})
    assert blank.status_code == 422
    html = blank.get_data(as_text=True)
    assert "Give the confirmation number the REMS gave." in html and "is-invalid" in html

    future = client.post(
        f"/rems/submissions/{due.id}",
        data=form | {"confirmation": "FX-1", "submitted_at": "2026-11-30T09:00"},
    )
    assert future.status_code == 422
    assert "Cannot be in the future." in future.get_data(as_text=True)

    wrong = client.post(
        f"/rems/submissions/{due.id}", data=form | {"confirmation": "FX-1", "method": "email"}
    )
    assert wrong.status_code == 422

    plain = sessions["plain"]
    refused = client.post(f"/rems/submissions/{plain.id}", data=form | {"confirmation": "FX-1"})
    assert refused.status_code == 409
    twice = client.post(
        f"/rems/submissions/{sessions['submitted'].id}", data=form | {"confirmation": "FX-1"}
    )
    assert twice.status_code == 409
    assert "already marked submitted" in twice.get_data(as_text=True)

    no_token = client.post(f"/rems/submissions/{due.id}", data=form | {"csrf_token": "x"})
    assert no_token.status_code == 400
    recorded = db.session.scalars(select(RemsSubmission.visit_id)).all()
    assert recorded == [sessions["submitted"].id]


def test_another_sites_staff_see_neither_its_tracker_nor_its_sessions(
    client, auth, clinic, sessions, make_site, make_user
):
    other = make_site(name="Dallas")
    stranger = make_user("nurse", [other])
    auth.login(stranger)
    page(client, f"/rems/submissions?site_id={clinic.site.id}", 404)
    token = csrf_token(page(client, "/rems/submissions"))
    response = client.post(
        f"/rems/submissions/{sessions['due'].id}",
        data={"csrf_token": token, "method": "fax", "confirmation": "X", "submitted_at": ""},
    )
    assert response.status_code == 404


def test_the_navigation_links_the_tracker_for_a_rems_site_with_its_open_reminders(
    client, auth, clinic, make_site, make_user
):
    auth.login(clinic.nurse)
    assert "REMS forms" not in page(client, "/patients")  # the site is not REMS-certified
    spravato = rems_type(clinic.site)  # certifies the site
    assert re.search(r'href="/rems/submissions">REMS forms</a>', page(client, "/patients"))
    visit = session(clinic.new_patient(), clinic.chairs[0], spravato, DISCHARGED)
    db.session.add(
        Notification(
            kind="rems_form_due",
            visit_id=visit.id,
            site_id=clinic.site.id,
            due_at=NOW - timedelta(hours=7),
            created_at=NOW - timedelta(hours=7),
        )
    )
    db.session.commit()
    html = page(client, "/patients")
    assert re.search(r"REMS forms <span [^>]*>1</span>", html)
    tracker = page(client, "/rems/submissions")
    assert "1 form due for submission" in tracker and "Reminder open" in tracker
    # The recovery board's alert feed (and its sound) carries the discharge alarms only.
    feed = client.get(f"/notifications/feed?site_id={clinic.site.id}").get_json()
    assert feed["alerts"] == []
