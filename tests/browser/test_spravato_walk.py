"""A Spravato (esketamine) session walked through the pages on a controlled clock: check-in,
a pre-dose blood pressure too high, three nasal devices, the 40-minute reading, the REMS gates
at discharge, the nurse's answers, and the monitoring form printed complete on one page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.database import begin_write
from clinic.extensions import db
from clinic.models import Dose, Visit
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_rems_form import pages_of
from tests.browser.test_walkthrough import (  # noqa: F401  (person is a fixture)
    act,
    card,
    fresh_read,
    person,
    scheduler_beat,
    shot,
    submit,
    wait_phase,
)
from tests.conftest import MONDAY, add_negative_screen, chicago
from tests.rems_sessions import rems_type

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def reading(page, visit_id: int, bp: tuple[int, int], moaas: int, dissociation: int = 0) -> None:
    """Record a reading with its MOAA/S score from the card, then see it on the card."""
    dialog = act(page, visit_id, "vitals", "dialog-vitals")
    dialog.locator('[name="systolic"]').fill(str(bp[0]))
    dialog.locator('[name="diastolic"]').fill(str(bp[1]))
    dialog.locator('[name="heart_rate"]').fill("76")
    dialog.locator('[name="spo2"]').fill("98")
    dialog.locator("#vitals-moaas").select_option(str(moaas))
    dialog.locator(f'label[for="vitals-dissociation-{dissociation}"]').click()
    submit(dialog)
    page.wait_for_function(
        f"""() => {{
          const c = document.querySelector('.rc-card[data-visit-id="{visit_id}"]');
          return c && c.textContent.includes('{bp[0]}/{bp[1]}');
        }}"""
    )


def refused(dialog, words: str) -> str:
    """Save a dialog that must be refused; return what it says, and close it."""
    dialog.locator("[data-dialog-submit]").click()
    dialog.get_by_text(words, exact=False).first.wait_for()
    text = dialog.inner_text()
    dialog.page.wait_for_timeout(400)  # Bootstrap ignores Escape while the dialog fades in
    dialog.page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    dialog.page.wait_for_selector(".modal-backdrop", state="detached")
    return text


def fill_discharge(dialog) -> None:
    for item in ("vital_signs", "activity", "nausea_vomiting", "pain", "bleeding"):
        dialog.locator(f'label[for="discharge-padss_{item}-2"]').click()
    if not dialog.locator("#discharge-escort_name").input_value():
        dialog.locator("#discharge-escort_name").fill("Tom Hart")
    if not dialog.locator("#discharge-vitals_stable").is_checked():
        dialog.locator('label[for="discharge-vitals_stable"]').click()


def test_a_spravato_session_from_check_in_to_a_complete_printed_form(
    person,  # noqa: F811
    clinic,
    make_visit,
    frozen,
):
    def at(hour: int, minute: int = 0) -> None:
        frozen.move_to(chicago(MONDAY, hour, minute))
        scheduler_beat()

    spravato = rems_type(clinic.site)
    begin_write()
    spravato.predose_systolic_max, spravato.predose_diastolic_max = 140, 90
    clinic.site.idle_timeout_minutes = 60  # the clock jumps up to 54 minutes between steps
    lena = clinic.new_patient(given_name="Lena", family_name="Hart", escort_name="Tom Hart")
    lena.rems_enrolled_on, lena.rems_patient_id = MONDAY - timedelta(days=30), "RP-4411"
    db.session.commit()
    chair = clinic.chairs[1]
    visit = make_visit(
        clinic.clerk, lena, chicago(MONDAY, 9), chair_id=chair.id, treatment_type_id=spravato.id
    )
    visit_id = visit.id
    # The chair is held two hours from the first device, plus turnover.
    assert visit.chair_released_at == chicago(MONDAY, 11, 15)

    at(8, 40)
    with person(clinic.clerk) as desk:
        desk.goto(f"/visits/{visit_id}")
        assert "Spravato 56/84 mg" in desk.inner_text("#visit-treatment")
        desk.click("button:has-text('Check in')")
        desk.wait_for_selector("h1:has-text('Checked in')")

    with person(clinic.nurse) as nurse:
        at(8, 45)
        nurse.goto("/recovery")
        nurse.wait_for_selector("#recovery.is-live")
        wait_phase(nurse, visit_id, "checked_in")
        assert "Spravato" in card(nurse, visit_id).inner_text()
        reading(nurse, visit_id, (150, 95), moaas=5)
        add_negative_screen(visit_id, chicago(MONDAY, 8, 45))  # the day's C-SSRS screener

        # 08:50: the pressure is above the type's 140/90: the nurse cannot start.
        at(8, 50)
        dialog = act(nurse, visit_id, "start_infusion", "dialog-event")
        assert dialog.locator("[data-dialog-title]").inner_text() == "First device"
        assert "140/90" in dialog.locator("[data-predose]").inner_text()
        said = refused(dialog, "pre-dose limit")
        assert "150/95" in said
        shot(nurse, "spravato-01-predose-refused")

        at(8, 56)
        reading(nurse, visit_id, (132, 84), moaas=5)

        # 09:00: the first of three 28 mg devices, five minutes apart.
        at(9, 0)
        dialog = act(nurse, visit_id, "start_infusion", "dialog-event")
        assert not dialog.locator("[data-predose]").count()
        submit(dialog)
        wait_phase(nurse, visit_id, "infusing")
        for minute in (0, 5, 10):
            at(9, minute)
            dialog = act(nurse, visit_id, "dose", "dialog-dose")
            dialog.locator('[name="dose_mg"]').fill("28")
            dialog.locator('[name="lot"]').fill("SPR-77A")
            submit(dialog)
        fresh_read()
        doses = db.session.scalars(select(Dose).where(Dose.visit_id == visit_id)).all()
        assert [d.route for d in doses] == ["intranasal"] * 3
        assert sum(d.dose_mg for d in doses) == 84

        at(9, 14)
        dialog = act(nurse, visit_id, "end_infusion", "dialog-event")
        assert dialog.locator("[data-dialog-title]").inner_text() == "End administration"
        submit(dialog)
        wait_phase(nurse, visit_id, "recovering")

        # 09:41: the countdown runs to 11:00, two hours from the first device whatever time
        # the last device went in; the 40-minute pressure is due (accepted 35-45 minutes).
        at(9, 41)
        nurse.reload()
        nurse.wait_for_selector("#recovery.is-live")
        text = card(nurse, visit_id).inner_text()
        assert "due 11:00" in text and "from first device 09:00" in text
        assert "Vitals due · 40-min peak (09:40)" in text
        shot(nurse, "spravato-02-countdown-and-40-min-bp")
        reading(nurse, visit_id, (128, 80), moaas=4, dissociation=2)

        at(10, 30)
        reading(nurse, visit_id, (124, 78), moaas=5)

        # 10:50: ten minutes short of the two hours: nobody may discharge.
        at(10, 50)
        dialog = act(nurse, visit_id, "discharge", "dialog-discharge")
        fill_discharge(dialog)
        said = refused(dialog, "REMS monitoring lasts until 11:00")
        shot(nurse, "spravato-03-minimum-monitoring")

        at(10, 58)
        reading(nurse, visit_id, (122, 78), moaas=5)

        # 11:02: the two hours are over, but the form lacks the nurse's answers.
        at(11, 2)
        dialog = act(nurse, visit_id, "discharge", "dialog-discharge")
        fill_discharge(dialog)
        said = refused(dialog, "monitoring form is incomplete")
        assert "MAOIs" in said and "ready to leave" in said

        nurse.goto(f"/visits/{visit_id}")
        panel = nurse.locator("#rems-panel")
        for name in (
            "benzodiazepines",
            "non_benzodiazepine_sedative_hypnotics",
            "psychostimulants",
            "maois",
        ):
            panel.locator(f"label[for={name}-1]").click()  # No
        panel.locator("input[name=ready_to_leave_minutes]").fill("90")
        panel.locator("button[type=submit]").click()
        nurse.wait_for_selector("text=REMS form answers saved.")
        shot(nurse, "spravato-04-answers")

        at(11, 3)
        nurse.goto("/recovery")
        nurse.wait_for_selector("#recovery.is-live")
        dialog = act(nurse, visit_id, "discharge", "dialog-discharge")
        fill_discharge(dialog)
        submit(dialog)
        card(nurse, visit_id).wait_for(state="detached")

        # The monitoring form, complete, read from the record: printed on one page.
        nurse.goto(f"/visits/{visit_id}/rems-form")
        sheet = nurse.inner_text(".rems-table")
        assert nurse.locator("tr.rems-missing").count() == 0
        assert "Complete" in nurse.inner_text("main")
        for value in ("SPR-77A", "123 min", "90 min", "132/84", "128/80", "122/78"):
            assert value in sheet, value
        shot(nurse, "spravato-05-form-complete")
        nurse.emulate_media(media="print")
        ARTIFACTS.mkdir(exist_ok=True)
        pdf = nurse.pdf(format="Letter", print_background=True)
        (ARTIFACTS / "spravato-form.pdf").write_bytes(pdf)
        assert pages_of(pdf) == 1

    fresh_read()
    visit = db.session.get(Visit, visit_id)
    assert visit.status == "discharged"
    assert chicago(MONDAY, 9, 0) <= visit.infusion_started_at < chicago(MONDAY, 9, 1)
    assert visit.discharge_due_at == visit.infusion_started_at + timedelta(minutes=120)
