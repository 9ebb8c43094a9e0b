"""Two patients open the same waitlist offer in a real browser: the first to accept is booked,
the second is told the slot is taken; no sign-in, no staff banner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OfferRecipient, WaitlistOffer
from clinic.services import waitlist
from clinic.services.tokens import digest
from clinic.types import utcnow
from tests.conftest import MONDAY, chicago

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TUESDAY = MONDAY + timedelta(days=1)


def test_first_patient_to_accept_is_booked_the_other_sees_taken(browser, live_server, clinic):
    other = clinic.new_patient()
    entries = [
        waitlist.add_entry(clinic.clerk, p.id, clinic.site.id, MONDAY, TUESDAY, "any", "", utcnow())
        for p in (clinic.patient, other)
    ]
    offer = waitlist.create_offer(
        clinic.clerk,
        clinic.chairs[0].id,
        chicago(TUESDAY, 10),
        [e.id for e in entries],
        15,
        utcnow(),
    ).offer
    tokens = []
    for recipient in db.session.scalars(select(OfferRecipient).order_by(OfferRecipient.id)):
        token = f"browser-offer-{recipient.id}-abcdefghijkl"
        recipient.token_digest = digest(token)
        tokens.append(token)
    db.session.commit()

    contexts = [browser.new_context(base_url=live_server) for _ in tokens]
    try:
        pages = [context.new_page() for context in contexts]
        for page, token in zip(pages, tokens, strict=True):
            page.goto(f"/o/{token}")
            text = page.inner_text("main")
            assert "Austin" in text and "10:00" in text and "MRN" not in text
        pages[0].click('button:has-text("Accept"), input[value="Accept"]')
        pages[0].wait_for_selector("#answer")
        assert "booked for you" in pages[0].inner_text("#answer")
        pages[1].click('button:has-text("Accept"), input[value="Accept"]')
        pages[1].wait_for_selector("#answer")
        assert "taken by someone else" in pages[1].inner_text("#answer")
        pages[1].reload()
        assert pages[1].locator('input[value="Accept"]').count() == 0
    finally:
        for context in contexts:
            context.close()
    db.session.expire_all()
    stored = db.session.get(WaitlistOffer, offer.id)
    assert stored.status == "taken" and stored.visit.patient_id == clinic.patient.id
