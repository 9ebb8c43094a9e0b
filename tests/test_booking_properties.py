"""Whatever the front desk books, moves or cancels, the schedule stays safe.

A Hypothesis state machine drives the real services (book, reschedule, cancel) on a real
database with random requests on a 15-minute grid over two days, some of them impossible.
After every step the whole schedule is checked: no chair is held twice, no nurse watches
more patients than the ratio allows, no patient is in two places, and every refusal was a
Conflict that said which rules it broke.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from clinic import create_app
from clinic.domain.booking import Plan, RecoveryMode, Rule, holds_for
from clinic.extensions import db
from clinic.models import ACTIVE_STATUSES, Chair, Clearance, Patient, Shift, Site, User, Visit
from clinic.services import booking
from clinic.services.errors import Conflict
from clinic.services.events import record_event
from clinic.services.treatment_types import add_default_type
from config import TestConfig
from tests.conftest import audit_triggers_lifted

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=CHICAGO).astimezone(UTC)
RATIO = 2
CLEARED_PATIENTS = 12
MIN_HOURS_BETWEEN = 24
KNOWN_RULES = {rule.value for rule in Rule}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return the UTC instant of a wall-clock time in Austin, `day` days after Monday."""
    local = datetime.combine(MONDAY + timedelta(days=day), datetime.min.time(), tzinfo=CHICAGO)
    return local.replace(hour=hour, minute=minute).astimezone(UTC)


# Two nurses whose shifts only partly overlap, so capacity is 0, 2 or 4 depending on the hour.
NURSE_SHIFTS = [
    ("Nurse A", at(0, 7), at(0, 19)),
    ("Nurse A", at(1, 7), at(1, 13)),
    ("Nurse B", at(0, 12), at(0, 18)),
    ("Nurse B", at(1, 10), at(1, 19)),
]

# Starts on a 15-minute grid on Monday or Tuesday: mostly between 08:00 and 15:45, where a
# visit can fit, sometimes anywhere from 06:00 to 19:45 (before opening, too late to finish
# before closing, or in the past: NOW is 07:00 on Monday).
starts = st.builds(
    lambda day, step: at(day, 6) + timedelta(minutes=15 * step),
    st.integers(0, 1),
    st.integers(8, 39) | st.integers(8, 39) | st.integers(0, 55),
)
infusions = st.sampled_from([45, 60])
observations = st.sampled_from([60, 120])

_app = None


def shared_app():
    """Build the app once per test session, on its own SQLite file."""
    global _app
    if _app is None:
        folder = Path(tempfile.mkdtemp(prefix="clinic-properties-"))
        _app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'p.db'}")
        with _app.app_context():
            db.create_all()
    return _app


class BookingMachine(RuleBasedStateMachine):
    """The front desk at work: book, reschedule and cancel, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.context = shared_app().app_context()
        self.context.push()
        with audit_triggers_lifted():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
        db.session.commit()
        self._build_clinic()
        self.refusals: list[Conflict] = []
        # Ids of the visits still booked. Rules pick from it by index instead of through a
        # precondition, so no example is thrown away for having nothing to move yet.
        self.booked: list[int] = []

    def teardown(self) -> None:
        """Release the app context of this example."""
        db.session.remove()
        self.context.pop()

    def _build_clinic(self) -> None:
        hours = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        site = Site(
            name="Austin",
            timezone="America/Chicago",
            opening_hours=hours | {"sat": None, "sun": None},
            nurse_ratio=RATIO,
            require_practitioner_on_site=True,
            infusion_min=45,
            infusion_max=60,
            infusion_default=45,
            observation_min=60,
            observation_default=120,
            overdue_after_minutes=15,
            turnover_minutes=15,
            min_hours_between_infusions=MIN_HOURS_BETWEEN,
            recovery_mode="chair",
        )
        db.session.add(site)
        db.session.flush()
        add_default_type(site)
        self.site_id = site.id
        chairs = [Chair(site_id=site.id, name=f"Chair {n}", kind="chair") for n in (1, 2, 3)]
        clerk = User(email="desk@p.test", name="Desk", role="front_desk", sites=[site])
        doc = User(email="doc@p.test", name="Doc", role="practitioner", sites=[site])
        nurses = {
            name: User(email=f"{name[-1].lower()}@p.test", name=name, role="nurse", sites=[site])
            for name in ("Nurse A", "Nurse B")
        }
        db.session.add_all([*chairs, clerk, doc, *nurses.values()])
        db.session.flush()
        for name, starts_at, ends_at in NURSE_SHIFTS:
            db.session.add(
                Shift(
                    site_id=site.id,
                    user_id=nurses[name].id,
                    role="nurse",
                    starts_at=starts_at,
                    ends_at=ends_at,
                )
            )
        db.session.add(
            Shift(
                site_id=site.id,
                user_id=doc.id,
                role="practitioner",
                starts_at=at(0, 7),
                ends_at=at(1, 19),
            )
        )
        patients = []
        for n in range(CLEARED_PATIENTS + 1):
            patient = Patient(
                site_id=site.id,
                mrn=f"P{n}",
                given_name="Pat",
                family_name=f"Prop{n}",
                birth_date=date(1980, 1, 1),
            )
            db.session.add(patient)
            db.session.flush()
            db.session.add(
                Clearance(
                    patient_id=patient.id,
                    evaluated_on=MONDAY - timedelta(days=7),
                    valid_until=MONDAY + timedelta(days=30),
                    # The last patient is not cleared: every booking for them is refused.
                    cleared=n < CLEARED_PATIENTS,
                    consent_signed=True,
                    contraindications=[],
                    notes="",
                    practitioner_id=doc.id,
                )
            )
            patients.append(patient.id)
        db.session.commit()
        self.clerk_id = clerk.id
        self.chair_ids = [c.id for c in chairs]
        self.patient_ids = patients

    # ------------------------------------------------------------------ helpers

    @property
    def clerk(self) -> User:
        return db.session.get(User, self.clerk_id)

    def active_visits(self) -> list[Visit]:
        stmt = select(Visit).where(Visit.status.in_(ACTIVE_STATUSES))
        return list(db.session.scalars(stmt.order_by(Visit.id)))

    def refused(self, conflict: Conflict, before: list[tuple]) -> None:
        """Check a refusal: it names broken rules, and it changed nothing."""
        db.session.rollback()
        assert conflict.reasons, f"refused without reasons: {conflict.message}"
        assert {reason.rule.value for reason in conflict.reasons} <= KNOWN_RULES
        assert all(reason.message for reason in conflict.reasons)
        assert self.snapshot() == before, "a refused request changed the schedule"
        self.refusals.append(conflict)
        event("refused: " + ", ".join(sorted(r.rule.value for r in conflict.reasons)))

    def snapshot(self) -> list[tuple]:
        columns = (Visit.id, Visit.status, Visit.chair_id, Visit.infusion_start, Visit.updated_at)
        return [tuple(row) for row in db.session.execute(select(*columns).order_by(Visit.id))]

    # ------------------------------------------------------------------ rules

    @rule(
        patient=st.integers(0, CLEARED_PATIENTS),
        start=starts,
        chair=st.none() | st.integers(0, 2),
        infusion=infusions,
        observation=observations,
    )
    def book(self, patient, start, chair, infusion, observation):
        """Book a visit, in a given chair or any free one."""
        request = booking.Request(
            patient_id=self.patient_ids[patient],
            infusion_start=start,
            chair_id=None if chair is None else self.chair_ids[chair],
            infusion_minutes=infusion,
            observation_minutes=observation,
        )
        before = self.snapshot()
        try:
            visit, created = booking.book(self.clerk, request, NOW)
        except Conflict as conflict:
            self.refused(conflict, before)
            return
        event("booked")
        assert created
        assert visit.status == "booked"
        assert visit.infusion_start == start
        if chair is None:
            assert visit.chair_id in self.chair_ids
        else:
            assert visit.chair_id == self.chair_ids[chair]
        self.booked.append(visit.id)

    @rule(
        pick=st.integers(0, 50),
        start=starts,
        chair=st.none() | st.integers(0, 2),
        infusion=infusions,
    )
    def reschedule(self, pick, start, chair, infusion):
        """Move a booked visit to another time, and maybe another chair."""
        if not self.booked:
            return
        visit_id = self.booked[pick % len(self.booked)]
        changes = {"infusion_start": start, "infusion_minutes": infusion}
        if chair is not None:
            changes["chair_id"] = self.chair_ids[chair]
        before = self.snapshot()
        try:
            visit = booking.reschedule(self.clerk, visit_id, changes, NOW)
        except Conflict as conflict:
            self.refused(conflict, before)
            return
        event("rescheduled")
        assert visit.infusion_start == start
        assert visit.infusion_minutes == infusion

    @rule(pick=st.integers(0, 50))
    def cancel(self, pick):
        """Cancel a booked visit; its chair is free again."""
        if not self.booked:
            return
        visit_id = self.booked.pop(pick % len(self.booked))
        visit = record_event(self.clerk, visit_id, "cancel", NOW, reason="Patient called in sick")
        event("cancelled")
        assert visit.status == "cancelled"
        assert visit_id not in [v.id for v in self.active_visits()]

    # ------------------------------------------------------------------ invariants

    @invariant()
    def schedule_is_safe(self):
        """Check the whole schedule after every step (one load, four checks)."""
        visits = self.active_visits()
        check_chairs(visits)
        check_nurse_capacity(visits)
        check_patients(visits)
        check_clearance_and_hours(visits, uncleared=self.patient_ids[CLEARED_PATIENTS])


def check_chairs(visits: list[Visit]) -> None:
    """Active visits never overlap in a chair, turnover included."""
    by_chair: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits:
        plan = Plan(
            visit.patient_id,
            visit.chair_id,
            visit.infusion_start,
            visit.infusion_minutes,
            visit.observation_minutes,
        )
        hold = holds_for(plan, RecoveryMode.CHAIR, 15).chair
        assert (visit.infusion_start, visit.chair_released_at) == (hold.start, hold.end)
        by_chair[visit.chair_id].append(visit)
    for held in by_chair.values():
        held.sort(key=lambda v: v.infusion_start)
        for first, second in pairwise(held):
            assert first.chair_released_at <= second.infusion_start, (first.id, second.id)


def check_nurse_capacity(visits: list[Visit]) -> None:
    """At every instant, patients in infusion or recovery <= nurses on shift x ratio."""
    spans = [(v.infusion_start, v.observation_end) for v in visits]
    shifts = [(s, e) for _, s, e in NURSE_SHIFTS]
    # Counts change only at these instants, so checking them checks every instant.
    instants = {start for start, _ in spans} | {t for shift in shifts for t in shift}
    for instant in instants:
        patients = sum(1 for s, e in spans if s <= instant < e)
        nurses = sum(1 for s, e in shifts if s <= instant < e)
        assert patients <= nurses * RATIO, (instant, patients, nurses)


def check_patients(visits: list[Visit]) -> None:
    """A patient's active visits neither overlap nor start too close together."""
    by_patient: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits:
        by_patient[visit.patient_id].append(visit)
    gap = timedelta(hours=MIN_HOURS_BETWEEN)
    for own in by_patient.values():
        own.sort(key=lambda v: v.infusion_start)
        for first, second in pairwise(own):
            assert first.observation_end <= second.infusion_start
            assert second.infusion_start - first.infusion_start >= gap


def check_clearance_and_hours(visits: list[Visit], uncleared: int) -> None:
    """Every active visit is for a cleared patient, in the future, inside opening hours."""
    for visit in visits:
        assert visit.patient_id != uncleared
        assert visit.infusion_start >= NOW
        local_start = visit.infusion_start.astimezone(CHICAGO)
        local_end = visit.observation_end.astimezone(CHICAGO)
        assert local_start.date() == local_end.date()
        assert local_start.hour >= 8
        assert (local_end.hour, local_end.minute) <= (18, 0)


BookingMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBookingProperties = BookingMachine.TestCase
