"""Signed checkpoints of the audit trail, kept where the database cannot reach them.

A checkpoint says "at `at`, each chain had `count` rows up to event `last_id`, whose hash
was `hash`", signed with HMAC-SHA-256 under `AUDIT_KEY`. The file keeps the format of the
single-chain trail: `last_id`, `hash` and `count` at the top are the newest row, its hash and
the rows of every chain, and a `chains` object ({"site id": {last_id, hash, count}}) is
added when there is more than chain 0, so a file written before there were chains reads as
chain 0's (it was: the migration put every earlier row in chain 0). It is written to a directory
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
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from flask import current_app

from clinic.services import audit

SUFFIX = ".json"
TIMEOUT_SECONDS = 10


class CheckpointError(Exception):
    """A checkpoint cannot be trusted or written; the message says why."""


class ChainBody(TypedDict):
    """Where one chain ended, as JSON data."""

    last_id: int
    hash: str
    count: int


class CheckpointBody(TypedDict):
    """The signed fields of a checkpoint, as JSON data."""

    last_id: int
    hash: str
    at: str
    count: int
    chains: NotRequired[dict[str, ChainBody]]


class SignedCheckpoint(CheckpointBody):
    """A checkpoint as written and posted: its fields and their HMAC."""

    hmac: str


@dataclass(frozen=True)
class Checkpoint:
    """The trail's state at an instant: where each chain ended (chain id -> its head)."""

    at: datetime
    chains: Mapping[int, audit.Head]

    @property
    def last_id(self) -> int:
        """Return the newest row of any chain (0: the trail was empty)."""
        return self._newest().last_id

    @property
    def hash(self) -> str:
        """Return the newest row's hash."""
        return self._newest().hash

    @property
    def count(self) -> int:
        """Return how many rows the chains held together."""
        return sum(head.count for head in self.chains.values())

    def _newest(self) -> audit.Head:
        return max(self.chains.values(), key=lambda head: head.last_id, default=audit.Head())

    def body(self) -> CheckpointBody:
        """Return the signed fields as JSON data (`chains` only beside chain 0's)."""
        body: CheckpointBody = {
            "last_id": self.last_id,
            "hash": self.hash,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "count": self.count,
        }
        if set(self.chains) - {audit.NO_SITE}:
            body["chains"] = {
                str(chain): {"last_id": head.last_id, "hash": head.hash, "count": head.count}
                for chain, head in sorted(self.chains.items())
            }
        return body


def _encode(body: Mapping[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signed(checkpoint: Checkpoint) -> SignedCheckpoint:
    """Return the checkpoint as a JSON object with its HMAC."""
    body = checkpoint.body()
    return SignedCheckpoint(**body, hmac=audit.sign(_encode(body)))


def parse(data: object, source: str) -> Checkpoint:
    """Return the checkpoint in a signed JSON object; refuse a wrong or missing signature."""
    try:
        given = str(data["hmac"])  # type: ignore[index]
        at = datetime.fromisoformat(data["at"]).astimezone(UTC)  # type: ignore[index]
        if "chains" in data:  # type: ignore[operator]
            chains = {int(c): _head(head) for c, head in data["chains"].items()}  # type: ignore[index]
        else:  # one chain: chain 0 (every checkpoint written before there were chains)
            head = _head(data)
            chains = {audit.NO_SITE: head} if head.last_id else {}
        checkpoint = Checkpoint(at, chains)
    except (TypeError, KeyError, ValueError, AttributeError) as error:
        raise CheckpointError(f"checkpoint {source} is not a checkpoint ({error})") from None
    if not hmac.compare_digest(audit.sign(_encode(checkpoint.body())), given):
        raise CheckpointError(
            f"checkpoint {source}: its signature does not match (edited, or another AUDIT_KEY)"
        )
    return checkpoint


def _head(data: Any) -> audit.Head:
    """Return one chain's head from its JSON data."""
    return audit.Head(int(data["last_id"]), str(data["hash"]), int(data["count"]))


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
    checkpoint = Checkpoint(now.astimezone(UTC), verdict.chains)
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
