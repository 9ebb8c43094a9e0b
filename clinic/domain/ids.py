"""Identifiers: every table's primary key is a 32-bit signed integer on PostgreSQL."""

MAX_ID = 2**31 - 1
"""The largest id any table can hold; a larger one in a URL or a body is simply not found."""


def is_digits(text: str) -> bool:
    """Tell whether text is ASCII digits only ("²".isdigit() is True, but int("²") fails)."""
    return text.isascii() and text.isdigit()
