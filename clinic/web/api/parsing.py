"""Read a JSON request body field by field, collecting every error for a 422."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import request

from clinic.services.errors import Invalid, ServiceError

MISSING = object()


class BadRequest(ServiceError):
    """The body is not JSON, or not an object."""

    status = 400
    code = "bad_request"


def json_object() -> dict[str, Any]:
    """Return the request body as a dict, or raise a 400."""
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:  # absurdly deep nesting: the decoder gives up, so do we
        data = None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    refuse_nul(data)
    return data


def refuse_nul(data: Any, path: str = "") -> None:
    """Raise a 422 for a NUL character anywhere in the body (PostgreSQL text cannot hold it),
    or for a lone surrogate ("\\ud800" is valid JSON but no text any database can store)."""
    if isinstance(data, str) and "\x00" in data:
        raise Invalid("Text may not contain NUL characters.", {path or "body": ["NUL character."]})
    if isinstance(data, str) and not encodable(data):
        raise Invalid("Text must be valid Unicode.", {path or "body": ["A lone surrogate."]})
    if isinstance(data, dict):
        for name, value in data.items():
            if not encodable(name):
                raise BadRequest("The request body's field names must be valid Unicode.")
            refuse_nul(value, f"{path}.{name}" if path else str(name))
    elif isinstance(data, list):
        for value in data:
            refuse_nul(value, path)


def encodable(text: str) -> bool:
    """Tell whether a string can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_instant(text: Any) -> datetime:
    """Parse an ISO 8601 instant that carries an offset; refuse naive ones."""
    if not isinstance(text, str):
        raise ValueError("Must be an ISO 8601 instant with an offset.")
    try:
        value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Must be an ISO 8601 instant with an offset.") from None
    if value.tzinfo is None:
        raise ValueError("Must carry an offset (Z or +hh:mm).")
    if not 1900 <= value.year <= 2999:  # far years overflow when converted to UTC
        raise ValueError("Must be between the years 1900 and 2999.")
    return value


def parse_date(text: Any) -> date:
    """Parse a YYYY-MM-DD date."""
    if not isinstance(text, str) or len(text) != 10:
        raise ValueError("Must be a date, YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("Must be a date, YYYY-MM-DD.") from None


class Fields:
    """Typed access to a JSON object that records what is wrong instead of failing."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            if required:
                self.errors.setdefault(name, []).append("Required.")
            return MISSING
        return value

    def has(self, name: str) -> bool:
        """Tell whether the body names the field at all."""
        return name in self.data

    def integer(
        self, name: str, required: bool = False, low: int | None = None, high: int | None = None
    ) -> Any:
        """Read a whole number within [low, high]."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.setdefault(name, []).append("Must be a whole number.")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.errors.setdefault(name, []).append(f"Must be between {low} and {high}.")
            return None
        return value

    def number(self, name: str, low: float, high: float) -> Any:
        """Read a number within [low, high]."""
        value = self._get(name, False)
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.errors.setdefault(name, []).append("Must be a number.")
            return None
        if not low <= value <= high:
            self.errors.setdefault(name, []).append(f"Must be between {low} and {high}.")
            return None
        return float(value)

    def text(self, name: str, required: bool = False, max_length: int = 200) -> Any:
        """Read a string of at most max_length characters; blank counts as missing."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, str) or "\x00" in value:  # PostgreSQL refuses NUL
            self.errors.setdefault(name, []).append("Must be a string.")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.errors.setdefault(name, []).append(f"At most {max_length} characters.")
            return None
        if required and not value:
            self.errors.setdefault(name, []).append("Required.")
            return None
        return value

    def boolean(self, name: str, required: bool = False) -> Any:
        """Read true or false."""
        value = self._get(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, bool):
            self.errors.setdefault(name, []).append("Must be true or false.")
            return None
        return value

    def instant(self, name: str, required: bool = False) -> Any:
        """Read an ISO 8601 instant with an offset."""
        return self._parsed(name, required, parse_instant)

    def day(self, name: str, required: bool = False) -> Any:
        """Read a YYYY-MM-DD date."""
        return self._parsed(name, required, parse_date)

    def _parsed(self, name: str, required: bool, parser) -> Any:
        value = self._get(name, required)
        if value is MISSING:
            return None
        try:
            return parser(value)
        except ValueError as error:
            self.errors.setdefault(name, []).append(str(error))
            return None

    def string_list(self, name: str, max_items: int = 50, max_length: int = 200) -> Any:
        """Read a list of short strings."""
        value = self._get(name, False)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not all(
            isinstance(v, str) and "\x00" not in v for v in value
        ):
            self.errors.setdefault(name, []).append("Must be a list of strings.")
            return None
        if len(value) > max_items or any(len(v) > max_length for v in value):
            self.errors.setdefault(name, []).append("Too many or too long items.")
            return None
        return [v.strip() for v in value if v.strip()]

    def check(self) -> None:
        """Raise a 422 with every field error collected so far."""
        if self.errors:
            raise Invalid("Some fields are missing or invalid.", self.errors)


def query_int(name: str, required: bool = False, low: int = 1, high: int = 10**9) -> int | None:
    """Read a whole-number query parameter, or raise a 422."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise Invalid(f"{name} is required.", {name: ["Required."]})
        return None
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"{name} must be a whole number.", {name: ["Must be a whole number."]}
        ) from None
    if not low <= value <= high:
        raise Invalid(f"{name} is out of range.", {name: [f"Must be between {low} and {high}."]})
    return value


def query_date(name: str, required: bool = False) -> date | None:
    """Read a YYYY-MM-DD query parameter, or raise a 422."""
    raw = request.args.get(name)
    if not raw:
        if required:
            raise Invalid(f"{name} is required.", {name: ["Required."]})
        return None
    try:
        return parse_date(raw)
    except ValueError as error:
        raise Invalid(f"{name} is not a date.", {name: [str(error)]}) from None
