"""The webhook channel: a JSON POST signed with HMAC-SHA256 for paging systems."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Infusion-Signature"
TIMESTAMP_HEADER = "X-Infusion-Timestamp"


def signature(secret: str, body: bytes) -> str:
    """Return the signature header value: sha256=<hex HMAC-SHA256 of the raw body>."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode(payload: dict[str, Any]) -> bytes:
    """Return the exact bytes that are sent and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post(url: str, secret: str, payload: dict[str, Any], timestamp: int) -> None:
    """POST the payload to the URL; raise unless it answers 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("webhook URLs must be http or https")
    body = encode(payload)
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "InfusionDesk-Webhook/1",
            SIGNATURE_HEADER: signature(secret, body),
            TIMESTAMP_HEADER: str(timestamp),
        },
    )
    # nosec B310: post() refuses every scheme but http and https before this line.
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 # nosec B310
        response.read(1024)
        if not 200 <= response.status < 300:
            raise RuntimeError(f"HTTP {response.status}")
