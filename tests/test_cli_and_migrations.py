"""Command-line setup and migrations, as API.md promises them to scripts and tests."""

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from clinic import create_app
from clinic.extensions import db
from clinic.services.staff import find_user
from clinic.services.tokens import user_for_token
from clinic.types import utcnow
from config import TestConfig

ROOT = Path(__file__).resolve().parents[1]


def test_users_create_reads_the_password_from_stdin(runner, clinic):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Nia@Clinic.test",
            "--name",
            "Nia Park",
            "--role",
            "nurse",
            "--site",
            str(clinic.site.id),
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = find_user("nia@clinic.test")
    assert user.role == "nurse" and user.site_ids == [clinic.site.id]
    from clinic.services.auth import authenticate

    assert authenticate("nia@clinic.test", "a long enough password") == user


def test_users_create_warns_about_a_weak_password_and_refuses_an_unknown_role(runner):
    weak = runner.invoke(
        args=["users", "create", "a@b.test", "--name", "A", "--role", "nurse"], input="short\n"
    )
    assert weak.exit_code == 0
    assert "Warning" in weak.output
    from clinic.services.auth import authenticate

    assert authenticate("a@b.test", "short") is not None
    role = runner.invoke(
        args=["users", "create", "c@d.test", "--name", "C", "--role", "chef"],
        input="long enough password\n",
    )
    assert role.exit_code != 0
    assert find_user("c@d.test") is None


def test_users_token_prints_a_working_token_last(runner, clinic):
    result = runner.invoke(args=["users", "token", clinic.clerk.email])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert user_for_token(token, utcnow()) == clinic.clerk
    assert runner.invoke(args=["users", "token", "nobody@x.test"]).exit_code != 0


def _schema_diff(url: str) -> list:
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    return diff


def test_db_upgrade_builds_the_models_schema_on_empty_sqlite(tmp_path):
    assert _schema_diff(f"sqlite:///{tmp_path / 'empty.db'}") == []


def test_db_upgrade_builds_the_schema_on_postgresql(pg_url):
    # pg_url is already migrated; a second upgrade is a no-op and nothing differs.
    assert _schema_diff(pg_url) == []
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        names = set(conn.scalars(sa.text("SELECT conname FROM pg_constraint WHERE contype = 'x'")))
    engine.dispose()
    assert {"ex_visits_chair_hold", "ex_visits_bay_hold"} <= names


def test_flask_db_upgrade_command_on_an_empty_file(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(env["DATABASE_URL"])
    assert "visits" in sa.inspect(engine).get_table_names()
    engine.dispose()
