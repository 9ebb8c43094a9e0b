"""The owner's reports over a site's local days: sums and counts in SQL, never visit objects.

Every figure is an aggregate (count, sum, group by); a median or p90 reads one column of
numbers and leaves the rest to clinic.domain.reports. Local days and their opening hours
are turned into UTC instants here (zoneinfo), so a DST day has its 23 or 25 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    and_,
    case,
    column,
    func,
    select,
    values,
)

from clinic.domain import reports as rules
from clinic.domain.alarms import DISCHARGE_DUE, DISCHARGE_OVERDUE
from clinic.domain.booking import ChairKind
from clinic.domain.visits import Status
from clinic.extensions import db
from clinic.models import Chair, Notification, Site, User, Visit, VisitEvent
from clinic.services import access
from clinic.services.errors import Invalid
from clinic.services.sites import local_day_bounds, opening_hours
from clinic.types import UTCDateTime

# Statuses whose patient sat in the chair (used minutes count from their real check-in).
SEATED = (
    Status.CHECKED_IN.value,
    Status.INFUSING.value,
    Status.RECOVERING.value,
    Status.DISCHARGED.value,
)
DISCHARGE_ALERTS = (DISCHARGE_DUE.value, DISCHARGE_OVERDUE.value)
# No visit lasts a day: a visit touching a day's open hours starts less than a day before.
LONGEST_VISIT = timedelta(days=1)
Expr = SQLColumnExpression[Any]


@dataclass(frozen=True)
class Span:
    """The site and the local days a report covers."""

    site: Site
    first: date
    last: date

    @property
    def tz(self) -> ZoneInfo:
        """Return the site's time zone."""
        return ZoneInfo(self.site.timezone)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """Return the UTC instants where the first day starts and the last day ends."""
        return local_day_bounds(self.site, self.first, (self.last - self.first).days + 1)


@dataclass(frozen=True)
class UtilisationDay:
    """One local day's chair minutes: open, booked (planned) and used (really seated)."""

    date: date
    chair_minutes_open: int
    chair_minutes_booked: int
    chair_minutes_used: int


@dataclass(frozen=True)
class Attendance:
    """What became of the visits planned in the range."""

    visits: int
    completed: int
    no_shows: int
    cancellations: int
    late_cancellations: int


@dataclass(frozen=True)
class CycleTime:
    """Planned against actual minutes of one phase."""

    planned_median: float | None
    actual_median: float | None
    actual_p90: float | None


@dataclass(frozen=True)
class CycleTimes:
    """Infusion and recovery minutes, and the visits that kept the chair past their plan."""

    infusion: CycleTime
    recovery: CycleTime
    overruns: int
    overrun_minutes_median: float | None
    overrun_minutes_total: int


@dataclass(frozen=True)
class AlertFigures:
    """How many discharge alerts fired, were acknowledged, and how fast they were answered."""

    fired: int
    acknowledged: int
    due_to_ack_median_seconds: float | None
    due_to_discharge_median_minutes: float | None


def report_span(user: User, site_id: int | None, first: date, last: date) -> Span:
    """Check the role, the site and the range of a report (403, 404, 422)."""
    access.require(user, "view_reports")
    site = db.session.get(Site, access.default_site_id(user, site_id))
    assert site is not None  # default_site_id has loaded it
    problems = rules.range_problems(first, last)
    if problems:
        fields = {name: [text] for name, text in problems.items()}
        raise Invalid("The range of days is not valid.", fields)
    return Span(site, first, last)


def utilisation(span: Span, now: datetime) -> list[UtilisationDay]:
    """Return each local day's open, booked and used chair minutes."""
    days = rules.open_days(span.first, span.last, opening_hours(span.site), span.tz)
    chairs = db.session.scalar(
        select(func.count(Chair.id)).where(
            Chair.site_id == span.site.id, Chair.active, Chair.kind == ChairKind.CHAIR.value
        )
    )
    opened = [(n, d.hours) for n, d in enumerate(days) if d.hours is not None]
    minutes = _minutes_by_day(span.site.id, opened, now)
    return [
        UtilisationDay(day.day, (chairs or 0) * day.open_minutes, *minutes.get(n, (0, 0)))
        for n, day in enumerate(days)
    ]


def _booked() -> tuple[Expr, Expr]:
    """Return the planned chair time: from the planned start until the patient leaves it."""
    in_chair = Visit.recovery_chair_id.is_(None)
    return Visit.infusion_start, case((in_chair, Visit.observation_end), else_=Visit.infusion_end)


def _used(now: datetime) -> tuple[Expr, Expr]:
    """Return the real chair time: check-in until discharge (or the move to a recovery bay)."""
    in_chair = Visit.recovery_chair_id.is_(None)
    left = case((in_chair, Visit.discharged_at), else_=Visit.infusion_ended_at)
    return Visit.checked_in_at, func.coalesce(left, now)


def _minutes_by_day(
    site_id: int, opened: list[tuple[int, Any]], now: datetime
) -> dict[int, tuple[int, int]]:
    """Sum, per open day, the booked and the used minutes inside the day's open hours.

    One statement: the open days are a VALUES list joined to the visits that start near
    them (the index bounds the scan), each interval clipped to the day's hours.
    """
    if not opened:
        return {}
    day = (
        values(
            column("n", Integer),
            column("opens", UTCDateTime),
            column("closes", UTCDateTime),
            column("scan_from", UTCDateTime),
            column("scan_to", UTCDateTime),
            name="open_days",
        )
        .data(
            [
                (n, hours.start, hours.end, hours.start - LONGEST_VISIT, hours.end + LONGEST_VISIT)
                for n, hours in opened
            ]
        )
        .cte("open_days")
    )

    def inside(start: Expr, end: Expr, which: ColumnElement[bool]) -> ColumnElement[Any]:
        """Sum the seconds of [start, end) inside the day's hours, for the visits chosen."""
        meets = and_(which, start < day.c.closes, end > day.c.opens)
        clipped = _seconds(_least(end, day.c.closes), _greatest(start, day.c.opens))
        return func.sum(case((meets, clipped), else_=0))

    stmt = (
        select(
            day.c.n,
            inside(*_booked(), Visit.status != Status.CANCELLED.value),
            inside(*_used(now), Visit.status.in_(SEATED)),
        )
        .select_from(day)
        .join(
            Visit,
            and_(
                Visit.site_id == site_id,
                Visit.infusion_start >= day.c.scan_from,
                Visit.infusion_start < day.c.scan_to,
            ),
        )
        .group_by(day.c.n)
    )
    return {
        n: (round((booked or 0) / 60), round((used or 0) / 60))
        for n, booked, used in db.session.execute(stmt)
    }


def attendance(span: Span) -> Attendance:
    """Count the visits planned in the range by what became of them."""
    starts, ends = span.bounds
    cancelled_at = (
        select(func.max(VisitEvent.at))
        .where(VisitEvent.visit_id == Visit.id, VisitEvent.type == "cancel")
        .correlate(Visit)
        .scalar_subquery()
    )
    window = span.site.cancel_window_hours * 3600
    is_cancelled = Visit.status == Status.CANCELLED.value
    late = and_(is_cancelled, _seconds(Visit.infusion_start, cancelled_at) <= window)
    row = db.session.execute(
        select(
            func.count(Visit.id),
            _count(Visit.status == Status.DISCHARGED.value),
            _count(Visit.status == Status.NO_SHOW.value),
            _count(is_cancelled),
            _count(late),
        ).where(
            Visit.site_id == span.site.id,
            Visit.infusion_start >= starts,
            Visit.infusion_start < ends,
        )
    ).one()
    return Attendance(*(int(n or 0) for n in row))


def cycle_times(span: Span) -> CycleTimes:
    """Return planned and actual infusion and recovery minutes of the visits completed."""
    starts, ends = span.bounds
    done = and_(
        Visit.site_id == span.site.id,
        Visit.infusion_start >= starts,
        Visit.infusion_start < ends,
        Visit.status == Status.DISCHARGED.value,
    )
    minutes = {
        "infusion_planned": Visit.infusion_minutes,
        "infusion_actual": _seconds(Visit.infusion_ended_at, Visit.infusion_started_at) / 60,
        "recovery_planned": _seconds(Visit.observation_end, Visit.infusion_end) / 60,
        "recovery_actual": _seconds(Visit.discharged_at, Visit.infusion_ended_at) / 60,
        "overrun": _seconds(Visit.discharged_at, Visit.observation_end) / 60,
    }
    # One pass over the range: a few columns of numbers, never visit objects.
    rows = db.session.execute(select(*minutes.values()).where(done)).all()
    col = {name: [float(r[n]) for r in rows if r[n] is not None] for n, name in enumerate(minutes)}
    overruns = [late for late in col["overrun"] if late > 0]
    return CycleTimes(
        infusion=_phase(col["infusion_planned"], col["infusion_actual"]),
        recovery=_phase(col["recovery_planned"], col["recovery_actual"]),
        overruns=len(overruns),
        overrun_minutes_median=rules.rounded(rules.median(overruns)),
        overrun_minutes_total=round(sum(overruns)),
    )


def _phase(planned: list[float], actual: list[float]) -> CycleTime:
    """Summarise one phase's planned and actual minutes."""
    return CycleTime(
        rules.rounded(rules.median(planned)),
        rules.rounded(rules.median(actual)),
        rules.rounded(rules.percentile(actual, 0.9)),
    )


def alerts(span: Span) -> AlertFigures:
    """Count the discharge alerts due in the range, and how fast they were answered."""
    starts, ends = span.bounds
    mine = and_(
        Notification.site_id == span.site.id,
        Notification.kind.in_(DISCHARGE_ALERTS),
        Notification.due_at >= starts,
        Notification.due_at < ends,
    )
    fired, acknowledged = db.session.execute(
        select(
            func.count(Notification.id), _count(Notification.acknowledged_at.is_not(None))
        ).where(mine)
    ).one()
    # The due alerts' two delays, one pass: a null column where not acknowledged/discharged.
    delays = db.session.execute(
        select(
            _seconds(Notification.acknowledged_at, Notification.due_at),
            _seconds(Visit.discharged_at, Notification.due_at) / 60,
        )
        .join(Visit, Visit.id == Notification.visit_id)
        .where(mine, Notification.kind == DISCHARGE_DUE.value)
    ).all()
    to_ack = [float(ack) for ack, _ in delays if ack is not None]
    to_discharge = [float(left) for _, left in delays if left is not None]
    return AlertFigures(
        int(fired or 0),
        int(acknowledged or 0),
        rules.rounded(rules.median(to_ack)),
        rules.rounded(rules.median(to_discharge)),
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """Count the rows where the condition holds."""
    return func.sum(case((condition, 1), else_=0))


def _sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _seconds(end: ColumnElement[Any] | Any, start: ColumnElement[Any] | Any) -> ColumnElement[Any]:
    """Return end - start in seconds, computed by the database."""
    if _sqlite():
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _greatest(a: Expr, b: Expr) -> ColumnElement[Any]:
    """Return the later of two instants (SQLite's two-argument max is scalar)."""
    return func.max(a, b) if _sqlite() else func.greatest(a, b)


def _least(a: Expr, b: Expr) -> ColumnElement[Any]:
    """Return the earlier of two instants."""
    return func.min(a, b) if _sqlite() else func.least(a, b)
