"""Screening instruments as data: PHQ-9, GAD-7 and the C-SSRS screener, and course outcomes.

Each instrument is one `Instrument` row in `INSTRUMENTS`: its items (published wording), its
answer scale, how the total is scored, its severity bands and its risk rules. Adding an
instrument is adding a definition; nothing else reads an instrument by name.

Sources: PHQ-9 and GAD-7 (Spitzer, Williams, Kroenke; Pfizer, free to use), the Columbia
Suicide Severity Rating Scale screener, "Screen Version - Recent" (six questions, item 6 about
the past 3 months).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clinic.domain.choices import Choice

SUICIDE_RISK = "suicide_risk"


class InstrumentName(Choice):
    """A screening instrument, named as the API sends it."""

    PHQ9 = "phq9", "PHQ-9", "rc-instrument-phq9"
    GAD7 = "gad7", "GAD-7", "rc-instrument-gad7"
    CSSRS_SCREEN = "cssrs_screen", "C-SSRS screener", "rc-instrument-cssrs_screen"


class ReviewDecision(Choice):
    """A practitioner's decision on a positive screen."""

    PROCEED = "proceed", "Proceed", "rc-review-proceed"
    DEFER = "defer", "Defer", "rc-review-defer"


class ScreeningRule(Choice):
    """Why the infusion may not start yet, named as the API reports it."""

    SCREENING_MISSING = "screening_missing", "Screening missing", "rule-screening_missing"
    SCREENING_REVIEW_REQUIRED = (
        "screening_review_required",
        "Positive screen: practitioner review required",
        "rule-screening_review_required",
    )
    SCREENING_DEFERRED = "screening_deferred", "Deferred after screening", "rule-screening_deferred"


@dataclass(frozen=True)
class Band:
    """A severity band: totals from `low` to `high` inclusive."""

    low: int
    high: int
    name: str
    label: str


@dataclass(frozen=True)
class Instrument:
    """One instrument's definition.

    `scale` lists the answers as (value, label); `kind` is "points" (integers summed) or
    "yes_no" (booleans, the total counts the yeses). `risk_items` are the 1-based items whose
    answer above `risk_above` (or yes) flags `suicide_risk`.
    """

    name: str
    title: str
    stem: str
    items: tuple[str, ...]
    kind: str
    scale: tuple[tuple[int | bool, str], ...]
    bands: tuple[Band, ...]
    risk_items: tuple[int, ...]
    risk_above: int = 0
    loinc_questionnaire: str = ""
    loinc_total: str = ""

    @property
    def max_score(self) -> int:
        """The highest total."""
        if self.kind == "yes_no":
            return len(self.items)
        return len(self.items) * max(int(value) for value, _ in self.scale)


FREQUENCY = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)
YES_NO: tuple[tuple[int | bool, str], ...] = ((False, "No"), (True, "Yes"))

PHQ9 = Instrument(
    name=InstrumentName.PHQ9.value,
    title="PHQ-9",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following "
    "problems?",
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your "
        "family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite "
        "\u2014 being so fidgety or restless that you have been moving around a lot more "
        "than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    kind="points",
    scale=FREQUENCY,
    bands=(
        Band(0, 4, "minimal", "Minimal"),
        Band(5, 9, "mild", "Mild"),
        Band(10, 14, "moderate", "Moderate"),
        Band(15, 19, "moderately_severe", "Moderately severe"),
        Band(20, 27, "severe", "Severe"),
    ),
    risk_items=(9,),
    risk_above=0,
    loinc_questionnaire="44249-1",
    loinc_total="44261-6",
)

GAD7 = Instrument(
    name=InstrumentName.GAD7.value,
    title="GAD-7",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it's hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    kind="points",
    scale=FREQUENCY,
    bands=(
        Band(0, 4, "minimal", "Minimal"),
        Band(5, 9, "mild", "Mild"),
        Band(10, 14, "moderate", "Moderate"),
        Band(15, 21, "severe", "Severe"),
    ),
    risk_items=(),
    loinc_questionnaire="69737-5",
    loinc_total="70274-6",
)

CSSRS_SCREEN = Instrument(
    name=InstrumentName.CSSRS_SCREEN.value,
    title="C-SSRS screener (recent)",
    stem="Past month:",
    items=(
        "Have you wished you were dead or wished you could go to sleep and not wake up?",
        "Have you actually had any thoughts about killing yourself?",
        "Have you been thinking about how you might do this?",
        "Have you had these thoughts and had some intention of acting on them?",
        "Have you started to work out or worked out the details of how to kill yourself? "
        "Did you intend to carry out this plan?",
        "In the past 3 months: have you done anything, started to do anything, or prepared to "
        "do anything to end your life?",
    ),
    kind="yes_no",
    scale=YES_NO,
    bands=(
        Band(0, 0, "negative", "Negative"),
        Band(1, 6, "positive", "Positive"),
    ),
    risk_items=(3, 4, 5, 6),
)

INSTRUMENTS: dict[str, Instrument] = {i.name: i for i in (PHQ9, GAD7, CSSRS_SCREEN)}


class AnswersError(ValueError):
    """Answers that do not fit the instrument; `message` says why."""


@dataclass(frozen=True)
class Scored:
    """An instrument's result: total, band name and flags."""

    score: int
    band: str
    flags: tuple[str, ...]


def check_answers(instrument: Instrument, answers: object) -> list[int | bool]:
    """Return the answers as a list if they fit the instrument, else raise AnswersError."""
    if not isinstance(answers, list):
        raise AnswersError(f"{instrument.title} needs a list of {len(instrument.items)} answers")
    if len(answers) != len(instrument.items):
        raise AnswersError(
            f"{instrument.title} needs {len(instrument.items)} answers, got {len(answers)}"
        )
    checked: list[int | bool] = []
    for number, answer in enumerate(answers, start=1):
        if instrument.kind == "yes_no":
            if not isinstance(answer, bool):
                raise AnswersError(f"item {number}: answer yes (true) or no (false)")
        else:
            values = [int(value) for value, _ in instrument.scale]
            if isinstance(answer, bool) or not isinstance(answer, int) or answer not in values:
                raise AnswersError(
                    f"item {number}: answer a whole number from {min(values)} to {max(values)}"
                )
        checked.append(answer)
    return checked


def band_of(instrument: Instrument, score: int) -> str:
    """Return the name of the band holding a total."""
    for band in instrument.bands:
        if band.low <= score <= band.high:
            return band.name
    raise AnswersError(f"{instrument.title}: no band for {score}")


def band_label(instrument_name: str, band: str) -> str:
    """Return the label people read for a band name."""
    instrument = INSTRUMENTS.get(instrument_name)
    if instrument is None:
        return band
    return next((b.label for b in instrument.bands if b.name == band), band)


def score(instrument: Instrument, answers: object) -> Scored:
    """Score answers: the total, its band and the risk flags (AnswersError if they don't fit)."""
    checked = check_answers(instrument, answers)
    total = sum(int(answer) for answer in checked)
    risky = any(int(checked[item - 1]) > instrument.risk_above for item in instrument.risk_items)
    return Scored(total, band_of(instrument, total), (SUICIDE_RISK,) if risky else ())


RESPONSE_DROP = 0.5  # response: latest at least 50 % below the baseline
REMISSION_BELOW = 5  # remission: latest under 5


@dataclass(frozen=True)
class Outcome:
    """One instrument's course: baseline (first), latest, change in percent, response, remission."""

    baseline: int | None
    latest: int | None
    change_pct: float | None
    response: bool
    remission: bool
    series: tuple[tuple[datetime, int], ...]


def outcome(series: Sequence[tuple[datetime, int]]) -> Outcome:
    """Return the outcome of a series of (at, score), in any order."""
    ordered = tuple(sorted(series, key=lambda point: point[0]))
    if not ordered:
        return Outcome(None, None, None, False, False, ())
    baseline, latest = ordered[0][1], ordered[-1][1]
    change = round((latest - baseline) * 100 / baseline, 1) if baseline else None
    response = baseline > 0 and latest <= baseline * (1 - RESPONSE_DROP)
    return Outcome(baseline, latest, change, response, latest < REMISSION_BELOW, ordered)


@dataclass(frozen=True)
class DayScreen:
    """What a visit's day holds: the instruments recorded, whether one flags risk, and the
    latest practitioner decision after the latest risky measure (None: no review since)."""

    recorded: frozenset[str]
    risky: bool
    decision: str | None


def day_screen_of(
    measures: Sequence[tuple[datetime, str, Sequence[str]]],
    reviews: Sequence[tuple[datetime, str]],
) -> DayScreen:
    """Return what a visit's day holds from its measures (at, instrument, flags) and its
    reviews (at, decision), oldest first."""
    risky = sorted(at for at, _, flags in measures if SUICIDE_RISK in flags)
    decision = None
    if reviews:
        # The last of the latest instant: reviews come ordered by (at, id).
        latest_at, latest = sorted(reviews, key=lambda review: review[0])[-1]
        if not risky or latest_at >= risky[-1] or latest == ReviewDecision.DEFER:
            decision = latest
    return DayScreen(frozenset(name for _, name, _ in measures), bool(risky), decision)


def screen_state(required: Sequence[str], day: DayScreen) -> str:
    """Say what a visit's screening needs now: "review" (a risk flag not yet reviewed),
    "deferred" (a practitioner deferred the treatment), "due" (a required measure missing)
    or ""."""
    if day.risky and day.decision is None:
        return "review"
    if day.decision == ReviewDecision.DEFER:
        return "deferred"
    return "due" if set(required) - day.recorded else ""


def gate(required: Sequence[str], day: DayScreen) -> list[tuple[ScreeningRule, str]]:
    """Return the screening rules a start breaks: missing measures, an unreviewed risk, a
    deferral."""
    broken: list[tuple[ScreeningRule, str]] = []
    missing = [name for name in required if name not in day.recorded]
    if missing:
        names = ", ".join(InstrumentName.label_of(name) for name in missing)
        broken.append(
            (ScreeningRule.SCREENING_MISSING, f"Record today's {names} before the start.")
        )
    if day.risky and day.decision is None:
        broken.append(
            (
                ScreeningRule.SCREENING_REVIEW_REQUIRED,
                "A positive suicide-risk screen needs a practitioner's review before the start.",
            )
        )
    if day.decision == ReviewDecision.DEFER:
        broken.append(
            (ScreeningRule.SCREENING_DEFERRED, "A practitioner deferred this visit's infusion.")
        )
    return broken
