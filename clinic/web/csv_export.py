"""CSV downloads that a spreadsheet opens safely (audit trail, visits list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import Response

# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell) -> str:
    """Return a cell as text that a spreadsheet shows and never evaluates."""
    if cell is None:
        return ""
    text = str(cell)
    if isinstance(cell, int | float):
        return text  # a number (a report's -3.5 minutes) is data, never a formula
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield the header, then one CSV line per row of cells, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL)
    for cells in _chain(header, rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in cells])
        yield buffer.getvalue()


def _chain(header: list[str], rows: Iterable[list]) -> Iterator[list]:
    """Yield the header, then the rows as they come (a stream is never read ahead)."""
    yield header
    yield from rows


def csv_download(lines: Iterable[str], prefix: str, now: datetime) -> Response:
    """Answer a CSV attachment named after its kind and the instant of the export."""
    return Response(
        lines,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{prefix}-{now:%Y%m%d-%H%M%S}.csv"',
            "Cache-Control": "no-store",
        },
    )
