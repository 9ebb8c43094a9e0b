"""FHIR R4 resources, read-only (API.md, "Reports and interoperability"; docs/api.md "FHIR").

Resources are plain dicts built at request time from the rows: nothing FHIR is stored.
Searches return (total, resources of the page); the web layer wraps them in a Bundle.
Minimal PHI: a Patient is its record number, name and birth date; an Appointment names its
patient by reference and its chairs by name; no notes, contacts or reasons leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import QueryableAttribute, joinedload

from clinic.domain.ids import is_digits
from clinic.domain.instruments import INSTRUMENTS
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import Chair, Measure, Observation, Patient, Site, User, Visit
from clinic.services import access, audit, availability
from clinic.services.errors import ServiceError
from clinic.services.sites import local_day_bounds, today

FHIR_VERSION = "4.0.1"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS = "vital-signs"
SURVEY = "survey"
DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_SLOT_DAYS = 31
DEFAULT_SLOT_DAYS = 7
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
# Dates outside these years are refused (400) rather than overflowing at a day's bounds.
MIN_YEAR, MAX_YEAR = 1900, 2200

# Visit status -> Appointment.status (R4 value set appointmentstatus).
APPOINTMENT_STATUS: dict[str, str] = {
    Status.BOOKED: "booked",
    Status.CHECKED_IN: "checked-in",
    Status.INFUSING: "arrived",
    Status.RECOVERING: "arrived",
    Status.DISCHARGED: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
}


class BadParameter(ServiceError):
    """A search parameter FHIR cannot read (answered 400 with an OperationOutcome)."""

    status = 400
    code = "invalid"


# --- search parameters -------------------------------------------------------------------

PREFIXES = ("eq", "ge", "gt", "le", "lt")


@dataclass(frozen=True)
class DateCriterion:
    """One `date` (or `start`, `authored`) value: a prefix and a day or an instant."""

    prefix: str
    day: date | None = None
    instant: datetime | None = None

    def bounds(self, site: Site) -> tuple[datetime, datetime]:
        """Return the half-open span the value names: a site-local day, or one instant."""
        if self.day is not None:
            return local_day_bounds(site, self.day)
        assert self.instant is not None
        return self.instant, self.instant + timedelta(microseconds=1)

    def test(self, value: Any, site: Site) -> Any:
        """Compare a column (or an instant) with the value by the prefix."""
        lo, hi = self.bounds(site)
        if self.prefix == "ge":
            return value >= lo
        if self.prefix == "gt":
            return value >= hi
        if self.prefix == "le":
            return value < hi
        if self.prefix == "lt":
            return value < lo
        if isinstance(value, datetime):
            return lo <= value < hi
        return and_(value >= lo, value < hi)


def parse_dates(name: str, values: Sequence[str]) -> list[DateCriterion]:
    """Read date parameters ("2026-11-30", "ge2026-11-30T08:00:00Z"), or raise BadParameter."""
    criteria = []
    for raw in values:
        prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
        # A "+" of an offset sent unescaped in a query string arrives as a space.
        text = (raw[2:] if raw[:2] in PREFIXES else raw).replace(" ", "+")
        try:
            if len(text) == 10 and MIN_YEAR <= date.fromisoformat(text).year <= MAX_YEAR:
                criteria.append(DateCriterion(prefix, day=date.fromisoformat(text)))
                continue
            instant = datetime.fromisoformat(text)
        except ValueError:
            instant = None
        if instant is None or instant.tzinfo is None or not MIN_YEAR <= instant.year <= MAX_YEAR:
            raise BadParameter(
                f"{name}: give a date (2026-11-30) or an instant with its offset, "
                "optionally after ge, gt, le, lt or eq."
            )
        criteria.append(DateCriterion(prefix, instant=instant))
    return criteria


def date_clause(
    criteria: Sequence[DateCriterion],
    column: QueryableAttribute[datetime],
    site_column: QueryableAttribute[int],
    sites: Sequence[Site],
) -> ColumnElement[bool]:
    """Return the SQL condition of every criterion, a day read in each row's site's zone
    (in the one site's zone when there is one: a patient's rows)."""
    clauses: list[ColumnElement[bool]] = []
    for criterion in criteria:
        if not sites:
            clauses.append(false())
        elif criterion.day is None or len(sites) == 1:
            clauses.append(criterion.test(column, sites[0]))
        else:
            clauses.append(
                or_(false(), *(and_(site_column == s.id, criterion.test(column, s)) for s in sites))
            )
    return and_(true(), *clauses)


def parse_reference(name: str, value: str, kind: str) -> int:
    """Read "12" or "Patient/12" as an id, or raise BadParameter."""
    found = parse_id(value.removeprefix(f"{kind}/"))
    if found is None:
        raise BadParameter(f"{name}: give a {kind} id, as 12 or {kind}/12.")
    return found


def parse_id(value: str) -> int | None:
    """Read a resource id; None when it cannot be one of ours (digits, a 32-bit integer)."""
    if not is_digits(value) or len(value) > 10 or int(value) > MAX_ID:
        return None
    return int(value)


# --- resources ---------------------------------------------------------------------------


def instant(value: datetime) -> str:
    """Write an instant as FHIR does (UTC, ending in Z)."""
    return value.isoformat().replace("+00:00", "Z")


def reference(kind: str, id_: int, display: str | None = None) -> dict[str, str]:
    """Return a reference to a resource."""
    ref = {"reference": f"{kind}/{id_}"}
    return ref | {"display": display} if display else ref


def loinc(code: str, display: str) -> dict[str, Any]:
    """Return a CodeableConcept of one LOINC code."""
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def patient_resource(patient: Patient) -> dict[str, Any]:
    """Return a Patient: record number, name and birth date only."""
    return {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                        }
                    ]
                },
                "value": patient.mrn,
            }
        ],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "birthDate": patient.birth_date.isoformat(),
    }


def appointment_resource(visit: Visit) -> dict[str, Any]:
    """Return an Appointment: status, times, the patient and the chair(s) as Locations."""
    places = [visit.chair] + ([visit.recovery_chair] if visit.recovery_chair else [])
    return {
        "resourceType": "Appointment",
        "id": str(visit.id),
        "status": APPOINTMENT_STATUS[visit.status],
        "start": instant(visit.infusion_start),
        "end": instant(visit.observation_end),
        "participant": [
            {"actor": reference("Patient", visit.patient_id), "status": "accepted"},
            *(
                {"actor": reference("Location", chair.id, chair.name), "status": "accepted"}
                for chair in places
            ),
        ],
    }


def schedule_resource(chair: Chair) -> dict[str, Any]:
    """Return the Schedule of one chair."""
    return {
        "resourceType": "Schedule",
        "id": str(chair.id),
        "active": chair.active,
        "actor": [reference("Location", chair.id, chair.name)],
    }


def slot_resource(slot: Any) -> dict[str, Any]:
    """Return a free Slot (computed, never stored): its id names the chair and the start."""
    return {
        "resourceType": "Slot",
        "id": f"{slot.chair_id}-{int(slot.infusion_start.timestamp())}",
        "schedule": reference("Schedule", slot.chair_id),
        "status": "free",
        "start": instant(slot.infusion_start),
        "end": instant(slot.observation_end),
    }


def _quantity(value: int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


# (id prefix, LOINC code, display, row field, unit, UCUM code)
SINGLE_VITALS = (
    ("hr", "8867-4", "Heart rate", "heart_rate", "beats/minute", "/min"),
    ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "spo2", "%", "%"),
    ("rr", "9279-1", "Respiratory rate", "respiratory_rate", "breaths/minute", "/min"),
)


def _vital(row: Observation, patient_id: int, id_: str, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{id_}-{row.id}",
        "status": "final",
        "category": [_category(VITAL_SIGNS, "Vital Signs")],
        "code": code,
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(row.at),
    }


def _category(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": CATEGORY, "code": code, "display": display}]}


def vital_resources(row: Observation, patient_id: int) -> list[dict[str, Any]]:
    """Return the vital-sign Observations of one reading (blood pressure, pulse, SpO2, RR)."""
    pressure = _vital(row, patient_id, "bp", loinc("85354-9", "Blood pressure panel"))
    pressure["component"] = [
        {
            "code": loinc(code, display),
            "valueQuantity": _quantity(value, "mmHg", "mm[Hg]"),
        }
        for code, display, value in (
            ("8480-6", "Systolic blood pressure", row.systolic),
            ("8462-4", "Diastolic blood pressure", row.diastolic),
        )
    ]
    found = [pressure]
    for id_, code, display, field, unit, ucum in SINGLE_VITALS:
        value = getattr(row, field)
        if value is not None:
            found.append(
                _vital(row, patient_id, id_, loinc(code, display))
                | {"valueQuantity": _quantity(value, unit, ucum)}
            )
    return found


def survey_resource(measure: Measure) -> dict[str, Any]:
    """Return the Observation of a measure's total (PHQ-9 44261-6, GAD-7 70274-6)."""
    instrument = INSTRUMENTS[measure.instrument]
    return {
        "resourceType": "Observation",
        "id": f"measure-{measure.id}",
        "status": "final",
        "category": [_category(SURVEY, "Survey")],
        "code": loinc(instrument.loinc_total, f"{instrument.title} total score"),
        "subject": reference("Patient", measure.patient_id),
        "effectiveDateTime": instant(measure.at),
        "valueInteger": measure.score,
        "derivedFrom": [reference("QuestionnaireResponse", measure.id)],
    }


def questionnaire_response_resource(measure: Measure) -> dict[str, Any]:
    """Return a completed measure as a QuestionnaireResponse (PHQ-9 44249-1), item by item."""
    instrument = INSTRUMENTS[measure.instrument]
    answer_type = "valueBoolean" if instrument.kind == "yes_no" else "valueInteger"
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(measure.id),
        "questionnaire": f"{LOINC}/q/{instrument.loinc_questionnaire}",
        "status": "completed",
        "subject": reference("Patient", measure.patient_id),
        "authored": instant(measure.at),
        "item": [
            {"linkId": str(n), "text": text, "answer": [{answer_type: answer}]}
            for n, (text, answer) in enumerate(
                zip(instrument.items, measure.answers, strict=True), start=1
            )
        ],
    }


# Instruments with a LOINC questionnaire and total (the C-SSRS screener has neither).
EXCHANGED = tuple(name for name, i in INSTRUMENTS.items() if i.loinc_questionnaire)


# --- reads and searches ------------------------------------------------------------------

Page = tuple[int, list[dict[str, Any]]]
# The audit detail of every FHIR read: which door the record left by (never what it held).
VIEW = {"view": "fhir"}


def read_patient(user: User, patient_id: int, now: datetime) -> dict[str, Any]:
    """Return a Patient of the user's sites (audited as a view), or raise NotFound."""
    patient = access.get_patient(user, patient_id)
    audit.viewed(user, patient.id, "patient", patient.id, VIEW, now=now, site_id=patient.site_id)
    return patient_resource(patient)


def read_appointment(user: User, visit_id: int, now: datetime) -> dict[str, Any]:
    """Return an Appointment of the user's sites (audited as a view), or raise NotFound."""
    visit = access.get_visit(user, visit_id)
    audit.viewed(user, visit.patient_id, "visit", visit.id, VIEW, now=now, site_id=visit.site_id)
    return appointment_resource(visit)


def _sites(user: User) -> list[Site]:
    return list(db.session.scalars(access.scope_to_sites(user, select(Site), Site.id)))


def _patient_of(user: User, patient_id: int | None, now: datetime) -> Patient | None:
    """Return the patient a search names if the user may see it (audited as a view of the
    record), else None: the search finds nothing."""
    if patient_id is None:
        return None
    patient = db.session.get(Patient, patient_id)
    if patient is None or not access.can_see_site(user, patient.site_id):
        return None
    audit.viewed(user, patient.id, "patient", patient.id, VIEW, now=now, site_id=patient.site_id)
    return patient


def _page(stmt: Select[Any], offset: int, count: int) -> tuple[int, list[Any]]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(db.session.scalars(stmt.offset(offset).limit(count))) if count else []
    return total or 0, rows


def search_appointments(
    user: User,
    patient_id: int | None,
    dates: Sequence[DateCriterion],
    offset: int,
    count: int,
    now: datetime,
) -> Page:
    """Return the visits of the user's sites (of one patient, in a time span) as Appointments.

    A search of no patient is audited as a list of each site's visits shown."""
    sites = _sites(user)
    stmt = select(Visit).where(
        Visit.site_id.in_([s.id for s in sites]),
        date_clause(dates, Visit.infusion_start, Visit.site_id, sites),
    )
    if patient_id is not None:
        patient = _patient_of(user, patient_id, now)
        stmt = stmt.where(Visit.patient_id == (patient.id if patient else 0))
    stmt = stmt.options(joinedload(Visit.chair), joinedload(Visit.recovery_chair))
    total, visits = _page(stmt.order_by(Visit.infusion_start, Visit.id), offset, count)
    if patient_id is None:
        for site in sites:
            shown = [v.patient_id for v in visits if v.site_id == site.id]
            if shown:
                audit.listed(user, "visit.list", site.id, shown, VIEW, now=now)
    return total, [appointment_resource(v) for v in visits]


def _chairs(user: User, chair_id: int | None = None) -> list[Chair]:
    stmt = access.scope_to_sites(user, select(Chair), Chair.site_id).where(
        Chair.kind == "chair", Chair.active.is_(True)
    )
    if chair_id is not None:
        stmt = stmt.where(Chair.id == chair_id)
    return list(db.session.scalars(stmt.order_by(Chair.id)))


def search_schedules(user: User, offset: int, count: int) -> Page:
    """Return one Schedule per active infusion chair of the user's sites."""
    chairs = _chairs(user)
    return len(chairs), [schedule_resource(c) for c in chairs[offset : offset + count]]


def search_slots(
    user: User,
    chair_id: int | None,
    starts: Sequence[DateCriterion],
    now: datetime,
    offset: int,
    count: int,
) -> Page:
    """Return the free slots of a chair (or of every chair of the user's one site).

    The days searched run from the lowest to the highest day the `start` criteria name
    (default: from today, a week), at most MAX_SLOT_DAYS.
    """
    if chair_id is None:
        site = access.get_site(user, access.default_site_id(user, None))
        chairs = None
    else:
        found = _chairs(user, chair_id)
        if not found:
            return 0, []
        site, chairs = found[0].site, {chair_id}
    first, last = _slot_days(site, starts, now)
    days = (last - first).days + 1
    if days < 1:
        return 0, []  # the criteria exclude each other
    if days > MAX_SLOT_DAYS:
        raise BadParameter(f"start: search at most {MAX_SLOT_DAYS} days of slots at a time.")
    everything = availability.slots(user, site.id, first, days, None, None, 10**6, now)
    free = [
        slot
        for slot in everything
        if (chairs is None or slot.chair_id in chairs)
        and all(c.test(slot.infusion_start, site) for c in starts)
    ]
    return len(free), [slot_resource(s) for s in free[offset : offset + count]]


def _slot_days(site: Site, starts: Sequence[DateCriterion], now: datetime) -> tuple[date, date]:
    """Return the first and last site-local days the start criteria can match."""
    zone = ZoneInfo(site.timezone)

    def day(criterion: DateCriterion) -> date:
        if criterion.day is not None:
            return criterion.day
        assert criterion.instant is not None
        return criterion.instant.astimezone(zone).date()

    lows = [day(c) for c in starts if c.prefix in ("eq", "ge", "gt")]
    highs = [day(c) for c in starts if c.prefix in ("eq", "le", "lt")]
    first = max(lows) if lows else today(site, now)
    last = min(highs) if highs else first + timedelta(days=DEFAULT_SLOT_DAYS - 1)
    return first, last


def _rows_of_patient(
    user: User,
    patient: Patient,
    model: Any,
    at: QueryableAttribute[datetime],
    dates: Sequence[DateCriterion],
    *criteria: ColumnElement[bool],
) -> list[Any]:
    stmt = access.scope_to_sites(
        user, select(model).join(Visit, Visit.id == model.visit_id), Visit.site_id
    )
    stmt = stmt.where(
        Visit.patient_id == patient.id,
        date_clause(dates, at, Visit.site_id, [patient.site]),
        *criteria,
    ).order_by(at, model.id)
    return list(db.session.scalars(stmt))


def search_observations(
    user: User,
    patient_id: int,
    categories: Sequence[str],
    dates: Sequence[DateCriterion],
    offset: int,
    count: int,
    now: datetime,
) -> Page:
    """Return a patient's vital signs and measure totals as Observations.

    Measure totals (category survey) need the clinical permission: asked for by a role
    without it, 403; unasked (no category), they are left out for it.
    """
    if SURVEY in categories:
        access.require(user, "clinical")
    wanted = set(categories) or {VITAL_SIGNS, SURVEY}
    if not access.can(user, "clinical"):
        wanted.discard(SURVEY)
    patient = _patient_of(user, patient_id, now)
    if patient is None:
        return 0, []
    found: list[tuple[datetime, dict[str, Any]]] = []
    if VITAL_SIGNS in wanted:
        for row in _rows_of_patient(user, patient, Observation, Observation.at, dates):
            found += [(row.at, r) for r in vital_resources(row, patient.id)]
    if SURVEY in wanted:
        for measure in _measures(user, patient, dates):
            found.append((measure.at, survey_resource(measure)))
    found.sort(key=lambda pair: pair[0])
    return len(found), [r for _, r in found[offset : offset + count]]


def _measures(user: User, patient: Patient, dates: Sequence[DateCriterion]) -> list[Measure]:
    return _rows_of_patient(
        user, patient, Measure, Measure.at, dates, Measure.instrument.in_(EXCHANGED)
    )


def search_questionnaire_responses(
    user: User,
    patient_id: int,
    dates: Sequence[DateCriterion],
    offset: int,
    count: int,
    now: datetime,
) -> Page:
    """Return a patient's completed PHQ-9 and GAD-7 measures as QuestionnaireResponses."""
    access.require(user, "clinical")
    patient = _patient_of(user, patient_id, now)
    if patient is None:
        return 0, []
    measures = _measures(user, patient, dates)
    return len(measures), [
        questionnaire_response_resource(m) for m in measures[offset : offset + count]
    ]


# --- the CapabilityStatement -------------------------------------------------------------

# resource type -> (interactions, search parameters as (name, type))
SUPPORTED: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "Patient": (("read",), ()),
    "Appointment": (("read", "search-type"), (("patient", "reference"), ("date", "date"))),
    "Schedule": (("search-type",), ()),
    "Slot": (("search-type",), (("schedule", "reference"), ("start", "date"))),
    "Observation": (
        ("search-type",),
        (("patient", "reference"), ("category", "token"), ("date", "date")),
    ),
    "QuestionnaireResponse": (
        ("search-type",),
        (("patient", "reference"), ("authored", "date")),
    ),
}


def capability_statement(now: datetime, base: str) -> dict[str, Any]:
    """Return what this server does: read-only R4 JSON, bearer tokens, the resources above."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now.date().isoformat(),
        "kind": "instance",
        "software": {"name": "Infusion Desk"},
        "implementation": {"description": "Infusion Desk FHIR R4 read API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Send an API token: Authorization: Bearer <token>. "
                    "Each token sees its user's sites, with its user's role."
                },
                "resource": [
                    _capability(kind, interactions, params)
                    for kind, (interactions, params) in SUPPORTED.items()
                ],
            }
        ],
    }


def _capability(
    kind: str, interactions: tuple[str, ...], params: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """Return one resource's entry of the CapabilityStatement."""
    entry: dict[str, Any] = {"type": kind, "interaction": [{"code": c} for c in interactions]}
    if "search-type" in interactions:
        entry["searchParam"] = [
            {"name": name, "type": type_} for name, type_ in (*params, ("_count", "number"))
        ]
    return entry
