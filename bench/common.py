"""Shared bits of the benchmarks: the repository on sys.path, statistics, the machine."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from pathlib import Path

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
