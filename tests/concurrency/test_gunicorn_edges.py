"""What gunicorn itself does with the project's gunicorn.conf.py: over-long requests to the
API get the API's JSON error body (not gunicorn's HTML page), and the access log holds
paths without their query strings."""

from __future__ import annotations

import json
import socket
import time

import pytest

from clinic.request_limits import MAX_HEADER_FIELD, MAX_REQUEST_TARGET
from tests.concurrency.harness import gunicorn, prepare_clinic

pytestmark = pytest.mark.slow


def raw_get(address: str, target: str, headers: dict[str, str] | None = None):
    """Send one GET as raw bytes; return (status, content type, body)."""
    host, port = address.split(":")
    lines = [f"GET {target} HTTP/1.1", f"Host: {address}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    return int(status_line.split()[1]), found.get("Content-Type", ""), body


def test_over_long_api_requests_get_the_json_error_body_and_queries_stay_out_of_the_log(
    tmp_path,
):
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    clinic = prepare_clinic(url, patients=1)
    bearer = {"Authorization": f"Bearer {clinic.tokens[0]}"}
    with gunicorn(url, workers=1) as server:
        status, kind, body = raw_get(server.address, "/api/v1/patients?q=Zabriskie", bearer)
        assert status == 200, body

        long_query = "/api/v1/patients?q=" + "a" * (MAX_REQUEST_TARGET + 100)
        status, kind, body = raw_get(server.address, long_query, bearer)
        assert (status, kind) == (414, "application/json"), body[:200]
        assert json.loads(body)["error"] == "too_large"

        padding = {"X-Padding": "p" * (MAX_HEADER_FIELD + 100)}
        status, kind, body = raw_get(server.address, "/api/v1/me", bearer | padding)
        assert (status, kind) == (431, "application/json"), body[:200]
        assert set(json.loads(body)) == {"error", "message", "fields"}
        deadline = time.monotonic() + 20  # the worker writes its access lines on its own time
        while "/api/v1/me" not in (log := server.log.read_text(errors="replace")):
            assert time.monotonic() < deadline, log[-2000:]
            time.sleep(0.1)
    assert '"GET /api/v1/patients HTTP/1.1" 200' in log
    assert "Zabriskie" not in log and "aaaa" not in log
    assert clinic.tokens[0] not in log
