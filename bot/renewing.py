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
    a failed renewal lets the thing lapse, which is what its TTL is for)."""

    async def keep() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            await renew()

    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
