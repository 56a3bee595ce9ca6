"""The shared client: a blocking bounded pool, a fail-fast PING, reconnection after restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from bot.storage.embedded import stop_embedded_server
from bot.storage.redis import RedisUnavailable, connect, redact_url, resolve_redis_url
from tests.support.redis_server import PrivateRedis, free_port, with_db


async def test_connect_builds_a_blocking_pool_from_the_settings(redis_url: str) -> None:
    client = await connect(redis_url, max_connections=7, pool_timeout=1.5, socket_timeout=0.5)
    try:
        pool = client.connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.max_connections == 7
        assert pool.timeout == 1.5
        assert pool.connection_kwargs["socket_timeout"] == 0.5
        assert pool.connection_kwargs["socket_connect_timeout"] == 0.5
        assert not pool.connection_kwargs.get("decode_responses")
        assert await client.echo(b"\xff") == b"\xff"
    finally:
        await client.aclose()


async def test_more_callers_than_connections_wait_instead_of_failing(
    redis_url: str, redis_namespace: str
) -> None:
    client = await connect(redis_url, max_connections=2, pool_timeout=5, socket_timeout=2)
    try:
        # Each BLPOP holds its connection for 50 ms: 10 of them queue for the 2 connections.
        results = await asyncio.gather(
            *(client.blpop([f"{redis_namespace}:empty"], timeout=0.05) for _ in range(10))
        )
        assert results == [None] * 10
        pool = client.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
    finally:
        await client.aclose()


async def test_an_unreachable_server_fails_fast_without_leaking_the_password() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    with pytest.raises(RedisUnavailable, match="does not answer") as caught:
        await connect(url, max_connections=2, pool_timeout=1, socket_timeout=1)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


async def test_a_restarted_server_is_reconnected_transparently(
    private_redis: PrivateRedis,
) -> None:
    client = await connect(private_redis.url, max_connections=2, pool_timeout=1, socket_timeout=1)
    try:
        await client.set("k", b"v")
        private_redis.stop()
        private_redis.start()
        # The pooled connection is dead; the one retry on ConnectionError reconnects.
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


def test_resolve_prefers_the_configured_url(tmp_path: Path) -> None:
    assert resolve_redis_url(" redis://cache:6380/2 ", tmp_path) == "redis://cache:6380/2"
    assert not (tmp_path / "redis").exists()


@pytest.mark.parametrize("configured", [None, "", "  "])
async def test_resolve_falls_back_to_the_embedded_server(
    tmp_path: Path, configured: str | None
) -> None:
    url = resolve_redis_url(configured, tmp_path)
    try:
        assert url == f"unix://{tmp_path / 'redis' / 'redis.sock'}"
        client = await connect(url, max_connections=2, pool_timeout=1, socket_timeout=1)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
    finally:
        stop_embedded_server(tmp_path)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:p%40ss@host:6380", "rediss://user:***@host:6380"),
        ("unix:///tmp/r.sock?db=2&password=pw", "unix:///tmp/r.sock?db=2&password=***"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


async def test_a_decoding_client_is_not_what_connect_builds(redis_url: str) -> None:
    client = await connect(redis_url, max_connections=1, pool_timeout=1, socket_timeout=1)
    try:
        assert isinstance(client, Redis)
        assert await client.ping() is True
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/15"),
        (
            "rediss://:pw@host:6380/3?ssl_cert_reqs=none",
            "rediss://:pw@host:6380/15?ssl_cert_reqs=none",
        ),
        ("unix:///tmp/r.sock", "unix:///tmp/r.sock?db=15"),
        ("unix:///tmp/r.sock?db=0", "unix:///tmp/r.sock?db=15"),
    ],
)
def test_the_suite_uses_database_15(url: str, expected: str) -> None:
    assert with_db(url, 15) == expected
