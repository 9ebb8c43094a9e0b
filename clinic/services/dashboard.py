"""The nurses' dashboard: every patient of a site in the clinic's care, read in bulk.

A fixed number of queries whatever the number of visits or the length of the history:
the site, the active visits (with patient, chair and bay joined), their readings, the
next bookings of their chairs and bays, and their screening (measures, reviews).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row as SqlRow
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import aliased

from clinic.domain import phases, treatments, vitals
from clinic.domain.booking import ObservationFrom, local_day
from clinic.domain.visits import Status
from clinic.domain.vitals import DueItem, DueState
from clinic.extensions import db
from clinic.models import Chair, Observation, Patient, Site, TreatmentType, User, Visit
from clinic.services import access
from clinic.services.observations import OBSERVABLE
from clinic.services.screening import NO_SCREEN, BoardScreen, board_screens

# Only the visits that follow soon can be pushed back by an overrun; later ones cannot.
NEXT_BOOKING_HORIZON = timedelta(hours=24)
WAITING = (Status.BOOKED, Status.CHECKED_IN)


@dataclass(frozen=True)
class NextBooking:
    """The next visit due to use a chair or bay: when its hold of that place begins."""

    visit_id: int
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class VisitSnapshot:
    """The columns of a visit the dashboard shows, read as plain values (not an ORM object)."""

    id: int
    patient_id: int
    site_id: int
    chair_id: int
    recovery_chair_id: int | None
    status: str
    infusion_start: datetime
    infusion_end: datetime
    infusion_minutes: int
    observation_minutes: int
    extension_minutes: int
    checked_in_at: datetime | None
    infusion_started_at: datetime | None
    infusion_ended_at: datetime | None
    discharge_due_at: datetime | None
    discharged_at: datetime | None
    treatment_type_id: int


@dataclass(frozen=True, slots=True)
class Treatment:
    """What the dashboard reads of a visit's type: its name, words, counting and REMS."""

    name: str
    kind: treatments.TreatmentKind
    observation_from: ObservationFrom
    rems: bool

    @property
    def start_word(self) -> str:
        """Return what pages call the start of the administration ("first device")."""
        return treatments.start_word(self.kind)

    @property
    def administration_word(self) -> str:
        """Return what pages call the administration ("infusion", "administration")."""
        return treatments.administration_word(self.kind)

    @property
    def counted_from_start(self) -> bool:
        """Tell whether the observation runs from the first dose (the countdown starts then)."""
        return self.observation_from is ObservationFrom.ADMINISTRATION_START


# A visit whose type is unknown is read as the IV default: observed from the infusion's end.
IV_TREATMENT = Treatment(
    "IV ketamine", treatments.TreatmentKind.IV_KETAMINE, ObservationFrom.ADMINISTRATION_END, False
)


def treatment_of(
    name: str | None, kind: str | None, observation_from: str | None, rems: bool | None
) -> Treatment:
    """Return a visit's type from its columns (the IV default when there is none)."""
    if name is None or kind is None or observation_from is None:
        return IV_TREATMENT
    return Treatment(
        name,
        treatments.TreatmentKind(kind),
        ObservationFrom(observation_from),
        bool(rems),
    )


@dataclass(frozen=True, slots=True)
class ReadingSnapshot:
    """A stored reading as the dashboard shows it, read as plain values."""

    id: int
    visit_id: int
    at: datetime
    recorded_at: datetime
    by_id: int | None
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None
    dissociation: int | None
    nausea: int | None
    dizziness: int | None
    note: str
    flags: tuple[str, ...]


VISIT_COLUMNS = tuple(
    getattr(Visit, name)
    for name in VisitSnapshot.__dataclass_fields__  # same names, in order
)
READING_COLUMNS = tuple(getattr(Observation, name) for name in ReadingSnapshot.__dataclass_fields__)


@dataclass(frozen=True)
class Row:
    """One patient on the dashboard, with everything derived at `now`."""

    visit: VisitSnapshot
    patient_label: str  # initials only: the dashboard may hang on a wall
    chair: str
    recovery_chair: str | None
    treatment: Treatment
    readings: list[ReadingSnapshot]  # oldest first
    latest: ReadingSnapshot | None
    flags: list[str]  # the latest reading's
    vitals: list[DueItem]  # the whole schedule so far with each item's state
    vitals_due: list[DueItem]  # due now
    vitals_next: DueItem | None  # due now, else the next upcoming
    vitals_missed: list[DueItem]
    countdown: phases.Countdown
    seconds_to_discharge_due: int | None
    overdue: bool
    phase_started_at: datetime | None
    minutes_in_phase: int | None
    expected_chair_release: datetime
    next_chair_booking: NextBooking | None
    chair_clash_minutes: int
    expected_bay_release: datetime | None  # bay mode only (else the chair is the bay)
    next_bay_booking: NextBooking | None
    bay_clash_minutes: int
    planned_on: date  # the site-local day of the planned infusion start
    planned_today: bool  # False: the dashboard shows the date beside the visit
    screen: BoardScreen = NO_SCREEN  # the day's screening state and the PHQ-9 course


@dataclass(frozen=True)
class Dashboard:
    """A site's dashboard at an instant."""

    site: Site
    now: datetime
    rows: list[Row]


@dataclass(frozen=True)
class InCare:
    """A visit in the clinic's care with the names the dashboard shows beside it."""

    visit: VisitSnapshot
    patient_label: str  # initials only
    chair: str
    recovery_chair: str | None
    treatment: Treatment = IV_TREATMENT


# Built once: a statement assembled per request costs more than running it on SQLite.
_BAY = aliased(Chair)
ACTIVE_VISITS = (
    select(
        *VISIT_COLUMNS,
        Patient.given_name,
        Patient.family_name,
        Chair.name,
        _BAY.name,
        TreatmentType.name,
        TreatmentType.kind,
        TreatmentType.observation_from,
        TreatmentType.rems,
    )
    .join(Patient, Patient.id == Visit.patient_id)
    .join(Chair, Chair.id == Visit.chair_id)
    .outerjoin(_BAY, _BAY.id == Visit.recovery_chair_id)
    .outerjoin(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
    .where(Visit.site_id == bindparam("site_id"), Visit.status.in_(sorted(OBSERVABLE)))
    .order_by(Visit.chair_id, Visit.infusion_start, Visit.id)
)
READINGS = (
    select(*READING_COLUMNS)
    .where(Observation.visit_id.in_(bindparam("visit_ids", expanding=True)))
    .order_by(Observation.visit_id, Observation.at, Observation.id)
)
WAITING_VISITS = select(
    Visit.id, Visit.chair_id, Visit.recovery_chair_id, Visit.infusion_start, Visit.infusion_end
).where(
    Visit.site_id == bindparam("site_id"),
    Visit.status.in_(WAITING),
    or_(
        Visit.chair_id.in_(bindparam("chair_ids", expanding=True)),
        Visit.recovery_chair_id.in_(bindparam("bay_ids", expanding=True)),
    ),
    Visit.infusion_start > bindparam("earliest", type_=Visit.infusion_start.type),
    Visit.infusion_start < bindparam("latest", type_=Visit.infusion_start.type),
)

# (id, chair_id, recovery_chair_id, infusion_start, infusion_end)
WaitingVisit = SqlRow[tuple[int, int, int | None, datetime, datetime]]


def active_visits(site_id: int) -> list[InCare]:
    """Load a site's checked-in, infusing and recovering visits with initials, chair and bay."""
    width = len(VISIT_COLUMNS)
    found = []
    for row in db.session.execute(ACTIVE_VISITS, {"site_id": site_id}):
        given, family, chair, recovery_chair, *treatment = row[width:]
        found.append(
            InCare(
                visit=VisitSnapshot(*row[:width]),
                # As Patient.initials, without building the patient.
                patient_label=f"{given[:1]}{family[:1]}".upper(),
                chair=chair,
                recovery_chair=recovery_chair,
                treatment=treatment_of(*treatment),
            )
        )
    return found


def readings_by_visit(visit_ids: list[int]) -> dict[int, list[ReadingSnapshot]]:
    """Load the readings of many visits in one query: visit id -> readings, oldest first."""
    ids = sorted(set(visit_ids))
    if not ids:
        return {}
    found: dict[int, list[ReadingSnapshot]] = {}
    for row in db.session.execute(READINGS, {"visit_ids": ids}):
        *values, note, flags = row
        values += [note or "", tuple(flags or ())]
        reading = ReadingSnapshot(*values)
        found.setdefault(reading.visit_id, []).append(reading)
    return found


def _bay_of(visit: VisitSnapshot, in_bay_mode: bool) -> int | None:
    """Return the recovery bay a visit holds apart from its chair (bay mode only)."""
    return visit.recovery_chair_id if in_bay_mode else None


def _next_bookings(
    site_id: int, visits: list[VisitSnapshot], in_bay_mode: bool, now: datetime
) -> tuple[dict[int, NextBooking], dict[int, NextBooking]]:
    """Return visit id -> the next booking of its chair, and of its bay, in one query."""
    if not visits:
        return {}, {}
    chair_ids = sorted({v.chair_id for v in visits})
    # In chair mode recovery_chair_id is the chair itself: there is no separate bay hold.
    bay_ids = sorted({bay for v in visits if (bay := _bay_of(v, in_bay_mode)) is not None})
    params = {
        "site_id": site_id,
        "chair_ids": chair_ids,
        # An empty IN list matches nothing, as the bay test should when there is no bay.
        "bay_ids": bay_ids,
        "earliest": min(v.infusion_start for v in visits),
        "latest": now + NEXT_BOOKING_HORIZON,
    }
    by_chair: dict[int, list[WaitingVisit]] = {}
    by_bay: dict[int | None, list[WaitingVisit]] = {}
    for c in db.session.execute(WAITING_VISITS, params):
        by_chair.setdefault(c.chair_id, []).append(c)
        by_bay.setdefault(c.recovery_chair_id, []).append(c)
    chair_next: dict[int, NextBooking] = {}
    bay_next: dict[int, NextBooking] = {}
    for visit in visits:
        chair_starts = [
            NextBooking(c.id, c.infusion_start)
            for c in by_chair.get(visit.chair_id, ())
            if c.id != visit.id and c.infusion_start > visit.infusion_start
        ]
        if chair_starts:
            chair_next[visit.id] = min(chair_starts, key=lambda b: (b.starts_at, b.visit_id))
        if _bay_of(visit, in_bay_mode) is not None:
            # A bay is held from the planned end of the infusion.
            bay_starts = [
                NextBooking(c.id, c.infusion_end)
                for c in by_bay.get(visit.recovery_chair_id, ())
                if c.id != visit.id and c.infusion_end > visit.infusion_end
            ]
            if bay_starts:
                bay_next[visit.id] = min(bay_starts, key=lambda b: (b.starts_at, b.visit_id))
    return chair_next, bay_next


def load_dashboard(actor: User, site_id: int | None, now: datetime) -> Dashboard:
    """Return the dashboard of a site the user may see (the user's only site by default)."""
    site = access.get_site(actor, access.default_site_id(actor, site_id))
    in_care = active_visits(site.id)
    visits = [shown.visit for shown in in_care]
    readings = readings_by_visit([v.id for v in visits])
    chair_next, bay_next = _next_bookings(site.id, visits, site.recovery_mode == "bay", now)
    screens = board_screens(site, [(v.id, v.patient_id, v.status) for v in visits], now)
    rows = [
        _row(site, shown, readings.get(shown.visit.id, []), chair_next, bay_next, now)
        for shown in in_care
    ]
    rows = [replace(row, screen=screens.get(row.visit.id, NO_SCREEN)) for row in rows]
    return Dashboard(site=site, now=now, rows=rows)


def _row(
    site: Site,
    shown: InCare,
    readings: list[ReadingSnapshot],
    chair_next: dict[int, NextBooking],
    bay_next: dict[int, NextBooking],
    now: datetime,
) -> Row:
    visit = shown.visit
    treatment = shown.treatment
    latest = readings[-1] if readings else None
    # A REMS session's 40-minute BP counts from 35 to 45 minutes after the first device.
    peak = treatments.REMS_PEAK_WINDOW if treatment.rems else vitals.PEAK_WINDOW
    schedule = vitals.vitals_schedule(
        visit.checked_in_at,
        visit.infusion_started_at,
        visit.infusion_ended_at,
        visit.discharge_due_at,
        visit.status,
        visit.discharged_at,
        peak_window=peak,
    )
    items = vitals.vitals_due(schedule, [r.at for r in readings], now)
    since = phases.phase_started_at(
        visit.status, visit.checked_in_at, visit.infusion_started_at, visit.infusion_ended_at
    )
    in_bay_mode = site.recovery_mode == "bay"
    tz = ZoneInfo(site.timezone)

    def release(recovery_in_chair: bool) -> datetime:
        return phases.expected_chair_release(
            visit.infusion_started_at,
            visit.infusion_ended_at,
            visit.infusion_minutes,
            visit.observation_minutes,
            visit.extension_minutes,
            site.turnover_minutes,
            now,
            recovery_in_chair,
            planned_start=visit.infusion_start,
            observation_from=treatment.observation_from,
        )

    chair_release = release(recovery_in_chair=not in_bay_mode)
    has_bay = _bay_of(visit, in_bay_mode) is not None
    bay_release = release(recovery_in_chair=True) if has_bay else None
    next_chair, next_bay = chair_next.get(visit.id), bay_next.get(visit.id)
    return Row(
        visit=visit,
        patient_label=shown.patient_label,
        chair=shown.chair,
        recovery_chair=shown.recovery_chair,
        treatment=treatment,
        readings=readings,
        latest=latest,
        flags=list(latest.flags or []) if latest else [],
        vitals=items,
        vitals_due=[item for item in items if item.state is DueState.DUE],
        vitals_next=vitals.next_due(items),
        vitals_missed=vitals.missed(items),
        countdown=phases.countdown_state(now, visit.discharge_due_at, site.overdue_after_minutes),
        seconds_to_discharge_due=phases.seconds_to(now, visit.discharge_due_at),
        overdue=phases.is_overdue(now, visit.discharge_due_at, site.overdue_after_minutes),
        phase_started_at=since,
        minutes_in_phase=phases.minutes_in_phase(now, since),
        expected_chair_release=chair_release,
        next_chair_booking=next_chair,
        chair_clash_minutes=phases.clash_minutes(
            chair_release, next_chair.starts_at if next_chair else None
        ),
        expected_bay_release=bay_release,
        next_bay_booking=next_bay,
        bay_clash_minutes=(
            phases.clash_minutes(bay_release, next_bay.starts_at)
            if bay_release is not None and next_bay is not None
            else 0
        ),
        planned_on=local_day(visit.infusion_start, tz),
        planned_today=local_day(visit.infusion_start, tz) == local_day(now, tz),
    )
