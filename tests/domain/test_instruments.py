"""Screening instruments: scores, bands and risk rules against worked examples; outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinic.domain.instruments import (
    CSSRS_SCREEN,
    GAD7,
    INSTRUMENTS,
    PHQ9,
    SUICIDE_RISK,
    AnswersError,
    day_screen_of,
    outcome,
    score,
    screen_state,
)


def test_phq9_all_zero_is_minimal_without_flags() -> None:
    result = score(PHQ9, [0] * 9)
    assert (result.score, result.band, result.flags) == (0, "minimal", ())


def test_phq9_all_max_is_severe_and_flags_risk() -> None:
    result = score(PHQ9, [3] * 9)
    assert (result.score, result.band, result.flags) == (27, "severe", (SUICIDE_RISK,))


def test_phq9_item_9_alone_flags_risk_with_a_minimal_total() -> None:
    result = score(PHQ9, [0] * 8 + [1])
    assert (result.score, result.band, result.flags) == (1, "minimal", (SUICIDE_RISK,))


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    answers = [0] * 9
    for index in range(8):  # item 9 stays 0: no flag
        answers[index] = min(3, max(0, total - 3 * index))
    assert sum(answers) == min(total, 24)
    if total > 24:
        return
    result = score(PHQ9, answers)
    assert (result.score, result.band, result.flags) == (total, band, ())


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
     (14, "moderate"), (15, "severe"), (21, "severe")],
)  # fmt: skip
def test_gad7_band_edges(total: int, band: str) -> None:
    answers = [min(3, max(0, total - 3 * index)) for index in range(7)]
    result = score(GAD7, answers)
    assert (result.score, result.band, result.flags) == (total, band, ())


def test_cssrs_counts_yes_and_flags_items_3_to_6() -> None:
    assert score(CSSRS_SCREEN, [False] * 6).flags == ()
    assert score(CSSRS_SCREEN, [False] * 6).band == "negative"
    passive = score(CSSRS_SCREEN, [True, True, False, False, False, False])
    assert (passive.score, passive.band, passive.flags) == (2, "positive", ())
    for item in (3, 4, 5, 6):
        answers = [False] * 6
        answers[item - 1] = True
        assert score(CSSRS_SCREEN, answers).flags == (SUICIDE_RISK,)
    assert score(CSSRS_SCREEN, [True] * 6).score == 6


@pytest.mark.parametrize(
    ("instrument", "answers"),
    [
        ("phq9", [0] * 8),
        ("phq9", [0] * 8 + [4]),
        ("phq9", [0] * 8 + [-1]),
        ("phq9", [0] * 8 + [True]),
        ("phq9", [0] * 8 + ["1"]),
        ("phq9", "000000000"),
        ("gad7", [0] * 9),
        ("cssrs_screen", [0] * 6),
        ("cssrs_screen", [False] * 5),
    ],
)
def test_bad_answers_are_refused(instrument: str, answers: object) -> None:
    with pytest.raises(AnswersError):
        score(INSTRUMENTS[instrument], answers)


def test_every_instrument_has_items_scale_and_bands_covering_its_range() -> None:
    for instrument in INSTRUMENTS.values():
        assert instrument.items and instrument.scale
        covered = [n for band in instrument.bands for n in range(band.low, band.high + 1)]
        assert covered == list(range(instrument.max_score + 1))


T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_outcome_baseline_response_remission_change() -> None:
    series = [(T0 + timedelta(days=7), 12), (T0, 22)]
    result = outcome(series)
    assert (result.baseline, result.latest) == (22, 12)
    assert result.change_pct == pytest.approx(-45.5)
    assert not result.response and not result.remission
    halved = outcome([(T0, 22), (T0 + timedelta(days=9), 11)])
    assert halved.response and not halved.remission
    remitted = outcome([(T0, 22), (T0 + timedelta(days=9), 4)])
    assert remitted.response and remitted.remission


def test_outcome_of_nothing_and_of_a_zero_baseline() -> None:
    empty = outcome([])
    assert (empty.baseline, empty.latest, empty.change_pct, empty.response) == (
        None, None, None, False
    )  # fmt: skip
    zero = outcome([(T0, 0), (T0 + timedelta(days=1), 0)])
    assert zero.change_pct is None and not zero.response and zero.remission


def test_the_days_screen_needs_a_review_after_the_latest_risk() -> None:
    risky = [(T0, "cssrs_screen", [SUICIDE_RISK])]
    assert screen_state(["cssrs_screen"], day_screen_of([], [])) == "due"
    assert screen_state(["cssrs_screen"], day_screen_of(risky, [])) == "review"
    reviewed = day_screen_of(risky, [(T0 + timedelta(minutes=5), "proceed")])
    assert reviewed.decision == "proceed" and screen_state(["cssrs_screen"], reviewed) == ""
    # A new risk after the review needs a new one; a deferral holds whatever follows.
    again = [*risky, (T0 + timedelta(minutes=9), "phq9", [SUICIDE_RISK])]
    assert screen_state([], day_screen_of(again, [(T0 + timedelta(minutes=5), "proceed")])) == (
        "review"
    )
    deferred = day_screen_of(again, [(T0 + timedelta(minutes=5), "defer")])
    assert screen_state([], deferred) == "deferred"
    # Two reviews at the same instant: the last recorded counts.
    same = [(T0 + timedelta(minutes=5), "defer"), (T0 + timedelta(minutes=5), "proceed")]
    assert day_screen_of(risky, same).decision == "proceed"
