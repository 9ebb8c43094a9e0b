"""A booking's narrowed reads on PostgreSQL: one pipeline through fetch_together."""

from __future__ import annotations

import pytest

from tests.services.test_booking_context import (  # noqa: F401 (collected here again)
    test_a_plan_gets_the_verdict_the_whole_site_gives,
    test_a_visit_that_began_longer_ago_than_any_margin_still_holds_its_chair,
)


@pytest.fixture
def app(pg_app):
    """Run every factory of this module on PostgreSQL."""
    return pg_app
