"""The REMS 7-day tracker: each REMS session's monitoring form, due, overdue or submitted.

A REMS session is a discharged visit of a treatment type with `rems`; its Patient Monitoring
Form is due by the site-local discharge date + 7 days (clinic.domain.treatments). Staff mark
it submitted once, with the method and the REMS confirmation number; that resolves the
reminder the scheduler raised two days before the form falls overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clinic.domain.text import Kind
from clinic.domain.treatments import (
    SubmissionMethod,
    SubmissionStatus,
    submission_due_on,
    submission_status,
    submission_violations,
)
from clinic.domain.visits import FUTURE_TOLERANCE, Status
from clinic.extensions import db
from clinic.models import Patient, RemsSubmission, TreatmentType, User, Visit
from clinic.services import access, audit, notifications
from clinic.services.errors import Conflict, Invalid
from clinic.services.text_input import checked

MAX_CONFIRMATION = 60  # the column's length


@dataclass(frozen=True)
class TrackedSession:
    """One REMS session on the tracker: the visit, its patient, its form's due day and status."""

    visit: Visit
    patient: Patient
    due_on: date
    status: SubmissionStatus
    submission: RemsSubmission | None
    timezone: ZoneInfo

    @property
    def visit_id(self) -> int:
        """Return the visit's id (the API's `visit_id`)."""
        return self.visit.id

    @property
    def discharged_at(self) -> datetime | None:
        """Return when the patient was discharged."""
        return self.visit.discharged_at

    @property
    def session_date(self) -> date:
        """Return the session's site-local day (the day of the discharge)."""
        assert self.visit.discharged_at is not None
        return self.visit.discharged_at.astimezone(self.timezone).date()

    @property
    def patient_initials(self) -> str:
        """Return the patient's initials."""
        return f"{self.patient.given_name[:1]}{self.patient.family_name[:1]}".upper()

    @property
    def patient_name(self) -> str:
        """Return the patient's full name."""
        return f"{self.patient.given_name} {self.patient.family_name}"

    @property
    def method(self) -> str | None:
        """Return how the form was sent, once it was."""
        return self.submission.method if self.submission else None

    @property
    def confirmation(self) -> str | None:
        """Return the REMS confirmation number, once submitted."""
        return self.submission.confirmation if self.submission else None

    @property
    def submitted_at(self) -> datetime | None:
        """Return when the form was sent, once it was."""
        return self.submission.submitted_at if self.submission else None


def is_rems_session(visit: Visit) -> bool:
    """Tell whether a visit is a REMS session with a form to send: discharged, REMS type."""
    if visit.status != Status.DISCHARGED or visit.discharged_at is None:
        return False
    treatment_type = db.session.get(TreatmentType, visit.treatment_type_id)
    return treatment_type is not None and treatment_type.rems


def _tracked(
    visit: Visit, patient: Patient, submission: RemsSubmission | None, now: datetime
) -> TrackedSession:
    tz = ZoneInfo(visit.site.timezone)
    assert visit.discharged_at is not None
    due_on = submission_due_on(visit.discharged_at, tz)
    submitted_at = submission.submitted_at if submission else None
    status = submission_status(due_on, submitted_at, now, tz)
    return TrackedSession(visit, patient, due_on, status, submission, tz)


def list_sessions(
    actor: User, site_id: int, now: datetime, status: str | None = None
) -> list[TrackedSession]:
    """Return a site's REMS sessions (of one status, or all), earliest due first."""
    access.require(actor, "track_rems")
    site = access.get_site(actor, site_id)
    if status is not None and status not in SubmissionStatus.values():
        message = f"Must be one of {', '.join(SubmissionStatus.values())}."
        raise Invalid("status is invalid.", {"status": [message]})
    stmt = (
        select(Visit, Patient, RemsSubmission)
        .join(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
        .join(Patient, Patient.id == Visit.patient_id)
        .outerjoin(RemsSubmission, RemsSubmission.visit_id == Visit.id)
        .where(
            Visit.site_id == site.id,
            TreatmentType.rems.is_(True),
            Visit.status == Status.DISCHARGED.value,
            Visit.discharged_at.is_not(None),
        )
    )
    if status == SubmissionStatus.SUBMITTED:
        stmt = stmt.where(RemsSubmission.id.is_not(None))
    elif status is not None:
        stmt = stmt.where(RemsSubmission.id.is_(None))
    sessions = [
        _tracked(visit, patient, submission, now)
        for visit, patient, submission in db.session.execute(stmt)
    ]
    if status is not None:
        sessions = [s for s in sessions if s.status == status]
    sessions.sort(key=lambda s: (s.due_on, s.visit.id))
    return sessions


def get_session(actor: User, visit_id: int, now: datetime) -> TrackedSession | None:
    """Return a visit's place on the tracker, or None when it is no REMS session."""
    visit = access.get_visit(actor, visit_id)
    if not is_rems_session(visit):
        return None
    submission = db.session.scalar(
        select(RemsSubmission).where(RemsSubmission.visit_id == visit.id)
    )
    return _tracked(visit, visit.patient, submission, now)


def _checked_values(
    method: object, confirmation: object, submitted_at: object, now: datetime
) -> tuple[str, str, datetime]:
    """Return the submission's values, or raise Invalid naming every bad field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(method, str) or method not in SubmissionMethod.values():
        errors["method"] = [f"Must be one of {', '.join(SubmissionMethod.values())}."]
    text = confirmation.strip() if isinstance(confirmation, str) else ""
    if not text:
        errors["confirmation"] = ["Required: the confirmation number the REMS gave."]
    elif len(text) > MAX_CONFIRMATION:
        errors["confirmation"] = [f"At most {MAX_CONFIRMATION} characters."]
    else:
        try:
            text = checked({"confirmation": text}, {"confirmation": Kind.LINE})["confirmation"]
        except Invalid as error:
            errors.update(error.fields)
    if not isinstance(submitted_at, datetime) or submitted_at.tzinfo is None:
        errors["submitted_at"] = ["Must be an instant with an offset (Z or +hh:mm)."]
    elif submitted_at > now + FUTURE_TOLERANCE:
        errors["submitted_at"] = ["Cannot be in the future."]
    if errors:
        raise Invalid("Some fields are missing or invalid.", errors)
    assert isinstance(method, str) and isinstance(submitted_at, datetime)
    return method, text, submitted_at


def record_submission(
    actor: User,
    visit_id: int,
    method: object,
    confirmation: object,
    submitted_at: object,
    now: datetime,
) -> TrackedSession:
    """Mark a REMS session's form submitted (method, confirmation, when); resolve its reminder.

    404 for a visit the actor may not see, 422 for bad values, 409 `not_rems_session` for a
    visit with no form to send and `already_submitted` for a form marked once already.
    """
    access.require(actor, "track_rems")
    visit = access.get_visit(actor, visit_id)
    method, text, sent = _checked_values(method, confirmation, submitted_at, now)
    # One writer from here (SQLite), the visit locked (PostgreSQL, as the scheduler locks it
    # to raise the reminder): the checks below hold until the commit.
    notifications.begin_write()
    db.session.refresh(visit, with_for_update=True)
    existing = db.session.scalar(select(RemsSubmission).where(RemsSubmission.visit_id == visit.id))
    rems_session = is_rems_session(visit)
    if violations := submission_violations(rems_session, existing is not None):
        db.session.rollback()
        raise Conflict(violations[0].message, violations)
    assert visit.discharged_at is not None
    if sent < visit.discharged_at:
        db.session.rollback()
        message = "Cannot be before the patient's discharge."
        raise Invalid("submitted_at is invalid.", {"submitted_at": [message]})
    submission = RemsSubmission(
        visit_id=visit.id,
        method=method,
        confirmation=text,
        submitted_at=sent,
        recorded_by_id=actor.id,
        created_at=now,
    )
    db.session.add(submission)
    notifications.resolve_reminders(visit.id, now)
    audit.record(
        actor,
        "rems.submission",
        now,
        patient_id=visit.patient_id,
        object_type="visit",
        object_id=visit.id,
        detail={"method": method},
    )
    try:
        db.session.commit()
    except IntegrityError:  # another request marked it a moment before (PostgreSQL)
        db.session.rollback()
        violations = submission_violations(True, True)
        raise Conflict(violations[0].message, violations) from None
    return _tracked(visit, visit.patient, submission, now)
