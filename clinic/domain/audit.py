"""The outcomes an audit row records (the trail itself is kept by clinic.services.audit)."""

from __future__ import annotations

from clinic.domain.choices import Choice


class Outcome(Choice):
    """How an audited action ended."""

    OK = "ok", "OK", "outcome-ok"
    DENIED = "denied", "Denied", "outcome-denied"
    REFUSED = "refused", "Refused", "outcome-refused"
    FAILED = "failed", "Failed", "outcome-failed"
