"""A chair taken out of service never strands its bookings: refused while visits need it
(API 409 with visit_ids, the page lists them), or each visit moved to another free chair at
the same time, all or nothing, through the booking rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, Chair, Visit
from clinic.types import utcnow
from tests.conftest import MONDAY, chicago
from tests.web.test_admin import page, post_form

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def signed_in(client, auth, clinic):
    """The administrator, signed in on the pages."""
    auth.login(clinic.admin)
    return clinic.admin


def book(clinic, make_visit, chair, hour: int) -> Visit:
    """Book a new cleared patient into a chair on Tuesday at an hour."""
    return make_visit(clinic.clerk, clinic.new_patient(), chicago(TUESDAY, hour), chair_id=chair.id)


def fresh(model, id_: int):
    """Reload a row from the database."""
    db.session.expire_all()
    return db.session.get(model, id_)


# ---------------------------------------------------------------- the API


def test_deactivating_a_chair_with_future_visits_is_409_listing_them(api_as, clinic, make_visit):
    chair = clinic.chairs[0]
    later = book(clinic, make_visit, chair, 14)
    first = book(clinic, make_visit, chair, 9)
    book(clinic, make_visit, clinic.chairs[1], 9)  # another chair's visit is not listed
    response = api_as(clinic.admin).patch(f"/chairs/{chair.id}", json={"active": False})
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["error"] == "conflict" and body["message"] and body["fields"] == {}
    assert body["visit_ids"] == [first.id, later.id]
    assert fresh(Chair, chair.id).active is True
    # Changing its kind would strand them too.
    response = api_as(clinic.admin).patch(f"/chairs/{chair.id}", json={"kind": "recovery_bay"})
    assert response.status_code == 409 and response.get_json()["visit_ids"] == [first.id, later.id]
    # A rename is fine.
    response = api_as(clinic.admin).patch(f"/chairs/{chair.id}", json={"name": "Window chair"})
    assert response.status_code == 200


def test_past_cancelled_and_other_chairs_visits_do_not_block(api_as, clinic, make_visit, frozen):
    chair = clinic.chairs[0]
    cancelled = book(clinic, make_visit, chair, 9)
    cancelled.status = "cancelled"
    over = book(clinic, make_visit, chair, 11)
    db.session.commit()
    frozen.move_to(over.chair_released_at)  # its hold ends now (half-open)
    response = api_as(clinic.admin).patch(f"/chairs/{chair.id}", json={"active": False})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is False


def test_a_patient_still_in_the_chair_blocks_it_whatever_the_plan(
    api_as, clinic, make_visit, frozen
):
    chair = clinic.chairs[0]
    visit = book(clinic, make_visit, chair, 9)
    visit.status = "infusing"  # running far past its planned hold
    db.session.commit()
    frozen.move_to(visit.chair_released_at + timedelta(hours=1))
    response = api_as(clinic.admin).patch(f"/chairs/{chair.id}", json={"active": False})
    assert response.status_code == 409
    assert response.get_json()["visit_ids"] == [visit.id]


# ---------------------------------------------------------------- the page


def test_page_refuses_and_lists_the_visits(client, signed_in, clinic, make_visit):
    chair = clinic.chairs[0]
    visit = book(clinic, make_visit, chair, 9)
    url = f"/admin/sites/{clinic.site.id}/chairs"
    response = post_form(client, f"{url}/{chair.id}/active", {}, token_from=url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"{chair.name} still has 1 active visit" in html
    assert f'href="/visits/{visit.id}"' in html and "Tue 1 Dec 09:00" in html
    assert "Move each to another free chair at the same time" in html
    assert fresh(Chair, chair.id).active is True


def test_move_each_to_another_free_chair_then_retire_it(client, signed_in, clinic, make_visit):
    chair, second, third = clinic.chairs
    at_nine = book(clinic, make_visit, chair, 9)
    book(clinic, make_visit, second, 9)  # 09:00 in the second chair is taken: goes to the third
    at_two = book(clinic, make_visit, chair, 14)
    url = f"/admin/sites/{clinic.site.id}/chairs"
    response = post_form(client, f"{url}/{chair.id}/move-visits", {}, token_from=url)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert fresh(Chair, chair.id).active is False
    assert fresh(Visit, at_nine.id).chair_id == third.id
    assert fresh(Visit, at_two.id).chair_id == second.id
    moved = fresh(Visit, at_nine.id)
    assert moved.infusion_start == chicago(TUESDAY, 9)  # same time
    assert "2 visits moved" in page(client, url)
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.reschedule")
    ).all()
    assert {(r.object_id, r.detail["cause"], r.detail["from_chair_id"]) for r in rows} == {
        (at_nine.id, "chair_out_of_service", chair.id),
        (at_two.id, "chair_out_of_service", chair.id),
    }
    assert rows[0].actor_id == clinic.admin.id and rows[0].patient_id == at_nine.patient_id


def test_all_or_nothing_shows_the_visits_that_cannot_move(client, signed_in, clinic, make_visit):
    chair, second, third = clinic.chairs
    stuck = book(clinic, make_visit, chair, 9)
    book(clinic, make_visit, second, 9)
    book(clinic, make_visit, third, 9)  # no other chair is free at 09:00
    movable = book(clinic, make_visit, chair, 14)
    url = f"/admin/sites/{clinic.site.id}/chairs"
    response = post_form(client, f"{url}/{chair.id}/move-visits", {}, token_from=url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nothing was moved: 1 visit of" in html
    assert "Cannot move: This chair is taken" in html
    assert "Could move" in html
    assert fresh(Chair, chair.id).active is True
    assert fresh(Visit, stuck.id).chair_id == chair.id
    assert fresh(Visit, movable.id).chair_id == chair.id
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "admin.chair.update")
    ).all()
    assert [r.outcome for r in refused][-1] == "refused"
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.reschedule")
    ).all()


def test_a_bays_visits_get_another_bay_and_keep_their_chair(
    client, signed_in, clinic, make_visit, make_chair
):
    from clinic.services.setup import save_site

    save_site(clinic.site, {"recovery_mode": "bay"}, now=utcnow())
    bay_one = make_chair(clinic.site, "Bay 1", kind="recovery_bay")
    bay_two = make_chair(clinic.site, "Bay 2", kind="recovery_bay")
    visit = book(clinic, make_visit, clinic.chairs[0], 9)
    assert visit.recovery_chair_id == bay_one.id
    url = f"/admin/sites/{clinic.site.id}/chairs"
    response = post_form(client, f"{url}/{bay_one.id}/move-visits", {}, token_from=url)
    assert response.status_code == 302
    moved = fresh(Visit, visit.id)
    assert (moved.chair_id, moved.recovery_chair_id) == (clinic.chairs[0].id, bay_two.id)
    assert fresh(Chair, bay_one.id).active is False
