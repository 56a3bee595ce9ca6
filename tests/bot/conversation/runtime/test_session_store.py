"""Contract of the session store, on a real Redis-protocol server.

The ``store`` fixture is parametrized by backend, so another implementation of
:class:`SessionStore` runs the same suite by adding itself to ``BACKENDS``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.conversation.runtime.session_store import (
    Claim,
    KeyBuilder,
    RedisSessionStore,
    SessionStore,
    Stored,
    StoreUnavailable,
    escape_conversation_key,
)
from bot.storage.redis import RedisUnavailable, connect
from tests.support.redis_server import PrivateRedis

TTL = 3600
BACKENDS = ["redis"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, redis: Redis) -> SessionStore:
    if request.param == "redis":
        return RedisSessionStore(redis)
    raise AssertionError(request.param)


@pytest.fixture
def key(conversation_key: str) -> str:
    return conversation_key


@pytest.fixture
async def private_store(private_redis: PrivateRedis) -> AsyncIterator[RedisSessionStore]:
    client = await connect(
        private_redis.url, max_connections=4, pool_timeout=0.2, socket_timeout=0.3
    )
    try:
        yield RedisSessionStore(client)
    finally:
        await client.aclose()


class Trips:
    """Counts the round trips of one operation."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.before = store.round_trips

    @property
    def count(self) -> int:
        return self.store.round_trips - self.before


# load / save -------------------------------------------------------------------------------


async def test_load_of_an_unknown_conversation_is_none(store: SessionStore, key: str) -> None:
    assert await store.load(key) is None


async def test_save_without_version_creates_version_1(store: SessionStore, key: str) -> None:
    assert await store.save(key, b"draft", expected_version=None, ttl_seconds=TTL) == 1
    assert await store.load(key) == Stored(1, b"draft")


async def test_create_only_if_absent(store: SessionStore, key: str) -> None:
    await store.save(key, b"first", expected_version=None, ttl_seconds=TTL)
    assert await store.save(key, b"second", expected_version=None, ttl_seconds=TTL) is None
    assert await store.load(key) == Stored(1, b"first")


async def test_each_save_increments_the_version(store: SessionStore, key: str) -> None:
    await store.save(key, b"v1", expected_version=None, ttl_seconds=TTL)
    assert await store.save(key, b"v2", expected_version=1, ttl_seconds=TTL) == 2
    assert await store.save(key, b"v3", expected_version=2, ttl_seconds=TTL) == 3
    assert await store.load(key) == Stored(3, b"v3")


async def test_stale_version_writes_nothing(store: SessionStore, key: str) -> None:
    await store.save(key, b"v1", expected_version=None, ttl_seconds=TTL)
    await store.save(key, b"v2", expected_version=1, ttl_seconds=TTL)
    assert await store.save(key, b"late", expected_version=1, ttl_seconds=TTL) is None
    assert await store.save(key, b"future", expected_version=5, ttl_seconds=TTL) is None
    assert await store.load(key) == Stored(2, b"v2")


async def test_save_with_a_version_on_a_missing_session_writes_nothing(
    store: SessionStore, key: str
) -> None:
    assert await store.save(key, b"x", expected_version=1, ttl_seconds=TTL) is None
    assert await store.load(key) is None


@pytest.mark.parametrize(
    "data", [b"", b"\x00\xff\xfe binary \r\n", "é✓".encode(), bytes(range(256)) * 40]
)
async def test_data_is_kept_byte_for_byte(store: SessionStore, key: str, data: bytes) -> None:
    await store.save(key, data, expected_version=None, ttl_seconds=TTL)
    assert await store.load(key) == Stored(1, data)


async def test_conversations_do_not_share_state(store: SessionStore, redis_namespace: str) -> None:
    one, two = f"{redis_namespace}:slack:T1:U1", f"{redis_namespace}:slack:T1:U2"
    await store.save(one, b"one", expected_version=None, ttl_seconds=TTL)
    assert await store.load(two) is None
    assert await store.save(two, b"two", expected_version=None, ttl_seconds=TTL) == 1
    assert await store.load(one) == Stored(1, b"one")


async def test_fifty_racing_saves_on_one_version_have_one_winner(
    store: SessionStore, key: str
) -> None:
    await store.save(key, b"start", expected_version=None, ttl_seconds=TTL)
    results = await asyncio.gather(
        *(store.save(key, b"answer %d" % i, expected_version=1, ttl_seconds=TTL) for i in range(50))
    )
    winners = [i for i, version in enumerate(results) if version is not None]
    assert len(winners) == 1
    assert results[winners[0]] == 2
    assert await store.load(key) == Stored(2, b"answer %d" % winners[0])


async def test_racing_creates_have_one_winner(store: SessionStore, key: str) -> None:
    results = await asyncio.gather(
        *(store.save(key, b"%d" % i, expected_version=None, ttl_seconds=TTL) for i in range(20))
    )
    assert sorted(results, key=str) == [1] + [None] * 19


# TTL ---------------------------------------------------------------------------------------


async def test_save_sets_the_ttl(store: SessionStore, key: str, redis: Redis) -> None:
    await store.save(key, b"x", expected_version=None, ttl_seconds=600)
    assert 598_000 < await redis.pttl(KeyBuilder().session(key)) <= 600_000


async def test_every_save_slides_the_ttl(store: SessionStore, key: str, redis: Redis) -> None:
    name = KeyBuilder().session(key)
    await store.save(key, b"x", expected_version=None, ttl_seconds=600)
    await redis.expire(name, 5)
    await store.save(key, b"y", expected_version=1, ttl_seconds=600)
    assert 598_000 < await redis.pttl(name) <= 600_000


async def test_a_failed_save_leaves_the_ttl_alone(
    store: SessionStore, key: str, redis: Redis
) -> None:
    name = KeyBuilder().session(key)
    await store.save(key, b"x", expected_version=None, ttl_seconds=600)
    await redis.expire(name, 50)
    assert await store.save(key, b"y", expected_version=7, ttl_seconds=600) is None
    assert await redis.ttl(name) <= 50


async def test_an_expired_session_is_gone(store: SessionStore, key: str, redis: Redis) -> None:
    await store.save(key, b"x", expected_version=None, ttl_seconds=TTL)
    await redis.pexpire(KeyBuilder().session(key), 20)
    await asyncio.sleep(0.1)
    assert await store.load(key) is None
    assert await store.save(key, b"y", expected_version=1, ttl_seconds=TTL) is None
    assert await store.save(key, b"new", expected_version=None, ttl_seconds=TTL) == 1


# delete ------------------------------------------------------------------------------------


async def test_delete_needs_the_current_version(store: SessionStore, key: str) -> None:
    await store.save(key, b"x", expected_version=None, ttl_seconds=TTL)
    await store.save(key, b"y", expected_version=1, ttl_seconds=TTL)
    assert await store.delete(key, expected_version=1) is False
    assert await store.load(key) == Stored(2, b"y")
    assert await store.delete(key, expected_version=2) is True
    assert await store.load(key) is None
    assert await store.delete(key, expected_version=2) is False


# claims ------------------------------------------------------------------------------------


async def test_first_claim_wins_and_others_see_it_in_progress(
    store: SessionStore, key: str
) -> None:
    assert await store.claim(key, "submit-d1", "tok-a", TTL) == Claim(won=True)
    assert await store.claim(key, "submit-d1", "tok-b", TTL) == Claim(won=False, result=None)


async def test_claiming_again_with_ones_own_token_still_wins(store: SessionStore, key: str) -> None:
    # What a retried call sees when the first attempt had taken the claim.
    await store.claim(key, "submit-d1", "tok-a", TTL)
    assert (await store.claim(key, "submit-d1", "tok-a", TTL)).won


async def test_twenty_racing_claims_have_one_winner(store: SessionStore, key: str) -> None:
    claims = await asyncio.gather(
        *(store.claim(key, "submit-d1", f"tok-{i}", TTL) for i in range(20))
    )
    assert sorted(claims, key=lambda claim: claim.won) == [Claim(won=False)] * 19 + [
        Claim(won=True)
    ]


async def test_only_the_holder_settles(store: SessionStore, key: str) -> None:
    await store.claim(key, "submit-d1", "tok-a", TTL)
    assert await store.settle(key, "submit-d1", "tok-b", b"theirs", TTL) is False
    assert await store.settle(key, "submit-d1", "tok-a", b'{"id": "r-1"}', TTL) is True
    # A retried settle whose first reply was lost still reports success.
    assert await store.settle(key, "submit-d1", "tok-a", b'{"id": "r-1"}', TTL) is True
    late = await store.claim(key, "submit-d1", "tok-c", TTL)
    assert late == Claim(won=False, result=b'{"id": "r-1"}')


async def test_a_settled_claim_cannot_be_released(store: SessionStore, key: str) -> None:
    await store.claim(key, "submit-d1", "tok-a", TTL)
    await store.settle(key, "submit-d1", "tok-a", b"done", TTL)
    assert await store.release(key, "submit-d1", "tok-a") is False
    assert (await store.claim(key, "submit-d1", "tok-b", TTL)).result == b"done"


async def test_only_the_holder_releases_and_then_anyone_may_claim(
    store: SessionStore, key: str
) -> None:
    await store.claim(key, "submit-d1", "tok-a", TTL)
    assert await store.release(key, "submit-d1", "tok-b") is False
    assert await store.claim(key, "submit-d1", "tok-b", TTL) == Claim(won=False)
    assert await store.release(key, "submit-d1", "tok-a") is True
    assert await store.claim(key, "submit-d1", "tok-b", TTL) == Claim(won=True)


async def test_claims_expire(store: SessionStore, key: str, redis: Redis) -> None:
    await store.claim(key, "submit-d1", "tok-a", 600)
    name = KeyBuilder().claim(key, "submit-d1")
    assert 598 <= await redis.ttl(name) <= 600
    await redis.pexpire(name, 20)
    await asyncio.sleep(0.1)
    assert (await store.claim(key, "submit-d1", "tok-b", TTL)).won


async def test_claims_are_independent_of_the_session_and_of_each_other(
    store: SessionStore, key: str
) -> None:
    await store.save(key, b"x", expected_version=None, ttl_seconds=TTL)
    assert (await store.claim(key, "submit-d1", "tok-a", TTL)).won
    assert (await store.claim(key, "submit-d2", "tok-b", TTL)).won
    assert await store.load(key) == Stored(1, b"x")
    assert await store.delete(key, expected_version=1)
    assert await store.claim(key, "submit-d1", "tok-c", TTL) == Claim(won=False)


# side values -------------------------------------------------------------------------------


async def test_side_values_round_trip_and_expire(
    store: SessionStore, key: str, redis: Redis
) -> None:
    assert await store.get(key, "last-draft") is None
    await store.put(key, "last-draft", b'{"flow": "new"}', ttl_seconds=600)
    assert await store.get(key, "last-draft") == b'{"flow": "new"}'
    assert 598 <= await redis.ttl(KeyBuilder().claim(key, "last-draft")) <= 600
    await store.put(key, "last-draft", b"again", ttl_seconds=600)
    assert await store.get(key, "last-draft") == b"again"
    assert await store.forget(key, "last-draft") is True
    assert await store.forget(key, "last-draft") is False
    assert await store.get(key, "last-draft") is None


async def test_side_values_leave_the_session_alone(store: SessionStore, key: str) -> None:
    await store.save(key, b"draft", expected_version=None, ttl_seconds=TTL)
    await store.put(key, "last-draft", b"x", ttl_seconds=TTL)
    await store.forget(key, "last-draft")
    assert await store.load(key) == Stored(1, b"draft")
    with pytest.raises(ValueError, match="claim name"):
        await store.put(key, "session", b"x", ttl_seconds=TTL)


# round trips and keys ----------------------------------------------------------------------


async def test_every_operation_is_one_round_trip(store: SessionStore, key: str) -> None:
    operations = [
        lambda: store.load(key),
        lambda: store.save(key, b"x", expected_version=None, ttl_seconds=TTL),
        lambda: store.load(key),
        lambda: store.save(key, b"y", expected_version=1, ttl_seconds=TTL),
        lambda: store.save(key, b"z", expected_version=1, ttl_seconds=TTL),  # a conflict
        lambda: store.claim(key, "submit-d1", "tok-a", TTL),
        lambda: store.claim(key, "submit-d1", "tok-b", TTL),
        lambda: store.settle(key, "submit-d1", "tok-a", b"done", TTL),
        lambda: store.release(key, "submit-d1", "tok-a"),
        lambda: store.delete(key, expected_version=2),
        lambda: store.put(key, "last-draft", b"x", ttl_seconds=TTL),
        lambda: store.get(key, "last-draft"),
        lambda: store.forget(key, "last-draft"),
    ]
    # A server (each node of a cluster) that does not know a script yet costs one more trip
    # the first time (see test_a_lost_script_cache_costs_one_extra_round_trip): the first
    # pass teaches it them, and leaves nothing behind for the second.
    for operation in operations:
        await operation()
    for operation in operations:
        trips = Trips(store)
        await operation()
        assert trips.count == 1


async def test_keys_share_the_conversation_hash_tag(
    store: SessionStore, key: str, redis: Redis
) -> None:
    await store.save(key, b"x", expected_version=None, ttl_seconds=TTL)
    await store.claim(key, "submit-d1", "tok", TTL)
    assert await redis.exists(f"rb:{{{key}}}:session", f"rb:{{{key}}}:submit-d1") == 2


async def test_a_lost_script_cache_costs_one_extra_round_trip(
    private_store: RedisSessionStore, private_redis: PrivateRedis, key: str
) -> None:
    await private_store.save(key, b"x", expected_version=None, ttl_seconds=TTL)
    private_redis.stop()
    private_redis.start()  # a restarted server has forgotten every script
    trips = Trips(private_store)
    assert await private_store.save(key, b"y", expected_version=1, ttl_seconds=TTL) == 2
    assert trips.count == 2  # EVALSHA refused, then EVAL
    trips = Trips(private_store)
    assert await private_store.save(key, b"z", expected_version=2, ttl_seconds=TTL) == 3
    assert trips.count == 1


def test_key_builder_layout() -> None:
    keys = KeyBuilder()
    assert keys.session("slack:T123:U456") == "rb:{slack:T123:U456}:session"
    assert keys.claim("slack:T123:U456", "submit:abc") == "rb:{slack:T123:U456}:submit:abc"
    assert KeyBuilder(prefix="other").session("k") == "other:{k}:session"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("teams:19:abc@thread.tacv2;messageid=1", "teams:19:abc@thread.tacv2;messageid=1"),
        ("a{b}c", "a%7Bb%7Dc"),
        ("100%", "100%25"),
        ("with space\n", "with%20space%0A"),
        ("glob*?[x]\\", "glob%2A%3F%5Bx%5D%5C"),
        ("café", "caf%C3%A9"),
    ],
)
def test_conversation_keys_are_escaped(raw: str, escaped: str) -> None:
    assert escape_conversation_key(raw) == escaped
    assert KeyBuilder().session(raw) == f"rb:{{{escaped}}}:session"


def test_escaping_keeps_distinct_keys_distinct() -> None:
    raws = ["a{b", "a%7Bb", "a%257Bb", "a b", "a%20b"]
    assert len({escape_conversation_key(raw) for raw in raws}) == len(raws)


@pytest.mark.parametrize("raw", ["", "x" * 1025, "{" * 400])
def test_unusable_conversation_keys_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="conversation key"):
        escape_conversation_key(raw)


@pytest.mark.parametrize("name", ["session", "", "sub mit", "a/b", "{x}", "-lead", "x" * 129])
def test_unusable_claim_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"claim name|key part"):
        KeyBuilder().claim("slack:T1:U1", name)


async def test_arguments_are_checked(store: SessionStore, key: str) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await store.save(key, b"x", expected_version=None, ttl_seconds=0)
    with pytest.raises(ValueError, match="expected_version"):
        await store.save(key, b"x", expected_version=0, ttl_seconds=TTL)
    with pytest.raises(ValueError, match="expected_version"):
        await store.delete(key, expected_version=True)
    with pytest.raises(ValueError, match="token"):
        await store.claim(key, "submit-d1", "", TTL)
    assert store.round_trips == 0


async def test_a_decoding_client_is_refused(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses"):
            RedisSessionStore(client)
    finally:
        await client.aclose()


# Redis going away --------------------------------------------------------------------------


async def test_a_stopped_server_makes_the_store_unavailable_and_a_restart_keeps_the_data(
    private_store: RedisSessionStore, private_redis: PrivateRedis, key: str
) -> None:
    await private_store.save(key, b"draft", expected_version=None, ttl_seconds=TTL)
    await private_store.claim(key, "submit-d1", "tok-a", TTL)
    private_redis.stop()
    operations = [
        lambda: private_store.load(key),
        lambda: private_store.save(key, b"lost", expected_version=1, ttl_seconds=TTL),
        lambda: private_store.delete(key, expected_version=1),
        lambda: private_store.claim(key, "submit-d1", "tok-b", TTL),
        lambda: private_store.settle(key, "submit-d1", "tok-a", b"r", TTL),
        lambda: private_store.release(key, "submit-d1", "tok-a"),
        lambda: private_store.put(key, "last-draft", b"x", ttl_seconds=TTL),
        lambda: private_store.get(key, "last-draft"),
        lambda: private_store.forget(key, "last-draft"),
    ]
    for operation in operations:
        with pytest.raises(StoreUnavailable) as caught:
            await operation()
        assert isinstance(caught.value, RedisUnavailable)
    private_redis.start()
    # Pooled connections died with the server; the client reconnects without an error.
    assert await private_store.load(key) == Stored(1, b"draft")
    assert await private_store.claim(key, "submit-d1", "tok-b", TTL) == Claim(won=False)
    assert await private_store.save(key, b"next", expected_version=1, ttl_seconds=TTL) == 2


async def test_a_crash_keeps_what_was_fsynced(
    private_store: RedisSessionStore, private_redis: PrivateRedis, redis_namespace: str
) -> None:
    key = f"{redis_namespace}:slack:T1:U1"
    await private_store.save(key, b"draft", expected_version=None, ttl_seconds=TTL)
    client = Redis.from_url(private_redis.url)
    try:
        await client.execute_command("WAITAOF", 1, 0, 2000)  # until the AOF is on disk
    finally:
        await client.aclose()
    private_redis.kill()
    private_redis.start()
    assert await private_store.load(key) == Stored(1, b"draft")


async def test_a_hung_server_times_out_as_unavailable(
    private_store: RedisSessionStore, private_redis: PrivateRedis, key: str
) -> None:
    await private_store.save(key, b"draft", expected_version=None, ttl_seconds=TTL)
    private_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await private_store.load(key)
        assert time.monotonic() - started < 2  # the socket timeout is 0.3 s
    finally:
        private_redis.resume()
    assert await private_store.load(key) == Stored(1, b"draft")


async def test_an_exhausted_pool_waits_then_reports_unavailable(
    private_redis: PrivateRedis, key: str
) -> None:
    client = await connect(private_redis.url, max_connections=1, pool_timeout=0.1, socket_timeout=1)
    store = RedisSessionStore(client)
    try:
        private_redis.pause()
        try:
            # The first load holds the only connection while the server does not answer.
            first = asyncio.ensure_future(store.load(key))
            await asyncio.sleep(0.05)
            with pytest.raises(StoreUnavailable, match="No connection available"):
                await store.load(key)
            with pytest.raises(StoreUnavailable):
                await first
        finally:
            private_redis.resume()
        assert await store.load(key) is None
    finally:
        await client.aclose()
