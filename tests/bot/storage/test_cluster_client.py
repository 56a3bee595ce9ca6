"""The client of a Redis Cluster: named by a ``redis+cluster://`` URL or ``REDIS_CLUSTER``, it
learns the slot map from any node, reaches keys on every master, and fails clearly."""

from __future__ import annotations

import re

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from bot.settings import Settings
from bot.storage.redis import (
    ClusterAddress,
    RedisUnavailable,
    cluster_address,
    connect,
    is_cluster_url,
    redact_url,
)
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_server import free_port


@pytest.mark.parametrize(
    ("url", "address"),
    [
        (
            "redis+cluster://10.0.0.5:6379,10.0.0.6:6380",
            ClusterAddress((("10.0.0.5", 6379), ("10.0.0.6", 6380)), None, None, False),
        ),
        (
            "rediss+cluster://bot:p%40ss@cache.example:6380",
            ClusterAddress((("cache.example", 6380),), "bot", "p@ss", True),
        ),
        (
            "redis+cluster://:s3cret@[::1]:7000, 127.0.0.1:7001/",
            ClusterAddress((("::1", 7000), ("127.0.0.1", 7001)), None, "s3cret", False),
        ),
    ],
)
def test_a_cluster_url_names_its_nodes_and_credentials(url: str, address: ClusterAddress) -> None:
    assert is_cluster_url(url)
    assert cluster_address(url) == address


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://:s3cret@10.0.0.5", "each node must be host:port"),
        ("redis+cluster://:s3cret@10.0.0.5:port", "each node must be host:port"),
        ("redis+cluster://:s3cret@10.0.0.5:70000", "each node must be host:port"),
        ("redis+cluster://:s3cret@", "names no node"),
        ("redis://:s3cret@10.0.0.5:6379", "is not a redis+cluster:// URL"),
    ],
)
def test_a_bad_cluster_url_is_refused_saying_why_without_its_password(
    url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        cluster_address(url)
    assert "s3cret" not in str(refused.value)


def test_a_cluster_urls_password_is_redacted() -> None:
    assert (
        redact_url("redis+cluster://bot:s3cret@h1:6379,h2:6379")
        == "redis+cluster://bot:***@h1:6379,h2:6379"
    )


async def test_a_cluster_url_gives_a_cluster_client_reaching_every_master(
    redis_cluster: LocalCluster, redis_namespace: str
) -> None:
    client = await connect(redis_cluster.url, max_connections=4, pool_timeout=1, socket_timeout=1)
    try:
        assert isinstance(client, RedisCluster)
        owners = set()
        for n in range(30):
            key = f"{redis_namespace}:{n}"
            await client.set(key, b"v", ex=60)
            assert await client.get(key) == b"v"
            owners.add(redis_cluster.slot_owner(key_slot(key.encode())))
            await client.delete(key)
        assert owners == {node.port for node in redis_cluster.masters}
    finally:
        await client.aclose()


async def test_redis_cluster_makes_a_plain_url_of_one_node_a_cluster_client(
    redis_cluster: LocalCluster,
) -> None:
    """A managed service gives one configuration endpoint: ``REDIS_CLUSTER=true`` says it is
    a cluster's."""
    host, port = redis_cluster.startup_nodes[0]
    settings = Settings(_env_file=None, redis_url=f"redis://{host}:{port}", redis_cluster=True)  # type: ignore[call-arg]
    client = await connect(
        settings.redis_url or "",
        max_connections=4,
        pool_timeout=1,
        socket_timeout=1,
        cluster=settings.redis_cluster,
    )
    try:
        assert isinstance(client, RedisCluster)
        assert {node.port for node in client.get_primaries()} == {
            node.port for node in redis_cluster.masters
        }
    finally:
        await client.aclose()
    plain = await connect(
        f"redis://{host}:{port}", max_connections=1, pool_timeout=1, socket_timeout=1
    )
    try:
        assert isinstance(plain, Redis)
    finally:
        await plain.aclose()


async def test_an_unreachable_cluster_fails_fast_without_leaking_the_password() -> None:
    url = f"redis+cluster://:s3cret@127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    with pytest.raises(RedisUnavailable) as caught:
        await connect(url, max_connections=2, pool_timeout=1, socket_timeout=0.5)
    assert "s3cret" not in str(caught.value)
    assert "redis+cluster://:***@127.0.0.1" in str(caught.value)
