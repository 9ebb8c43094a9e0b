"""The one gate for names, e-mail addresses and phone numbers entered through pages or API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from clinic.domain.text import DEFAULT_PHONE_REGION, Kind, clean
from clinic.services.errors import Invalid


def checked(values: Mapping[str, Any], kinds: Mapping[str, Kind]) -> dict[str, Any]:
    """Return values with e-mail and phone normalised; raise Invalid naming each bad field."""
    region = current_app.config.get("PHONE_REGION", DEFAULT_PHONE_REGION)
    cleaned, errors = clean(values, kinds, region)
    if errors:
        raise Invalid("Some fields are invalid: " + ", ".join(sorted(errors)) + ".", errors)
    return cleaned
