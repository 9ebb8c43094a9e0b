"""On PostgreSQL: failed sign-ins from many workers at once are all counted, and the account
locks exactly once; sessions end for every worker at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, User
from clinic.services import sessions, staff
from clinic.services.auth import LOCKOUT_THRESHOLD, register_failure
from clinic.types import utcnow
from tests.conftest import PASSWORD, totp_code

pytestmark = pytest.mark.postgres


def test_concurrent_failures_are_all_counted_and_lock_once(pg_app):
    user = staff.create_user("n@clinic.test", "N", "nurse", [], password=PASSWORD, now=utcnow())
    user_id = user.id
    barrier = threading.Barrier(LOCKOUT_THRESHOLD - 1)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with pg_app.app_context():
                barrier.wait(timeout=10)
                register_failure(db.session.get(User, user_id), utcnow(), "password")
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=fail_once) for _ in range(LOCKOUT_THRESHOLD - 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    db.session.expire_all()
    user = db.session.get(User, user_id)
    assert user.failed_logins == LOCKOUT_THRESHOLD - 1 and not user.is_locked(utcnow())

    # The tenth, from two workers at the same moment: one lock, one audit row for it.
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=fail_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    db.session.expire_all()
    assert db.session.get(User, user_id).is_locked(utcnow())
    lockouts = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "auth.lockout")
    )
    assert lockouts == 1


def test_ending_every_session_of_a_user(pg_app):
    user = staff.create_user("m@clinic.test", "M", "nurse", [], password=PASSWORD, now=utcnow())
    now = utcnow()
    tokens = [sessions.start(user, now, "127.0.0.1", "test")[1] for _ in range(3)]
    db.session.commit()
    assert all(sessions.check(t, now, touch=False).row is not None for t in tokens)
    staff.update_user(user, {"active": False}, now=utcnow())
    later = now + timedelta(seconds=1)
    assert all(sessions.check(t, later, touch=False).row is None for t in tokens)


def test_one_totp_code_sent_by_eight_workers_at_once_is_accepted_once(pg_app):
    from clinic.services import totp

    user = staff.create_user("t@clinic.test", "T", "nurse", [], password=PASSWORD, now=utcnow())
    secret = totp.begin_enrolment(user)
    start = utcnow()
    assert totp.confirm_enrolment(user, totp_code(secret, start), start)
    now = start + timedelta(seconds=30)  # the next step: a code not used yet
    code = totp_code(secret, now)
    user_id = user.id
    barrier = threading.Barrier(8)
    accepted: list[bool] = []
    errors: list[BaseException] = []

    def sign_in_with_the_code() -> None:
        try:
            with pg_app.app_context():
                me = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                accepted.append(totp.verify(me, code, now))
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=sign_in_with_the_code) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert accepted.count(True) == 1 and len(accepted) == 8
