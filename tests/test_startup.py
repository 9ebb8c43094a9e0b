"""Unsafe settings stop the app before it serves anything: a clear message, a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinic import create_app
from clinic.startup import ConfigurationError
from config import TestConfig

ROOT = Path(__file__).resolve().parents[1]


def test_webhook_urls_without_a_secret_refuse_to_create_the_app():
    with pytest.raises(ConfigurationError, match="WEBHOOK_SECRET is empty"):
        create_app(TestConfig, WEBHOOK_URLS=["https://pager.example/h"], WEBHOOK_SECRET="")


def test_webhook_urls_with_a_secret_or_no_urls_start():
    create_app(TestConfig, WEBHOOK_URLS=["https://pager.example/h"], WEBHOOK_SECRET="k" * 32)
    create_app(TestConfig, WEBHOOK_URLS=[], WEBHOOK_SECRET="")


def test_the_scheduler_command_exits_non_zero_with_the_reason(tmp_path):
    env = os.environ.copy() | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
        "WEBHOOK_URLS": "https://pager.example/hooks/infusion",
        "WEBHOOK_SECRET": "",
    }
    env.pop("FLASK_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "WEBHOOK_URLS is set but WEBHOOK_SECRET is empty" in done.stderr
