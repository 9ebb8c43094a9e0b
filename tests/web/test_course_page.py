"""The page of one course: dates, progress, move this and the following (refusals with
alternatives to pick, nothing written), cancel the rest, add a date; links and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.extensions import db
from clinic.models import Visit
from clinic.services import courses
from clinic.types import utcnow
from tests.conftest import MONDAY, chicago, csrf_token

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def course(clinic):
    """A four-date course (Monday and Thursday 09:00) from MONDAY."""
    requests = courses.plan_requests(
        clinic.clerk, clinic.patient.id, None, chicago(MONDAY, 9), {0, 3}, 4
    )
    visits = courses.book_course(clinic.clerk, requests, utcnow())
    found = courses.course_of(visits)
    assert found is not None
    return found


def starts(course) -> list[str]:
    db.session.expire_all()
    return [
        v.infusion_start.astimezone(CHICAGO).strftime("%m-%d %H:%M")
        for v in courses.course_visits(course)
    ]


def test_page_shows_dates_progress_and_is_linked(client, auth, clinic, course):
    auth.login(clinic.clerk)
    page = client.get(f"/courses/{course.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "0 of 4" in html
    assert html.count("data-visit=") == 4
    assert 'name="csrf_token"' in html
    patient = client.get(f"/patients/{clinic.patient.id}").get_data(as_text=True)
    assert f"/courses/{course.id}" in patient
    first = courses.course_visits(course)[0]
    visit = client.get(f"/visits/{first.id}").get_data(as_text=True)
    assert f"/courses/{course.id}" in visit


def test_move_this_and_the_following(client, auth, clinic, course):
    auth.login(clinic.clerk)
    token = csrf_token(client.get(f"/courses/{course.id}").get_data(as_text=True))
    second = courses.course_visits(course)[1]
    answer = client.post(
        f"/courses/{course.id}/move",
        data={
            "csrf_token": token,
            "visit_id": second.id,
            "scope": "following",
            "date": (MONDAY + timedelta(days=4)).isoformat(),
            "time": "10:30",
        },
    )
    assert answer.status_code == 302
    assert starts(course) == ["11-30 09:00", "12-04 10:30", "12-08 10:30", "12-11 10:30"]


def test_move_the_following_onto_new_weekdays(client, auth, clinic, course, make_visit):
    auth.login(clinic.clerk)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'name="weekdays" value="2"' in page  # the optional pattern's checkboxes
    first = courses.course_visits(course)[0]
    # Monday/Thursday 09:00 becomes Wednesday/Friday 10:00; a chair-filling clash first.
    for chair in clinic.chairs:
        make_visit(
            clinic.clerk,
            clinic.new_patient(),
            chicago(MONDAY + timedelta(days=9), 10),
            chair_id=chair.id,
        )
    move = {
        "csrf_token": csrf_token(page),
        "visit_id": first.id,
        "scope": "following",
        "date": (MONDAY + timedelta(days=2)).isoformat(),
        "time": "10:00",
        "weekdays": ["2", "4"],
    }
    refused = client.post(f"/courses/{course.id}/move", data=move)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert re.findall(r'<li class="py-2 border-bottom" data-date="([^"]+)"', html) == [
        "2026-12-02",
        "2026-12-04",
        "2026-12-09",
        "2026-12-11",
    ]
    # The pattern is carried with the alternatives; nothing moved yet.
    assert html.count('type="hidden" name="weekdays"') == 2
    assert starts(course) == ["11-30 09:00", "12-03 09:00", "12-07 09:00", "12-10 09:00"]
    third = courses.course_visits(course)[2]
    picks = re.findall(rf'name="override-{third.id}" value="([^"]+)"', html)
    assert picks
    chosen = client.post(
        f"/courses/{course.id}/move",
        data=move | {"csrf_token": csrf_token(html), f"override-{third.id}": picks[0]},
    )
    assert chosen.status_code == 302, chosen.get_data(as_text=True)
    moved = starts(course)
    assert [moved[0], moved[1], moved[3]] == ["12-02 10:00", "12-04 10:00", "12-11 10:00"]
    assert moved[2] != "12-09 10:00"


@pytest.mark.parametrize(
    ("scope", "weekdays", "status"), [("following", ["9"], 422), ("this", ["2"], 422)]
)
def test_a_bad_weekday_pattern_moves_nothing(client, auth, clinic, course, scope, weekdays, status):
    auth.login(clinic.clerk)
    token = csrf_token(client.get(f"/courses/{course.id}").get_data(as_text=True))
    answer = client.post(
        f"/courses/{course.id}/move",
        data={
            "csrf_token": token,
            "visit_id": courses.course_visits(course)[0].id,
            "scope": scope,
            "date": (MONDAY + timedelta(days=2)).isoformat(),
            "time": "10:00",
            "weekdays": weekdays,
        },
    )
    assert answer.status_code == status
    assert "alert" in answer.get_data(as_text=True)
    assert starts(course) == ["11-30 09:00", "12-03 09:00", "12-07 09:00", "12-10 09:00"]


def test_a_clash_lists_alternatives_and_writes_nothing_until_one_is_picked(
    client, auth, clinic, course, make_visit
):
    third = courses.course_visits(course)[2]
    # Every chair is taken on the third date's new time (a day later).
    for chair in clinic.chairs:
        make_visit(
            clinic.clerk,
            clinic.new_patient(),
            chicago(MONDAY + timedelta(days=8), 9),
            chair_id=chair.id,
        )
    auth.login(clinic.clerk)
    token = csrf_token(client.get(f"/courses/{course.id}").get_data(as_text=True))
    move = {
        "csrf_token": token,
        "visit_id": courses.course_visits(course)[0].id,
        "scope": "following",
        "date": (MONDAY + timedelta(days=1)).isoformat(),
        "time": "09:00",
    }
    refused = client.post(f"/courses/{course.id}/move", data=move)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "data-refusal" in html
    picks = re.findall(rf'name="override-{third.id}" value="([^"]+)"', html)
    assert picks
    assert starts(course) == ["11-30 09:00", "12-03 09:00", "12-07 09:00", "12-10 09:00"]
    chosen = client.post(
        f"/courses/{course.id}/move",
        data=move | {"csrf_token": csrf_token(html), f"override-{third.id}": picks[0]},
    )
    assert chosen.status_code == 302, chosen.get_data(as_text=True)
    moved = starts(course)
    assert moved[0] == "12-01 09:00" and moved[1] == "12-04 09:00" and moved[3] == "12-11 09:00"
    assert moved[2] != "12-08 09:00"


def test_cancel_the_rest_and_add_a_date(client, auth, clinic, course):
    auth.login(clinic.clerk)
    token = csrf_token(client.get(f"/courses/{course.id}").get_data(as_text=True))
    third = courses.course_visits(course)[2]
    missing_reason = client.post(
        f"/courses/{course.id}/cancel",
        data={"csrf_token": token, "visit_id": third.id, "scope": "following", "reason": ""},
    )
    assert missing_reason.status_code == 422
    done = client.post(
        f"/courses/{course.id}/cancel",
        data={"csrf_token": token, "visit_id": third.id, "scope": "following", "reason": "Away"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert [v.status for v in courses.course_visits(course)] == [
        "booked",
        "booked",
        "cancelled",
        "cancelled",
    ]
    added = client.post(
        f"/courses/{course.id}/add",
        data={
            "csrf_token": token,
            "date": (MONDAY + timedelta(days=9)).isoformat(),
            "time": "11:00",
        },
    )
    assert added.status_code == 302
    assert "2 of 3" not in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "0 of 3" in client.get(f"/courses/{course.id}").get_data(as_text=True)


def test_without_csrf_or_role_nothing_changes(client, auth, clinic, course, make_site, make_user):
    auth.login(clinic.clerk)
    first = courses.course_visits(course)[0]
    forged = client.post(
        f"/courses/{course.id}/cancel",
        data={"visit_id": first.id, "scope": "following", "reason": "x"},
    )
    assert forged.status_code in (400, 422)
    db.session.expire_all()
    assert db.session.get(Visit, first.id).status == "booked"
    auth.logout()
    auth.login(make_user("front_desk", [make_site(name="Elsewhere")]))
    assert client.get(f"/courses/{course.id}").status_code == 404
