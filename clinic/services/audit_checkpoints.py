"""Signed checkpoints of the audit trail, kept where the database cannot reach them.

A checkpoint says "the trail had `count` rows up to event `last_id`, whose hash was `hash`,
at `at`", signed with HMAC-SHA-256 under `AUDIT_KEY`. It is written to a directory
(`AUDIT_CHECKPOINT_DIR`, by default `instance/audit-checkpoints`) and, with
`AUDIT_CHECKPOINT_URL`, posted to another system too. Whoever can rewrite the database
cannot take back a checkpoint already written, so deleting the newest rows (or every row)
shows at the next `audit verify`. A new checkpoint is written only after the trail has been
checked against the previous one, so a broken trail never gets a fresh certificate.
"""

from __future__ import annotations

import hmac
import json
import os
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from flask import current_app

from clinic.services import audit

SUFFIX = ".json"
TIMEOUT_SECONDS = 10


class CheckpointError(Exception):
    """A checkpoint cannot be trusted or written; the message says why."""


class CheckpointBody(TypedDict):
    """The signed fields of a checkpoint, as JSON data."""

    last_id: int
    hash: str
    at: str
    count: int


class SignedCheckpoint(CheckpointBody):
    """A checkpoint as written and posted: its fields and their HMAC."""

    hmac: str


@dataclass(frozen=True)
class Checkpoint:
    """The trail's state at an instant: its last row, that row's hash, how many rows."""

    last_id: int
    hash: str
    at: datetime
    count: int

    def body(self) -> CheckpointBody:
        """Return the signed fields as JSON data."""
        return {
            "last_id": self.last_id,
            "hash": self.hash,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "count": self.count,
        }


def _encode(body: Mapping[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signed(checkpoint: Checkpoint) -> SignedCheckpoint:
    """Return the checkpoint as a JSON object with its HMAC."""
    body = checkpoint.body()
    return SignedCheckpoint(**body, hmac=audit.sign(_encode(body)))


def parse(data: object, source: str) -> Checkpoint:
    """Return the checkpoint in a signed JSON object; refuse a wrong or missing signature."""
    try:
        body = {key: data[key] for key in ("last_id", "hash", "at", "count")}  # type: ignore[index]
        given = str(data["hmac"])  # type: ignore[index]
        checkpoint = Checkpoint(
            int(body["last_id"]),
            str(body["hash"]),
            datetime.fromisoformat(body["at"]).astimezone(UTC),
            int(body["count"]),
        )
    except (TypeError, KeyError, ValueError) as error:
        raise CheckpointError(f"checkpoint {source} is not a checkpoint ({error})") from None
    if not hmac.compare_digest(audit.sign(_encode(checkpoint.body())), given):
        raise CheckpointError(
            f"checkpoint {source}: its signature does not match (edited, or another AUDIT_KEY)"
        )
    return checkpoint


def load(path: Path) -> Checkpoint:
    """Read and check one checkpoint file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} cannot be read ({error})") from None
    return parse(data, str(path))


def directory() -> Path:
    """Return the folder the checkpoints go to."""
    folder = current_app.config.get("AUDIT_CHECKPOINT_DIR") or ""
    return Path(folder) if folder else Path(current_app.instance_path, "audit-checkpoints")


def latest(folder: Path | None = None) -> Checkpoint | None:
    """Return the checkpoint that reaches furthest into the trail (None: there is none yet).

    Every file must carry a good signature: a forged or edited one is an error, not skipped.
    """
    folder = folder or directory()
    if not folder.is_dir():
        return None
    found = [load(path) for path in sorted(folder.glob(f"*{SUFFIX}"))]
    return max(found, key=lambda c: (c.last_id, c.count, c.at), default=None)


def write(now: datetime) -> tuple[Checkpoint, Path]:
    """Check the trail against the latest checkpoint, then write (and post) a new one."""
    folder = directory()
    previous = latest(folder)
    verdict = audit.verify(previous, from_checkpoint=True)
    if not verdict.ok:
        where = f"audit event {verdict.broken_id}: " if verdict.broken_id else ""
        raise CheckpointError(f"not written, the trail is broken: {where}{verdict.reason}")
    checkpoint = Checkpoint(verdict.last_id, verdict.last_hash, now.astimezone(UTC), verdict.count)
    data = signed(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-checkpoint-{checkpoint.at:%Y%m%dT%H%M%S%fZ}-{checkpoint.last_id}"
    path = path.with_suffix(SUFFIX)
    # Write then rename: a reader never sees half a file.
    handle, scratch = tempfile.mkstemp(dir=folder, prefix=".partial-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, sort_keys=True)
    os.replace(scratch, path)
    url = current_app.config.get("AUDIT_CHECKPOINT_URL") or ""
    if url:
        post(url, data)
    return checkpoint, path


def post(url: str, data: SignedCheckpoint) -> None:
    """POST a signed checkpoint to a URL; raise unless it answers 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise CheckpointError("AUDIT_CHECKPOINT_URL must be http or https")
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url,
        data=_encode(data),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "InfusionDesk-Audit/1"},
    )
    try:
        # The scheme is checked above (http or https only).
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 # nosec B310
            status = answer.status
    except OSError as error:
        raise CheckpointError(f"checkpoint not accepted by {url}: {error}") from None
    if not 200 <= status < 300:
        raise CheckpointError(f"checkpoint not accepted by {url}: HTTP {status}")
