"""Run every benchmark and print one table: `make bench`.

Each benchmark creates and removes its own databases and servers (127.0.0.1 only). The raw
numbers are also written to bench/results/latest.json (not committed); docs/benchmarks.md
holds the numbers of a reference run and how to read them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import availability
import booking_throughput
from common import ROOT, machine


def main() -> None:
    """Run the benchmarks, print the table, save the raw results."""
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
    if any(r["double_bookings"] or r["error_count"] for r in booking.values()):
        raise SystemExit("FAILED: double bookings or server errors")


if __name__ == "__main__":
    main()
