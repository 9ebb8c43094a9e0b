"""Front-desk pages: the day board, its print view, the visit page and its actions."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from sqlalchemy import event, func, select

from clinic.extensions import db
from clinic.models import VisitEvent
from clinic.services.events import record_event
from tests.conftest import MONDAY, NOW, chicago, csrf_token

TUESDAY = MONDAY + timedelta(days=1)
SUNDAY = MONDAY + timedelta(days=6)
DASH = "\u2013"  # the pages write time ranges with an en dash


def row_of(html: str, chair_id: int) -> str:
    """Return the HTML of one chair's row on the board."""
    start = html.index(f'data-chair-id="{chair_id}"')
    end = html.find('class="board-row', start)
    return html[start : end if end != -1 else len(html)]


@pytest.fixture
def signed_in(client, auth, clinic):
    """Sign in as the front-desk clerk."""
    auth.login(clinic.clerk)
    return client


# ---------------------------------------------------------------- the board


def test_board_shows_the_days_visits_in_their_chairs(signed_in, clinic, make_visit):
    first, second = clinic.patient, clinic.new_patient(given_name="Kim", family_name="Lowe")
    other_day = clinic.new_patient(given_name="Zed", family_name="Quinn")
    a = make_visit(clinic.clerk, first, chicago(TUESDAY, 9), chair_id=clinic.chairs[1].id)
    b = make_visit(clinic.clerk, second, chicago(TUESDAY, 10, 30), chair_id=clinic.chairs[2].id)
    c = make_visit(clinic.clerk, other_day, chicago(MONDAY, 9), chair_id=clinic.chairs[1].id)

    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)

    chair2, chair3 = row_of(html, clinic.chairs[1].id), row_of(html, clinic.chairs[2].id)
    assert f"/visits/{a.id}" in chair2 and first.initials in chair2 and "09:00" in chair2
    assert f"/visits/{b.id}" in chair3 and "KL" in chair3 and "10:30" in chair3
    assert f"/visits/{b.id}" not in chair2
    # Not the other day's patient (as a word: a random CSRF token may hold the letters).
    assert f"/visits/{c.id}" not in html and ">ZQ<" not in html and "Zed Quinn" not in html
    # The desk's board shows the name, with the initials beside it for the names toggle.
    assert f"{first.given_name} {first.family_name}" in chair2 and "Kim Lowe" in chair3
    assert '<span class="pt-initials">KL</span>' in chair3
    # Infusion and recovery are separate blocks; the recovery ends at observation end.
    assert "block-infusion status-booked" in chair2 and "block-recovery status-booked" in chair2
    assert "to 11:45" in chair2 and "block-turnover" in chair2


def test_blocks_carry_grid_positions_and_no_inline_styles(signed_in, clinic, make_visit):
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9), chair_id=clinic.chairs[0].id)
    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)
    assert 'data-columns="120"' in html  # 08:00-18:00 in 5-minute columns
    # 09:00 is 12 columns after 08:00; a 45-minute infusion spans 9 columns.
    assert re.search(r'block-infusion[^>]*data-start="13" data-span="9"', html)
    assert "style=" not in html and "<style" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None


def test_off_grid_bookings_place_touching_blocks_on_shared_column_lines(
    signed_in, clinic, make_visit
):
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9, 7), chair_id=clinic.chairs[0].id)
    html = row_of(
        signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True),
        clinic.chairs[0].id,
    )
    spans = {
        kind: (int(start), int(span))
        for kind, start, span in re.findall(
            r'block-(infusion|recovery|turnover)[^>]*data-start="(\d+)" data-span="(\d+)"', html
        )
    }
    # 09:07-09:52 infusion, 09:52-11:52 recovery, 11:52-12:07 turnover: no two overlap.
    assert spans["infusion"][0] + spans["infusion"][1] == spans["recovery"][0]
    assert spans["recovery"][0] + spans["recovery"][1] == spans["turnover"][0]


def test_one_free_cell_is_in_the_tab_order(signed_in, clinic):
    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)
    assert html.count('class="board-free"') > 100
    assert len(re.findall(r'class="board-free"[^>]*tabindex="0"', html)) == 1


def test_free_cells_link_to_the_booking_form_without_patient_data(signed_in, clinic, make_visit):
    chair = clinic.chairs[0]
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9), chair_id=chair.id)
    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)
    row = row_of(html, chair.id)
    assert f"/book?date={TUESDAY.isoformat()}&amp;time=08:00&amp;chair_id={chair.id}" in row
    # 09:00 to 12:00 is held (45 + 120 minutes, 15 of turnover): no free cell there.
    assert "time=09:00&amp;chair_id" not in row and "time=11:45&amp;chair_id" not in row
    assert "time=12:00&amp;chair_id" in row
    links = re.findall(r'href="([^"]+)"', html)
    assert not [link for link in links if clinic.patient.mrn in link or "Rivera" in link]


def test_no_free_cells_in_the_past(signed_in, clinic):
    html = signed_in.get(f"/?date={(MONDAY - timedelta(days=1)).isoformat()}").get_data(
        as_text=True
    )
    assert "board-free" not in html


def test_board_of_another_site_is_404(signed_in, make_site):
    elsewhere = make_site(name="Dallas")
    assert signed_in.get(f"/?site_id={elsewhere.id}").status_code == 404
    assert signed_in.get("/print?site_id=" + str(elsewhere.id)).status_code == 404
    assert signed_in.get("/?site_id=abc").status_code == 404


def test_previous_and_next_day_links(signed_in, clinic):
    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)
    site = clinic.site.id
    assert re.search(rf'rel="prev" href="/\?site_id={site}&amp;date={MONDAY.isoformat()}"', html)
    nxt = (TUESDAY + timedelta(days=1)).isoformat()
    assert re.search(rf'rel="next" href="/\?site_id={site}&amp;date={nxt}"', html)
    assert "Tue 1 Dec" in html and "2026" in html


def test_today_is_the_default_day(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    assert "Mon 30 Nov" in html and "Today</span>" in html


def test_closed_day_says_closed_with_a_way_out(signed_in, clinic):
    html = signed_in.get(f"/?date={SUNDAY.isoformat()}").get_data(as_text=True)
    assert "Closed" in html and 'id="board"' not in html
    assert f"date={(SUNDAY + timedelta(days=1)).isoformat()}" in html


def test_a_bad_date_shows_today_with_a_note(signed_in):
    response = signed_in.get("/?date=2026-13-45")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not a date" in html and "Mon 30 Nov" in html


def test_cancelled_visits_leave_the_grid(signed_in, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    record_event(clinic.clerk, visit.id, "cancel", now=NOW, reason="Unwell")
    html = signed_in.get(f"/?date={TUESDAY.isoformat()}").get_data(as_text=True)
    assert "board-block" not in html
    assert "1 cancelled or no-show" in html and f"/visits/{visit.id}" in html
    # The freed chair can be booked again from the board.
    assert "time=09:00&amp;chair_id" in row_of(html, visit.chair_id)


def test_admin_sees_every_site_but_no_booking_links(client, auth, clinic, make_site, make_visit):
    dallas = make_site(name="Dallas")
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    auth.login(clinic.admin)
    html = client.get(f"/?site_id={clinic.site.id}&date={TUESDAY.isoformat()}").get_data(
        as_text=True
    )
    assert "board-block" in html and "board-free" not in html and "Book a visit" not in html
    assert f'<option value="{dallas.id}"' in html  # site selector lists every site


def test_board_uses_a_fixed_number_of_queries(signed_in, clinic, make_visit, make_shift):
    make_shift(clinic.site, "nurse")

    def count_queries(day) -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert signed_in.get(f"/?date={day.isoformat()}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    one = count_queries(TUESDAY)
    wednesday = TUESDAY + timedelta(days=1)
    for hour, chair in ((9, 0), (9, 1), (9, 2), (12, 0), (12, 1)):
        patient = clinic.new_patient()
        start = chicago(wednesday, hour)
        make_visit(clinic.clerk, patient, start, chair_id=clinic.chairs[chair].id)
    assert count_queries(wednesday) == one


def test_print_view_lists_the_day_by_chair(signed_in, clinic, make_visit):
    kim = clinic.new_patient(given_name="Kim", family_name="Lowe", mrn="A-7731")
    make_visit(clinic.clerk, kim, chicago(TUESDAY, 13), chair_id=clinic.chairs[1].id)
    make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 8), chair_id=clinic.chairs[1].id)
    response = signed_in.get(f"/print?date={TUESDAY.isoformat()}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lowe, Kim" in html and "A-7731" in html and f"13:00{DASH}13:45" in html
    assert html.index(f"08:00{DASH}08:45") < html.index(f"13:00{DASH}13:45")  # in time order
    assert "Chair 2" in html and "data-print" in html


def test_pages_require_sign_in(client, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(TUESDAY, 9))
    for path in ("/", "/print", "/book", f"/visits/{visit.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the visit page


@pytest.fixture
def visit(clinic, make_visit):
    """A booked visit on Monday at 09:00 in chair 1."""
    return make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))


def post_action(client, visit_id: int, action: str, data: dict | None = None):
    """Post an action form of the visit page, with the page's CSRF token."""
    token = csrf_token(client.get(f"/visits/{visit_id}").get_data(as_text=True))
    return client.post(f"/visits/{visit_id}/{action}", data={"csrf_token": token} | (data or {}))


def test_visit_page_shows_the_patient_plan_and_actions(signed_in, clinic, visit):
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert clinic.patient.full_name in html and clinic.patient.mrn in html
    assert f"09:00{DASH}09:45" in html and "until 11:45" in html and "Chair 1" in html
    assert "status-badge status-booked" in html
    for action in ("check-in", "no-show", "cancel", "reschedule"):
        assert f"/visits/{visit.id}/{action}" in html


def test_check_in(signed_in, visit):
    response = post_action(signed_in, visit.id, "check-in")
    assert response.status_code == 302 and response.headers["Location"] == f"/visits/{visit.id}"
    db.session.refresh(visit)
    assert visit.status == "checked_in" and visit.checked_in_at is not None
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Checked in." in html and "status-badge status-checked_in" in html
    assert f"/visits/{visit.id}/check-in" not in html  # no second check-in
    assert f"/visits/{visit.id}/reschedule" not in html  # only booked visits move


def test_cancel_with_a_reason(signed_in, visit):
    response = post_action(signed_in, visit.id, "cancel", {"reason": "Patient has a cold"})
    assert response.status_code == 302
    db.session.refresh(visit)
    assert visit.status == "cancelled" and visit.cancel_reason == "Patient has a cold"
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Patient has a cold" in html and "No front-desk action" not in html
    assert f"/visits/{visit.id}/reinstate" in html and f"/visits/{visit.id}/cancel" not in html


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_without_a_reason_is_refused_on_the_form(signed_in, visit, reason):
    response = post_action(signed_in, visit.id, "cancel", {"reason": reason})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Give a reason for cancelling." in html and "is-invalid" in html
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_no_show(signed_in, visit, frozen, auth, clinic):
    frozen.move_to(chicago(MONDAY, 9, 15))  # a no-show from 15 minutes after the start
    auth.login(clinic.clerk)
    assert post_action(signed_in, visit.id, "no-show").status_code == 302
    db.session.refresh(visit)
    assert visit.status == "no_show"


def test_an_illegal_transition_is_a_message_not_an_error(signed_in, visit, frozen, auth, clinic):
    frozen.move_to(chicago(MONDAY, 9, 15))
    auth.login(clinic.clerk)
    post_action(signed_in, visit.id, "no-show")
    token = csrf_token(signed_in.get(f"/visits/{visit.id}").get_data(as_text=True))
    response = signed_in.post(
        f"/visits/{visit.id}/check-in", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Cannot check in: the visit is no show." in response.get_data(as_text=True)
    db.session.refresh(visit)
    assert visit.status == "no_show"


def reschedule_form(visit, **changes) -> dict:
    """The reschedule form's fields, as the page fills them, with some changed."""
    return {
        "date": MONDAY.isoformat(),
        "time": "09:00",
        "chair_id": str(visit.chair_id),
        "infusion_minutes": str(visit.infusion_minutes),
        "observation_minutes": str(visit.observation_minutes),
    } | changes


def test_reschedule_to_a_free_slot(signed_in, clinic, visit):
    data = reschedule_form(visit, time="13:30", chair_id=str(clinic.chairs[2].id))
    response = post_action(signed_in, visit.id, "reschedule", data)
    assert response.status_code == 302
    db.session.refresh(visit)
    assert visit.infusion_start == chicago(MONDAY, 13, 30)
    assert visit.chair_id == clinic.chairs[2].id
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Visit rescheduled." in html and f"13:30{DASH}14:15" in html and "Chair 3" in html


def test_reschedule_to_a_busy_slot_lists_every_broken_rule(signed_in, clinic, visit, make_visit):
    other = make_visit(
        clinic.clerk, clinic.new_patient(), chicago(MONDAY, 13), chair_id=clinic.chairs[1].id
    )
    data = reschedule_form(visit, time="13:15", chair_id=str(other.chair_id))
    response = post_action(signed_in, visit.id, "reschedule", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="broken-rules"' in html and "This chair is taken" in html
    db.session.refresh(visit)
    assert visit.infusion_start == chicago(MONDAY, 9) and visit.chair_id == clinic.chairs[0].id


def test_reschedule_out_of_range_shows_field_errors(signed_in, visit):
    response = post_action(
        signed_in, visit.id, "reschedule", reschedule_form(visit, infusion_minutes="30", time="7pm")
    )
    html = response.get_data(as_text=True)
    assert "Not a valid time value." in html
    response = post_action(
        signed_in, visit.id, "reschedule", reschedule_form(visit, infusion_minutes="30")
    )
    html = response.get_data(as_text=True)
    assert "Must be between 45 and 60 minutes." in html
    db.session.refresh(visit)
    assert visit.infusion_minutes == 45


def test_late_entries_are_marked_in_the_timeline(signed_in, clinic, visit):
    record_event(
        clinic.clerk,
        visit.id,
        "check_in",
        now=NOW + timedelta(hours=2),
        at=NOW + timedelta(minutes=30),
    )
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "late entry · recorded 09:00" in html and "07:30" in html
    assert clinic.clerk.name in html


def test_admin_views_a_visit_but_cannot_act(client, auth, clinic, visit):
    auth.login(clinic.admin)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert clinic.patient.full_name in html and "can view this visit but not change it" in html
    assert f"/visits/{visit.id}/check-in" not in html
    token = csrf_token(html)
    for action in ("check-in", "no-show", "cancel", "reschedule"):
        response = client.post(
            f"/visits/{visit.id}/{action}", data={"csrf_token": token, "reason": "x"}
        )
        assert response.status_code == 403
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_a_visit_of_another_site_is_404(
    signed_in,
    make_site,
    make_chair,
    make_user,
    make_patient,
    make_clearance,
    make_shift,
    make_visit,
):
    dallas = make_site(name="Dallas")
    make_chair(dallas)
    make_shift(dallas, "nurse")
    practitioner = make_shift(dallas, "practitioner").user
    patient = make_patient(dallas)
    make_clearance(patient, practitioner=practitioner)
    theirs = make_visit(make_user("front_desk", [dallas]), patient, chicago(TUESDAY, 9))
    assert signed_in.get(f"/visits/{theirs.id}").status_code == 404
    token = csrf_token(signed_in.get("/").get_data(as_text=True))
    for action in ("check-in", "no-show", "cancel", "reschedule"):
        response = signed_in.post(
            f"/visits/{theirs.id}/{action}", data={"csrf_token": token, "reason": "x"}
        )
        assert response.status_code == 404
    assert signed_in.get("/visits/99999").status_code == 404


def test_visit_actions_need_the_csrf_token(signed_in, visit):
    assert signed_in.post(f"/visits/{visit.id}/check-in").status_code == 400
    assert signed_in.post(f"/visits/{visit.id}/cancel", data={"reason": "x"}).status_code == 400
    db.session.refresh(visit)
    assert visit.status == "booked"
    count = select(func.count()).select_from(VisitEvent).where(VisitEvent.type != "book")
    assert db.session.scalar(count) == 0


def test_html_is_escaped(signed_in, clinic, make_visit):
    patient = clinic.new_patient(given_name="<b>Al", family_name="O'Neil")
    visit = make_visit(clinic.clerk, patient, chicago(TUESDAY, 9), notes="<script>x</script>")
    html = signed_in.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "<script>x</script>" not in html and escape("<script>x</script>") in html


def test_a_refused_reschedule_offers_the_closest_times_and_one_click_moves_there(
    signed_in, clinic, visit, make_visit
):
    first, second, third = clinic.chairs
    make_visit(clinic.clerk, clinic.new_patient(), chicago(MONDAY, 13), chair_id=second.id)
    data = reschedule_form(visit, time="13:15", chair_id=str(second.id))

    html = post_action(signed_in, visit.id, "reschedule", data).get_data(as_text=True)

    offered = html[html.index('id="reschedule-alternatives"') :]
    offered = offered[: offered.index("</form>")]
    slots = re.findall(r'name="slot" value="([^"]+)"', offered)
    # The same time in the other chairs (the visit's own slot counts as free), then 13:30.
    assert slots[:3] == [
        f"{MONDAY.isoformat()} 13:15 {first.id}",
        f"{MONDAY.isoformat()} 13:15 {third.id}",
        f"{MONDAY.isoformat()} 13:30 {first.id}",
    ]

    token = csrf_token(html)
    response = signed_in.post(
        f"/visits/{visit.id}/reschedule",
        data={
            "csrf_token": token,
            "slot": slots[1],
            "infusion_minutes": "45",
            "observation_minutes": "120",
        },
    )
    assert response.status_code == 302
    db.session.refresh(visit)
    assert visit.infusion_start == chicago(MONDAY, 13, 15) and visit.chair_id == third.id


def test_print_view_of_a_site_open_until_midnight_says_24_00(signed_in, clinic):
    clinic.site.opening_hours = {**clinic.site.opening_hours, "tue": ["00:00", "24:00"]}
    db.session.commit()
    html = signed_in.get(f"/print?date={TUESDAY.isoformat()}").get_data(as_text=True)
    assert f"open 00:00{DASH}24:00" in html
