"""The availability walk on PostgreSQL: its instants come from psycopg, not SQLite's text."""

from __future__ import annotations

import pytest

from tests.services.test_availability_walk import (  # noqa: F401 (collected here again)
    test_a_patient_in_care_long_after_the_plan_holds_the_chair,
    test_statements_grow_with_the_days_walked_not_the_days_asked,
    test_the_walk_finds_what_one_search_of_every_day_finds,
)


@pytest.fixture
def app(pg_app):
    """Run every factory and the test client of this module on PostgreSQL."""
    return pg_app
