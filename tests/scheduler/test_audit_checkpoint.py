"""The leader writes a signed audit checkpoint every five minutes."""

from __future__ import annotations

from datetime import timedelta

from clinic.scheduler.jobs import AUDIT_CHECKPOINT_JOB_ID
from clinic.services import audit_checkpoints


def test_the_leader_checkpoints_the_audit_trail_every_five_minutes(app, clinic, scheduler_thread):
    runner = scheduler_thread()
    job = runner.scheduler.get_job(AUDIT_CHECKPOINT_JOB_ID)
    assert job is not None and job.trigger.interval == timedelta(minutes=5)
    assert audit_checkpoints.latest() is None
    job.func()  # what the scheduler runs when the five minutes are up
    checkpoint = audit_checkpoints.latest()
    assert checkpoint is not None and checkpoint.count > 0  # the clinic's set-up is audited
    assert len(list(audit_checkpoints.directory().glob("*.json"))) == 1
