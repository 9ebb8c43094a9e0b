"""`flask --app wsgi audit verify|checkpoint`: check the audit trail, sign its state."""

from pathlib import Path

import click
from flask.cli import AppGroup

audit = AppGroup("audit", help="Check the audit trail and write signed checkpoints.")


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check against this checkpoint file instead of the latest in AUDIT_CHECKPOINT_DIR.",
)
def verify(checkpoint_file: Path | None) -> None:
    """Recompute every row's HMAC and link within its site's chain, and compare every chain
    with the latest checkpoint.

    Exits 1 naming the first broken row, a chain cut short, or a bad checkpoint.
    """
    from clinic.services import audit_checkpoints
    from clinic.services.audit import verify as walk

    try:
        if checkpoint_file is not None:
            checkpoint = audit_checkpoints.load(checkpoint_file)
        else:
            checkpoint = audit_checkpoints.latest()
    except audit_checkpoints.CheckpointError as error:
        click.echo(f"BROKEN: {error}", err=True)
        raise SystemExit(1) from None
    verdict = walk(checkpoint)
    if not verdict.ok:
        where = f"audit event {verdict.broken_id}: " if verdict.broken_id else ""
        click.echo(
            f"BROKEN: {where}{verdict.reason} ({verdict.count} events before it are intact)",
            err=True,
        )
        raise SystemExit(1)
    if checkpoint is None:
        click.echo(
            f"OK: {verdict.count} events (no checkpoint yet, so a cut-off tail cannot be "
            "seen: run `audit checkpoint`)"
        )
        return
    click.echo(
        f"OK: {verdict.count} events; the checkpoint of "
        f"{checkpoint.at.isoformat(timespec='seconds')} (event {checkpoint.last_id}, "
        f"{checkpoint.count} events) holds"
    )


@audit.command("checkpoint")
def checkpoint() -> None:
    """Check the trail since the last checkpoint, then write a new signed one."""
    from clinic.services import audit_checkpoints
    from clinic.types import utcnow

    try:
        written, path = audit_checkpoints.write(utcnow())
    except audit_checkpoints.CheckpointError as error:
        click.echo(f"FAILED: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"Checkpoint: event {written.last_id}, {written.count} events in "
        f"{len(written.chains)} chains, written to {path}"
    )
