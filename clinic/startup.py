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
    problems += sms_problems(config)
    if problems:
        raise ConfigurationError("Infusion Desk will not start: " + " ".join(problems))


def sms_problems(config: Mapping[str, Any]) -> list[str]:
    """Return what is missing for the SMS provider chosen (none chosen: nothing)."""
    provider = str(config.get("SMS_PROVIDER") or "").strip().lower()
    if not provider:
        return []
    if provider == "webhook":
        if not config.get("SMS_WEBHOOK_URL") or not config.get("SMS_WEBHOOK_SECRET"):
            return [
                "SMS_PROVIDER=webhook needs SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET (the gateway "
                "checks the signature; replies are refused without it)."
            ]
        return []
    if provider == "twilio":
        needed = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
        if missing := [name for name in needed if not config.get(name)]:
            return [f"SMS_PROVIDER=twilio needs {', '.join(missing)}."]
        return []
    return [f"SMS_PROVIDER must be webhook, twilio or empty, not {provider!r}."]
