"""Half-open time intervals [start, end) over aware datetimes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open interval [start, end) of aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError("interval ends before it starts")

    def overlaps(self, other: Interval) -> bool:
        """Tell whether the two intervals share an instant (touching ends do not)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        """Tell whether other lies entirely inside this interval."""
        return self.start <= other.start and other.end <= self.end

    def contains_instant(self, instant: datetime) -> bool:
        """Tell whether the instant lies in [start, end)."""
        return self.start <= instant < self.end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals into a sorted disjoint list."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def covered(span: Interval, cover: Iterable[Interval]) -> bool:
    """Tell whether the union of cover contains every instant of span."""
    if span.start == span.end:
        return True
    return any(block.contains(span) for block in merge(cover))
