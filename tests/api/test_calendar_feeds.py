"""Calendar feeds: made and revoked through the API, read back as RFC 5545 by two parsers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from sqlalchemy import select

from clinic.database import begin_write
from clinic.extensions import db
from clinic.models import AuditEvent, CalendarFeed, Visit
from tests.api.conftest import assert_error, iso
from tests.conftest import MONDAY, chicago

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
FEED_PATH = re.compile(r"^/calendar/[A-Za-z0-9_-]{40,}\.ics$")


def make_feed(api, site_id: int, user_id: int | None = None):
    body = {"site_id": site_id} | ({"user_id": user_id} if user_id is not None else {})
    return api.post("/calendar-feeds", json=body)


def feed_path(response) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)
    return urlsplit(response.get_json()["url"]).path


def read(client, path: str) -> tuple[str, Calendar]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.get_data(as_text=True)
    return text, Calendar.from_ical(text)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def past_visit(clinic, start: datetime, chair=None) -> Visit:
    """Write a visit straight to the database (booking refuses the past)."""
    begin_write()
    visit = Visit(
        patient_id=clinic.patient.id,
        site_id=clinic.site.id,
        chair_id=(chair or clinic.chairs[0]).id,
        status="discharged",
        infusion_start=start,
        infusion_end=start + timedelta(minutes=45),
        observation_end=start + timedelta(minutes=165),
        infusion_minutes=45,
        observation_minutes=120,
        chair_released_at=start + timedelta(minutes=180),
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# ---------------------------------------------------------------- the API


def test_a_site_feed_is_made_once_opens_and_is_audited(api_as, client, clinic):
    response = make_feed(api_as(clinic.admin), clinic.site.id)
    body = response.get_json()
    assert set(body) == {"id", "url"}
    assert isinstance(body["id"], int)
    path = feed_path(response)
    assert FEED_PATH.match(path)
    _text, calendar = read(client, path)
    assert calendar["X-WR-TIMEZONE"] == "America/Chicago"
    assert "calendar_feed.create" in actions()
    # The token is kept as a digest only: nothing stored holds it.
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert token not in repr(db.session.execute(select(AuditEvent.detail)).all())


def test_delete_answers_204_and_the_feed_then_answers_404(api_as, client, clinic):
    admin = api_as(clinic.admin)
    response = make_feed(admin, clinic.site.id)
    path = feed_path(response)
    feed_id = response.get_json()["id"]
    assert admin.delete(f"/calendar-feeds/{feed_id}").status_code == 204
    assert client.get(path).status_code == 404
    assert actions().count("calendar_feed.revoke") == 1
    assert admin.delete(f"/calendar-feeds/{feed_id}").status_code == 204  # already revoked
    assert actions().count("calendar_feed.revoke") == 1
    assert_error(admin.delete("/calendar-feeds/999999"), 404, "not_found")


def test_staff_make_their_own_feed_and_admins_anyones(api_as, client, clinic):
    nurse = api_as(clinic.nurse)
    own = make_feed(nurse, clinic.site.id, clinic.nurse.id)
    assert own.status_code == 201
    # Without user_id a nurse's feed is their own (only an admin's is the whole site's).
    implied = make_feed(nurse, clinic.site.id)
    assert implied.status_code == 201
    assert db.session.get(CalendarFeed, implied.get_json()["id"]).user_id == clinic.nurse.id
    assert_error(make_feed(nurse, clinic.site.id, clinic.clerk.id), 403, "forbidden")
    for_nurse = make_feed(api_as(clinic.admin), clinic.site.id, clinic.nurse.id)
    assert for_nurse.status_code == 201
    # Someone else's feed, or the site's, is not the nurse's to revoke; the admin may.
    site_feed = make_feed(api_as(clinic.admin), clinic.site.id).get_json()["id"]
    clerk = api_as(clinic.clerk)
    assert_error(clerk.delete(f"/calendar-feeds/{own.get_json()['id']}"), 404, "not_found")
    assert_error(nurse.delete(f"/calendar-feeds/{site_feed}"), 404, "not_found")
    assert nurse.delete(f"/calendar-feeds/{for_nurse.get_json()['id']}").status_code == 204
    assert api_as(clinic.admin).delete(f"/calendar-feeds/{own.get_json()['id']}").status_code == 204


def test_another_sites_staff_see_neither_the_site_nor_its_feeds(
    api_as, clinic, make_site, make_user
):
    other_site = make_site(name="Elsewhere")
    stranger = make_user("nurse", [other_site])
    assert_error(make_feed(api_as(stranger), clinic.site.id, stranger.id), 404, "not_found")
    # An administrator cannot give someone a feed of a site they do not work at.
    body = assert_error(
        make_feed(api_as(clinic.admin), clinic.site.id, stranger.id), 422, "invalid"
    )
    assert "user_id" in body["fields"]
    feed_id = make_feed(api_as(clinic.nurse), clinic.site.id, clinic.nurse.id).get_json()["id"]
    assert_error(api_as(stranger).delete(f"/calendar-feeds/{feed_id}"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "site_id"),
        ({"site_id": "one"}, "site_id"),
        ({"site_id": 0}, "site_id"),
        ({"site_id": 1, "user_id": "me"}, "user_id"),
        ({"site_id": 1, "user_id": -3}, "user_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(api_as, clinic, body, field):
    response = api_as(clinic.admin).post("/calendar-feeds", json=body)
    assert field in assert_error(response, 422, "invalid")["fields"]


def test_an_unknown_user_is_422(api_as, clinic):
    body = assert_error(make_feed(api_as(clinic.admin), clinic.site.id, 999999), 422, "invalid")
    assert "user_id" in body["fields"]


# ---------------------------------------------------------------- the feed


def test_one_event_per_visit_with_a_stable_uid_chair_and_initials_only(
    api_as, client, book, clinic
):
    kept = book(chicago(TUESDAY, 9), chair_id=clinic.chairs[0].id).get_json()
    other = clinic.new_patient(given_name="Quinn", family_name="Zeller")
    dropped = book(chicago(TUESDAY, 9), patient=other, chair_id=clinic.chairs[1].id).get_json()
    clerk = api_as(clinic.clerk)
    cancel = {"type": "cancel", "reason": "patient unwell"}
    assert clerk.post(f"/visits/{dropped['id']}/events", json=cancel).status_code == 200
    path = feed_path(make_feed(api_as(clinic.admin), clinic.site.id))

    text, calendar = read(client, path)
    found = events(calendar)
    assert len(found) == 2
    first, cancelled = (
        found[f"visit-{kept['id']}@localhost"],
        found[f"visit-{dropped['id']}@localhost"],
    )
    assert str(first["SUMMARY"]) == f"{clinic.patient.initials} · Chair 1"
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(cancelled["SUMMARY"]) == "QZ · Chair 2"
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["SEQUENCE"] == 1
    assert "DTSTAMP" in first and "LAST-MODIFIED" in first
    for name in (clinic.patient.given_name, clinic.patient.family_name, "Quinn", "Zeller"):
        assert name not in text
    assert clinic.patient.mrn not in text and "unwell" not in text

    # The same UIDs on the next fetch, and after a move (SEQUENCE rises, the time follows).
    moved = clerk.patch(f"/visits/{kept['id']}", json={"infusion_start": iso(chicago(TUESDAY, 11))})
    assert moved.status_code == 200
    _text, again = read(client, path)
    assert set(events(again)) == set(found)
    event = events(again)[f"visit-{kept['id']}@localhost"]
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 11, 0, tzinfo=CHICAGO)


def test_local_times_carry_the_sites_tzid_across_the_dst_change(client, api_as, clinic):
    # 2026-11-01 02:00 CDT -> 01:00 CST: a 09:00 visit either side is 09:00 on the wall
    # (Saturday 31 October is inside the window: 30 days before the tests' Monday 07:00).
    before = past_visit(clinic, datetime(2026, 10, 31, 9, 0, tzinfo=CHICAGO).astimezone(UTC))
    after = past_visit(clinic, datetime(2026, 11, 2, 9, 0, tzinfo=CHICAGO).astimezone(UTC))
    path = feed_path(make_feed(api_as(clinic.admin), clinic.site.id))
    text, calendar = read(client, path)
    assert "DTSTART;TZID=America/Chicago:20261031T090000" in text
    assert "DTSTART;TZID=America/Chicago:20261102T090000" in text
    assert "DTEND;TZID=America/Chicago:20261102T114500" in text
    found = events(calendar)
    for visit, offset in ((before, -5), (after, -6)):
        start = found[f"visit-{visit.id}@localhost"].decoded("DTSTART")
        assert (start.hour, start.minute) == (9, 0)
        assert start.utcoffset() == timedelta(hours=offset)
        assert start == visit.infusion_start
    assert len(calendar.walk("VTIMEZONE")) == 1


def test_the_window_is_30_days_back_to_90_days_ahead(client, api_as, clinic, frozen):
    now = datetime.now(UTC)
    old = past_visit(clinic, now - timedelta(days=31))
    recent = past_visit(clinic, now - timedelta(days=29))
    path = feed_path(make_feed(api_as(clinic.admin), clinic.site.id))
    found = events(read(client, path)[1])
    assert f"visit-{recent.id}@localhost" in found
    assert f"visit-{old.id}@localhost" not in found


def test_a_staff_feed_holds_the_visits_during_their_shifts(
    client, api_as, book, clinic, make_shift
):
    tuesday_nurse = make_shift(
        clinic.site, "nurse", starts_at=chicago(TUESDAY, 7), ends_at=chicago(TUESDAY, 19)
    ).user
    on_tuesday = book(chicago(TUESDAY, 9)).get_json()
    on_wednesday = book(chicago(WEDNESDAY, 9)).get_json()
    path = feed_path(make_feed(api_as(tuesday_nurse), clinic.site.id, tuesday_nurse.id))
    assert set(events(read(client, path)[1])) == {f"visit-{on_tuesday['id']}@localhost"}
    # The nurse on duty all fortnight sees both.
    path = feed_path(make_feed(api_as(clinic.nurse), clinic.site.id, clinic.nurse.id))
    assert set(events(read(client, path)[1])) == {
        f"visit-{on_tuesday['id']}@localhost",
        f"visit-{on_wednesday['id']}@localhost",
    }


def test_a_disabled_staff_members_feed_answers_404(client, api_as, clinic):
    path = feed_path(make_feed(api_as(clinic.nurse), clinic.site.id, clinic.nurse.id))
    begin_write()
    clinic.nurse.active = False
    db.session.commit()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("change", ["disabled", "demoted"])
def test_a_site_feed_answers_404_once_its_admin_is_disabled_or_demoted(
    client, api_as, clinic, make_user, change
):
    admin = make_user("admin")
    path = feed_path(make_feed(api_as(admin), clinic.site.id))
    assert client.get(path).status_code == 200
    begin_write()
    if change == "disabled":
        admin.active = False
    else:
        admin.role = "nurse"
    db.session.commit()
    assert client.get(path).status_code == 404


def test_the_address_shown_is_on_the_public_base_url(app, api_as, clinic):
    app.config["PUBLIC_BASE_URL"] = "https://infusions.example.org/"
    url = make_feed(api_as(clinic.admin), clinic.site.id).get_json()["url"]
    assert url.startswith("https://infusions.example.org/calendar/")
    assert FEED_PATH.match(urlsplit(url).path)


def test_an_unknown_token_answers_404(client, clinic):
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert client.get(f"/calendar/{'x' * 200}.ics").status_code == 404


def test_the_feed_address_is_rate_limited_per_address(app, client, clinic):
    app.config["RATELIMIT_CONFIRM_PER_ADDRESS"] = "30/minute"
    for _ in range(30):
        assert client.get("/calendar/guess.ics").status_code == 404
    refused = client.get("/calendar/guess.ics")
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers


# ---------------------------------------------------------------- a real calendar format check


def test_the_feed_opens_in_an_independent_parser_with_the_right_local_times(
    client, api_as, book, clinic
):
    """Parse with `ical` (Home Assistant's RFC 5545 parser, strict), not only icalendar."""
    booked = book(chicago(TUESDAY, 9)).get_json()
    dst = past_visit(clinic, datetime(2026, 10, 31, 14, 30, tzinfo=CHICAGO).astimezone(UTC))
    path = feed_path(make_feed(api_as(clinic.admin), clinic.site.id))
    raw = client.get(path).get_data()

    # The wire format: CRLF line ends, no line over 75 octets, the required properties.
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    assert lines[0] == b"BEGIN:VCALENDAR" and b"VERSION:2.0" in lines
    assert any(line.startswith(b"PRODID:") for line in lines)

    calendar = IcsCalendarStream.calendar_from_ics(raw.decode("utf-8"))
    by_uid = {event.uid: event for event in calendar.events}
    assert set(by_uid) == {f"visit-{booked['id']}@localhost", f"visit-{dst.id}@localhost"}
    tuesday = by_uid[f"visit-{booked['id']}@localhost"]
    assert tuesday.dtstart == datetime(2026, 12, 1, 9, 0, tzinfo=CHICAGO)
    assert tuesday.dtstart.utcoffset() == timedelta(hours=-6)
    october = by_uid[f"visit-{dst.id}@localhost"]
    assert october.dtstart == datetime(2026, 10, 31, 14, 30, tzinfo=CHICAGO)
    assert october.dtstart.utcoffset() == timedelta(hours=-5)
    assert october.dtstamp is not None
    assert [tz.tz_id for tz in calendar.timezones] == ["America/Chicago"]
