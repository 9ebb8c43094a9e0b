"""Audited commits of several sites at once: one chain for all (as before) or one per site.

    .venv/bin/python bench/audit_chains.py [--sites 8] [--seconds 5] [--rounds 3]

On a PostgreSQL database of its own (created and dropped), `--sites` threads each commit
audited transactions of their own site for `--seconds`: first every row in chain 0 (the one
advisory lock every site shared before), then every row in its site's chain. Rounds
alternate; the medians of commits/s and of the commit latency are printed with their ratio
and the machine's load.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta

from common import machine, median, percentile

from clinic import create_app
from clinic.extensions import db
from clinic.services import audit
from clinic.types import utcnow
from config import TestConfig
from tests.concurrency.harness import postgres_database


def run(app, sites: int, seconds: float, per_site: bool) -> tuple[float, list[float]]:
    """Return commits/s and the latencies (ms) of `sites` writers for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(sites)]
    start = threading.Barrier(sites + 1)
    stop = time.perf_counter() + seconds + 0.5

    def writer(site: int) -> None:
        with app.app_context():
            start.wait()
            while time.perf_counter() < stop:
                began = time.perf_counter()
                now = utcnow() + timedelta(microseconds=len(latencies[site - 1]))
                audit.record("bench", "patient.view", now, site_id=site if per_site else None)
                db.session.commit()
                latencies[site - 1].append((time.perf_counter() - began) * 1000)
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(1, sites + 1)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [ms for per in latencies for ms in per]
    return len(flat) / elapsed, flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from flask_migrate import upgrade

    results: dict[bool, list[tuple[float, list[float]]]] = {False: [], True: []}
    with postgres_database("clinic_bench_audit") as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            for _ in range(args.rounds):
                for per_site in (False, True):
                    results[per_site].append(run(app, args.sites, args.seconds, per_site))
            assert audit.verify().ok, "the chains do not verify"
            db.session.remove()
            db.engine.dispose()
    print(f"Audited commits, {args.sites} sites at once, PostgreSQL ({machine()})")
    print(f"{'chains':<22}{'commits/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    rates = {}
    for per_site, label in ((False, "one (chain 0)"), (True, "one per site")):
        rates[per_site] = median([rate for rate, _ in results[per_site]])
        p50 = median([percentile(ms, 0.5) for _, ms in results[per_site]])
        p95 = median([percentile(ms, 0.95) for _, ms in results[per_site]])
        print(f"{label:<22}{rates[per_site]:>10.0f}{p50:>9.2f}{p95:>9.2f}")
    print(f"ratio per site / one chain: {rates[True] / rates[False]:.2f}x")


if __name__ == "__main__":
    main()
