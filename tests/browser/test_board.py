"""The day board in a real browser: lanes, names, keyboard, hour labels, the print list."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, chicago

TUESDAY = MONDAY + timedelta(days=1)


def test_off_grid_bookings_keep_one_lane_per_chair(page, clinic, make_visit, screenshot):
    ada = clinic.new_patient(given_name="Ada", family_name="Quill")
    bo = clinic.new_patient(given_name="Bo", family_name="Early")
    make_visit(clinic.clerk, ada, chicago(TUESDAY, 9, 7), chair_id=clinic.chairs[0].id)
    make_visit(clinic.clerk, bo, chicago(TUESDAY, 12, 22), chair_id=clinic.chairs[0].id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/?date={TUESDAY.isoformat()}")
    page.wait_for_selector("#board.is-placed")
    screenshot("board-off-grid")
    row = page.locator(f".board-row[data-chair-id='{clinic.chairs[0].id}'] .board-track")
    middles = row.locator("[data-start]").evaluate_all(
        "els => els.map(el => {"
        " const r = el.getBoundingClientRect(); return r.top + r.height / 2 })"
    )
    assert len(middles) > 4 and max(middles) - min(middles) < 2, middles
    plain = page.locator(f".board-row[data-chair-id='{clinic.chairs[1].id}']")
    assert row.bounding_box()["height"] == plain.locator(".board-track").bounding_box()["height"]


def test_the_last_hour_label_is_not_clipped(page, clinic, make_visit):
    late = clinic.new_patient(given_name="Late", family_name="Finisher")
    # Ends (with turnover) at 18:15: the board widens past the 18:00 close.
    make_visit(clinic.clerk, late, chicago(TUESDAY, 15), chair_id=clinic.chairs[0].id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/?date={TUESDAY.isoformat()}")
    page.wait_for_selector("#board.is-placed")
    clipped = page.locator(".board-hour").evaluate_all(
        "els => els.filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.textContent)"
    )
    assert clipped == []
    labels = page.locator(".board-hour").all_inner_texts()
    last = page.locator(".board-hour").last.bounding_box()
    track = page.locator(".board-head .board-track").bounding_box()
    assert last["x"] + last["width"] <= track["x"] + track["width"] + 1, labels


def test_the_board_shows_names_and_a_remembered_toggle_hides_them(page, clinic, make_visit):
    ada = clinic.new_patient(given_name="Ada", family_name="Quill")
    make_visit(clinic.clerk, ada, chicago(TUESDAY, 9), chair_id=clinic.chairs[0].id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/?date={TUESDAY.isoformat()}")
    block = page.locator(".block-infusion").first
    assert "Ada Quill" in block.inner_text()
    page.click("[data-names-toggle]")
    assert "Ada Quill" not in block.inner_text() and "AQ" in block.inner_text()
    assert page.get_attribute("[data-names-toggle]", "aria-pressed") == "true"
    page.reload()
    assert "Ada Quill" not in page.locator(".block-infusion").first.inner_text()
    page.click("[data-names-toggle]")
    assert "Ada Quill" in page.locator(".block-infusion").first.inner_text()


def test_free_cells_are_one_tab_stop_with_arrow_keys_and_enter_books(page, clinic):
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/?date={TUESDAY.isoformat()}")
    page.wait_for_selector("#board.is-placed")
    cells = page.locator(".board-free")
    assert cells.count() > 50
    assert page.locator(".board-free[tabindex='0']").count() == 1
    page.locator(".board-free[tabindex='0']").focus()
    first = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    href = page.evaluate("document.activeElement.getAttribute('href')")
    assert href != first and f"chair_id={clinic.chairs[1].id}" in href and "time=08:30" in href
    assert page.locator(".board-free[tabindex='0']").count() == 1
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # back to the board lands on the cell last used
    assert page.evaluate("document.activeElement.getAttribute('href')") == href
    page.keyboard.press("Enter")
    page.wait_for_url("**/book?*")
    assert page.input_value("input[name=time]") == "08:30"


def test_the_printed_day_list_keeps_its_columns_apart(page, clinic, make_visit, screenshot):
    ada = clinic.new_patient(given_name="Ada", family_name="Quill")
    make_visit(clinic.clerk, ada, chicago(TUESDAY, 11), chair_id=clinic.chairs[0].id)
    sign_in(page, clinic.clerk, PASSWORD)
    page.goto(f"/print?date={TUESDAY.isoformat()}")
    # A4 portrait with 12 mm margins is about 700 CSS pixels wide; a narrow window too.
    for media, width in (("screen", 1440), ("print", 700), ("screen", 760)):
        page.set_viewport_size({"width": width, "height": 1000})
        page.emulate_media(media=media)
        overflowing = page.locator(".print-table td, .print-table th").evaluate_all(
            "els => els.filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.textContent)"
        )
        assert overflowing == [], (media, width)
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot("print-day-list")
