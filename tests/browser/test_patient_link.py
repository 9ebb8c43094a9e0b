"""A patient answers from the link in a message, in a real browser with no sign-in; the
front desk sees the answers on the day board."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.extensions import db
from clinic.models import PatientMessage, Visit
from clinic.notify import patient_outbox
from clinic.services import booking
from clinic.types import utcnow
from tests.browser.test_walkthrough import person, shot  # noqa: F401  (person is a fixture)
from tests.conftest import MONDAY, chicago

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def link(visit: Visit, token: str) -> None:
    """Store a sent message of the visit whose link carries `token` (kept as its digest)."""
    db.session.add(
        PatientMessage(
            visit_id=visit.id,
            patient_id=visit.patient_id,
            channel="email",
            kind="reminder",
            status="sent",
            scheduled_for=utcnow(),
            next_attempt_at=utcnow(),
            sent_at=utcnow(),
            attempts=1,
            token_digest=patient_outbox.digest(token),
            created_at=utcnow(),
        )
    )
    db.session.commit()


def answer(browser, live_server, token: str, button: str) -> str:
    """Open the link as the patient would (no session), press a button, return the answer."""
    context = browser.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.goto(f"/c/{token}")
        assert "Please arrive by" in page.inner_text("main")
        page.click(f'button:has-text("{button}"), input[value="{button}"]')
        page.wait_for_selector("#answer")
        shot(page, f"patient-link-{token}")
        text = page.inner_text("main")
        # Nothing but the visit's time and place and the first name: no staff banner.
        assert "MRN" not in text and "scheduler" not in text
        return page.inner_text("#answer")
    finally:
        context.close()


def test_a_patient_confirms_and_cancels_from_links(
    browser,
    live_server,
    person,  # noqa: F811
    clinic,
    frozen,
):
    clerk = clinic.clerk
    book = {
        "tuesday": chicago(MONDAY + timedelta(days=1), 11),
        "today": chicago(MONDAY, 15),  # 8 h away: inside the 24-hour cancellation window
        "next_week": chicago(MONDAY + timedelta(days=8), 10),
    }
    visits = {}
    for name, start in book.items():
        patient = clinic.new_patient(given_name=name.capitalize().replace("_", ""))
        visit, _ = booking.book(
            clerk, booking.Request(patient_id=patient.id, infusion_start=start), now=utcnow()
        )
        link(visit, f"link-{name}")
        visits[name] = visit.id

    said = answer(browser, live_server, "link-tuesday", "Confirm")
    assert "confirmed" in said
    said = answer(browser, live_server, "link-today", "I can't come")
    assert "front desk will call you" in said
    said = answer(browser, live_server, "link-next_week", "I can't come")
    assert "cancelled" in said

    db.session.rollback()
    states = {name: db.session.get(Visit, visit_id) for name, visit_id in visits.items()}
    assert states["tuesday"].confirmation == "confirmed"
    assert (states["today"].status, states["today"].confirmation) == ("booked", "cancel_requested")
    assert states["next_week"].status == "cancelled"  # outside the window: the chair is free

    with person(clerk) as desk:
        desk.goto(f"/?date={MONDAY.isoformat()}")
        mark = desk.locator('[data-confirmation="cancel_requested"]').first
        mark.wait_for()
        shot(desk, "patient-link-day-board")
        desk.goto(f"/?date={(MONDAY + timedelta(days=1)).isoformat()}")
        desk.locator('[data-confirmation="confirmed"]').first.wait_for()
