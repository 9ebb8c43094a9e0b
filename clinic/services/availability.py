"""Free slots of a site, found by walking its days and loading occupancy only as far as needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, null, or_, select, type_coerce, union_all
from sqlalchemy.types import NullType

from clinic.domain.availability import Held, Slot, find_slots
from clinic.domain.booking import Context, Occupancy, ShiftSpan
from clinic.domain.intervals import Interval
from clinic.domain.occupancy import IN_CARE
from clinic.extensions import db
from clinic.models import ACTIVE_STATUSES, Chair, Shift, Site, TreatmentType, User, Visit
from clinic.services import access, treatment_types
from clinic.services.booking import (
    _OCCUPANCY_COLUMNS,
    MARGIN,
    _durations,
    occupancy,
    type_timing,
)
from clinic.services.sites import local_day_bounds, site_rules

Raw = datetime | str  # an instant as the driver gives it: SQLite's is naive UTC text

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = _EPOCH.replace(tzinfo=None)
_MICRO = timedelta(microseconds=1)

# The statements are built once (building one costs more than running it on a small site).
_CHAIRS = select(Chair.id, Chair.kind).where(
    Chair.site_id == bindparam("site"), Chair.active.is_(True)
)
# A patient in care holds the chair until the real release, however old the plan: these
# rows go through booking.occupancy, as booking's own (booking._active_visits).
_IN_CARE = (
    select(*_OCCUPANCY_COLUMNS, TreatmentType.observation_from)
    .outerjoin(TreatmentType, TreatmentType.id == Visit.treatment_type_id)
    .where(Visit.site_id == bindparam("site"), Visit.status.in_(IN_CARE))
)


def _raw(*columns: Any) -> list[Any]:
    """Return instant columns as the driver gives them: the column type's processing costs
    more than anything else per row."""
    return [type_coerce(column, NullType()) for column in columns]


def _window(visits_after: ColumnElement[bool], shifts_after: ColumnElement[bool]) -> Any:
    """Select the booked visits and the shifts a window adds, in one round trip.

    A booked visit holds its plan (booking.occupancy): these columns are all it takes; its
    row has no role. A shift's row has its role, user and two instants.
    """
    visits = select(
        null().label("role"),
        Visit.chair_id.label("who"),
        Visit.recovery_chair_id,
        *_raw(
            Visit.infusion_start,
            Visit.chair_released_at,
            Visit.infusion_end,
            Visit.observation_end,
            Visit.bay_released_at,
        ),
    ).where(
        Visit.site_id == bindparam("site"),
        Visit.status.in_(sorted(set(ACTIVE_STATUSES) - set(IN_CARE))),
        Visit.infusion_start < bindparam("high"),
        visits_after,
    )
    shifts = select(
        Shift.role,
        Shift.user_id,
        null(),
        *_raw(Shift.starts_at, Shift.ends_at),
        null(),
        null(),
        null(),
    ).where(Shift.site_id == bindparam("site"), Shift.starts_at < bindparam("high"), shifts_after)
    return union_all(visits, shifts)


_FIRST_WINDOW = _window(
    and_(
        Visit.infusion_start > bindparam("low"),
        # Held past the start of the first day (what ended before cannot touch a slot).
        or_(
            Visit.chair_released_at > bindparam("start"),
            Visit.observation_end > bindparam("start"),
            Visit.bay_released_at > bindparam("start"),
        ),
    ),
    Shift.ends_at > bindparam("start"),
)
_NEXT_WINDOW = _window(
    Visit.infusion_start >= bindparam("low"), Shift.starts_at >= bindparam("low")
)


def slots(
    actor: User,
    site_id: int,
    first_day: date,
    days: int,
    infusion_minutes: int | None,
    observation_minutes: int | None,
    limit: int,
    now: datetime,
    treatment_type_id: int | None = None,
) -> list[Slot]:
    """List the bookable slots of a site for a cleared patient with no other visits.

    The lengths are a visit of the type named (default: the site's default type). The days
    are searched in windows (one day, then as many as the slots found so far say are needed,
    from half to twice the days walked), each loading only the visits and shifts it adds,
    until `limit` slots are found: the answer is the same as searching every day at once.
    """
    site = access.get_site(actor, site_id)
    times = type_timing(site, treatment_types.bookable_type_id(site, treatment_type_id))
    infusion, observation = _durations(times, infusion_minutes, observation_minutes)
    walk = _Walk(site, first_day, now)
    found: list[Slot] = []
    day, walked, span = first_day, 0, 1
    while walked < days and len(found) < limit:
        span = min(span, days - walked)
        ctx, booked = walk.context(day, span)
        wanted, counted_from = limit - len(found), times.observation_from
        found += find_slots(
            ctx, walk.chair_ids, day, span, infusion, observation, wanted, counted_from, booked
        )
        day, walked = day + timedelta(days=span), walked + span
        span = _next_span(walked, len(found), limit)
    return found


def _next_span(walked: int, found: int, limit: int) -> int:
    """Return how many days to search next: as many as the slots found so far say are
    needed, at least half and at most twice as many as were walked."""
    if found == 0:
        return 2 * walked
    needed = -(-(limit - found) * walked // found)
    return min(2 * walked, max(needed, walked // 2, 1))


class _Walk:
    """A site's occupancy loaded window by window, each visit and shift once.

    Holds what `booking.site_context` loads for the days walked so far, less what cannot
    touch a slot of them: the visits in care; the booked visits starting from MARGIN before
    the first day (and held past its start) until the site's turnover after the last day
    (a slot's holds end by then); the shifts overlapping that span. A booked visit (most of
    them) comes as bare columns made compact holds; a visit in care goes through
    `booking.occupancy`, as booking does.
    """

    def __init__(self, site: Site, first_day: date, now: datetime) -> None:
        self.site = site
        self.now = now
        self.rules = site_rules(site)
        self.start = local_day_bounds(site, first_day)[0]
        self.reach = timedelta(minutes=site.turnover_minutes)
        self.loaded_until: datetime | None = None
        self.booked: list[Held] = []
        self.shifts: list[ShiftSpan] = []
        # Core, not the ORM: these are rows of columns, and the ORM's row handling costs more
        # than the statement on a busy site.
        self.connection = db.session.connection()
        chairs = self.connection.execute(_CHAIRS, {"site": site.id}).all()
        self.chair_ids = sorted(c.id for c in chairs if c.kind == "chair")
        self.bay_ids = sorted(c.id for c in chairs if c.kind == "recovery_bay")
        visits = self.connection.execute(_IN_CARE, {"site": site.id})
        self.in_care: list[Occupancy] = [occupancy(v, self.rules, now) for v in visits]

    def context(self, day: date, days: int) -> tuple[Context, list[Held]]:
        """Load what the window's days need; return what can touch a slot of them."""
        start, end = local_day_bounds(self.site, day, days)
        self._load(end + self.reach)
        # What ended before the window cannot touch a slot in it: left out.
        after = _micros(start)
        ctx = Context(
            site=self.rules,
            now=self.now,
            occupancies=self.in_care,
            shifts=[s for s in self.shifts if s.span.end > start],
            bay_ids=self.bay_ids,
            check_patient=False,
        )
        return ctx, [h for h in self.booked if max(h.chair_end, h.visit_end, h.bay_end) > after]

    def _load(self, high: datetime) -> None:
        """Load the booked visits and the shifts that start before `high`, not loaded yet."""
        params = {"site": self.site.id, "start": self.start, "high": high}
        if self.loaded_until is None:
            params["low"] = self.start - MARGIN
            statement = _FIRST_WINDOW
        else:
            params["low"] = self.loaded_until
            statement = _NEXT_WINDOW
        for row in self.connection.execute(statement, params):
            if row.role is None:
                self.booked.append(_held(*row[1:]))
            else:
                span = Interval(_instant(row[3]), _instant(row[4]))
                self.shifts.append(ShiftSpan(row.role, span, row.who))
        self.loaded_until = high


def _held(
    chair_id: int,
    bay_id: int | None,
    start: Raw,
    chair_released: Raw,
    infusion_end: Raw,
    observation_end: Raw,
    bay_released: Raw | None,
) -> Held:
    """Return what a booked visit holds, as `booking.occupancy` plans it."""
    begin = _micros(start)
    if bay_released is None:
        return Held(
            chair_id, begin, _micros(chair_released), None, 0, 0, begin, _micros(observation_end)
        )
    return Held(
        chair_id,
        begin,
        _micros(chair_released),
        bay_id,
        _micros(infusion_end),
        _micros(bay_released),
        begin,
        _micros(observation_end),
    )


def _instant(value: Raw) -> datetime:
    """Return an instant as the driver gives it as an aware UTC datetime (as UTCDateTime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _micros(value: Raw) -> int:
    """Return an instant as the driver gives it as microseconds since the epoch."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # SQLite's text: UTC without an offset
            return (value - _NAIVE_EPOCH) // _MICRO
    return (value - _EPOCH) // _MICRO
