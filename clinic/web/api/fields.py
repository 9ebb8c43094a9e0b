"""The API's field types: strict JSON numbers, trimmed text, instants with an offset, days."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate

from clinic.domain.ids import MAX_ID
from clinic.services.site_settings import Limit
from clinic.types import utcnow

# Instants and dates further than this from now are typos; refusing them also keeps the
# date arithmetic of the rules far away from datetime's limits.
HORIZON = timedelta(days=3660)
CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")


def instant(value: datetime | None) -> str | None:
    """Return an instant as UTC ISO 8601 ending in "Z", or None."""
    if value is None:
        return None
    if value.tzinfo is None:  # the column type guarantees awareness; be safe anyway
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encodable(text: str) -> bool:
    """Tell whether a string can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Whole(fields.Integer):
    """A whole number (in JSON not "1", 1.0 or true), optionally within a setting's limits."""

    def __init__(self, limit: Limit | None = None, strict: bool = True, **kwargs: Any) -> None:
        if limit is not None:
            kwargs["validate"] = validate.Range(limit.low, limit.high, error=limit.message)
        messages = {"invalid": "Must be a whole number."}
        super().__init__(strict=strict, error_messages=messages, **kwargs)


def Id(**kwargs: Any) -> Whole:
    """An object id: a whole number from 1 to MAX_ID."""
    return Whole(validate=validate.Range(1, MAX_ID), **kwargs)


def Minutes(**kwargs: Any) -> Whole:
    """A length in minutes, at most a day."""
    return Whole(validate=validate.Range(1, 1440), **kwargs)


class Number(fields.Float):
    """A JSON number (not a string, not true or false)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Bool(fields.Boolean):
    """A JSON true or false (not "true", not 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


class Text(fields.String):
    """A string, trimmed, of at most max_length characters; blank is missing when required."""

    def __init__(self, max_length: int = 200, **kwargs: Any) -> None:
        checks = [  # the length, then any check of the field's own
            validate.Length(max=max_length),
            *([kwargs.pop("validate")] if "validate" in kwargs else []),
        ]
        super().__init__(validate=checks, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if "\x00" in text:  # PostgreSQL refuses NUL
            raise ValidationError("NUL character.")
        if self.required and not text:
            raise ValidationError("Required.")
        return text


class Instant(fields.DateTime):
    """An ISO 8601 instant: an offset is required in, UTC with "Z" out."""

    def __init__(self, within_horizon: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.within_horizon = within_horizon

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return instant(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("Must be an ISO 8601 instant with an offset.")
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Must be an ISO 8601 instant with an offset.") from None
        if parsed.tzinfo is None:
            raise ValidationError("Must carry an offset (Z or +hh:mm).")
        if not 1900 <= parsed.year <= 2999:  # far years overflow when converted to UTC
            raise ValidationError("Must be between the years 1900 and 2999.")
        if self.within_horizon and abs(parsed - utcnow()) > HORIZON:
            raise ValidationError("Must lie within ten years of today.")
        return parsed


class Day(fields.Date):
    """A YYYY-MM-DD date."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or len(value) != 10:
            raise ValidationError("Must be a date, YYYY-MM-DD.")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Must be a date, YYYY-MM-DD.") from None


class Flag(fields.Boolean):
    """A yes/no query parameter: 1/0, true/false, yes/no; empty is no."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            truthy={"1", "true", "yes"},
            falsy={"0", "false", "no", ""},
            error_messages={"invalid": "Must be 1 or 0."},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(str(value).strip().lower(), attr, data, **kwargs)


class Span(fields.Field):
    """Opening hours of a day: ["HH:MM", "HH:MM"] with close after open, or null (closed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(t, str) and CLOCK.fullmatch(t) for t in value)
            and value[0] < value[1]
            and value[0] != "24:00"
        ):
            raise ValidationError(
                '["HH:MM", "HH:MM"] (00:00 to 24:00) with close after open, or null.'
            )
        return value


SPAN_DOC = {
    "type": "array",  # allow_none adds "null"
    "items": {"type": "string", "pattern": f"^(?:{CLOCK.pattern})$"},
    "minItems": 2,
    "maxItems": 2,
}
