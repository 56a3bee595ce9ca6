"""The reconciliation poll: every ``POLL_INTERVAL_SECONDS``, what changed since the last poll.

Webhooks can be lost (Partner Center drops an event after ten failed tries) and say nothing
of changes made before they were registered, so a poll catches up: referrals listed newest
change first (``$orderby=updatedDateTime desc``), read until the first one older than the
cursor (the newest change the last poll saw). Requests per poll grow with the number of
changes, not with the number of referrals. The first poll of a deployment records every
referral without an event (a baseline), so that channels do not hear of every old referral
as new.

One worker polls at a time: it holds a lease in Redis and renews it while it lives; another
takes over within a lease's time when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from redis.exceptions import RedisError

from bot.clock import Clock, SystemClock
from bot.jobs.job import text_of
from bot.jobs.keys import StreamKeys
from bot.jobs.scripts import RENEW
from bot.notifications.changes import ChangeDetector
from bot.partner_center.client import PartnerCenterClient, ReferralListing
from bot.partner_center.errors import Invalid, PartnerCenterError
from bot.referrals.wire import format_utc
from bot.renewing import renewing
from bot.storage.redis import RedisClient

logger = logging.getLogger(__name__)

LEASE_SECONDS: Final = 30.0
"""How long a poller that stopped renewing keeps the lease: another takes over after it."""
BASELINE_PAGES: Final = 10_000
"""The first poll reads every referral: this caps it at a million."""
PAGE_SIZE: Final = 100


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll did."""

    seen: int
    events: int
    requests: int
    baseline: bool


class Poller:
    """Polls Partner Center for changes, one worker at a time."""

    def __init__(
        self,
        redis: RedisClient,
        client: PartnerCenterClient,
        detector: ChangeDetector,
        *,
        stream: str,
        interval: float,
        clock: Clock | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._redis = redis
        self._client = client
        self._detector = detector
        self._interval = interval
        self._clock = clock or SystemClock()
        self._lease_seconds = lease_seconds
        slot = StreamKeys(stream).slot
        self.lease_key = f"{slot}:poll:lease"
        self.cursor_key = f"{slot}:poll:cursor"
        self.due_key = f"{slot}:poll:due"
        self._token = uuid.uuid4().hex
        self._renew = redis.register_script(RENEW)
        self._filter_taken = True
        self.polls = 0
        """Polls this poller made (for the log and for tests)."""

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll whenever this worker holds the lease and a poll is due, until ``stopping``."""
        pause = min(self._interval, self._lease_seconds / 3)
        interval_ms = int(self._interval * 1000)
        try:
            # The first poll of a deployment comes an interval after its first worker started
            # (a worker restarting finds the schedule in Redis as it was).
            with contextlib.suppress(RedisError, OSError):
                await self._redis.set(self.due_key, "1", nx=True, px=interval_ms)
            while not stopping.is_set():
                try:
                    if await self._hold_lease() and await self._due():
                        # A long poll (the first one reads everything) keeps the lease alive.
                        async with renewing(self._lease_seconds / 3, self._keep_lease):
                            result = await self.poll_once()
                        logger.info(
                            "poll: %d referrals seen, %d changes, %d requests%s",
                            result.seen,
                            result.events,
                            result.requests,
                            " (baseline)" if result.baseline else "",
                        )
                except (RedisError, OSError) as error:
                    logger.warning("poll skipped, Redis failing (%s)", error)
                except PartnerCenterError as error:
                    logger.warning("poll failed, Partner Center refused (%s)", error)
                except Exception:
                    # Whatever else went wrong, the next interval tries again: a poller that
                    # stopped would leave every later change to webhooks alone.
                    logger.exception("poll failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), await self._until_due(pause))
        finally:
            with contextlib.suppress(RedisError, OSError):
                # Hand over at once rather than after the lease lapses.
                if await self.holds_lease():
                    await self._redis.delete(self.lease_key)

    def _listing(self, since: datetime | None) -> ReferralListing:
        """Referrals by newest change first, from ``since`` on when given."""
        return self._client.list(
            filter=f"updatedDateTime ge {format_utc(since)}" if since is not None else None,
            orderby="updatedDateTime desc",
            max_pages=BASELINE_PAGES,
        )

    async def holds_lease(self) -> bool:
        """Whether this poller holds the lease now."""
        return await self._redis.get(self.lease_key) == self._token.encode()

    async def _until_due(self, longest: float) -> float:
        """How long to wait before looking again: until the next poll is due (so polls come
        every interval, not an interval plus the wait), at most ``longest`` (the lease's
        renewal)."""
        try:
            left_ms = await self._redis.pttl(self.due_key)
        except (RedisError, OSError):
            return longest
        return min(longest, max(left_ms, 10) / 1000) if left_ms >= 0 else longest

    async def _keep_lease(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._hold_lease()

    async def _hold_lease(self) -> bool:
        lease_ms = int(self._lease_seconds * 1000)
        if await self._renew(keys=[self.lease_key], args=[self._token, lease_ms]):
            return True
        return bool(await self._redis.set(self.lease_key, self._token, nx=True, px=lease_ms))

    async def _due(self) -> bool:
        """Whether the interval since the last poll (by any worker) has passed."""
        return bool(
            await self._redis.set(self.due_key, "1", nx=True, px=int(self._interval * 1000))
        )

    async def poll_once(self) -> PollResult:
        """Observe what changed since the cursor (asking only for those, where the service
        takes the ``$filter``); move the cursor to the newest change."""
        self.polls += 1
        stored = await self._redis.get(self.cursor_key)
        cursor = datetime.fromisoformat(text_of(stored)) if stored else None
        baseline = cursor is None
        filtered = cursor is not None and self._filter_taken
        listing = self._listing(cursor if filtered else None)
        seen = events = 0
        newest: datetime | None = None
        try:
            async for referral in listing:
                updated = referral.updated_date_time
                if updated is None:
                    continue
                if cursor is not None and updated < cursor:
                    break  # older than the last poll's newest change: seen then
                seen += 1
                newest = updated if newest is None or updated > newest else newest
                if await self._detector.observe(referral, source="poll", baseline=baseline):
                    events += 1
        except Invalid as refused:
            if not filtered or seen:
                raise
            # The $filter on updatedDateTime is not documented: where the service refuses
            # it, stopping at the cursor alone keeps the poll as short.
            logger.warning(
                "poll: $filter on updatedDateTime refused (%s); polling without", refused
            )
            self._filter_taken = False
            return await self.poll_once()
        if newest is not None and (cursor is None or newest > cursor):
            await self._redis.set(self.cursor_key, newest.isoformat())
        elif cursor is None:
            await self._redis.set(self.cursor_key, self._clock.now().isoformat())
        return PollResult(seen=seen, events=events, requests=listing.pages, baseline=baseline)
