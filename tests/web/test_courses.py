"""The induction-course pages: preview writes nothing; confirm books all or nothing."""

from datetime import timedelta

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
