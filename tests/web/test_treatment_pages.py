"""Pages follow the visit's treatment type: the booking form's picker, the type's words and
name on the visit page, the nurses' card and the day print."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Visit
from clinic.services import booking, treatment_types
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from tests.conftest import MONDAY, NOW, add_negative_screen, chicago, csrf_token
from tests.rems_sessions import SPRAVATO

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def spravato(clinic):
    """The REMS type Spravato at the clinic's certified site, its patient enrolled."""
    made = treatment_types.save_type(None, clinic.site, SPRAVATO, now=NOW, actor=clinic.admin)
    clinic.site.rems_certified_on = date(2026, 11, 2)
    clinic.site.rems_authorized_representative = "Dr. Rivera"
    clinic.patient.rems_enrolled_on = date(2026, 11, 23)
    db.session.commit()
    return made


@pytest.fixture
def signed_in(client, auth, clinic):
    """Sign in as the front-desk clerk."""
    auth.login(clinic.clerk)
    return client


def _selected(html: str, name: str) -> str | None:
    """Return the value of the selected option of a select."""
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    if select_html is None:
        return None
    option = re.search(r'<option[^>]*selected[^>]*value="(\d+)"', select_html[0])
    option = option or re.search(r'<option[^>]*value="(\d+)"[^>]*selected', select_html[0])
    return option[1] if option else None


def test_a_single_type_site_books_as_before_without_a_picker(signed_in):
    html = signed_in.get("/book").get_data(as_text=True)
    assert 'name="treatment_type_id"' not in html
    assert "Site allows 45\u201360." in html


def test_the_picker_offers_the_sites_types_the_default_first_and_chosen(
    signed_in, clinic, spravato
):
    html = signed_in.get("/book").get_data(as_text=True)
    assert 'name="treatment_type_id"' in html
    assert _selected(html, "treatment_type_id") == str(clinic.site.default_treatment_type_id)
    options = re.findall(r'<option[^>]*data-infusion-default="(\d+)"[^>]*>([^<]*)<', html)
    assert ("15", "Spravato 56/84 mg") in options and ("45", "IV ketamine") in options


def test_a_type_in_the_link_prefills_its_minutes(signed_in, spravato):
    html = signed_in.get(f"/book?treatment_type_id={spravato.id}").get_data(as_text=True)
    assert _selected(html, "treatment_type_id") == str(spravato.id)
    assert re.search(
        r'name="infusion_minutes"[^>]*value="15"|value="15"[^>]*name="infusion_minutes"', html
    )
    assert "Allowed 10\u201315." in html
    assert "At least 120 from the first device." in html


def test_booking_with_the_picker_books_the_type_and_its_times(signed_in, clinic, spravato):
    token = csrf_token(signed_in.get("/book").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "patient_id": str(clinic.patient.id),
        "treatment_type_id": str(spravato.id),
        "date": TUESDAY.isoformat(),
        "time": "09:00",
        "chair_id": "0",
        "infusion_minutes": "15",
        "observation_minutes": "120",
        "notes": "",
    }
    response = signed_in.post("/book", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = db.session.scalars(select(Visit)).one()
    assert visit.treatment_type_id == spravato.id
    assert visit.observation_end == chicago(TUESDAY, 11)
    # Minutes outside the type's range stay on the form beside their field.
    refused = signed_in.post("/book", data=data | {"infusion_minutes": "45", "time": "13:00"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "Must be between 10 and 15 minutes." in html


def test_the_slots_panel_follows_the_type(signed_in, clinic, spravato):
    base = f"/book/slots?site_id={clinic.site.id}&date={TUESDAY.isoformat()}"
    iv = signed_in.get(base).get_json()["slots"][0]
    rems = signed_in.get(f"{base}&treatment_type_id={spravato.id}").get_json()["slots"][0]
    assert (iv["time"], iv["until"]) == ("08:00", "10:45")
    assert (rems["time"], rems["until"]) == ("08:00", "10:00")


@pytest.fixture
def infusing(clinic, spravato, frozen):
    """A Spravato session whose first device was at 09:02 on Monday; the clock at 09:10."""
    req = booking.Request(
        patient_id=clinic.patient.id,
        infusion_start=chicago(MONDAY, 9),
        chair_id=clinic.chairs[0].id,
        treatment_type_id=spravato.id,
    )
    visit, _ = booking.book(clinic.clerk, req, now=NOW)
    frozen.move_to(chicago(MONDAY, 9, 10))
    now = chicago(MONDAY, 9, 10)
    record_event(clinic.nurse, visit.id, "check_in", now, at=chicago(MONDAY, 8, 50))
    reading = {"systolic": 120, "diastolic": 76, "heart_rate": 68, "spo2": 98}
    record_observation(clinic.nurse, visit.id, reading, now, at=chicago(MONDAY, 8, 55))
    add_negative_screen(visit.id, chicago(MONDAY, 8, 55))
    return record_event(clinic.nurse, visit.id, "start_infusion", now, at=chicago(MONDAY, 9, 2))


def test_the_visit_page_uses_the_types_words_and_name(infusing, signed_in):
    html = signed_in.get(f"/visits/{infusing.id}").get_data(as_text=True)
    assert re.search(r'id="visit-treatment">Spravato 56/84 mg<', html)
    assert "First device</dt>" in html and "Infusion started</dt>" not in html
    assert 'semibold">First device</span>' in html  # the timeline's line
    assert 'semibold">Infusion started</span>' not in html
    assert "120 min from the first device" in html
    assert "Administration</dt>" in html
    # The chart shades the administration, not an "infusion".
    assert 'fill="#6d28d9">Administration</text>' in html
    assert 'fill="#6d28d9">Infusion</text>' not in html


def test_the_card_counts_down_from_the_first_device(client, auth, clinic, infusing):
    auth.login(clinic.nurse)
    html = client.get(f"/recovery?site_id={clinic.site.id}").get_data(as_text=True)
    card = html[html.index(f'id="visit-card-{infusing.id}"') :]
    card = card[: card.index("</article>")]
    assert f'data-due="{infusing.discharge_due_at.isoformat()}"' in card
    assert "Discharge due" in card
    assert "120 min from first device 09:02" in card
    assert "Administration 8 of 15 min" in card
    assert "Spravato 56/84 mg" in card


def test_the_day_print_names_the_type(infusing, signed_in, clinic):
    html = signed_in.get(f"/print?site_id={clinic.site.id}&date={MONDAY.isoformat()}")
    assert "Spravato 56/84 mg" in html.get_data(as_text=True)


def test_the_nurses_buttons_and_dialogs_use_the_types_words(client, auth, clinic, infusing):
    auth.login(clinic.nurse)
    html = client.get(f"/recovery?site_id={clinic.site.id}").get_data(as_text=True)
    card = html[html.index(f'id="visit-card-{infusing.id}"') :]
    card = card[: card.index("</article>")]
    assert ">End administration</button>" in card
    dialog = client.get(f"/recovery/visits/{infusing.id}/end-infusion").get_data(as_text=True)
    assert "End administration" in dialog
    assert "the observation still counts from the first device" in dialog


def test_a_spravato_course_books_every_date_with_the_type_and_its_times(clinic, spravato):
    from clinic.services import courses

    starts = [chicago(MONDAY, 9), chicago(MONDAY + timedelta(days=2), 9)]
    requests = [
        booking.Request(
            patient_id=clinic.patient.id, infusion_start=start, treatment_type_id=spravato.id
        )
        for start in starts
    ]
    results, _ = courses.check_course(clinic.clerk, requests, NOW)
    assert all(r.ok for r in results)
    visits = courses.book_course(clinic.clerk, requests, NOW)
    assert {v.treatment_type_id for v in visits} == {spravato.id}
    assert [v.observation_end for v in visits] == [s + timedelta(hours=2) for s in starts]


def test_a_chair_taken_out_of_service_moves_its_visit_with_its_type(clinic, spravato):
    from clinic.services import chair_moves

    req = booking.Request(
        patient_id=clinic.patient.id,
        infusion_start=chicago(TUESDAY, 9),
        chair_id=clinic.chairs[0].id,
        treatment_type_id=spravato.id,
    )
    visit, _ = booking.book(clinic.clerk, req, now=NOW)
    [moved] = chair_moves.move_visits_and_retire(clinic.admin, clinic.chairs[0], NOW)
    assert moved.id == visit.id and moved.chair_id != clinic.chairs[0].id
    assert moved.treatment_type_id == spravato.id
    assert (moved.infusion_minutes, moved.observation_end) == (15, chicago(TUESDAY, 11))


def test_the_course_page_offers_the_types_and_checks_a_spravato_course(signed_in, clinic, spravato):
    page = signed_in.get(f"/book/course?patient_id={clinic.patient.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="treatment_type_id"' in html
    checked = signed_in.post(
        f"/book/course?patient_id={clinic.patient.id}",
        data={
            "csrf_token": csrf_token(html),
            "patient_id": str(clinic.patient.id),
            "first_day": TUESDAY.isoformat(),
            "start_time": "09:00",
            "weekdays": ["1", "3"],
            "count": "2",
            "chair_id": "0",
            "treatment_type_id": str(spravato.id),
            "infusion_minutes": "15",
            "observation_minutes": "120",
        },
    )
    result = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "All 2 dates are free" in result
    assert f'name="treatment_type_id" value="{spravato.id}"' in result  # carried to the booking
