"""Run every benchmark and print one table: `make bench`.

Each benchmark creates and removes its own databases and servers (127.0.0.1 only). The
availability and booking benchmarks run in this process and share one table; the other
scripts of bench/ (dashboard, alerts, reports) run after them with their defaults and print
their own tables. The raw numbers of the first two are also written to
bench/results/latest.json (not committed); docs/benchmarks.md holds the numbers of reference
runs and how to read them.

    .venv/bin/python bench/run_all.py [--skip dashboard,alerts,reports]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import availability
import booking_throughput
from common import ROOT, machine

OTHERS = ("dashboard", "alerts", "reports")  # scripts of their own, run as they are


def run_others(skip: set[str]) -> list[str]:
    """Run the other benchmark scripts one after the other; return the names that failed."""
    failed = []
    for name in OTHERS:
        script = ROOT / "bench" / f"{name}.py"
        if name in skip or not script.exists():
            continue
        print(f"\n=== bench/{name}.py ===", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=ROOT, check=False).returncode:
            failed.append(name)
    return failed


def main() -> None:
    """Run the benchmarks, print the table, save the raw results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated: dashboard, alerts, reports")
    skip = {name.strip() for name in parser.parse_args().skip.split(",") if name.strip()}
    started = time.monotonic()
    print(f"Machine: {machine()}")
    print("Running: availability (SQLite and PostgreSQL), then booking throughput ...")
    avail = availability.run(runs=30, backend="both")
    booking = booking_throughput.run(seconds=10, clients=16, workers=4, backend="both")
    print()
    print("benchmark                            database   result")
    print("-" * 100)
    for row in availability.report(avail) + booking_throughput.report(booking):
        print(row)
    if "sqlite" in avail and "postgresql" in avail:
        pg, lite = (avail[b]["limit=50"]["median_ms"] for b in ("postgresql", "sqlite"))
        ratio = pg / lite
        print(f"availability median PostgreSQL / SQLite: {ratio:.2f}")
    if "sqlite" in booking and "postgresql" in booking:
        ratio = booking["postgresql"]["bookings_per_s"] / booking["sqlite"]["bookings_per_s"]
        print(f"bookings per second PostgreSQL / SQLite: {ratio:.2f}")
    print(f"(all benchmarks took {time.monotonic() - started:.0f} s)")

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    record = {
        "when": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "availability": avail,
        "booking": booking,
    }
    (out / "latest.json").write_text(json.dumps(record, indent=2, default=str))
    failed = run_others(skip)
    if any(r["double_bookings"] or r["error_count"] for r in booking.values()):
        failed.append("booking_throughput (double bookings or server errors)")
    if failed:
        raise SystemExit(f"FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
