"""What a patient hears from the clinic, and when (pure).

Reminders are planned in the site's wall-clock time: a 09:00 visit gets its "24 hours before"
reminder at 09:00 the day before, even when a DST change lies between (the patient reads the
clock, not the UTC offset). A reminder that would fall in the site's quiet hours waits for their
end, if that is still before the visit; one whose time had passed when the visit was booked is
skipped, never sent late. Every message names the site, the time and the arrival time, and
never a drug, a diagnosis or a clinical value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.domain.choices import Choice


class MessageKind(Choice):
    """Why a message is sent."""

    BOOKED = "booked", "Booking confirmation", "msg-booked"
    REMINDER = "reminder", "Reminder", "msg-reminder"
    CHANGED = "changed", "Time changed", "msg-changed"
    CANCELLED = "cancelled", "Cancelled", "msg-cancelled"
    PICKUP = "pickup", "Escort pick-up", "msg-pickup"
    OFFER = "offer", "Free slot offer", "msg-offer"


class MessageChannel(Choice):
    """How a message reaches the patient."""

    EMAIL = "email", "E-mail", "msg-email"
    SMS = "sms", "SMS", "msg-sms"


class MessageStatus(Choice):
    """Where a message stands."""

    SCHEDULED = "scheduled", "Scheduled", "msg-scheduled"
    SENT = "sent", "Sent", "msg-sent"
    FAILED = "failed", "Failed", "msg-failed"
    SKIPPED = "skipped", "Skipped", "msg-skipped"


class Confirmation(Choice):
    """What the patient answered about a visit."""

    UNCONFIRMED = "unconfirmed", "Unconfirmed", "confirm-unconfirmed"
    CONFIRMED = "confirmed", "Confirmed", "confirm-confirmed"
    CANCEL_REQUESTED = "cancel_requested", "Asked to cancel", "confirm-cancel-requested"


class Reply(Choice):
    """What an SMS reply means."""

    CONFIRM = "confirm", "Confirm", "reply-confirm"
    CANT_COME = "cant_come", "I can't come", "reply-cant-come"
    STOP = "stop", "Stop messages", "reply-stop"


# The patient is asked to arrive this long before the start.
ARRIVE_BEFORE = timedelta(minutes=15)
# The escort hears this long before discharge is due.
PICKUP_BEFORE = timedelta(minutes=15)
# A booking's message waits this long, so that a change made straight after sends only the
# final state.
SETTLE = timedelta(minutes=3)
DEFAULT_OFFSETS_MINUTES = (72 * 60, 24 * 60)
DEFAULT_CHANNELS = (MessageChannel.EMAIL, MessageChannel.SMS)
DEFAULT_CANCEL_WINDOW_HOURS = 24
OFFSET_RANGE = (15, 14 * 24 * 60)  # minutes before the visit a reminder may be planned
MAX_OFFSETS = 4

# What each SMS word means (carriers' standard opt-out words all stop messages).
REPLY_WORDS: dict[str, Reply] = {
    "C": Reply.CONFIRM,
    "YES": Reply.CONFIRM,
    "Y": Reply.CONFIRM,
    "CONFIRM": Reply.CONFIRM,
    "X": Reply.CANT_COME,
    "NO": Reply.CANT_COME,
    "N": Reply.CANT_COME,
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        Reply.STOP,
    ),
}

# Words no message to a patient may hold: a drug, a diagnosis, a clinical value. A message
# read over a shoulder, on a lock screen or a shared e-mail account says no more than
# "your appointment at Austin".
FORBIDDEN_WORDS = (
    "ketamine",
    "esketamine",
    "spravato",
    "infusion",
    "depression",
    "depressive",
    "suicid",
    "psychiatr",
    "dose",
    "mg",
    "blood pressure",
    "rems",
    "sedation",
    "phq",
)
_FORBIDDEN = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in FORBIDDEN_WORDS) + r")", re.IGNORECASE
)


def clinical_words(text: str) -> list[str]:
    """Return the forbidden words a message text holds (empty when it may be sent)."""
    return sorted({match.lower() for match in _FORBIDDEN.findall(text)})


@dataclass(frozen=True)
class ReminderPlan:
    """A site's reminder settings: when before a visit, on which channel, and when not."""

    offsets_minutes: tuple[int, ...] = DEFAULT_OFFSETS_MINUTES
    channels: tuple[MessageChannel, ...] = DEFAULT_CHANNELS
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)

    def pairs(self) -> list[tuple[int, MessageChannel]]:
        """Return each reminder's (offset, channel).

        The lists pair up when they are as long as each other (the default: 72 h by e-mail,
        24 h by SMS); otherwise every offset goes on every channel listed.
        """
        if len(self.channels) == len(self.offsets_minutes):
            return list(zip(self.offsets_minutes, self.channels, strict=True))
        return [(o, c) for o in self.offsets_minutes for c in self.channels]


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _wall(local: datetime, tz: ZoneInfo) -> datetime:
    """Return the instant of a naive local wall-clock time (a skipped time moves forward)."""
    aware = local.replace(tzinfo=tz)
    # A time in the spring-forward gap round-trips to a later real time; fold 0 otherwise.
    return aware.astimezone(UTC)


def wall_clock_before(start: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    """Return the instant `minutes` of local wall-clock time before `start`.

    72 hours before 09:00 CST on Mon 2 Nov 2026 is 09:00 CDT on Fri 30 Oct: 73 real hours.
    """
    local = _utc(start).astimezone(tz).replace(tzinfo=None)
    return _wall(local - timedelta(minutes=minutes), tz)


def in_quiet_hours(
    at: datetime, quiet_start: time | None, quiet_end: time | None, tz: ZoneInfo
) -> bool:
    """Tell whether an instant falls in the quiet hours [start, end) (which may span midnight)."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return False
    clock = _utc(at).astimezone(tz).time()
    if quiet_start < quiet_end:
        return quiet_start <= clock < quiet_end
    return clock >= quiet_start or clock < quiet_end


def quiet_hours_end(at: datetime, quiet_end: time, tz: ZoneInfo) -> datetime:
    """Return the first end of the quiet hours at or after an instant inside them."""
    local = _utc(at).astimezone(tz)
    end = datetime.combine(local.date(), quiet_end)
    if end <= local.replace(tzinfo=None):
        end += timedelta(days=1)
    return _wall(end, tz)


def reminder_at(
    start: datetime, offset_minutes: int, plan: ReminderPlan, tz: ZoneInfo, booked_at: datetime
) -> datetime | None:
    """Return when a reminder goes, or None when it is to be skipped.

    Skipped: its time had passed when the visit was booked, or the quiet hours last until the
    visit itself.
    """
    at = wall_clock_before(start, offset_minutes, tz)
    if at < _utc(booked_at):
        return None
    if in_quiet_hours(at, plan.quiet_start, plan.quiet_end, tz):
        assert plan.quiet_end is not None
        at = quiet_hours_end(at, plan.quiet_end, tz)
    return at if at < _utc(start) else None


def arrival_at(start: datetime) -> datetime:
    """Return when the patient is asked to arrive."""
    return _utc(start) - ARRIVE_BEFORE


def pickup_at(discharge_due_at: datetime) -> datetime:
    """Return when the escort is told the patient will be ready."""
    return _utc(discharge_due_at) - PICKUP_BEFORE


def reply_meaning(body: str) -> Reply | None:
    """Return what an SMS reply means: its first word, any case, punctuation ignored."""
    words = re.findall(r"[A-Za-z]+", body or "")
    return REPLY_WORDS.get(words[0].upper()) if words else None


def cant_come_cancels(now: datetime, start: datetime, window_hours: int) -> bool:
    """Tell whether "I can't come" cancels the visit (outside the window) or asks the desk."""
    return _utc(start) - _utc(now) > timedelta(hours=window_hours)


def line_problem_free(text: str) -> bool:
    """Tell whether a multi-line text holds no control character but line breaks and tabs."""
    return not any(
        (ord(char) < 32 and char not in "\n\r\t")
        or 0x7F <= ord(char) < 0xA0
        or char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        for char in text
    )


def offsets_errors(offsets: Sequence[object]) -> list[str]:
    """Return what is wrong with a list of reminder offsets, or nothing."""
    low, high = OFFSET_RANGE
    if len(offsets) > MAX_OFFSETS:
        return [f"At most {MAX_OFFSETS} reminders."]
    for offset in offsets:
        if isinstance(offset, bool) or not isinstance(offset, int) or not low <= offset <= high:
            return [f"Whole minutes before the visit, {low}-{high}."]
    if len(set(offsets)) != len(offsets):
        return ["Each offset once."]
    return []


@dataclass(frozen=True)
class Facts:
    """The few facts a message to a patient may carry."""

    site: str
    start: datetime  # the visit's start (aware)
    timezone: ZoneInfo
    instructions: str
    link: str
    first_name: str = ""
    pickup: datetime | None = None  # when the patient is ready to be picked up

    def local(self, instant: datetime) -> datetime:
        """Return an instant in the site's time zone."""
        return _utc(instant).astimezone(self.timezone)


def _day(local: datetime) -> str:
    return f"{local:%A} {local.day} {local:%B %Y}"


def _clock_text(local: datetime) -> str:
    return f"{local:%H:%M} {local.tzname()}"


def compose(kind: MessageKind, channel: MessageChannel, facts: Facts) -> tuple[str, str]:
    """Return a message's (subject, body): site, local day and time, arrival, instructions, link.

    Nothing else: never the treatment, a drug, a diagnosis or a clinical value.
    """
    start = facts.local(facts.start)
    arrive = facts.local(arrival_at(facts.start))
    when = f"{_day(start)} at {_clock_text(start)}"
    greeting = f"Hello {facts.first_name}, " if facts.first_name else ""
    if kind is MessageKind.PICKUP:
        ready = facts.local(facts.pickup or facts.start)
        subject = f"Pick-up at {facts.site}"
        body = (
            f"Your companion at {facts.site} will be ready for pick-up around "
            f"{ready:%H:%M}. Please come to the front desk."
        )
        return subject, body
    if kind is MessageKind.OFFER:
        subject = f"An earlier time at {facts.site}"
        body = (
            f"{greeting}an earlier time is free at {facts.site}: {when}. "
            f"If you take it, please arrive by {arrive:%H:%M}. "
            + (f"{facts.instructions.strip()} " if facts.instructions else "")
            + "The first to accept gets it; the offer is open for a short time only. "
            f"To accept: {facts.link}"
        )
        body = body[:1].upper() + body[1:]
        return subject, body if channel is MessageChannel.SMS else body + "\n"
    headline = {
        MessageKind.BOOKED: (f"Your appointment at {facts.site}", "is booked for"),
        MessageKind.REMINDER: (f"Reminder: your appointment at {facts.site}", "is on"),
        MessageKind.CHANGED: (f"New time: your appointment at {facts.site}", "has moved to"),
        MessageKind.CANCELLED: (
            f"Cancelled: your appointment at {facts.site}",
            "is cancelled. It was on",
        ),
        MessageKind.OFFER: (f"An earlier time at {facts.site}", "could be on"),
    }[kind]
    subject, verb = headline
    lines = [f"{greeting}your appointment at {facts.site} {verb} {when}."]
    if kind is not MessageKind.CANCELLED:
        lines.append(f"Please arrive by {arrive:%H:%M}.")
        if facts.instructions:
            lines.append(facts.instructions.strip())
        if channel is MessageChannel.SMS:
            lines.append(f"Reply C to confirm or X if you can't come. {facts.link}")
        else:
            lines.append(f"Confirm, or tell us you can't come: {facts.link}")
    else:
        lines.append(f"To book again, call {facts.site} or see {facts.link}")
    separator = " " if channel is MessageChannel.SMS else "\n\n"
    body = separator.join(lines)
    if channel is MessageChannel.SMS:
        body = body[:1].upper() + body[1:]
    else:
        body = body[:1].upper() + body[1:] + "\n"
    return subject, body
