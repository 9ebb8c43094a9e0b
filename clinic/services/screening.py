"""Screening before the infusion (PHQ-9, GAD-7, C-SSRS screener), its review and outcomes.

The answers are kept on the measure only: no audit row, notification or message holds them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from clinic.database import lock_site_for_writing
from clinic.domain import instruments
from clinic.domain.booking import Violation
from clinic.domain.instruments import (
    INSTRUMENTS,
    PHQ9,
    SUICIDE_RISK,
    AnswersError,
    ReviewDecision,
)
from clinic.domain.visits import ACTIVE, Status, event_time_error
from clinic.extensions import db
from clinic.models import KioskLink, Measure, Patient, ScreeningReview, Site, User, Visit
from clinic.services import access, audit, notifications, tokens
from clinic.services.errors import Conflict, Invalid

MAX_NOTE = 2000
OPEN = frozenset(status.value for status in ACTIVE)
# The gate is at the start: once the infusion has begun, a missing measure is no longer "due".
BEFORE_START = frozenset({Status.BOOKED.value, Status.CHECKED_IN.value})
OUTCOME_INSTRUMENTS = ("phq9", "gad7")
# The induction: six infusions (DESIGN.md); a patient with fewer scored visits is still in it.
INDUCTION_INFUSIONS = 6


def record_measure(
    actor: User | None,
    visit_id: int,
    instrument: Any,
    answers: Any,
    now: datetime,
    at: datetime | None = None,
    *,
    kiosk_visit_id: int | None = None,
) -> Measure:
    """Score and record one instrument on a visit; a risk flag alerts the practitioners.

    `actor` is a nurse or practitioner, or None with `kiosk_visit_id` (the patient on the
    visit's kiosk link, already checked by the caller).
    """
    if actor is not None:
        visit = access.get_visit(actor, visit_id)
        access.require(actor, "clinical")
    elif kiosk_visit_id != visit_id:
        raise Invalid("This link is for another visit.")
    else:
        found = db.session.get(Visit, visit_id)
        assert found is not None
        visit = found
    at = now if at is None else at
    definition = INSTRUMENTS.get(instrument) if isinstance(instrument, str) else None
    if definition is None:
        names = ", ".join(INSTRUMENTS)
        raise Invalid("Unknown instrument.", {"instrument": [f"One of {names}."]})
    try:
        scored = instruments.score(definition, answers)
    except AnswersError as error:
        raise Invalid(str(error), {"answers": [str(error)]}) from None
    if error_text := event_time_error(at, now, None):
        raise Invalid(error_text, {"at": [error_text]})
    lock_site_for_writing(visit.site_id)
    if visit.status not in OPEN:
        state = visit.status.replace("_", " ")
        raise Conflict(f"Measures are recorded only for a visit to come; this one is {state}.")
    measure = Measure(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        instrument=definition.name,
        answers=list(answers),
        score=scored.score,
        band=scored.band,
        flags=list(scored.flags),
        at=at,
        recorded_by_id=actor.id if actor is not None else None,
        via_kiosk=actor is None,
        created_at=now,
    )
    db.session.add(measure)
    visit.updated_at = now
    # Audited without the answers: the instrument, total, band and flags only.
    audit.record(
        actor if actor is not None else "kiosk-link",
        "measure.create",
        now,
        patient_id=visit.patient_id,
        object_type="measure",
        object_id=measure,
        detail={
            "visit_id": visit.id,
            "instrument": definition.name,
            "score": scored.score,
            "flags": list(scored.flags),
        },
    )
    db.session.flush()
    if SUICIDE_RISK in scored.flags:
        # Once per visit (the notifications' unique key), in-app and e-mailed; commits.
        notifications.fire_screen_positive(visit, now)
    else:
        db.session.commit()
    return measure


def record_review(
    actor: User, visit_id: int, decision: Any, note: Any, now: datetime
) -> ScreeningReview:
    """Record a practitioner's review of the visit's screen: proceed or defer, with a note."""
    visit = access.get_visit(actor, visit_id)
    access.require(actor, "override_predose")
    errors: dict[str, list[str]] = {}
    if decision not in ReviewDecision.values():
        errors["decision"] = ["proceed or defer."]
    if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
        errors["note"] = [f"A note of 1 to {MAX_NOTE} characters."]
    if errors:
        raise Invalid("The review needs a decision and a note.", errors)
    assert isinstance(note, str)
    lock_site_for_writing(visit.site_id)
    review = ScreeningReview(
        visit_id=visit.id, practitioner_id=actor.id, decision=decision, note=note.strip(), at=now
    )
    db.session.add(review)
    visit.updated_at = now
    audit.record(
        actor,
        "screening.review",
        now,
        patient_id=visit.patient_id,
        object_type="screening_review",
        object_id=review,
        detail={"visit_id": visit.id, "decision": decision},
    )
    db.session.commit()
    return review


def day_measures(visit: Visit, at: datetime) -> list[Measure]:
    """The visit's measures recorded on the site-local day of `at`, oldest first."""
    zone = ZoneInfo(visit.site.timezone)
    day = at.astimezone(zone).date()
    rows = db.session.scalars(
        select(Measure).where(Measure.visit_id == visit.id).order_by(Measure.at, Measure.id)
    )
    return [m for m in rows if m.at.astimezone(zone).date() == day]


def day_screen(visit: Visit, at: datetime) -> instruments.DayScreen:
    """What the day's measures and reviews say about a start at `at`."""
    measures = [(m.at, m.instrument, m.flags or []) for m in day_measures(visit, at)]
    reviews = db.session.execute(
        select(ScreeningReview.at, ScreeningReview.decision)
        .where(ScreeningReview.visit_id == visit.id)
        .order_by(ScreeningReview.at, ScreeningReview.id)
    ).all()
    return instruments.day_screen_of(measures, [(r.at, r.decision) for r in reviews])


def screening_violations(visit: Visit, at: datetime) -> list[Violation]:
    """Return the screening rules a start at `at` breaks (no override lifts them)."""
    required = list(visit.site.screening_before_start or [])
    return [
        Violation(rule, message)
        for rule, message in instruments.gate(required, day_screen(visit, at))
    ]


def positive_today(visit: Visit, at: datetime) -> bool:
    """Tell whether the visit's measures that day flag a suicide risk."""
    return day_screen(visit, at).risky


def create_kiosk_link(actor: User, visit_id: int, now: datetime) -> tuple[KioskLink, str]:
    """Create a one-visit kiosk link valid until the visit's observation end; return the token.

    Only its digest is stored: the token is shown once, in the link.
    """
    visit = access.get_visit(actor, visit_id)
    access.require(actor, "clinical")
    if visit.status not in OPEN or visit.observation_end <= now:
        raise Conflict("A kiosk link is made only for a visit to come or under way.")
    token = secrets.token_urlsafe(32)
    link = KioskLink(
        visit_id=visit.id,
        token_digest=tokens.digest(token),
        expires_at=visit.observation_end,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(link)
    audit.record(
        actor,
        "kiosk_link.create",
        now,
        patient_id=visit.patient_id,
        object_type="kiosk_link",
        object_id=link,
        detail={"visit_id": visit.id},
    )
    db.session.commit()
    return link, token


def kiosk_visit(token: str, now: datetime) -> Visit | None:
    """Return the visit of a live kiosk link's token, or None (unknown, expired, visit over)."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(
        select(KioskLink).where(KioskLink.token_digest == tokens.digest(token))
    )
    if link is None or now >= link.expires_at or link.visit.status not in OPEN:
        return None
    return link.visit


@dataclass(frozen=True)
class BoardScreen:
    """What a board card shows of screening: the day's state and the PHQ-9 course."""

    state: str  # instruments.screen_state: "review", "deferred", "due" or ""
    phq9: instruments.Outcome


NO_SCREEN = BoardScreen("", instruments.outcome(()))


def board_screens(
    site: Site, visits: Sequence[tuple[int, int, str]], now: datetime
) -> dict[int, BoardScreen]:
    """Return visit id -> screening facts for many (id, patient id, status) visits of a site,
    in two queries whatever their number: the measures, then the reviews."""
    if not visits:
        return {}
    visit_ids = sorted({v[0] for v in visits})
    patient_ids = sorted({v[1] for v in visits})
    measures = db.session.execute(
        select(Measure.visit_id, Measure.patient_id, Measure.instrument, Measure.at)
        .add_columns(Measure.score, Measure.flags)
        .where(
            or_(
                Measure.visit_id.in_(visit_ids),
                and_(Measure.patient_id.in_(patient_ids), Measure.instrument == PHQ9.name),
            )
        )
        .order_by(Measure.at, Measure.id)
    ).all()
    reviews = db.session.execute(
        select(ScreeningReview.visit_id, ScreeningReview.at, ScreeningReview.decision)
        .where(ScreeningReview.visit_id.in_(visit_ids))
        .order_by(ScreeningReview.at, ScreeningReview.id)
    ).all()
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    required = list(site.screening_before_start or [])
    found = {}
    for visit_id, patient_id, status in visits:
        day = instruments.day_screen_of(
            [
                (m.at, m.instrument, m.flags or [])
                for m in measures
                if m.visit_id == visit_id and m.at.astimezone(zone).date() == today
            ],
            [(r.at, r.decision) for r in reviews if r.visit_id == visit_id],
        )
        phq9 = [
            (m.at, m.score)
            for m in measures
            if m.patient_id == patient_id and m.instrument == PHQ9.name
        ]
        due = required if status in BEFORE_START else []
        state = instruments.screen_state(due, day) if status in OPEN else ""
        found[visit_id] = BoardScreen(state, instruments.outcome(phq9))
    return found


def patient_outcomes(actor: User, patient_id: int) -> dict[str, instruments.Outcome]:
    """Return the PHQ-9 and GAD-7 outcomes of a patient's course."""
    patient = access.get_patient(actor, patient_id)
    access.require(actor, "outcomes")
    rows = db.session.execute(
        select(Measure.instrument, Measure.at, Measure.score).where(
            Measure.patient_id == patient.id, Measure.instrument.in_(OUTCOME_INSTRUMENTS)
        )
    ).all()
    return {
        name: instruments.outcome([(at, score) for kind, at, score in rows if kind == name])
        for name in OUTCOME_INSTRUMENTS
    }


@dataclass(frozen=True)
class CourseOutcome:
    """One patient's PHQ-9 course on the site's outcomes page."""

    patient: Patient
    phq9: instruments.Outcome
    infusions: int  # visits whose treatment has started

    @property
    def in_induction(self) -> bool:
        """Tell whether the patient has not yet had the induction's infusions."""
        return self.infusions < INDUCTION_INFUSIONS


def site_outcomes(actor: User, site_id: int) -> tuple[Site, list[CourseOutcome]]:
    """Return a site and the PHQ-9 course of each of its patients with a PHQ-9, by name."""
    site = access.get_site(actor, site_id)
    access.require(actor, "outcomes")
    rows = db.session.execute(
        select(Measure.patient_id, Measure.at, Measure.score)
        .join(Patient, Patient.id == Measure.patient_id)
        .where(Patient.site_id == site.id, Measure.instrument == PHQ9.name)
    ).all()
    series: dict[int, list[tuple[datetime, int]]] = {}
    for patient_id, at, total in rows:
        series.setdefault(patient_id, []).append((at, total))
    ids = sorted(series)
    patients = db.session.scalars(
        select(Patient)
        .where(Patient.id.in_(ids))
        .order_by(Patient.family_name, Patient.given_name, Patient.id)
    ).all()
    started = dict(
        db.session.execute(
            select(Visit.patient_id, func.count(Visit.id))
            .where(Visit.patient_id.in_(ids), Visit.infusion_started_at.is_not(None))
            .group_by(Visit.patient_id)
        )
        .tuples()
        .all()
    )
    return site, [
        CourseOutcome(p, instruments.outcome(series[p.id]), started.get(p.id, 0)) for p in patients
    ]
