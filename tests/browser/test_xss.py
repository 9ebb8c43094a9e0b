"""A corpus of XSS payloads saved as names, escorts and notes, rendered in Chromium: none runs.

Every payload tries to set `window.__xss` or open a dialog. The pages get their own browser
context without the `page` fixture's console assertion: once the Content-Security-Policy
blocks an injected inline script, Chromium reports that as a console error, and a blocked
script is exactly the outcome wanted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from clinic.domain.text import line_problem
from clinic.extensions import db
from clinic.models import Patient, User, Visit
from clinic.services import audit, booking, events, observations, patients, staff
from clinic.services.auth import hash_password
from clinic.types import utcnow
from tests.browser.conftest import sign_in
from tests.conftest import MONDAY, PASSWORD, add_negative_screen, chicago

pytestmark = pytest.mark.browser

SET = "window.__xss=1"
PAYLOADS = [
    f"<script>{SET}</script>",
    f"<ScRiPt>{SET}</sCrIpT>",
    f"<script src=data:text/javascript,{SET}></script>",
    f"<scr<script>ipt>{SET}</scr</script>ipt>",
    f"</script><script>{SET}</script>",
    f"<img src=x onerror={SET}>",
    f"<IMG SRC=x OnErRoR={SET}>",
    f"<img/src/onerror={SET}>",
    f'<img src="x" onerror="{SET}">',
    f"<img src=x:y onerror=eval('{SET}')>",
    f'<img """><script>{SET}</script>">',
    f"<svg onload={SET}>",
    f"<svg/onload={SET}>",
    f"<svg><script>{SET}</script></svg>",
    f"<svg><animate onbegin={SET} attributeName=x dur=1s>",
    f"<body onload={SET}>",
    f"<iframe src=javascript:{SET}></iframe>",
    "<iframe srcdoc='<script>parent.__xss=1</script>'></iframe>",
    f"<object data=javascript:{SET}></object>",
    f"<embed src=javascript:{SET}>",
    f"<a href=javascript:{SET} id=xss-link>click</a>",
    f"javascript:{SET}",
    f"JaVaScRiPt:{SET}//",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
    f'"><script>{SET}</script>',
    f"'><img src=x onerror={SET}>",
    f'" autofocus onfocus="{SET}" x="',
    f"' autofocus onfocus='{SET}' x='",
    f'" onmouseover="{SET}',
    f"</textarea><script>{SET}</script>",
    f"</title><script>{SET}</script>",
    f"</style><script>{SET}</script>",
    f"<!--<img src=--><img src=x onerror={SET}//-->",
    f"<![CDATA[<script>{SET}</script>]]>",
    f"<details open ontoggle={SET}>",
    f"<input autofocus onfocus={SET}>",
    f"<select autofocus onfocus={SET}></select>",
    f"<textarea autofocus onfocus={SET}></textarea>",
    f"<video><source onerror={SET}></video>",
    f"<audio src=x onerror={SET}>",
    f"<marquee onstart={SET}>x</marquee>",
    f"<div contenteditable autofocus onfocus={SET}>x</div>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={SET}>",
    f"<meta http-equiv=refresh content='0;url=javascript:{SET}'>",
    "<base href=javascript:/x/>",
    f"<form action=javascript:{SET}><button id=xss-go>go</button></form>",
    f"<style>@import 'javascript:{SET}';</style>",
    f"<link rel=stylesheet href=javascript:{SET}>",
    f"';{SET};//",
    f'";{SET};//',
    f"`;{SET};//`",
    f"\\u003cscript\\u003e{SET}\\u003c/script\\u003e",
    f"&lt;script&gt;{SET}&lt;/script&gt;",
    f"%3Cscript%3E{SET}%3C/script%3E",
    f"+ADw-script+AD4-{SET}+ADw-/script+AD4-",
    f"\uff1cscript\uff1e{SET}\uff1c/script\uff1e",
    f"<scr\u200bipt>{SET}</scr\u200bipt>",
    f"\u202e<img src=x onerror={SET}>",
    "zz{{7*7}}zz",
    "zz${7*7}zz",
    "zz#{7*7}zz",
    "zz{% print(7*7) %}zz",
    "zz<%= 7*7 %>zz",
    "{{constructor.constructor('window.__xss=1')()}}",
    "{{config.items()}}",
]
# Template-injection strings: rendered literally, never evaluated.
TEMPLATE_CHECKS = [("zz{{7*7}}zz", "zz49zz"), ("zz${7*7}zz", "zz49zz"), ("zz#{7*7}zz", "zz49zz")]


def test_the_corpus_is_large_and_fits_the_name_columns():
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    assert max(len(p) for p in PAYLOADS) <= 100


@dataclass
class Corpus:
    """The clinic with the payloads saved, and the ids worth visiting."""

    clinic: SimpleNamespace
    patient_ids: list[int]
    visit_ids: list[int]
    nurse: object


@pytest.fixture
def corpus(clinic, make_user) -> Corpus:
    """Save every payload as a given name, a family name, an escort and a visit note."""
    # A name with a text-direction control is refused at entry; that payload stays a note.
    names = [p for p in PAYLOADS if line_problem(p) is None]
    assert len(names) == len(PAYLOADS) - 1
    n = len(names)
    ids = []
    for i, payload in enumerate(names):
        patient = patients.create_patient(
            clinic.clerk,
            clinic.site.id,
            {
                "mrn": f"XSS{i:03d}",
                "given_name": payload,
                "family_name": names[(i + 1) % n],
                "escort_name": names[(i + 2) % n],
                "birth_date": date(1980, 1, 1) + timedelta(days=i),
            },
            now=utcnow(),
        )
        patients.record_clearance(
            clinic.practitioner,
            patient,
            {
                "evaluated_on": MONDAY - timedelta(days=3),
                "valid_until": MONDAY + timedelta(days=90),
                "cleared": True,
                "consent_signed": True,
                "notes": PAYLOADS[(i + 3) % len(PAYLOADS)],
            },
            now=utcnow(),
        )
        ids.append(patient.id)
    # A nurse whose name is a payload (shown in the navbar and the visits' timelines), and a
    # user whose e-mail is one (shown on the audit page, which lists e-mails).
    nurse = staff.create_user(
        "xss-nurse@clinic.test",
        PAYLOADS[5],
        "nurse",
        [clinic.site.id],
        password=PASSWORD,
        now=utcnow(),
    )
    # Such an address is refused at entry now (email-validator); one stored before is shown.
    odd = User(
        email=f'"><img src=x onerror={SET}>@clinic.test',
        name="Odd Mail",
        role="nurse",
        active=True,
        password_hash=hash_password(PASSWORD),
    )
    db.session.add(odd)
    db.session.commit()
    visits = []
    # Three chairs: three visits at 08:00 and three at 11:00 on Monday, notes are payloads.
    for k, hour in enumerate((8, 8, 8, 11, 11, 11)):
        req = booking.Request(
            patient_id=ids[k], infusion_start=chicago(MONDAY, hour), notes=PAYLOADS[-1 - k]
        )
        visit, _ = booking.book(clinic.clerk, req, now=utcnow())
        visits.append(visit.id)
    # In care now: they show on the nurses' dashboard and their timelines have entries.
    for visit_id in visits[:3]:
        events.record_event(nurse, visit_id, "check_in", utcnow())
    baseline = {"systolic": 122, "diastolic": 78, "heart_rate": 72, "spo2": 98}
    observations.record_observation(nurse, visits[0], baseline, utcnow())  # the pre-dose reading
    add_negative_screen(visits[0], utcnow())  # the day's C-SSRS screener
    events.record_event(nurse, visits[0], "start_infusion", utcnow())
    # So that the odd e-mail is on the audit page.
    audit.viewed(odd, ids[0], "patient", ids[0], now=utcnow())
    db.session.commit()
    return Corpus(clinic, ids, visits, nurse)


class Watch:
    """A page of its own with every dialog recorded (and dismissed)."""

    def __init__(self, browser, live_server) -> None:
        self.context = browser.new_context(base_url=live_server)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def visit(self, path: str) -> str:
        """Open a page, let every handler have its chance, and return its text."""
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(100)  # autofocus and late handlers get their chance
        self.assert_nothing_ran(path)
        return self.page.locator("body").text_content() or ""

    def assert_nothing_ran(self, where: str) -> None:
        """No payload executed, opened a dialog, or left an element with a handler behind."""
        assert self.page.evaluate("typeof window.__xss") == "undefined", where
        assert self.dialogs == [], (where, self.dialogs)
        injected = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('*')).filter(el =>
                 Array.from(el.attributes).some(a => a.name.toLowerCase().startsWith('on'))
                 || ['IFRAME', 'OBJECT', 'EMBED', 'MARQUEE', 'BASE', 'STYLE'].includes(el.tagName)
                 || (el.tagName === 'SCRIPT' && !(el.getAttribute('src') || '').startsWith('/'))
                 || (el.tagName === 'META' && el.hasAttribute('http-equiv'))
                 || /^\\s*javascript:/i.test(el.getAttribute('href') || '')
                 || /^\\s*javascript:/i.test(el.getAttribute('action') || '')
               ).map(el => el.outerHTML.slice(0, 120))"""
        )
        assert injected == [], (where, injected)
        # The app's own pages never have an element from the corpus.
        assert self.page.locator("#xss-link, #xss-go").count() == 0, where

    def close(self) -> None:
        """Close the context."""
        self.context.close()


@pytest.fixture
def watch(browser, live_server):
    """Open a watched browser page."""
    watcher = Watch(browser, live_server)
    yield watcher
    watcher.close()


def shown_literally(text: str, payloads) -> None:
    """Each payload is in the page's text exactly as typed (so it was escaped, not parsed)."""
    missing = [p for p in payloads if p not in text]
    assert not missing, missing


def no_template_evaluated(text: str) -> None:
    """The template strings are shown as typed, and their results appear nowhere."""
    for _, evaluated in TEMPLATE_CHECKS:
        assert evaluated not in text
    assert "zz49zz" not in text


def test_patients_list_and_every_patient_page(watch, corpus):
    sign_in(watch.page, corpus.clinic.clerk, PASSWORD)
    text = watch.visit("/patients")
    listed = [p.given_name for p in db.session.scalars(db.select(Patient)) if p.given_name in text]
    assert len(listed) >= 40  # the list shows 50 patients; their names appear as typed
    no_template_evaluated(text)
    for patient_id in corpus.patient_ids:
        patient = db.session.get(Patient, patient_id)
        text = watch.visit(f"/patients/{patient_id}")
        shown_literally(text, [patient.given_name, patient.family_name, patient.escort_name])
        shown_literally(text, [patient.clearances[0].notes])
        no_template_evaluated(text)


def test_day_board_and_visit_pages(watch, corpus):
    sign_in(watch.page, corpus.clinic.clerk, PASSWORD)
    text = watch.visit(f"/?site_id={corpus.clinic.site.id}&day={MONDAY.isoformat()}")
    no_template_evaluated(text)
    watch.visit(f"/print?site_id={corpus.clinic.site.id}&day={MONDAY.isoformat()}")
    for visit_id in corpus.visit_ids:
        visit = db.session.get(Visit, visit_id)
        text = watch.visit(f"/visits/{visit_id}")
        shown_literally(text, [visit.notes, visit.patient.escort_name])
        shown_literally(text, [f"{visit.patient.given_name} {visit.patient.family_name}"])
        no_template_evaluated(text)


def test_booking_page_search_results(watch, corpus):
    sign_in(watch.page, corpus.clinic.clerk, PASSWORD)
    watch.visit("/book")
    page = watch.page
    page.fill("#patient-search", "XSS0")
    page.wait_for_selector(".patient-result")
    page.wait_for_timeout(300)
    watch.assert_nothing_ran("booking search results")
    results = page.locator("#patient-results").text_content() or ""
    first = db.session.scalar(db.select(Patient).where(Patient.mrn == "XSS000"))
    assert f"{first.given_name} {first.family_name}" in results or first.given_name in results
    page.locator(".patient-result").first.click()
    page.wait_for_timeout(300)
    watch.assert_nothing_ran("booking patient chosen")


def test_nurses_dashboard(watch, corpus):
    sign_in(watch.page, corpus.nurse, PASSWORD)
    text = watch.visit(f"/recovery?site_id={corpus.clinic.site.id}")
    watch.page.wait_for_timeout(500)  # the dashboard refreshes itself from its JSON feed
    watch.assert_nothing_ran("recovery dashboard after refresh")
    no_template_evaluated(text)
    # The nurse's own name (a payload) is in the navbar, as typed.
    shown_literally(text, [PAYLOADS[5]])


def test_audit_page_and_admin_users(watch, corpus):
    sign_in(watch.page, corpus.clinic.admin, PASSWORD)
    text = watch.visit("/admin/audit")
    shown_literally(text, [f'"><img src=x onerror={SET}>@clinic.test'])
    watch.visit("/admin/audit?who=%22%3E%3Cimg")
    text = watch.visit("/admin/users")
    shown_literally(text, [PAYLOADS[5]])


@pytest.mark.parametrize("literal", [literal for literal, _ in TEMPLATE_CHECKS])
def test_template_strings_are_saved_and_shown_as_typed(watch, corpus, literal):
    patient = db.session.scalar(db.select(Patient).where(Patient.given_name == literal))
    sign_in(watch.page, corpus.clinic.clerk, PASSWORD)
    text = watch.visit(f"/patients/{patient.id}")
    assert literal in text
    no_template_evaluated(text)


@pytest.mark.parametrize(
    "payload",
    [PAYLOADS[0], PAYLOADS[5], PAYLOADS[12], PAYLOADS[20], PAYLOADS[26], "<b>plain tag</b>"],
)
def test_the_watch_catches_a_payload_that_is_not_escaped(watch, payload):
    # The checks themselves can fail: the same payload pasted raw into a page is caught.
    html = f'<html><body><p>{payload}</p><input value="{payload}"></body></html>'
    watch.page.set_content(html)
    watch.page.wait_for_timeout(100)
    with pytest.raises(AssertionError):
        watch.assert_nothing_ran("raw page")
        shown_literally(watch.page.locator("body").text_content() or "", [payload])
