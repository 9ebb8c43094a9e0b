"""Serve the app on http://127.0.0.1:$PORT (5000) and run the scheduler beside it (`make run`).

One machine, one command: the web server in this process, the scheduler
(`flask --app wsgi scheduler`) as a child process that is restarted if it dies. Ctrl-C or
SIGTERM stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from werkzeug.serving import WSGIRequestHandler

SCHEDULER = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"]
RESTART_AFTER_SECONDS = 2.0


class PathOnlyLog(WSGIRequestHandler):
    """Log requests without their query strings, as gunicorn.conf.py does in production."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request line with the path only (search words stay out of the log)."""
        full = getattr(self, "path", None)
        if full is not None:
            self.path = full.split("?", 1)[0]
        try:
            super().log_request(code, size)
        finally:
            if full is not None:
                self.path = full


class Scheduler:
    """The scheduler child process, kept running until stop()."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="scheduler-watch", daemon=True)

    def start(self) -> None:
        """Start the child and watch it."""
        self.process = subprocess.Popen(SCHEDULER)  # noqa: S603  (a fixed command line)
        self.watcher.start()

    def _watch(self) -> None:
        """Restart the child if it exits while we are still serving."""
        while not self.stopping.wait(1.0):
            if self.process is not None and self.process.poll() is not None:
                print(
                    f"scheduler exited ({self.process.returncode}); restarting",
                    file=sys.stderr,
                )
                time.sleep(RESTART_AFTER_SECONDS)
                if not self.stopping.is_set():
                    self.process = subprocess.Popen(SCHEDULER)  # noqa: S603

    def stop(self) -> None:
        """Stop the child: SIGTERM, then SIGKILL if it lingers."""
        self.stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def main() -> None:
    """Run the web server and the scheduler until Ctrl-C or SIGTERM."""
    from wsgi import app

    port = int(os.environ.get("PORT") or 5000)
    scheduler = Scheduler()

    def terminate(_signum, _frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    scheduler.start()
    try:
        print(f"Infusion Desk: http://127.0.0.1:{port}", flush=True)
        app.run(
            host="127.0.0.1", port=port, debug=False, threaded=True, request_handler=PathOnlyLog
        )
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()


if __name__ == "__main__":
    main()
