"""Ten patients accept the same waitlist offer at the same instant: one visit, nine "taken".

The offer links are served by gunicorn with four worker processes, on SQLite and on
PostgreSQL; every accept goes through the booking path (the site lock, the constraint).
"""

from __future__ import annotations

import http.client
import re
import threading
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.concurrency.harness import count_active_visits, gunicorn, prepare_clinic

PATIENTS = 10


def make_offer(clinic) -> tuple[int, list[str]]:
    """Put every patient on the waitlist and offer them one slot; return known link tokens."""
    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import OfferRecipient, User
    from clinic.services import waitlist
    from clinic.services.tokens import digest
    from clinic.types import utcnow
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=clinic.db_url)
    with app.app_context():
        clerk = db.session.scalar(sa.select(User).where(User.email == "desk0@race.test"))
        day: date = clinic.day
        entries = [
            waitlist.add_entry(
                clerk, pid, clinic.site_id, day, day + timedelta(days=1), "any", "", utcnow()
            ).id
            for pid in clinic.patient_ids
        ]
        offer = waitlist.create_offer(
            clerk, clinic.chair_ids[0], clinic.at(10), entries, 15, utcnow()
        ).offer
        tokens = []
        for recipient in db.session.scalars(
            sa.select(OfferRecipient).where(OfferRecipient.offer_id == offer.id)
        ):
            token = f"race-{recipient.id}-{'x' * 24}"
            recipient.token_digest = digest(token)
            tokens.append(token)
        db.session.commit()
        offer_id = offer.id
        db.session.remove()
        db.engine.dispose()
    return offer_id, tokens


def accept_all(address: str, tokens: list[str]) -> list:
    """Open every link, then press Accept on all of them at once (own connection each)."""
    host, port = address.split(":")
    barrier = threading.Barrier(len(tokens))
    answers: list = [None] * len(tokens)

    def fire(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            path = f"/o/{tokens[index]}"
            conn.request("GET", path)
            page = conn.getresponse()
            html = page.read().decode()
            cookie = (page.getheader("Set-Cookie") or "").split(";")[0]
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
            assert csrf, html[:500]
            body = urlencode({"csrf_token": csrf[1], "accept": "Accept"})
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            barrier.wait(timeout=30)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answers[index] = (response.status, response.read().decode())
        except BaseException as error:  # reported by the assertions
            answers[index] = error
        finally:
            conn.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


@pytest.mark.slow
def test_ten_simultaneous_accepts_book_exactly_one_visit(database_url):
    clinic = prepare_clinic(database_url, chairs=1, patients=PATIENTS)
    offer_id, tokens = make_offer(clinic)

    with gunicorn(database_url, workers=4) as server:
        answers = accept_all(server.address, tokens)
        log = server.log_tail()

    failures = [a for a in answers if not isinstance(a, tuple)]
    assert not failures, failures[:3]
    assert all(status == 200 for status, _ in answers), [s for s, _ in answers] + [log]
    booked = [html for _, html in answers if "booked for you" in html]
    taken = [html for _, html in answers if "taken by someone else" in html]
    assert (len(booked), len(taken)) == (1, PATIENTS - 1), log
    assert count_active_visits(database_url) == 1
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            status, visit_id = conn.execute(
                sa.text("SELECT status, visit_id FROM waitlist_offers WHERE id = :id"),
                {"id": offer_id},
            ).one()
    finally:
        engine.dispose()
    assert status == "taken" and visit_id is not None
