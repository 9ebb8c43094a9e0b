"""The vitals chart keeps its labels apart, whatever the length of the visit."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

from clinic.web.charts import LABEL_CHAR_WIDTH, vitals_chart
from tests.conftest import CHICAGO, MONDAY, chicago

START = chicago(MONDAY, 9)


def reading(minutes: int):
    return SimpleNamespace(
        at=START + timedelta(minutes=minutes), systolic=130, diastolic=80, heart_rate=75, flags=[]
    )


def label_boxes(svg: str) -> list[tuple[str, float, float, float]]:
    """Return (text, left, right, baseline) of each band label, widths estimated generously."""
    boxes = []
    pattern = (
        r'<text class="chart-band-label" x="([\d.]+)" y="([\d.]+)"'
        r'(?: text-anchor="(\w+)")?[^>]*>([^<]+)<'
    )
    for x, y, anchor, text in re.findall(pattern, svg):
        width = len(text) * LABEL_CHAR_WIDTH
        left = float(x) - width if anchor == "end" else float(x)
        boxes.append((text, left, left + width, float(y)))
    return boxes


def overlapping(a, b) -> bool:
    return a[3] == b[3] and a[1] < b[2] and b[1] < a[2]


def test_a_short_visit_keeps_infusion_and_discharge_labels_apart():
    svg = vitals_chart(
        [reading(0), reading(5)],
        CHICAGO,
        infusion=(START, START + timedelta(minutes=5)),
        discharge_due_at=START + timedelta(minutes=8),
    )
    boxes = label_boxes(str(svg))
    assert [b[0] for b in boxes] == ["Infusion", "Discharge due 09:08"]
    assert not overlapping(*boxes)
    assert all(b[1] >= 44 and b[2] <= 640 - 14 for b in boxes)  # inside the plot


def test_a_long_visit_keeps_the_discharge_label_left_of_its_line_on_the_top_row():
    svg = vitals_chart(
        [reading(0), reading(60), reading(180)],
        CHICAGO,
        infusion=(START, START + timedelta(minutes=60)),
        discharge_due_at=START + timedelta(minutes=180),
    )
    infusion, due = label_boxes(str(svg))
    assert infusion[3] == due[3] and due[2] < 640 - 14


def test_changes_in_percent_round_halves_away_from_zero_with_a_real_minus():
    from clinic.web.charts import signed_percent

    assert signed_percent(-45.45) == "\u221245 %"
    assert signed_percent(-45.5) == "\u221246 %"
    assert signed_percent(12.5) == "+13 %"
    assert signed_percent(0.2) == "0 %"
    assert signed_percent(None) == ""


def test_the_outcome_chart_of_one_score_marks_only_the_baseline():
    from clinic.domain.instruments import PHQ9, outcome
    from clinic.web.charts import outcome_chart

    svg = str(outcome_chart(PHQ9, outcome([(START, 3)]), CHICAGO))
    assert svg.count("outcome-point") == 1 and "is-baseline" in svg
    assert "outcome-response-line" not in svg  # a baseline under 5 has no response to reach
    assert "Remission &lt; 5" in svg and "One PHQ-9 so far" in svg
