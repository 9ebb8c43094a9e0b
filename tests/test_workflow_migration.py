"""Migration 0006_workflow: sites that existed before it get the visit-window defaults."""

import sqlalchemy as sa
from flask_migrate import upgrade

from clinic import create_app
from clinic.extensions import db
from config import TestConfig


def test_existing_sites_get_the_check_in_and_no_show_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sites (name, timezone, opening_hours, nurse_ratio, "
                    "require_practitioner_on_site, infusion_min, infusion_max, infusion_default, "
                    "observation_min, observation_default, overdue_after_minutes, "
                    "turnover_minutes, min_hours_between_infusions, recovery_mode, "
                    "vital_thresholds, idle_timeout_minutes, updated_at) VALUES ('Old', "
                    "'America/Chicago', '{}', 4, 1, 45, 60, 45, 60, 120, 15, 15, 24, 'chair', "
                    "'{}', 15, '2026-11-01 00:00:00')"
                )
            )
        upgrade(revision="0006_workflow")
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT check_in_open_minutes, no_show_after_minutes FROM sites")
            ).one()
        db.engine.dispose()
    assert tuple(row) == (120, 15)
