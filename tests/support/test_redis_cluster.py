"""The local Redis Cluster the tests start: slots where they should be, clients routed to the
right master, a replica taking over from a killed master, commands counted per master, and no
server left running, even when starting fails."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import ClusterCrossSlotError

from bot.storage.redis import cluster_address
from tests.support.redis_cluster import SLOTS, LocalCluster, slot_ranges


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three masters without replicas, shared by the tests that do not kill anything."""
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


async def cluster_client(cluster: LocalCluster) -> RedisCluster:
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster.startup_nodes],
        decode_responses=True,
        socket_timeout=5,
    )
    await client.initialize()
    return client


@pytest.fixture
async def client(cluster: LocalCluster) -> AsyncIterator[RedisCluster]:
    rc = await cluster_client(cluster)
    try:
        yield rc
    finally:
        await rc.aclose()


def key_on(cluster: LocalCluster, port: int, prefix: str = "key") -> str:
    """A key whose slot the master on ``port`` serves."""
    for n in range(10_000):
        key = f"{prefix}-{n}"
        if cluster.slot_owner(key_slot(key.encode())) == port:
            return key
    raise AssertionError(f"no key found for port {port}")


def test_slot_ranges_match_redis_cli_and_cover_every_slot_once() -> None:
    assert slot_ranges(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    assert slot_ranges(1) == [(0, SLOTS - 1)]
    for masters in (2, 3, 4, 5, 7, 10):
        ranges = slot_ranges(masters)
        assert len(ranges) == masters
        assert ranges[0][0] == 0
        assert ranges[-1][1] == SLOTS - 1
        for (_, last), (first, _) in itertools.pairwise(ranges):
            assert first == last + 1
        sizes = [last - first + 1 for first, last in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_the_cluster_has_its_masters_and_lists_them(cluster: LocalCluster) -> None:
    ports = [node.port for node in cluster.masters]
    assert len(set(ports)) == 3
    assert cluster.replicas == []
    assert all(node.alive and node.role == "master" for node in cluster.masters)
    assert all(len(node.node_id) == 40 for node in cluster.masters)
    assert cluster.startup_nodes == [("127.0.0.1", port) for port in ports]
    # The URL is one the bot reads as a cluster's nodes.
    assert cluster_address(cluster.url).nodes == tuple(cluster.startup_nodes)
    assert [cluster.slot_owner(first) for first, _ in slot_ranges(3)] == ports
    assert [cluster.slot_owner(last) for _, last in slot_ranges(3)] == ports


async def test_keys_on_every_master_are_routed_to_their_slot_owner(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    for node in cluster.masters:
        key = key_on(cluster, node.port, "routed")
        assert await client.execute_command("CLUSTER", "KEYSLOT", key) == key_slot(key.encode())
        assert await client.set(key, f"on {node.port}")
        assert await client.get(key) == f"on {node.port}"
        routed = client.get_node_from_key(key)
        assert routed is not None
        assert routed.port == node.port
        # The value really is on that master: asked directly, it answers without redirecting.
        direct = Redis(host="127.0.0.1", port=node.port, decode_responses=True)
        try:
            assert await direct.get(key) == f"on {node.port}"
        finally:
            await direct.aclose()


async def test_a_command_across_slots_is_refused_with_crossslot(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    port = cluster.masters[0].port
    first = key_on(cluster, port, "cross-a")
    second = next(
        key
        for n in range(10_000)
        if (key := f"cross-b-{n}")
        and cluster.slot_owner(key_slot(key.encode())) == port
        and key_slot(key.encode()) != key_slot(first.encode())
    )
    # Both keys are on one master, so only the slots differ: the server refuses, not redirects.
    # (redis-py raises ClusterCrossSlotError for the CROSSSLOT code, and drops the code.)
    with pytest.raises(ClusterCrossSlotError, match="same slot"):
        await client.execute_command(
            "MSET", first, "1", second, "2", target_nodes=client.get_node("127.0.0.1", port)
        )
    assert await client.exists(first, second) == 0


async def test_ops_per_master_counts_the_commands_each_master_executed(
    cluster: LocalCluster, client: RedisCluster
) -> None:
    keys = {node.port: key_on(cluster, node.port, "counted") for node in cluster.masters}
    for key in keys.values():
        await client.get(key)  # connect to every master before counting
    cluster.reset_stats()
    assert cluster.ops_per_master() == dict.fromkeys(keys, 0)
    for times, key in enumerate(keys.values(), start=1):
        for _ in range(times * 2):
            await client.incr(key)
    # Reading the counts (and asking slot_owner) does not count.
    cluster.slot_owner(0)
    expected = {port: 2 * times for times, port in enumerate(keys, start=1)}
    assert cluster.ops_per_master() == expected
    assert cluster.ops_per_master() == expected
    cluster.reset_stats()
    assert cluster.ops_per_master() == dict.fromkeys(keys, 0)


def test_failing_a_master_without_replica_is_refused(cluster: LocalCluster) -> None:
    before = list(cluster.masters)
    with pytest.raises(ValueError, match="no live replica"):
        cluster.fail_master(0)
    assert cluster.masters == before
    assert all(node.alive for node in before)


async def test_a_replica_takes_over_a_killed_master_with_its_data(tmp_path: Path) -> None:
    with LocalCluster(tmp_path, replicas=1) as cluster:
        assert len(cluster.replicas) == 3
        assert {node.master_port for node in cluster.replicas} == {
            node.port for node in cluster.masters
        }
        victim = cluster.masters[1]
        key = key_on(cluster, victim.port, "failover")
        client = await cluster_client(cluster)
        try:
            assert await client.set(key, "before")
            # WAIT counts the writes of its own connection: write and wait on one connection.
            direct = Redis(
                host="127.0.0.1",
                port=victim.port,
                decode_responses=True,
                single_connection_client=True,
            )
            try:
                assert await direct.set(key, "copied")
                assert await direct.wait(1, 5000) == 1
            finally:
                await direct.aclose()
            replica = next(n for n in cluster.replicas if n.master_port == victim.port)

            promoted = cluster.fail_master(1)

            assert promoted == replica.port
            assert not victim.alive
            assert replica.role == "master"
            assert replica.master_port is None
            assert cluster.slot_owner(key_slot(key.encode())) == promoted
            assert victim.port not in {port for _, port in cluster.startup_nodes}
            assert promoted in {port for _, port in cluster.startup_nodes}
            # The same client, which last saw the dead master, finds the new one.
            assert await client.get(key) == "copied"
            assert await client.set(key, "after")
            assert await client.get(key) == "after"
            routed = client.get_node_from_key(key)
            assert routed is not None
            assert routed.port == promoted
            cluster.reset_stats()
            assert await client.set(key, "counted")
            counts = cluster.ops_per_master()
            assert set(counts) == {node.port for node in cluster.masters}
            assert counts[promoted] == 1
        finally:
            await client.aclose()
        nodes = list(cluster.nodes)
    assert all(not node.alive for node in nodes)


def test_a_failed_start_leaves_no_server_running(tmp_path: Path) -> None:
    # A master never says cluster_state:ok within its first two seconds, so this times out
    # halfway through forming the cluster.
    cluster = LocalCluster(tmp_path, masters=2, timeout=0.3)
    with pytest.raises(RuntimeError, match=r"did not (reach|answer)") as caught, cluster:
        pytest.fail("the cluster started within a third of a second")
    assert "redis.log" in str(caught.value)
    assert len(cluster.nodes) == 2
    assert all(node.process.returncode is not None for node in cluster.nodes)
