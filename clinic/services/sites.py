"""Sites as the booking rules see them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.booking import OpeningHours, RecoveryMode, SiteRules, Weekday
from clinic.models import Site
from clinic.services.site_settings import SITE_LIMITS

WEEKDAYS = Weekday.values()
MAX_OBSERVATION_MINUTES = SITE_LIMITS["observation_default"].high


def parse_clock(text: str) -> int:
    """Turn "HH:MM" (00:00..24:00) into minutes after local midnight."""
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if len(hours) != 2 or len(minutes) != 2 or not 0 <= int(minutes) < 60 or not 0 <= value <= 1440:
        raise ValueError(f"not a time of day: {text}")
    return value


def opening_hours(site: Site) -> OpeningHours:
    """Return the site's opening hours as the domain reads them."""
    days: dict[int, tuple[int, int] | None] = {}
    for index, name in enumerate(WEEKDAYS):
        hours = (site.opening_hours or {}).get(name)
        days[index] = (parse_clock(hours[0]), parse_clock(hours[1])) if hours else None
    return OpeningHours(days)


def site_rules(site: Site) -> SiteRules:
    """Return the settings of a site that the booking rules read."""
    return SiteRules(
        timezone=ZoneInfo(site.timezone),
        opening_hours=opening_hours(site),
        nurse_ratio=site.nurse_ratio,
        require_practitioner_on_site=site.require_practitioner_on_site,
        turnover_minutes=site.turnover_minutes,
        min_hours_between_infusions=site.min_hours_between_infusions,
        recovery_mode=RecoveryMode(site.recovery_mode),
    )


def local_day_bounds(site: Site, day: date, days: int = 1) -> tuple[datetime, datetime]:
    """Return the UTC instants where a run of local days starts and ends."""
    tz = ZoneInfo(site.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=days), time(0), tzinfo=tz)
    return start, end


def today(site: Site, now: datetime) -> date:
    """Return the site-local calendar day of an instant."""
    return now.astimezone(ZoneInfo(site.timezone)).date()
