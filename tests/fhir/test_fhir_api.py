"""The FHIR R4 read API (API.md, "Reports and interoperability"): every answer validated
with fhir.resources; tokens, roles and site isolation as in /api/v1; searches and paging."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.services import availability
from clinic.services.screening import record_measure
from clinic.types import utcnow
from tests.conftest import MONDAY, NOW, add_baseline, chicago
from tests.fhir.conftest import Fhir, refused, resources

PATHS = (
    "metadata",
    "Patient/{patient}",
    "Appointment/{visit}",
    "Appointment",
    "Schedule",
    "Slot",
    "Observation?patient={patient}",
    "QuestionnaireResponse?patient={patient}",
)


@pytest.fixture
def visit(clinic, make_visit):
    """The clinic's patient booked for Monday 09:00."""
    return make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))


@pytest.fixture
def dallas(make_site, make_chair, make_shift, make_user, make_patient, make_clearance, make_visit):
    """Another site with its own nurse, patient and a visit on Monday."""
    site = make_site(name="Dallas")
    chair = make_chair(site, "Dallas 1")
    nurse = make_shift(site, "nurse").user
    practitioner = make_shift(site, "practitioner").user
    patient = make_patient(site)
    make_clearance(patient, practitioner=practitioner)
    visit = make_visit(nurse, patient, chicago(MONDAY, 10))
    return type("Dallas", (), {"site": site, "chair": chair, "nurse": nurse, "visit": visit})


def path_of(template: str, clinic, visit) -> str:
    return template.format(patient=clinic.patient.id, visit=visit.id)


@pytest.mark.parametrize("template", PATHS)
def test_no_token_or_a_bad_token_is_401(client, clinic, visit, template):
    for token in ("", "not-a-token"):
        response = Fhir(client, token=token).get(path_of(template, clinic, visit))
        refused(response, 401, "login")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_session_cookie_does_not_open_fhir(client, auth, clinic, visit):
    auth.login(clinic.nurse)
    response = client.get(f"/fhir/Patient/{clinic.patient.id}")
    refused(response, 401, "login")


def test_the_capability_statement_lists_the_resources(fhir_as, clinic):
    body = Fhir.read(fhir_as(clinic.clerk), "metadata")
    assert (body["resourceType"], body["fhirVersion"], body["kind"]) == (
        "CapabilityStatement",
        "4.0.1",
        "instance",
    )
    assert body["format"] == ["application/fhir+json"]
    kinds = {r["type"] for r in body["rest"][0]["resource"]}
    assert kinds == {
        "Patient",
        "Appointment",
        "Schedule",
        "Slot",
        "Observation",
        "QuestionnaireResponse",
    }


def test_a_patient_carries_only_record_number_name_and_birth_date(fhir_as, clinic):
    body = fhir_as(clinic.nurse).read(f"Patient/{clinic.patient.id}")
    assert set(body) == {"resourceType", "id", "identifier", "name", "birthDate"}
    assert body["id"] == str(clinic.patient.id)
    assert body["identifier"][0]["value"] == clinic.patient.mrn
    assert body["name"] == [{"family": clinic.patient.family_name, "given": ["Dana"]}]
    assert body["birthDate"] == "1980-04-02"
    assert "555" not in str(body)  # no phone, no escort


def test_another_sites_or_an_unknown_resource_is_404(fhir_as, clinic, visit, dallas):
    theirs = fhir_as(dallas.nurse)
    for path in (
        f"Patient/{clinic.patient.id}",
        f"Appointment/{visit.id}",
        "Patient/999999",
        "Patient/abc",
        "Appointment/999999",
        "Appointment/99999999999",
    ):
        refused(theirs.get(path), 404, "not-found")
    # Searches of another site's patient find nothing (and do not say it exists).
    for kind in ("Appointment", "Observation"):
        assert theirs.search(kind, patient=clinic.patient.id)["total"] == 0
    assert theirs.search("Appointment")["total"] == 1  # Dallas's own visit only
    assert {s["id"] for s in resources(theirs.search("Schedule"))} == {str(dallas.chair.id)}
    assert theirs.search("Slot", schedule=f"Schedule/{clinic.chairs[0].id}")["total"] == 0
    # An administrator sees every site.
    admin = fhir_as(clinic.admin)
    assert admin.read(f"Appointment/{dallas.visit.id}")["id"] == str(dallas.visit.id)
    assert admin.search("Appointment")["total"] == 2


def test_screening_needs_a_clinical_role(fhir_as, clinic, visit, frozen):
    frozen.move_to(chicago(MONDAY, 8, 55))
    add_baseline(visit.id, chicago(MONDAY, 8, 50))
    record_measure(clinic.nurse, visit.id, "phq9", [1] * 9, utcnow(), chicago(MONDAY, 8, 50))
    clerk = fhir_as(clinic.clerk)
    patient = clinic.patient.id
    refused(clerk.get("QuestionnaireResponse", patient=patient), 403, "forbidden")
    refused(clerk.get("Observation", patient=patient, category="survey"), 403, "forbidden")
    unasked = resources(clerk.search("Observation", patient=patient))
    assert {o["category"][0]["coding"][0]["code"] for o in unasked} == {"vital-signs"}
    nurse = resources(fhir_as(clinic.nurse).search("Observation", patient=patient))
    assert {o["category"][0]["coding"][0]["code"] for o in nurse} == {"vital-signs", "survey"}


# http://hl7.org/fhir/R4/valueset-appointmentstatus.html (fhir.resources checks no code sets)
R4_APPOINTMENT_STATUSES = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}
STATUSES = {
    "booked": "booked",
    "checked_in": "checked-in",
    "infusing": "arrived",
    "recovering": "arrived",
    "discharged": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def test_every_visit_status_maps_to_an_appointment_status(fhir_as, clinic, make_visit):
    visits = {}
    for n, status in enumerate(STATUSES):
        patient = clinic.new_patient()
        visits[status] = make_visit(clinic.clerk, patient, chicago(MONDAY, 8 + n))
        visits[status].status = status
    db.session.commit()
    nurse = fhir_as(clinic.nurse)
    found = {a["id"]: a for a in nurse.everything("Appointment", date=MONDAY.isoformat())}
    assert len(found) == len(STATUSES)
    assert set(STATUSES.values()) <= R4_APPOINTMENT_STATUSES
    for status, visit in visits.items():
        appointment = found[str(visit.id)]
        assert appointment["status"] == STATUSES[status], status
        assert nurse.read(f"Appointment/{visit.id}")["status"] == STATUSES[status]
        actors = [p["actor"] for p in appointment["participant"]]
        assert actors[0] == {"reference": f"Patient/{visit.patient_id}"}
        assert actors[1] == {"reference": f"Location/{visit.chair_id}", "display": visit.chair.name}
        assert appointment["start"] == visit.infusion_start.isoformat().replace("+00:00", "Z")
        assert appointment["end"] == visit.observation_end.isoformat().replace("+00:00", "Z")


@pytest.fixture
def week(clinic, make_visit):
    """The clinic's patient booked Monday to Friday at 09:00 (Chicago)."""
    return [
        make_visit(clinic.clerk, clinic.patient, chicago(MONDAY + timedelta(days=n), 9))
        for n in range(5)
    ]


def ids(found) -> list[str]:
    return [r["id"] for r in found]


def test_paging_follows_next_links_to_the_end(fhir_as, clinic, week):
    nurse = fhir_as(clinic.nurse)
    first = nurse.search("Appointment", patient=f"Patient/{clinic.patient.id}", _count=2)
    assert first["total"] == 5 and len(first["entry"]) == 2
    assert [link["relation"] for link in first["link"]] == ["self", "next"]
    everything = nurse.everything("Appointment", patient=clinic.patient.id, _count=2)
    assert ids(everything) == [str(v.id) for v in week]  # in start order, none twice
    last = nurse.search("Appointment", patient=clinic.patient.id, _count=2, _offset=4)
    assert [link["relation"] for link in last["link"]] == ["self"]
    only_total = nurse.search("Appointment", patient=clinic.patient.id, _count=0)
    assert only_total["total"] == 5 and "entry" not in only_total


def test_date_searches_take_ge_and_le_in_site_local_days(fhir_as, clinic, week):
    nurse = fhir_as(clinic.nurse)
    tuesday, wednesday = (MONDAY + timedelta(days=n) for n in (1, 2))

    def search(*dates):
        return ids(nurse.everything("Appointment", date=list(dates)))

    assert search(f"ge{tuesday}", f"le{wednesday}") == [str(week[1].id), str(week[2].id)]
    assert search(str(tuesday)) == [str(week[1].id)]
    assert search(f"lt{tuesday}") == [str(week[0].id)]
    assert search(f"gt{wednesday}") == [str(v.id) for v in week[3:]]
    # 09:00 in Chicago is 15:00Z: an instant with its offset is compared exactly.
    assert search(f"ge{week[2].infusion_start.isoformat()}") == [str(v.id) for v in week[2:]]
    assert search(f"le{chicago(tuesday, 9).isoformat()}") == [str(v.id) for v in week[:2]]


@pytest.mark.parametrize(
    "query",
    [
        {"date": "yesterday"},
        {"date": "ge2026-11-30T09:00:00"},  # no offset
        {"date": "xx2026-11-30"},
        {"_count": "-1"},
        {"_count": "abc"},
        {"_count": "201"},
        {"patient": "Group/1"},
        {"patient": ["1", "2"]},
        {"pateint": "1"},
        {"date": "9999-12-31"},
        {"date": "lt0001-01-01T00:00:00+05:00"},
        {"date": "2026-02-30"},
        {"patient": "99999999999"},
        {"patient": "\u0663"},  # an Arabic-Indic digit
    ],
)
def test_bad_parameters_are_400(fhir_as, clinic, query):
    refused(fhir_as(clinic.nurse).get("Appointment", **query), 400, "invalid")


def test_observation_and_questionnaire_searches_need_a_patient(fhir_as, clinic):
    nurse = fhir_as(clinic.nurse)
    refused(nurse.get("Observation"), 400, "invalid")
    refused(nurse.get("QuestionnaireResponse"), 400, "invalid")
    refused(nurse.get("Observation", patient=1, category="laboratory"), 400, "invalid")


def test_one_schedule_per_active_chair(fhir_as, clinic, make_chair):
    make_chair(clinic.site, "Old chair", active=False)
    make_chair(clinic.site, "Bay 1", kind="recovery_bay")
    found = fhir_as(clinic.clerk).everything("Schedule", _count=1)
    assert ids(found) == [str(c.id) for c in clinic.chairs]
    assert [s["actor"] for s in found] == [
        [{"reference": f"Location/{c.id}", "display": c.name}] for c in clinic.chairs
    ]


def test_slots_are_the_availability_of_a_chair(fhir_as, clinic, visit):
    chair = visit.chair_id
    expected = [
        s
        for s in availability.slots(clinic.clerk, clinic.site.id, MONDAY, 1, None, None, 10**6, NOW)
        if s.chair_id == chair
    ]
    found = fhir_as(clinic.clerk).everything(
        "Slot", schedule=f"Schedule/{chair}", start=str(MONDAY), _count=7
    )
    assert len(found) == len(expected) > 0
    assert [s["start"] for s in found] == [
        s.infusion_start.isoformat().replace("+00:00", "Z") for s in expected
    ]
    assert {s["schedule"]["reference"] for s in found} == {f"Schedule/{chair}"}
    assert {s["status"] for s in found} == {"free"}
    every_chair = availability.slots(
        clinic.clerk, clinic.site.id, MONDAY, 1, None, None, 10**6, NOW
    )
    # Without a schedule: every chair of the caller's one site.
    assert fhir_as(clinic.clerk).search("Slot", start=str(MONDAY))["total"] == len(every_chair)
    refused(fhir_as(clinic.admin).get("Slot"), 400, "invalid")  # several sites: say which
    booked = visit.infusion_start.isoformat().replace("+00:00", "Z")
    assert booked not in {s["start"] for s in found}  # the visit's time is taken


def test_slots_take_a_start_range(fhir_as, clinic):
    clerk = fhir_as(clinic.clerk)
    tuesday = MONDAY + timedelta(days=1)
    found = clerk.everything(
        "Slot",
        schedule=clinic.chairs[0].id,
        start=[f"ge{chicago(tuesday, 12).isoformat()}", f"le{tuesday}"],
        _count=200,
    )
    assert found and all(
        s["start"] >= chicago(tuesday, 12).isoformat().replace("+00:00", "Z") for s in found
    )
    assert all(s["start"] < chicago(tuesday + timedelta(days=1), 0).isoformat() for s in found)
    refused(
        clerk.get("Slot", start=[f"ge{MONDAY}", f"le{MONDAY + timedelta(days=40)}"]), 400, "invalid"
    )
    assert clerk.search("Slot", start=[f"ge{tuesday}", f"lt{MONDAY}"])["total"] == 0


def test_vital_signs_are_observations_with_loinc_codes(fhir_as, clinic, visit):
    add_baseline(visit.id, chicago(MONDAY, 8, 50), screened=False, respiratory_rate=16)
    found = fhir_as(clinic.nurse).everything(
        "Observation", patient=clinic.patient.id, category="vital-signs"
    )
    by_code = {o["code"]["coding"][0]["code"]: o for o in found}
    assert set(by_code) == {"85354-9", "8867-4", "59408-5", "9279-1"}
    for observation in found:
        assert observation["subject"] == {"reference": f"Patient/{clinic.patient.id}"}
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
    components = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in by_code["85354-9"]["component"]
    }
    assert components["8480-6"] == {
        "value": 122,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    assert components["8462-4"]["value"] == 78
    assert by_code["8867-4"]["valueQuantity"]["value"] == 72
    assert by_code["8867-4"]["valueQuantity"]["code"] == "/min"
    assert by_code["59408-5"]["valueQuantity"]["code"] == "%"
    assert by_code["9279-1"]["valueQuantity"]["value"] == 16


def test_vital_signs_without_a_respiratory_rate_leave_it_out(fhir_as, clinic, visit):
    add_baseline(visit.id, chicago(MONDAY, 8, 50), screened=False)
    found = fhir_as(clinic.nurse).everything("Observation", patient=clinic.patient.id)
    assert sorted(o["code"]["coding"][0]["code"] for o in found) == [
        "59408-5",
        "85354-9",
        "8867-4",
    ]


def test_a_phq9_measure_is_a_questionnaire_response_and_a_survey_observation(
    fhir_as, clinic, visit, frozen
):
    frozen.move_to(chicago(MONDAY, 8, 55))
    at = chicago(MONDAY, 8, 50)
    add_baseline(visit.id, at)  # also a C-SSRS screener: not exchanged (no LOINC form)
    answers = [2, 2, 2, 2, 2, 2, 2, 2, 1]
    phq9 = record_measure(clinic.nurse, visit.id, "phq9", answers, utcnow(), at)
    gad7 = record_measure(clinic.nurse, visit.id, "gad7", [3] * 7, utcnow(), at)
    nurse = fhir_as(clinic.nurse)
    responses = nurse.everything("QuestionnaireResponse", patient=clinic.patient.id)
    assert ids(responses) == [str(phq9.id), str(gad7.id)]
    response = responses[0]
    assert response["questionnaire"] == "http://loinc.org/q/44249-1"
    assert response["status"] == "completed"
    assert response["subject"] == {"reference": f"Patient/{clinic.patient.id}"}
    assert [item["linkId"] for item in response["item"]] == [str(n) for n in range(1, 10)]
    assert [item["answer"][0]["valueInteger"] for item in response["item"]] == answers
    assert response["item"][0]["text"] == "Little interest or pleasure in doing things"
    assert responses[1]["questionnaire"] == "http://loinc.org/q/69737-5"

    surveys = nurse.everything("Observation", patient=clinic.patient.id, category="survey")
    totals = {o["code"]["coding"][0]["code"]: o for o in surveys}
    assert set(totals) == {"44261-6", "70274-6"}
    assert totals["44261-6"]["valueInteger"] == 17
    assert totals["70274-6"]["valueInteger"] == 21
    assert totals["44261-6"]["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{phq9.id}"}]
    assert totals["44261-6"]["category"][0]["coding"][0]["code"] == "survey"
    # authored ge/le narrows the responses.
    later = (at + timedelta(minutes=1)).isoformat()
    assert (
        nurse.search("QuestionnaireResponse", patient=clinic.patient.id, authored=f"ge{later}")[
            "total"
        ]
        == 0
    )


def test_the_token_limit_answers_429_as_an_operation_outcome(app, fhir_as, clinic):
    app.config["RATELIMIT_API_PER_TOKEN"] = "2/minute"
    clerk = fhir_as(clinic.clerk)
    for _ in range(2):
        assert clerk.get("metadata").status_code == 200
    response = clerk.get("metadata")
    refused(response, 429, "throttled")
    assert 1 <= int(response.headers["Retry-After"]) <= 61


def test_unknown_paths_and_methods_answer_operation_outcomes(fhir_as, clinic):
    nurse = fhir_as(clinic.nurse)
    refused(nurse.get("Practitioner/1"), 404, "not-found")
    response = nurse.client.post(f"/fhir/Patient/{clinic.patient.id}", headers=nurse.headers)
    assert response.mimetype == "application/fhir+json"
    refused(response, 405, "not-supported")
    assert "GET" in response.headers["Allow"]


def test_docs_name_every_fhir_route(app):
    docs = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/fhir/"):
            path = re.sub(r"<[^>]+>", "{id}", rule.rule)
            assert f"`GET {path}" in docs or f", `GET {path}" in docs, path


def test_a_day_is_the_sites_local_day(
    fhir_as, make_site, make_chair, make_shift, make_patient, make_clearance, make_visit
):
    tokyo = make_site(name="Tokyo", timezone="Asia/Tokyo")
    make_chair(tokyo, "T1")
    nurse = make_shift(tokyo, "nurse").user
    make_clearance(
        patient := make_patient(tokyo), practitioner=make_shift(tokyo, "practitioner").user
    )
    tuesday = MONDAY + timedelta(days=1)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # Monday 23:00Z
    visit = make_visit(nurse, patient, start)
    client = fhir_as(nurse)
    assert ids(client.everything("Appointment", date=str(tuesday))) == [str(visit.id)]
    assert client.search("Appointment", date=str(MONDAY))["total"] == 0


def test_reads_are_audited_as_views_without_what_they_showed(fhir_as, clinic, visit, frozen):
    frozen.move_to(chicago(MONDAY, 8, 55))
    at = chicago(MONDAY, 8, 50)
    add_baseline(visit.id, at)
    record_measure(clinic.nurse, visit.id, "phq9", [3, 2, 1, 0, 3, 2, 1, 0, 2], utcnow(), at)
    before = db.session.scalar(select(func.max(AuditEvent.id)))
    nurse = fhir_as(clinic.nurse)
    nurse.read(f"Patient/{clinic.patient.id}")
    nurse.read(f"Appointment/{visit.id}")
    nurse.search("QuestionnaireResponse", patient=clinic.patient.id)
    nurse.search("Observation", patient=clinic.patient.id)
    nurse.search("Appointment", date=str(MONDAY))
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > before, AuditEvent.action.not_like("auth.%"))
    ).all()
    assert [(r.action, r.object_type, r.detail.get("view")) for r in rows] == [
        ("patient.view", "patient", "fhir"),
        ("patient.view", "visit", "fhir"),
        ("patient.view", "patient", "fhir"),
        ("patient.view", "patient", "fhir"),
        ("visit.list", "site", "fhir"),
    ]
    assert rows[-1].detail["patient_ids"] == [clinic.patient.id]
    text = " ".join(str(r.detail) for r in rows)
    assert "44249" not in text and "valueInteger" not in text and clinic.patient.mrn not in text


def test_refusals_are_audited_as_denials(fhir_as, clinic, dallas):
    before = db.session.scalar(select(func.max(AuditEvent.id)))
    refused(fhir_as(clinic.clerk).get("QuestionnaireResponse", patient=1), 403, "forbidden")
    refused(fhir_as(dallas.nurse).get(f"Patient/{clinic.patient.id}"), 404, "not-found")
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > before, AuditEvent.action == "access.denied")
    ).all()
    assert [(r.actor_id, r.detail["endpoint"], r.detail["status"]) for r in rows] == [
        (clinic.clerk.id, "fhir.search_questionnaire_responses", 403),
        (dallas.nurse.id, "fhir.read_patient", 404),
    ]


def test_a_patients_readings_at_a_site_the_caller_cannot_see_are_left_out(
    fhir_as, clinic, visit, dallas, frozen
):
    frozen.move_to(chicago(MONDAY, 10, 55))
    add_baseline(visit.id, chicago(MONDAY, 8, 50), screened=False)
    add_baseline(dallas.visit.id, chicago(MONDAY, 9, 50), screened=False)
    ours = record_measure(clinic.nurse, visit.id, "phq9", [1] * 9, utcnow(), chicago(MONDAY, 8, 51))
    theirs = record_measure(
        dallas.nurse, dallas.visit.id, "phq9", [2] * 9, utcnow(), chicago(MONDAY, 9, 51)
    )
    # The clinic's patient was also seen at Dallas.
    dallas.visit.patient_id = theirs.patient_id = clinic.patient.id
    db.session.commit()
    nurse = fhir_as(clinic.nurse)
    found = nurse.everything("Observation", patient=clinic.patient.id)
    assert len(found) == 4  # our visit's three vital signs and one PHQ-9 total
    assert all(o["effectiveDateTime"] < chicago(MONDAY, 9).isoformat() for o in found)
    responses = nurse.everything("QuestionnaireResponse", patient=clinic.patient.id)
    assert ids(responses) == [str(ours.id)]
    # An administrator sees both sites.
    assert len(fhir_as(clinic.admin).everything("Observation", patient=clinic.patient.id)) == 3 + 3
