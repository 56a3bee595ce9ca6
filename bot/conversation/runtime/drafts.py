"""Drafts as stored: each conversation's session, read and written through the session store,
with the version this process last saw cached.

The engine and the submitter both work on drafts through :class:`Drafts`, so they share one
cache: a process that wrote the latest version of a draft knows it, and its next step needs
no read. The cache may be stale (another process moved the draft on); a compare-and-set
write finds that out. Round trips, each one request to the store:

``cached``
    none: what this process last read or wrote, if it still holds it.
``load``
    one read (``HMGET``). A draft saved by another version of the bot that this one cannot
    read is deleted (a second round trip) and :class:`Unreadable` raised.
``create``
    one create-if-absent write, plus one ``SET EX`` of the last-draft marker when it is made.
``save`` / ``write``
    one compare-and-set write; ``write`` records the turn making the change in the same write
    and, on a conflict, gets what is stored now from the same round trip.
``discard`` / ``finish``
    end a draft (a cancel, a submit): the views of the turn that ended it (one ``SET EX``,
    when the turn is named, so the turn delivered again finds them), the delete by
    compare-and-set (``discard``: plus a read and a second delete when the draft moved on;
    ``finish``: after a read), and the last-draft marker forgotten (one ``DEL``).
``ended`` / ``last_ttl``
    one ``GET`` of a side value: what an ended turn showed; the TTL of a draft that expired.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import TypeAdapter

from bot.clock import Clock
from bot.conversation.runtime import machine
from bot.conversation.runtime.session import (
    Session,
    UnreadableSession,
    dump_session,
    load_session,
)
from bot.conversation.runtime.session_store import SessionStore, Stored
from bot.conversation.views import View
from bot.conversation.vocabulary.steps import Flow

logger = logging.getLogger(__name__)

LAST_DRAFT = "last-draft"
LAST_DRAFT_SECONDS = 30 * 24 * 3600
"""How long we remember that a draft existed, to tell "expired" from "never started"."""
ENDED_SECONDS = 3600
"""How long a turn that ended a draft is remembered, against its delivery again."""
MAX_DELIVERIES = 16
"""Turns remembered per draft as done; a redelivered turn is older than a few steps at most."""

VIEWS: TypeAdapter[list[View]] = TypeAdapter(list[View])


@dataclass(slots=True)
class Loaded:
    """A stored draft and the version to compare-and-set it against."""

    version: int
    session: Session


class Unreadable(Exception):
    """A stored draft this version cannot read; it is deleted and the seller told."""


class Drafts:
    """The conversations' drafts in a session store, cached per process (least recently used
    out first)."""

    def __init__(self, store: SessionStore, *, ttl_seconds: int, cache_size: int) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cache: OrderedDict[str, Loaded] = OrderedDict()
        self._cache_size = cache_size

    def cached(self, key: str) -> Loaded | None:
        """What this process last read or wrote of the draft, if it still holds it."""
        return self._cache.get(key)

    def uncache(self, key: str) -> None:
        """Forget this process's copy of the draft (the store is not touched)."""
        self._cache.pop(key, None)

    async def load(self, key: str) -> Loaded | None:
        """The stored draft, read fresh, or None when there is none."""
        stored = await self._store.load(key)
        if stored is None:
            self._cache.pop(key, None)
            return None
        try:
            return self._loaded(key, stored)
        except Unreadable as unreadable:
            await self._store.delete(key, expected_version=stored.version)
            raise unreadable from None

    async def current(self, key: str, flows: Mapping[str, Flow], clock: Clock) -> list[View]:
        """The question the stored draft is at (read fresh), or nothing when there is none."""
        loaded = await self.load(key)
        if loaded is None:
            return []
        flow = flows[loaded.session.flow]
        return [machine.current_view(flow, loaded.session, today=clock.now().date())]

    async def create(self, key: str, session: Session) -> bool:
        """Store a new draft unless there is one already; False when there was.

        A draft made is also remembered for a month, so its expiry can be told from a draft
        that never was (see :meth:`last_ttl`).
        """
        version = await self._store.save(
            key, dump_session(session), expected_version=None, ttl_seconds=self._ttl
        )
        if version is None:
            return False
        self._remember(key, Loaded(version, session))
        await self._store.put(
            key,
            LAST_DRAFT,
            json.dumps({"flow": session.flow, "ttl": self._ttl}).encode(),
            ttl_seconds=LAST_DRAFT_SECONDS,
        )
        return True

    async def save(self, key: str, session: Session, expected_version: int) -> bool:
        """Compare-and-set ``session``; False when the stored draft is not at that version."""
        version = await self._store.save(
            key, dump_session(session), expected_version=expected_version, ttl_seconds=self._ttl
        )
        if version is None:
            self._cache.pop(key, None)
            return False
        self._remember(key, Loaded(version, session))
        return True

    async def write(
        self, key: str, session: Session, expected_version: int, delivery: str | None = None
    ) -> Literal[True] | Loaded | None:
        """Compare-and-set ``session``: True when written, else what is stored now (or None).

        One round trip either way: on a conflict the store answers with its current copy.
        ``delivery``, the turn making the change, is recorded in the same write.
        """
        update: dict[str, object] = {"write_id": uuid.uuid4().hex}
        if delivery is not None:
            update["deliveries"] = [*session.deliveries[1 - MAX_DELIVERIES :], delivery]
        session = session.model_copy(update=update)
        data = dump_session(session)
        result = await self._store.save_or_current(
            key, data, expected_version=expected_version, ttl_seconds=self._ttl
        )
        if isinstance(result, int):
            self._remember(key, Loaded(result, session))
            return True
        self._cache.pop(key, None)
        if result is None:
            return None
        if result.data == data:
            # Our own write, whose reply was lost and the command retried.
            self._remember(key, Loaded(result.version, session))
            return True
        return self._loaded(key, result)

    async def discard(
        self, key: str, loaded: Loaded, delivery: str | None, views: list[View]
    ) -> None:
        """Delete the draft (a cancel), leaving ``views`` for ``delivery`` delivered again."""
        if delivery is not None:
            # Before the delete: a turn delivered again after it must find what it did.
            await self._store.put(
                key, _ended(delivery), VIEWS.dump_json(views), ttl_seconds=ENDED_SECONDS
            )
        if not await self._store.delete(key, expected_version=loaded.version):
            fresh = await self.load(key)
            if fresh is not None:
                await self._store.delete(key, expected_version=fresh.version)
        await self._store.forget(key, LAST_DRAFT)
        self._cache.pop(key, None)

    async def finish(self, key: str, delivery: str | None, views: list[View]) -> None:
        """Delete the draft once submitted, leaving ``views`` for ``delivery`` delivered
        again."""
        if delivery is not None:
            # The draft is gone next: the submit delivered again must find its result.
            await self._store.put(
                key, _ended(delivery), VIEWS.dump_json(views), ttl_seconds=ENDED_SECONDS
            )
        loaded = await self.load(key)
        if loaded is not None:
            await self._store.delete(key, expected_version=loaded.version)
        await self._store.forget(key, LAST_DRAFT)
        self._cache.pop(key, None)

    async def ended(self, key: str, delivery: str) -> list[View] | None:
        """What the turn ``delivery`` showed when it ended the draft, if it did (lately)."""
        ended = await self._store.get(key, _ended(delivery))
        return None if ended is None else VIEWS.validate_json(ended)

    async def last_ttl(self, key: str) -> int | None:
        """The TTL, in seconds, of the seller's last draft, if one was made this month."""
        remembered = await self._store.get(key, LAST_DRAFT)
        if remembered is None:
            return None
        return int(json.loads(remembered).get("ttl", self._ttl))

    def _loaded(self, key: str, stored: Stored) -> Loaded:
        try:
            session = load_session(stored.data)
        except UnreadableSession as reason:
            logger.warning("discarding unreadable draft %s: %s", key, reason)
            raise Unreadable(stored.version) from None
        loaded = Loaded(stored.version, session)
        self._remember(key, loaded)
        return loaded

    def _remember(self, key: str, loaded: Loaded) -> None:
        self._cache[key] = loaded
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _ended(delivery: str) -> str:
    return f"ended:{delivery}"
