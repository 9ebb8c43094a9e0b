"""Settings checked before the app serves anything: a wrong one stops the start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigurationError(RuntimeError):
    """A setting that would make the app unsafe to run; the message says which and why."""


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigurationError naming every unsafe setting."""
    problems = []
    if config.get("WEBHOOK_URLS") and not config.get("WEBHOOK_SECRET"):
        problems.append(
            "WEBHOOK_URLS is set but WEBHOOK_SECRET is empty: receivers could not tell our "
            "alerts from forged ones. Set WEBHOOK_SECRET to a long random value."
        )
    if problems:
        raise ConfigurationError("Infusion Desk refuses to start. " + " ".join(problems))
