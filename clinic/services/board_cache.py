"""The recovery board's polls, answered from the site's board version instead of the board.

A poll reads one number, the site's `board_version` (bumped in the transaction of every
write the board shows: clinic/services/board_version.py), and looks up what this process
built last for (site, version, the current minute, what the viewer's role changes): the
answer and its ETag. A 304 or a repeated 200 then costs that read and a dictionary look-up.
The minute is part of the key because the board's derived values (minutes in a phase, a
countdown's colour, overdue, vitals due or missed, clashes) move with the clock: each
process rebuilds a site's board at most once a minute while nothing is written.

The ETag stays the hash of the answer (as before), so it is the same in every process and
does not change when a write or the minute leaves the answer as it was.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask import current_app
from sqlalchemy import bindparam, select

from clinic.extensions import db
from clinic.models import Site, User
from clinic.services import access
from clinic.services.errors import NotFound

# Sites x viewer kinds x (this minute and the last) that one process keeps.
CACHE_SIZE = 512
VERSION = select(Site.board_version).where(Site.id == bindparam("site_id"))


@dataclass(frozen=True)
class Built:
    """An answer as built for one key: its body, its ETag, and the patients it shows."""

    etag: str
    body: Any
    patient_ids: tuple[int, ...]
    extra: Any = None


class BoardCache:
    """A small bounded map (least recently used goes first), safe across threads."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Built] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Built | None:
        """Return what was built for the key, or None."""
        with self._lock:
            built = self._items.get(key)
            if built is not None:
                self._items.move_to_end(key)
            return built

    def put(self, key: Hashable, built: Built) -> None:
        """Keep what was built for the key, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = built
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._items.clear()


def cache() -> BoardCache:
    """Return this process's cache for the current app (each app, each test, its own)."""
    return cast(BoardCache, current_app.extensions.setdefault("board_cache", BoardCache()))


def visible_site_id(actor: User, site_id: int | None) -> int:
    """Return the site a poll means (the user's only site by default) without loading it:
    NotFound for a site the user may not see, Invalid when several could be meant."""
    if site_id is None:
        return access.default_site_id(actor, None)
    if not access.can_see_site(actor, site_id):
        raise NotFound("site")
    return site_id


def board_version(site_id: int) -> int:
    """Read a site's board version (one statement), or raise NotFound."""
    version = db.session.scalar(VERSION, {"site_id": site_id})
    if version is None:
        raise NotFound("site")
    return version


def minute_of(now: datetime) -> datetime:
    """Return the minute an instant falls in (the key's clock part)."""
    return now.replace(second=0, microsecond=0)


def cached(key: tuple[Hashable, ...], build: Callable[[], Built]) -> tuple[Built, bool]:
    """Return what this process built for the key, building it first if it has not;
    tell whether it was built now."""
    kept = cache()
    built = kept.get(key)
    if built is not None:
        return built, False
    built = build()
    kept.put(key, built)
    return built, True
