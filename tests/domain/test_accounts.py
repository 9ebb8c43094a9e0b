"""The account rules: an administrator keeps their own role; one active administrator stays."""

from clinic.domain.accounts import AccountRule, admin_change_violations


def rules(**kwargs) -> list[str]:
    values = {
        "actor_id": 1,
        "user_id": 2,
        "is_active_admin": True,
        "stays_active_admin": False,
        "other_active_admins": 1,
    } | kwargs
    return [v.rule for v in admin_change_violations(**values)]


def test_demoting_another_admin_while_one_remains_is_allowed():
    assert rules() == []


def test_demoting_or_disabling_oneself_is_refused():
    assert rules(actor_id=2, user_id=2) == [AccountRule.OWN_ADMIN_ROLE]


def test_the_last_active_admin_keeps_the_role():
    assert rules(other_active_admins=0) == [AccountRule.LAST_ACTIVE_ADMIN]
    assert rules(actor_id=2, user_id=2, other_active_admins=0) == [
        AccountRule.OWN_ADMIN_ROLE,
        AccountRule.LAST_ACTIVE_ADMIN,
    ]


def test_changes_that_keep_an_active_admin_or_touch_no_admin_break_nothing():
    assert rules(actor_id=2, user_id=2, stays_active_admin=True, other_active_admins=0) == []
    assert rules(is_active_admin=False, other_active_admins=0) == []
