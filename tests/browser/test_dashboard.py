"""The recovery dashboard in a real browser: the countdown turns "due" at the right second,
readings from another screen appear without a reload, and screenshots to look at."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.services.events import record_event
from clinic.services.observations import record_observation
from clinic.types import utcnow
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import MONDAY, PASSWORD, add_negative_screen, chicago
from tests.services.visit_rows import put_visit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def reading(systolic=124, diastolic=80, heart_rate=74, spo2=98, **extra) -> dict:
    """Return a reading's values."""
    return {
        "systolic": systolic,
        "diastolic": diastolic,
        "heart_rate": heart_rate,
        "spo2": spo2,
        "respiratory_rate": extra.pop("respiratory_rate", 14),
        **extra,
    }


def live_visit(frozen, nurse, visit, steps) -> None:
    """Play a visit's day at the chair: each step at its instant, recorded as it happened."""
    for at, what, data in steps:
        frozen.move_to(at)
        if what == "vitals":
            note = data.pop("note", "")
            record_observation(nurse, visit.id, reading(**data), utcnow(), note=note)
            add_negative_screen(visit.id, utcnow())  # the day's C-SSRS screener
        else:
            record_event(nurse, visit.id, what, utcnow(), **data)


@pytest.fixture
def ward(clinic, make_chair, make_patient, frozen):
    """A Monday morning at 10:30 in Austin: six patients in every phase, one running late."""
    site = clinic.site
    chairs = clinic.chairs + [make_chair(site, f"Chair {i}") for i in range(4, 7)]
    names = [("Avery", "Quinn"), ("Blake", "Morgan"), ("Casey", "Nguyen"), ("Devon", "Patel")]
    names += [("Emery", "Brooks"), ("Finley", "Santos"), ("Gray", "Ito")]
    patients = [make_patient(site, given_name=g, family_name=f) for g, f in names]
    nurse = clinic.nurse

    def booked(index: int, start, **kwargs):
        return put_visit(site, chairs[index], patients[index], "booked", start, **kwargs)

    t = lambda h, m=0: chicago(MONDAY, h, m)  # noqa: E731

    # Chair 1: on time, recovering, 18 minutes to go.
    first = booked(0, t(8, 15))
    live_visit(
        frozen,
        nurse,
        first,
        [
            (t(8, 5), "check_in", {}),
            (t(8, 8), "vitals", {"systolic": 128, "diastolic": 82, "heart_rate": 76}),
            (t(8, 15), "start_infusion", {}),
            (
                t(8, 55),
                "vitals",
                {
                    "systolic": 149,
                    "diastolic": 94,
                    "heart_rate": 92,
                    "dissociation": 3,
                    "nausea": 1,
                },
            ),
            (t(9, 2), "end_infusion", {}),
            (
                t(9, 17),
                "vitals",
                {
                    "systolic": 158,
                    "diastolic": 99,
                    "heart_rate": 88,
                    "dissociation": 2,
                    "note": "Talking, calm; a little dizzy",
                },
            ),
            (
                t(9, 32),
                "vitals",
                {"systolic": 141, "diastolic": 90, "heart_rate": 81, "dissociation": 1},
            ),
            (t(9, 47), "vitals", {"systolic": 134, "diastolic": 86, "heart_rate": 78}),
            (t(10, 2), "vitals", {"systolic": 131, "diastolic": 84, "heart_rate": 75}),
            (t(10, 17), "vitals", {"systolic": 127, "diastolic": 83, "heart_rate": 74}),
        ],
    )
    # Chair 2: amber, six minutes left, extended once.
    second = booked(1, t(7, 30))
    live_visit(
        frozen,
        nurse,
        second,
        [
            (t(7, 25), "check_in", {}),
            (t(7, 27), "vitals", {"systolic": 118, "diastolic": 76, "heart_rate": 70}),
            (t(7, 30), "start_infusion", {}),
            (t(8, 10), "vitals", {"systolic": 136, "diastolic": 88, "heart_rate": 84}),
            (t(8, 21), "end_infusion", {}),
            (t(8, 36), "vitals", {"systolic": 130, "diastolic": 84, "heart_rate": 80, "nausea": 2}),
            (t(9, 40), "extend_observation", {"minutes": 15, "reason": "Nauseous on standing"}),
            (
                t(10, 21),
                "vitals",
                {"systolic": 121, "diastolic": 78, "heart_rate": 72, "nausea": 1},
            ),
        ],
    )
    # Chair 3: overdue; the last reading was high.
    third = booked(2, t(7, 0), observation=120)
    live_visit(
        frozen,
        nurse,
        third,
        [
            (t(6, 50), "check_in", {}),
            (t(6, 52), "vitals", {"systolic": 132, "diastolic": 84, "heart_rate": 68}),
            (t(7, 0), "start_infusion", {}),
            (t(7, 45), "end_infusion", {}),
            (
                t(9, 30),
                "vitals",
                {"systolic": 164, "diastolic": 104, "heart_rate": 96, "dizziness": 2},
            ),
        ],
    )
    # Chair 4: the infusion started late and still runs: it pushes into the 11:30 booking.
    fourth = booked(3, t(9, 0), infusion=45, observation=60)
    put_visit(site, chairs[3], patients[6], "booked", t(11, 30))
    live_visit(
        frozen,
        nurse,
        fourth,
        [
            (t(9, 35), "check_in", {}),
            (t(9, 38), "vitals", {"systolic": 122, "diastolic": 78, "heart_rate": 66}),
            (t(9, 40), "start_infusion", {}),
            (
                t(10, 20),
                "vitals",
                {"systolic": 138, "diastolic": 86, "heart_rate": 118, "dissociation": 2},
            ),
        ],
    )
    # Chair 5: checked in, waiting for the 10:45 start.
    fifth = booked(4, t(10, 45))
    live_visit(frozen, nurse, fifth, [(t(10, 24), "check_in", {})])
    # Chair 6: due a minute ago.
    sixth = booked(5, t(7, 45))
    live_visit(
        frozen,
        nurse,
        sixth,
        [
            (t(7, 40), "check_in", {}),
            (t(7, 42), "vitals", {"systolic": 112, "diastolic": 72, "heart_rate": 64}),
            (t(7, 45), "start_infusion", {}),
            (t(8, 29), "end_infusion", {}),
            (t(10, 14), "vitals", {"systolic": 115, "diastolic": 74, "heart_rate": 66}),
        ],
    )
    frozen.move_to(t(10, 30))
    clinic.chairs = chairs
    clinic.visits = [first, second, third, fourth, fifth, sixth]
    return clinic


def open_dashboard(page, user, path: str = "/recovery"):
    """Sign in and open the dashboard; wait until the feed has rendered the cards."""
    sign_in(page, user, PASSWORD)
    page.goto(path)
    page.wait_for_selector("#recovery.is-live")


def test_screenshots_of_the_dashboard_and_the_visit_page(page, ward, screenshot):
    open_dashboard(page, ward.nurse)
    page.wait_for_selector("[data-live].live-badge:not(.is-offline)")
    cards = page.locator(".rc-card")
    assert cards.count() == 6
    states = [cards.nth(i).get_attribute("data-countdown") for i in range(6)]
    assert states == ["ok", "amber", "overdue", "none", "none", "due"]
    assert "Chair 4\u2019s next patient at 11:30 is affected" in page.inner_text("#recovery")
    screenshot("dashboard")

    page.goto(f"/recovery?site_id={ward.site.id}&wall=1")
    page.wait_for_selector("#recovery.is-live")
    assert page.locator("button:not([data-alerts-enable])").count() == 0  # sound switch only
    assert "Quinn" not in page.content() and "calm" not in page.content()
    screenshot("dashboard-wall")

    page.goto(f"/visits/{ward.visits[0].id}")
    page.wait_for_selector("svg.vitals-chart")
    screenshot("visit-with-chart")

    page.goto(f"/visits/{ward.visits[0].id}/record")
    page.wait_for_selector("svg.vitals-chart")
    screenshot("discharge-record")


def test_the_countdown_turns_due_at_the_right_second(page, clinic, make_patient, frozen):
    frozen.move_to(chicago(MONDAY, 10, 30))
    patient = make_patient(clinic.site, given_name="Harper", family_name="Lane")
    visit = put_visit(clinic.site, clinic.chairs[0], patient, "recovering", chicago(MONDAY, 8))
    due = utcnow() + timedelta(seconds=7)
    visit.discharge_due_at = due
    visit.infusion_ended_at = due - timedelta(minutes=visit.observation_minutes)
    db.session.commit()

    open_dashboard(page, clinic.nurse)
    card = page.locator(f'.rc-card[data-visit-id="{visit.id}"]')
    assert card.get_attribute("data-countdown") == "amber"
    # A second before due the card is still amber and counting.
    page.wait_for_function(
        "() => document.querySelector('.rc-card [data-countdown-value]').textContent === '0:01'"
    )
    assert card.get_attribute("data-countdown") == "amber"
    page.wait_for_function("() => document.querySelector('.rc-card.cd-due') !== null")
    late = (utcnow() - due).total_seconds()
    assert -0.3 <= late <= 1.0, f"turned due {late:+.2f} s from the due instant"
    assert card.locator("[data-countdown-value]").inner_text() == "Due now"
    countdown = card.locator(".rc-countdown")
    assert countdown.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(220, 38, 38)"


def test_a_reading_from_another_screen_appears_without_a_reload(page, ward):
    open_dashboard(page, ward.nurse)
    visit = ward.visits[0]
    card = page.locator(f'.rc-card[data-visit-id="{visit.id}"]')
    assert "162/101" not in card.inner_text()
    page.evaluate("window.__sameDocument = true")

    # The server's threads write meanwhile (sessions): take SQLite's write lock up front, as a
    # booking does, rather than upgrade a stale read snapshot.
    db.session.commit()
    db.session.connection(execution_options={"sqlite_immediate": True})
    record_observation(ward.practitioner, visit.id, reading(systolic=162, diastolic=101), utcnow())
    started = time.monotonic()
    page.wait_for_function(
        f"""() => {{
          const card = document.querySelector('.rc-card[data-visit-id="{visit.id}"]');
          return card && card.textContent.includes('162/101');
        }}""",
        timeout=2000,
    )
    assert time.monotonic() - started < 2
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert card.locator(".rc-flag-bp_high").count() == 1


def test_dialogs_show_field_errors_then_save_and_the_card_updates(refusing_page, ward):
    page = refusing_page
    open_dashboard(page, ward.nurse)
    visit = ward.visits[0]
    card = page.locator(f'.rc-card[data-visit-id="{visit.id}"]')

    card.locator('[data-nursing-action="vitals"]').click()
    dialog = page.locator("#dialog-vitals")
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-dialog-patient]").text_content() == "Chair 1 · AQ"
    dialog.locator('[name="systolic"]').fill("400")
    dialog.locator("[data-dialog-submit]").click()
    error = dialog.locator('[data-error-for="systolic"]')
    error.wait_for(state="visible")
    assert error.inner_text() == "A whole number, 40-300."
    assert dialog.locator('[data-error-for="heart_rate"]').inner_text() == "Required."

    dialog.locator('[name="systolic"]').fill("171")
    dialog.locator('[name="diastolic"]').fill("96")
    dialog.locator('[name="heart_rate"]').fill("88")
    dialog.locator('[name="spo2"]').fill("97")
    dialog.locator('label[for="vitals-dissociation-2"]').click()
    dialog.locator("[data-dialog-submit]").click()
    dialog.wait_for(state="hidden")
    page.wait_for_function(
        f"""() => document.querySelector('.rc-card[data-visit-id="{visit.id}"]')
              .textContent.includes('171/96')"""
    )
    assert card.locator(".rc-flag-bp_high").count() == 1

    # The discharge checklist: escort and stable vitals prefilled, PADSS totalled live.
    card = page.locator(f'.rc-card[data-visit-id="{ward.visits[5].id}"]')
    card.locator('[data-nursing-action="discharge"]').click()
    dialog = page.locator("#dialog-discharge")
    dialog.wait_for(state="visible")
    page.wait_for_function(
        "() => document.querySelector('#discharge-escort_name').value === 'Sam Rivera'"
    )
    assert dialog.locator("#discharge-vitals_stable").is_checked()
    assert dialog.locator("[data-padss-total]").inner_text() == "2 / 10 so far"
    for item in ("activity", "nausea_vomiting", "pain"):
        dialog.locator(f'label[for="discharge-padss_{item}-2"]').click()
    dialog.locator('label[for="discharge-padss_bleeding-1"]').click()
    assert dialog.locator("[data-padss-total]").inner_text() == "9 / 10"
    assert dialog.locator("[data-override]").is_hidden()  # due already: no override asked
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dialog-discharge.png"))
    dialog.locator("[data-dialog-submit]").click()
    dialog.wait_for(state="hidden")
    page.wait_for_function(
        f"""() => !document.querySelector('.rc-card[data-visit-id="{ward.visits[5].id}"]')"""
    )
    # The counts above the alerts follow: five in care, one due for discharge.
    page.wait_for_function(
        "() => document.querySelector('#recovery-summary strong').textContent === '5'"
    )
    assert page.locator("#recovery-summary [data-count-due]").inner_text() == "1"
    assert page.locator("#recovery-summary").count() == 1
    db.session.commit()  # end the read snapshot taken before the browser wrote
    assert db.session.get(type(visit), ward.visits[5].id).status == "discharged"


def test_a_nurse_cannot_discharge_early_and_is_told_why(refusing_page, ward):
    page = refusing_page
    open_dashboard(page, ward.nurse)
    card = page.locator(f'.rc-card[data-visit-id="{ward.visits[0].id}"]')
    card.locator('[data-nursing-action="discharge"]').click()
    dialog = page.locator("#dialog-discharge")
    dialog.wait_for(state="visible")
    warning = dialog.locator("[data-discharge-early]")
    warning.wait_for(state="visible")
    assert "Only a practitioner may discharge before then" in warning.inner_text()
    assert dialog.locator("[data-override]").is_hidden()
    for item in ("vital_signs", "activity", "nausea_vomiting", "pain", "bleeding"):
        dialog.locator(f'label[for="discharge-padss_{item}-2"]').click()
    dialog.locator("[data-dialog-submit]").click()
    message = dialog.locator("[data-dialog-message]")
    message.wait_for(state="visible")
    assert "only a practitioner may override" in message.inner_text()


def test_the_visit_page_offers_the_same_dialogs(page, ward):
    visit = ward.visits[3]  # infusing in Chair 4
    sign_in(page, ward.nurse, PASSWORD)
    page.goto(f"/visits/{visit.id}")
    page.click('[data-nursing-action="end_infusion"]')
    dialog = page.locator("#dialog-event")
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-dialog-title]").inner_text() == "End infusion"
    with page.expect_navigation():
        dialog.locator("[data-dialog-submit]").click()
    page.wait_for_selector('[data-nursing-action="discharge"]')
    assert "Infusion ended" in page.inner_text(".timeline")
    assert page.locator("svg.vitals-chart .chart-due").count() == 1


def refuse_vitals(page, ward, **typed: str):
    """Open Chair 1's Vitals dialog from the keyboard, type the values and have them refused."""
    open_dashboard(page, ward.nurse)
    opener = page.locator(
        f'.rc-card[data-visit-id="{ward.visits[0].id}"] [data-nursing-action="vitals"]'
    )
    opener.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#dialog-vitals.show:focus-within")
    dialog = page.locator("#dialog-vitals")
    for name, value in typed.items():
        dialog.locator(f'[name="{name}"]').fill(value)
    dialog.locator("[data-dialog-submit]").click()
    dialog.locator(".is-invalid").first.wait_for(state="visible")
    return dialog


def test_a_refused_dialog_keeps_the_keyboard_on_its_first_error(refusing_page, ward):
    page = refusing_page
    dialog = refuse_vitals(page, ward, systolic="120", diastolic="80", heart_rate="500")
    page.wait_for_selector(
        "#vitals-heart_rate:focus", timeout=5000
    )  # the first field in error, not the body
    page.wait_for_timeout(100)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.wait_for_selector("[data-nursing-action]:focus")
    focused = page.evaluate(
        "[document.activeElement.dataset.nursingAction, document.activeElement.dataset.visitId]"
    )
    assert focused == ["vitals", str(ward.visits[0].id)]


# An input whose text overflows the room its box leaves (padding, icon, spin buttons) scrolls.
HIDDEN_DIGITS = """dialog => [...dialog.querySelectorAll('input[type=number]')]
    .filter(input => input.scrollWidth > input.clientWidth)
    .map(input => input.name + '=' + input.value)"""


@pytest.mark.parametrize("width", [900, 1440])  # a tablet's modal is narrower than a desktop's
def test_a_refused_reading_shows_every_typed_digit(refusing_page, ward, width):
    page = refusing_page
    page.set_viewport_size({"width": width, "height": 900})
    dialog = refuse_vitals(
        page, ward, systolic="500", diastolic="1000", heart_rate="1000", spo2="1000"
    )
    dialog.locator('[name="respiratory_rate"]').fill("1000")
    page.screenshot(path=str(ARTIFACTS / f"dialog-vitals-refused-{width}.png"))
    assert dialog.locator('[name="systolic"]').get_attribute("class").count("is-invalid")
    assert dialog.evaluate(HIDDEN_DIGITS) == []


def test_the_summary_names_the_phases_as_every_other_page_does(page, ward):
    open_dashboard(page, ward.nurse)
    chips = [
        " ".join(t.split())
        for t in page.locator("#recovery-summary .summary-chip").all_text_contents()
    ]
    assert chips[:3] == ["1 checked in", "1 infusing", "4 recovering"]


def test_a_moaas_of_3_from_the_dialog_puts_the_sedation_chip_on_the_card(page, ward):
    open_dashboard(page, ward.nurse)
    visit = ward.visits[0]
    card = page.locator(f'.rc-card[data-visit-id="{visit.id}"]')
    card.locator('[data-nursing-action="vitals"]').click()
    dialog = page.locator("#dialog-vitals")
    dialog.wait_for(state="visible")
    for name, value in (("systolic", "126"), ("diastolic", "78"), ("heart_rate", "70")):
        dialog.locator(f'[name="{name}"]').fill(value)
    dialog.locator('[name="spo2"]').fill("97")
    dialog.get_by_label("Sedation (MOAA/S)").select_option("3")
    dialog.locator("[data-dialog-submit]").click()
    dialog.wait_for(state="hidden")
    chip = card.locator(".rc-flag-sedation")
    chip.wait_for(state="visible")
    assert chip.inner_text() == "Sedation (MOAA/S ≤ 3)"
