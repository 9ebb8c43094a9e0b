"""The admin's site settings, chair retirement and a practitioner's clearance void, in a real
browser (screenshots land in test-artifacts/)."""

from datetime import timedelta

from clinic.extensions import db
from clinic.models import Chair, Clearance, Site, Visit
from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, chicago

TUESDAY = MONDAY + timedelta(days=1)


def test_admin_sets_the_time_zone_and_vital_limits(page, clinic, screenshot):
    sign_in(page, clinic.admin, PASSWORD)
    page.goto(f"/admin/sites/{clinic.site.id}")
    assert page.input_value("select[name=timezone]") == "America/Chicago"
    page.select_option("select[name=timezone]", "America/Denver")
    page.fill("input[name=hr_high]", "110")
    screenshot("admin-site-settings")
    page.click("button[type=submit]:has-text('Save settings')")
    page.wait_for_selector(".alert-success")
    db.session.rollback()
    site = db.session.get(Site, clinic.site.id)
    assert site.timezone == "America/Denver" and site.vital_thresholds["hr_high"] == 110


def test_admin_moves_a_chairs_visits_before_retiring_it(page, clinic, make_visit, screenshot):
    chair, second, _ = clinic.chairs
    visit = make_visit(clinic.clerk, clinic.new_patient(), chicago(TUESDAY, 9), chair_id=chair.id)
    sign_in(page, clinic.admin, PASSWORD)
    page.goto(f"/admin/sites/{clinic.site.id}/chairs")
    page.locator("tr", has_text="Deactivate").first.locator("button:has-text('Deactivate')").click()
    page.wait_for_selector(".chair-blocked")
    assert f"/visits/{visit.id}" in page.inner_html(".chair-blocked")
    screenshot("admin-chair-still-booked")
    page.click("button:has-text('Move each to another free chair at the same time')")
    page.wait_for_selector(".alert-success")
    assert "1 visit moved" in page.inner_text(".alert-success")
    db.session.rollback()
    assert db.session.get(Chair, chair.id).active is False
    assert db.session.get(Visit, visit.id).chair_id == second.id
    screenshot("admin-chair-retired")


def test_practitioner_voids_a_clearance(page, clinic, screenshot):
    patient = clinic.patient
    clearance = patient.clearances[0]
    sign_in(page, clinic.practitioner, PASSWORD)
    page.goto(f"/patients/{patient.id}")
    page.click("a:has-text('Void')")
    page.fill("textarea[name=reason]", "Entered for the wrong patient")
    page.click("button:has-text('Void clearance')")
    page.wait_for_selector(".clearance-void")
    assert "Entered for the wrong patient" in page.inner_text(".clearance-void")
    screenshot("patient-voided-clearance")
    db.session.rollback()
    assert db.session.get(Clearance, clearance.id).voided_at is not None


def test_admin_is_told_when_a_shift_overlaps_the_same_persons(page, clinic, screenshot):
    sign_in(page, clinic.admin, PASSWORD)
    page.goto(f"/admin/sites/{clinic.site.id}/shifts?week=2026-11-30")
    page.select_option("select[name=user_id]", str(clinic.nurse.id))
    page.fill("input[name=day]", "2026-12-02")
    page.fill("input[name=starts]", "12:00")
    page.fill("input[name=ends]", "16:00")
    page.click("button:has-text('Add shift')")
    page.wait_for_selector(".invalid-feedback, .is-invalid")
    # The clinic's nurse is on one shift through the fortnight: both ends are dated.
    expected = (
        f"{clinic.nurse.name} is already on shift here Mon 30 Nov 07:00\u2013Sun 13 Dec 19:00"
    )
    assert expected in page.content()
    screenshot("admin-shift-overlap")
