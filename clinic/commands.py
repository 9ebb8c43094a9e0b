"""Command-line setup: `flask --app wsgi users ...`, `seed-demo`, `scheduler`."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from clinic.audit_commands import audit
from clinic.extensions import db
from clinic.models import ROLES, ApiToken
from clinic.services import staff, tokens
from clinic.services.auth import check_password_policy
from clinic.services.errors import ServiceError
from clinic.types import utcnow

users = AppGroup("users", help="Create users and API tokens.")


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--site", "site_ids", multiple=True, type=int, help="A site id; repeatable.")
def create_user(email: str, name: str, role: str, site_ids: tuple[int, ...]) -> None:
    """Create a user; the password is read from standard input (one line).

    Scripts and tests provision users here, so a password that fails the sign-in policy
    is accepted with a warning; the pages and the API refuse it.
    """
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password_policy(password)
    except ServiceError as weak:
        click.echo(f"Warning: {weak.message} Change it before this account is used.", err=True)
    try:
        user = staff.create_user(
            email, name, role, list(site_ids), password=password, enforce_policy=False, now=utcnow()
        )
    except ServiceError as error:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {detail}".strip()) from None
    click.echo(f"Created user {user.id} <{user.email}> as {user.role}.")


@users.command("token")
@click.argument("email")
@click.option(
    "--days",
    type=click.IntRange(1, tokens.MAX_DAYS),
    default=tokens.DEFAULT_DAYS,
    show_default=True,
    help="Days until the token expires.",
)
@click.option("--name", default=tokens.DEFAULT_NAME, show_default=True, help="What it is for.")
def create_token(email: str, days: int, name: str) -> None:
    """Create a new API token for a user and print it as the last line."""
    user = staff.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    try:
        row, token = tokens.issue(user, utcnow(), name=name, days=days, actor="cli")
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    expires = f"{row.expires_at:%Y-%m-%d %H:%M} UTC"
    click.echo(f"Token {row.id} “{row.name}” for {user.email}, expires {expires}:")
    click.echo(token)


@users.command("tokens")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List a user's API tokens (id, status, name, created, expires, last used)."""
    user = staff.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    now = utcnow()
    for row in tokens.list_for(user):
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(
            f"{row.id}\t{row.status(now)}\t{row.name}\tcreated {row.created_at:%Y-%m-%d %H:%M}"
            f"\texpires {row.expires_at:%Y-%m-%d %H:%M}\tlast used {used}"
        )


@users.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke an API token by its id (see `users tokens EMAIL`)."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"No token with id {token_id}.")
    tokens.revoke("cli", row, utcnow())
    click.echo(f"Token {row.id} “{row.name}” of {row.user.email} is revoked.")


@users.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Set a user's password from standard input (one line); ends their sessions."""
    user = staff.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        staff.update_user(user, {"password": password}, now=utcnow())
    except ServiceError as error:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {detail}".strip()) from None
    click.echo(f"Password changed for <{user.email}>; their sessions have ended.")


@click.command("seed-demo")
@click.option(
    "--now",
    "around_now",
    is_flag=True,
    help="Open around the clock and lay today's visits around this moment, so that "
    "patients are in care whatever the hour.",
)
def seed_demo(around_now: bool) -> None:
    """Seed a demo clinic if the database has no site yet; print the demo passwords."""
    from clinic.seed import seed_if_empty

    seed_if_empty(echo=click.echo, around_now=around_now)


@click.command("scheduler")
def scheduler() -> None:
    """Run the scheduler process: alarms, outbox, heartbeat (one leader, others standby)."""
    from flask import current_app

    from clinic.scheduler.runner import run_forever

    run_forever(current_app._get_current_object())


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(users)
    app.cli.add_command(seed_demo)
    app.cli.add_command(scheduler)
    app.cli.add_command(audit)
