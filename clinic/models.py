"""The clinic's data: SQLAlchemy 2 typed models with small derived properties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.domain.alarms import AlertKind, Channel, DeliveryStatus
from clinic.domain.audit import Outcome
from clinic.domain.booking import ChairKind, RecoveryMode
from clinic.domain.choices import Choice
from clinic.domain.instruments import InstrumentName, ReviewDecision
from clinic.domain.messages import (
    DEFAULT_CANCEL_WINDOW_HOURS,
    Confirmation,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from clinic.domain.roles import Role, SignInStep
from clinic.domain.treatments import ObservationFrom, SubmissionMethod, TreatmentKind
from clinic.domain.visits import ACTIVE, Status
from clinic.domain.waitlist import EntryStatus, OfferStatus, PartOfDay, PlanTemplate
from clinic.extensions import Model, db
from clinic.types import UTCDateTime, utcnow

ROLES = Role.values()
ACTIVE_STATUSES = tuple(status.value for status in ACTIVE)


def check_in(column: str, choice: type[Choice]) -> CheckConstraint:
    """Allow in `column` only the values of an enumeration (the constraint takes its name)."""
    listed = ", ".join(f"'{value}'" for value in choice.values())
    return CheckConstraint(f"{column} IN ({listed})", name=column)


user_sites = Table(
    "user_sites",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Site(Model):
    """A clinic location with its own time zone, hours, chairs and rules."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    # {"mon": ["08:00", "18:00"], ..., "sun": None}
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    nurse_ratio: Mapped[int] = mapped_column(Integer, default=4)
    require_practitioner_on_site: Mapped[bool] = mapped_column(Boolean, default=True)
    infusion_min: Mapped[int] = mapped_column(Integer, default=45)
    infusion_max: Mapped[int] = mapped_column(Integer, default=60)
    infusion_default: Mapped[int] = mapped_column(Integer, default=45)
    observation_min: Mapped[int] = mapped_column(Integer, default=60)
    observation_default: Mapped[int] = mapped_column(Integer, default=120)
    overdue_after_minutes: Mapped[int] = mapped_column(Integer, default=15)
    turnover_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_hours_between_infusions: Mapped[int] = mapped_column(Integer, default=24)
    recovery_mode: Mapped[str] = mapped_column(String(10), default=RecoveryMode.CHAIR.value)
    # Overrides of the vital-sign limits (clinic.domain.vitals.Thresholds field names);
    # an empty object means DESIGN.md's defaults.
    vital_thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Automatic logoff: minutes without a request before a signed-in session ends.
    idle_timeout_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # Check-in and the infusion start open this long before the planned infusion start.
    check_in_open_minutes: Mapped[int] = mapped_column(Integer, default=120)
    # A no-show may be recorded once the planned start is this many minutes past.
    no_show_after_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # The type a visit gets when booking names none (every site has one, made with the site).
    # Sites and types refer to each other: SET NULL lets a whole schema be dropped.
    default_treatment_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_types.id", use_alter=True, ondelete="SET NULL")
    )
    # REMS certification of the setting (null: not certified).
    rems_certified_on: Mapped[date | None] = mapped_column(Date)
    rems_authorized_representative: Mapped[str | None] = mapped_column(String(120))
    # What patients hear and when: {offsets_minutes, channels, quiet_start, quiet_end,
    # instructions}; null means the defaults (clinic.services.patient_messages.DEFAULTS).
    reminders: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # "I can't come" this close to the visit asks the desk; earlier, it cancels the visit.
    cancel_window_hours: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_CANCEL_WINDOW_HOURS, server_default="24"
    )
    # The measures recorded that local day before an infusion may start (instrument names).
    screening_before_start: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["cssrs_screen"], server_default='["cssrs_screen"]'
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped in the transaction of every write the recovery board shows (a poll compares it
    # instead of building the board): clinic/services/board_version.py.
    board_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    chairs: Mapped[list[Chair]] = relationship(back_populates="site", order_by="Chair.id")


class TreatmentType(Model):
    """What a site gives: its administration and observation minutes, REMS, pre-dose BP limit."""

    __tablename__ = "treatment_types"
    __table_args__ = (
        check_in("kind", TreatmentKind),
        check_in("observation_from", ObservationFrom),
        CheckConstraint(
            "0 < administration_min AND administration_min <= administration_default "
            "AND administration_default <= administration_max",
            name="administration_range",
        ),
        CheckConstraint(
            "0 <= observation_min AND observation_min <= observation_default",
            name="observation_range",
        ),
        CheckConstraint(
            "(predose_systolic_max IS NULL) = (predose_diastolic_max IS NULL)",
            name="predose_bp_pair",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    administration_min: Mapped[int] = mapped_column(Integer)
    administration_max: Mapped[int] = mapped_column(Integer)
    administration_default: Mapped[int] = mapped_column(Integer)
    observation_min: Mapped[int] = mapped_column(Integer)
    observation_default: Mapped[int] = mapped_column(Integer)
    observation_from: Mapped[str] = mapped_column(String(30))
    rems: Mapped[bool] = mapped_column(Boolean, default=False)
    predose_systolic_max: Mapped[int | None] = mapped_column(Integer)
    predose_diastolic_max: Mapped[int | None] = mapped_column(Integer)


def _site_default_type(context: Any) -> int | None:
    """Give a new visit its site's default treatment type when none is named."""
    site_id = context.get_current_parameters()["site_id"]
    query = text("SELECT default_treatment_type_id FROM sites WHERE id = :id")
    return context.connection.execute(query, {"id": site_id}).scalar()


class Chair(Model):
    """An infusion chair or a recovery bay."""

    __tablename__ = "chairs"
    __table_args__ = (check_in("kind", ChairKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default=ChairKind.CHAIR.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    site: Mapped[Site] = relationship(back_populates="chairs")


class User(UserMixin, Model):
    """A member of staff who signs in; the role decides what they may do."""

    __tablename__ = "users"
    __table_args__ = (check_in("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Lockout: failed sign-ins counted in the database, so every worker sees the same count.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP second factor (never logged); the secret exists from enrolment, enabled once
    # confirmed. Stored encrypted (clinic.services.totp_secrets): read it through totp.secret_of.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code counts only once

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, order_by="Site.id")

    def is_locked(self, now: datetime) -> bool:
        """Tell whether too many failed sign-ins keep the account locked at `now`."""
        return self.locked_until is not None and self.locked_until > now

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        """Tell Flask-Login whether the account may sign in."""
        return self.active

    @property
    def is_admin(self) -> bool:
        """Tell whether the user administers every site."""
        return self.role == Role.ADMIN

    @property
    def site_ids(self) -> list[int]:
        """Return the ids of the user's sites."""
        return [site.id for site in self.sites]


class ApiToken(Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored.

    It opens the API until `expires_at` unless revoked (by its user, an administrator, or
    a password reset, disabling or role change of its user: `revoked_reason`).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship()

    def is_live(self, now: datetime) -> bool:
        """Tell whether the token still opens the API at `now`."""
        return self.revoked_at is None and now < self.expires_at

    def status(self, now: datetime) -> str:
        """Return "active", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if now < self.expires_at else "expired"


class Shift(Model):
    """Someone on duty at a site from starts_at to ends_at."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive"),
        Index("ix_shifts_site_time", "site_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Patient(Model):
    """A patient of a home site."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(40), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    weight_kg: Mapped[float | None] = mapped_column(Float)
    escort_name: Mapped[str | None] = mapped_column(String(120))
    escort_phone: Mapped[str | None] = mapped_column(String(40))
    rems_enrolled_on: Mapped[date | None] = mapped_column(Date)
    rems_patient_id: Mapped[str | None] = mapped_column(String(40))
    # Consent to messages per channel: when it was given and by whom (null: not given; a
    # withdrawal clears it, the audit trail keeps the history). By null: the patient.
    email_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escort_sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escort_sms_consent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()
    clearances: Mapped[list[Clearance]] = relationship(
        back_populates="patient", order_by="Clearance.evaluated_on.desc()"
    )

    @property
    def full_name(self) -> str:
        """Return the name as staff say it."""
        return f"{self.given_name} {self.family_name}"

    @property
    def initials(self) -> str:
        """Return the initials shown where a full name would be too much."""
        return f"{self.given_name[:1]}{self.family_name[:1]}".upper()

    @property
    def contact(self) -> dict[str, bool]:
        """Return the patient's consent per channel, as the API shows it."""
        return {"email": self.email_consent_at is not None, "sms": self.sms_consent_at is not None}

    @property
    def consent_email(self) -> bool:
        """Tell whether the patient agreed to e-mails (the patient form's box)."""
        return self.email_consent_at is not None

    @property
    def consent_sms(self) -> bool:
        """Tell whether the patient agreed to text messages (the patient form's box)."""
        return self.sms_consent_at is not None

    @property
    def escort_sms_consent(self) -> bool:
        """Tell whether the escort agreed to the pick-up SMS."""
        return self.escort_sms_consent_at is not None

    @property
    def rems_enrollment(self) -> dict[str, Any] | None:
        """Return the REMS enrolment as the API shows it, or None when not enrolled."""
        if self.rems_enrolled_on is None:
            return None
        return {"enrolled_on": self.rems_enrolled_on, "rems_patient_id": self.rems_patient_id}


class Clearance(Model):
    """A practitioner's evaluation that clears (or not) a patient for treatment."""

    __tablename__ = "clearances"
    __table_args__ = (CheckConstraint("valid_until >= evaluated_on", name="valid_span"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    cleared: Mapped[bool] = mapped_column(Boolean)
    consent_signed: Mapped[bool] = mapped_column(Boolean)
    contraindications: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest correction (which fields changed is in the audit trail).
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A voided clearance stays on record but clears nobody.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # The practitioner's IV ketamine order: with the patient's weight, the expected dose.
    mg_per_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 3))

    patient: Mapped[Patient] = relationship(back_populates="clearances")
    practitioner: Mapped[User] = relationship(foreign_keys=[practitioner_id])
    corrected_by: Mapped[User | None] = relationship(foreign_keys=[corrected_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    @property
    def voided(self) -> bool:
        """Tell whether the clearance was voided."""
        return self.voided_at is not None


class Visit(Model):
    """One booking: an infusion block then a recovery block, held and moved together.

    The plan columns (infusion_start .. bay_released_at) change only by rescheduling;
    what actually happened is in the *_at columns and the events.
    """

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_site_start", "site_id", "infusion_start"),
        Index("ix_visits_chair_start", "chair_id", "infusion_start"),
        Index("ix_visits_patient_start", "patient_id", "infusion_start"),
        Index("ix_visits_updated", "updated_at"),
        # The dashboard's "who is in care now" stays one short look-up however long the
        # history (ix_visits_site_start would scan every visit of the site).
        Index("ix_visits_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    recovery_chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))
    treatment_type_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_types.id"), default=_site_default_type
    )
    status: Mapped[str] = mapped_column(String(20), default=Status.BOOKED.value, index=True)
    infusion_start: Mapped[datetime] = mapped_column(UTCDateTime)
    infusion_end: Mapped[datetime] = mapped_column(UTCDateTime)
    observation_end: Mapped[datetime] = mapped_column(UTCDateTime)
    infusion_minutes: Mapped[int] = mapped_column(Integer)
    observation_minutes: Mapped[int] = mapped_column(Integer)
    # End of the chair hold (turnover included); in bay mode also the bay hold.
    chair_released_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bay_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    infusion_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    infusion_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_minutes: Mapped[int] = mapped_column(Integer, default=0)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    series_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The REMS monitoring form's answers the record cannot derive (null until recorded).
    rems_concomitant: Mapped[dict[str, bool] | None] = mapped_column(JSON)
    ready_to_leave_minutes: Mapped[int | None] = mapped_column(Integer)
    # What the patient answered to the messages (link or SMS), and when.
    confirmation: Mapped[str] = mapped_column(
        String(20), default=Confirmation.UNCONFIRMED.value, server_default="unconfirmed"
    )
    confirmation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    site: Mapped[Site] = relationship()
    chair: Mapped[Chair] = relationship(foreign_keys=[chair_id])
    recovery_chair: Mapped[Chair | None] = relationship(foreign_keys=[recovery_chair_id])
    treatment_type: Mapped[TreatmentType] = relationship()
    events: Mapped[list[VisitEvent]] = relationship(
        back_populates="visit", order_by="VisitEvent.id"
    )

    @property
    def is_active(self) -> bool:
        """Tell whether the visit still holds its chair."""
        return self.status in ACTIVE_STATUSES


class Dose(Model):
    """One dose given during a visit: a nasal device, or an infusion's drug."""

    __tablename__ = "doses"
    __table_args__ = (CheckConstraint("dose_mg > 0", name="dose_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    drug: Mapped[str] = mapped_column(String(80))
    dose_mg: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    lot: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    route: Mapped[str] = mapped_column(String(20), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A practitioner who confirmed a dose more than 10 % off the order.
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()


class RemsSubmission(Model):
    """A REMS session's Patient Monitoring Form, marked sent to the REMS (once per visit)."""

    __tablename__ = "rems_submissions"
    __table_args__ = (check_in("method", SubmissionMethod),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    method: Mapped[str] = mapped_column(String(10))
    confirmation: Mapped[str] = mapped_column(String(60))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()


class Measure(Model):
    """One completed screening instrument (PHQ-9, GAD-7, C-SSRS screener) for a visit."""

    __tablename__ = "measures"
    __table_args__ = (
        check_in("instrument", InstrumentName),
        Index("ix_measures_patient_at", "patient_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    instrument: Mapped[str] = mapped_column(String(20))
    answers: Mapped[list[Any]] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(30))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Null with via_kiosk: the patient filled it on the visit's kiosk link.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via_kiosk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()


class ScreeningReview(Model):
    """A practitioner's review of a positive screen: proceed with the infusion, or defer it."""

    __tablename__ = "screening_reviews"
    __table_args__ = (check_in("decision", ReviewDecision),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class KioskLink(Model):
    """A one-visit link on which the patient answers the site's measures on a tablet."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()


class VisitEvent(Model):
    """An append-only record of something that happened to a visit."""

    __tablename__ = "visit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    visit: Mapped[Visit] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship()


class IdempotencyKey(Model):
    """A POST /visits retried with the same key returns what the first one created."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_digest: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Model):
    """An alarm that fired: the in-app alert, one per visit, kind and due instant."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("visit_id", "kind", "due_at", name="uq_notifications_visit_kind_due"),
        check_in("kind", AlertKind),
        Index("ix_notifications_site_created", "site_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    # The instant the alarm was due: discharge_due_at, or that + overdue_after_minutes.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when the alarm's condition has gone (extended past it, discharged, cancelled ...):
    # the alert then leaves every screen by itself, acknowledged or not.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_reason: Mapped[str | None] = mapped_column(String(30))

    visit: Mapped[Visit] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="notification", order_by="Delivery.id"
    )


class Delivery(Model):
    """One message of the outbox: a notification sent to one target over one channel."""

    __tablename__ = "deliveries"
    __table_args__ = (
        check_in("channel", Channel),
        check_in("status", DeliveryStatus),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class PatientMessage(Model):
    """One message to a patient (or the escort): planned, then sent once, failed or skipped.

    The unique key (visit, kind, channel, instant) makes a second planning or a second
    scheduler insert nothing. The body is written when the message is sent, from the visit
    as it then is; the link's token is kept only as a digest (the stored body omits it).
    """

    __tablename__ = "patient_messages"
    __table_args__ = (
        UniqueConstraint(
            "visit_id", "kind", "channel", "scheduled_for", name="uq_patient_messages_once"
        ),
        check_in("kind", MessageKind),
        check_in("channel", MessageChannel),
        check_in("status", MessageStatus),
        Index("ix_patient_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A visit's message, or (visit null) a waitlist offer to one of its recipients.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    offer_recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("waitlist_offer_recipients.id"), index=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.SCHEDULED.value)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit | None] = relationship()
    offer_recipient: Mapped[OfferRecipient | None] = relationship()


class SchedulerHeartbeat(Model):
    """The last sign of life of one scheduler process, leader or standby."""

    __tablename__ = "scheduler_heartbeats"

    instance_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Observation(Model):
    """One set of vital signs and side effects taken during a visit; flags fixed at write time."""

    __tablename__ = "observations"
    # (visit_id, at) also serves every look-up by visit alone.
    __table_args__ = (
        Index("ix_observations_visit_at", "visit_id", "at"),
        CheckConstraint("moaas BETWEEN 0 AND 5", name="moaas_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    systolic: Mapped[int] = mapped_column(Integer)
    diastolic: Mapped[int] = mapped_column(Integer)
    heart_rate: Mapped[int] = mapped_column(Integer)
    spo2: Mapped[int] = mapped_column(Integer)
    respiratory_rate: Mapped[int | None] = mapped_column(Integer)
    dissociation: Mapped[int | None] = mapped_column(Integer)
    nausea: Mapped[int | None] = mapped_column(Integer)
    dizziness: Mapped[int | None] = mapped_column(Integer)
    moaas: Mapped[int | None] = mapped_column(SmallInteger)  # MOAA/S 0-5; 3 or less: sedated
    note: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)

    visit: Mapped[Visit] = relationship()
    by: Mapped[User | None] = relationship()


class AuditEvent(Model):
    """One append-only audit row: who did what to which patient and object, when, from where.

    `detail` holds ids, rule names and field names only, never names or clinical values.
    `hash` is HMAC-SHA-256 (key AUDIT_KEY) over the row's canonical JSON and `prev_hash`, so
    the rows of one `chain` (a site's id, or 0) link up in id order and `flask audit verify`
    checks every chain. No foreign keys: a row outlives what it names. Triggers refuse UPDATE,
    DELETE (and on PostgreSQL TRUNCATE).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        check_in("outcome", Outcome),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        Index("ix_audit_events_patient_at", "patient_id", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_chain_id", "chain", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10), default=Outcome.OK.value)
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Which chain the row links into: its site's id, 0 for rows of no site (sign-ins, admin).
    chain: Mapped[int] = mapped_column(Integer, server_default="0")


# The append-only triggers, also created by migration 0006 (a migration keeps its own copy).
AUDIT_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END; $$",
        "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()",
    ),
}


@event.listens_for(AuditEvent.__table__, "after_create")
def _audit_events_append_only(_table, connection, **_kw) -> None:
    """Give a table made by create_all() the triggers the migrations give it."""
    for statement in AUDIT_TRIGGERS.get(connection.dialect.name, ()):
        connection.execute(text(statement))


class UserSession(Model):
    """A signed-in browser: the cookie holds a random id, this row decides whether it counts."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # absolute end, however active
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class PendingSignIn(Model):
    """A sign-in half-way through: the password is right, the code (or enrolment) is next.

    The browser's session cookie holds only a random id; this row (its SHA-256 digest) says
    who and which step, and dies after a few minutes or when the sign-in ends.
    """

    __tablename__ = "pending_sign_ins"
    __table_args__ = (check_in("step", SignInStep),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    next_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship()


class DisplayLink(Model):
    """A revocable read-only link that shows one site's privacy-mode dashboard on a wall."""

    __tablename__ = "display_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The link's token is exchanged once for a device secret held in the display's cookie.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_digest: Mapped[str | None] = mapped_column(String(64), unique=True)

    site: Mapped[Site] = relationship()


class CalendarFeed(Model):
    """A revocable calendar (iCalendar) address: one site's visits, or one staff member's.

    Only the token's SHA-256 digest is stored; the address is shown once, when it is made.
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    # Null: the whole site's visits; else the visits during this person's shifts there.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class RoleTotpRequirement(Model):
    """A role whose members must sign in with a second factor (TOTP)."""

    __tablename__ = "role_totp_requirements"

    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Course(Model):
    """A series of visits booked together (an induction course); its visits share series_id."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[str] = mapped_column(String(36), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientPlan(Model):
    """How often a patient comes back, and when next (one plan per patient).

    With the Spravato template, next_due_on is the day the template starts and the next due
    date follows from the completed Spravato sessions since (clinic.domain.waitlist).
    """

    __tablename__ = "patient_plans"
    __table_args__ = (check_in("template", PlanTemplate),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    every_days: Mapped[int] = mapped_column(Integer)
    next_due_on: Mapped[date] = mapped_column(Date, index=True)
    template: Mapped[str] = mapped_column(
        String(20), default=PlanTemplate.NONE.value, server_default=PlanTemplate.NONE.value
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WaitlistEntry(Model):
    """A patient who would come earlier if a chair frees up at a site between two dates."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        check_in("part_of_day", PartOfDay),
        check_in("status", EntryStatus),
        CheckConstraint("latest_on >= earliest_on", name="span"),
        Index("ix_waitlist_entries_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    earliest_on: Mapped[date] = mapped_column(Date)
    latest_on: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str] = mapped_column(String(10), default=PartOfDay.ANY.value)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=EntryStatus.WAITING.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()


class WaitlistOffer(Model):
    """A freed slot offered to some waiting patients; the first to accept is booked."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (check_in("status", OfferStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    infusion_start: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=OfferStatus.OPEN.value)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()
    visit: Mapped[Visit | None] = relationship()
    recipients: Mapped[list[OfferRecipient]] = relationship(
        back_populates="offer", order_by="OfferRecipient.id"
    )


class OfferRecipient(Model):
    """One waiting patient's copy of an offer: their link (kept as a digest) and answer."""

    __tablename__ = "waitlist_offer_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("waitlist_offers.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    answer: Mapped[str | None] = mapped_column(String(10))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offer: Mapped[WaitlistOffer] = relationship(back_populates="recipients")
    entry: Mapped[WaitlistEntry] = relationship()
