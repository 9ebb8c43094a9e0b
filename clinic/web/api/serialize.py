"""Kept for the pages that still import `instant` here (nursing, alerts); delete with them."""

from clinic.web.api.fields import instant

__all__ = ["instant"]
