"""Suite-wide guards: no test may reach beyond this machine's loopback interface.

Also the suite's Redis: a real server (``REDIS_URL`` or an embedded one), see
``tests/support/redis_server.py``; and a Redis Cluster of three masters started from the
embedded server's binary, on which the store, job and notification tests run as well (see
:data:`ON_BOTH`).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bot.storage.embedded import ensure_embedded_server, stop_embedded_server
from bot.storage.redis import RedisClient, connect
from tests.support.identity_stand_in import fresh_identity, identity
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_server import TEST_DB, PrivateRedis, with_db
from tests.support.sandbox import fresh_sandbox, sandbox
from tests.support.sign_in import checked_sandbox
from tests.support.slack_stand_in import fresh_slack_api, slack_api, slack_requests
from tests.support.teams_stand_in import fresh_teams_api, teams_activities, teams_api
from tests.support.webhook_stand_in import fresh_webhook_certificates, webhook_certificates

# Fixtures shared by the whole suite.
# Properties are about behaviour, not speed: on a busy two-core machine a slow example or a
# slow first draw is no failure (speed is measured in bench/). The suite stays reproducible:
# Hypothesis derives each test's examples from the test, not from the clock.
settings.register_profile(
    "suite", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("suite")

__all__ = [
    "checked_sandbox",
    "fresh_identity",
    "fresh_sandbox",
    "fresh_slack_api",
    "fresh_teams_api",
    "fresh_webhook_certificates",
    "identity",
    "sandbox",
    "slack_api",
    "slack_requests",
    "teams_activities",
    "teams_api",
    "webhook_certificates",
]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NetworkAccessError(AssertionError):
    """A test tried to talk to something other than loopback."""


def _is_local_host(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).split("%")[0]
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_local_host(address[0]):
        raise NetworkAccessError(f"tests must not reach the network (tried {address!r})")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local_host(host):
        raise NetworkAccessError(f"tests must not resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _guarded_connect)
        patch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
        patch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
        yield


# Redis -------------------------------------------------------------------------------------
# A real server: REDIS_URL when set (CI points it at the machine's Redis), else an embedded
# server in a temporary folder. Tests use logical database 15 of it and never flush: each test
# gets a namespace of its own (``redis_namespace``) for its keys, and the ``redis`` fixture
# deletes every key containing it afterwards, so a shared server keeps its data and two runs
# against one server do not disturb each other.


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the suite's Redis, database 15: ``REDIS_URL`` if set, else an embedded server."""
    configured = os.environ.get("REDIS_URL", "").strip()
    if configured:
        yield with_db(configured, TEST_DB)
        return
    data_dir = tmp_path_factory.mktemp("redis-data")
    url = ensure_embedded_server(data_dir)
    try:
        yield with_db(url, TEST_DB)
    finally:
        stop_embedded_server(data_dir)


@pytest.fixture
def redis_namespace() -> str:
    """A name unique to this test; put it in every key the test writes (``test-1a2b...``)."""
    return f"test-{uuid.uuid4().hex[:12]}"


ON_BOTH = (
    "tests/bot/test_jobs.py",
    "tests/bot/test_job_shards.py",
    "tests/bot/notifications/",
    "tests/bot/approvals/test_store.py",
    "tests/bot/inbound/test_store.py",
    "tests/bot/conversation/runtime/",
    "tests/bot/test_references.py",
)
"""Tests that run on one server and again on the cluster, when they use the ``redis`` fixture
and nothing else of the suite's Redis (a test given ``redis_url`` starts processes or builds
settings on the one server, so it runs there only)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    fixtures = set(metafunc.fixturenames)
    path = Path(metafunc.definition.path).as_posix()
    on_both = any(f"/{part}" in path or path.endswith(part) for part in ON_BOTH)
    if on_both and "redis" in fixtures and not fixtures & {"redis_url", "private_redis"}:
        metafunc.parametrize("redis", ["server", "cluster"], indirect=True)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A cluster of three masters on loopback, shared by the session (started when first
    asked for)."""
    with LocalCluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(name="redis")
async def redis_client(
    request: pytest.FixtureRequest, redis_namespace: str
) -> AsyncIterator[RedisClient]:
    """A client of the suite's Redis (or, parametrized ``cluster``, of :func:`redis_cluster`);
    afterwards, keys containing the namespace are deleted."""
    # Asked for here rather than as arguments: a test whose fixtures need ``redis_url``
    # themselves runs on the one server only (see pytest_generate_tests).
    on_cluster = getattr(request, "param", "server") == "cluster"
    url = request.getfixturevalue("redis_cluster" if on_cluster else "redis_url")
    url = url.url if on_cluster else url
    client = await connect(url, max_connections=64, pool_timeout=5, socket_timeout=5)
    try:
        yield client
    finally:
        try:
            keys = [key async for key in client.scan_iter(match=f"*{redis_namespace}*")]
            # One key at a time: on a cluster the keys are in many slots.
            for key in keys:
                await client.delete(key)
        finally:
            await client.aclose()


@pytest.fixture
def conversation_key(redis_namespace: str) -> str:
    """A conversation key inside this test's namespace."""
    return f"{redis_namespace}:slack:T0001:U0001"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running server of this test's own, to stop, kill, pause and restart."""
    with PrivateRedis(tmp_path / "private-redis") as server:
        yield server
