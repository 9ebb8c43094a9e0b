"""axe-core over every page of every role: no serious or critical violation, contrast included.

axe-core is vendored in tests/browser/vendor (from npm, never a CDN) and injected into each
page with Playwright's add_script_tag; the app never serves it. Injecting a script needs the
browser to set the page's CSP aside, so these pages run in their own context with bypass_csp.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from clinic.database import begin_write
from clinic.extensions import db
from clinic.models import Measure, PatientMessage
from clinic.notify import patient_outbox
from clinic.services import display_links, totp
from clinic.types import utcnow
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import MONDAY, PASSWORD, chicago
from tests.services.visit_rows import put_visit

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SERIOUS = ("serious", "critical")
TUESDAY = MONDAY + timedelta(days=1)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def axe_page(browser, live_server):
    """A page whose CSP the browser sets aside, so that axe can be injected."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1440, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"page errors: {errors}"


def serious_violations(page) -> list[str]:
    """Run axe on the page as it is now; return its serious and critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}))"""
    )
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in found if v["impact"] in SERIOUS]


class Audit:
    """Visit pages one by one and collect every page's violations, to report them together."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: dict[str, list[str]] = {}
        self.seen: list[str] = []

    def check(self, name: str) -> None:
        """Check the page as it stands under a name."""
        self.seen.append(name)
        problems = serious_violations(self.page)
        if problems:
            self.found[name] = problems

    def visit(self, path: str, ready: str = "main", name: str | None = None) -> None:
        """Open a path, wait for what shows it is drawn, and check it."""
        self.page.goto(path)
        self.page.wait_for_selector(ready)
        self.check(name or path)

    def sign_in(self, user) -> None:
        """Sign in through the login form (checking the login page on the way)."""
        self.page.context.clear_cookies()
        self.visit("/login")
        self.page.fill("input[name=email]", user.email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit], input[type=submit]")
        self.page.wait_for_load_state()

    def assert_clean(self) -> None:
        """Fail with every page's violations listed."""
        report = "\n".join(f"{name}: {p}" for name, ps in self.found.items() for p in ps)
        assert not self.found, f"axe found serious/critical violations:\n{report}"


@pytest.fixture
def day(clinic, make_patient, make_clearance, frozen):
    """Monday 10:30 in Austin: one patient checked in, one infusing, one recovering, and a
    visit booked for Tuesday."""
    site, chairs = clinic.site, clinic.chairs
    names = [("Avery", "Quinn"), ("Blake", "Morgan"), ("Casey", "Nguyen"), ("Devon", "Patel")]
    people = [make_patient(site, given_name=g, family_name=f) for g, f in names]
    frozen.move_to(chicago(MONDAY, 10, 30))
    visits = {
        "recovering": put_visit(site, chairs[0], people[0], "recovering", chicago(MONDAY, 9)),
        "infusing": put_visit(site, chairs[1], people[1], "infusing", chicago(MONDAY, 10)),
        "checked_in": put_visit(site, chairs[2], people[2], "checked_in", chicago(MONDAY, 10, 45)),
        "booked": put_visit(site, chairs[0], people[3], "booked", chicago(TUESDAY, 9)),
    }
    clinic.visits = visits
    clinic.clearance = make_clearance(people[3], practitioner=clinic.practitioner)
    return clinic


def test_front_desk_pages(axe_page, day):
    audit = Audit(axe_page)
    audit.sign_in(day.clerk)
    patient = day.visits["booked"].patient_id
    audit.visit("/", "#board.is-placed")
    audit.visit(f"/?date={TUESDAY.isoformat()}", "#board.is-placed")
    audit.visit(f"/print?date={TUESDAY.isoformat()}")
    audit.visit("/book")
    audit.visit(f"/book?patient_id={patient}&date={TUESDAY.isoformat()}&time=09:30")
    axe_page.click("#book-form [type=submit]")  # refused: the patient already has a visit
    axe_page.wait_for_selector("#broken-rules")
    audit.check("/book (refused)")
    audit.visit(f"/book/course?patient_id={patient}")
    audit.visit(f"/visits/{day.visits['booked'].id}")
    audit.visit(f"/visits/{day.visits['checked_in'].id}")
    audit.visit("/visits")
    audit.visit(f"/week?site_id={day.site.id}&date={MONDAY.isoformat()}")
    audit.visit("/patients")
    audit.visit("/patients?q=Quinn")
    audit.visit(f"/patients/{patient}")
    audit.visit("/patients/new")
    audit.visit(f"/patients/{patient}/edit")
    audit.visit("/recovery", ".rc-card")
    audit.visit("/account/security")
    audit.visit("/admin")  # 403 for the desk: the error page
    audit.visit("/no-such-page")  # 404
    audit.assert_clean()


def test_nurse_pages_and_dialogs(axe_page, day):
    audit = Audit(axe_page)
    audit.sign_in(day.nurse)
    audit.visit("/recovery", ".rc-card")
    actions = ("start_infusion", "end_infusion", "vitals", "dose", "extend", "discharge")
    for action in (*actions, "screening"):
        button = axe_page.locator(f"[data-nursing-action='{action}']").first
        if button.count():
            button.click()
            axe_page.wait_for_selector(".modal.show")
            axe_page.wait_for_timeout(400)  # the fade-in, so colours are final
            audit.check(f"/recovery dialog {action}")
            axe_page.keyboard.press("Escape")
            axe_page.wait_for_selector(".modal.show", state="detached")
    audit.visit("/recovery?wall=1", ".rc-card")
    audit.visit(f"/visits/{day.visits['recovering'].id}")
    audit.visit(f"/visits/{day.visits['infusing'].id}")
    audit.visit(f"/visits/{day.visits['recovering'].id}/record")
    audit.assert_clean()


def test_practitioner_pages(axe_page, day):
    audit = Audit(axe_page)
    audit.sign_in(day.practitioner)
    patient = day.visits["booked"].patient_id
    audit.visit(f"/patients/{patient}")
    audit.visit(f"/patients/{patient}/clearances/new")
    clearance = day.clearance
    audit.visit(f"/patients/{patient}/clearances/{clearance.id}/edit")
    audit.visit(f"/patients/{patient}/clearances/{clearance.id}/void")
    audit.visit("/reports")
    audit.visit(f"/reports?site_id={day.site.id}&from=2026-12-06&to=2026-11-30")  # a bad range
    # A positive C-SSRS screener: the card turns red and the practitioner reviews it.
    checked_in = day.visits["checked_in"]
    begin_write()
    db.session.add(
        Measure(
            visit_id=checked_in.id,
            patient_id=checked_in.patient_id,
            instrument="cssrs_screen",
            answers=[True, True, True, False, False, False],
            score=3,
            band="positive",
            flags=["suicide_risk"],
            at=utcnow(),
            via_kiosk=False,
            created_at=utcnow(),
        )
    )
    db.session.commit()
    audit.visit("/recovery", ".rc-card.is-screen-risk")
    axe_page.locator("[data-nursing-action='review']").first.click()
    axe_page.wait_for_selector(".modal.show")
    axe_page.wait_for_timeout(400)
    audit.check("/recovery dialog review")
    # A PHQ-9 course: the patient's chart and the site's outcomes page.
    begin_write()
    for days_ago, total in ((14, 21), (7, 12), (0, 4)):
        at = utcnow() - timedelta(days=days_ago)
        answers = [min(3, max(0, total - 3 * i)) for i in range(9)]
        db.session.add(
            Measure(
                visit_id=checked_in.id,
                patient_id=checked_in.patient_id,
                instrument="phq9",
                answers=answers,
                score=total,
                band="x",
                flags=[],
                at=at,
                via_kiosk=False,
                created_at=at,
            )
        )
    db.session.commit()
    audit.visit(f"/patients/{checked_in.patient_id}", "#outcome-chart-phq9")
    audit.visit("/outcomes", "[data-counts]")
    audit.assert_clean()


def test_admin_pages(axe_page, day):
    audit = Audit(axe_page)
    audit.sign_in(day.admin)
    site = day.site.id
    for path in (
        "/admin",
        "/admin/sites",
        f"/admin/sites/{site}",
        f"/admin/sites/{site}/chairs",
        f"/admin/sites/{site}/shifts",
        f"/admin/sites/{site}/treatment-types",
        f"/admin/sites/{site}/treatment-types/{day.site.default_treatment_type_id}",
        "/admin/sites/new",
        "/admin/users",
        f"/admin/users/{day.clerk.id}",
        "/admin/users/new",
        "/admin/security",
        "/admin/display-links",
        "/admin/deliveries",
        "/admin/audit",
        "/reports",
    ):
        audit.visit(path)
    audit.assert_clean()


def test_wall_display_and_signed_out_pages(axe_page, day):
    _, token = display_links.create(day.admin, day.site.id, "Waiting room", utcnow())
    db.session.commit()
    audit = Audit(axe_page)
    audit.visit(f"/display/{token}", ".rc-card", name="/display/<token>")
    axe_page.screenshot(path=str(ARTIFACTS / "a11y-wall-display.png"), full_page=True)
    audit.visit("/login")
    audit.visit("/no-such-page")
    # A patient's confirmation link (no sign-in).
    booked = day.visits["booked"]
    db.session.add(
        PatientMessage(
            visit_id=booked.id,
            patient_id=booked.patient_id,
            channel="email",
            kind="booked",
            status="sent",
            scheduled_for=utcnow(),
            next_attempt_at=utcnow(),
            sent_at=utcnow(),
            attempts=1,
            token_digest=patient_outbox.digest("a11y-link"),
            created_at=utcnow(),
        )
    )
    db.session.commit()
    audit.visit("/c/a11y-link", "form", name="/c/<token>")
    # The second-factor pages: a nurse who has enrolled, a practitioner whose role requires it.
    day.nurse.totp_secret, day.nurse.totp_enabled = "JBSWY3DPEHPK3PXP", True
    db.session.commit()
    totp.set_required_roles(day.admin, {"practitioner"}, utcnow())
    audit.sign_in(day.nurse)
    audit.visit("/login/two-factor", "input[name=code]")
    audit.sign_in(day.practitioner)
    audit.visit("/login/enrol", "input[name=code]")
    audit.assert_clean()


# ---------------------------------------------------------------- keyboard and remembered choices


def test_the_skip_link_is_the_first_tab_stop_and_jumps_to_the_content(page, day):
    sign_in(page, day.clerk, PASSWORD)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_focus_returns_to_the_opener_when_a_recovery_dialog_closes(page, day):
    sign_in(page, day.nurse, PASSWORD)
    page.goto("/recovery")
    button = page.locator("[data-nursing-action='end_infusion']").first
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".modal.show:focus-within")
    page.wait_for_timeout(400)  # Bootstrap ignores Escape while the dialog fades in
    page.keyboard.press("Escape")
    page.wait_for_selector(".modal.show", state="detached")
    page.wait_for_selector("[data-nursing-action]:focus")
    focused = page.evaluate(
        "[document.activeElement.dataset.nursingAction, document.activeElement.dataset.visitId]"
    )
    assert focused == ["end_infusion", str(day.visits["infusing"].id)]


def test_the_alerts_opt_in_is_remembered(page, day):
    page.context.grant_permissions(["notifications"])
    sign_in(page, day.nurse, PASSWORD)
    page.goto("/recovery")
    page.click("[data-alerts-enable]")
    page.wait_for_selector("[data-alerts-enable]", state="detached")
    page.reload()
    button = page.locator("[data-alerts-enable]")
    assert "Alerts on" in button.inner_text()
    page.locator("h1").first.click()  # the first click anywhere turns the sound back on
    page.wait_for_selector("[data-alerts-enable]", state="detached")
    assert "on" in page.inner_text("[data-alerts-status]").lower()
