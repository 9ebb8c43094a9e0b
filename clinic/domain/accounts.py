"""Rules for changing accounts: an administrator keeps their own role, and the clinic
always keeps at least one active administrator."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.domain.booking import Violation
from clinic.domain.choices import Choice


class AccountRule(Choice):
    """The account rules, named as the API reports them in a 409's `reasons`."""

    OWN_ADMIN_ROLE = "own_admin_role", "Own administrator role", "rule-own_admin_role"
    LAST_ACTIVE_ADMIN = "last_active_admin", "Last active administrator", "rule-last_active_admin"


@dataclass(frozen=True)
class AccountViolation(Violation):
    """One broken account rule and a sentence for the administrator."""

    rule: AccountRule
    message: str


def admin_change_violations(
    *,
    actor_id: int | None,
    user_id: int,
    is_active_admin: bool,
    stays_active_admin: bool,
    other_active_admins: int,
) -> list[AccountViolation]:
    """Return every rule that taking a user's administrator role or activity would break."""
    if not is_active_admin or stays_active_admin:
        return []
    violations = []
    if actor_id == user_id:
        violations.append(
            AccountViolation(
                AccountRule.OWN_ADMIN_ROLE,
                "You cannot remove your own administrator role or deactivate yourself; "
                "ask another administrator.",
            )
        )
    if other_active_admins == 0:
        violations.append(
            AccountViolation(
                AccountRule.LAST_ACTIVE_ADMIN,
                "This is the last active administrator; make another administrator first.",
            )
        )
    return violations
