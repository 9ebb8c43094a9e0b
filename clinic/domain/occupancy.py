"""What a visit really occupies once its patient is in the clinic, whatever the plan said.

Availability and booking read existing visits as `Occupancy`. A booked visit holds what its
plan holds. A visit whose patient is checked in, infusing or recovering holds its chair from
the real check-in until the real release (turnover included): a patient checked in early
holds the chair from then, and an infusion started late or running long pushes the hold out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from clinic.domain.booking import ObservationFrom, Occupancy, RecoveryMode
from clinic.domain.intervals import Interval
from clinic.domain.phases import expected_chair_release
from clinic.domain.visits import Status

IN_CARE = frozenset({Status.CHECKED_IN, Status.INFUSING, Status.RECOVERING})


@dataclass(frozen=True)
class Progress:
    """What has really happened to a visit in the clinic's care, and its booked lengths."""

    checked_in_at: datetime
    infusion_started_at: datetime | None
    infusion_ended_at: datetime | None
    infusion_minutes: int
    observation_minutes: int
    extension_minutes: int
    observation_from: ObservationFrom = ObservationFrom.ADMINISTRATION_END


def in_care(
    planned: Occupancy,
    progress: Progress,
    mode: RecoveryMode,
    turnover_minutes: int,
    now: datetime,
) -> Occupancy:
    """Return what a visit in care holds at `now`: its real chair, bay and care spans."""

    def release(in_chair: bool, turnover: int) -> datetime:
        return expected_chair_release(
            progress.infusion_started_at,
            progress.infusion_ended_at,
            progress.infusion_minutes,
            progress.observation_minutes,
            progress.extension_minutes,
            turnover,
            now,
            in_chair,
            planned_start=planned.infusion_start,
            observation_from=progress.observation_from,
        )

    bay_mode = mode == RecoveryMode.BAY
    chair_hold = _span(progress.checked_in_at, release(not bay_mode, turnover_minutes))
    bay_hold = planned.bay_hold
    if bay_mode and bay_hold is not None:
        bay_hold = _span(release(False, 0), release(True, turnover_minutes))
    # Nurses watch the patient over the plan and over whatever really happened beyond it.
    started = progress.infusion_started_at or planned.visit.start
    care = Interval(min(planned.visit.start, started), max(planned.visit.end, release(True, 0)))
    return replace(planned, chair_hold=chair_hold, bay_hold=bay_hold, visit=care)


def _span(start: datetime, end: datetime) -> Interval:
    """Return [start, end), empty rather than reversed when a late entry lies ahead of now."""
    return Interval(start, max(start, end))
