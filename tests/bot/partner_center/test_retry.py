"""Backoff and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.partner_center.retry import RetryPolicy, parse_retry_after


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:07 GMT", now) == 7.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_policy_defers_to_retry_after_and_refuses_long_waits() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=10)
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=11) is None
    assert policy.delay(3) is None


@given(attempt=st.integers(min_value=1, max_value=20), seed=st.integers())
def test_backoff_is_jittered_within_a_growing_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=0.5, max_delay=8, random=random.Random(seed))
    delay = policy.delay(attempt)
    assert delay is not None
    assert 0 <= delay <= min(8, 0.5 * 2 ** (attempt - 1))
