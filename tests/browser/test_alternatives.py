"""Alternatives, courses, the visits list and the week view in a real browser."""

from datetime import timedelta

from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Visit
from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, chicago

TUESDAY = MONDAY + timedelta(days=1)


def test_a_refused_ten_oclock_offers_ten_oclock_in_another_chair_and_books_it(
    page, clinic, make_visit, screenshot
):
    first, second, _ = clinic.chairs
    make_visit(clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 10), chair_id=first.id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(
        f"/book?date={TUESDAY.isoformat()}&time=10:00&chair_id={first.id}"
        f"&patient_id={clinic.patient.id}"
    )
    page.click("#book-form [type=submit]")
    page.wait_for_selector("#broken-rules")
    assert "closest free times" in page.inner_text(".slots-card").lower()
    first_offer = page.locator("#slot-list .slot-group").first
    assert "10:00" in first_offer.inner_text()
    screenshot("alternatives-booking-refused")

    first_offer.locator(f".slot-btn[data-chair-id='{second.id}']").click()
    assert page.input_value("select[name=chair_id]") == str(second.id)
    assert page.input_value("input[name=time]") == "10:00"
    page.click("#book-form [type=submit]")
    page.wait_for_url("**/visits/*")
    db.session.rollback()
    visit = db.session.scalar(select(Visit).where(Visit.patient_id == clinic.patient.id))
    assert visit.infusion_start == chicago(TUESDAY, 10) and visit.chair_id == second.id


def test_a_course_with_a_clash_asks_before_booking_five_of_six(
    page, clinic, make_visit, screenshot
):
    chair = clinic.chairs[0]
    make_visit(
        clinic.clerk,
        clinic.new_patient(),
        chicago(MONDAY + timedelta(days=2), 9),
        chair_id=chair.id,
    )
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/book/course?patient_id={clinic.patient.id}")
    page.fill("input[name=first_day]", MONDAY.isoformat())
    page.fill("input[name=start_time]", "09:00")
    page.select_option("select[name=chair_id]", str(chair.id))
    page.click("form [name=check]")
    page.wait_for_selector(".course-clash")
    assert page.locator("#course-extra").is_visible()
    screenshot("alternatives-course-clash")

    page.click("text=Book the chosen dates")
    page.wait_for_selector("text=Book 5 of 6")
    screenshot("alternatives-course-confirm")
    page.click("button:has-text('Book 5 of 6')")
    page.wait_for_url("**/patients/*")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Visit.id))) == 6  # 5 + the clash's own


def test_the_visits_list_and_the_week(page, clinic, make_visit, screenshot):
    for hour, chair in ((9, 0), (9, 1), (13, 2)):
        make_visit(
            clinic.clerk,
            clinic.new_patient(),
            chicago(TUESDAY, hour),
            chair_id=clinic.chairs[chair].id,
        )
    sign_in(page, clinic.clerk, PASSWORD)
    page.click("nav >> text=Visits")
    page.wait_for_selector(".visits-table")
    page.fill("#q", "Rivera")
    page.click("#visits-search button:has-text('Search')")
    page.wait_for_selector("#visits-count")
    assert "3 visits" in page.inner_text("#visits-count")
    assert "Rivera" not in page.url
    screenshot("visits-list")

    page.click("nav >> text=Week")
    page.wait_for_selector("#week-table")
    assert "3" in page.inner_text("#week-table tfoot")
    screenshot("visits-week")
    page.click("text=Next week →")
    page.wait_for_selector("text=Week of Mon 7 Dec")


def test_a_refused_reschedule_offers_a_one_click_move(page, clinic, make_visit, screenshot):
    first, second, third = clinic.chairs
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9), chair_id=first.id)
    make_visit(clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 13), chair_id=second.id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/visits/{visit.id}")
    page.fill("#reschedule-form input[name=time]", "13:15")
    page.select_option("#reschedule-form select[name=chair_id]", str(second.id))
    page.click("#reschedule-form button[type=submit]")
    page.wait_for_selector("#reschedule-alternatives")
    screenshot("alternatives-reschedule-refused")
    page.locator(f"#reschedule-alternatives button[value$=' {third.id}']").first.click()
    page.wait_for_selector("text=Visit rescheduled.")
    db.session.rollback()
    db.session.refresh(visit)
    assert visit.infusion_start == chicago(TUESDAY, 13, 15) and visit.chair_id == third.id
