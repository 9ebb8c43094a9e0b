"""Each enumeration is declared once, with a label and a CSS class for every value."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import CheckConstraint

from clinic.domain.accounts import AccountRule
from clinic.domain.alarms import AlertKind, Channel, DeliveryStatus
from clinic.domain.audit import Outcome
from clinic.domain.booking import ChairKind, RecoveryMode, Rule, Weekday
from clinic.domain.choices import Choice
from clinic.domain.instruments import InstrumentName, ReviewDecision, ScreeningRule
from clinic.domain.messages import (
    Confirmation,
    MessageChannel,
    MessageKind,
    MessageStatus,
    Reply,
)
from clinic.domain.phases import Countdown
from clinic.domain.roles import Role, SignInStep
from clinic.domain.treatments import (
    ObservationFrom,
    SubmissionMethod,
    SubmissionRule,
    SubmissionStatus,
    TreatmentKind,
)
from clinic.domain.visits import EventRule, EventType, HistoryType, Status
from clinic.domain.vitals import DueKind, DueState, Flag
from clinic.domain.waitlist import EntryStatus, OfferStatus, PartOfDay, PlanTemplate

ENUMERATIONS = (
    Status,
    EventType,
    HistoryType,
    EventRule,
    Rule,
    RecoveryMode,
    ChairKind,
    Weekday,
    Role,
    SignInStep,
    AccountRule,
    Flag,
    DueKind,
    DueState,
    Countdown,
    AlertKind,
    Channel,
    DeliveryStatus,
    Outcome,
    TreatmentKind,
    ObservationFrom,
    SubmissionStatus,
    SubmissionMethod,
    SubmissionRule,
    MessageKind,
    MessageChannel,
    MessageStatus,
    Confirmation,
    Reply,
    InstrumentName,
    ReviewDecision,
    ScreeningRule,
    PartOfDay,
    EntryStatus,
    OfferStatus,
    PlanTemplate,
)


def test_every_enumeration_of_the_domain_is_a_choice():
    assert set(ENUMERATIONS) == set(Choice.__subclasses__())


@pytest.mark.parametrize("choice", ENUMERATIONS, ids=lambda c: c.__name__)
def test_every_member_has_a_label_and_a_css_class(choice):
    for member in choice:
        assert member.label.strip() and member.css.strip(), member
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", member.css), member.css
    assert len({m.label for m in choice}) == len(choice), "two members read the same"
    assert len({m.css for m in choice}) == len(choice), "two members look the same"


def test_a_member_is_its_value_and_looks_up_its_label():
    assert Status.CHECKED_IN == "checked_in" and f"{Status.CHECKED_IN}" == "checked_in"
    assert Status("checked_in") is Status.CHECKED_IN
    assert Status.label_of("checked_in") == "Checked in"
    assert Status.css_of("checked_in") == "status-checked_in"
    assert Status.values() == (
        "booked",
        "checked_in",
        "infusing",
        "recovering",
        "discharged",
        "cancelled",
        "no_show",
    )


def test_an_unknown_value_reads_as_itself_without_a_class():
    assert Status.label_of("lost") == "lost" and Status.css_of("lost") == ""


def test_a_member_declared_without_label_or_class_is_refused():
    with pytest.raises(ValueError, match="needs a label and a CSS class"):

        class Broken(Choice):
            ONLY_VALUE = "only_value"


def test_weekdays_follow_python_weekday_order():
    monday = date(2026, 11, 30)
    for offset, day in enumerate(Weekday):
        assert f"{monday + timedelta(days=offset):%A}" == day.label
        assert day.short == day.label[:3]
    assert Weekday.values() == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _checks() -> dict[tuple[str, str], str]:
    from clinic.models import db

    return {
        (table.name, str(check.sqltext).split(" IN ")[0]): str(check.sqltext)
        for table in db.metadata.sorted_tables
        for check in table.constraints
        if isinstance(check, CheckConstraint) and " IN (" in str(check.sqltext)
    }


@pytest.mark.parametrize(
    ("table", "column", "choice"),
    [
        ("chairs", "kind", ChairKind),
        ("users", "role", Role),
        ("notifications", "kind", AlertKind),
        ("deliveries", "channel", Channel),
        ("deliveries", "status", DeliveryStatus),
        ("audit_events", "outcome", Outcome),
        ("pending_sign_ins", "step", SignInStep),
        ("treatment_types", "kind", TreatmentKind),
        ("treatment_types", "observation_from", ObservationFrom),
        ("rems_submissions", "method", SubmissionMethod),
        ("patient_messages", "kind", MessageKind),
        ("patient_messages", "channel", MessageChannel),
        ("patient_messages", "status", MessageStatus),
        ("measures", "instrument", InstrumentName),
        ("screening_reviews", "decision", ReviewDecision),
        ("waitlist_entries", "part_of_day", PartOfDay),
        ("waitlist_entries", "status", EntryStatus),
        ("waitlist_offers", "status", OfferStatus),
        ("patient_plans", "template", PlanTemplate),
    ],
)
def test_the_models_check_constraints_list_exactly_the_members(table, column, choice):
    sql = _checks()[(table, column)]
    assert re.findall(r"'([^']*)'", sql) == list(choice.values())
    # The migrations wrote these very strings: no migration is needed.
    listed = ", ".join(f"'{value}'" for value in choice.values())
    assert sql == f"{column} IN ({listed})"


def test_every_in_list_constraint_comes_from_an_enumeration():
    assert len(_checks()) == 19


def test_roles_refer_to_the_enumeration():
    from clinic.models import ROLES

    assert ROLES == Role.values() == ("front_desk", "nurse", "practitioner", "admin")
