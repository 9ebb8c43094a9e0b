"""Infusion Desk: scheduling and recovery supervision for ketamine infusion clinics."""

from flask import Flask

from config import UnsafeConfiguration, config_from_env, production_problems


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
    check_secrets(app)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def check_secrets(app: Flask) -> None:
    """Refuse to start on unsafe secrets: a clear message and a non-zero exit."""
    from clinic.services.totp_secrets import key_problem

    problems = production_problems(app.config)
    problem = key_problem(app.config.get("TOTP_ENCRYPTION_KEY", ""))
    if problem:
        problems.append(problem)
    if problems:
        raise UnsafeConfiguration(
            "Infusion Desk will not start: "
            + " ".join(problems)
            + " Set a random SECRET_KEY and AUDIT_KEY of at least 32 bytes each, and"
            + " TOTP_ENCRYPTION_KEY (README,"
            ' "Security").'
        )


def register_extensions(app: Flask) -> None:
    """Bind the extensions and the database session rules to the app."""
    from clinic import database, security
    from clinic.extensions import bootstrap, csrf, db, login_manager, migrate

    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the web pages and the JSON API."""
    from clinic.web import admin, alerts, api, audit, auth, courses, frontdesk, nursing, patients

    for module in (auth, frontdesk, nursing, courses, patients, admin, alerts, audit):
        app.register_blueprint(module.bp)
    api.init_app(app)
    from clinic.web import display, security_admin, visit_list

    app.register_blueprint(security_admin.bp)
    app.register_blueprint(display.bp)
    app.register_blueprint(visit_list.bp)


def register_errorhandlers(app: Flask) -> None:
    """Show generic error pages: no stack trace, no SQL, no internal path."""
    from clinic.web import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    """Add the `users`, `seed` and `scheduler` commands to the flask CLI."""
    from clinic import commands

    commands.init_app(app)
