"""Time running out for incoming referrals: reminders when few days are left, and the cards
of those that expired unanswered.

A worker calls :meth:`InboundTimer.remind_due` and :meth:`InboundTimer.expire_due` once a
minute (every worker does: the steps are atomic, so several workers, or one restarted, tell
each reminder once). A reminder threshold (``INBOUND_REMINDER_DAYS``, 3 and 1 days left by
default) is claimed in Redis before its reminder is queued, so it is never told twice; a
worker down across two thresholds tells the smaller one only. An expired referral moves to
``expired`` once, and its cards say so and lose their buttons.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from bot.conversation.chat.inbound_rules import BOT, CARDS, REMIND, InboundRules
from bot.inbound.store import InboundStatus, InboundStore
from bot.jobs import JobQueue

logger = logging.getLogger(__name__)


class InboundTimer:
    """Reminds of incoming referrals running out of time, and expires those that did."""

    def __init__(
        self, store: InboundStore, rules: InboundRules, *, jobs: JobQueue, clock: Clock
    ) -> None:
        self._store = store
        self._rules = rules
        self._jobs = jobs
        self._clock = clock

    async def remind_due(self) -> int:
        """Queue the reminders whose threshold was crossed and not told yet; how many."""
        now = self._clock.now()
        horizon = now + timedelta(days=max(self._rules.reminder_days, default=0))
        reminded = 0
        for record in await self._store.expiring_before(horizon):
            if record.status is not InboundStatus.WAITING:
                continue
            crossed = self._rules.crossed(record.expires_at, now)
            if crossed and await self._store.remind(record.id, crossed):
                await self._jobs.put(
                    REMIND,
                    {"referral": record.id, "days": crossed[-1]},
                    order_key=f"inbound:{record.id}",
                )
                reminded += 1
        return reminded

    async def expire_due(self) -> int:
        """Expire the referrals whose time ran out unanswered; how many (their cards follow,
        by a job)."""
        now = self._clock.now()
        expired = 0
        for record in await self._store.expiring_before(now):
            if record.status is not InboundStatus.WAITING:
                continue
            moved = await self._store.move(record.id, InboundStatus.EXPIRED, by=BOT, now=now)
            if moved.moved:
                expired += 1
                await self._jobs.put(
                    CARDS, {"referral": record.id}, order_key=f"inbound:{record.id}"
                )
        return expired
