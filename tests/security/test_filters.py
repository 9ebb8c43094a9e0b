"""Search and filter input is a value, never a pattern, a column or an order."""

from __future__ import annotations


def test_wildcards_typed_into_the_patient_search_match_only_themselves(api_as, clinic):
    api = api_as(clinic.clerk)
    assert [p["id"] for p in api.get("/patients?q=dan").get_json()] == [clinic.patient.id]
    for query in ("%", "_", "d%", "%a", "__na"):
        assert api.get("/patients", query_string={"q": query}).get_json() == [], query


def test_unknown_sort_or_filter_parameters_change_nothing(api_as, clinic):
    api = api_as(clinic.clerk)
    plain = api.get("/patients").get_json()
    for extra in (
        {"order_by": "mrn desc"},
        {"sort": "family_name; DROP TABLE patients"},
        {"site_id": "1 OR 1=1"},
    ):
        answer = api.get("/patients", query_string=extra)
        assert answer.status_code in (200, 422), extra
        if answer.status_code == 200:
            assert answer.get_json() == plain, extra
