"""Helpers for the audit-trail tests: read the rows back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent


def audit_rows(action: str | None = None) -> list[AuditEvent]:
    """Return the audit rows (of one action), oldest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


@pytest.fixture
def rows():
    """Return the audit_rows helper."""
    return audit_rows
