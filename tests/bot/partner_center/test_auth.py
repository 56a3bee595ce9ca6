"""Token providers: static tokens and the in-memory cache in front of a slow source."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from bot.partner_center.auth import AccessToken, CachingTokenProvider, StaticTokenProvider


class ManualClock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds

    def now(self):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")


async def test_static_token_is_returned_and_never_refreshed() -> None:
    provider = StaticTokenProvider(SecretStr("abc"))
    assert await provider.token() == "abc"
    assert provider.invalidate("abc") is False


def test_static_token_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        StaticTokenProvider(SecretStr(""))


async def test_cache_fetches_once_for_many_concurrent_callers() -> None:
    clock = ManualClock()
    issued = 0

    async def source(refused: bool) -> AccessToken:
        nonlocal issued
        issued += 1
        await asyncio.sleep(0.01)
        return AccessToken(SecretStr(f"token-{issued}"), expires_at=clock.seconds + 3600)

    provider = CachingTokenProvider(source, clock=clock, refresh_margin=300)
    tokens = await asyncio.gather(*(provider.token() for _ in range(50)))
    assert set(tokens) == {"token-1"}
    assert provider.acquisitions == 1

    clock.seconds += 3600 - 301  # still outside the refresh margin
    assert await provider.token() == "token-1"
    clock.seconds += 2  # inside the margin: refresh before the token expires
    assert await provider.token() == "token-2"
    assert provider.acquisitions == 2


async def test_invalidated_token_is_fetched_again_but_another_is_kept() -> None:
    clock = ManualClock()
    counter = iter(range(1, 100))

    async def source(refused: bool) -> AccessToken:
        return AccessToken(SecretStr(f"t{next(counter)}"), expires_at=None)

    provider = CachingTokenProvider(source, clock=clock)
    assert await provider.token() == "t1"
    assert provider.invalidate("stale-other") is True
    assert await provider.token() == "t1"
    provider.invalidate("t1")
    assert await provider.token() == "t2"


async def test_the_source_is_told_when_the_last_token_was_refused() -> None:
    asked: list[bool] = []

    async def source(refused: bool) -> AccessToken:
        asked.append(refused)
        return AccessToken(SecretStr(f"t{len(asked)}"), expires_at=None)

    provider = CachingTokenProvider(source, clock=ManualClock())
    assert await provider.token() == "t1"
    provider.invalidate("t1")
    assert await provider.token() == "t2"
    provider.forget()  # signed out: fetched again, but nothing was refused
    assert await provider.token() == "t3"
    assert asked == [False, True, False]


async def test_a_token_is_rechecked_at_its_source_after_recheck_after_seconds() -> None:
    clock = ManualClock()
    fetched = 0

    async def source(refused: bool) -> AccessToken:
        nonlocal fetched
        fetched += 1
        return AccessToken(SecretStr("same"), expires_at=clock.seconds + 3600)

    provider = CachingTokenProvider(source, clock=clock, recheck_after=60)
    await provider.token()
    clock.seconds += 59
    await provider.token()
    assert fetched == 1
    clock.seconds += 1
    await provider.token()
    assert fetched == 2


async def test_a_short_lived_token_is_used_for_half_its_life() -> None:
    clock = ManualClock()
    fetched = 0

    async def source(refused: bool) -> AccessToken:
        nonlocal fetched
        fetched += 1
        return AccessToken(SecretStr(f"t{fetched}"), expires_at=clock.seconds + 200)

    provider = CachingTokenProvider(source, clock=clock, refresh_margin=300)
    assert await provider.token() == "t1"
    clock.seconds += 99
    assert await provider.token() == "t1"
    clock.seconds += 1
    assert await provider.token() == "t2"
