"""`flask --app wsgi audit verify`: check the audit trail's hash chain."""

import click
from flask.cli import AppGroup

audit = AppGroup("audit", help="Check the audit trail.")


@audit.command("verify")
def verify() -> None:
    """Recompute every audit row's hash in id order; exit 1 at the first broken row."""
    from clinic.services.audit import verify as walk

    verdict = walk()
    if verdict.ok:
        click.echo(f"OK: {verdict.count} events")
        return
    click.echo(
        f"BROKEN: audit event {verdict.broken_id}: {verdict.reason} "
        f"({verdict.count} events before it are intact)",
        err=True,
    )
    raise SystemExit(1)
