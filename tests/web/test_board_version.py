"""The recovery board's version: every write the board shows bumps its site's version in the
same transaction, so the next poll is a 200 with the new content; a poll of an unchanged
board reads the version and nothing else (no board is built)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from clinic.domain.instruments import SUICIDE_RISK
from clinic.extensions import db
from clinic.models import (
    Chair,
    Dose,
    Measure,
    Notification,
    ScreeningReview,
    Site,
    TreatmentType,
    Visit,
    VisitEvent,
)
from clinic.services import board_version, notifications
from tests.conftest import NOW, statements_of
from tests.services.visit_rows import put_reading, put_visit
from tests.web import test_nursing
from tests.web.test_nursing import poll

# The nursing pages' fixtures: a ward of six chairs, and its nurse signed in.
ward = test_nursing.ward
as_nurse = test_nursing.as_nurse

EARLIER = NOW - timedelta(hours=3)


def version_of(site_id: int) -> int:
    return db.session.scalar(select(Site.board_version).where(Site.id == site_id))


def in_care(ward, status: str = "recovering") -> Visit:
    """Seat a patient (Avery Quinn, "AQ") in the ward's first chair."""
    return ward.seat(status)


def rename_chair(ward, visit: Visit) -> str:
    db.session.get(Chair, visit.chair_id).name = "Garden chair"
    return "Garden chair"


def rename_patient(ward, visit: Visit) -> str:
    visit.patient.given_name = "Blake"
    return ">BQ<"


def extend_visit(ward, visit: Visit) -> str:
    visit.extension_minutes = 15
    visit.discharge_due_at += timedelta(minutes=15)
    return "extended +15 min"


def add_reading(ward, visit: Visit) -> str:
    put_reading(visit, NOW - timedelta(minutes=1), systolic=151, commit=False)
    return ">151/80<"


def rename_treatment(ward, visit: Visit) -> str:
    db.session.get(TreatmentType, visit.treatment_type_id).name = "Ketamine, slow"
    return "Ketamine, slow"


def change_site_setting(ward, visit: Visit) -> str:
    ward.site.overdue_after_minutes = 25
    due = visit.discharge_due_at + timedelta(minutes=25)
    return f'data-overdue="{due.isoformat()}"'


def drop_the_screen(ward, visit: Visit) -> str:
    ward.site.screening_before_start = []
    return '!data-screen="due"'  # shown before the write, gone after


def screen_positive(ward, visit: Visit) -> str:
    db.session.add(
        Measure(
            visit_id=visit.id,
            patient_id=visit.patient_id,
            instrument="cssrs_screen",
            answers=[True] * 6,
            score=6,
            band="high",
            flags=[SUICIDE_RISK],
            at=NOW - timedelta(minutes=1),
        )
    )
    return 'data-screen="review"'


def defer_after_review(ward, visit: Visit) -> str:
    screen_positive(ward, visit)
    db.session.flush()
    db.session.add(
        ScreeningReview(
            visit_id=visit.id, practitioner_id=ward.practitioner.id, decision="defer", at=NOW
        )
    )
    return 'data-screen="deferred"'


def book_next_in_the_chair(ward, visit: Visit) -> str:
    # The chair's next patient, due while this one still holds it: the card warns.
    chair = db.session.get(Chair, visit.chair_id)
    put_visit(ward.site, chair, ward.patient, "booked", visit.observation_end, commit=False)
    return "next patient at"


# What the board shows, and a write that changes it (committed by the test).
SHOWN: dict[str, tuple[str, Callable]] = {
    "chair name": ("recovering", rename_chair),
    "patient name": ("recovering", rename_patient),
    "visit (extension)": ("recovering", extend_visit),
    "reading": ("recovering", add_reading),
    "treatment type": ("recovering", rename_treatment),
    "site setting (overdue after)": ("recovering", change_site_setting),
    "site setting (screening before start)": ("checked_in", drop_the_screen),
    "screening measure": ("checked_in", screen_positive),
    "screening review": ("checked_in", defer_after_review),
    "next booking of the chair": ("recovering", book_next_in_the_chair),
}


@pytest.mark.parametrize("name", list(SHOWN))
def test_every_input_the_board_shows_moves_the_version_and_the_next_poll(as_nurse, ward, name):
    status, write = SHOWN[name]
    visit = ward.seat(status, ended_late=40) if "booking" in name else ward.seat(status)
    first = poll(as_nurse, ward.site.id)
    assert first.status_code == 200
    assert poll(as_nurse, ward.site.id, etag=first.headers["ETag"]).status_code == 304
    before = version_of(ward.site.id)
    expected = write(ward, visit)
    db.session.flush()
    assert board_version.pending_sites(db.session())  # noted in the writing transaction
    gone = expected.startswith("!")
    expected = expected.removeprefix("!")
    assert (expected in first.get_data(as_text=True)) is gone
    db.session.commit()
    assert version_of(ward.site.id) == before + 1  # once, in the same transaction
    changed = poll(as_nurse, ward.site.id, etag=first.headers["ETag"])
    assert changed.status_code == 200
    assert (expected in changed.get_data(as_text=True)) is not gone


def notification(visit: Visit) -> dict:
    return {
        "kind": "discharge_due",
        "visit_id": visit.id,
        "site_id": visit.site_id,
        "due_at": visit.discharge_due_at,
        "created_at": NOW,
    }


def test_alerts_raised_and_resolved_in_bulk_reach_the_wall(as_nurse, ward):
    visit = in_care(ward)
    first = poll(as_nurse, ward.site.id, wall=True)
    assert "discharge_due" not in first.get_data(as_text=True)
    db.session.execute(sa.insert(Notification.__table__), [notification(visit)])  # as fired
    db.session.commit()
    raised = poll(as_nurse, ward.site.id, wall=True, etag=first.headers["ETag"])
    assert raised.status_code == 200 and "discharge_due" in raised.get_data(as_text=True)
    db.session.execute(sa.update(Notification).values(resolved_at=NOW, resolved_reason="gone"))
    db.session.commit()
    resolved = poll(as_nurse, ward.site.id, wall=True, etag=raised.headers["ETag"])
    assert resolved.status_code == 200 and "discharge_due" not in resolved.get_data(as_text=True)


@pytest.mark.parametrize("resolve", ["stale", "reminders"])
def test_the_alarm_services_bulk_resolutions_bump_only_their_sites(ward, make_site, resolve):
    other = make_site(name="Dallas")
    visit = in_care(ward)
    if resolve == "stale":  # its instant moved: the scheduler's safety net resolves it
        row = notification(visit) | {"due_at": visit.discharge_due_at + timedelta(minutes=5)}
    else:
        row = notification(visit) | {"kind": "rems_form_due"}
    db.session.add(Notification(**row))
    db.session.commit()
    mine, theirs = version_of(ward.site.id), version_of(other.id)
    if resolve == "stale":
        assert notifications.resolve_stale(NOW) == 1
    else:
        assert notifications.resolve_reminders(visit.id, NOW) == 1
        db.session.commit()
    assert (version_of(ward.site.id), version_of(other.id)) == (mine + 1, theirs)


def test_an_acknowledged_alert_leaves_the_wall(as_nurse, ward):
    visit = in_care(ward)
    alert = Notification(**notification(visit))
    db.session.add(alert)
    db.session.commit()
    first = poll(as_nurse, ward.site.id, wall=True)
    assert "discharge_due" in first.get_data(as_text=True)
    alert.acknowledged_at = NOW
    db.session.commit()
    after = poll(as_nurse, ward.site.id, wall=True, etag=first.headers["ETag"])
    assert after.status_code == 200 and "discharge_due" not in after.get_data(as_text=True)


@pytest.mark.parametrize("row", ["event", "dose"])
def test_rows_of_a_visit_the_board_does_not_print_still_move_its_version(ward, row):
    visit = in_care(ward)
    before = version_of(ward.site.id)
    if row == "event":
        db.session.add(
            VisitEvent(visit_id=visit.id, type="extend_observation", at=NOW, recorded_at=NOW)
        )
    else:
        db.session.add(
            Dose(visit_id=visit.id, drug="Ketamine", dose_mg=Decimal(35), lot="L1", at=NOW)
        )
    db.session.commit()
    assert version_of(ward.site.id) == before + 1


def test_a_write_moves_only_its_own_sites_version(ward, make_site, make_chair):
    other = make_site(name="Dallas")
    visit = in_care(ward)
    theirs = version_of(other.id)
    put_reading(visit, NOW)
    make_chair(ward.site, "Spare chair")
    assert version_of(other.id) == theirs


def test_a_rolled_back_write_moves_nothing(ward):
    visit = in_care(ward)
    before = version_of(ward.site.id)
    put_reading(visit, NOW, commit=False)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert version_of(ward.site.id) == before
    assert not board_version.pending_sites(db.session())


def test_a_read_only_transaction_moves_nothing(as_nurse, ward):
    in_care(ward)
    before = version_of(ward.site.id)
    for _ in range(3):
        poll(as_nurse, ward.site.id)
    assert version_of(ward.site.id) == before


# ---------------------------------------------------------------- what a poll costs


def test_an_unchanged_feed_poll_reads_the_session_and_the_version_only(as_nurse, ward):
    for _ in range(30):
        visit = in_care(ward)
        put_reading(visit, NOW - timedelta(minutes=5))
    site_id = ward.site.id
    first = poll(as_nurse, site_id)
    assert first.status_code == 200
    response, statements = statements_of(
        lambda: poll(as_nurse, site_id, etag=first.headers["ETag"])
    )
    assert response.status_code == 304
    assert not [s for s in statements if "visits" in s or "observations" in s], statements
    assert any("board_version" in s for s in statements)
    # The sign-in session (with its user and sites, one statement) and the version.
    assert len(statements) <= 2, statements
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]


def test_a_kept_board_is_never_served_to_a_viewer_it_was_not_built_for(client, auth, ward):
    visit = ward.seat("checked_in")
    screen_positive(ward, visit)  # a practitioner, and only one, may review it
    db.session.commit()
    shown = {}
    for user in (ward.practitioner, ward.nurse, ward.clerk, ward.practitioner):
        auth.login(user)
        html = poll(client, ward.site.id).get_data(as_text=True)
        shown[user.role] = ("data-nursing-action" in html, 'data-nursing-action="review"' in html)
        auth.logout()
    assert shown == {
        "practitioner": (True, True),
        "nurse": (True, False),
        "front_desk": (False, False),
    }
    auth.login(ward.nurse)
    wall = poll(client, ward.site.id, wall=True).get_data(as_text=True)
    assert "data-wall-alerts" in wall and "data-nursing-action" not in wall
