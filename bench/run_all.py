"""Run the benchmarks and print the ratios against their goals: `make bench`, `make bench-quick`.

    .venv/bin/python bench/run_all.py [--quick] [--skip chain,alerts,...] [--write FILE]

Quick (under 5 minutes): the three ratios of issue 15, each measured within one run on
PostgreSQL with short options: the booking storm against the yardstick (bench/yardstick.py),
availability against GET /sites/{id} (bench/availability.py) and the dashboard's 304 against
/healthz and changed 200 against a static answer (bench/dashboard.py). Full: the same with
their default lengths (availability and the dashboard on SQLite too), then bench/chain.py,
bench/alerts.py and bench/reports.py.

Every script creates and drops its own databases and servers (127.0.0.1; ports from
BENCH_PORT_BASE if set). A script hands its ratios to the summary through
common.record_ratio (a JSON line in $BENCH_SUMMARY, which this script sets); a script that
records none shows as "see its table" in the summary. The summary ends with the machine's
load: the machine is shared, so read ratios, not absolute figures. Raw results go to
bench/results/latest.json (not committed). Exits non-zero if a script failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, machine, postgres_admin_url, write_section

# (name, arguments in quick mode or None to skip it there, arguments in full mode)
STEPS = [
    ("booking_throughput", ["--seconds", "5"], ["--seconds", "10"]),
    ("availability", ["--runs", "10", "--backend", "postgresql"], ["--runs", "30"]),
    (
        "dashboard",
        ["--quick"],
        ["--postgres", "{pg}"],
    ),
    ("chain", None, ["--seconds", "60"]),
    ("alerts", None, []),
    ("reports", None, []),
]
WRITES = {"booking_throughput", "dashboard", "chain", "alerts"}  # scripts that take --write
EXPECTED = {  # what the summary waits for from each script (a hook for their owners)
    "booking_throughput": "bookings/s / yardstick INSERTs/s, 16 sites and one site",
    "availability": "28 days of availability / GET /sites/{id}",
    "dashboard": "304 / /healthz, changed 200 / static answer",
    "chain": "poll p95 at 600 polls/s",
}


def run_step(name: str, arguments: list[str], write: str | None) -> tuple[int, float]:
    """Run one script; return its exit status and how long it took."""
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py")]
    command += [a.replace("{pg}", postgres_admin_url()) for a in arguments]
    if write and name in WRITES:
        command += ["--write", write]
    print(f"\n=== {' '.join(command[1:])} ===", flush=True)
    started = time.monotonic()
    status = subprocess.run(command, cwd=ROOT, check=False).returncode
    return status, time.monotonic() - started


def summary(lines: list[dict], ran: dict[str, tuple[int, float]]) -> str:
    """Return the Markdown table of the ratios with their goals and the load of each."""
    rows = [
        "| measure | value | goal | met | load (1 min) when measured |",
        "|---|--:|---|---|--:|",
    ]
    for line in lines:
        met = {True: "yes", False: "**no**", None: "-"}[line["met"]]
        rows.append(
            f"| {line['name']} | {line['value']:.2f} | {line['goal']} | {met} "
            f"| {line['load'][0]:.1f} |"
        )
    recorded = {line.get("script") for line in lines}
    for name, (status, _) in ran.items():
        if name in EXPECTED and name not in recorded:
            rows.append(f"| {EXPECTED[name]} | see bench/{name}.py's table | | | |")
        if status:
            rows.append(f"| bench/{name}.py | **failed** (exit {status}) | | | |")
    return "\n".join(rows)


def main() -> None:
    """Run the steps, print the summary, save the raw results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the three ratios, short runs")
    parser.add_argument("--skip", default="", help="comma-separated script names")
    parser.add_argument("--write", metavar="FILE", help="put the figures in this Markdown file")
    args = parser.parse_args()
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    started = time.monotonic()
    before = machine()
    print(f"Machine: {before}", flush=True)
    ran: dict[str, tuple[int, float]] = {}
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as recorded:
        os.environ["BENCH_SUMMARY"] = recorded.name
        for name, quick, full in STEPS:
            arguments = quick if args.quick else full
            if arguments is None or name in skip:
                continue
            ran[name] = run_step(name, arguments, args.write)
        lines = [json.loads(line) for line in recorded if line.strip()]
    took = time.monotonic() - started
    table = summary(lines, ran)
    after = machine()
    mode = "quick" if args.quick else "full"
    text = (
        f"`make bench{'-quick' if args.quick else ''}` ({mode}) took {took:.0f} s "
        f"({', '.join(f'{n} {s:.0f} s' for n, (_, s) in ran.items())}).\n"
        f"Machine at the start: {before}.\nMachine at the end: {after}.\n\n{table}"
    )
    print(f"\n=== summary ===\n{text}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    record = {"when": datetime.now(UTC).isoformat(), "mode": mode, "ratios": lines}
    record |= {"machine_before": before, "machine_after": after, "seconds": took}
    (out / "latest.json").write_text(json.dumps(record, indent=2, default=str))
    if args.write:
        write_section(Path(args.write), "run_all.py", text)
    if failed := [name for name, (status, _) in ran.items() if status]:
        raise SystemExit(f"FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
