"""Infusion Desk: scheduling and recovery supervision for ketamine infusion clinics."""

from flask import Flask

from clinic import startup
from config import config_from_env


def create_app(config: type | None = None, **overrides) -> Flask:
    """Create the app: extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(config or config_from_env())
    app.config.update(overrides)
    startup.check(app.config)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_rate_limits(app)
    trust_proxies(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Take the client's address and scheme from the TRUSTED_PROXIES proxies in front, if any."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    """Bind the extensions and the database session rules to the app."""
    from clinic import database, request_limits
    from clinic.extensions import bootstrap, csrf, db, login_manager, migrate
    from clinic.services import board_version  # noqa: F401  (its session events)
    from clinic.web import security

    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    security.init_app(app)
    request_limits.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the web pages and the JSON API."""
    from clinic.web import (
        admin,
        admin_treatments,  # noqa: F401  (its routes join admin's blueprint)
        alerts,
        api,
        audit,
        auth,
        courses,
        fhir,
        frontdesk,
        nursing,
        outcomes,
        patients,
        rems,
        rems_pages,  # noqa: F401  (its routes join nursing's blueprint)
        waitlist,
    )

    blueprints = (auth, nursing, courses, patients, outcomes, admin, alerts, audit, rems, waitlist)
    for module in blueprints:
        app.register_blueprint(module.bp)
    frontdesk.init_app(app)
    api.init_app(app)
    fhir.init_app(app)
    from clinic.web import (
        calendar_feeds,
        choices,
        confirm,
        dates,
        display,
        kiosk,
        offer,
        reports,
        security_admin,
        visit_list,
    )

    dates.init_app(app)
    choices.init_app(app)

    app.register_blueprint(security_admin.bp)
    app.register_blueprint(display.bp)
    app.register_blueprint(confirm.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(offer.bp)
    app.register_blueprint(calendar_feeds.bp)
    app.register_blueprint(visit_list.bp)
    app.register_blueprint(reports.bp)


def register_errorhandlers(app: Flask) -> None:
    """Show generic error pages: no stack trace, no SQL, no internal path."""
    from clinic.web import errors

    errors.init_app(app)


def register_rate_limits(app: Flask) -> None:
    """Limit sign-in attempts and API use (after the views they wrap are registered)."""
    from clinic import ratelimit

    ratelimit.init_app(app)


def register_commands(app: Flask) -> None:
    """Add the `users`, `seed` and `scheduler` commands to the flask CLI."""
    from clinic import commands

    commands.init_app(app)
