"""GET /api/v1/availability: ordered, on the local 15-minute grid, limited, and bookable."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.extensions import db
from tests.api.conftest import assert_error, visit_count, zulu
from tests.conftest import MONDAY, chicago

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
SUNDAY = MONDAY + timedelta(days=6)


def local(text: str) -> datetime:
    """Read an answered instant as Chicago wall time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHICAGO)


@pytest.fixture
def slots(api_as, clinic):
    """Ask for availability as the clerk: slots("date=...&limit=...") -> list of slots."""

    def call(query: str = "", user=None) -> list[dict]:
        response = api_as(user or clinic.clerk).get(f"/availability?{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"slots"}
        return body["slots"]

    return call


def test_slots_are_ordered_on_the_grid_with_the_default_lengths(slots, clinic):
    found = slots(f"site_id={clinic.site.id}&date={TUESDAY}&limit=500")
    chairs = [c.id for c in clinic.chairs]
    assert found[0] == {
        "chair_id": chairs[0],
        "infusion_start": zulu(chicago(TUESDAY, 8)),
        "infusion_end": zulu(chicago(TUESDAY, 8, 45)),
        "observation_end": zulu(chicago(TUESDAY, 10, 45)),
    }
    keys = [(s["infusion_start"], s["chair_id"]) for s in found]
    assert keys == sorted(keys)
    starts = sorted({local(s["infusion_start"]) for s in found})
    # 08:00 .. 15:15 (the last start that ends by 18:00), every quarter hour, in 3 chairs.
    assert starts[0].hour == 8 and starts[-1].strftime("%H:%M") == "15:15"
    assert len(starts) == 30 and len(found) == 90
    for slot in found:
        start = local(slot["infusion_start"])
        assert start.minute % 15 == 0 and start.second == 0
        assert start.date() == TUESDAY
        assert local(slot["infusion_end"]) - start == timedelta(minutes=45)
        assert local(slot["observation_end"]) - start == timedelta(minutes=165)
        assert slot["infusion_start"].endswith("Z")


def test_limit_and_its_default(slots, clinic):
    assert len(slots(f"date={TUESDAY}")) == 50
    assert len(slots(f"date={TUESDAY}&limit=7")) == 7
    assert slots(f"date={TUESDAY}&limit=7") == slots(f"date={TUESDAY}&limit=500")[:7]


def test_custom_lengths(slots, clinic):
    found = slots(f"date={TUESDAY}&infusion_minutes=60&observation_minutes=60&limit=500")
    first, last = found[0], found[-1]
    assert local(first["infusion_end"]) - local(first["infusion_start"]) == timedelta(minutes=60)
    assert local(first["observation_end"]) - local(first["infusion_start"]) == timedelta(hours=2)
    assert local(last["infusion_start"]).strftime("%H:%M") == "16:00"


def test_several_days_and_a_closed_day(slots, clinic):
    found = slots(f"date={TUESDAY}&days=2&limit=500")
    assert {local(s["infusion_start"]).date() for s in found} == {TUESDAY, WEDNESDAY}
    assert slots(f"date={SUNDAY}") == []


def test_date_defaults_to_today_and_past_starts_are_left_out(slots, clinic, frozen):
    assert local(slots()[0]["infusion_start"]) == chicago(MONDAY, 8)
    frozen.move_to(chicago(MONDAY, 9, 10))
    assert local(slots()[0]["infusion_start"]) == chicago(MONDAY, 9, 15)


def test_a_booking_takes_its_chair_out_until_turnover_ends(slots, book, clinic):
    chair = clinic.chairs[0].id
    assert book(chicago(TUESDAY, 8), chair_id=chair).status_code == 201
    starts = [
        local(s["infusion_start"])
        for s in slots(f"date={TUESDAY}&limit=500")
        if s["chair_id"] == chair
    ]
    assert starts[0] == chicago(TUESDAY, 11)  # 08:00 + 165 min + 15 min turnover


def test_nurse_capacity_shapes_the_slots(slots, book, clinic):
    clinic.site.nurse_ratio = 1
    db.session.commit()
    assert book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id).status_code == 201
    found = slots(f"date={TUESDAY}&limit=500")
    # One nurse watches the 08:00 patient until 10:45; nobody else may overlap that.
    assert local(found[0]["infusion_start"]) == chicago(TUESDAY, 10, 45)
    assert all(local(s["infusion_start"]) >= chicago(TUESDAY, 10, 45) for s in found)


def test_every_slot_is_bookable(slots, book, api_as, clinic):
    found = slots(f"date={TUESDAY}&limit=500")
    api = api_as(clinic.clerk)
    for slot in found:
        response = book(
            datetime.fromisoformat(slot["infusion_start"].replace("Z", "+00:00")),
            chair_id=slot["chair_id"],
        )
        assert response.status_code == 201, (slot, response.get_json())
        visit = response.get_json()
        assert visit["observation_end"] == slot["observation_end"]
        # Cancel, so the next slot is tried against the same empty day.
        cancel = {"type": "cancel", "reason": "availability check"}
        assert api.post(f"/visits/{visit['id']}/events", json=cancel).status_code == 200
    assert visit_count() == len(found) == 90


def test_slots_after_bookings_are_still_bookable(slots, book, api_as, clinic):
    book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id)
    book(chicago(TUESDAY, 9), chair_id=clinic.chairs[1].id, patient=clinic.new_patient())
    found = slots(f"date={TUESDAY}&limit=500")
    assert len(found) < 90
    patient = clinic.new_patient()
    for slot in found:
        start = datetime.fromisoformat(slot["infusion_start"].replace("Z", "+00:00"))
        response = book(start, chair_id=slot["chair_id"], patient=patient)
        assert response.status_code == 201, (slot, response.get_json())
        cancel = {"type": "cancel", "reason": "availability check"}
        visit_id = response.get_json()["id"]
        api_as(clinic.clerk).post(f"/visits/{visit_id}/events", json=cancel)


def test_bay_mode_counts_the_bays(
    api_as, make_site, make_chair, make_shift, make_user, make_patient, make_clearance
):
    site = make_site(name="Bays", recovery_mode="bay")
    for name in ("A", "B"):
        make_chair(site, name)
    make_chair(site, "Bay", kind="recovery_bay")
    make_shift(site, "nurse")
    make_shift(site, "practitioner")
    clerk = make_user("front_desk", [site])
    response = api_as(clerk).get(f"/availability?date={TUESDAY}&limit=500")
    starts = [local(s["infusion_start"]) for s in response.get_json()["slots"]]
    # One bay: a slot needs the bay from infusion end to observation end + turnover.
    assert starts[:2] == [chicago(TUESDAY, 8), chicago(TUESDAY, 8)]  # two chairs, one start
    patient = make_patient(site)
    make_clearance(patient)
    booked = api_as(clerk).post(
        "/visits", json={"patient_id": patient.id, "infusion_start": zulu(chicago(TUESDAY, 8))}
    )
    assert booked.status_code == 201
    after = api_as(clerk).get(f"/availability?date={TUESDAY}&limit=500").get_json()["slots"]
    # The bay is held 08:45..11:00; a new visit's bay hold starts 45 minutes after its start.
    assert local(after[0]["infusion_start"]) == chicago(TUESDAY, 10, 15)


def test_an_admin_names_the_site(slots, api_as, clinic):
    body = assert_error(api_as(clinic.admin).get("/availability"), 422, "invalid")
    assert "site_id" in body["fields"]
    assert slots(f"site_id={clinic.site.id}&date={TUESDAY}&limit=3", user=clinic.admin)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("infusion_minutes=30", "infusion_minutes"),
        ("infusion_minutes=61", "infusion_minutes"),
        ("infusion_minutes=abc", "infusion_minutes"),
        ("observation_minutes=30", "observation_minutes"),
        ("observation_minutes=100000", "observation_minutes"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("days=0", "days"),
        ("days=400", "days"),
        ("date=2026-02-30", "date"),
        ("date=30/11/2026", "date"),
        ("date=9999-12-31&days=31", "date"),
        ("site_id=x", "site_id"),
    ],
)
def test_bad_queries_are_422(api_as, clinic, query, field):
    response = api_as(clinic.clerk).get(f"/availability?{query}")
    assert field in assert_error(response, 422, "invalid")["fields"]


def test_unknown_site_is_404(api_as, clinic):
    assert_error(api_as(clinic.clerk).get("/availability?site_id=999"), 404, "not_found")
    huge = api_as(clinic.clerk).get("/availability?site_id=99999999999999999999")
    assert "site_id" in assert_error(huge, 422, "invalid")["fields"]


def test_another_sites_availability_is_404(api_as, clinic, make_site, make_user):
    other = make_site(name="Elsewhere")
    assert_error(api_as(clinic.clerk).get(f"/availability?site_id={other.id}"), 404, "not_found")
    assert api_as(make_user("nurse", [other])).get(f"/availability?site_id={other.id}").json == {
        "slots": []
    }
