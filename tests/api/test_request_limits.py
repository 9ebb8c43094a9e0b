"""Over-long request lines and over-large headers: the API's JSON error body, a page
elsewhere; through the WSGI app here, through gunicorn in tests/concurrency."""

from __future__ import annotations

from clinic.request_limits import MAX_HEADER_FIELD, MAX_HEADER_FIELDS, MAX_REQUEST_TARGET
from tests.api.conftest import assert_error


def test_an_over_long_api_path_or_query_is_414_with_the_error_body(api_as, clinic):
    api = api_as(clinic.clerk)
    assert api.get("/patients?q=" + "a" * 90).status_code == 200
    answer = api.get("/patients?q=" + "a" * MAX_REQUEST_TARGET)
    body = assert_error(answer, 414, "too_large")
    assert body["fields"] == {}
    assert_error(api.get("/" + "x" * MAX_REQUEST_TARGET), 414, "too_large")


def test_over_large_api_headers_are_431_with_the_error_body(api_as, clinic):
    api = api_as(clinic.clerk)
    answer = api.get("/me", headers={"X-Padding": "p" * MAX_HEADER_FIELD})
    assert_error(answer, 431, "too_large")
    many = {f"X-Extra-{n}": "1" for n in range(MAX_HEADER_FIELDS + 1)}
    assert_error(api.get("/me", headers=many), 431, "too_large")


def test_pages_get_a_page_and_unauthenticated_api_calls_get_json(client):
    page = client.get("/login?next=" + "a" * MAX_REQUEST_TARGET)
    assert page.status_code == 414 and page.mimetype == "text/html"
    anonymous = client.get("/api/v1/me", headers={"X-Padding": "p" * MAX_HEADER_FIELD})
    assert_error(anonymous, 431, "too_large")
