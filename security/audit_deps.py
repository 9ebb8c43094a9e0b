"""Check the dependencies for known vulnerabilities (`make audit-deps`, part of `make test`).

Online: pip-audit checks every installed package against its vulnerability service.
Offline (the service unreachable, so pip-audit would skip every package and still say "No
known vulnerabilities found"): say so on a line of its own, then check the pinned
requirements against the list shipped in security/pip-audit.json. Never a silent pass.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "security" / "pip-audit.json"
REQUIREMENTS = ROOT / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    """Return a package name as PyPI compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    """Return the pinned name -> version of a requirements file."""
    found = {}
    for line in requirements.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def vulnerabilities(report: dict) -> list[str]:
    """Return one line per known vulnerability in a pip-audit JSON report."""
    return [
        f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in "
        f"{', '.join(vuln.get('fix_versions') or ['no release yet'])})"
        for dep in report["dependencies"]
        for vuln in dep.get("vulns", [])
    ]


def live_report() -> dict | None:
    """Run pip-audit on this environment; None when the service could not be reached."""
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-l",
                "--format",
                "json",
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(done.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError, OSError):
        return None
    audited = [d for d in report.get("dependencies", []) if "skip_reason" not in d]
    return report if audited else None


def check_shipped(shipped: dict, requirements: dict[str, str]) -> list[str]:
    """Return what is wrong: pins the list does not cover, and its known vulnerabilities."""
    listed = {(canonical(d["name"]), d.get("version")) for d in shipped["dependencies"]}
    problems = [
        f"{name}=={version} is not in {SHIPPED.name}: regenerate it (README, Security)"
        for name, version in sorted(requirements.items())
        if (name, version) not in listed
    ]
    return problems + vulnerabilities(shipped)


def main() -> int:
    """Print the verdict; return the exit status (0: no known vulnerability)."""
    report = live_report()
    if report is not None:
        found = vulnerabilities(report)
        for line in found:
            print(f"pip-audit: VULNERABLE {line}")
        if not found:
            print(
                f"pip-audit: {len(report['dependencies'])} packages checked online: "
                "no known vulnerabilities"
            )
        return 1 if found else 0
    shipped = json.loads(SHIPPED.read_text())
    source = shipped.get("source", {})
    print(
        "pip-audit: SKIPPED the online check (the vulnerability service could not be "
        f"reached); checking requirements.txt against the shipped {SHIPPED.name} "
        f"(advisories as of {source.get('advisory_database_commit', 'its generation')})"
    )
    problems = check_shipped(shipped, pins(REQUIREMENTS))
    for line in problems:
        print(f"pip-audit: {line}")
    if not problems:
        print(
            f"pip-audit: {len(shipped['dependencies'])} dependencies in the shipped list: "
            "no known vulnerabilities"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
