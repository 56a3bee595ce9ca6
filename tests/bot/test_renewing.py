"""Keeping a lease or claim alive while work runs: renewed on time, and stopped when the work
ends even when the renewal under way swallows the cancel (as a redis-py command can on
Python 3.11)."""

from __future__ import annotations

import asyncio
import contextlib

from bot.renewing import renewing


async def test_renews_every_period_while_the_block_runs_and_not_after() -> None:
    renewals = 0

    async def renew() -> None:
        nonlocal renewals
        renewals += 1

    async with renewing(0.02, renew):
        await asyncio.sleep(0.11)
    after = renewals
    await asyncio.sleep(0.06)
    assert 3 <= after <= 6
    assert renewals == after


async def test_the_block_ends_even_when_a_renewal_swallows_the_cancel() -> None:
    """A renewal under way when the block ends, that eats the cancel and returns as if its
    command had completed: the loop must still stop, not renew for ever."""
    renewing_now = asyncio.Event()
    renewals = 0

    async def swallowing_renew() -> None:
        nonlocal renewals
        renewals += 1
        renewing_now.set()
        # The reply came as the cancel did: returned, not raised.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)

    async def work() -> None:
        async with renewing(0.01, swallowing_renew):
            await renewing_now.wait()

    await asyncio.wait_for(work(), timeout=2)
    stopped_at = renewals
    await asyncio.sleep(0.1)
    assert renewals == stopped_at
