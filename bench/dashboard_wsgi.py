"""The app as gunicorn serves it, with bench/dashboard.py's static answers of the same bytes.

gunicorn bench.dashboard_wsgi:app   # BENCH_STATIC_BODY: a file holding the dashboard's body
"""

import os
from pathlib import Path

from flask import Response

from clinic import create_app
from clinic.web.api import authenticate

app = create_app()
BODY = Path(os.environ["BENCH_STATIC_BODY"]).read_bytes()


def static() -> Response:
    """Answer the dashboard's bytes with nothing to compute."""
    return Response(BODY, mimetype="application/json")


app.add_url_rule("/bench-static", "bench_static", static)
# The same behind the API's bearer-token check, which every API answer pays.
app.add_url_rule("/bench-static-auth", "bench_static_auth", lambda: authenticate() or static())
