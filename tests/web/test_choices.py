"""Pages read each enumeration's label and class from its one declaration."""

from __future__ import annotations

import json
import re
from html import unescape

from clinic.domain.visits import Status
from clinic.services.events import record_event
from clinic.web.choices import CHOICES, choices_json
from tests.conftest import MONDAY, NOW, chicago


def choices_block(html: str) -> dict:
    """Return the enumerations the page hands to its scripts."""
    match = re.search(r"id=\"choices\" hidden data-choices='([^']*)'", html)
    assert match, "no choices block on the page"
    return json.loads(unescape(match.group(1)))


def test_the_board_shows_the_label_and_class_declared_for_a_status(
    client, auth, clinic, make_visit, monkeypatch
):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    record_event(clinic.clerk, visit.id, "check_in", now=NOW)
    monkeypatch.setattr(Status.CHECKED_IN, "label", "Arrived")
    auth.login(clinic.clerk)

    board = client.get(f"/?date={MONDAY.isoformat()}").get_data(as_text=True)
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)

    assert "1 arrived</span>" in board  # the day's summary chip
    assert "status-checked_in" in board and "Arrived" in board
    assert '<span class="status-badge status-checked_in">Arrived</span>' in page


def test_every_page_hands_the_scripts_one_json_block(client, auth, clinic):
    auth.login(clinic.clerk)
    html = client.get("/").get_data(as_text=True)

    block = choices_block(html)
    assert block == json.loads(json.dumps(choices_json()))
    assert set(block) == set(CHOICES)
    assert block["status"][1] == {
        "value": "checked_in",
        "label": "Checked in",
        "css": "status-checked_in",
    }
    assert [c["value"] for c in block["alert_kind"]] == [
        "discharge_due",
        "discharge_overdue",
        "rems_form_due",
        "screen_positive",
    ]
    # It is data, not a script: the CSP forbids inline scripts.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert 'src="/static/js/choices.js"' in html
