"""What a line of text shown or sent may hold: names, e-mail addresses, phone numbers.

A name with a line break can forge a header or a log line in what we send; a bidirectional
control character makes a name read differently from what it is ("Trojan Source"). Both are
refused wherever a name is entered, through the pages and the API alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import Enum
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# U+202A-U+202E (embeddings and overrides) and U+2066-U+2069 (isolates).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that end a line for str.splitlines() (and so for most readers) beyond Cc.
LINE_SEPARATORS = frozenset("\u2028\u2029")
DEFAULT_PHONE_REGION = "US"


class Kind(Enum):
    """How a text field is checked and normalised."""

    LINE = "line"  # a single line: a name, an MRN
    EMAIL = "email"
    PHONE = "phone"


def line_problem(value: str) -> str | None:
    """Return why the text is not one clean line, or None when it is."""
    for char in value:
        if char in BIDI_CONTROLS:
            return "Remove the text-direction control characters."
        if char in LINE_SEPARATORS or unicodedata.category(char) == "Cc":
            return "Must be a single line without control characters."
    return None


def normalize_email(value: str) -> str:
    """Return the address in its normal form, or raise ValueError saying what is wrong."""
    if problem := line_problem(value):
        raise ValueError(problem)
    try:
        # No DNS look-up: a clinic's address may be internal; `.test` stays usable in tests.
        found = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise ValueError(f"Not an e-mail address: {error}") from None
    return found.normalized


def normalize_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return the number in E.164 (+15125550100), or raise ValueError."""
    if problem := line_problem(value):
        raise ValueError(problem)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"Not a valid phone number (numbers without +country are {region}).")
    if number.extension:
        raise ValueError("Leave out the extension.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean(
    values: Mapping[str, Any], kinds: Mapping[str, Kind], region: str = DEFAULT_PHONE_REGION
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check and normalise the named text fields present in values; return (values, errors).

    Empty and missing values are left as they are (whether a field is required is not
    decided here).
    """
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        value = values.get(name)
        if not isinstance(value, str) or not value:
            continue
        try:
            if kind is Kind.EMAIL:
                cleaned[name] = normalize_email(value)
            elif kind is Kind.PHONE:
                cleaned[name] = normalize_phone(value, region)
            elif problem := line_problem(value):
                raise ValueError(problem)
        except ValueError as error:
            errors.setdefault(name, []).append(str(error))
    return cleaned, errors
