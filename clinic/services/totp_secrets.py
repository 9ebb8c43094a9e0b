"""TOTP secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key
from the environment, so a copy of the database alone opens no second factor.

`TOTP_ENCRYPTION_KEY` holds one or more Fernet keys separated by commas: the first
encrypts, every one decrypts (rotate by putting a new key first). Without it (development
and tests only; production refuses to start) the key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

log = logging.getLogger(__name__)


def key_problem(setting: str) -> str | None:
    """Say what is wrong with a TOTP_ENCRYPTION_KEY value, or None (empty is allowed here)."""
    for key in _keys(setting):
        try:
            Fernet(key)
        except ValueError:
            return (
                "TOTP_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated."
            )
    return None


def _keys(setting: str) -> list[str]:
    return [key.strip() for key in (setting or "").split(",") if key.strip()]


def _cipher() -> MultiFernet:
    config = current_app.config
    keys = _keys(config.get("TOTP_ENCRYPTION_KEY", ""))
    if not keys:
        secret = config["SECRET_KEY"]
        secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        derived = hashlib.sha256(b"infusion-desk totp secrets\x00" + secret).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def seal(secret: str) -> str:
    """Encrypt a base32 TOTP secret for storage."""
    return _cipher().encrypt(secret.encode()).decode()


def unseal(stored: str | None) -> str | None:
    """Decrypt a stored secret; None when there is none or no configured key opens it."""
    if not stored:
        return None
    try:
        return _cipher().decrypt(stored.encode()).decode()
    except InvalidToken:
        # A wrong or rotated-away key: the user cannot pass the code step until an
        # administrator resets their second factor. Never log the value.
        log.warning("a stored TOTP secret could not be decrypted with the configured keys")
        return None
