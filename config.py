"""Configuration classes that read the environment."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# Public in this repository: fine on a developer's machine, refused in production.
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105
MIN_SECRET_KEY_BYTES = 32
# Signs the audit chain when AUDIT_KEY is unset outside production: public, so it proves nothing.
DEV_AUDIT_KEY = "infusion-desk-development-audit-key-not-secret"


def _database_url() -> str:
    """Return DATABASE_URL, or a SQLite file in the instance folder."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url or f"sqlite:///{BASE_DIR / 'instance' / 'clinic.db'}"


class Config:
    """Settings for running the app; every secret comes from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # Fernet key(s) that encrypt TOTP secrets at rest, comma-separated (the first encrypts,
    # every one decrypts: key rotation). Empty: a key derived from SECRET_KEY (not production).
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY", "")
    # Refuse to start on the development key or without TOTP_ENCRYPTION_KEY (ProductionConfig).
    REQUIRE_PRODUCTION_SECRETS = False
    SQLALCHEMY_DATABASE_URI = _database_url()
    # hide_parameters: a database error's message (logged on a crash) never carries values.
    # No pool_pre_ping (a round trip per request): a pooled connection is renewed after
    # pool_recycle seconds, and one the server has closed is replaced at checkout by a look
    # at its socket (clinic/database.py, `_replace_closed`).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 600, "hide_parameters": True}
    # A CSRF token lives as long as the server-side session it belongs to (12 h at most).
    WTF_CSRF_TIME_LIMIT = None
    # The cookie carries only a random session id; the user_sessions row decides.
    SESSION_COOKIE_NAME = "session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    SESSION_REFRESH_EACH_REQUEST = False
    # Flask-Login's "remember me" cookie is never set; should one arrive, it opens nothing.
    REMEMBER_COOKIE_DURATION = 0
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    HSTS = False  # Strict-Transport-Security: only behind TLS (ProductionConfig)
    BOOTSTRAP_SERVE_LOCAL = True
    MAX_CONTENT_LENGTH = 1024 * 1024
    # How many reverse proxies (nginx, a load balancer) stand in front of the app and append
    # X-Forwarded-For / X-Forwarded-Proto. 0: the socket's peer is the client. Set it only to
    # the real number: a larger one lets any client choose its own address (rate limits, audit).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    JSON_SORT_KEYS = False
    SCHEDULER_HEARTBEAT_STALE_SECONDS = 60
    # The scheduler process (`flask --app wsgi scheduler`) and its delivery channels.
    SCHEDULER_RECONCILE_SECONDS = float(os.environ.get("SCHEDULER_RECONCILE_SECONDS", "2"))
    SCHEDULER_HEARTBEAT_SECONDS = float(os.environ.get("SCHEDULER_HEARTBEAT_SECONDS", "5"))
    SMTP_HOST = os.environ.get("SMTP_HOST", "")  # empty: no e-mail channel
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_TLS = os.environ.get("SMTP_TLS", "starttls")  # "starttls", "ssl" or "none"
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "infusion-desk@localhost")
    WEBHOOK_URLS = [u.strip() for u in os.environ.get("WEBHOOK_URLS", "").split(",") if u.strip()]
    WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET", "")
    # The address of the app as staff reach it, for links in alert messages (optional).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # Messages to patients: SMS by "webhook" (signed JSON to SMS_WEBHOOK_URL) or "twilio";
    # empty: no SMS. Confirmation links (/c/<token>) point to PUBLIC_BASE_URL.
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "")
    SMS_WEBHOOK_URL = os.environ.get("SMS_WEBHOOK_URL", "")
    SMS_WEBHOOK_SECRET = os.environ.get("SMS_WEBHOOK_SECRET", "")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
    # The audit trail's HMAC key and where its signed checkpoints go (README, "Security").
    AUDIT_KEY = os.environ.get("AUDIT_KEY", "")  # empty outside production: a public dev key
    AUDIT_CHECKPOINT_DIR = os.environ.get("AUDIT_CHECKPOINT_DIR", "")  # default: instance/
    AUDIT_CHECKPOINT_URL = os.environ.get("AUDIT_CHECKPOINT_URL", "")
    AUDIT_CHECKPOINT_MINUTES = float(os.environ.get("AUDIT_CHECKPOINT_MINUTES", "5"))
    # argon2id (time cost, memory KiB): the RFC 9106 second recommendation.
    ARGON2_COST = (3, 64 * 1024)
    # Phone numbers typed without +country are read as numbers of this country (ISO 3166).
    PHONE_REGION = os.environ.get("PHONE_REGION", "US")
    # Rate limits (clinic/ratelimit.py): far above what a clinic does, far below guessing.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # a shared store that is down limits per worker
    RATELIMIT_SWALLOW_ERRORS = True  # and never turns a sign-in into a 500
    RATELIMIT_SIGN_IN_PER_ACCOUNT = os.environ.get("RATELIMIT_SIGN_IN_PER_ACCOUNT", "10/minute")
    RATELIMIT_SIGN_IN_PER_ADDRESS = os.environ.get("RATELIMIT_SIGN_IN_PER_ADDRESS", "60/minute")
    RATELIMIT_API_PER_TOKEN = os.environ.get("RATELIMIT_API_PER_TOKEN", "600/minute")
    RATELIMIT_CONFIRM_PER_ADDRESS = os.environ.get("RATELIMIT_CONFIRM_PER_ADDRESS", "30/minute")


class ProductionConfig(Config):
    """Settings behind TLS: secure, host-only cookies and HSTS."""

    # __Host-: the browser takes the cookie only over HTTPS, for this host, for path "/".
    SESSION_COOKIE_NAME = "__Host-session"
    # No default: create_app refuses to start without a strong key of the operator's own.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    REQUIRE_PRODUCTION_SECRETS = True
    DISPLAY_COOKIE_NAME = "__Host-display"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True


class TestConfig(Config):
    """Settings for the test suite: fast, isolated, CSRF on as in production."""

    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    # Cheap hashing keeps the suite fast; hashes stay argon2id and verify the same way.
    ARGON2_COST = (1, 1024)
    # Tests sign in and call the API far faster than people; tests/security/test_rate_limits.py
    # runs with the real limits above.
    RATELIMIT_SIGN_IN_PER_ACCOUNT = "100000/minute"
    RATELIMIT_SIGN_IN_PER_ADDRESS = "100000/minute"
    RATELIMIT_API_PER_TOKEN = "100000/minute"  # noqa: S105
    RATELIMIT_CONFIRM_PER_ADDRESS = "100000/minute"


class UnsafeConfiguration(SystemExit):
    """The app refuses to start: the message says which setting to fix (exit status 1)."""


def production_problems(config: dict) -> list[str]:
    """Return why these settings are unsafe for production (empty when they are fine)."""
    if not config.get("REQUIRE_PRODUCTION_SECRETS"):
        return []
    problems = []
    key = config.get("SECRET_KEY") or ""
    key_bytes = key.encode() if isinstance(key, str) else bytes(key)
    if not key_bytes:
        problems.append("SECRET_KEY is not set.")
    elif key_bytes == DEV_SECRET_KEY.encode():
        problems.append("SECRET_KEY is the public development key.")
    elif len(key_bytes) < MIN_SECRET_KEY_BYTES:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes.")
    if not config.get("TOTP_ENCRYPTION_KEY"):
        problems.append("TOTP_ENCRYPTION_KEY is not set.")
    audit_key = (config.get("AUDIT_KEY") or "").encode()
    if audit_key == DEV_AUDIT_KEY.encode() or len(audit_key) < MIN_SECRET_KEY_BYTES:
        problems.append(
            f"AUDIT_KEY (the audit trail's HMAC key) is not a random {MIN_SECRET_KEY_BYTES}+ "
            "byte secret."
        )
    return problems


def config_from_env() -> type[Config]:
    """Pick the config class named by FLASK_CONFIG (default: Config)."""
    return {"production": ProductionConfig, "test": TestConfig}.get(
        os.environ.get("FLASK_CONFIG", ""), Config
    )
