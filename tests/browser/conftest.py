"""A live server and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import require_env

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Debian's), or a skip (a failure when REQUIRE_BROWSER=1)."""
    path = _chromium_path()
    if path is None:
        if require_env("REQUIRE_BROWSER"):
            pytest.fail("Chromium is mandatory here but /usr/bin/chromium is missing")
        pytest.skip("Chromium is not installed (set REQUIRE_BROWSER=1 to make this fail)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """Serve the test app on a free local port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page; its console errors and CSP violations fail the test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


# How Chromium reports a fetch answered 4xx: the dialogs' refusals are 409
# and 422 by design, and so is a page that explains a bad form.
REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of (409|422)")


@pytest.fixture
def refusing_page(browser, live_server):
    """A page like `page`, on which the dialogs' 409/422 answers are expected.

    Every other console error or page error still fails the test.
    """
    context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text) if msg.type == "error" and not REFUSAL.match(msg.text) else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/ for a person to look at."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, user, password: str) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/")
