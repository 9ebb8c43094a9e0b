"""Limits on the request line and headers, answered by the app (JSON for /api/, a page
elsewhere) before gunicorn's own, higher limits would answer with its HTML page."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

MAX_REQUEST_TARGET = 4094  # bytes of path and query, as gunicorn's default request line
MAX_HEADER_FIELD = 8190  # bytes of one header line, gunicorn's default
MAX_HEADER_FIELDS = 100  # gunicorn's default


def init_app(app: Flask) -> None:
    """Check every request's size first, before sessions or tokens are looked up."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_size)


def check_request_size() -> None:
    """Refuse an over-long request target (414) or over-large headers (431)."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not isinstance(raw, str):
        query = environ.get("QUERY_STRING", "")
        raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        raw += f"?{query}" if query else ""
    target = len(raw.encode("latin-1", "replace"))  # WSGI strings hold bytes as latin-1
    if target > MAX_REQUEST_TARGET:
        raise RequestURITooLarge(f"The request line is longer than {MAX_REQUEST_TARGET} bytes.")
    headers = list(request.headers.items())
    if len(headers) > MAX_HEADER_FIELDS or any(
        len(name) + 2 + len(value.encode("latin-1", "replace")) > MAX_HEADER_FIELD
        for name, value in headers
    ):
        raise RequestHeaderFieldsTooLarge("The request headers are too large.")
