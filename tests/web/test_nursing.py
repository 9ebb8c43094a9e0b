"""Nursing pages: the recovery dashboard, its feed, the dialogs' endpoints, the wall display,
the visit page's chart and timeline, the printable record, and the day board's warning."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Observation, Visit
from clinic.services.events import record_event
from tests.conftest import MONDAY, NOW, add_negative_screen, chicago, csrf_token
from tests.services.visit_rows import put_reading, put_visit

EARLIER = NOW - timedelta(hours=3)  # 04:00 in Austin: everyone below started then


@pytest.fixture
def ward(clinic, make_chair, make_patient):
    """Austin with six chairs and a helper that seats a patient in a phase of the day."""
    clinic.chairs += [make_chair(clinic.site, f"Chair {i}") for i in range(4, 7)]

    def seat(status: str, chair: int = 0, start=EARLIER, **kwargs) -> Visit:
        patient = kwargs.pop("patient", None) or make_patient(
            clinic.site, given_name="Avery", family_name=f"Quinn{chair}{status}"
        )
        return put_visit(clinic.site, clinic.chairs[chair], patient, status, start, **kwargs)

    clinic.seat = seat
    return clinic


@pytest.fixture
def as_nurse(client, auth, ward):
    """Sign in as the nurse on duty."""
    auth.login(ward.nurse)
    return client


def token_of(client, path: str = "/recovery") -> str:
    """Return a CSRF token from a page the user can open."""
    return csrf_token(client.get(path).get_data(as_text=True))


# What htmx sends with every swap; the board's polls also say they are not the user's activity.
HTMX = {"HX-Request": "true"}
POLL = HTMX | {"X-Auto-Refresh": "1"}


def post(client, path: str, data: dict | None = None, token: str | None = None):
    """Post a dialog's form as htmx does: the form's fields, its CSRF token among them."""
    token = token or token_of(client)
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=HTMX)


def errors_of(response) -> dict[str, list[str]]:
    """Return the field errors a refused dialog's form shows again."""
    html = response.get_data(as_text=True)
    found = re.findall(r'data-error-for="(\w+)">([^<]*)<', html)
    return {name: [unescape(text)] for name, text in found if text}


def message_of(response) -> str:
    """Return the reason a refused dialog shows above its form."""
    match = re.search(r"data-dialog-message>([^<]*)<", response.get_data(as_text=True))
    assert match, "no message slot in the answer"
    return unescape(match.group(1))


def saved(response) -> str:
    """Return the message a saved dialog closes with."""
    return json.loads(response.headers["HX-Trigger"])["nursing:saved"]


def wall_alerts_of(html: str) -> dict:
    """Return the open alerts a wall's board block carries for alerts.js."""
    match = re.search(r'data-wall-alerts="([^"]*)"', html)
    assert match, "no wall alerts in the block"
    return json.loads(unescape(match.group(1)))


def poll(client, site_id: int, wall: bool = False, etag: str | None = None):
    """Poll the board's block as the page does."""
    headers = POLL | ({"If-None-Match": etag} if etag else {})
    path = f"/recovery/feed?site_id={site_id}" + ("&wall=1" if wall else "")
    return client.get(path, headers=headers)


VITALS = {"systolic": "128", "diastolic": "82", "heart_rate": "74", "spo2": "98"}
PADSS_OK = {f"padss_{item}": "2" for item in ("vital_signs", "activity", "pain", "bleeding")}
PADSS_OK["padss_nausea_vomiting"] = "1"


def discharge_form(**overrides) -> dict:
    """Return a complete discharge checklist (PADSS 9) with overrides."""
    return PADSS_OK | {"escort_name": "Sam Rivera", "vitals_stable": "y"} | overrides


# ---------------------------------------------------------------- the dashboard


def test_dashboard_shows_only_the_patients_in_care_at_the_users_site(
    as_nurse, ward, make_site, make_chair, make_patient
):
    shown = [ward.seat("checked_in", 0), ward.seat("infusing", 1), ward.seat("recovering", 2)]
    hidden = [ward.seat(status, 3) for status in ("booked", "discharged", "cancelled", "no_show")]
    dallas = make_site(name="Dallas")
    elsewhere = put_visit(dallas, make_chair(dallas), make_patient(dallas), "recovering", EARLIER)

    response = as_nurse.get("/recovery")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cards = re.findall(r'<article class="rc-card[^"]*" data-visit-id="(\d+)"', html)
    assert cards == [str(v.id) for v in shown]
    statuses = re.findall(r'<article class="rc-card[^>]* data-status="(\w+)"', html)
    assert statuses == ["checked_in", "infusing", "recovering"]
    for visit in [*hidden, elsewhere]:
        assert f'data-visit-id="{visit.id}"' not in html
    # Initials only: the full name belongs on the visit page.
    assert "AQ" in html and "Quinn" not in html
    assert 'href="/recovery"' in html  # the nav's Recovery link
    assert 'id="alerts"' in html  # the in-app alerts panel rides along


def test_every_role_may_look_but_only_clinical_roles_get_actions(client, auth, ward):
    ward.seat("recovering")
    for user, clinical in ((ward.clerk, False), (ward.nurse, True), (ward.practitioner, True)):
        auth.login(user)
        html = client.get("/recovery").get_data(as_text=True)
        assert f'data-can-clinical="{1 if clinical else 0}"' in html
        assert ('id="dialog-discharge"' in html) is clinical
        auth.logout()
    auth.login(ward.admin)
    assert client.get(f"/recovery?site_id={ward.site.id}").status_code == 200


def test_another_sites_dashboard_and_feed_are_not_found(as_nurse, make_site):
    dallas = make_site(name="Dallas")
    assert as_nurse.get(f"/recovery?site_id={dallas.id}").status_code == 404
    assert as_nurse.get("/recovery?site_id=abc").status_code == 404
    response = poll(as_nurse, dallas.id)
    assert response.status_code == 404 and message_of(response)


def test_a_user_of_several_sites_chooses_one(client, auth, ward, make_site, make_user):
    dallas = make_site(name="Dallas")
    both = make_user("nurse", [ward.site, dallas])
    auth.login(both)
    html = client.get("/recovery").get_data(as_text=True)
    assert 'id="recovery-site"' in html and "Dallas" in html
    assert f"/recovery/feed?site_id={ward.site.id}" in html
    assert client.get(f"/recovery?site_id={dallas.id}").status_code == 200
    # The feed needs to know which site without one named.
    assert client.get("/recovery/feed").status_code == 422


def test_feed_answers_304_until_something_changes(as_nurse, ward, frozen):
    # Overdue and still in the chair: its expected release moves with the clock.
    visit = ward.seat("recovering")
    first = poll(as_nurse, ward.site.id)
    assert first.status_code == 200 and first.get_etag()[0]
    html = first.get_data(as_text=True)
    assert f'data-visit-id="{visit.id}"' in html
    assert '<div id="recovery-summary" hx-swap-oob="true"' in html  # the counts, above the alerts
    page = as_nurse.get(f"/recovery?site_id={ward.site.id}").get_data(as_text=True)
    assert f'data-etag="{first.get_etag()[0]}"' in page  # the page's first poll is a 304

    frozen.shift(20)  # the clock ticks: the countdown moves, the ETag does not
    again = poll(as_nurse, ward.site.id, etag=first.headers["ETag"])
    assert again.status_code == 304 and again.data == b""
    assert again.headers["X-Server-Time"] > first.headers["X-Server-Time"]

    put_reading(visit, NOW, systolic=150)
    changed = poll(as_nurse, ward.site.id, etag=first.headers["ETag"])
    assert changed.status_code == 200 and changed.get_etag()[0] != first.get_etag()[0]
    assert ">150/80<" in changed.get_data(as_text=True)


def test_feed_without_a_session_answers_401(client, ward):
    response = poll(client, ward.site.id)
    assert response.status_code == 401 and "signed out" in message_of(response)


def test_notes_are_escaped_on_the_page(as_nurse, ward):
    visit = ward.seat("recovering")
    put_reading(visit, NOW - timedelta(minutes=5), note="<script>alert(1)</script>")
    html = as_nurse.get("/recovery").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_wall_display_has_no_buttons_no_names_and_no_notes(as_nurse, ward):
    visit = ward.seat("recovering")
    put_reading(visit, NOW - timedelta(minutes=5), note="Feels sick, partner Jo on the way")
    html = as_nurse.get(f"/recovery?site_id={ward.site.id}&wall=1").get_data(as_text=True)
    assert "wall-mode" in html and 'data-wall="1"' in html
    # One button only: the alerts' sound switch (a browser plays sound only after a click).
    assert re.findall(r"<button[^>]*>", html) == [
        '<button type="button" class="btn btn-sm btn-outline-secondary" data-alerts-enable>'
    ]
    assert "data-alerts-ack" not in html
    assert "data-nursing-action" not in html and 'id="dialog-' not in html
    assert "Quinn" not in html and "Avery" not in html and "Feels sick" not in html
    assert "AQ" in html
    wall = poll(as_nurse, ward.site.id, wall=True).get_data(as_text=True)
    assert "AQ" in wall and "Feels sick" not in wall and "data-nursing-action" not in wall
    normal = poll(as_nurse, ward.site.id).get_data(as_text=True)
    assert "Feels sick, partner Jo on the way" in normal


def test_an_infusion_running_into_the_next_booking_is_flagged(as_nurse, ward, make_patient):
    # Started at 05:30 for 45 minutes: by 07:00 it runs 45 minutes long; the chair's next
    # patient is booked at 08:00, before this one's 60-minute observation can end.
    late = ward.seat("infusing", 0, start=NOW - timedelta(minutes=90), observation=60)
    ward.seat("booked", 0, start=chicago(MONDAY, 8), patient=make_patient(ward.site))
    with time_machine.travel(NOW, tick=False):  # the overrun grows by the second
        html = as_nurse.get("/recovery").get_data(as_text=True)
        board = as_nurse.get("/").get_data(as_text=True)
    assert "Running 15 min over: Chair 1\u2019s next patient at 08:00 is affected." in html
    assert f'data-visit-id="{late.id}"' in html

    assert "has-overrun" in board and "overrun-badge" in board
    assert "Running 15 min over: Chair 1&#39;s next patient at 08:00 is affected." in board


# ---------------------------------------------------------------- the dialogs


def test_start_and_end_the_infusion_through_the_dialogs(as_nurse, ward):
    visit = ward.seat("checked_in", start=NOW)
    assert post(as_nurse, f"/recovery/visits/{visit.id}/vitals", VITALS).status_code == 200
    add_negative_screen(visit.id, NOW)
    response = post(as_nurse, f"/recovery/visits/{visit.id}/start-infusion")
    assert response.status_code == 200
    assert "Infusion started" in saved(response)
    db.session.refresh(visit)
    assert visit.status == "infusing"
    assert abs((visit.infusion_started_at - NOW).total_seconds()) < 5

    again = post(as_nurse, f"/recovery/visits/{visit.id}/start-infusion")
    assert again.status_code == 409 and message_of(again)

    ended = post(as_nurse, f"/recovery/visits/{visit.id}/end-infusion")
    assert ended.status_code == 200
    db.session.refresh(visit)
    assert visit.status == "recovering"
    assert visit.discharge_due_at == visit.infusion_ended_at + timedelta(minutes=120)


def test_an_event_time_in_the_past_is_kept_as_a_late_entry(as_nurse, ward):
    visit = ward.seat("checked_in", start=NOW)
    put_reading(visit, chicago(MONDAY, 6, 45))  # the baseline before the 06:50 start
    add_negative_screen(visit.id, chicago(MONDAY, 6, 45))
    response = post(as_nurse, f"/recovery/visits/{visit.id}/start-infusion", {"at_time": "06:50"})
    assert response.status_code == 200
    db.session.refresh(visit)
    assert visit.infusion_started_at == chicago(MONDAY, 6, 50)
    page = as_nurse.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "late entry · recorded 07:00" in page

    bad = post(as_nurse, f"/recovery/visits/{visit.id}/end-infusion", {"at_time": "25:00"})
    assert bad.status_code == 422 and "at_time" in errors_of(bad)
    before = post(as_nurse, f"/recovery/visits/{visit.id}/end-infusion", {"at_time": "06:40"})
    assert before.status_code == 422
    assert errors_of(before)["at_time"] == ["That time is before the visit's previous event."]


def test_vitals_with_errors_answer_every_field(as_nurse, ward):
    visit = ward.seat("recovering")
    response = post(
        as_nurse,
        f"/recovery/visits/{visit.id}/vitals",
        {"systolic": "abc", "heart_rate": "400", "spo2": "", "dissociation": "7"},
    )
    assert response.status_code == 422
    errors = errors_of(response)
    assert set(errors) == {"systolic", "diastolic", "heart_rate", "spo2", "dissociation"}
    assert errors["heart_rate"] == ["A whole number, 20-250."]
    assert message_of(response)

    upside_down = post(
        as_nurse,
        f"/recovery/visits/{visit.id}/vitals",
        VITALS | {"systolic": "80", "diastolic": "90"},
    )
    assert upside_down.status_code == 422
    assert errors_of(upside_down) == {"diastolic": ["Must be lower than the systolic pressure."]}
    assert db.session.scalar(select(Observation.id)) is None


def test_vitals_and_side_effects_are_recorded_with_flags(as_nurse, ward):
    visit = ward.seat("recovering")
    put_reading(visit, EARLIER - timedelta(minutes=5))  # the baseline, 120/80
    response = post(
        as_nurse,
        f"/recovery/visits/{visit.id}/vitals",
        VITALS
        | {"systolic": "165", "respiratory_rate": "", "dissociation": "2", "nausea": ""}
        | {"note": "  Anxious; reassured  "},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    reading = db.session.scalars(select(Observation).order_by(Observation.id.desc())).first()
    assert (reading.systolic, reading.dissociation, reading.nausea) == (165, 2, None)
    assert reading.note == "Anxious; reassured"
    assert reading.flags == ["bp_high", "bp_above_baseline"]
    board = poll(as_nurse, ward.site.id).get_data(as_text=True)
    assert re.findall(r'class="rc-flag rc-flag-(\w+)"', board) == ["bp_high", "bp_above_baseline"]


def test_vitals_on_a_visit_not_in_care_are_refused(as_nurse, ward):
    visit = ward.seat("discharged")
    response = post(as_nurse, f"/recovery/visits/{visit.id}/vitals", VITALS)
    assert response.status_code == 409 and "discharged" in message_of(response)


def test_extend_observation_needs_minutes_and_a_reason(as_nurse, ward):
    visit = ward.seat("recovering")
    due = visit.discharge_due_at
    missing = post(as_nurse, f"/recovery/visits/{visit.id}/extend", {"minutes": "500"})
    assert missing.status_code == 422
    assert set(errors_of(missing)) == {"minutes", "reason"}

    response = post(
        as_nurse, f"/recovery/visits/{visit.id}/extend", {"minutes": "30", "reason": "Dizzy"}
    )
    assert response.status_code == 200
    db.session.refresh(visit)
    assert visit.discharge_due_at == due + timedelta(minutes=30)
    assert visit.extension_minutes == 30


def test_discharge_refusals_are_shown_in_the_dialog(as_nurse, ward):
    # Infusion ended at 04:45: due at 06:45, so the window has ended at 07:00.
    visit = ward.seat("recovering")
    incomplete = post(as_nurse, f"/recovery/visits/{visit.id}/discharge", {"escort_name": ""})
    assert incomplete.status_code == 422
    errors = errors_of(incomplete)
    assert "escort_name" in errors and "padss_activity" in errors

    low = post(
        as_nurse,
        f"/recovery/visits/{visit.id}/discharge",
        discharge_form(padss_pain="1", vitals_stable=""),
    )
    assert low.status_code == 409
    message = message_of(low)
    assert "PADSS is below 9." in message and "Vital signs are not stable." in message

    done = post(as_nurse, f"/recovery/visits/{visit.id}/discharge", discharge_form())
    assert done.status_code == 200
    db.session.refresh(visit)
    assert visit.status == "discharged"
    checklist = visit.events[-1].data["checklist"]
    assert checklist["padss"] == 9 and checklist["padss_items"]["nausea_vomiting"] == 1


def test_before_due_only_a_practitioner_discharges_with_a_reason(client, auth, ward):
    visit = ward.seat("recovering", start=NOW - timedelta(minutes=60))  # due at 08:45
    auth.login(ward.nurse)
    nurse = post(client, f"/recovery/visits/{visit.id}/discharge", discharge_form())
    assert nurse.status_code == 409
    assert "only a practitioner may override" in message_of(nurse)
    prefill = client.get(f"/recovery/visits/{visit.id}/discharge", headers=HTMX)
    html = prefill.get_data(as_text=True)
    assert "Only a practitioner may discharge before then" in html  # early
    assert "data-override" not in html  # and no override for a nurse
    auth.logout()

    auth.login(ward.practitioner)
    no_reason = post(client, f"/recovery/visits/{visit.id}/discharge", discharge_form())
    assert no_reason.status_code == 409 and "override reason" in message_of(no_reason)
    prefill = client.get(f"/recovery/visits/{visit.id}/discharge", headers=HTMX)
    html = prefill.get_data(as_text=True)
    assert "a practitioner's override: give the reason" in unescape(html)  # early
    assert "data-override" in html and 'name="override_reason"' in html
    done = post(
        client,
        f"/recovery/visits/{visit.id}/discharge",
        discharge_form(override_reason="Stable for an hour; ride waiting"),
    )
    assert done.status_code == 200
    db.session.refresh(visit)
    assert visit.status == "discharged"
    assert visit.events[-1].data["override_reason"] == "Stable for an hour; ride waiting"


def test_discharge_prefill_offers_the_escort_and_the_vitals_hint(as_nurse, ward):
    visit = ward.seat("recovering")
    put_reading(visit, EARLIER - timedelta(minutes=5))
    put_reading(visit, NOW - timedelta(minutes=10), systolic=125, diastolic=82)
    html = as_nurse.get(f"/recovery/visits/{visit.id}/discharge", headers=HTMX).get_data(
        as_text=True
    )

    def tag(input_id: str) -> str:
        return re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html).group(0)

    assert 'value="Sam Rivera"' in tag("discharge-escort_name")
    assert 'value="512-555-0100"' in tag("discharge-escort_phone")
    assert "checked" in tag("discharge-vitals_stable")
    assert "checked" in tag("discharge-padss_vital_signs-2")
    assert "data-discharge-early" not in html and "data-override" not in html


@pytest.mark.parametrize("role", ["clerk", "admin"])
def test_front_desk_and_admin_may_not_do_clinical_actions(client, auth, ward, role):
    visit = ward.seat("recovering")
    checked_in = ward.seat("checked_in", 1)
    auth.login(getattr(ward, role))
    token = token_of(client, "/patients")
    for path, data in (
        (f"/recovery/visits/{checked_in.id}/start-infusion", {}),
        (f"/recovery/visits/{visit.id}/vitals", VITALS),
        (f"/recovery/visits/{visit.id}/extend", {"minutes": "15", "reason": "x"}),
        (f"/recovery/visits/{visit.id}/discharge", discharge_form()),
    ):
        response = post(client, path, data, token=token)
        assert response.status_code == 403, path
        assert message_of(response) == "Your role may not do this."
    assert client.get(f"/recovery/visits/{visit.id}/discharge").status_code == 403
    db.session.refresh(visit)
    assert visit.status == "recovering" and db.session.scalar(select(Observation.id)) is None


def test_other_sites_visits_are_not_found_and_csrf_is_required(
    as_nurse, ward, make_site, make_chair, make_patient
):
    dallas = make_site(name="Dallas")
    theirs = put_visit(dallas, make_chair(dallas), make_patient(dallas), "recovering", EARLIER)
    response = post(as_nurse, f"/recovery/visits/{theirs.id}/vitals", VITALS)
    assert response.status_code == 404 and message_of(response)

    huge = post(as_nurse, f"/recovery/visits/{2**70}/vitals", VITALS)
    assert huge.status_code == 404 and message_of(huge)
    assert as_nurse.get(f"/visits/{2**70}/record").status_code == 404

    mine = ward.seat("recovering")
    forged = as_nurse.post(f"/recovery/visits/{mine.id}/vitals", data=VITALS, headers=HTMX)
    assert forged.status_code == 400
    assert "reload" in message_of(forged)


# ---------------------------------------------------------------- the visit page and record


def played_visit(ward, frozen) -> Visit:
    """Run a visit through its day with readings, an extension, and a late reading."""
    from clinic.services.observations import record_observation
    from clinic.types import utcnow

    visit = ward.seat("booked", start=chicago(MONDAY, 8))
    steps = [
        (chicago(MONDAY, 7, 50), "check_in", {}),
        (chicago(MONDAY, 7, 55), "vitals", {"systolic": 120, "diastolic": 80}),
        (chicago(MONDAY, 8), "start_infusion", {}),
        (chicago(MONDAY, 8, 40), "vitals", {"systolic": 150, "diastolic": 97}),
        (chicago(MONDAY, 8, 45), "end_infusion", {}),
        (chicago(MONDAY, 10, 40), "extend_observation", {"minutes": 15, "reason": "Dizzy"}),
        (chicago(MONDAY, 10, 55), "vitals", {"systolic": 124, "diastolic": 81}),
    ]
    for at, what, data in steps:
        frozen.move_to(at)  # the clock ticks on: each step is given its exact instant
        if what == "vitals":
            values = {"heart_rate": 76, "spo2": 98, "nausea": 1} | data
            record_observation(ward.nurse, visit.id, values, at)
            add_negative_screen(visit.id, at)
        else:
            record_event(ward.nurse, visit.id, what, at, **data)
    # A reading from 09:00 typed in at 11:00.
    frozen.move_to(chicago(MONDAY, 11))
    values = {"systolic": 131, "diastolic": 84, "heart_rate": 125, "spo2": 97}
    record_observation(ward.nurse, visit.id, values, utcnow(), at=chicago(MONDAY, 9))
    return visit


def test_visit_page_shows_the_chart_and_the_merged_timeline(client, auth, ward, frozen):
    visit = played_visit(ward, frozen)
    auth.login(ward.nurse)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert '<svg class="vitals-chart"' in html
    assert html.count("chart-point-systolic") == 4 and "is-flagged" in html
    for label in ("08:00", "09:00", "10:00", "11:00"):
        assert f">{label}</text>" in html  # the time axis in Austin's time
    assert "Infusion</text>" in html and "Discharge due 11:00</text>" in html

    timeline = html[html.index('<ol class="timeline') :]
    order = [
        timeline.index(text)
        for text in (
            "Checked in</span>",
            "BP 120/80",
            "Infusion started",
            "BP 150/97",
            "Infusion ended",
            "BP 131/84",
            "Observation extended",
            "BP 124/81",
        )
    ]
    assert order == sorted(order)
    assert "BP &gt; 20 % over baseline" in html and "HR high" in html
    assert "late entry · recorded 11:00" in html
    assert "Nausea 1/3" in html
    # The visit's own panel shows the full name, and the nurse's actions in dialogs.
    assert visit.patient.full_name in html
    for action in ("vitals", "extend", "discharge"):
        assert f'data-nursing-action="{action}"' in html
    assert 'data-nursing-action="start_infusion"' not in html
    assert f'href="/visits/{visit.id}/record"' in html


def test_front_desk_sees_the_visit_page_without_clinical_actions(client, auth, ward, frozen):
    visit = played_visit(ward, frozen)
    auth.login(ward.clerk)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert '<svg class="vitals-chart"' in html and "data-nursing-action" not in html


def test_record_page_lists_phases_readings_extensions_and_who(client, auth, ward, frozen):
    visit = played_visit(ward, frozen)
    frozen.move_to(chicago(MONDAY, 11, 5))
    record_event(
        ward.nurse,
        visit.id,
        "discharge",
        chicago(MONDAY, 11, 5),
        checklist={"padss": 10, "escort_name": "Sam Rivera", "vitals_stable": True},
    )
    auth.login(ward.clerk)
    response = client.get(f"/visits/{visit.id}/record")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Discharge record" in html and visit.patient.full_name in html
    assert "Recovery observation" in html and "Infusion" in html
    assert "185 min" in html  # 08:00 to 11:05
    assert "+15</td>" in html and "Dizzy" in html
    assert "<strong>10/10</strong>" in html and "Sam Rivera" in html
    assert f"11:05</time> by {ward.nurse.name}" in html
    assert html.count("<tr>") >= 4 + 3  # readings and events
    assert '<svg class="vitals-chart"' in html and "@media print" not in html  # CSS in a file
    assert 'href="/static/css/record.css' in html


def test_record_of_another_sites_visit_is_not_found(as_nurse, make_site, make_chair, make_patient):
    dallas = make_site(name="Dallas")
    theirs = put_visit(dallas, make_chair(dallas), make_patient(dallas), "recovering", EARLIER)
    assert as_nurse.get(f"/visits/{theirs.id}/record").status_code == 404


def test_pages_have_no_inline_scripts_or_styles(client, auth, ward, frozen):
    visit = played_visit(ward, frozen)
    auth.login(ward.practitioner)
    for path in (
        "/recovery",
        f"/recovery?site_id={ward.site.id}&wall=1",
        f"/visits/{visit.id}",
        f"/visits/{visit.id}/record",
        "/",
    ):
        html = client.get(path).get_data(as_text=True)
        assert " style=" not in html, path
        assert "<style" not in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


# ---------------------------------------------------------------- the partials


@pytest.mark.parametrize(
    ("status", "path", "title"),
    [
        ("checked_in", "start-infusion", "Start infusion"),
        ("infusing", "end-infusion", "End infusion"),
        ("recovering", "vitals", "Record vitals"),
        ("recovering", "extend", "Extend observation"),
        ("recovering", "discharge", "Discharge"),
    ],
)
def test_each_dialog_opens_on_its_form_for_the_visit(as_nurse, ward, status, path, title):
    visit = ward.seat(status)
    response = as_nurse.get(f"/recovery/visits/{visit.id}/{path}", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"data-dialog-title>{title}</h2>" in html
    assert "data-dialog-patient>Chair 1 · AQ</div>" in html
    assert f'hx-post="/recovery/visits/{visit.id}/{path}"' in html
    assert re.search(r'name="csrf_token" value="[^"]+"', html)  # every form keeps CSRF
    assert 'd-none" role="alert" data-dialog-message></div>' in html  # no refusal yet


def test_a_saved_dialog_answers_the_card_on_the_board_only(as_nurse, ward):
    visit = ward.seat("recovering")
    token = token_of(as_nurse)
    path = f"/recovery/visits/{visit.id}/vitals"
    on_board = as_nurse.post(
        path,
        data={"csrf_token": token, **VITALS, "systolic": "171", "diastolic": "96"},
        headers=HTMX | {"X-Recovery-Board": "1"},
    )
    assert on_board.status_code == 200 and on_board.headers["HX-Reswap"] == "none"
    assert saved(on_board) == "Vitals recorded: Chair 1 · AQ."
    card = on_board.get_data(as_text=True)
    assert f'id="visit-card-{visit.id}" hx-swap-oob="true"' in card and ">171/96<" in card

    elsewhere = post(
        as_nurse, f"/recovery/visits/{visit.id}/extend", {"minutes": "15", "reason": "x"}
    )
    assert saved(elsewhere).startswith("Observation extended") and elsewhere.data == b""

    gone = as_nurse.post(
        f"/recovery/visits/{visit.id}/discharge",
        data={"csrf_token": token, **discharge_form()},
        headers=HTMX | {"X-Recovery-Board": "1"},
    )
    assert saved(gone).startswith("Discharged")
    assert f'<div id="visit-card-{visit.id}" hx-swap-oob="delete"></div>' in gone.get_data(
        as_text=True
    )


def test_a_signed_out_dialog_says_so_in_place(client, ward):
    visit = ward.seat("recovering")
    response = client.get(f"/recovery/visits/{visit.id}/vitals", headers=HTMX)
    assert response.status_code == 401
    assert message_of(response) == "You are signed out: sign in again."
    assert client.get(f"/recovery/visits/{visit.id}/vitals").status_code == 302  # a page: sign in


# ---------------------------------------------------------------- MOAA/S sedation score


def test_the_vitals_dialog_offers_moaas_in_the_scales_words(as_nurse, ward):
    visit = ward.seat("recovering")
    html = as_nurse.get(f"/recovery/visits/{visit.id}/vitals", headers=HTMX).get_data(as_text=True)
    select_ = re.search(r'<select name="moaas" id="vitals-moaas".*?</select>', html, re.S)
    assert select_, "no MOAA/S select in the vitals dialog"
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)<', select_.group(0))
    assert [value for value, _ in options] == ["", "5", "4", "3", "2", "1", "0"]
    assert options[1][1] == "5 · Responds readily to name spoken in normal tone"
    assert options[-1][1] == "0 · No response after painful trapezius squeeze"
    assert 'for="vitals-moaas">Sedation (MOAA/S)' in html


def test_moaas_from_the_dialog_flags_sedation_on_the_card(as_nurse, ward):
    visit = ward.seat("recovering")
    response = as_nurse.post(
        f"/recovery/visits/{visit.id}/vitals",
        data={"csrf_token": token_of(as_nurse), **VITALS, "moaas": "3"},
        headers=HTMX | {"X-Recovery-Board": "1"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    reading = db.session.scalars(select(Observation)).one()
    assert (reading.moaas, reading.flags) == (3, ["sedation"])
    card = response.get_data(as_text=True)
    assert '<span class="rc-flag rc-flag-sedation">Sedation (MOAA/S ≤ 3)</span>' in card


def test_moaas_blank_is_not_taken_and_out_of_range_is_refused(as_nurse, ward):
    visit = ward.seat("recovering")
    path = f"/recovery/visits/{visit.id}/vitals"
    refused = post(as_nurse, path, VITALS | {"moaas": "6"})
    assert refused.status_code == 422
    assert errors_of(refused) == {"moaas": ["A whole number, 0-5."]}
    assert 'class="form-select form-select-lg is-invalid"' in refused.get_data(as_text=True)
    blank = post(as_nurse, path, VITALS | {"moaas": ""})
    assert blank.status_code == 200
    reading = db.session.scalars(select(Observation)).one()
    assert reading.moaas is None and reading.flags == []


def test_the_record_shows_each_readings_moaas(as_nurse, ward):
    visit = ward.seat("recovering")
    put_reading(visit, EARLIER - timedelta(minutes=5), moaas=5)
    put_reading(visit, EARLIER + timedelta(minutes=40), moaas=2, flags=["sedation"])
    html = as_nurse.get(f"/visits/{visit.id}/record").get_data(as_text=True)
    assert ">MOAA/S</th>" in html
    assert '<td class="">5</td>' in html and '<td class="is-flagged">2</td>' in html
    assert "Sedation (MOAA/S ≤ 3)</span>" in html
