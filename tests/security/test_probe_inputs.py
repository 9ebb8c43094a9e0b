"""The probe's malformed inputs: a lone surrogate in JSON, CR/LF in `?next=`; never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.domain.ids import is_digits
from clinic.extensions import db
from clinic.models import Patient, Site
from tests.conftest import MONDAY, PASSWORD, chicago, csrf_token

JSON = {"Content-Type": "application/json"}
LONE = "\\ud800"  # as it travels in the JSON text: a valid escape, but no text at all


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/sites", '{"name": "Austin ' + LONE + '"}'),
        ("PATCH", "/chairs/{chair}", '{"name": "' + LONE + '"}'),
        ("POST", "/chairs", '{"site_id": {site}, "name": "' + LONE + 'x"}'),
        ("PATCH", "/sites/{site}", '{"name": "' + LONE + '"}'),
        ("POST", "/visits", '{"patient_id": {patient}, "infusion_start": "{start}", '
                            '"notes": "' + LONE + '"}'),
        ("POST", "/sites", '{"name": "Bastrop", "' + LONE + '": 1}'),
    ],
)  # fmt: skip
def test_a_lone_surrogate_is_refused_with_the_error_body(api_as, clinic, method, path, body):
    ids = {
        "{chair}": str(clinic.chairs[0].id),
        "{site}": str(clinic.site.id),
        "{patient}": str(clinic.patient.id),
        "{start}": chicago(MONDAY + timedelta(days=1), 9).isoformat(),
    }
    for key, value in ids.items():
        path, body = path.replace(key, value), body.replace(key, value)
    user = clinic.clerk if path == "/visits" else clinic.admin
    api = api_as(user)
    sites_before = db.session.query(Site).count()
    response = api.client.open(
        f"/api/v1{path}", method=method, data=body, headers=api.headers | JSON
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["error"] in ("bad_request", "invalid") and answer["message"]
    assert db.session.query(Site).count() == sites_before


def test_a_lone_surrogate_in_the_booking_forms_patient_search(client, auth, clinic):
    auth.login(clinic.clerk)
    token = csrf_token(client.get("/book").get_data(as_text=True))
    response = client.post(
        "/book/patients",
        data='{"q": "Riv' + LONE + '"}',
        headers=JSON | {"X-CSRFToken": token},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert db.session.query(Patient).count() == 1


@pytest.mark.parametrize(
    "target", ["/patients%0d%0aSet-Cookie:%20x=1", "/patients%0aX-Evil:%201", "/p%7f", "%0d%0a"]
)
def test_cr_lf_in_next_is_ignored_not_a_500(client, clinic, target):
    page = client.get("/login")
    answer = client.post(
        f"/login?next={target}",
        data={
            "email": clinic.nurse.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    assert "Set-Cookie: x" not in str(answer.headers) and "X-Evil" not in answer.headers


@pytest.mark.parametrize("page", ["/reports", "/outcomes"])
@pytest.mark.parametrize("site_id", ["%C2%B2", "%D9%A3", "%EF%BC%91"])  # ², Arabic 3, fullwidth 1
def test_a_unicode_digit_as_an_id_is_not_a_500(client, auth, clinic, page, site_id):
    auth.login(clinic.admin)
    response = client.get(f"{page}?site_id={site_id}")
    assert response.status_code < 500, response.get_data(as_text=True)


def test_unicode_digits_are_not_an_id():
    assert is_digits("12") and not is_digits("²") and not is_digits("\u0661") and not is_digits("")
