"""Production refuses to start on unsafe secrets; TOTP secrets are encrypted at rest."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from clinic import create_app
from clinic.extensions import db
from clinic.models import User
from clinic.services import staff, totp
from clinic.types import utcnow
from config import DEV_SECRET_KEY, ProductionConfig, TestConfig, UnsafeConfiguration
from tests.conftest import totp_code

ROOT = Path(__file__).resolve().parents[2]
STRONG = "a-production-secret-key-that-is-long-enough-0123456789"
TOTP_KEY = Fernet.generate_key().decode()


def production_app(tmp_path, **settings):
    """Build a production app on an empty SQLite file with these settings."""
    values = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}",
        "AUDIT_KEY": "an-audit-key-that-is-long-enough-0123456789",
    } | settings
    return create_app(ProductionConfig, **values)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SECRET_KEY": None, "TOTP_ENCRYPTION_KEY": TOTP_KEY}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "", "TOTP_ENCRYPTION_KEY": TOTP_KEY}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": DEV_SECRET_KEY, "TOTP_ENCRYPTION_KEY": TOTP_KEY}, "development key"),
        ({"SECRET_KEY": "x" * 31, "TOTP_ENCRYPTION_KEY": TOTP_KEY}, "shorter than 32 bytes"),
        ({"SECRET_KEY": STRONG, "TOTP_ENCRYPTION_KEY": ""}, "TOTP_ENCRYPTION_KEY is not set"),
        ({"SECRET_KEY": STRONG, "TOTP_ENCRYPTION_KEY": "not-a-key"}, "must be Fernet keys"),
    ],
)
def test_production_refuses_unsafe_secrets(tmp_path, settings, message):
    with pytest.raises(UnsafeConfiguration, match=message) as refused:
        production_app(tmp_path, **settings)
    assert refused.value.code != 0


def test_production_starts_with_strong_secrets(tmp_path):
    app = production_app(tmp_path, SECRET_KEY=STRONG, TOTP_ENCRYPTION_KEY=TOTP_KEY)
    assert app.config["SESSION_COOKIE_SECURE"]


def test_outside_production_the_development_key_is_allowed(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 't.db'}")
    assert app.config["SECRET_KEY"]


@pytest.mark.parametrize("secret_key", [None, DEV_SECRET_KEY, "short"])
def test_the_process_exits_non_zero_with_a_clear_message(tmp_path, secret_key):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FLASK_CONFIG": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TOTP_ENCRYPTION_KEY": TOTP_KEY,
        "AUDIT_KEY": "an-audit-key-that-is-long-enough-0123456789",
    }
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Infusion Desk will not start" in result.stderr and "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- TOTP secrets at rest


def test_the_stored_totp_secret_is_encrypted(app, clinic):
    secret = totp.begin_enrolment(clinic.nurse)
    stored = db.session.scalar(
        sa.select(User.totp_secret_encrypted).where(User.id == clinic.nurse.id)
    )
    assert stored and secret not in stored and stored.startswith("gA")  # a Fernet token, not base32
    assert totp.secret_of(clinic.nurse) == secret


def test_another_key_cannot_read_the_secret_and_the_code_step_fails_closed(app, clinic):
    secret = totp.begin_enrolment(clinic.nurse)
    now = utcnow()
    assert totp.confirm_enrolment(clinic.nurse, totp_code(secret, now), now)
    app.config["TOTP_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    assert totp.secret_of(clinic.nurse) is None
    later = now + timedelta(seconds=60)
    assert not totp.verify(clinic.nurse, totp_code(secret, later), later)


def test_keys_rotate_the_first_encrypts_and_every_one_decrypts(app, clinic):
    old = Fernet.generate_key().decode()
    app.config["TOTP_ENCRYPTION_KEY"] = old
    secret = totp.begin_enrolment(clinic.nurse)
    app.config["TOTP_ENCRYPTION_KEY"] = f"{Fernet.generate_key().decode()},{old}"
    assert totp.secret_of(clinic.nurse) == secret


def test_the_migration_encrypts_existing_secrets(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (email, name, role, active, created_at, failed_logins, "
                    "totp_secret, totp_enabled) VALUES ('n@clinic.test', 'N', 'nurse', 1, "
                    "'2026-11-01 00:00:00', 0, 'JBSWY3DPEHPK3PXP', 1)"
                )
            )
        upgrade()
        user = staff.find_user("n@clinic.test")
        assert user.totp_secret_encrypted != "JBSWY3DPEHPK3PXP"
        assert totp.secret_of(user) == "JBSWY3DPEHPK3PXP"
        db.session.remove()
        db.engine.dispose()
