"""Errors that services raise and the web layer turns into pages or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clinic.domain.booking import Violation


class ServiceError(Exception):
    """A refusal the user should see, with a sentence that says why."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(ServiceError):
    """No such object, or one the user may not see."""

    status = 404
    code = "not_found"

    def __init__(self, what: str = "object") -> None:
        super().__init__(f"No such {what}.")


class Forbidden(ServiceError):
    """The user's role may not do this."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str = "Your role may not do this.") -> None:
        super().__init__(message)


class Conflict(ServiceError):
    """A booking rule, a state transition or a uniqueness rule would be broken."""

    status = 409
    code = "conflict"

    def __init__(
        self,
        message: str,
        reasons: Sequence[Violation] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reasons: Sequence[Violation] = reasons or []
        # More of the error body, e.g. {"visit_ids": [...]} for a chair still booked.
        self.extra = extra or {}
        # Set by the API for a refused booking: the closest bookable slots, as JSON objects.
        self.alternatives: list[dict[str, Any]] | None = None


class Invalid(ServiceError):
    """A field is missing, of the wrong type or out of range."""

    status = 422
    code = "invalid"
