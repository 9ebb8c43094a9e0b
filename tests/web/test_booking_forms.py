"""The booking page: prefilled form, every broken rule shown, field errors, roles, search."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Visit
from clinic.services import booking
from clinic.web.dates import day
from tests.conftest import MONDAY, NOW, chicago, csrf_token

TUESDAY = MONDAY + timedelta(days=1)


def visit_count() -> int:
    """Count every visit in the database."""
    return db.session.scalar(select(func.count()).select_from(Visit))


def booking_form(client, patient_id, **fields) -> dict:
    """A filled booking form with the page's CSRF token."""
    token = csrf_token(client.get("/book").get_data(as_text=True))
    return {
        "csrf_token": token,
        "patient_id": str(patient_id),
        "date": TUESDAY.isoformat(),
        "time": "09:00",
        "chair_id": "0",
        "infusion_minutes": "45",
        "observation_minutes": "120",
        "notes": "",
    } | fields


@pytest.fixture
def signed_in(client, auth, clinic):
    """Sign in as the front-desk clerk."""
    auth.login(clinic.clerk)
    return client


def test_the_form_is_prefilled_from_the_board_link(signed_in, clinic):
    chair = clinic.chairs[1]
    html = signed_in.get(
        f"/book?date={TUESDAY.isoformat()}&time=10:15&chair_id={chair.id}"
    ).get_data(as_text=True)
    assert f'value="{TUESDAY.isoformat()}"' in html and 'value="10:15"' in html
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{chair.id}"|<option[^>]*value="{chair.id}"[^>]*selected',
        html,
    )
    assert 'name="infusion_minutes"' in html and 'value="45"' in html and 'value="120"' in html


def test_a_patient_id_in_the_link_preselects_the_patient(signed_in, clinic):
    html = signed_in.get(f"/book?patient_id={clinic.patient.id}").get_data(as_text=True)
    assert clinic.patient.full_name in html and clinic.patient.mrn in html


def test_bad_query_values_are_ignored(signed_in):
    response = signed_in.get("/book?date=someday&time=99:99&chair_id=-3&patient_id=x")
    assert response.status_code == 200
    assert 'value="2026-11-30"' in response.get_data(as_text=True)  # today at the site


def test_booking_creates_one_visit_and_goes_to_it(signed_in, clinic):
    chair = clinic.chairs[1]
    data = booking_form(signed_in, clinic.patient.id, chair_id=str(chair.id), notes="Bring ID")
    response = signed_in.post("/book", data=data)

    assert response.status_code == 302
    visits = db.session.scalars(select(Visit)).all()
    assert len(visits) == 1
    visit = visits[0]
    assert response.headers["Location"] == f"/visits/{visit.id}"
    assert visit.patient_id == clinic.patient.id and visit.chair_id == chair.id
    assert visit.infusion_start == chicago(TUESDAY, 9) and visit.notes == "Bring ID"
    assert visit.created_by_id == clinic.clerk.id
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked" in page and "09:00" in page and chair.name in page


def test_any_chair_picks_a_free_one(signed_in, clinic, make_visit):
    make_visit(
        clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 9), chair_id=clinic.chairs[0].id
    )
    response = signed_in.post("/book", data=booking_form(signed_in, clinic.patient.id))
    assert response.status_code == 302
    visit = db.session.scalars(select(Visit).where(Visit.patient_id == clinic.patient.id)).one()
    assert visit.chair_id == clinic.chairs[1].id


def test_a_conflict_lists_every_broken_rule_and_saves_nothing(signed_in, clinic, make_visit):
    chair = clinic.chairs[0]
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9), chair_id=chair.id)
    before = visit_count()
    request = booking.Request(
        patient_id=clinic.patient.id, infusion_start=chicago(TUESDAY, 9, 30), chair_id=chair.id
    )
    _, _, _, expected = booking.evaluate(clinic.clerk, request, NOW)
    assert {v.rule for v in expected} >= {"chair_busy", "patient_overlap"}

    data = booking_form(signed_in, clinic.patient.id, time="09:30", chair_id=str(chair.id))
    response = signed_in.post("/book", data=data)
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    rules = html[html.index('id="broken-rules"') :]
    rules = rules[: rules.index("</ul>")]
    assert rules.count("<li>") == len(expected)
    for violation in expected:
        assert escape(violation.message) in rules
    assert visit_count() == before
    # The input is kept so that the clerk can change one thing and try again.
    assert 'value="09:30"' in html and clinic.patient.full_name in html


def test_outside_opening_hours_is_reported(signed_in, clinic):
    response = signed_in.post(
        "/book", data=booking_form(signed_in, clinic.patient.id, time="17:00")
    )
    html = response.get_data(as_text=True)
    assert 'id="broken-rules"' in html and visit_count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"patient_id": ""}, "Choose a patient"),
        ({"patient_id": "abc"}, "Choose a patient"),
        ({"time": "25:99"}, "Not a valid time value."),
        ({"time": ""}, "Give a time."),
        ({"date": "31/12/2026"}, "Not a valid date value."),
        ({"infusion_minutes": "0"}, "Between 1 and 240 minutes."),
        ({"infusion_minutes": "ten"}, "Not a valid integer value."),
        ({"observation_minutes": "9999"}, "Between 1 and 720 minutes."),
        ({"chair_id": "999"}, "Not a valid choice."),
        ({"notes": "x" * 1001}, "Field cannot be longer than 1000 characters."),
    ],
)
def test_a_bad_form_shows_field_errors_and_saves_nothing(signed_in, clinic, fields, message):
    data = booking_form(signed_in, clinic.patient.id) | fields
    response = signed_in.post("/book", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html and "invalid-feedback" in html
    assert visit_count() == 0


def test_minutes_outside_the_sites_range_are_shown_beside_the_field(signed_in, clinic):
    data = booking_form(signed_in, clinic.patient.id, infusion_minutes="30")
    html = signed_in.post("/book", data=data).get_data(as_text=True)
    field = html[html.index('id="infusion_minutes"') :]
    assert "Must be between 45 and 60 minutes." in field[: field.index("</div>", 200) + 200]
    assert visit_count() == 0


def test_a_patient_of_another_site_cannot_be_booked(signed_in, make_site, make_patient):
    stranger = make_patient(make_site(name="Dallas"))
    html = signed_in.post("/book", data=booking_form(signed_in, stranger.id)).get_data(as_text=True)
    assert "No such patient at your sites" in html and visit_count() == 0
    assert stranger.family_name not in html


def test_booking_without_csrf_is_400(signed_in, clinic):
    data = booking_form(signed_in, clinic.patient.id)
    del data["csrf_token"]
    assert signed_in.post("/book", data=data).status_code == 400
    data["csrf_token"] = "forged"
    assert signed_in.post("/book", data=data).status_code == 400
    assert visit_count() == 0


def test_a_nurse_can_book(client, auth, clinic):
    auth.login(clinic.nurse)
    response = client.post("/book", data=booking_form(client, clinic.patient.id))
    assert response.status_code == 302 and visit_count() == 1


def test_an_admin_may_not_book(client, auth, clinic):
    auth.login(clinic.admin)
    assert client.get("/book").status_code == 403
    token = csrf_token(client.get("/").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "patient_id": str(clinic.patient.id),
        "date": TUESDAY.isoformat(),
        "time": "09:00",
        "chair_id": "0",
        "infusion_minutes": "45",
        "observation_minutes": "120",
    }
    assert client.post("/book", data=data).status_code == 403
    assert visit_count() == 0


def test_the_next_free_slots_panel(signed_in, clinic, make_visit):
    make_visit(
        clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id
    )
    html = signed_in.get(f"/book?date={TUESDAY.isoformat()}").get_data(as_text=True)
    panel = html[html.index('id="slot-list"') :]
    times = re.findall(r"<strong>(\d\d:\d\d)</strong>", panel)
    assert times[:3] == ["08:00", "08:15", "08:30"] and len(times) == 8
    first_group = panel.index('class="slot-group"')
    first = panel[first_group : panel.index('class="slot-group"', first_group + 1)]
    # Chair 1 is taken at 08:00: only the other chairs are offered then.
    assert f'data-chair-id="{clinic.chairs[0].id}"' not in first
    assert f'data-chair-id="{clinic.chairs[1].id}"' in first


def test_slots_move_to_the_next_open_day(signed_in, clinic):
    sunday = MONDAY + timedelta(days=6)
    body = signed_in.get(
        f"/book/slots?site_id={clinic.site.id}&date={sunday.isoformat()}"
    ).get_json()
    assert body["slots"][0]["date"] == (sunday + timedelta(days=1)).isoformat()
    assert body["slots"][0]["time"] == "08:00"
    assert len(body["slots"]) == 8
    assert [c["id"] for c in body["slots"][0]["chairs"]] == [c.id for c in clinic.chairs]


def test_slots_of_another_site_are_404(signed_in, make_site):
    other = make_site(name="Dallas")
    assert signed_in.get(f"/book/slots?site_id={other.id}").status_code == 404


# ---------------------------------------------------------------- patient search


def search(client, query, token=None):
    """Search patients the way book.js does: POST, JSON body, CSRF header."""
    token = token or csrf_token(client.get("/book").get_data(as_text=True))
    return client.post("/book/patients", json={"q": query}, headers={"X-CSRFToken": token})


def test_search_finds_the_users_site_patients_only(signed_in, clinic, make_site, make_patient):
    mine = clinic.new_patient(given_name="Robin", family_name="Hale", mrn="H-100")
    theirs = make_patient(make_site(name="Dallas"), given_name="Robin", family_name="Hale")
    response = search(signed_in, "hale")
    assert response.status_code == 200
    found = response.get_json()["patients"]
    assert [p["id"] for p in found] == [mine.id]
    assert theirs.id not in [p["id"] for p in found]
    assert found[0] == {
        "id": mine.id,
        "name": "Robin Hale",
        "mrn": "H-100",
        "birth_date": "1980-04-02",
        "cleared_until": (MONDAY + timedelta(days=180)).isoformat(),
        "born": "2 Apr 1980",
        "cleared_to": day(MONDAY + timedelta(days=180), year=True, weekday=False),
        "site_id": clinic.site.id,
    }


def test_search_by_mrn_and_uncleared_patients(signed_in, clinic, make_patient):
    uncleared = make_patient(clinic.site, mrn="Z-9")
    found = search(signed_in, "z-9").get_json()["patients"]
    assert [p["id"] for p in found] == [uncleared.id]
    assert found[0]["cleared_until"] is None and found[0]["cleared_to"] == ""


def test_search_needs_csrf_and_a_json_body(signed_in):
    assert signed_in.post("/book/patients", json={"q": "a"}).status_code == 400
    token = csrf_token(signed_in.get("/book").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    bad = signed_in.post("/book/patients", data="q=a", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_request"
    assert signed_in.post("/book/patients", json=[1], headers=headers).status_code == 400
    assert (
        signed_in.post("/book/patients", json={"q": "x" * 101}, headers=headers).status_code == 400
    )
    assert signed_in.post("/book/patients", json={"q": "  "}, headers=headers).get_json() == {
        "patients": []
    }
    assert signed_in.get("/book/patients?q=a").status_code == 405


def test_search_is_for_staff_who_book(client, auth, clinic):
    auth.login(clinic.admin)
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert search(client, "rivera", token).status_code == 403


def test_a_clerk_of_two_sites_chooses_the_site(
    client, auth, clinic, make_site, make_chair, make_shift, make_user, make_patient
):
    dallas = make_site(name="Dallas")
    dallas_chair = make_chair(dallas, "Dallas Chair")
    make_shift(dallas, "nurse")
    make_shift(dallas, "practitioner")
    clerk = make_user("front_desk", [clinic.site, dallas])
    auth.login(clerk)
    html = client.get("/book").get_data(as_text=True)
    assert '<select class="form-select" id="site_id"' in html
    assert "Austin · Chair 1" in html and "Dallas · Dallas Chair" in html
    data = booking_form(client, clinic.patient.id) | {"site_id": str(dallas.id)}
    # The patient's home site is Austin but the visit may take place in Dallas.
    response = client.post("/book", data=data)
    assert response.status_code == 302
    visit = db.session.scalars(select(Visit)).one()
    assert visit.site_id == dallas.id and visit.chair_id == dallas_chair.id


def test_a_refused_ten_oclock_offers_ten_oclock_in_another_chair_first(
    signed_in, clinic, make_visit
):
    first, second, third = clinic.chairs
    make_visit(clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 10), chair_id=first.id)
    data = booking_form(signed_in, clinic.patient.id, time="10:00", chair_id=str(first.id))

    html = signed_in.post("/book", data=data).get_data(as_text=True)

    assert "Closest free times" in html
    panel = html[html.index('id="slot-list"') :]
    times = re.findall(r"<strong>(\d\d:\d\d)</strong>", panel)
    # The same time in the other chairs, then the nearest times that day either way.
    assert times[:4] == ["10:00", "10:15", "09:45", "10:30"]
    first_group = panel[: panel.index('class="slot-group"', panel.index('class="slot-group"') + 1)]
    assert f'data-chair-id="{first.id}"' not in first_group
    assert f'data-chair-id="{second.id}"' in first_group
    assert f'data-chair-id="{third.id}"' in first_group
    assert visit_count() == 1
