"""The demo clinic for `make run`: Austin, its staff, patients and a realistic week.

Everything that the services can create is created through them, so the booking rules hold
for the demo as for real data. Visits that already started (earlier this week, or in progress
today) are written directly, because the booking service rightly refuses the past; their plan
columns are computed with the same `holds_for` the service uses.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.domain import instruments
from clinic.domain.treatments import (
    CONCOMITANT_CLASSES,
    ObservationFrom,
    chair_hold,
    discharge_due_at,
    planned_observation_end,
)
from clinic.domain.vitals import Reading, flags
from clinic.extensions import db
from clinic.models import (
    Dose,
    Measure,
    Observation,
    Patient,
    RemsSubmission,
    Site,
    TreatmentType,
    User,
    Visit,
    VisitEvent,
)
from clinic.services import booking, events, patients, setup, staff, treatment_types
from clinic.services.errors import Conflict
from clinic.services.observations import site_thresholds
from clinic.services.sites import WEEKDAYS, parse_clock
from clinic.types import utcnow

TIMEZONE = "America/Chicago"
OPENING_HOURS = {
    "mon": ["08:00", "18:00"],
    "tue": ["08:00", "18:00"],
    "wed": ["08:00", "18:00"],
    "thu": ["08:00", "18:00"],
    "fri": ["08:00", "18:00"],
    "sat": ["09:00", "14:00"],
    "sun": None,
}
ALL_DAY = {day: ["00:00", "24:00"] for day in OPENING_HOURS}
# `seed-demo --now` lays the days so that this local time of the plan falls on the moment of
# seeding: mid-morning, with patients infusing and recovering and more to come.
PLAN_NOW = time(10, 20)
CHAIRS = [f"Chair {n}" for n in range(1, 7)]
BAYS = ["Bay A", "Bay B"]
STAFF = [
    ("front_desk", "frontdesk@demo.clinic", "Maria Delgado"),
    ("nurse", "nurse@demo.clinic", "Jordan Price, RN"),
    ("nurse", "nurse2@demo.clinic", "Aisha Okafor, RN"),
    ("practitioner", "practitioner@demo.clinic", "Dr. Helen Park"),
    ("admin", "admin@demo.clinic", "Tom Becker"),
]
ROSTER_DAYS = 28
SHIFT_MARGIN = timedelta(minutes=30)  # staff arrive before opening and leave after closing
CHECK_IN_LEAD = timedelta(minutes=15)  # patients arrive this long before their infusion

# (given, family, birth date, weight kg, escort)
PATIENTS = [
    ("Emily", "Carter", date(1984, 3, 12), 64.0, "Ryan Carter"),
    ("Marcus", "Nguyen", date(1979, 7, 30), 82.5, "Linh Nguyen"),
    ("Sofia", "Ramirez", date(1991, 11, 5), 58.2, "Diego Ramirez"),
    ("David", "Thompson", date(1968, 1, 22), 91.0, "Karen Thompson"),
    ("Priya", "Shah", date(1988, 9, 17), 55.4, "Anil Shah"),
    ("James", "O'Connor", date(1975, 4, 3), 88.3, "Siobhan O'Connor"),
    ("Hannah", "Schmidt", date(1995, 6, 28), 61.7, "Lukas Schmidt"),
    ("Robert", "Williams", date(1962, 12, 9), 79.9, "Denise Williams"),
    ("Grace", "Kim", date(1986, 2, 14), 52.8, "Daniel Kim"),
    ("Michael", "Brown", date(1971, 8, 19), 95.6, "Lisa Brown"),
    ("Olivia", "Martinez", date(1993, 10, 1), 67.1, "Carlos Martinez"),
    ("Ethan", "Johnson", date(1982, 5, 25), 84.0, "Megan Johnson"),
    ("Ava", "Patel", date(1999, 3, 8), 57.9, "Raj Patel"),
    ("William", "Davis", date(1958, 11, 30), 77.4, "Patricia Davis"),
    ("Chloe", "Wilson", date(1989, 7, 4), 70.2, "Nathan Wilson"),
    ("Benjamin", "Lee", date(1977, 9, 11), 73.5, "Sarah Lee"),
    ("Isabella", "Garcia", date(1996, 1, 16), 60.3, "Miguel Garcia"),
    ("Samuel", "Anderson", date(1965, 4, 27), 86.8, "Ruth Anderson"),
    ("Zoe", "Mitchell", date(2001, 12, 20), 54.6, "Paul Mitchell"),  # not cleared
    ("Henry", "Foster", date(1973, 2, 2), 90.1, "Janet Foster"),  # clearance expired
]
NOT_CLEARED, EXPIRED = 18, 19
# Enrolled in the Spravato REMS: twice-weekly esketamine sessions this week.
SPRAVATO_PATIENTS = [
    ("Laura", "Bennett", date(1980, 5, 19), 68.4, "Mark Bennett"),
    ("Noah", "Rivera", date(1990, 8, 2), 76.1, "Elena Rivera"),
]
# (day offsets in the week, chair index, local start): chairs the IV plan leaves free then.
SPRAVATO_PLAN = [((2, 4), 4, time(9, 15)), ((0, 3), 5, time(13, 30))]
SPRAVATO_DEVICE_MG = 28
SPRAVATO_LOT = "SPR-24A117"

# One local day of visits: (chair index, local start, infusion minutes). In chair mode a
# 45-minute infusion holds its chair 45 + 120 + 15 = 180 minutes, so three fit in a weekday.
WEEKDAY_PLAN = [
    (0, time(8, 0), 45),
    (1, time(8, 30), 45),
    (2, time(9, 0), 45),
    (5, time(9, 30), 60),
    (3, time(10, 0), 45),
    (0, time(11, 0), 45),
    (2, time(12, 0), 45),
    (4, time(13, 30), 60),
    (0, time(14, 0), 45),
]
SATURDAY_PLAN = [
    (0, time(9, 0), 45),
    (1, time(9, 0), 45),
    (2, time(9, 30), 45),
    (3, time(10, 0), 60),
    (4, time(11, 0), 45),
]


@dataclass(frozen=True)
class Demo:
    """What the seed created, for the closing table and for tests."""

    site: Site
    passwords: dict[str, str]


def seed_if_empty(echo: Callable[[str], object], around_now: bool = False) -> Demo | None:
    """Seed a demo clinic if the database is empty."""
    if db.session.scalar(select(func.count(Site.id))):
        echo("Database already has data; not seeding.")
        return None
    demo = seed(utcnow(), around_now=around_now)
    echo(f"Seeded the demo clinic {demo.site.name!r} ({TIMEZONE} time).")
    if around_now:
        echo("It is open around the clock, with today's patients in care at this hour.")
    echo("Sign in with one of these:")
    echo(f"  {'role':<14} {'e-mail':<28} password")
    for role, email, _ in STAFF:
        echo(f"  {role:<14} {email:<28} {demo.passwords[email]}")
    echo("The passwords are shown only now; change them in the admin pages.")
    return demo


# The site's esketamine type: REMS, 2 h watched from the first device, BP limit before dosing.
SPRAVATO = {
    "name": "Spravato 56/84 mg",
    "kind": "esketamine",
    "administration_min": 10,
    "administration_max": 15,
    "administration_default": 15,
    "observation_min": 120,
    "observation_default": 120,
    "observation_from": "administration_start",
    "rems": True,
    "predose_systolic_max": 140,
    "predose_diastolic_max": 90,
}


def today_in(now: datetime) -> date:
    """Return the demo site's local date at an instant."""
    return now.astimezone(ZoneInfo(TIMEZONE)).date()


def seed(now: datetime, around_now: bool = False) -> Demo:
    """Create the demo site, staff, roster, patients and this week's visits.

    With `around_now` the clinic is open around the clock and the days are laid so that
    the plan's mid-morning is now: patients are in care whatever the hour of seeding.
    """
    rng = random.Random(20261130)  # the same demo every time, apart from the passwords
    hours = ALL_DAY if around_now else OPENING_HOURS
    site = setup.save_site(
        None,
        {
            "name": "Austin",
            "timezone": TIMEZONE,
            "opening_hours": hours,
            "nurse_ratio": 4,
            "recovery_mode": "chair",
            "rems_certified_on": today_in(now) - timedelta(days=90),
            "rems_authorized_representative": "Dr. Elena Reyes",
        },
        now=now,
    )
    spravato = treatment_types.save_type(None, site, SPRAVATO, now=now)
    chairs = [
        setup.save_chair(None, {"site_id": site.id, "name": name}, now=now) for name in CHAIRS
    ]
    for name in BAYS:
        setup.save_chair(None, {"site_id": site.id, "name": name, "kind": "recovery_bay"}, now=now)

    passwords: dict[str, str] = {}
    users: dict[str, User] = {}
    for role, email, name in STAFF:
        passwords[email] = secrets.token_urlsafe(12)
        users[email] = staff.create_user(
            email, name, role, [site.id], password=passwords[email], now=now
        )
    clerk = users["frontdesk@demo.clinic"]
    practitioner = users["practitioner@demo.clinic"]

    tz = ZoneInfo(TIMEZONE)
    today = now.astimezone(tz).date()
    if around_now:
        # Two days before today to three after, every one a weekday plan moved so that
        # PLAN_NOW falls on now (to the quarter hour).
        first = today - timedelta(days=3)
        lag = now - datetime.combine(today, PLAN_NOW, tzinfo=tz)
        shift = lag - lag % timedelta(minutes=15)
        days = [(today + timedelta(days=n), WEEKDAY_PLAN) for n in range(-2, 4)]
    else:
        first = today - timedelta(days=today.weekday())
        shift = timedelta(0)
        days = [
            (first + timedelta(days=n), SATURDAY_PLAN if n == 5 else WEEKDAY_PLAN) for n in range(6)
        ]
    _roster(site, tz, hours, first, today + timedelta(days=ROSTER_DAYS), users, now)
    people = _patients(site, clerk, practitioner, today, rng, now)
    # The Spravato sessions first: the IV bookings that follow go around them.
    enrolled = _rems_patients(site, clerk, practitioner, today, rng, now)
    _spravato_sessions(site, tz, days, shift, chairs, enrolled, spravato, clerk, users, now, rng)
    _week_of_visits(site, tz, days, shift, chairs, people, clerk, users, now, rng)
    _courses_of_scores(rng)
    return Demo(site=site, passwords=passwords)


def _roster(
    site: Site,
    tz: ZoneInfo,
    hours: dict[str, list[str] | None],
    first: date,
    last: date,
    users: dict[str, User],
    now: datetime,
) -> None:
    """Put both nurses and the practitioner on duty for every opening hour of the days."""
    on_duty = [u for u in users.values() if u.role in ("nurse", "practitioner")]
    # Shifts of a clinic open around the clock meet at midnight; they must not overlap.
    margin = SHIFT_MARGIN if hours is OPENING_HOURS else timedelta(0)
    day = first
    while day < last:
        day_hours = hours[WEEKDAYS[day.weekday()]]
        if day_hours:
            opens, closes = (_local(day, parse_clock(t), tz) for t in day_hours)
            for user in on_duty:
                setup.add_shift(
                    site.id, user.id, user.role, opens - margin, closes + margin, now=now
                )
        day += timedelta(days=1)


def _patients(
    site: Site,
    clerk: User,
    practitioner: User,
    today: date,
    rng: random.Random,
    now: datetime,
    people: list[tuple[str, str, date, float, str]] = PATIENTS,
    first: int = 0,
) -> list[Patient]:
    """Register the patients and record their clearances (numbered from `first`)."""
    created = []
    for n, (given, family, born, weight, escort) in enumerate(people, start=first):
        patient = patients.create_patient(
            clerk,
            site.id,
            {
                "mrn": f"AUS-{104217 + 37 * n}",
                "given_name": given,
                "family_name": family,
                "birth_date": born,
                "phone": f"512-555-01{n:02d}",
                "email": f"{given.lower()}.{family.lower().replace(chr(39), '')}@example.com",
                "weight_kg": weight,
                "escort_name": escort,
                "escort_phone": f"512-555-02{n:02d}",
            },
            now=now,
        )
        evaluated = today - timedelta(days=rng.randint(10, 60))
        values = {
            "evaluated_on": evaluated,
            "valid_until": evaluated + timedelta(days=182),
            "cleared": True,
            "consent_signed": True,
            "contraindications": [],
            "notes": "PHQ-9 baseline recorded; BP controlled. Induction course of 6 infusions.",
        }
        if people is PATIENTS:  # the IV patients: the practitioner's order for the infusion
            values["mg_per_kg"] = ORDER_MG_PER_KG
        if n == NOT_CLEARED:
            values |= {
                "cleared": False,
                "contraindications": ["Uncontrolled hypertension"],
                "notes": "BP 172/104 at screening; recheck after medication review.",
            }
        elif n == EXPIRED:
            evaluated = today - timedelta(days=220)
            values |= {
                "evaluated_on": evaluated,
                "valid_until": evaluated + timedelta(days=182),
                "notes": "Re-evaluation due before the next booster.",
            }
        patients.record_clearance(practitioner, patient, values, now=now)
        created.append(patient)
    return created


def _week_of_visits(
    site: Site,
    tz: ZoneInfo,
    days: list[tuple[date, list[tuple[int, time, int]]]],
    shift: timedelta,
    chairs: list,
    people: list[Patient],
    clerk: User,
    users: dict[str, User],
    now: datetime,
    rng: random.Random,
) -> None:
    """Fill the days with their plans, moved by `shift`: the past happened, the future is booked."""
    cleared = [p for n, p in enumerate(people) if n not in (NOT_CLEARED, EXPIRED)]
    # Two groups on alternate days keep every patient's infusions 48 hours apart.
    groups = [cleared[0::2], cleared[1::2]]
    nurses = [users["nurse@demo.clinic"], users["nurse2@demo.clinic"]]
    for offset, (day, plan) in enumerate(days):
        group = groups[offset % 2]
        for (chair_index, at, infusion), patient in zip(plan, group, strict=False):
            start = (datetime.combine(day, at, tzinfo=tz) + shift).astimezone(tz)
            chair = chairs[chair_index]
            if start > now:
                visit = _book(clerk, patient, start, chair.id, infusion, now)
                if visit is None:
                    continue
                if start - CHECK_IN_LEAD <= now:
                    events.record_event(clerk, visit.id, "check_in", now)
                    _arrival_reading(visit, site, nurses[visit.id % len(nurses)], now)
                continue
            _happened(site, chair.id, patient, start, infusion, clerk, rng.choice(nurses), now, rng)
    db.session.commit()


def _book(
    clerk: User,
    patient: Patient,
    start: datetime,
    chair_id: int,
    infusion: int,
    now: datetime,
    treatment_type_id: int | None = None,
):
    """Book a demo visit in its chair, else in any free chair (its chair's patient may run
    late and hold it), else not at all."""
    for chair in (chair_id, None):
        request = booking.Request(
            patient_id=patient.id,
            infusion_start=start,
            chair_id=chair,
            infusion_minutes=infusion,
            treatment_type_id=treatment_type_id,
        )
        try:
            return booking.book(clerk, request, now)[0]
        except Conflict:
            continue
    return None


def _happened(
    site: Site,
    chair_id: int,
    patient: Patient,
    start: datetime,
    infusion: int,
    clerk: User,
    nurse: User,
    now: datetime,
    rng: random.Random,
    treatment: TreatmentType | None = None,
) -> Visit:
    """Write a visit that has already started, with the events, readings and doses so far."""
    treatment = treatment or db.session.get(TreatmentType, site.default_treatment_type_id)
    assert treatment is not None
    counted_from = ObservationFrom(treatment.observation_from)
    observation = treatment.observation_default
    observation_end = planned_observation_end(counted_from, start, infusion, observation)
    booked_at = start - timedelta(days=rng.randint(3, 10), hours=rng.randint(0, 6))
    visit = Visit(
        patient_id=patient.id,
        site_id=site.id,
        chair_id=chair_id,
        recovery_chair_id=chair_id,
        treatment_type_id=treatment.id,
        status="booked",
        infusion_start=start,
        infusion_end=start + timedelta(minutes=infusion),
        observation_end=observation_end,
        infusion_minutes=infusion,
        observation_minutes=observation,
        chair_released_at=chair_hold(start, observation_end, site.turnover_minutes).end,
        bay_released_at=None,
        created_by_id=clerk.id,
        created_at=booked_at,
        updated_at=now,
    )
    db.session.add(visit)

    def event(type_: str, at: datetime, by: User, **data) -> None:
        db.session.add(
            VisitEvent(visit=visit, type=type_, at=at, recorded_at=at, by_id=by.id, data=data)
        )

    # One in ten past IV visits is a no-show, decided when the patient is half an hour late.
    no_show_at = start + timedelta(minutes=30)
    if no_show_at <= now and not treatment.rems and rng.random() < 0.1:
        visit.status = "no_show"
        event("no_show", no_show_at, clerk)
        return visit

    checked_in = start - timedelta(minutes=rng.randint(5, 20))
    started = start + timedelta(minutes=rng.randint(0, 10))
    ended = started + timedelta(minutes=infusion + rng.randint(0, 5))
    due = discharge_due_at(counted_from, started, ended, observation)
    discharged = due + timedelta(minutes=rng.randint(2, 15))
    steps = [
        ("checked_in", "check_in", checked_in, clerk, {}),
        ("infusing", "start_infusion", started, nurse, {}),
        ("recovering", "end_infusion", ended, nurse, {}),
        (
            "discharged",
            "discharge",
            discharged,
            nurse,
            {
                "checklist": {
                    "padss": rng.choice((9, 10, 10)),
                    "escort_name": patient.escort_name,
                    "vitals_stable": True,
                }
            },
        ),
    ]
    for status, type_, at, by, data in steps:
        if at > now:
            break
        visit.status = status
        event(type_, at, by, **data)
        if type_ == "check_in":
            visit.checked_in_at = at
        elif type_ == "start_infusion":
            visit.infusion_started_at = at
        elif type_ == "end_infusion":
            visit.infusion_ended_at = at
            visit.discharge_due_at = due
        elif type_ == "discharge":
            visit.discharged_at = at
    if visit.checked_in_at is not None:
        _readings(visit, site, started, discharged, nurse, now, rng)
        _screens(visit, visit.checked_in_at + timedelta(minutes=2), nurse, now, rng)
    if not treatment.rems and visit.infusion_started_at is not None:
        _infusion_dose(visit, patient, started, nurse, rng)
    if treatment.rems and visit.infusion_started_at is not None:
        _devices(visit, started, nurse, now)
        if visit.discharged_at is not None:
            visit.rems_concomitant = dict.fromkeys(CONCOMITANT_CLASSES, False)
            visit.ready_to_leave_minutes = rng.choice((75, 90, 105))
    return visit


def _readings(
    visit: Visit,
    site: Site,
    started: datetime,
    discharged: datetime,
    nurse: User,
    now: datetime,
    rng: random.Random,
) -> None:
    """Write the readings a nurse takes: a baseline before dosing, the 40-minute peak, and one
    before the patient leaves (those whose time has come)."""
    thresholds = site_thresholds(site)
    baseline: Reading | None = None
    plan = (
        (started - timedelta(minutes=rng.randint(4, 12)), 0, 0, 5),
        (started + timedelta(minutes=40), rng.randint(8, 16), rng.randint(1, 2), 4),
        (discharged - timedelta(minutes=rng.randint(3, 10)), rng.randint(0, 4), 0, 5),
    )
    for at, rise, dissociation, moaas in plan:
        if at > now:
            break
        values = {
            "systolic": rng.randint(112, 128) + rise,
            "diastolic": rng.randint(70, 80) + rise // 2,
            "heart_rate": rng.randint(64, 82),
            "spo2": rng.randint(96, 99),
            "respiratory_rate": rng.randint(12, 16),
            "dissociation": dissociation,
            "moaas": moaas,
        }
        reading = Reading(at=at, **values)
        db.session.add(
            Observation(
                visit=visit,
                at=at,
                recorded_at=at,
                by_id=nurse.id,
                flags=flags(reading, baseline, thresholds),
                **values,
            )
        )
        baseline = baseline or reading


# The demo's IV order on every clearance, and the lots its ketamine comes from.
ORDER_MG_PER_KG = Decimal("0.5")
KETAMINE_LOTS = ("KT-24A117", "KT-24B302", "KT-25A041")


def _screens(visit: Visit, at: datetime, nurse: User, now: datetime, rng: random.Random) -> None:
    """Write the day's negative C-SSRS screener and a PHQ-9 (no item 9) of a checked-in visit."""
    if at > now:
        return
    for name, answers in (
        ("cssrs_screen", [False] * 6),
        ("phq9", [rng.randint(0, 3) for _ in range(8)] + [0]),
        ("gad7", [rng.randint(0, 3) for _ in range(7)]),
    ):
        result = instruments.score(instruments.INSTRUMENTS[name], answers)
        measure = Measure(
            visit=visit,
            patient_id=visit.patient_id if visit.patient_id else visit.patient.id,
            instrument=name,
            answers=answers,
            score=result.score,
            band=result.band,
            flags=list(result.flags),
            at=at,
            recorded_by_id=nurse.id,
            via_kiosk=False,
            created_at=at,
        )
        db.session.add(measure)


def _courses_of_scores(rng: random.Random) -> None:
    """Give each patient's PHQ-9s and GAD-7s the shape of a course: high, then falling."""
    measures = db.session.scalars(
        select(Measure)
        .where(Measure.instrument.in_(("phq9", "gad7")))
        .order_by(Measure.patient_id, Measure.instrument, Measure.at)
    )
    for (_, name), course in groupby(measures, key=lambda m: (m.patient_id, m.instrument)):
        definition = instruments.INSTRUMENTS[name]
        level = float(rng.randint(len(definition.items) * 2, len(definition.items) * 5 // 2))
        for n, measure in enumerate(course):
            level *= rng.uniform(0.6, 0.8) if n else 1  # each infusion takes a share off
            total = max(1, round(level))
            # PHQ-9 item 9 stays 0: the demo's positive screens are made on purpose elsewhere.
            scored = len(definition.items) - (1 if name == "phq9" else 0)
            answers: list[int | bool] = [
                total // scored + (i < total % scored) for i in range(scored)
            ]
            answers += [0] * (len(definition.items) - scored)
            result = instruments.score(definition, answers)
            measure.answers = answers
            measure.score, measure.band, measure.flags = (
                result.score,
                result.band,
                list(result.flags),
            )
    db.session.commit()


def _infusion_dose(
    visit: Visit, patient: Patient, started: datetime, nurse: User, rng: random.Random
) -> None:
    """Write the IV ketamine dose of an infusion: the clearance's mg/kg for the weight."""
    if not patient.weight_kg:
        return
    dose = ORDER_MG_PER_KG * Decimal(str(patient.weight_kg))
    db.session.add(
        Dose(
            visit=visit,
            drug="Ketamine",
            dose_mg=dose.quantize(Decimal("0.01")),
            lot=KETAMINE_LOTS[visit.patient_id % len(KETAMINE_LOTS)],
            at=started,
            route="IV",
            recorded_by_id=nurse.id,
            created_at=started,
        )
    )


def _arrival_reading(visit: Visit, site: Site, nurse: User, at: datetime) -> None:
    """Write the baseline a nurse takes when a patient arrives: the start may follow it."""
    rng = random.Random(visit.id)  # its own: the week's other random choices stay as they were
    values = {
        "systolic": rng.randint(112, 128),
        "diastolic": rng.randint(70, 80),
        "heart_rate": rng.randint(64, 82),
        "spo2": rng.randint(96, 99),
        "respiratory_rate": rng.randint(12, 16),
        "moaas": 5,
    }
    reading = Reading(at=at, **values)
    flagged = flags(reading, None, site_thresholds(site))
    db.session.add(
        Observation(visit=visit, at=at, recorded_at=at, by_id=nurse.id, flags=flagged, **values)
    )


def _devices(visit: Visit, started: datetime, nurse: User, now: datetime) -> None:
    """Write the three 28 mg nasal devices of an 84 mg session, five minutes apart."""
    for n in range(3):
        at = started + timedelta(minutes=5 * n)
        if at > now:
            return
        db.session.add(
            Dose(
                visit=visit,
                drug="Esketamine",
                dose_mg=Decimal(SPRAVATO_DEVICE_MG),
                lot=SPRAVATO_LOT,
                at=at,
                route="intranasal",
                recorded_by_id=nurse.id,
                created_at=at,
            )
        )


def _rems_patients(
    site: Site, clerk: User, practitioner: User, today: date, rng: random.Random, now: datetime
) -> list[Patient]:
    """Register the Spravato patients and enrol them in the REMS a month ago."""
    enrolled = _patients(
        site, clerk, practitioner, today, rng, now, SPRAVATO_PATIENTS, len(PATIENTS)
    )
    for n, patient in enumerate(enrolled):
        patients.record_rems_enrollment(
            practitioner, patient, today - timedelta(days=30 + 7 * n), f"RP-{58210 + n}", now
        )
    return enrolled


def _spravato_sessions(
    site: Site,
    tz: ZoneInfo,
    days: list[tuple[date, list[tuple[int, time, int]]]],
    shift: timedelta,
    chairs: list,
    enrolled: list[Patient],
    spravato: TreatmentType,
    clerk: User,
    users: dict[str, User],
    now: datetime,
    rng: random.Random,
) -> None:
    """Give each enrolled patient two esketamine sessions this week; the first form submitted."""
    nurse = users["nurse2@demo.clinic"]
    minutes = spravato.administration_default
    for patient, (offsets, chair_index, at) in zip(enrolled, SPRAVATO_PLAN, strict=True):
        for offset in offsets:
            day = days[offset][0]
            start = (datetime.combine(day, at, tzinfo=tz) + shift).astimezone(tz)
            chair = chairs[chair_index]
            if start > now:
                _book(clerk, patient, start, chair.id, minutes, now, spravato.id)
                continue
            visit = _happened(
                site, chair.id, patient, start, minutes, clerk, nurse, now, rng, spravato
            )
            sent_at = (visit.discharged_at or now) + timedelta(hours=3)
            if offset == offsets[0] and sent_at <= now:
                db.session.add(
                    RemsSubmission(
                        visit=visit,
                        method="online",
                        confirmation=f"PMF-{rng.randint(100000, 999999)}",
                        submitted_at=sent_at,
                        recorded_by_id=nurse.id,
                    )
                )
    db.session.commit()


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Return the instant of a local wall-clock minute of a day (1440 is next midnight)."""
    day += timedelta(days=minute // 1440)
    minute %= 1440
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
