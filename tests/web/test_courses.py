"""The induction-course pages: preview writes nothing; confirm books all or nothing."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Visit
from tests.conftest import MONDAY, chicago, csrf_token


def visit_count() -> int:
    return db.session.scalar(select(func.count(Visit.id)))


def check(client, patient, **overrides):
    page = client.get(f"/book/course?patient_id={patient.id}")
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "patient_id": patient.id,
        "first_day": MONDAY.isoformat(),
        "start_time": "09:00",
        "weekdays": ["0", "2", "4"],
        "count": 6,
        "chair_id": 0,
        "infusion_minutes": 45,
        "observation_minutes": 120,
    } | overrides
    return client.post(f"/book/course?patient_id={patient.id}", data=form)


def choices(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'name="(choice-\d+)" value="([^"]+)" checked', html))


def test_checking_a_course_lists_the_dates_and_writes_nothing(client, auth, clinic):
    auth.login(clinic.clerk)
    page = check(client, clinic.patient)
    assert page.status_code == 200
    assert len(choices(page.get_data(as_text=True))) == 6
    assert visit_count() == 0


def test_confirming_books_the_chosen_dates(client, auth, clinic):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient).get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(html),
        "patient_id": clinic.patient.id,
        "infusion_minutes": 45,
        "observation_minutes": 120,
        "asked": 6,
    } | choices(html)
    response = client.post("/book/course/confirm", data=form)
    assert response.status_code == 302
    assert visit_count() == 6


def test_a_date_taken_meanwhile_books_nothing(client, auth, clinic, make_visit):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    make_visit(
        clinic.clerk,
        clinic.new_patient(),
        chicago(MONDAY + timedelta(days=2), 9),
        chair_id=clinic.chairs[0].id,
    )
    form = {
        "csrf_token": csrf_token(html),
        "patient_id": clinic.patient.id,
        "infusion_minutes": 45,
        "observation_minutes": 120,
        "asked": 6,
    } | choices(html)
    response = client.post("/book/course/confirm", data=form, follow_redirects=True)
    assert "can no longer be booked" in response.get_data(as_text=True)
    assert visit_count() == 1


def test_without_a_patient_the_clerk_is_sent_to_the_patients(client, auth, clinic):
    auth.login(clinic.clerk)
    response = client.get("/book/course")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/patients")


def test_an_admin_may_not_book_a_course(client, auth, clinic):
    auth.login(clinic.admin)
    assert client.get(f"/book/course?patient_id={clinic.patient.id}").status_code == 403


def options(html: str, name: str) -> list[str]:
    import re

    return re.findall(rf'name="{name}" value="([^"]+)"', html)


@pytest.fixture
def clash(clinic, make_visit):
    """Chair 1 is taken on the course's Wednesday at 09:00."""
    wednesday = MONDAY + timedelta(days=2)
    return make_visit(
        clinic.clerk, clinic.new_patient(), chicago(wednesday, 9), chair_id=clinic.chairs[0].id
    )


def confirm_form(html: str, patient, picked: dict[str, str]) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))
    return (
        fields
        | {
            "csrf_token": csrf_token(html),
            "patient_id": patient.id,
            "weekdays": ["0", "2", "4"],
        }
        | picked
    )


def test_a_clash_offers_the_same_time_in_another_chair_first(client, auth, clinic, clash):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    offered = options(html, "choice-2")
    wednesday_nine = chicago(MONDAY + timedelta(days=2), 9).isoformat()
    assert offered[0] == f"{clinic.chairs[1].id}@{wednesday_nine}"
    assert offered[1] == f"{clinic.chairs[2].id}@{wednesday_nine}"


def test_one_clash_left_unchosen_does_not_silently_book_five_of_six(client, auth, clinic, clash):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    picked = choices(html)
    assert len(picked) == 5

    response = client.post("/book/course/confirm", data=confirm_form(html, clinic.patient, picked))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Book 5 of 6" in page
    assert visit_count() == 1  # only the clash's own visit


def test_confirming_five_of_six_books_exactly_the_chosen(client, auth, clinic, clash):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    page = client.post(
        "/book/course/confirm", data=confirm_form(html, clinic.patient, choices(html))
    ).get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="([\w-]+)" value="([^"]*)">', page))
    assert form["count_confirmed"] == "5"
    form["csrf_token"] = csrf_token(page)

    response = client.post("/book/course/confirm", data=form)

    assert response.status_code == 302
    booked = db.session.scalars(
        select(Visit).where(Visit.patient_id == clinic.patient.id).order_by(Visit.infusion_start)
    ).all()
    expected = [chicago(MONDAY + timedelta(days=d), 9) for d in (0, 4, 7, 9, 11)]
    assert [v.infusion_start for v in booked] == expected
    assert {v.chair_id for v in booked} == {clinic.chairs[0].id}


def test_a_wrong_count_confirmation_asks_again(client, auth, clinic, clash):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    form = confirm_form(html, clinic.patient, choices(html)) | {"count_confirmed": "6"}
    response = client.post("/book/course/confirm", data=form)
    assert "Book 5 of 6" in response.get_data(as_text=True)
    assert visit_count() == 1


def test_the_extra_date_after_the_last_is_offered_and_bookable(
    client, auth, clinic, clash, make_shift
):
    week3 = MONDAY + timedelta(days=14)
    for role in ("nurse", "practitioner"):
        make_shift(clinic.site, role, chicago(week3, 7), chicago(week3 + timedelta(days=4), 19))
    auth.login(clinic.clerk)
    html = check(client, clinic.patient, chair_id=clinic.chairs[0].id).get_data(as_text=True)
    extra = options(html, "choice-extra")
    # The course's next weekday after Friday the 11th is Monday the 14th, at 09:00.
    monday_nine = chicago(week3, 9).isoformat()
    assert extra[0] == f"{clinic.chairs[0].id}@{monday_nine}"

    picked = choices(html) | {"choice-extra": extra[0]}
    response = client.post("/book/course/confirm", data=confirm_form(html, clinic.patient, picked))

    assert response.status_code == 302  # six chosen for six asked: no question
    booked = db.session.scalars(
        select(Visit.infusion_start).where(Visit.patient_id == clinic.patient.id)
    ).all()
    assert len(booked) == 6 and chicago(week3, 9) in booked


def test_without_a_clash_no_extra_date_is_offered(client, auth, clinic):
    auth.login(clinic.clerk)
    html = check(client, clinic.patient).get_data(as_text=True)
    assert 'id="course-extra"' not in html
