"""`make run`'s server logs paths without their query strings, as gunicorn.conf.py does."""

from __future__ import annotations

from clinic.serve import PathOnlyLog


def test_the_development_server_logs_the_path_without_the_query():
    handler = PathOnlyLog.__new__(PathOnlyLog)  # no socket: only the logging is exercised
    handler.requestline = "GET /api/v1/patients?q=Zabriskie HTTP/1.1"
    handler.command, handler.request_version = "GET", "HTTP/1.1"
    handler.path = "/api/v1/patients?q=Zabriskie"
    logged: list[str] = []
    handler.log = lambda _type, message, *args: logged.append(message % args)
    handler.log_request(200, 10)
    assert logged == ['"GET /api/v1/patients HTTP/1.1" 200 10']
    assert handler.path == "/api/v1/patients?q=Zabriskie"
