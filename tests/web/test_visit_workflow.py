"""The visit page: the visit's window as plain messages, undo forms, and the booking history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.services import booking
from clinic.types import utcnow
from tests.conftest import MONDAY, add_baseline, chicago, csrf_token

FRIDAY_BEFORE = MONDAY - timedelta(days=3)
TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def signed_in(client, auth, clinic):
    """Sign in as the front-desk clerk."""
    auth.login(clinic.clerk)
    return client


@pytest.fixture
def desk_at(client, auth, clinic, frozen):
    """Move the clock, then sign the clerk in (a session does not survive a jump of hours)."""

    def at(instant):
        frozen.move_to(instant)
        auth.login(clinic.clerk)
        return client

    return at


@pytest.fixture
def visit(clinic, make_visit):
    """A booked visit on Monday at 13:00 in chair 1."""
    return make_visit(
        clinic.clerk, clinic.patient, chicago(MONDAY, 13), chair_id=clinic.chairs[0].id
    )


def post_action(client, visit_id: int, action: str, data: dict | None = None):
    """Post an action form of the visit page with its CSRF token; follow to the page."""
    token = csrf_token(client.get(f"/visits/{visit_id}").get_data(as_text=True))
    return client.post(
        f"/visits/{visit_id}/{action}",
        data={"csrf_token": token} | (data or {}),
        follow_redirects=True,
    )


def test_check_in_on_the_wrong_day_is_a_plain_message(desk_at, visit):
    signed_in = desk_at(chicago(FRIDAY_BEFORE, 13))
    response = post_action(signed_in, visit.id, "check-in")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This visit is planned for Mon 30 Nov at 13:00" in html
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_no_show_too_early_is_a_plain_message(desk_at, visit):
    signed_in = desk_at(chicago(MONDAY, 11, 21))
    html = post_action(signed_in, visit.id, "no-show").get_data(as_text=True)
    assert "Too early for a no-show" in html and "from 13:15" in html
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_undo_check_in_through_the_page(desk_at, visit):
    signed_in = desk_at(chicago(MONDAY, 12, 30))
    post_action(signed_in, visit.id, "check-in")
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert f"/visits/{visit.id}/undo-check-in" in html
    without = post_action(signed_in, visit.id, "undo-check-in", {"undo-reason": " "})
    assert "Give a reason." in without.get_data(as_text=True)
    db.session.refresh(visit)
    assert visit.status == "checked_in"
    done = post_action(signed_in, visit.id, "undo-check-in", {"undo-reason": "Wrong patient"})
    html = done.get_data(as_text=True)
    assert "Check-in undone" in html and "Wrong patient" in html
    db.session.refresh(visit)
    assert visit.status == "booked" and visit.checked_in_at is None


def test_undo_no_show_through_the_page(desk_at, visit):
    signed_in = desk_at(chicago(MONDAY, 13, 20))
    post_action(signed_in, visit.id, "no-show")
    html = post_action(
        signed_in, visit.id, "undo-no-show", {"undo-reason": "Arrived late"}
    ).get_data(as_text=True)
    assert "No-show undone" in html
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_reinstate_refused_lists_the_broken_rule(signed_in, visit, clinic, make_visit):
    post_action(signed_in, visit.id, "cancel", {"reason": "Unwell"})
    make_visit(clinic.clerk, clinic.new_patient(), chicago(MONDAY, 13), chair_id=visit.chair_id)
    html = post_action(signed_in, visit.id, "reinstate", {"undo-reason": "Back"}).get_data(
        as_text=True
    )
    assert "This chair is taken" in html
    db.session.refresh(visit)
    assert visit.status == "cancelled"


def test_the_timeline_shows_the_booking_history_with_who_and_when(signed_in, visit, clinic, frozen):
    booking.reschedule(
        clinic.nurse,
        visit.id,
        {"infusion_start": chicago(TUESDAY, 10), "chair_id": clinic.chairs[1].id},
        now=utcnow(),
    )
    post_action(signed_in, visit.id, "cancel", {"reason": "Patient unwell"})
    post_action(signed_in, visit.id, "reinstate", {"undo-reason": "Feels better"})
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    timeline = html[html.index("Timeline") :]
    order = ["Booked", "Rescheduled", "Cancelled", "Reinstated"]
    assert [timeline.index(label) for label in order] == sorted(
        timeline.index(label) for label in order
    )
    assert "from Mon 30 Nov 13:00 in Chair 1 to Tue 1 Dec 10:00 in Chair 2" in timeline
    assert clinic.nurse.name in timeline and clinic.clerk.name in timeline
    assert "Patient unwell" in timeline and "Feels better" in timeline


def test_the_printed_record_uses_the_same_timeline(desk_at, visit, clinic):
    signed_in = desk_at(chicago(MONDAY, 12, 50))
    post_action(signed_in, visit.id, "check-in")
    from clinic.services.events import record_event

    add_baseline(visit.id, chicago(MONDAY, 12, 55))
    record_event(clinic.nurse, visit.id, "start_infusion", now=chicago(MONDAY, 13))
    record = signed_in.get(f"/visits/{visit.id}/record").get_data(as_text=True)
    assert "Booked" in record and "Mon 30 Nov 13:00 in Chair 1" in record
    assert "Infusion started" in record


def test_the_recovery_board_shows_the_date_of_a_visit_from_another_day(
    client, auth, clinic, visit, frozen
):
    frozen.move_to(chicago(MONDAY, 12, 50))
    from clinic.services.events import record_event

    record_event(clinic.clerk, visit.id, "check_in", now=chicago(MONDAY, 12, 50))
    auth.login(clinic.nurse)
    assert "planned Mon 30 Nov" not in client.get("/recovery").get_data(as_text=True)
    frozen.move_to(chicago(TUESDAY, 7))
    auth.login(clinic.nurse)
    assert "planned Mon 30 Nov" in client.get("/recovery").get_data(as_text=True)


def test_the_admin_sets_the_visit_window_on_the_settings_page(client, auth, clinic):
    from tests.web.test_admin import site_form

    auth.login(clinic.admin)
    url = f"/admin/sites/{clinic.site.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'name="check_in_open_minutes"' in html and 'value="120"' in html
    token = csrf_token(html)
    data = site_form(clinic.site) | {"check_in_open_minutes": "721", "csrf_token": token}
    refused = client.post(url, data=data).get_data(as_text=True)
    assert "Between 0 and 720." in refused
    data |= {"check_in_open_minutes": "60", "no_show_after_minutes": "30"}
    assert client.post(url, data=data).status_code == 302
    db.session.refresh(clinic.site)
    assert (clinic.site.check_in_open_minutes, clinic.site.no_show_after_minutes) == (60, 30)


def test_the_page_disables_check_in_and_no_show_outside_the_window_and_says_when(desk_at, visit):
    # Monday 07:05: the 13:00 visit opens for check-in at 11:00 and for a no-show at 13:15.
    html = desk_at(chicago(MONDAY, 7, 5)).get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'disabled aria-describedby="not-yet-check-in">Check in</button>' in html
    assert 'disabled aria-describedby="not-yet-no-show">No-show</button>' in html
    assert "from 11:00 until" in html and "from 13:15" in html
    # 13:20: both are open, and nothing says otherwise.
    html = desk_at(chicago(MONDAY, 13, 20)).get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "not-yet-" not in html
    assert ">Check in</button>" in html and ">No-show</button>" in html
