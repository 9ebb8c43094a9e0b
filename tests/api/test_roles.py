"""Who may do what (API.md, "Roles"), whose token counts, and bodies that are not objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from clinic.services import staff
from clinic.types import utcnow

ROLES = ("front_desk", "nurse", "practitioner", "admin")
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
EDITORS = frozenset({"front_desk", "practitioner"})
PRACTITIONER = frozenset({"practitioner"})


def error(response, status: int, code: str) -> dict:
    """Check an error answer's status and body, and return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


@dataclass(frozen=True)
class Case:
    """One request of the role table: who may send it and what success looks like."""

    name: str
    method: str
    path: Callable[[SimpleNamespace], str]
    allowed: frozenset[str]
    success: int = 200
    body: Callable[[SimpleNamespace], dict] | None = None


CASES = [
    Case("list sites", "get", lambda c: "/sites", EVERYONE),
    Case("read site", "get", lambda c: f"/sites/{c.site.id}", EVERYONE),
    Case("create site", "post", lambda c: "/sites", ADMIN, 201, lambda c: {"name": "Kyle"}),
    Case(
        "edit site",
        "patch",
        lambda c: f"/sites/{c.site.id}",
        ADMIN,
        body=lambda c: {"nurse_ratio": 3},
    ),
    Case("list chairs", "get", lambda c: f"/chairs?site_id={c.site.id}", EVERYONE),
    Case(
        "create chair",
        "post",
        lambda c: "/chairs",
        ADMIN,
        201,
        lambda c: {"site_id": c.site.id, "name": "Chair 9"},
    ),
    Case(
        "edit chair",
        "patch",
        lambda c: f"/chairs/{c.chairs[0].id}",
        ADMIN,
        body=lambda c: {"active": False},
    ),
    Case("list shifts", "get", lambda c: f"/shifts?site_id={c.site.id}&date=2026-12-01", EVERYONE),
    Case(
        "create shift",
        "post",
        lambda c: "/shifts",
        ADMIN,
        201,
        lambda c: {
            "site_id": c.site.id,
            "user_id": c.nurse.id,
            "starts_at": "2026-12-20T08:00:00-06:00",
            "ends_at": "2026-12-20T16:00:00-06:00",
        },
    ),
    Case("delete shift", "delete", lambda c: f"/shifts/{c.shift_id}", ADMIN, 204),
    Case("list users", "get", lambda c: "/users", ADMIN),
    Case(
        "create user",
        "post",
        lambda c: "/users",
        ADMIN,
        201,
        lambda c: {"email": "new@clinic.test", "name": "New", "role": "nurse"},
    ),
    Case(
        "edit user",
        "patch",
        lambda c: f"/users/{c.clerk.id}",
        ADMIN,
        body=lambda c: {"name": "Renamed"},
    ),
    Case("me", "get", lambda c: "/me", EVERYONE),
    Case("search patients", "get", lambda c: "/patients?q=dana", EVERYONE),
    Case("read patient", "get", lambda c: f"/patients/{c.patient.id}", EVERYONE),
    Case(
        "create patient",
        "post",
        lambda c: "/patients",
        EDITORS,
        201,
        lambda c: {
            "site_id": c.site.id,
            "mrn": "R-1",
            "given_name": "Ana",
            "family_name": "Role",
            "birth_date": "1990-01-01",
        },
    ),
    Case(
        "edit patient",
        "patch",
        lambda c: f"/patients/{c.patient.id}",
        EDITORS,
        body=lambda c: {"phone": "512-555-0111"},
    ),
    Case("list clearances", "get", lambda c: f"/patients/{c.patient.id}/clearances", EVERYONE),
    Case(
        "record clearance",
        "post",
        lambda c: f"/patients/{c.patient.id}/clearances",
        PRACTITIONER,
        201,
        lambda c: {
            "evaluated_on": "2026-11-29",
            "valid_until": "2027-05-29",
            "cleared": True,
            "consent_signed": True,
        },
    ),
]


@pytest.fixture
def users(clinic):
    """The clinic's staff by role."""
    return {
        "front_desk": clinic.clerk,
        "nurse": clinic.nurse,
        "practitioner": clinic.practitioner,
        "admin": clinic.admin,
    }


@pytest.fixture
def world(clinic, make_shift):
    """The clinic, plus a shift to delete."""
    shift = make_shift(clinic.site, "nurse", user=clinic.nurse)
    return SimpleNamespace(**vars(clinic), shift_id=shift.id)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_role_table(api_as, users, world, case, role):
    api = api_as(users[role])
    body = case.body(world) if case.body else None
    response = getattr(api, case.method)(case.path(world), json=body)
    if role in case.allowed:
        assert response.status_code == case.success, response.get_data(as_text=True)
    else:
        error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/sites"),
        ("patch", "/sites/999999"),
        ("patch", "/chairs/999999"),
        ("delete", "/shifts/999999"),
        ("patch", "/users/999999"),
        ("patch", "/patients/999999"),
        ("post", "/patients/999999/clearances"),
    ],
)
def test_the_role_is_checked_before_the_object_or_the_body(api_as, clinic, method, path):
    # A nurse may do none of these: she hears 403, whatever the id or the body.
    response = getattr(api_as(clinic.nurse), method)(path, data="not json")
    error(response, 403, "forbidden")


def test_an_allowed_role_still_gets_404_for_another_sites_objects(api_as, clinic, make_site):
    dallas = make_site(name="Dallas")
    admin = api_as(clinic.admin)
    chair = admin.post("/chairs", json={"site_id": dallas.id, "name": "D1"}).get_json()
    patient = admin.get(f"/patients/{clinic.patient.id}").get_json()
    assert patient["id"] == clinic.patient.id
    clerk = api_as(clinic.clerk)
    error(clerk.get(f"/sites/{dallas.id}"), 404, "not_found")
    error(clerk.get(f"/chairs?site_id={dallas.id}"), 404, "not_found")
    error(clerk.get(f"/shifts?site_id={dallas.id}"), 404, "not_found")
    assert chair["id"] not in {c["id"] for c in clerk.get("/chairs").get_json()}


# ---------------------------------------------------------------- credentials


def test_no_token_is_401(client, clinic):
    for path in ("/sites", "/me", "/patients", "/users"):
        response = client.get(f"/api/v1{path}")
        error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "bearer", "Bearer " + "x" * 5000],
)
def test_unknown_tokens_are_401(client, clinic, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    error(response, 401, "unauthorized")


def test_a_disabled_users_token_is_401(api_as, clinic):
    api = api_as(clinic.clerk)
    assert api.get("/me").status_code == 200
    staff.update_user(clinic.clerk, {"active": False}, now=utcnow())
    error(api.get("/me"), 401, "unauthorized")
    error(api.post("/patients", json={}), 401, "unauthorized")


def test_a_signed_in_browser_cookie_is_not_an_api_credential(client, auth, clinic):
    assert auth.login(clinic.clerk).status_code == 302
    assert client.get_cookie("session") is not None  # signed in for the pages
    error(client.get("/api/v1/me"), 401, "unauthorized")
    error(client.get("/api/v1/sites"), 401, "unauthorized")
    response = client.post(
        "/api/v1/patients",
        json={"mrn": "C-1", "given_name": "A", "family_name": "B", "birth_date": "1990-01-01"},
    )
    error(response, 401, "unauthorized")


def test_open_endpoints_need_no_token(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200


# ---------------------------------------------------------------- malformed requests

WRITES = [
    ("post", "/sites"),
    ("patch", "/sites/{site}"),
    ("post", "/chairs"),
    ("patch", "/chairs/{chair}"),
    ("post", "/shifts"),
    ("post", "/users"),
    ("patch", "/users/{clerk}"),
    ("post", "/patients"),
    ("patch", "/patients/{patient}"),
    ("post", "/patients/{patient}/clearances"),
]
NOT_OBJECTS = ["{not json", "[]", '"text"', "42", "null", "", "[" * 50_000]


def _writer(clinic, path: str):
    """Return the role allowed to write to the path, and the path with its ids."""
    path = path.format(
        site=clinic.site.id,
        chair=clinic.chairs[0].id,
        clerk=clinic.clerk.id,
        patient=clinic.patient.id,
    )
    if "clearances" in path:
        return clinic.practitioner, path
    if path.startswith("/patients"):
        return clinic.clerk, path
    return clinic.admin, path


@pytest.mark.parametrize("raw", NOT_OBJECTS)
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_that_is_not_an_object_is_400(api_as, clinic, method, path, raw):
    user, path = _writer(clinic, path)
    response = getattr(api_as(user), method)(
        path, data=raw, headers={"Content-Type": "application/json"}
    )
    error(response, 400, "bad_request")


JUNK = [
    None,
    True,
    -1,
    0,
    2**64,
    10**100,
    1e308,
    "",
    "x" * 20_000,
    "\x00",
    "2026-12-01T09:00:00",
    "9999-12-31T23:59:59-23:59",
    [],
    [None],
    {},
    {"a": {"b": [1, {"c": None}]}},
]
FIELDS = {
    "/sites": ["name", "timezone", "opening_hours", "nurse_ratio", "infusion_minutes"],
    "/chairs": ["site_id", "name", "kind", "active"],
    "/shifts": ["site_id", "user_id", "role", "starts_at", "ends_at"],
    "/users": ["email", "name", "role", "site_ids", "password", "active"],
    "/patients": ["site_id", "mrn", "birth_date", "weight_kg", "phone"],
    "/patients/{patient}/clearances": ["evaluated_on", "valid_until", "contraindications"],
}
VALID = {
    "/sites": {"name": "Junk"},
    "/chairs": {"site_id": 1, "name": "J"},
    "/shifts": {
        "site_id": 1,
        "user_id": 1,
        "starts_at": "2026-12-20T08:00:00-06:00",
        "ends_at": "2026-12-20T16:00:00-06:00",
    },
    "/users": {"email": "junk@clinic.test", "name": "J", "role": "nurse"},
    "/patients": {"mrn": "J-1", "given_name": "J", "family_name": "K", "birth_date": "1990-01-01"},
    "/patients/{patient}/clearances": {
        "evaluated_on": "2026-11-29",
        "valid_until": "2027-05-29",
        "cleared": True,
        "consent_signed": True,
    },
}


@pytest.mark.parametrize("path", list(FIELDS))
def test_junk_in_any_field_never_gets_a_5xx(api_as, clinic, path):
    user, url = _writer(clinic, path)
    api = api_as(user)
    for field in FIELDS[path]:
        for junk in JUNK:
            response = api.post(url, json=VALID[path] | {field: junk})
            assert response.status_code < 500, (field, junk, response.get_data(as_text=True))
            assert response.is_json
            # Every answer is either the new object or the error body.
            assert response.status_code in (201, 404, 409, 422), (field, junk)


def test_junk_in_patch_and_query_never_gets_a_5xx(api_as, clinic):
    admin = api_as(clinic.admin)
    for junk in JUNK:
        for path in (f"/sites/{clinic.site.id}", f"/chairs/{clinic.chairs[0].id}"):
            response = admin.patch(path, json={"name": junk, "kind": junk, "nurse_ratio": junk})
            assert response.status_code in (200, 422), (path, junk)
        response = admin.patch(f"/users/{clinic.clerk.id}", json={"site_ids": junk})
        assert response.status_code in (200, 422), junk
    clerk = api_as(clinic.clerk)
    for query in ("site_id=%00", "site_id=-1", "date=2026-02-30", "date=%FF", "q=%00%00"):
        for path in ("/chairs", "/shifts", "/patients"):
            response = clerk.get(f"{path}?{query}")
            assert response.status_code in (200, 422), (path, query)


@pytest.mark.parametrize("path", ["/nothing", "/sites/abc", "/sites/1/chairs", "/patients/-1"])
def test_an_unknown_url_is_a_json_404(api_as, clinic, path):
    error(api_as(clinic.admin).get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/sites/1"), ("put", "/patients/1"), ("delete", "/me"), ("post", "/healthz")],
)
def test_a_wrong_method_is_a_json_405(api_as, clinic, method, path):
    response = getattr(api_as(clinic.admin), method)(path)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "Allow" in response.headers
