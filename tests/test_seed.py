"""`flask seed-demo`: the demo clinic, created once, under the booking rules."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select

from clinic.domain.booking import ObservationFrom, Plan, RecoveryMode, holds_for
from clinic.domain.treatments import discharge_due_at, predose_violations
from clinic.extensions import db
from clinic.models import (
    Chair,
    Clearance,
    Measure,
    Patient,
    RemsSubmission,
    Shift,
    Site,
    TreatmentType,
    User,
    Visit,
)
from clinic.services.doses import doses_by_visit
from clinic.services.events import record_event
from clinic.services.observations import observations_by_visit, reading_of
from clinic.services.rems import build_form
from tests.conftest import MONDAY, chicago


def outcome_series(patient_id: int, name: str) -> list[int]:
    stmt = (
        select(Measure.score)
        .where(Measure.patient_id == patient_id, Measure.instrument == name)
        .order_by(Measure.at)
    )
    return list(db.session.scalars(stmt))


DEMO_EMAILS = [
    "frontdesk@demo.clinic",
    "nurse@demo.clinic",
    "nurse2@demo.clinic",
    "practitioner@demo.clinic",
    "admin@demo.clinic",
]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+\w+\s+(\S+@demo\.clinic)\s+(\S+)$", output, re.MULTILINE))


def active_visits() -> list[Visit]:
    stmt = select(Visit).where(Visit.status.in_(("booked", "checked_in", "infusing", "recovering")))
    return list(db.session.scalars(stmt))


def test_seed_creates_the_demo_clinic(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output

    site = db.session.scalar(select(Site))
    assert (site.name, site.timezone, site.nurse_ratio, site.recovery_mode) == (
        "Austin",
        "America/Chicago",
        4,
        "chair",
    )
    assert site.opening_hours["sat"] == ["09:00", "14:00"]
    assert site.opening_hours["sun"] is None
    kinds = db.session.execute(select(Chair.kind, func.count()).group_by(Chair.kind)).all()
    assert dict(kinds) == {"chair": 6, "recovery_bay": 2}
    roles = db.session.execute(select(User.role, func.count()).group_by(User.role)).all()
    assert dict(roles) == {"front_desk": 1, "nurse": 2, "practitioner": 1, "admin": 1}
    assert count(Patient) == 22
    clearances = list(db.session.scalars(select(Clearance)))
    valid_today = [c for c in clearances if c.evaluated_on <= MONDAY <= c.valid_until]
    # 18 of the 20 IV patients (one not cleared, one expired), and the 2 REMS patients.
    assert sum(c.cleared and c.consent_signed for c in valid_today) == 20
    assert sum(not c.cleared for c in clearances) == 1
    assert sum(c.valid_until < MONDAY for c in clearances) == 1

    # Frozen at Monday 07:00: the whole week lies ahead, every visit booked by the service.
    visits = list(db.session.scalars(select(Visit)))
    assert len(visits) >= 40
    assert {v.status for v in visits} == {"booked"}
    days = {v.infusion_start.astimezone(site_zone(site)).weekday() for v in visits}
    assert days == {0, 1, 2, 3, 4, 5}
    assert all(v.created_by_id is not None for v in visits)
    # IV visits of the default type, and the REMS patients' Spravato sessions.
    kinds = {
        v.treatment_type_id: db.session.get(TreatmentType, v.treatment_type_id).kind for v in visits
    }
    assert kinds[site.default_treatment_type_id] == "iv_ketamine"
    assert set(kinds.values()) == {"iv_ketamine", "esketamine"}


def test_seed_gives_austin_a_spravato_type_and_a_rems_certification(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    site = db.session.scalar(select(Site))
    types = {t.name: t for t in db.session.scalars(select(TreatmentType))}
    assert set(types) == {"IV ketamine", "Spravato 56/84 mg"}
    assert types["IV ketamine"].id == site.default_treatment_type_id
    spravato = types["Spravato 56/84 mg"]
    assert (spravato.kind, spravato.rems, spravato.observation_from) == (
        "esketamine",
        True,
        "administration_start",
    )
    minutes = (spravato.administration_min, spravato.administration_max)
    assert (*minutes, spravato.administration_default) == (10, 15, 15)
    assert (spravato.observation_min, spravato.observation_default) == (120, 120)
    assert (spravato.predose_systolic_max, spravato.predose_diastolic_max) == (140, 90)
    assert site.rems_certified_on < MONDAY and site.rems_authorized_representative

    # Nurses and the practitioner cover four weeks of opening hours from today.
    shifts = list(db.session.scalars(select(Shift)))
    assert {s.role for s in shifts} == {"nurse", "practitioner"}
    for n in range(28):
        day = MONDAY + timedelta(days=n)
        if day.weekday() == 6:
            continue
        opens, closes = (9, 14) if day.weekday() == 5 else (8, 18)
        on_duty = [
            s.role
            for s in shifts
            if s.starts_at <= chicago(day, opens) and s.ends_at >= chicago(day, closes)
        ]
        assert sorted(on_duty) == ["nurse", "nurse", "practitioner"], day


def test_seed_prints_passwords_that_sign_in(runner, client):
    result = runner.invoke(args=["seed-demo"])
    passwords = printed_passwords(result.output)
    assert sorted(passwords) == sorted(DEMO_EMAILS)
    assert all(len(p) >= 12 for p in passwords.values())
    assert len(set(passwords.values())) == 5

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={
            "email": "nurse@demo.clinic",
            "password": passwords["nurse@demo.clinic"],
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_second_seed_does_nothing(runner):
    runner.invoke(args=["seed-demo"])
    before = (count(Site), count(User), count(Patient), count(Visit), count(Shift))
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "Database already has data; not seeding." in result.output
    assert "@demo.clinic" not in result.output
    assert (count(Site), count(User), count(Patient), count(Visit), count(Shift)) == before


def test_seed_midweek_has_history_and_patients_in_the_chairs(runner):
    # Wednesday 12:30 in Austin: Monday and Tuesday are over, the morning is in progress.
    with time_machine.travel(chicago(MONDAY + timedelta(days=2), 12, 30), tick=False):
        result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    now = chicago(MONDAY + timedelta(days=2), 12, 30)
    visits = list(db.session.scalars(select(Visit)))
    statuses = {v.status for v in visits}
    assert {"discharged", "booked"} <= statuses
    assert statuses & {"checked_in", "infusing", "recovering"}
    iv_type = db.session.scalars(select(Site)).one().default_treatment_type_id

    for visit in visits:
        types = [e.type for e in visit.events]
        assert all(e.at <= now for e in visit.events)
        assert [e.at for e in visit.events] == sorted(e.at for e in visit.events)
        if visit.infusion_start > now:
            assert visit.status in ("booked", "checked_in")
        if visit.status == "no_show":
            assert types == ["no_show"]
        if visit.status == "discharged":
            assert types[-4:] == ["check_in", "start_infusion", "end_infusion", "discharge"]
            assert visit.discharged_at >= visit.discharge_due_at
            # Counted as the visit's type says: IV from the end, Spravato from the first device.
            assert visit.discharge_due_at == discharge_due_at(
                ObservationFrom(visit.treatment_type.observation_from),
                visit.infusion_started_at,
                visit.infusion_ended_at,
                120,
            )
        if visit.status == "recovering":
            assert visit.discharge_due_at > now - timedelta(minutes=20)
        # Every start had a baseline in the 30 minutes before it (the pre-dose rule); an
        # infusion had the clearance's 0.5 mg/kg for the patient's weight at its start.
        readings = [reading_of(o) for o in observations_by_visit([visit.id]).get(visit.id, [])]
        assert all(r.at <= now for r in readings)
        given = doses_by_visit([visit.id]).get(visit.id, [])
        if visit.infusion_started_at is None:
            assert given == []
        else:
            assert predose_violations(readings, visit.infusion_started_at, None) == []
        if visit.infusion_started_at is not None and visit.treatment_type_id == iv_type:
            assert [(d.at, d.route) for d in given] == [(visit.infusion_started_at, "IV")]
            weight = Decimal(str(visit.patient.weight_kg))
            assert given[0].dose_mg == (Decimal("0.5") * weight).quantize(Decimal("0.01"))
        # The plan columns agree with the rules' own holds.
        plan = Plan(
            visit.patient_id,
            visit.chair_id,
            visit.infusion_start,
            visit.infusion_minutes,
            visit.observation_minutes,
            ObservationFrom(visit.treatment_type.observation_from),
        )
        holds = holds_for(plan, RecoveryMode.CHAIR, 15)
        assert visit.chair_released_at == holds.chair.end
        assert visit.infusion_end == plan.infusion.end

    assert_no_chair_held_twice(visits)

    # The REMS sessions that ended have a complete monitoring form; the first one is submitted.
    sessions = [v for v in visits if v.treatment_type.rems and v.status == "discharged"]
    assert len(sessions) == 2  # Mon (Noah) and Wed morning (Laura)
    for session in sessions:
        form = build_form(session)
        assert form.state.complete, form.state.missing
        assert form.state.values["dose_mg"] == 84
        assert session.discharged_at >= session.infusion_started_at + timedelta(minutes=120)
    # Monday's was sent; this morning's is not yet (it would be sent three hours after).
    submitted = db.session.scalars(select(RemsSubmission)).all()
    assert [s.visit_id for s in submitted] == [min(sessions, key=lambda v: v.infusion_start).id]
    assert all(s.submitted_at <= now for s in submitted)
    assert all(p.rems_enrolled_on < MONDAY for p in {v.patient for v in sessions})


def assert_no_chair_held_twice(visits: list[Visit]) -> None:
    """No two visits that held a chair overlap there (cancelled or not, all are real)."""
    by_chair: dict[int, list[Visit]] = {}
    for visit in visits:
        if visit.status != "no_show":
            by_chair.setdefault(visit.chair_id, []).append(visit)
    for held in by_chair.values():
        held.sort(key=lambda v: v.infusion_start)
        for first, second in pairwise(held):
            assert first.chair_released_at <= second.infusion_start, (first.id, second.id)


def test_seeded_scores_fall_like_a_course_that_works(runner):
    # Friday noon: most patients have had two or three screened infusions this week.
    with time_machine.travel(chicago(MONDAY + timedelta(days=4), 12), tick=False):
        assert runner.invoke(args=["seed-demo"]).exit_code == 0
    patients = db.session.scalars(select(Patient)).all()
    falling = 0
    for patient in patients:
        for name in ("phq9", "gad7"):
            course = outcome_series(patient.id, name)
            assert all(b <= a for a, b in pairwise(course)), (name, course)
            assert len(course) < 2 or course[-1] < course[0], (name, course)
            falling += len(course) > 1
    assert falling >= 6
    phq9 = db.session.scalars(select(Measure).where(Measure.instrument == "phq9")).all()
    assert phq9 and all(m.answers[8] == 0 and not m.flags for m in phq9)


def test_seeded_visits_follow_the_state_machine(runner, app):
    # The in-progress visits can go on through the ordinary services.
    at = chicago(MONDAY + timedelta(days=2), 10, 20)
    with time_machine.travel(at, tick=False):
        runner.invoke(args=["seed-demo"])
        infusing = [v for v in active_visits() if v.status == "infusing"]
        assert infusing
        nurse = db.session.scalar(select(User).where(User.email == "nurse@demo.clinic"))
        visit = record_event(nurse, infusing[0].id, "end_infusion", at)
    assert visit.status == "recovering"


def site_zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone)


def test_seed_now_puts_patients_in_care_at_any_hour(app):
    # The clinic's night and a Sunday: the ordinary demo would have nobody in the chairs.
    for at in (chicago(MONDAY, 2, 10), chicago(MONDAY + timedelta(days=6), 23, 50)):
        with app.app_context():
            db.drop_all()
            db.create_all()
            with time_machine.travel(at, tick=False):
                result = app.test_cli_runner().invoke(args=["seed-demo", "--now"])
            assert result.exit_code == 0, result.output
            assert "open around the clock" in result.output
            site = db.session.scalar(select(Site))
            assert site.opening_hours["sun"] == ["00:00", "24:00"]
            visits = list(db.session.scalars(select(Visit)))
            statuses = [v.status for v in visits]
            assert {"infusing", "recovering"} <= set(statuses), at
            assert_no_chair_held_twice(visits)
            # A Spravato patient is in care now, watched from the first device.
            in_care = [v for v in visits if v.treatment_type.rems and v.status == "recovering"]
            assert len(in_care) == 1, at
            assert in_care[0].discharge_due_at == in_care[0].infusion_started_at + timedelta(
                minutes=120
            )
            assert "booked" in statuses and "discharged" in statuses
            # Shifts of one person meet at midnight and never overlap.
            shifts = db.session.scalars(select(Shift).order_by(Shift.user_id, Shift.starts_at))
            by_user: dict[int, list[Shift]] = {}
            for shift in shifts:
                by_user.setdefault(shift.user_id, []).append(shift)
            for own in by_user.values():
                for first, second in pairwise(own):
                    assert first.ends_at <= second.starts_at


def test_set_password_from_standard_input(runner, client):
    runner.invoke(args=["seed-demo"])
    result = runner.invoke(args=["users", "set-password", "nurse@demo.clinic"], input="short\n")
    assert result.exit_code != 0
    result = runner.invoke(
        args=["users", "set-password", "nurse@demo.clinic"],
        input="a quiet harbour at dawn 42\n",
    )
    assert result.exit_code == 0, result.output
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={
            "email": "nurse@demo.clinic",
            "password": "a quiet harbour at dawn 42",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    missing = runner.invoke(args=["users", "set-password", "nobody@demo.clinic"], input="x\n")
    assert missing.exit_code != 0 and "No user" in missing.output
