"""Refusals of access are audited: who tried which route, and what they were told."""

from tests.audit.conftest import audit_rows


def test_a_role_refused_by_the_api_is_audited(api_as, clinic):
    response = api_as(clinic.nurse).post("/patients", json={"mrn": "X"})
    assert response.status_code == 403
    [row] = audit_rows("access.denied")
    assert row.actor_id == clinic.nurse.id
    assert row.outcome == "denied"
    assert row.detail == {"endpoint": "api.create_patient", "method": "POST", "status": 403}


def test_another_sites_object_is_audited_as_a_denial(api_as, clinic, make_site, make_patient):
    stranger = make_patient(make_site(name="Dallas"))
    assert api_as(clinic.clerk).get(f"/patients/{stranger.id}").status_code == 404
    [row] = audit_rows("access.denied")
    assert row.actor_id == clinic.clerk.id
    assert row.detail["status"] == 404


def test_a_page_refused_to_a_signed_in_user_is_audited(client, auth, clinic):
    auth.login(clinic.clerk)
    assert client.get("/admin/").status_code == 403
    [row] = audit_rows("access.denied")
    assert row.actor_id == clinic.clerk.id


def test_anonymous_requests_and_unknown_urls_are_not(client, api_as, clinic):
    assert client.get("/api/v1/patients/1").status_code == 401
    assert api_as(clinic.clerk).get("/no-such-thing").status_code == 404
    assert audit_rows("access.denied") == []


def test_a_patient_search_is_audited_without_its_words(api_as, clinic):
    response = api_as(clinic.clerk).get("/patients?q=Rivera")
    assert response.status_code == 200
    [row] = audit_rows("patient.list")
    assert row.actor_id == clinic.clerk.id
    assert row.detail == {"searched": True, "results": len(response.get_json())}
    assert "Rivera" not in str(row.detail)
