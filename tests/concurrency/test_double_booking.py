"""Fifty clerks book the same chair at the same instant: one booking, 49 clear refusals.

The app runs under gunicorn with four worker processes, so the race is between processes
and database connections, as in production, on SQLite (BEGIN IMMEDIATE) and on PostgreSQL
(site row lock, exclusion constraint as the last line).
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.concurrency.harness import (
    Answer,
    count_active_visits,
    gunicorn,
    overlapping_active_chair_holds,
    prepare_clinic,
    race,
)

CLIENTS = 50


@pytest.mark.slow
def test_fifty_simultaneous_bookings_of_one_chair_give_one_visit(database_url):
    clinic = prepare_clinic(database_url, chairs=1, patients=CLIENTS)
    start = clinic.at(10).isoformat()
    bodies = [
        {"patient_id": patient_id, "chair_id": clinic.chair_ids[0], "infusion_start": start}
        for patient_id in clinic.patient_ids
    ]

    with gunicorn(database_url, workers=4) as server:
        answers = race(server.address, clinic.tokens[0], bodies)
        log = server.log_tail()

    failures = [a for a in answers if not isinstance(a, Answer)]
    assert not failures, failures[:3]
    statuses = Counter(a.status for a in answers)
    assert statuses == {201: 1, 409: CLIENTS - 1}, f"{statuses}\n{log}"
    for answer in answers:
        assert "database is locked" not in answer.body.lower()
        assert "traceback" not in answer.body.lower()
        if answer.status == 409:
            body = answer.json()
            assert body["error"] == "conflict"
            assert "chair_busy" in [reason["rule"] for reason in body["reasons"]], body
    created = next(a.json() for a in answers if a.status == 201)
    assert created["chair_id"] == clinic.chair_ids[0]
    assert created["status"] == "booked"
    assert count_active_visits(database_url) == 1
    assert overlapping_active_chair_holds(database_url) == 0
