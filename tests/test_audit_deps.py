"""The dependency audit: offline it says so and checks the shipped list, never a silent pass."""

from __future__ import annotations

import json

from security import audit_deps


def test_the_shipped_list_covers_every_pinned_requirement_with_no_known_vulnerability():
    shipped = json.loads(audit_deps.SHIPPED.read_text())
    assert audit_deps.check_shipped(shipped, audit_deps.pins(audit_deps.REQUIREMENTS)) == []


def test_a_stale_list_or_a_listed_vulnerability_fails():
    shipped = {"dependencies": [{"name": "Flask", "version": "3.1.3", "vulns": []}]}
    assert audit_deps.check_shipped(shipped, {"flask": "3.1.3"}) == []
    [stale] = audit_deps.check_shipped(shipped, {"flask": "3.2.0"})
    assert "flask==3.2.0 is not in pip-audit.json" in stale
    shipped["dependencies"][0]["vulns"] = [{"id": "PYSEC-2099-1", "fix_versions": ["3.1.4"]}]
    assert audit_deps.check_shipped(shipped, {"flask": "3.1.3"}) == [
        "Flask 3.1.3: PYSEC-2099-1 (fixed in 3.1.4)"
    ]


def test_offline_prints_a_skipped_line_then_the_shipped_verdict(monkeypatch, capsys):
    monkeypatch.setattr(audit_deps, "live_report", lambda: None)
    assert audit_deps.main() == 0
    out = capsys.readouterr().out
    assert "SKIPPED the online check" in out
    assert "no known vulnerabilities" in out


def test_online_vulnerabilities_fail(monkeypatch, capsys):
    report = {"dependencies": [{"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "X-1"}]}]}
    monkeypatch.setattr(audit_deps, "live_report", lambda: report)
    assert audit_deps.main() == 1
    assert "VULNERABLE jinja2 3.1.2: X-1" in capsys.readouterr().out
