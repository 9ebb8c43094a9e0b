"""Book, reschedule and list visits under every booking rule."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from clinic.database import Read, begin_write, fetch_together, lock_site_for_writing
from clinic.domain.availability import place_in_any_chair
from clinic.domain.booking import (
    ClearanceSpan,
    Context,
    ObservationFrom,
    Occupancy,
    Placement,
    Plan,
    Rule,
    ShiftSpan,
    SiteRules,
    Violation,
    check_booking,
    holds_for,
)
from clinic.domain.intervals import Interval
from clinic.domain.occupancy import IN_CARE, Progress, in_care
from clinic.domain.treatments import MINUTES_RANGE, rems_booking_violations
from clinic.domain.visits import HistoryType
from clinic.extensions import db
from clinic.models import (
    ACTIVE_STATUSES,
    Chair,
    Clearance,
    IdempotencyKey,
    Patient,
    Shift,
    Site,
    TreatmentType,
    User,
    Visit,
    VisitEvent,
)
from clinic.services import access, audit, board_version, patient_messages, treatment_types
from clinic.services.errors import Conflict, Invalid, NotFound
from clinic.services.site_settings import SITE_LIMITS
from clinic.services.sites import MAX_OBSERVATION_MINUTES, local_day_bounds, site_rules

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL: the chair-occupancy exclusion constraint

# The longest a booked visit holds anything from its infusion start (its chair, bay or care):
# the longest administration a type or a site allows, the longest observation and turnover.
LONGEST_HOLD = timedelta(
    minutes=max(MINUTES_RANGE[1], SITE_LIMITS["infusion_max"].high)
    + MAX_OBSERVATION_MINUTES
    + SITE_LIMITS["turnover_minutes"].high
)
# How far around a window of days to look for visits and shifts that may touch it: a visit
# that began up to the longest hold before the window may still hold a chair in it.
MARGIN = LONGEST_HOLD


@dataclass(frozen=True)
class Request:
    """What the front desk asks for; None means "the site's default" or "any chair"."""

    patient_id: int
    infusion_start: datetime
    site_id: int | None = None
    chair_id: int | None = None
    infusion_minutes: int | None = None
    observation_minutes: int | None = None
    notes: str = ""
    treatment_type_id: int | None = None  # None: the site's default type

    def digest(self) -> str:
        """Return a fingerprint of the request, for Idempotency-Key comparison."""
        body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(self).items()}
        if body["treatment_type_id"] is None:  # fingerprints taken before types stay valid
            del body["treatment_type_id"]
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Changes(TypedDict, total=False):
    """What a reschedule changes of a booked visit's plan; a missing key keeps it."""

    infusion_start: datetime
    chair_id: int | None  # None: any free chair
    infusion_minutes: int | None  # None: the visit's type's default
    observation_minutes: int | None


@dataclass(frozen=True)
class Timing:
    """A treatment type's minutes as booking reads them: ranges, defaults, counted from."""

    infusion_min: int
    infusion_max: int
    infusion_default: int
    observation_min: int
    observation_default: int
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END


def timing(site: Site, treatment_type: TreatmentType | None) -> Timing:
    """Return a type's timing (a site left without a default type: its own minute settings)."""
    if treatment_type is None:
        return Timing(
            site.infusion_min,
            site.infusion_max,
            site.infusion_default,
            site.observation_min,
            site.observation_default,
        )
    return Timing(
        treatment_type.administration_min,
        treatment_type.administration_max,
        treatment_type.administration_default,
        treatment_type.observation_min,
        treatment_type.observation_default,
        ObservationFrom(treatment_type.observation_from),
    )


def type_timing(site: Site, type_id: int | None) -> Timing:
    """Return the timing of one of the site's types by id (None: the site's settings)."""
    treatment_type = db.session.get(TreatmentType, type_id) if type_id is not None else None
    return timing(site, treatment_type)


def occupancy(visit: Row[Any], site: SiteRules, now: datetime) -> Occupancy:
    """Return what an existing visit (a row of its columns and its type's observation_from)
    holds, as the rules see it.

    A booked visit holds its plan; a visit in care holds what really happens (the domain's
    `in_care`), from the real check-in until the real release.
    """
    bay_hold = None
    if visit.bay_released_at is not None:
        bay_hold = Interval(visit.infusion_end, visit.bay_released_at)
    planned = Occupancy(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        chair_id=visit.chair_id,
        chair_hold=Interval(visit.infusion_start, visit.chair_released_at),
        bay_id=visit.recovery_chair_id if bay_hold else None,
        bay_hold=bay_hold,
        visit=Interval(visit.infusion_start, visit.observation_end),
        infusion_start=visit.infusion_start,
    )
    if visit.status not in IN_CARE or visit.checked_in_at is None:
        return planned
    progress = Progress(
        checked_in_at=visit.checked_in_at,
        infusion_started_at=visit.infusion_started_at,
        infusion_ended_at=visit.infusion_ended_at,
        infusion_minutes=visit.infusion_minutes,
        observation_minutes=visit.observation_minutes,
        extension_minutes=visit.extension_minutes,
        observation_from=ObservationFrom(
            visit.observation_from or ObservationFrom.ADMINISTRATION_END
        ),
    )
    return in_care(planned, progress, site.recovery_mode, site.turnover_minutes, now)


# Only the columns the rules read: the check runs under the site lock, so it must be quick.
_OCCUPANCY_COLUMNS = (
    Visit.id,
    Visit.patient_id,
    Visit.chair_id,
    Visit.recovery_chair_id,
    Visit.infusion_start,
    Visit.infusion_end,
    Visit.observation_end,
    Visit.chair_released_at,
    Visit.bay_released_at,
    Visit.status,
    Visit.infusion_minutes,
    Visit.observation_minutes,
    Visit.checked_in_at,
    Visit.infusion_started_at,
    Visit.infusion_ended_at,
    Visit.extension_minutes,
)


# More columns than select() types one by one: its rows are Row[Any].
def _visits_stmt(*criteria: ColumnElement[bool]) -> Select[Any]:
    return (
        select(*_OCCUPANCY_COLUMNS, TreatmentType.observation_from)
        .outerjoin(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
        .where(Visit.status.in_(ACTIVE_STATUSES), *criteria)
        .order_by(Visit.infusion_start)
    )


def _active_visits(*criteria: ColumnElement[bool]) -> list[Row[Any]]:
    return list(db.session.execute(_visits_stmt(*criteria)))


def _site_statements(
    site: Site, window: Interval, exclude_visit_id: int | None
) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """Return the reads of a site's context: its visits, shifts and active chairs and bays."""
    lo, hi = window.start - MARGIN, window.end + MARGIN
    visits = _visits_stmt(
        Visit.site_id == site.id,
        # A patient in care holds the chair until the real release, however old the plan.
        or_(and_(Visit.infusion_start < hi, Visit.infusion_start > lo), Visit.status.in_(IN_CARE)),
        Visit.id != (exclude_visit_id or 0),
    )
    shifts = select(Shift.user_id, Shift.role, Shift.starts_at, Shift.ends_at).where(
        Shift.site_id == site.id, Shift.starts_at < hi, Shift.ends_at > lo
    )
    chairs = select(Chair.id, Chair.kind).where(Chair.site_id == site.id, Chair.active.is_(True))
    return visits, shifts, chairs


# A booking's reads (`_plan_statements`, `_patient_statements`), built once: building them
# costs more than running them.
_PLAN_VISITS = _visits_stmt(
    Visit.site_id == bindparam("site"),
    or_(
        and_(
            Visit.infusion_start > bindparam("low"),
            Visit.infusion_start < bindparam("ends"),
            or_(
                Visit.chair_released_at > bindparam("start"),
                Visit.observation_end > bindparam("start"),
                Visit.bay_released_at > bindparam("start"),
            ),
        ),
        Visit.status.in_(IN_CARE),
    ),
    Visit.id != bindparam("exclude"),
)
_PLAN_SHIFTS = select(Shift.user_id, Shift.role, Shift.starts_at, Shift.ends_at).where(
    Shift.site_id == bindparam("site"),
    Shift.starts_at < bindparam("end"),
    Shift.ends_at > bindparam("start"),
)
_CHAIRS = select(Chair.id, Chair.kind).where(
    Chair.site_id == bindparam("site"), Chair.active.is_(True)
)
_PATIENT_VISITS = _visits_stmt(
    Visit.patient_id == bindparam("patient"),
    Visit.infusion_start < bindparam("high"),
    Visit.infusion_start > bindparam("low"),
    Visit.id != bindparam("exclude"),
)
_CLEARANCES = select(
    Clearance.evaluated_on,
    Clearance.valid_until,
    Clearance.cleared,
    Clearance.consent_signed,
    Clearance.voided_at,
).where(Clearance.patient_id == bindparam("patient"))


def _plan_statements(
    site: Site, visit: Interval, exclude_visit_id: int | None
) -> tuple[Read, Read, Read]:
    """Return the reads of a site's context for one plan whose visit is `visit`: only the
    visits and shifts that can touch it.

    The rules (`check_booking`) read other visits' holds and care where they overlap the
    plan's chair hold, bay hold or visit, which lie between the plan's start and its visit's
    end plus turnover; and the shifts overlapping its visit (nurses) or infusion
    (practitioners). A booked visit holds its plan (`occupancy`): it touches the plan only if
    it starts before that end and one of its holds ends after the plan's start, so it started
    at most LONGEST_HOLD before. A visit in care may hold its chair long past its plan: all of
    them are read.
    """
    visits = {
        "site": site.id,
        "low": visit.start - LONGEST_HOLD,
        "ends": visit.end + timedelta(minutes=site.turnover_minutes),
        "start": visit.start,
        "exclude": exclude_visit_id or 0,
    }
    shifts = {"site": site.id, "start": visit.start, "end": visit.end}
    return (_PLAN_VISITS, visits), (_PLAN_SHIFTS, shifts), (_CHAIRS, {"site": site.id})


def _patient_statements(
    rules: SiteRules, patient: Patient, window: Interval, exclude_visit_id: int | None
) -> tuple[Read, Read]:
    """Return the reads of a patient's context: their other visits near, their clearances."""
    reach = timedelta(hours=rules.min_hours_between_infusions) + MARGIN
    visits = {
        "patient": patient.id,
        "high": window.end + reach,
        "low": window.start - reach,
        "exclude": exclude_visit_id or 0,
    }
    return (_PATIENT_VISITS, visits), (_CLEARANCES, {"patient": patient.id})


def _context(
    rules: SiteRules, now: datetime, visits: list[Any], shifts: list[Any], chairs: list[Any]
) -> Context:
    return Context(
        site=rules,
        now=now,
        occupancies=[occupancy(v, rules, now) for v in visits],
        shifts=[ShiftSpan(s.role, Interval(s.starts_at, s.ends_at), s.user_id) for s in shifts],
        bay_ids=sorted(c.id for c in chairs if c.kind == "recovery_bay"),
        check_patient=False,
    )


def _with_patient(ctx: Context, visits: list[Any], clearances: list[Any]) -> Context:
    return replace(
        ctx,
        patient_visits=[occupancy(v, ctx.site, ctx.now) for v in visits],
        clearances=[
            ClearanceSpan(
                c.evaluated_on,
                c.valid_until,
                c.cleared,
                c.consent_signed,
                voided=c.voided_at is not None,
            )
            for c in clearances
        ],
        check_patient=True,
    )


def site_context(
    site: Site, window: Interval, now: datetime, exclude_visit_id: int | None = None
) -> Context:
    """Load the site's visits, shifts and bays around a window of time."""
    return _context(
        site_rules(site), now, *fetch_together(*_site_statements(site, window, exclude_visit_id))
    )


def patient_context(
    ctx: Context, patient: Patient, window: Interval, exclude_visit_id: int | None = None
) -> Context:
    """Add the patient's other visits and clearances to a site context."""
    reads = _patient_statements(ctx.site, patient, window, exclude_visit_id)
    return _with_patient(ctx, *fetch_together(*reads))


def full_context(
    site: Site, patient: Patient, window: Interval, now: datetime, exclude_visit_id: int | None
) -> tuple[Context, list[int]]:
    """Load a site's and a patient's context for one plan whose visit is `window` at once
    (one round trip on PostgreSQL), and the site's active infusion chairs."""
    rules = site_rules(site)
    visits, shifts, chairs, patient_visits, clearances = fetch_together(
        *_plan_statements(site, window, exclude_visit_id),
        *_patient_statements(rules, patient, window, exclude_visit_id),
    )
    ctx = _with_patient(_context(rules, now, visits, shifts, chairs), patient_visits, clearances)
    return ctx, sorted(c.id for c in chairs if c.kind == "chair")


def active_chair_ids(site: Site) -> list[int]:
    """Return the ids of the site's active infusion chairs."""
    stmt = select(Chair.id).where(
        Chair.site_id == site.id, Chair.kind == "chair", Chair.active.is_(True)
    )
    return sorted(db.session.scalars(stmt))


def _durations(times: Timing, infusion: int | None, observation: int | None) -> tuple[int, int]:
    """Return the minutes asked, or the type's defaults; 422 outside the type's ranges."""
    infusion = times.infusion_default if infusion is None else infusion
    observation = times.observation_default if observation is None else observation
    fields: dict[str, list[str]] = {}
    if not times.infusion_min <= infusion <= times.infusion_max:
        fields["infusion_minutes"] = [
            f"Must be between {times.infusion_min} and {times.infusion_max} minutes."
        ]
    if not times.observation_min <= observation <= MAX_OBSERVATION_MINUTES:
        fields["observation_minutes"] = [
            f"Must be between {times.observation_min} and {MAX_OBSERVATION_MINUTES} minutes."
        ]
    if fields:
        raise Invalid("Some values are out of range.", fields)
    return infusion, observation


# What a request names, loaded and checked: its site, patient, chair (or None), and the
# treatment type it names or its site's default, held while the rules read it.
Resolved = tuple[Site, Patient, Chair | None, TreatmentType | None]


def _load_named(req: Request) -> Row[Any] | None:
    """Load the patient, chair, site and treatment type a request names in one statement.

    They land in the session, where `_resolve` finds (and checks) them; one missing is
    looked up again there, and refused.
    """
    if req.site_id is not None:
        at_site = Site.id == req.site_id
    else:
        at_site = Site.id == (Chair.site_id if req.chair_id is not None else Patient.site_id)
    if req.treatment_type_id is not None:
        of_type = TreatmentType.id == req.treatment_type_id
    else:
        of_type = TreatmentType.id == Site.default_treatment_type_id
    stmt = (
        select(Patient, Chair, Site, TreatmentType)
        .select_from(Patient)
        .outerjoin(Chair, Chair.id == (req.chair_id or 0))
        .outerjoin(Site, at_site)
        .outerjoin(TreatmentType, of_type)
        .where(Patient.id == req.patient_id)
    )
    return db.session.execute(stmt).first()


def _resolve(actor: User, req: Request) -> Resolved:
    """Load and check the objects a request names."""
    named = _load_named(req)
    patient = access.get_patient(actor, req.patient_id)
    chair = None
    if req.chair_id is not None:
        chair = db.session.get(Chair, req.chair_id)
        if chair is None or not access.can_see_site(actor, chair.site_id):
            raise NotFound("chair")
    site_id = req.site_id or (chair.site_id if chair else patient.site_id)
    site = access.get_site(actor, site_id)
    if chair is not None and (
        chair.site_id != site.id or chair.kind != "chair" or not chair.active
    ):
        raise Invalid(
            "That chair cannot take infusions here.",
            {"chair_id": ["Choose an active infusion chair of this site."]},
        )
    if req.infusion_start.tzinfo is None:
        raise Invalid("Give the time with its offset.", {"infusion_start": ["Naive instant."]})
    return site, patient, chair, named[3] if named is not None else None


def evaluate(
    actor: User,
    req: Request,
    now: datetime,
    exclude_visit_id: int | None = None,
    allow_past: bool = False,
    visit_type_id: int | None = None,
) -> tuple[Site, Patient, Placement | None, list[Violation]]:
    """Check a request against every rule without writing anything.

    visit_type_id: the type of the visit being moved, kept even if no longer bookable.
    The minutes default to and are checked against the type's; its observation is counted
    as the type says.
    """
    return _evaluate(req, now, _resolve(actor, req), exclude_visit_id, allow_past, visit_type_id)


def _evaluate(
    req: Request,
    now: datetime,
    resolved: Resolved,
    exclude_visit_id: int | None = None,
    allow_past: bool = False,
    visit_type_id: int | None = None,
) -> tuple[Site, Patient, Placement | None, list[Violation]]:
    """Check a request whose site, patient and chair are loaded (see `evaluate`)."""
    site, patient, chair, _ = resolved
    type_id = visit_type_id or treatment_types.bookable_type_id(site, req.treatment_type_id)
    # Held while the rules read it twice (the session keeps only what is referenced).
    treatment_type = db.session.get(TreatmentType, type_id) if type_id is not None else None
    times = timing(site, treatment_type)
    infusion, observation = _durations(times, req.infusion_minutes, req.observation_minutes)
    plan = Plan(
        patient.id,
        chair.id if chair else 0,
        req.infusion_start,
        infusion,
        observation,
        times.observation_from,
    )
    ctx, chairs = full_context(site, patient, plan.visit, now, exclude_visit_id)
    ctx = replace(ctx, allow_past=allow_past)
    if chair is not None:
        placement, violations = check_booking(plan, ctx)
    else:
        if not chairs:
            return site, patient, None, [Violation(Rule.CHAIR_BUSY, "This site has no chairs.")]
        placement, violations = place_in_any_chair(plan, ctx, chairs)
    rems = rems_violations(site, patient, type_id, req.infusion_start)
    if rems:
        return site, patient, None, rems + [v for v in violations if v not in rems]
    return site, patient, placement, violations


def rems_violations(
    site: Site, patient: Patient, type_id: int | None, start: datetime
) -> list[Violation]:
    """Return the REMS rules a booking of a REMS type breaks on its local day (none otherwise)."""
    treatment_type = db.session.get(TreatmentType, type_id) if type_id is not None else None
    if treatment_type is None or not treatment_type.rems:
        return []
    local_day = start.astimezone(ZoneInfo(site.timezone)).date()
    return rems_booking_violations(
        True, site.rems_certified_on, patient.rems_enrolled_on, local_day
    )


def _apply_placement(visit: Visit, site: Site, placement: Placement) -> None:
    plan = placement.plan
    holds = holds_for(plan, site_rules(site).recovery_mode, site.turnover_minutes)
    visit.chair_id = plan.chair_id
    visit.infusion_start = plan.infusion_start
    visit.infusion_end = plan.infusion.end
    visit.observation_end = plan.recovery.end
    visit.infusion_minutes = plan.infusion_minutes
    visit.observation_minutes = plan.observation_minutes
    visit.chair_released_at = holds.chair.end
    if holds.bay is not None:
        visit.recovery_chair_id = placement.bay_id
        visit.bay_released_at = holds.bay.end
    else:
        visit.recovery_chair_id = plan.chair_id
        visit.bay_released_at = None


def _refuse(violations: list[Violation]) -> Conflict:
    if len(violations) == 1:
        return Conflict(violations[0].message, violations)
    return Conflict("This visit breaks several booking rules.", violations)


def commit_or_conflict(keep_loaded: bool = False) -> None:
    """Commit; the database's last line of defence (exclusion constraint) becomes a 409.

    keep_loaded: keep what the session holds as written (no reload after the commit), for
    an answer built from what was just written.
    """
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, not keep_loaded
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise _conflict_from(error) from None
    finally:
        session.expire_on_commit = expire


def _conflict_from(error: IntegrityError) -> Exception:
    """Turn an exclusion-constraint violation into chair_busy; keep other errors as they are."""
    if getattr(error.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
        return _refuse([Violation(Rule.CHAIR_BUSY, "That chair was just taken.")])
    return error


def find_idempotent(actor: User, key: str, req: Request) -> Visit | None:
    """Return the visit an earlier request with this key booked, if any."""
    stored = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
    )
    if stored is None:
        return None
    if stored.request_digest != req.digest():
        raise Invalid(
            "This Idempotency-Key was used for another request.",
            {"Idempotency-Key": ["Used before with a different body."]},
        )
    return db.session.get(Visit, stored.visit_id)


def book(
    actor: User,
    req: Request,
    now: datetime,
    idempotency_key: str | None = None,
    series_id: str | None = None,
) -> tuple[Visit, bool]:
    """Book a visit under every rule; return it and whether it was created now.

    The rules' inputs are read before the site's lock is taken, with the site's board
    version read first (it moves with every write a booking reads: visits, chairs, types,
    the site, its patients; clinic/services/board_version.py). Under the lock the version
    is read again: unchanged, nothing those reads saw has changed since; moved, they are
    read again under the lock. So the lock is held only for the write.
    """
    access.require(actor, "book")
    if idempotency_key:
        earlier = find_idempotent(actor, idempotency_key, req)
        if earlier is not None:
            return earlier, False
    resolved = _resolve(actor, req)
    site = resolved[0]
    seen = site.board_version  # before every read below (an older one only re-reads)
    outcome = _evaluate(req, now, resolved)
    if _lock(site.id, seen):
        db.session.expire_all()  # the site moved meanwhile: read it all again, locked
        outcome = _evaluate(req, now, _resolve(actor, req))
    try:
        visit, violations = place(actor, req, now, series_id, outcome, _chain_held(site.id))
    except Conflict as refusal:  # the chairs' exclusion constraint refused the insert
        _audit_refusal(actor, "visit.book", now, req.patient_id, None, refusal.reasons, site.id)
        raise
    if visit is None:
        board_version.unbump(db.session(), site.id)
        _audit_refusal(actor, "visit.book", now, req.patient_id, None, violations, site.id)
        raise _refuse(violations)
    audit.record(
        actor,
        "visit.book",
        now,
        patient_id=visit.patient_id,
        object_type="visit",
        object_id=visit,
        detail={"chair_id": visit.chair_id},
        site_id=visit.site_id,
    )
    patient_messages.visit_changed(visit, "book", now)
    if idempotency_key:
        db.session.add(
            IdempotencyKey(
                user_id=actor.id,
                key=idempotency_key,
                request_digest=req.digest(),
                visit_id=visit.id,
            )
        )
    try:
        commit_or_conflict(keep_loaded=True)
    except Conflict as refusal:
        _audit_refusal(actor, "visit.book", now, req.patient_id, None, refusal.reasons, req.site_id)
        raise
    except IntegrityError:
        if idempotency_key:
            earlier = find_idempotent(actor, idempotency_key, req)
            if earlier is not None:
                return earlier, False
        raise
    return visit, True


def _lock(site_id: int, seen: int) -> bool:
    """Take the site's write lock; return whether what was read before may be stale.

    PostgreSQL: the lock, the bump of the board version a booking makes anyway and, after
    them, the lock of the site's audit chain (where all of a booking's rows go), in one
    statement; stale unless the version was still `seen`.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return lock_site_for_writing(site_id)
    session = db.session()
    version = board_version.lock_and_bump(session, site_id, audit.chain_lock(site_id))
    audit.held(session, site_id)
    return version != seen


def _chain_held(site_id: int) -> int | None:
    """Return the audit chain whose lock `_lock` took (PostgreSQL), else None."""
    return site_id if db.session.get_bind().dialect.name == "postgresql" else None


def place(
    actor: User,
    req: Request,
    now: datetime,
    series_id: str | None = None,
    outcome: tuple[Site, Patient, Placement | None, list[Violation]] | None = None,
    chain: int | None = None,
) -> tuple[Visit | None, list[Violation]]:
    """Check a request and add its visit to the session (no commit; caller holds the lock).

    outcome: the request's check, made by the caller under the lock (else made here).
    chain: the audit chain whose lock the caller holds (PostgreSQL): the visit and its
    booking event are written in one statement that reads the chain's last hash too.
    """
    site, patient, placement, violations = outcome or evaluate(actor, req, now)
    if placement is None:
        return None, violations
    visit = Visit(
        patient_id=patient.id,
        site_id=site.id,
        treatment_type_id=treatment_types.bookable_type_id(site, req.treatment_type_id),
        notes=req.notes,
        created_by_id=actor.id,
        series_id=series_id,
        created_at=now,
    )
    _apply_placement(visit, site, placement)
    try:
        if chain is None:
            db.session.add(visit)
            _history(visit, HistoryType.BOOK, actor, now, _slot(visit))
            db.session.flush()
        else:
            _insert_with_head(
                visit, _event(visit, HistoryType.BOOK, actor, now, _slot(visit)), chain
            )
    except IntegrityError as error:
        db.session.rollback()
        raise _conflict_from(error) from None
    return visit, []


def _slot(visit: Visit) -> dict[str, Any]:
    """Return where and when a visit is planned, as its booking history keeps it."""
    return {"infusion_start": visit.infusion_start.isoformat(), "chair_id": visit.chair_id}


def _history(
    visit: Visit, type_: HistoryType, actor: User, now: datetime, data: dict[str, Any]
) -> None:
    """Keep a booking change on the visit's timeline (booked, rescheduled from and to)."""
    db.session.add(_event(visit, type_, actor, now, data))


def _event(
    visit: Visit, type_: HistoryType, actor: User, now: datetime, data: dict[str, Any]
) -> VisitEvent:
    return VisitEvent(
        visit=visit, type=type_.value, at=now, recorded_at=now, by_id=actor.id, data=data
    )


def _insert_with_head(visit: Visit, event: VisitEvent, chain: int) -> None:
    """Write a new visit and its event in one statement (PostgreSQL) that reads the last
    hash of an audit chain whose lock this transaction holds (it begins after the lock was
    granted); then the session holds both as written, and the audit append reads no more.

    A clash with the chairs' exclusion constraint raises IntegrityError, as a flush would.
    """
    session = db.session()
    visits, events = Visit.__table__, VisitEvent.__table__
    new_visit = insert(visits).values(_values(visit)).returning(*visits.c).cte("new_visit")
    visit_id = select(new_visit.c.id).scalar_subquery()
    new_event = (
        insert(events)
        .values(_values(event) | {"visit_id": visit_id})
        .returning(events.c.id.label("event_id"), events.c.visit_id)
        .cte("new_event")
    )
    stmt = select(new_visit, new_event.c.event_id, audit.chain_head(chain).label("head"))
    stmt = stmt.select_from(new_visit.join(new_event, new_event.c.visit_id == new_visit.c.id))
    row = session.execute(stmt).one()
    for column in visits.c:
        setattr(visit, column.key, row._mapping[column.key])
    event.id, event.visit_id = row.event_id, row.id
    make_transient_to_detached(event)  # before the visit: adding it cascades to its events
    make_transient_to_detached(visit)
    session.add(visit)
    board_version.note_sites(session, [visit.site_id])  # a write no flush event saw
    audit.held(session, chain, row.head or audit.GENESIS)


def _values(row: Any) -> dict[str, Any]:
    """Return a new row's column values as the ORM would insert them: set, or defaulted
    (a callable default gets no context: the columns whose default needs one are set)."""
    values = {}
    for column in row.__table__.c:
        if column.key in row.__dict__:
            values[column.key] = row.__dict__[column.key]
        elif column.default is not None and not column.primary_key:
            default = column.default.arg
            values[column.key] = default if column.default.is_scalar else default(None)
    return values


def reschedule(actor: User, visit_id: int, changes: Changes, now: datetime) -> Visit:
    """Move a booked visit under the same rules; its old slot is free again."""
    access.require(actor, "book")
    visit = access.get_visit(actor, visit_id)
    lock_site_for_writing(visit.site_id)
    visit = access.get_visit(actor, visit_id)
    if visit.status != "booked":
        raise Conflict(f"Only a booked visit can be rescheduled; this one is {visit.status}.")
    req = Request(
        patient_id=visit.patient_id,
        site_id=visit.site_id,
        infusion_start=changes.get("infusion_start", visit.infusion_start),
        chair_id=changes.get("chair_id", visit.chair_id),
        infusion_minutes=changes.get("infusion_minutes", visit.infusion_minutes),
        observation_minutes=changes.get("observation_minutes", visit.observation_minutes),
    )
    site, _, placement, violations = evaluate(
        actor, req, now, exclude_visit_id=visit.id, visit_type_id=visit.treatment_type_id
    )
    if placement is None:
        _audit_refusal(
            actor, "visit.reschedule", now, req.patient_id, visit_id, violations, req.site_id
        )
        raise _refuse(violations)
    before = _slot(visit)
    _apply_placement(visit, site, placement)
    _history(visit, HistoryType.RESCHEDULE, actor, now, {"from": before, "to": _slot(visit)})
    audit.record(
        actor,
        "visit.reschedule",
        now,
        patient_id=visit.patient_id,
        object_type="visit",
        object_id=visit.id,
        detail={"fields": sorted(changes), "chair_id": visit.chair_id},
        site_id=visit.site_id,
    )
    moved = before["infusion_start"] != visit.infusion_start.isoformat()
    patient_messages.visit_changed(visit, "reschedule" if moved else "rechair", now)
    commit_or_conflict()
    return visit


def rebook(actor: User, visit: Visit, now: datetime, allow_past: bool = False) -> None:
    """Put a visit that left its chair back into its own slot under every booking rule.

    Raises a Conflict naming every broken rule; the caller holds the site lock and commits.
    """
    chair = db.session.get(Chair, visit.chair_id)
    if chair is None or not chair.active:
        message = "The visit's chair is out of service: book the visit again in another chair."
        raise _refuse([Violation(Rule.CHAIR_BUSY, message)])
    req = Request(
        patient_id=visit.patient_id,
        site_id=visit.site_id,
        infusion_start=visit.infusion_start,
        chair_id=visit.chair_id,
        infusion_minutes=visit.infusion_minutes,
        observation_minutes=visit.observation_minutes,
    )
    site, _, placement, violations = evaluate(
        actor,
        req,
        now,
        exclude_visit_id=visit.id,
        allow_past=allow_past,
        visit_type_id=visit.treatment_type_id,
    )
    if placement is None:
        raise _refuse(violations)
    _apply_placement(visit, site, placement)


def _audit_refusal(
    actor: User,
    action: str,
    now: datetime,
    patient_id: int,
    visit_id: int | None,
    violations: Sequence[Violation],
    site_id: int | None = None,
) -> None:
    """Record a refused booking change, naming the broken rules, and commit.

    The row is written in the refusal's own transaction when it wrote nothing else (the
    rules refused before anything was added); else after a rollback, in one of its own.
    """
    session = db.session()
    alone = not (session.new or session.dirty or session.deleted)
    if not alone or not session.in_transaction():
        session.rollback()
        begin_write()  # SQLite: take the write lock up front (a stale read could not write)
    audit.record(
        actor,
        action,
        now,
        patient_id=patient_id,
        object_type="visit" if visit_id else None,
        object_id=visit_id,
        outcome="refused",
        detail={"rules": sorted({str(v.rule) for v in violations})},
        site_id=site_id,
    )
    session.commit()


def visits_on_day(actor: User, site_id: int, day: date) -> list[Visit]:
    """Return every visit of a site-local day, in start order."""
    site = access.get_site(actor, site_id)
    start, end = local_day_bounds(site, day)
    stmt = (
        select(Visit)
        .where(Visit.site_id == site.id, Visit.infusion_start >= start, Visit.infusion_start < end)
        .order_by(Visit.infusion_start, Visit.chair_id)
    )
    return list(db.session.scalars(stmt))


def apply_placement(visit: Visit, site: Site, placement: Placement) -> None:
    """Write a placement that passed every rule onto a visit (no commit)."""
    _apply_placement(visit, site, placement)


def booking_slot(visit: Visit) -> dict[str, Any]:
    """Return where and when a visit is planned, as its booking history keeps it."""
    return _slot(visit)


def add_history(visit: Visit, actor: User, now: datetime, data: dict[str, Any]) -> None:
    """Keep a reschedule on the visit's timeline (from and to)."""
    _history(visit, HistoryType.RESCHEDULE, actor, now, data)
