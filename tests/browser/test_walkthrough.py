"""A clinic day walked through the pages as the staff would, on a controlled clock: the desk
books a visit and a course, checks the patient in; a nurse infuses, records, extends, sees the
discharge alerts come and go, and discharges with the PADSS checklist."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Dose, Notification, Visit
from clinic.services import heartbeat, notifications
from clinic.types import utcnow
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import CHICAGO, MONDAY, NOW, PASSWORD, add_negative_screen, chicago

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

WEDNESDAY = MONDAY + timedelta(days=2)
FRIDAY = MONDAY + timedelta(days=4)
# The dialogs' and forms' refusals (409, 422) are answers a person reads, not page errors.
REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of (409|422)")
WAIT = 15_000  # generous: a loaded 2-core machine; the alerts poll every 5 seconds


@pytest.fixture
def person(browser, live_server):
    """Open a fresh browser for one member of staff; console errors fail the test."""
    errors: list[str] = []
    contexts = []

    @contextmanager
    def open_as(user):
        context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and not REFUSAL.match(msg.text)
                else None
            ),
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, user, PASSWORD)
        try:
            yield page
        finally:
            context.close()

    yield open_as
    for context in contexts:
        context.close()
    assert not errors, f"browser console errors: {errors}"


def shot(page, name: str) -> None:
    """Save the whole page under test-artifacts/walk-NAME.png for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    # Transitions (a dialog's backdrop fading out, a toggle filling in) are run to their end.
    page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"), full_page=True, animations="disabled")


def fresh_read() -> None:
    """End this thread's read snapshot: the live server wrote meanwhile."""
    db.session.rollback()


def scheduler_tick() -> list[int]:
    """Fire what is due, as the scheduler's catch-up does (it does not run in tests)."""
    scheduler_beat()
    db.session.connection(execution_options={"sqlite_immediate": True})
    fired = []
    for kind, ids in notifications.due_without_notification(utcnow()).items():
        fired += notifications.fire(ids, kind, now=utcnow())
    db.session.commit()
    return fired


def scheduler_beat() -> None:
    """Beat as a running scheduler does, so the pages do not warn that it is down."""
    db.session.commit()
    heartbeat.beat("walkthrough", True, NOW, utcnow())


def discharge_due(visit_id: int):
    """Return when the visit's discharge is due now (the server may have moved it)."""
    fresh_read()
    return db.session.get(Visit, visit_id).discharge_due_at


def card(page, visit_id: int):
    """Return the recovery board's card of a visit."""
    return page.locator(f'.rc-card[data-visit-id="{visit_id}"]')


def wait_phase(page, visit_id: int, status: str) -> None:
    """Wait until the board shows the visit's card in this phase."""
    page.wait_for_selector(f'.rc-card[data-visit-id="{visit_id}"][data-status="{status}"]')


def act(page, visit_id: int, action: str, dialog_id: str):
    """Open a nursing dialog from the visit's card."""
    card(page, visit_id).locator(f'[data-nursing-action="{action}"]').click()
    dialog = page.locator(f"#{dialog_id}")
    dialog.wait_for(state="visible")
    # Shown means the fade-in has ended and focus moved in (to the first field): typing
    # earlier would land in whichever field that focus jump lands on.
    page.wait_for_function(
        f"() => document.getElementById('{dialog_id}').contains(document.activeElement)"
    )
    return dialog


def submit(dialog) -> None:
    """Save a dialog and wait until it closes (it stays open on a refusal)."""
    dialog.locator("[data-dialog-submit]").click()
    try:
        dialog.wait_for(state="hidden")
    except Exception as exc:  # say what the nurse would read on the dialog
        values = dialog.evaluate(
            "d => [...d.querySelectorAll('input:not([type=radio]), textarea')]"
            ".map(i => i.name + '=' + i.value).join(' ')"
        )
        raise AssertionError(f"the dialog stayed open: {values} {dialog.inner_text()}") from exc
    dialog.page.wait_for_selector(".modal-backdrop", state="detached")


def vitals(page, visit_id: int, bp: tuple[int, int], hr: int, spo2: int = 98, **effects) -> None:
    """Record a reading (and side effects) from the card, then see it on the card."""
    dialog = act(page, visit_id, "vitals", "dialog-vitals")
    dialog.locator('[name="systolic"]').fill(str(bp[0]))
    dialog.locator('[name="diastolic"]').fill(str(bp[1]))
    dialog.locator('[name="heart_rate"]').fill(str(hr))
    dialog.locator('[name="spo2"]').fill(str(spo2))
    note = effects.pop("note", "")
    for name, score in effects.items():
        dialog.locator(f'label[for="vitals-{name}-{score}"]').click()
    if note:
        dialog.locator("#vitals-note").fill(note)
    submit(dialog)
    page.wait_for_function(
        f"""() => {{
          const c = document.querySelector('.rc-card[data-visit-id="{visit_id}"]');
          return c && c.textContent.includes('{bp[0]}/{bp[1]}');
        }}"""
    )


def test_a_clinic_day_from_booking_to_discharge(person, clinic, make_visit, make_shift, frozen):
    def at(hour: int, minute: int = 0) -> None:
        """Move the clock to this time on Monday; the stand-in scheduler beats."""
        frozen.move_to(chicago(MONDAY, hour, minute))
        scheduler_beat()

    # The rota's next fortnight is in, so the whole course falls on staffed days.
    rota_end = chicago(MONDAY + timedelta(days=13), 19)
    for user, role in ((clinic.nurse, "nurse"), (clinic.practitioner, "practitioner")):
        make_shift(clinic.site, role, rota_end, rota_end + timedelta(days=14), user=user)
    ada = clinic.new_patient(given_name="Ada", family_name="Quill", weight_kg=70.0)
    ada.clearances[0].mg_per_kg = Decimal("0.5")  # the practitioner's IV order: 35 mg for her
    db.session.commit()
    chair1 = clinic.chairs[0]
    # Someone else already holds Chair 1 on Friday at 10:00: the course will clash there.
    make_visit(clinic.clerk, clinic.new_patient(), chicago(FRIDAY, 10), chair_id=chair1.id)

    # 07:00 Monday. The front desk books Ada for 10:00 today from the day board.
    at(7, 0)
    with person(clinic.clerk) as desk:
        desk.goto(f"/?date={MONDAY.isoformat()}")
        desk.wait_for_selector(".board, #board, table, main")
        shot(desk, "01-day-board-empty")
        desk.click("main >> text=Book a visit")
        desk.wait_for_url("**/book**")
        desk.fill("#patient-search", "Quil")
        desk.click(".patient-result")
        desk.wait_for_selector("#patient-chosen:not(.d-none)")
        assert "Ada Quill" in desk.inner_text("#patient-name")
        desk.fill("input[name=date]", MONDAY.isoformat())
        desk.fill("input[name=time]", "10:00")
        desk.select_option("select[name=chair_id]", str(chair1.id))
        desk.fill("input[name=observation_minutes]", "60")
        shot(desk, "02-booking-form")
        desk.click("#book-form [type=submit]")
        desk.wait_for_url("**/visits/*")
        visit_id = int(desk.url.rstrip("/").rsplit("/", 1)[1])
        plan = desk.inner_text(".plan-list")
        assert "Chair 1" in plan and "10:00\u201310:45" in plan and "until 11:45" in plan
        assert "Booked" in desk.inner_text("h1")

        desk.goto(f"/?date={MONDAY.isoformat()}")
        block = desk.locator(f"a[href='/visits/{visit_id}']").first
        block.wait_for()
        assert "Ada Quill" in block.inner_text()
        shot(desk, "03-day-board-booked")

        # The induction course, from the patient page: Mon/Wed/Fri from Wednesday at 10:00.
        desk.goto(f"/patients/{ada.id}")
        desk.click("text=Book a course")
        desk.fill("input[name=first_day]", WEDNESDAY.isoformat())
        desk.fill("input[name=start_time]", "10:00")
        desk.select_option("select[name=chair_id]", str(chair1.id))
        desk.click("form [name=check]")
        desk.wait_for_selector(".course-dates")
        assert desk.locator(".course-dates > li").count() == 6
        clash = desk.locator(".course-dates > li.course-clash")
        assert clash.count() == 1, clash.all_inner_texts()
        assert "Fri 4 Dec" in clash.inner_text()
        assert "1 of 6 need a choice" in desk.inner_text("main")
        # The closest alternative comes first: the same 10:00 in another chair.
        first_offer = clash.locator(".course-alt").first
        assert "10:00" in first_offer.inner_text()
        shot(desk, "04-course-clash")
        first_offer.locator("input[data-choice]").first.check()
        desk.click("text=Book the chosen dates")
        desk.wait_for_url(f"**/patients/{ada.id}")
        shot(desk, "05-patient-with-course")
        fresh_read()
        course = db.session.scalars(
            select(Visit).where(Visit.patient_id == ada.id, Visit.series_id.is_not(None))
        ).all()
        assert len(course) == 6  # every date asked for, none silently dropped
        friday = [v for v in course if v.infusion_start == chicago(FRIDAY, 10)]
        assert len(friday) == 1 and friday[0].chair_id != chair1.id

        # 07:05: too early to check in (the window opens two hours before 10:00), and far
        # too early for a no-show: both buttons wait, and the page says from when.
        at(7, 5)
        desk.goto(f"/visits/{visit_id}")
        assert desk.locator("button:has-text('Check in')").is_disabled()
        assert desk.locator("button:has-text('No-show')").is_disabled()
        assert "it can be checked in from 08:00 until 11:45" in desk.inner_text("#not-yet-check-in")
        assert "10:15" in desk.inner_text("#not-yet-no-show")
        assert "Booked" in desk.inner_text("h1")
        shot(desk, "06-check-in-too-early")

    # 09:50: Ada arrives; the desk checks her in.
    at(9, 50)
    with person(clinic.clerk) as desk:
        desk.goto(f"/visits/{visit_id}")
        desk.click("button:has-text('Check in')")
        desk.wait_for_selector("h1:has-text('Checked in')")
        assert "09:50" in desk.inner_text(".plan-list")
        shot(desk, "07-checked-in")

    # 09:51: the nurse opens the recovery board: Ada waits in Chair 1.
    at(9, 51)
    with person(clinic.nurse) as nurse:
        nurse.goto("/recovery")
        nurse.wait_for_selector("#recovery.is-live")
        wait_phase(nurse, visit_id, "checked_in")
        assert "Checked in" in card(nurse, visit_id).inner_text()
        vitals(nurse, visit_id, (122, 78), 70)  # the baseline, before dosing
        add_negative_screen(visit_id, chicago(MONDAY, 9, 51))  # the day's C-SSRS screener
        shot(nurse, "08-recovery-checked-in-baseline")

        at(10, 0)
        dialog = act(nurse, visit_id, "start_infusion", "dialog-event")
        assert dialog.locator("[data-dialog-title]").inner_text() == "Start infusion"
        submit(dialog)
        wait_phase(nurse, visit_id, "infusing")
        assert "Infusing" in card(nurse, visit_id).inner_text()

        # The dose, against the order on her clearance.
        dialog = act(nurse, visit_id, "dose", "dialog-dose")
        assert "0.5 mg/kg \u00d7 70 kg = 35 mg" in dialog.locator("[data-dose-order]").inner_text()
        assert dialog.locator('[name="drug"]').input_value() == "Ketamine"
        dialog.locator('[name="dose_mg"]').fill("35")
        dialog.locator('[name="lot"]').fill("KT-24A117")
        submit(dialog)
        fresh_read()
        [dose] = db.session.scalars(select(Dose).where(Dose.visit_id == visit_id)).all()
        assert (dose.dose_mg, dose.route, dose.recorded_by_id) == (
            Decimal("35"),
            "IV",
            clinic.nurse.id,
        )

        at(10, 12)
        vitals(nurse, visit_id, (138, 86), 84, dissociation=2, nausea=1, note="Floaty, calm")
        shot(nurse, "09-recovery-infusing")
        at(10, 25)
        vitals(nurse, visit_id, (134, 84), 80, dissociation=1)
        at(10, 37)
        vitals(nurse, visit_id, (130, 82), 78)

        at(10, 45)
        dialog = act(nurse, visit_id, "end_infusion", "dialog-event")
        assert dialog.locator("[data-dialog-title]").inner_text() == "End infusion"
        submit(dialog)
        wait_phase(nurse, visit_id, "recovering")
        assert "Recovering" in card(nurse, visit_id).inner_text()
        shot(nurse, "10-recovery-recovering")

        for hour, minute, bp, hr in (
            (10, 58, (128, 80), 76),
            (11, 10, (126, 80), 74),
            (11, 22, (124, 79), 72),
            (11, 34, (124, 78), 72),
        ):
            at(hour, minute)
            vitals(nurse, visit_id, bp, hr)

        # 11:45: discharge is due; the scheduler fires and the banner appears.
        due = discharge_due(visit_id)
        assert due.astimezone(CHICAGO).strftime("%H:%M") == "11:45"
        frozen.move_to(due + timedelta(seconds=1))
        [first_alert] = scheduler_tick()
        banner = nurse.locator(f'#alerts .alerts-item[data-alert-id="{first_alert}"]')
        banner.wait_for()
        assert "Discharge due" in banner.inner_text() and "Chair 1" in banner.inner_text()
        nurse.wait_for_selector(f'.rc-card[data-visit-id="{visit_id}"].cd-due')
        shot(nurse, "11-recovery-discharge-due-banner")

        # Ada is dizzy on standing: the nurse extends by 15 minutes, and the banner that no
        # longer applies leaves by itself, with no click.
        dialog = act(nurse, visit_id, "extend", "dialog-extend")
        dialog.locator(".quick-minutes[data-minutes='15']").click()
        dialog.locator("#extend-reason").fill("Dizzy on standing")
        submit(dialog)
        banner.wait_for(state="detached")
        assert nurse.locator("#alerts .alerts-item").count() == 0
        nurse.wait_for_function(
            f"""() => !document.querySelector('.rc-card[data-visit-id="{visit_id}"]')
                  .classList.contains('cd-due')"""
        )
        shot(nurse, "12-recovery-extended-banner-gone")

        at(11, 52)
        vitals(nurse, visit_id, (122, 78), 70, dizziness=1)

        # 12:00: due again; this time the nurse acknowledges the banner.
        due = discharge_due(visit_id)
        assert due.astimezone(CHICAGO).strftime("%H:%M") == "12:00"
        frozen.move_to(due + timedelta(seconds=1))
        [second_alert] = scheduler_tick()
        assert second_alert != first_alert
        banner = nurse.locator(f'#alerts .alerts-item[data-alert-id="{second_alert}"]')
        banner.wait_for()
        assert "Discharge due" in banner.inner_text()
        shot(nurse, "13-recovery-due-again")
        banner.locator("[data-alerts-ack]").click()
        banner.wait_for(state="detached")
        fresh_read()
        assert db.session.get(Notification, second_alert).acknowledged_at is not None

        # Discharge after the due time, with the PADSS checklist.
        dialog = act(nurse, visit_id, "discharge", "dialog-discharge")
        assert dialog.locator("[data-discharge-early]").is_hidden()
        assert dialog.locator("[data-override]").is_hidden()
        for item in ("vital_signs", "activity", "nausea_vomiting", "pain", "bleeding"):
            dialog.locator(f'label[for="discharge-padss_{item}-2"]').click()
        assert dialog.locator("[data-padss-total]").inner_text() == "10 / 10"
        if not dialog.locator("#discharge-escort_name").input_value():
            dialog.locator("#discharge-escort_name").fill("Sam Rivera")
        if not dialog.locator("#discharge-vitals_stable").is_checked():
            dialog.locator('label[for="discharge-vitals_stable"]').click()
        nurse.screenshot(
            path=str(ARTIFACTS / "walk-14-discharge-dialog.png"), animations="disabled"
        )
        submit(dialog)
        card(nurse, visit_id).wait_for(state="detached")
        shot(nurse, "15-recovery-after-discharge")

        nurse.goto(f"/visits/{visit_id}")
        assert "Discharged" in nurse.inner_text("h1")
        timeline = nurse.inner_text(".timeline")
        assert "Dizzy on standing" in timeline
        shot(nurse, "16-visit-discharged")

    fresh_read()
    visit = db.session.get(Visit, visit_id)
    assert visit.status == "discharged"
    assert chicago(MONDAY, 12, 0) <= visit.discharged_at < chicago(MONDAY, 12, 10)
