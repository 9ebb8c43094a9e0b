"""The security pages as a person sees them: API tokens listed with a revoke button, the
second factor turned off only with the password and a code."""

from __future__ import annotations

from datetime import timedelta

from clinic.services import tokens, totp
from clinic.types import utcnow
from tests.conftest import PASSWORD, totp_code


def sign_in(page, user) -> None:
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/")


def test_a_user_sees_and_revokes_their_api_tokens(page, clinic, screenshot, frozen):
    tokens.issue(clinic.nurse, utcnow(), name="Pager bridge")
    kept, _ = tokens.issue(clinic.nurse, utcnow(), name="Ward tablet", days=30)
    secret = totp.begin_enrolment(clinic.nurse)
    totp.confirm_enrolment(clinic.nurse, totp_code(secret, utcnow()), utcnow())
    frozen.shift(timedelta(seconds=31))  # the sign-in needs a code not used yet
    page.goto("/login")
    page.fill("input[name=email]", clinic.nurse.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/login/two-factor")
    page.fill("input[name=code]", totp_code(secret, utcnow()))
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/")
    page.goto("/account/security")
    assert page.locator("[data-api-tokens] tbody tr").count() == 2
    # Turning the second factor off asks for the password as well as a code.
    disable = page.locator("form[action='/account/two-factor/disable']")
    assert disable.locator("input[name=password]").is_visible()
    assert disable.locator("input[name=code]").is_visible()
    screenshot("account-security-tokens")
    page.locator("tr:has-text('Pager bridge') button:has-text('Revoke')").click()
    page.wait_for_url("**/account/security")
    assert page.locator("tr:has-text('Pager bridge')").inner_text().count("Revoked") == 1
    assert page.locator(f"tr[data-token-id='{kept.id}'] button:has-text('Revoke')").is_visible()


def test_an_admin_sees_a_users_tokens(page, clinic, screenshot):
    tokens.issue(clinic.nurse, utcnow(), name="Pager bridge")
    sign_in(page, clinic.admin)
    page.goto(f"/admin/users/{clinic.nurse.id}")
    assert page.locator("[data-api-tokens] tr:has-text('Pager bridge')").is_visible()
    screenshot("admin-user-tokens")
