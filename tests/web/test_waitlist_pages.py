"""The desk's waitlist and recall pages: matches for a free slot, offers sent, recall links."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import WaitlistOffer
from clinic.services import waitlist
from clinic.types import utcnow
from tests.conftest import MONDAY, NOW, chicago, csrf_token

TUESDAY = MONDAY + timedelta(days=1)


def test_waitlist_page_finds_matches_and_sends_an_offer(client, auth, clinic):
    entry = waitlist.add_entry(
        clinic.clerk, clinic.patient.id, clinic.site.id, MONDAY, TUESDAY, "morning", "", utcnow()
    )
    auth.login(clinic.clerk)
    page = client.get(
        f"/waitlist?site_id={clinic.site.id}&date={TUESDAY}&time=10:00&chair_id={clinic.chairs[0].id}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="entry_id" value="{entry.id}"' in html
    afternoon = client.get(
        f"/waitlist?site_id={clinic.site.id}&date={TUESDAY}&time=14:00&chair_id={clinic.chairs[0].id}"
    ).get_data(as_text=True)
    assert "Nobody on the waitlist can be booked" in afternoon
    sent = client.post(
        f"/waitlist/offers?site_id={clinic.site.id}",
        data={
            "csrf_token": csrf_token(html),
            "date": TUESDAY.isoformat(),
            "time": "10:00",
            "chair_id": clinic.chairs[0].id,
            "entry_id": entry.id,
            "hold_minutes": 15,
        },
    )
    assert sent.status_code == 302
    offer = db.session.scalar(select(WaitlistOffer))
    assert offer.infusion_start == chicago(TUESDAY, 10) and offer.status == "open"
    after = client.get(f"/waitlist?site_id={clinic.site.id}").get_data(as_text=True)
    assert ">open<" in after


def test_recall_page_links_to_booking_with_the_last_chair_and_time(
    client, auth, clinic, make_visit, frozen
):
    earlier = make_visit(
        clinic.clerk, clinic.patient, chicago(MONDAY, 9, 30), chair_id=clinic.chairs[2].id
    )
    waitlist.set_plan(clinic.clerk, clinic.patient.id, 28, MONDAY + timedelta(days=5), NOW)
    earlier.status = "discharged"
    db.session.commit()
    frozen.move_to(chicago(MONDAY, 18))
    auth.login(clinic.clerk)
    html = client.get(f"/recalls?site_id={clinic.site.id}").get_data(as_text=True)
    assert f"patient_id={clinic.patient.id}" in html
    assert f"chair_id={clinic.chairs[2].id}" in html and "time=09:30" in html


def test_a_cancelled_visit_shows_the_waitlist_matches_at_once(client, auth, clinic, make_visit):
    from clinic.services.events import record_event

    other = clinic.new_patient()
    visit = make_visit(clinic.clerk, other, chicago(TUESDAY, 10), chair_id=clinic.chairs[0].id)
    waitlist.add_entry(
        clinic.clerk, clinic.patient.id, clinic.site.id, MONDAY, TUESDAY, "any", "", utcnow()
    )
    record_event(clinic.clerk, visit.id, "cancel", utcnow(), reason="Patient called.")
    auth.login(clinic.clerk)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'id="freed-slot"' in html and "1 on the waitlist can be booked there" in html
    assert f"chair_id={clinic.chairs[0].id}" in html and "time=10:00" in html


def test_freed_slot_of_a_no_show_starts_after_now_within_its_hold(clinic, make_visit):
    visit = make_visit(
        clinic.clerk, clinic.patient, chicago(MONDAY, 8), chair_id=clinic.chairs[0].id
    )
    visit.status = "no_show"
    assert waitlist.freed_slot(visit, chicago(MONDAY, 8, 5)) == chicago(MONDAY, 8, 45)
    assert waitlist.freed_slot(visit, chicago(MONDAY, 12)) is None  # its slot is over
    visit.status = "booked"
    assert waitlist.freed_slot(visit, chicago(MONDAY, 7)) is None


def test_the_navigation_leads_the_desk_to_the_waitlist_and_recalls(client, auth, clinic):
    auth.login(clinic.clerk)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/waitlist">Waitlist</a>' in html and 'href="/recalls">Recalls</a>' in html
    auth.logout()
    auth.login(clinic.admin)
    html = client.get("/admin/").get_data(as_text=True)
    assert 'href="/waitlist"' not in html


def test_the_patient_page_sets_a_plan_and_the_recall_list_follows_it(client, auth, clinic, frozen):
    auth.login(clinic.clerk)
    page = client.get(f"/patients/{clinic.patient.id}").get_data(as_text=True)
    assert "No plan: the patient is not on the recall list." in page
    form = {"csrf_token": csrf_token(page), "template": "none", "next_due_on": str(TUESDAY)}
    bad = client.post(f"/patients/{clinic.patient.id}/plan", data=form | {"every_days": "0"})
    assert bad.status_code == 200 and "Must be between 1 and" in bad.get_data(as_text=True)
    spravato = form | {"template": "spravato", "every_days": "10"}
    refused = client.post(f"/patients/{clinic.patient.id}/plan", data=spravato)
    assert "every 7 or 14 days" in refused.get_data(as_text=True)
    assert waitlist.plan_of(clinic.patient) is None  # nothing saved by a refusal
    saved = client.post(f"/patients/{clinic.patient.id}/plan", data=spravato | {"every_days": "14"})
    assert saved.status_code == 302
    plan = waitlist.plan_of(clinic.patient)
    assert (plan.template, plan.every_days, plan.next_due_on) == ("spravato", 14, TUESDAY)
    shown = client.get(f"/patients/{clinic.patient.id}").get_data(as_text=True)
    assert "Spravato phases" in shown and "Every 14 days" in shown
    recalls = client.get(f"/recalls?site_id={clinic.site.id}").get_data(as_text=True)
    assert f"patient_id={clinic.patient.id}" in recalls  # due Tuesday, nothing booked
    forged = client.post(f"/patients/{clinic.patient.id}/plan", data=spravato | {"csrf_token": ""})
    assert forged.status_code == 400


def test_a_nurse_sees_the_plan_but_cannot_set_it(client, auth, clinic):
    waitlist.set_plan(clinic.clerk, clinic.patient.id, 28, MONDAY + timedelta(days=5), NOW)
    auth.login(clinic.nurse)
    page = client.get(f"/patients/{clinic.patient.id}").get_data(as_text=True)
    assert "Every 28 days" in page and 'id="plan-form"' not in page
    assert client.get(f"/patients/{clinic.patient.id}/plan").status_code == 403
