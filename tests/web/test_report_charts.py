"""The reports' SVG charts: shares of open time, closed days, escaped labels, no styles."""

from __future__ import annotations

import re
from datetime import date, timedelta

from clinic.services.reports import UtilisationDay
from clinic.web.report_charts import bar_chart, utilisation_chart


def test_bars_are_booked_and_used_shares_of_the_open_time_and_a_closed_day_draws_nothing():
    days = [
        UtilisationDay(date(2026, 11, 1), 3000, 1500, 750),
        UtilisationDay(date(2026, 11, 2), 0, 0, 0),  # closed
        UtilisationDay(date(2026, 11, 3), 1200, 1800, 0),  # over-booked: capped at 100 %
    ]
    svg = str(utilisation_chart(days, width=336, height=220))
    titles = re.findall(r"<title>([^<]+)</title></rect>", svg)
    assert titles == [
        "2026-11-01 booked 50%",
        "2026-11-01 used 25%",
        "2026-11-02 booked 0%",
        "2026-11-02 used 0%",
        "2026-11-03 booked 100%",
        "2026-11-03 used 0%",
    ]
    heights = [float(h) for h in re.findall(r'<rect class="chart-\w+"[^>]* height="([\d.]+)"', svg)]
    assert heights == [91.0, 45.5, 0.0, 0.0, 182.0, 0.0]  # 182 px is 100 %
    assert "style=" not in svg


def test_a_year_keeps_about_ten_date_labels():
    days = [UtilisationDay(date(2026, 1, 1) + timedelta(days=n), 600, 300, 300) for n in range(366)]
    svg = str(utilisation_chart(days))
    assert 9 <= svg.count('text-anchor="middle"') <= 12


def test_bar_labels_are_escaped_and_a_missing_figure_is_a_dash():
    svg = str(bar_chart("Figures <x>", [("<b>Visits</b>", 4), ("Median", None)], " min"))
    assert "<b>" not in svg and "&lt;b&gt;Visits&lt;/b&gt;" in svg
    assert ">4 min<" in svg and ">\u2013<" in svg
    assert 'aria-label="Figures &lt;x&gt;"' in svg
