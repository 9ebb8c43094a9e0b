"""A refusal's alternatives on PostgreSQL: a bounded number of statements on a full week."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.models import User
from clinic.services import alternatives, booking, treatment_types
from tests.conftest import MONDAY, chicago, statements_of
from tests.rems_sessions import SPRAVATO

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def app(pg_app):
    """Run every factory of this module on PostgreSQL."""
    return pg_app


@pytest.fixture
def full_week(clinic, make_visit):
    """Three visits a day in each of the three chairs, Monday to Friday, for other patients;
    the REMS type at the certified site, the clinic's patient enrolled."""
    for offset in range(5):
        for hour in (8, 11, 14):
            for chair in clinic.chairs:
                start = chicago(MONDAY + timedelta(days=offset), hour, 15 * (chair.id % 3))
                make_visit(clinic.clerk, clinic.new_patient(), start, chair_id=chair.id)
    spravato = treatment_types.save_type(None, clinic.site, SPRAVATO, now=chicago(MONDAY, 7))
    clinic.site.rems_certified_on = MONDAY - timedelta(days=30)
    clinic.patient.rems_enrolled_on = MONDAY - timedelta(days=7)
    db.session.commit()
    return spravato.id


def offered(ids: dict[str, int], max_starts: int) -> tuple[list, list[str]]:
    """Return the alternatives to a taken REMS slot on Wednesday and the SQL they took."""
    req = booking.Request(
        patient_id=ids["patient"],
        infusion_start=chicago(MONDAY + timedelta(days=2), 11),
        chair_id=ids["chair"],
        treatment_type_id=ids["type"],
    )

    def call() -> list:
        clerk = db.session.get(User, ids["clerk"])
        return alternatives.suggest(clerk, req, chicago(MONDAY, 7), max_starts=max_starts)

    found, statements = statements_of(call)
    return found, statements


def test_a_refusals_alternatives_take_the_same_statements_however_many_they_are(clinic, full_week):
    assert db.session.get_bind().dialect.name == "postgresql"
    ids = {
        "patient": clinic.patient.id,
        "chair": clinic.chairs[0].id,
        "type": full_week,
        "clerk": clinic.clerk.id,
    }
    few, few_statements = offered(ids, max_starts=1)
    many, many_statements = offered(ids, max_starts=8)

    assert len({s.infusion_start for s in many}) == 8 and len(many) > len(few) >= 1
    # One load of the window, whatever is offered: no statement per slot or per start
    # (each slot's REMS check once cost one), and no more than a booking's own check.
    assert len(many_statements) == len(few_statements), many_statements
    assert len(many_statements) <= 12, many_statements
