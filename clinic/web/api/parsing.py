"""Kept for the pages that still import from here (front desk, alerts); delete with them."""

from __future__ import annotations

from flask import request

from clinic.services.errors import Invalid
from clinic.web.api.fields import encodable

__all__ = ["encodable", "query_int"]


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
