"""The webhook channel: a JSON POST signed with HMAC-SHA256 for paging systems.

The signature covers the timestamp and the raw body, `sha256=HMAC(key, timestamp + "." +
body)`, so a receiver that refuses old timestamps cannot be fed a captured request again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from clinic.domain.ids import is_digits

TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Infusion-Signature"
TIMESTAMP_HEADER = "X-Infusion-Timestamp"
# Receivers refuse a request whose timestamp is further than this from their clock.
MAX_AGE_SECONDS = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the signature header value: sha256=<hex HMAC-SHA256 of timestamp "." body>."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str | None, signature_value: str | None, body: bytes, now: float
) -> bool:
    """Tell whether a signed request is genuine and at most MAX_AGE_SECONDS old."""
    if not secret or not timestamp or not signature_value or not is_digits(timestamp):
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_value)


def encode(payload: dict[str, Any]) -> bytes:
    """Return the exact bytes that are sent and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Return the headers of a signed JSON POST."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "InfusionDesk-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def post(url: str, secret: str, payload: dict[str, Any], timestamp: int) -> None:
    """POST the payload to the URL; raise unless it answers 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("webhook URLs must be http or https")
    if not secret:
        raise ValueError("WEBHOOK_SECRET is empty: nothing is sent unsigned")
    body = encode(payload)
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)  # nosec B310
        url, data=body, method="POST", headers=signed_headers(secret, body, timestamp)
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
        response.read(1024)
        if not 200 <= response.status < 300:
            raise RuntimeError(f"HTTP {response.status}")
