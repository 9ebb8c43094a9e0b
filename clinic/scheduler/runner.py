"""The scheduler process: stand by until leading, then keep every alarm set from the database.

APScheduler is only the alarm clock; the visits table is the truth. A reconcile step, at
start and every few seconds, reads the visits changed since its watermark and adds, moves or
removes their alarms, then fires at once whatever is due and has no notification yet. So a
web worker's change needs no message to this process, and a restart loses nothing.

The REMS form reminder (site-local midnight two days before a form falls overdue) is planned
the same way: a date job per discharged REMS session without a submission or a reminder,
set by the full reconcile (at start and every minute) and by the discharge that changes the
visit; one already due is raised at once, so a restart after downtime raises it then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from clinic.domain.alarms import KINDS, REMS_FORM_DUE
from clinic.notify import outbox, patient_outbox
from clinic.scheduler import jobs, leader
from clinic.services import heartbeat, notifications
from clinic.types import utcnow

log = logging.getLogger("clinic.scheduler")

STANDBY_RETRY_SECONDS = 2.0
TICK_SECONDS = 0.5
FULL_RECONCILE_SECONDS = 60.0
OUTBOX_SECONDS = 1.0
# Rows committed a little after others that carry a later updated_at are still read.
WATERMARK_OVERLAP = timedelta(seconds=10)
FIRE_CHUNK = 500
ALARM_THREADS = 10


def make_scheduler() -> BackgroundScheduler:
    """Return the alarm clock: UTC, in memory, late alarms still run, once each."""
    return BackgroundScheduler(
        timezone=UTC,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=ALARM_THREADS)},
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


class Reconciler:
    """Bring the scheduler's alarms in line with the visits table."""

    def __init__(self, app: Flask, scheduler: BackgroundScheduler, on_fired) -> None:
        self.app = app
        self.scheduler = scheduler
        self.on_fired = on_fired
        self.watermark: datetime | None = None
        self.site_watermark: datetime | None = None

    def run(self, full: bool = False) -> int:
        """Add, move or remove alarms, then fire what is overdue; return how many fired."""
        with self.app.app_context():
            # What is already due first: after downtime, every second counts.
            fired = self.catch_up()
            site_change = notifications.latest_site_change()
            if site_change != self.site_watermark:  # overdue_after_minutes may have changed
                full, self.site_watermark = True, site_change
            if full or self.watermark is None:
                self._full()
                # The services resolve alerts as their condition ends; this is the safety net.
                if resolved := notifications.resolve_stale(utcnow()):
                    log.info("resolved %d alert(s) whose condition had gone", resolved)
            else:
                self._changed_since(self.watermark - WATERMARK_OVERLAP)
            return fired + self.catch_up()

    def _full(self) -> None:
        """Rebuild every alarm from the recovering visits; drop every other alarm."""
        watermark = notifications.latest_visit_change()
        now = utcnow()
        wanted: set[str] = set()
        for visit in notifications.visit_alarms():
            wanted |= self._apply(visit, now)
        wanted |= self._plan_reminders(notifications.reminders(now), now)
        for job in self.scheduler.get_jobs():
            if job.id.startswith(tuple(jobs.JOB_PREFIX.values())) and job.id not in wanted:
                self._remove(job.id)
        self.watermark = watermark

    def _changed_since(self, since: datetime) -> None:
        """Update the alarms of the visits changed since an instant."""
        now = utcnow()
        for visit in notifications.visit_alarms(changed_since=since):
            self._apply(visit, now)
            if self.watermark is None or visit.updated_at > self.watermark:
                self.watermark = visit.updated_at
        # A discharge changes the visit: a REMS session's reminder is planned as it ends.
        self._plan_reminders(notifications.reminders(now, changed_since=since), now)

    def _plan_reminders(self, reminders: list[notifications.Reminder], now: datetime) -> set[str]:
        """Raise the REMS form reminders already due, set the others; return the ids set.

        The sessions listed have neither a reminder nor a submission yet. Firing skips a
        session reminded or submitted meanwhile, so a job left set for one is harmless (the
        next full reconcile removes it).
        """
        kept = set()
        due = [reminder.visit_id for reminder in reminders if reminder.due_at <= now]
        for reminder in reminders:
            job_id = jobs.job_id(REMS_FORM_DUE, reminder.visit_id)
            if reminder.due_at <= now:
                self._remove(job_id)
                continue
            kept.add(job_id)
            job = self.scheduler.get_job(job_id)
            if job is None or job.next_run_time != reminder.due_at:
                self.scheduler.add_job(
                    jobs.FIRE[REMS_FORM_DUE],
                    "date",
                    run_date=reminder.due_at,
                    args=[reminder.visit_id],
                    id=job_id,
                    replace_existing=True,
                )
        for start in range(0, len(due), FIRE_CHUNK):
            if notifications.fire_reminders(due[start : start + FIRE_CHUNK], now=utcnow()):
                log.info("raised REMS form reminder(s) already due")
                self.on_fired()
        return kept

    def _apply(self, visit: notifications.VisitAlarms, now: datetime) -> set[str]:
        """Set a visit's future alarms and remove the others; return the ids set."""
        kept = set()
        for kind in KINDS:
            job_id = jobs.job_id(kind, visit.visit_id)
            at = visit.instants.get(kind)
            if at is None or at <= now:
                # Gone, or already due: catch_up() fires what is due, exactly once.
                self._remove(job_id)
                continue
            kept.add(job_id)
            job = self.scheduler.get_job(job_id)
            if job is None or job.next_run_time != at:
                self.scheduler.add_job(
                    jobs.FIRE[kind],
                    "date",
                    run_date=at,
                    args=[visit.visit_id],
                    id=job_id,
                    replace_existing=True,
                )
        return kept

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id)

    def catch_up(self) -> int:
        """Fire every alarm that is due and has no notification (after downtime, say)."""
        fired = 0
        for kind, visit_ids in notifications.due_without_notification(utcnow()).items():
            for start in range(0, len(visit_ids), FIRE_CHUNK):
                chunk = visit_ids[start : start + FIRE_CHUNK]
                fired += len(notifications.fire(chunk, kind, now=utcnow()))
        if fired:
            log.info("caught up on %d alarm(s)", fired)
            self.on_fired()
        return fired


class OutboxWorker(threading.Thread):
    """Send due deliveries and patient messages every second (alerts at once when fired)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="outbox", daemon=True)
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        """Deliver until stopped."""
        while not self.stopping.is_set():
            self.wake.wait(OUTBOX_SECONDS)
            self.wake.clear()
            if self.stopping.is_set():
                return
            with self.app.app_context():
                try:
                    outbox.deliver_due()
                except Exception:
                    log.exception("the outbox run failed; the next one retries")
                try:
                    patient_outbox.send_due()
                except Exception:
                    log.exception("sending patient messages failed; the next run retries")

    def stop(self) -> None:
        """Finish the current run and stop."""
        self.stopping.set()
        self.wake.set()


class SchedulerRunner:
    """One scheduler process: standby or leader, until stopped."""

    def __init__(self, app: Flask, instance_id: str | None = None) -> None:
        self.app = app
        self.instance_id = instance_id or f"{socket.gethostname()}:{os.getpid()}"
        self.started_at = utcnow()
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.reconciler: Reconciler | None = None
        self._outbox: OutboxWorker | None = None
        self._next_beat = 0.0
        self.terms = 0  # how many times this process has become the leader

    def stop(self) -> None:
        """Ask the runner to stop (from a signal handler or another thread)."""
        self.stopping.set()

    def run(self) -> None:
        """Wait for the leader lock, lead while holding it, stand by again if it is lost."""
        lock = leader.lock_for(self.app.config["SQLALCHEMY_DATABASE_URI"], self.app.instance_path)
        log.info("scheduler %s started", self.instance_id)
        while not self.stopping.is_set():
            if lock.acquire():
                try:
                    self._lead(lock)
                except Exception:
                    log.exception("scheduler %s failed while leading", self.instance_id)
                finally:
                    lock.release()
                    self._beat(False, force=True)
                # Back on standby: retry like any standby, giving another copy its chance.
                self.stopping.wait(STANDBY_RETRY_SECONDS)
                continue
            self._beat(False)
            self.stopping.wait(STANDBY_RETRY_SECONDS)
        log.info("scheduler %s stopped", self.instance_id)

    def _lead(self, lock) -> None:
        """Keep the alarms, the outbox and the heartbeat going while the lock holds."""
        self.terms += 1
        log.info("scheduler %s is the leader", self.instance_id)
        scheduler = make_scheduler()
        self._outbox = OutboxWorker(self.app)
        jobs.bind(self.app, after_fire=self._outbox.wake.set)
        scheduler.start()
        self.scheduler = scheduler
        scheduler.add_job(
            jobs.AUDIT_CHECKPOINT,
            "interval",
            minutes=float(self.app.config.get("AUDIT_CHECKPOINT_MINUTES", 5)),
            id=jobs.AUDIT_CHECKPOINT_JOB_ID,
            replace_existing=True,
        )
        self._outbox.start()
        reconciler = self.reconciler = Reconciler(self.app, scheduler, self._outbox.wake.set)
        lost = False
        try:
            self._beat(True, force=True)
            self._safely(reconciler.run, full=True)
            self.leading.set()
            interval = float(self.app.config.get("SCHEDULER_RECONCILE_SECONDS", 2))
            next_reconcile = time.monotonic() + interval
            next_full = time.monotonic() + FULL_RECONCILE_SECONDS
            while not self.stopping.wait(TICK_SECONDS):
                if not lock.alive():
                    lost = True
                    log.error("scheduler %s lost the leader lock; standing by", self.instance_id)
                    return
                self._beat(True)
                now = time.monotonic()
                if now >= next_full:
                    self._safely(reconciler.run, full=True)
                    next_full = now + FULL_RECONCILE_SECONDS
                    next_reconcile = now + interval
                elif now >= next_reconcile:
                    self._safely(reconciler.run)
                    next_reconcile = now + interval
        finally:
            self.leading.clear()
            # Stop scheduling at once: no alarm may fire from a process that does not lead.
            scheduler.remove_all_jobs()
            scheduler.shutdown(wait=not lost)
            self._outbox.stop()
            if not lost:
                self._outbox.join(timeout=15)
            self.scheduler = self.reconciler = self._outbox = None

    def _beat(self, is_leader: bool, force: bool = False) -> None:
        """Write the heartbeat when it is time (or now, when forced)."""
        now = time.monotonic()
        if not force and now < self._next_beat:
            return
        self._next_beat = now + float(self.app.config.get("SCHEDULER_HEARTBEAT_SECONDS", 5))
        with self.app.app_context():
            self._safely(heartbeat.beat, self.instance_id, is_leader, self.started_at, utcnow())

    def _safely(self, step, *args, **kwargs) -> None:
        """Run one step; log a failure (the next tick tries again) instead of dying."""
        try:
            step(*args, **kwargs)
        except Exception:
            log.exception("scheduler step %s failed", getattr(step, "__name__", step))

    def start_thread(self) -> threading.Thread:
        """Run in a background thread (tests); stop() then join() the thread."""
        thread = threading.Thread(target=self.run, name="scheduler-runner", daemon=True)
        thread.start()
        return thread


def run_forever(app: Flask) -> None:
    """Run the scheduler process until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every run at INFO; our own lines say what matters, without noise.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    runner = SchedulerRunner(app)

    def stop(signum, _frame) -> None:
        log.info("signal %s: stopping", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.run()
