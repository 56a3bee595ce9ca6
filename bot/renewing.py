"""Keeping something alive while work runs: a claim, a lease, anything with a TTL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def renewing(
    every_seconds: float, renew: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Call ``renew`` every ``every_seconds`` while the block runs (it handles its own errors:
    a failed renewal lets the thing lapse, which is what its TTL is for).

    Leaving the block sets an event the renewal loop checks, as well as cancelling it: on
    Python 3.11 a cancel arriving as a redis-py command completes can be swallowed (its
    ``asyncio.wait_for`` returns the reply instead of raising), and a loop stopped by the
    cancel alone then renewed for good, holding the block's exit, and with it the job, open.
    """
    stopping = asyncio.Event()

    async def keep() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every_seconds)
            if not stopping.is_set():
                await renew()

    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
