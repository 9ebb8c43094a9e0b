"""POST/GET/PATCH /api/v1/visits: the visit object, roles, every booking rule, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from tests.api.conftest import assert_error, iso, rules, visit_count, zulu
from tests.conftest import MONDAY, chicago

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
SUNDAY = MONDAY + timedelta(days=6)

VISIT_KEYS = {
    "id",
    "patient_id",
    "site_id",
    "chair_id",
    "recovery_chair_id",
    "treatment_type_id",
    "status",
    "infusion_start",
    "infusion_end",
    "observation_end",
    "infusion_minutes",
    "observation_minutes",
    "checked_in_at",
    "infusion_started_at",
    "infusion_ended_at",
    "discharged_at",
    "discharge_due_at",
    "cancel_reason",
    "confirmation",
    "events",
    "notes",
}


@pytest.fixture
def other_site(make_site, make_chair, make_shift, make_user, make_patient, make_clearance):
    """A second clinic, Dallas, with its own chair, staff, clerk and cleared patient."""
    site = make_site(name="Dallas")
    chair = make_chair(site, "Dallas 1")
    make_shift(site, "nurse")
    practitioner = make_shift(site, "practitioner").user
    patient = make_patient(site)
    make_clearance(patient, practitioner=practitioner)
    return type(
        "Other",
        (),
        {
            "site": site,
            "chair": chair,
            "patient": patient,
            "clerk": make_user("front_desk", [site]),
        },
    )


# ---------------------------------------------------------------- the visit object


def test_booking_answers_201_with_the_visit_object(book, clinic):
    response = book(chicago(TUESDAY, 9), notes="First infusion")
    assert response.status_code == 201
    visit = response.get_json()
    assert set(visit) == VISIT_KEYS
    assert visit["patient_id"] == clinic.patient.id
    assert visit["site_id"] == clinic.site.id
    assert visit["chair_id"] == clinic.chairs[0].id
    assert visit["recovery_chair_id"] == clinic.chairs[0].id  # chair mode: recover in place
    assert visit["status"] == "booked"
    assert visit["infusion_start"] == zulu(chicago(TUESDAY, 9))
    assert visit["infusion_end"] == zulu(chicago(TUESDAY, 9, 45))
    assert visit["observation_end"] == zulu(chicago(TUESDAY, 11, 45))
    assert (visit["infusion_minutes"], visit["observation_minutes"]) == (45, 120)
    for name in ("checked_in_at", "infusion_started_at", "infusion_ended_at", "discharged_at"):
        assert visit[name] is None
    assert visit["discharge_due_at"] is None
    assert visit["cancel_reason"] is None
    assert visit["notes"] == "First infusion"
    assert isinstance(visit["events"], list)


def test_booking_with_zulu_instant_and_custom_lengths(book, clinic):
    response = book(chicago(TUESDAY, 9), infusion_minutes=60, observation_minutes=90)
    assert response.status_code == 201
    visit = response.get_json()
    assert visit["infusion_end"] == zulu(chicago(TUESDAY, 10))
    assert visit["observation_end"] == zulu(chicago(TUESDAY, 11, 30))


def test_get_visit_returns_the_same_object(book, api_as, clinic):
    created = book(chicago(TUESDAY, 9)).get_json()
    response = api_as(clinic.nurse).get(f"/visits/{created['id']}")
    assert response.status_code == 200
    assert response.get_json() == created


def test_get_unknown_visit_is_404(api_as, clinic):
    assert_error(api_as(clinic.clerk).get("/visits/999"), 404, "not_found")
    assert_error(api_as(clinic.clerk).get("/visits/99999999999999999999"), 404, "not_found")


def test_visit_of_another_site_is_404(book, api_as, clinic, other_site):
    visit_id = book(chicago(TUESDAY, 9)).get_json()["id"]
    other = api_as(other_site.clerk)
    assert_error(other.get(f"/visits/{visit_id}"), 404, "not_found")
    before = visit_count()
    assert_error(
        other.patch(f"/visits/{visit_id}", json={"infusion_start": iso(chicago(TUESDAY, 12))}),
        404,
        "not_found",
    )
    assert_error(
        other.post(f"/visits/{visit_id}/events", json={"type": "check_in"}), 404, "not_found"
    )
    assert visit_count() == before
    assert api_as(clinic.clerk).get(f"/visits/{visit_id}").get_json()["status"] == "booked"


def test_patient_chair_and_site_of_another_site_are_404(book, clinic, other_site):
    before = visit_count()
    assert_error(book(chicago(TUESDAY, 9), patient=other_site.patient), 404, "not_found")
    assert_error(book(chicago(TUESDAY, 9), chair_id=other_site.chair.id), 404, "not_found")
    assert_error(book(chicago(TUESDAY, 9), site_id=other_site.site.id), 404, "not_found")
    assert visit_count() == before


# ---------------------------------------------------------------- roles


def test_admin_may_read_but_not_book(book, api_as, clinic):
    assert_error(book(chicago(TUESDAY, 9), user=clinic.admin), 403, "forbidden")
    assert visit_count() == 0
    visit_id = book(chicago(TUESDAY, 9)).get_json()["id"]
    admin = api_as(clinic.admin)
    assert admin.get(f"/visits/{visit_id}").status_code == 200
    listed = admin.get(f"/visits?site_id={clinic.site.id}&date={TUESDAY}")
    assert [v["id"] for v in listed.get_json()] == [visit_id]
    assert_error(
        admin.patch(f"/visits/{visit_id}", json={"infusion_start": iso(chicago(TUESDAY, 12))}),
        403,
        "forbidden",
    )


@pytest.mark.parametrize("role", ["nurse", "practitioner", "clerk"])
def test_nurse_practitioner_and_front_desk_may_book(book, clinic, role):
    response = book(chicago(TUESDAY, 9), user=getattr(clinic, role))
    assert response.status_code == 201


def test_no_token_is_401(client, clinic):
    response = client.post("/api/v1/visits", json={"patient_id": clinic.patient.id})
    assert_error(response, 401, "unauthorized")
    assert_error(client.get("/api/v1/availability"), 401, "unauthorized")
    assert visit_count() == 0


# ---------------------------------------------------------------- listing


def test_list_visits_of_a_local_day_in_start_order(book, api_as, clinic):
    second = clinic.new_patient()
    late = book(chicago(TUESDAY, 13), patient=second).get_json()
    early = book(chicago(TUESDAY, 8)).get_json()
    book(chicago(WEDNESDAY, 13), patient=clinic.new_patient())
    api = api_as(clinic.clerk)
    response = api.get(f"/visits?site_id={clinic.site.id}&date={TUESDAY}")
    assert response.status_code == 200
    assert [v["id"] for v in response.get_json()] == [early["id"], late["id"]]
    # A single-site user need not name the site.
    assert [v["id"] for v in api.get(f"/visits?date={TUESDAY}").get_json()] == [
        early["id"],
        late["id"],
    ]
    assert api.get(f"/visits?date={MONDAY}").get_json() == []


def test_list_defaults_to_the_sites_today(book, api_as, clinic):
    today = book(chicago(MONDAY, 9)).get_json()
    book(chicago(TUESDAY, 13), patient=clinic.new_patient())
    listed = api_as(clinic.clerk).get("/visits").get_json()
    assert [v["id"] for v in listed] == [today["id"]]


def test_list_needs_a_site_when_the_user_has_several(api_as, clinic):
    body = assert_error(api_as(clinic.admin).get("/visits"), 422, "invalid")
    assert "site_id" in body["fields"]


@pytest.mark.parametrize(
    "query", ["date=2026-13-01", "date=tomorrow", "site_id=abc", "date=9999-12-31"]
)
def test_list_with_bad_query_is_422(api_as, clinic, query):
    assert_error(api_as(clinic.clerk).get(f"/visits?{query}"), 422, "invalid")


def test_list_of_another_site_is_404(api_as, clinic, other_site):
    response = api_as(clinic.clerk).get(f"/visits?site_id={other_site.site.id}")
    assert_error(response, 404, "not_found")


# ---------------------------------------------------------------- each booking rule


def test_chair_busy(book, clinic):
    chair = clinic.chairs[0].id
    assert book(chicago(TUESDAY, 8), chair_id=chair).status_code == 201
    response = book(chicago(TUESDAY, 9), patient=clinic.new_patient(), chair_id=chair)
    assert rules(response) == ["chair_busy"]
    assert visit_count() == 1


def test_back_to_back_bookings_share_a_chair(book, clinic):
    chair = clinic.chairs[0].id
    # 08:00 + 45 min infusion + 120 min observation + 15 min turnover = 11:00.
    assert book(chicago(TUESDAY, 8), chair_id=chair).status_code == 201
    too_early = book(chicago(TUESDAY, 10, 45), patient=clinic.new_patient(), chair_id=chair)
    assert rules(too_early) == ["chair_busy"]
    right_after = book(chicago(TUESDAY, 11), patient=clinic.new_patient(), chair_id=chair)
    assert right_after.status_code == 201


def test_any_chair_picks_a_free_one_until_all_are_taken(book, clinic):
    ids = [c.id for c in clinic.chairs]
    assert book(chicago(TUESDAY, 8), chair_id=ids[0]).get_json()["chair_id"] == ids[0]
    second = book(chicago(TUESDAY, 8), patient=clinic.new_patient())
    assert second.status_code == 201 and second.get_json()["chair_id"] == ids[1]
    third = book(chicago(TUESDAY, 8), patient=clinic.new_patient())
    assert third.get_json()["chair_id"] == ids[2]
    assert rules(book(chicago(TUESDAY, 8), patient=clinic.new_patient())) == ["chair_busy"]
    assert visit_count() == 3


def test_recovery_full_in_bay_mode(
    api_as, make_site, make_chair, make_shift, make_user, make_patient, make_clearance
):
    site = make_site(name="Bay clinic", recovery_mode="bay")
    chairs = [make_chair(site, "Chair A"), make_chair(site, "Chair B")]
    bay = make_chair(site, "Bay 1", kind="recovery_bay")
    make_shift(site, "nurse")
    practitioner = make_shift(site, "practitioner").user
    clerk = make_user("front_desk", [site])
    patients = [make_patient(site) for _ in range(2)]
    for patient in patients:
        make_clearance(patient, practitioner=practitioner)
    api = api_as(clerk)

    first = api.post(
        "/visits",
        json={"patient_id": patients[0].id, "infusion_start": iso(chicago(TUESDAY, 8))},
    )
    assert first.status_code == 201
    assert first.get_json()["chair_id"] == chairs[0].id
    assert first.get_json()["recovery_chair_id"] == bay.id
    second = api.post(
        "/visits",
        json={
            "patient_id": patients[1].id,
            "infusion_start": iso(chicago(TUESDAY, 8)),
            "chair_id": chairs[1].id,
        },
    )
    assert rules(second) == ["recovery_full"]
    # The chair alone is free again after infusion + turnover, but the bay is not.
    later = api.post(
        "/visits",
        json={"patient_id": patients[1].id, "infusion_start": iso(chicago(TUESDAY, 9))},
    )
    assert rules(later) == ["recovery_full"]


def test_nurse_capacity(book, clinic):
    clinic.site.nurse_ratio = 1
    db.session.commit()
    assert book(chicago(TUESDAY, 8)).status_code == 201
    response = book(chicago(TUESDAY, 9), patient=clinic.new_patient())
    assert rules(response) == ["nurse_capacity"]
    reason = response.get_json()["reasons"][0]
    assert reason["message"]


def test_no_nurse_on_shift(
    api_as, make_site, make_chair, make_shift, make_user, make_patient, make_clearance
):
    site = make_site(name="No nurses")
    make_chair(site)
    practitioner = make_shift(site, "practitioner").user
    patient = make_patient(site)
    make_clearance(patient, practitioner=practitioner)
    response = api_as(make_user("front_desk", [site])).post(
        "/visits", json={"patient_id": patient.id, "infusion_start": iso(chicago(TUESDAY, 9))}
    )
    assert rules(response) == ["no_nurse_on_shift"]


def test_no_practitioner_on_site(
    api_as, make_site, make_chair, make_shift, make_user, make_patient, make_clearance
):
    site = make_site(name="No practitioner")
    make_chair(site)
    make_shift(site, "nurse")
    patient = make_patient(site)
    make_clearance(patient)
    response = api_as(make_user("front_desk", [site])).post(
        "/visits", json={"patient_id": patient.id, "infusion_start": iso(chicago(TUESDAY, 9))}
    )
    assert rules(response) == ["no_practitioner_on_site"]


def test_outside_opening_hours(book, clinic):
    # 16:00 + 165 minutes ends at 18:45; the clinic closes at 18:00.
    assert rules(book(chicago(TUESDAY, 16))) == ["outside_opening_hours"]
    assert book(chicago(TUESDAY, 15, 15)).status_code == 201


def test_closed_day(book, clinic):
    assert "outside_opening_hours" in rules(book(chicago(SUNDAY, 10)))
    assert visit_count() == 0


def test_patient_overlap_and_too_soon(book, clinic):
    assert book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id).status_code == 201
    response = book(chicago(TUESDAY, 9), chair_id=clinic.chairs[1].id)
    assert rules(response) == ["patient_overlap", "too_soon_after_last_infusion"]


def test_too_soon_after_last_infusion(book, clinic):
    assert book(chicago(TUESDAY, 8)).status_code == 201
    assert rules(book(chicago(TUESDAY, 14))) == ["too_soon_after_last_infusion"]
    assert book(chicago(WEDNESDAY, 8)).status_code == 201  # exactly 24 hours later


def test_not_cleared(book, clinic, make_patient, make_clearance):
    nobody = make_patient(clinic.site)
    assert rules(book(chicago(TUESDAY, 9), patient=nobody)) == ["not_cleared"]
    unsigned = make_patient(clinic.site)
    make_clearance(unsigned, practitioner=clinic.practitioner, consent_signed=False)
    assert rules(book(chicago(TUESDAY, 9), patient=unsigned)) == ["not_cleared"]
    expired = make_patient(clinic.site)
    make_clearance(expired, practitioner=clinic.practitioner, valid_until=MONDAY)
    assert rules(book(chicago(TUESDAY, 9), patient=expired)) == ["not_cleared"]
    assert visit_count() == 0


def test_in_the_past(book, clinic, frozen):
    frozen.move_to(chicago(MONDAY, 12))
    assert rules(book(chicago(MONDAY, 9))) == ["in_the_past"]
    assert visit_count() == 0


def test_several_rules_at_once_are_all_listed(book, clinic, make_patient):
    nobody = make_patient(clinic.site)
    # Sunday: closed, and the patient is not cleared (the shifts run all fortnight).
    found = rules(book(chicago(SUNDAY, 10), patient=nobody))
    assert set(found) == {"outside_opening_hours", "not_cleared"}
    # Two weeks on, nobody is on shift either.
    later = MONDAY + timedelta(days=14)
    found = rules(book(chicago(later, 17), patient=nobody))
    assert set(found) == {
        "no_nurse_on_shift",
        "no_practitioner_on_site",
        "outside_opening_hours",
        "not_cleared",
    }
    assert visit_count() == 0


def test_conflict_reasons_carry_messages(book, clinic):
    book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id)
    body = book(chicago(TUESDAY, 8, 30), chair_id=clinic.chairs[0].id).get_json()
    assert body["error"] == "conflict"
    assert body["fields"] == {}
    assert all(set(r) == {"rule", "message"} and r["message"] for r in body["reasons"])


def test_recovery_bay_or_inactive_chair_cannot_be_booked(book, clinic, make_chair):
    bay = make_chair(clinic.site, "Bay", kind="recovery_bay")
    idle = make_chair(clinic.site, "Broken", active=False)
    for chair in (bay, idle):
        body = assert_error(book(chicago(TUESDAY, 9), chair_id=chair.id), 422, "invalid")
        assert "chair_id" in body["fields"]
    assert visit_count() == 0


# ---------------------------------------------------------------- rescheduling


def test_reschedule_moves_the_visit_and_frees_the_old_slot(book, api_as, clinic):
    chair = clinic.chairs[0].id
    visit = book(chicago(TUESDAY, 8), chair_id=chair).get_json()
    api = api_as(clinic.clerk)
    response = api.patch(
        f"/visits/{visit['id']}",
        json={"infusion_start": iso(chicago(TUESDAY, 12)), "infusion_minutes": 60},
    )
    assert response.status_code == 200
    moved = response.get_json()
    assert set(moved) == VISIT_KEYS
    assert moved["id"] == visit["id"]
    assert moved["infusion_start"] == zulu(chicago(TUESDAY, 12))
    assert moved["infusion_end"] == zulu(chicago(TUESDAY, 13))
    assert moved["chair_id"] == chair
    assert moved["observation_minutes"] == 120
    other = book(chicago(TUESDAY, 8), patient=clinic.new_patient(), chair_id=chair)
    assert other.status_code == 201
    assert visit_count() == 2


def test_reschedule_to_another_chair_and_back_to_any(book, api_as, clinic):
    visit = book(chicago(TUESDAY, 8), chair_id=clinic.chairs[0].id).get_json()
    api = api_as(clinic.nurse)
    moved = api.patch(f"/visits/{visit['id']}", json={"chair_id": clinic.chairs[2].id})
    assert moved.status_code == 200 and moved.get_json()["chair_id"] == clinic.chairs[2].id
    anywhere = api.patch(f"/visits/{visit['id']}", json={"chair_id": None})
    assert anywhere.status_code == 200 and anywhere.get_json()["chair_id"] == clinic.chairs[0].id


def test_reschedule_into_a_conflict_is_409_and_changes_nothing(book, api_as, clinic):
    chair = clinic.chairs[0].id
    book(chicago(TUESDAY, 8), chair_id=chair)
    visit = book(chicago(TUESDAY, 12), patient=clinic.new_patient(), chair_id=chair).get_json()
    api = api_as(clinic.clerk)
    response = api.patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(chicago(TUESDAY, 9))}
    )
    assert rules(response) == ["chair_busy"]
    several = api.patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(chicago(TUESDAY, 17))}
    )
    assert rules(several) == ["outside_opening_hours"]
    assert api.get(f"/visits/{visit['id']}").get_json() == visit


def test_reschedule_onto_its_own_slot_is_allowed(book, api_as, clinic):
    visit = book(chicago(TUESDAY, 8)).get_json()
    response = api_as(clinic.clerk).patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(chicago(TUESDAY, 8, 30))}
    )
    assert response.status_code == 200  # overlaps only itself


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "cancelled"}, "status"),
        ({"infusion_start": "2026-12-01T09:00:00"}, "infusion_start"),
        ({"infusion_start": None}, "infusion_start"),
        ({"chair_id": "one"}, "chair_id"),
        ({"infusion_minutes": 0}, "infusion_minutes"),
        ({"observation_minutes": None}, "observation_minutes"),
        ({"patient_id": 2}, "patient_id"),
    ],
)
def test_reschedule_with_bad_fields_is_422(book, api_as, clinic, body, field):
    visit = book(chicago(TUESDAY, 8)).get_json()
    response = api_as(clinic.clerk).patch(f"/visits/{visit['id']}", json=body)
    assert field in assert_error(response, 422, "invalid")["fields"]
    assert api_as(clinic.clerk).get(f"/visits/{visit['id']}").get_json() == visit


def test_reschedule_with_nothing_to_change_is_422(book, api_as, clinic):
    visit = book(chicago(TUESDAY, 8)).get_json()
    assert_error(api_as(clinic.clerk).patch(f"/visits/{visit['id']}", json={}), 422, "invalid")


def test_only_a_booked_visit_can_be_rescheduled(book, api_as, clinic):
    visit = book(chicago(TUESDAY, 8)).get_json()
    api = api_as(clinic.clerk)
    api.post(f"/visits/{visit['id']}/events", json={"type": "cancel", "reason": "Flu"})
    response = api.patch(
        f"/visits/{visit['id']}", json={"infusion_start": iso(chicago(TUESDAY, 12))}
    )
    assert_error(response, 409, "conflict")
    assert api.get(f"/visits/{visit['id']}").get_json()["infusion_start"] == zulu(
        chicago(TUESDAY, 8)
    )


def test_reschedule_unknown_visit_is_404(api_as, clinic):
    response = api_as(clinic.clerk).patch(
        "/visits/4040", json={"infusion_start": iso(chicago(TUESDAY, 12))}
    )
    assert_error(response, 404, "not_found")


def test_a_cancelled_visit_frees_its_chair(book, api_as, clinic):
    chair = clinic.chairs[0].id
    visit = book(chicago(TUESDAY, 8), chair_id=chair).get_json()
    api_as(clinic.clerk).post(
        f"/visits/{visit['id']}/events", json={"type": "cancel", "reason": "x"}
    )
    again = book(chicago(TUESDAY, 8), patient=clinic.new_patient(), chair_id=chair)
    assert again.status_code == 201


# ---------------------------------------------------------------- idempotency


def test_same_key_same_body_books_once(book, clinic):
    key = {"Idempotency-Key": "retry-7f3a"}
    first = book(chicago(TUESDAY, 9), headers=key)
    assert first.status_code == 201
    second = book(chicago(TUESDAY, 9), headers=key)
    assert second.status_code == 200
    assert second.get_json()["id"] == first.get_json()["id"]
    assert visit_count() == 1


def test_same_key_same_instant_with_another_offset_is_the_same_request(book, api_as, clinic):
    key = {"Idempotency-Key": "offsets"}
    first = book(chicago(TUESDAY, 9), headers=key)
    body = {"patient_id": clinic.patient.id, "infusion_start": zulu(chicago(TUESDAY, 9))}
    second = api_as(clinic.clerk).post("/visits", json=body, headers=key)
    assert second.status_code == 200
    assert second.get_json()["id"] == first.get_json()["id"]
    assert visit_count() == 1


def test_same_key_another_body_is_422(book, clinic):
    key = {"Idempotency-Key": "retry-1"}
    assert book(chicago(TUESDAY, 9), headers=key).status_code == 201
    response = book(chicago(TUESDAY, 12), headers=key)
    assert_error(response, 422, "invalid")
    response = book(chicago(TUESDAY, 9), headers=key, notes="changed")
    assert_error(response, 422, "invalid")
    assert visit_count() == 1


def test_same_key_from_another_user_is_another_request(book, clinic):
    key = {"Idempotency-Key": "shared-key"}
    first = book(chicago(TUESDAY, 9), headers=key)
    second = book(chicago(TUESDAY, 9), headers=key, user=clinic.nurse, patient=clinic.new_patient())
    assert first.status_code == 201 and second.status_code == 201
    assert first.get_json()["id"] != second.get_json()["id"]
    assert visit_count() == 2


def test_without_a_key_a_retry_is_refused_by_the_rules(book, clinic):
    assert book(chicago(TUESDAY, 9)).status_code == 201
    assert "patient_overlap" in rules(book(chicago(TUESDAY, 9)))
    assert visit_count() == 1


def test_a_refused_request_stores_no_key(book, clinic):
    key = {"Idempotency-Key": "after-refusal"}
    assert rules(book(chicago(SUNDAY, 9), headers=key)) == ["outside_opening_hours"]
    assert book(chicago(TUESDAY, 9), headers=key).status_code == 201


def test_overlong_key_is_422(book, clinic):
    response = book(chicago(TUESDAY, 9), headers={"Idempotency-Key": "k" * 201})
    assert "Idempotency-Key" in assert_error(response, 422, "invalid")["fields"]
    assert visit_count() == 0


def test_dates_are_the_sites_local_days(book, api_as, clinic):
    clinic.site.opening_hours = clinic.site.opening_hours | {"tue": ["08:00", "22:00"]}
    db.session.commit()
    # 18:30 on Tuesday in Chicago is already Wednesday in UTC; it still lists under Tuesday.
    visit = book(chicago(TUESDAY, 18, 30)).get_json()
    api = api_as(clinic.clerk)
    assert [v["id"] for v in api.get(f"/visits?date={TUESDAY}").get_json()] == [visit["id"]]
    assert api.get(f"/visits?date={WEDNESDAY}").get_json() == []


# ---------------------------------------------------------------- alternatives in a 409


def test_a_refused_booking_lists_the_closest_alternatives(book, clinic):
    first, second, third = (c.id for c in clinic.chairs)
    book(chicago(TUESDAY, 10), chair_id=first)

    response = book(chicago(TUESDAY, 10), patient=clinic.new_patient(), chair_id=first)

    assert response.status_code == 409
    body = response.get_json()
    assert rules(response) == ["chair_busy"]  # reasons are as before
    offered = [(a["chair_id"], a["infusion_start"]) for a in body["alternatives"]]
    assert offered[:4] == [
        (second, zulu(chicago(TUESDAY, 10))),
        (third, zulu(chicago(TUESDAY, 10))),
        (second, zulu(chicago(TUESDAY, 10, 15))),
        (third, zulu(chicago(TUESDAY, 10, 15))),
    ]
    assert len(offered) <= 10
    assert set(body["alternatives"][0]) == {
        "chair_id",
        "infusion_start",
        "infusion_end",
        "observation_end",
    }
    taken = book(chicago(TUESDAY, 10), patient=clinic.new_patient(), chair_id=second)
    assert taken.status_code == 201


def test_a_refused_reschedule_lists_the_closest_alternatives(book, api_as, clinic):
    chair = clinic.chairs[0].id
    book(chicago(TUESDAY, 8), chair_id=chair)
    visit = book(chicago(TUESDAY, 12), patient=clinic.new_patient(), chair_id=chair).get_json()

    response = api_as(clinic.clerk).patch(
        f"/visits/{visit['id']}", json={"infusion_start": zulu(chicago(TUESDAY, 9))}
    )

    assert rules(response) == ["chair_busy"]
    first = response.get_json()["alternatives"][0]
    assert first["infusion_start"] == zulu(chicago(TUESDAY, 9))
    assert first["chair_id"] == clinic.chairs[1].id


def test_a_state_refusal_has_no_alternatives(book, api_as, clinic):
    visit = book(chicago(TUESDAY, 8)).get_json()
    api = api_as(clinic.clerk)
    api.post(f"/visits/{visit['id']}/events", json={"type": "cancel", "reason": "ill"})
    response = api.patch(
        f"/visits/{visit['id']}", json={"infusion_start": zulu(chicago(TUESDAY, 9))}
    )
    assert response.status_code == 409 and "alternatives" not in response.get_json()
