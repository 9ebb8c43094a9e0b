"""Settings checked before the app serves anything: a wrong one stops the start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config import UnsafeConfiguration, production_problems

# One refusal for every unsafe setting: a SystemExit, so the message is printed and the
# process (web worker, scheduler, any `flask` command) exits with status 1, no traceback.
ConfigurationError = UnsafeConfiguration


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigurationError naming every unsafe setting."""
    from clinic.services.totp_secrets import key_problem

    problems = production_problems(dict(config))
    if problem := key_problem(config.get("TOTP_ENCRYPTION_KEY", "")):
        problems.append(problem)
    if problems:
        problems.append(
            "Set a random SECRET_KEY and AUDIT_KEY of at least 32 bytes each, and "
            "TOTP_ENCRYPTION_KEY "
            '(README, "Security").'
        )
    if config.get("WEBHOOK_URLS") and not config.get("WEBHOOK_SECRET"):
        problems.append(
            "WEBHOOK_URLS is set but WEBHOOK_SECRET is empty: receivers could not tell our "
            "alerts from forged ones. Set WEBHOOK_SECRET to a long random value."
        )
    if problems:
        raise ConfigurationError("Infusion Desk will not start: " + " ".join(problems))
