"""The front desk in a real browser: sign in, book through the pages, see it on the board."""

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Visit
from clinic.web.dates import day
from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, chicago

TUESDAY = MONDAY + timedelta(days=1)


def test_a_clerk_books_a_visit_and_sees_it_on_the_day_board(page, clinic, screenshot):
    patient = clinic.new_patient(given_name="Ada", family_name="Quill")
    sign_in(page, clinic.clerk, PASSWORD)

    page.goto(f"/book?date={TUESDAY.isoformat()}&time=09:00")
    page.fill("#patient-search", "Quil")
    born = day(patient.birth_date, year=True, weekday=False)  # "2 Apr 1980", never ISO
    assert f"born {born}" in page.inner_text(".patient-result")
    page.click(".patient-result")
    page.wait_for_selector("#patient-chosen:not(.d-none)")
    assert "Ada Quill" in page.inner_text("#patient-name")
    assert f"born {born}" in page.inner_text("#patient-meta")
    page.select_option("select[name=chair_id]", str(clinic.chairs[1].id))
    screenshot("frontdesk-booking-form")
    page.click("#book-form [type=submit]")

    page.wait_for_url("**/visits/*")
    db.session.rollback()  # end this thread's read snapshot: the server wrote meanwhile
    visit = db.session.scalar(select(Visit).where(Visit.patient_id == patient.id))
    assert visit is not None
    assert visit.infusion_start == chicago(TUESDAY, 9)
    assert visit.chair_id == clinic.chairs[1].id

    page.goto(f"/?date={TUESDAY.isoformat()}")
    block = page.locator(f"a[href='/visits/{visit.id}']").first
    block.wait_for()
    assert "Ada Quill" in block.inner_text()  # the desk's board shows the name
    screenshot("frontdesk-day-board")


def test_a_refused_booking_lists_every_broken_rule(page, clinic, make_visit, screenshot):
    first = clinic.new_patient(given_name="Bo", family_name="Early")
    make_visit(clinic.clerk, first, chicago(TUESDAY, 9), chair_id=clinic.chairs[0].id)
    sign_in(page, clinic.clerk, PASSWORD)

    page.goto(
        f"/book?date={TUESDAY.isoformat()}&time=09:30&chair_id={clinic.chairs[0].id}"
        f"&patient_id={first.id}"
    )
    page.click("#book-form [type=submit]")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "chair is taken" in text.lower()
    assert "already has a visit" in text.lower()
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Visit.id))) == 1
    screenshot("frontdesk-booking-refused")


def test_the_patient_page_shows_clearance_and_visits(page, clinic, make_visit, screenshot):
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 10))
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/patients/{clinic.patient.id}")
    text = page.inner_text("main")
    assert clinic.patient.mrn in text
    assert "cleared" in text.lower()
    assert "10:00" in text
    screenshot("frontdesk-patient-page")


def test_a_clerk_books_an_induction_course_from_the_patient_page(page, clinic, screenshot):
    patient = clinic.new_patient(given_name="Cy", family_name="Course")
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/patients/{patient.id}")
    page.click("text=Book a course")
    page.fill("input[name=first_day]", MONDAY.isoformat())
    page.fill("input[name=start_time]", "09:00")
    page.click("button:has-text('Check dates'), input[value='Check dates']")
    page.wait_for_selector(".course-dates")
    assert page.locator(".course-dates li").count() == 6
    screenshot("frontdesk-course")
    page.click("text=Book the chosen dates")
    page.wait_for_url(f"**/patients/{patient.id}")
    db.session.rollback()
    visits = db.session.scalars(select(Visit).where(Visit.patient_id == patient.id)).all()
    assert len(visits) == 6
    assert len({v.series_id for v in visits}) == 1
