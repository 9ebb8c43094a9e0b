"""gunicorn settings for Infusion Desk: `gunicorn -c gunicorn.conf.py wsgi:app`.

gunicorn also reads this file by itself when started from the repository's root.
"""

# The access log names the path without its query string and without the Referer: search
# words (`/api/v1/patients?q=...`) and page addresses never reach the log.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'

# gunicorn answers requests over its own limits with an HTML page. Its limits sit above the
# app's (clinic/request_limits.py: a 4094-byte request line, 8190-byte headers, 100 of them),
# so that an over-long request to /api/ gets the API's JSON error body from the app instead.
limit_request_line = 8190  # gunicorn's maximum
limit_request_field_size = 16380
limit_request_fields = 200
