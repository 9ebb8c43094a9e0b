"""Sign-ins and admin writes at once on SQLite through gunicorn: never a 5xx.

The probe found 16 of 317 `PATCH /chairs` answering 500 "database is locked" while others
signed in: a transaction that read first and wrote later could not get SQLite's write lock.
Every writing transaction now begins with BEGIN IMMEDIATE (clinic/database.py).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import pytest

from tests.concurrency.harness import PASSWORD, flask_cli, gunicorn, prepare_clinic

ROUNDS = 6
PER_KIND = 6  # threads for each of: sign-in, PATCH /chairs, POST /sites
CLERKS = PER_KIND  # each signs in ROUNDS times: under the per-account sign-in limit


def _sign_in(conn: http.client.HTTPConnection, email: str) -> int:
    """GET the form, then POST the password with the session cookie and CSRF token."""
    conn.request("GET", "/login")
    page = conn.getresponse()
    html = page.read().decode("utf-8", "replace")
    if page.status != 200:
        return page.status
    cookie = (page.getheader("Set-Cookie") or "").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    conn.request("POST", "/login", body=body, headers=headers)
    answer = conn.getresponse()
    answer.read()
    return answer.status


def _api(conn: http.client.HTTPConnection, method: str, path: str, token: str, body: dict):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, f"/api/v1{path}", body=json.dumps(body), headers=headers)
    answer = conn.getresponse()
    return answer.status, answer.read().decode("utf-8", "replace")


@pytest.mark.slow
def test_sign_ins_and_admin_writes_together_never_answer_5xx(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'storm.db'}"
    clinic = prepare_clinic(db_url, chairs=PER_KIND, patients=1, clerks=CLERKS)
    flask_cli(
        db_url, "users", "create", "admin@race.test", "--name", "Admin", "--role", "admin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    admin_token = flask_cli(db_url, "users", "token", "admin@race.test").strip().splitlines()[-1]

    results: list[tuple[str, int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    with gunicorn(db_url, workers=4) as server:
        host, port = server.address.split(":")
        barrier = threading.Barrier(PER_KIND * 3)

        def worker(kind: str, n: int) -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=90)
            try:
                barrier.wait(timeout=30)
                for round_ in range(ROUNDS):
                    if kind == "sign-in":
                        status, body = _sign_in(conn, f"desk{n % CLERKS}@race.test"), ""
                    elif kind == "chair":
                        status, body = _api(
                            conn, "PATCH", f"/chairs/{clinic.chair_ids[n]}", admin_token,
                            {"name": f"Chair {n}-{round_}"},
                        )  # fmt: skip
                    else:
                        status, body = _api(
                            conn, "POST", "/sites", admin_token, {"name": f"Site {n}-{round_}"}
                        )
                    with lock:
                        results.append((kind, status, body))
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                conn.close()

        threads = [
            threading.Thread(target=worker, args=(kind, n))
            for kind in ("sign-in", "chair", "site")
            for n in range(PER_KIND)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        took = time.monotonic() - started
        log = server.log_tail()

    assert not errors, errors[:3]
    assert len(results) == PER_KIND * 3 * ROUNDS
    statuses = Counter((kind, status) for kind, status, _ in results)
    server_errors = [r for r in results if r[1] >= 500]
    assert not server_errors, f"{statuses} in {took:.1f} s\n{server_errors[:3]}\n{log}"
    assert statuses == {
        ("sign-in", 302): PER_KIND * ROUNDS,
        ("chair", 200): PER_KIND * ROUNDS,
        ("site", 201): PER_KIND * ROUNDS,
    }, statuses
    assert "database is locked" not in log
