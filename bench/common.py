"""Shared bits of the benchmarks: the repository on sys.path, statistics, the machine,
ports, gunicorn and its workers' CPU time, ratios for bench/run_all.py's summary."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.concurrency.harness import Server

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of some values (fraction 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    """Return the median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    """Describe the machine: CPU count, memory, Python, and how busy it is right now."""
    memory = "?"
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs, {memory} RAM, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load}"
    )


# ---------------------------------------------------------------- ports and servers


_ports_handed_out = 0


def bench_port() -> int:
    """Return a port for a local server: BENCH_PORT_BASE, +1, +2, ... if set, else a free one."""
    global _ports_handed_out
    base = os.environ.get("BENCH_PORT_BASE", "")
    if base:
        _ports_handed_out += 1
        return int(base) + _ports_handed_out - 1
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[int] | None:
    """Return /proc/PID/stat as numbers indexed like man 5 proc (4: ppid, 14: utime, ...)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # from field 3 (the state) on
    return [0, pid, 0, 0] + [int(f) if f.lstrip("-").isdigit() else 0 for f in fields[1:]]


def _children(pid: int) -> list[int]:
    """Return the pids of a process's children (its gunicorn workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) and stat[4] == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(server: Server) -> float:
    """Return the CPU time a gunicorn's workers have used so far (live ones, and those reaped)."""
    master = _proc_stat(server.pid)
    total = (master[16] + master[17]) / _TICKS if master else 0.0  # cutime + cstime
    for child in _children(server.pid):
        if stat := _proc_stat(child):
            total += (stat[14] + stat[15]) / _TICKS  # utime + stime
    return total


@contextmanager
def gunicorn(db_url: str, app: str = "wsgi:app", workers: int = 4) -> Iterator[Server]:
    """Serve an app with gunicorn as the concurrency tests do, on the bench's port."""
    from tests.concurrency.harness import gunicorn as serve

    with serve(db_url, workers, app, port=bench_port()) as server:
        yield server


# ---------------------------------------------------------------- ratios and the docs


def record_ratio(name: str, value: float, goal: str, met: bool | None) -> None:
    """Hand a ratio to bench/run_all.py's summary (a JSON line in $BENCH_SUMMARY, if set)."""
    path = os.environ.get("BENCH_SUMMARY")
    if path:
        script = Path(sys.argv[0]).stem
        line = {"script": script, "name": name, "value": value, "goal": goal, "met": met}
        line["load"] = os.getloadavg()
        with open(path, "a") as summary:
            summary.write(json.dumps(line) + "\n")


def write_section(path: Path, script: str, text: str) -> None:
    """Put text between the script's markers in a Markdown file (appended if missing)."""
    start, end = f"<!-- bench/{script}: start -->", f"<!-- bench/{script}: end -->"
    figures = f"{start}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in old and end in old:
        before, rest = old.split(start, 1)
        new = before + figures + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + figures + "\n"
    path.write_text(new)


def postgres_admin_url() -> str:
    """Return the URL of the PostgreSQL maintenance database the benchmarks use."""
    return os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
