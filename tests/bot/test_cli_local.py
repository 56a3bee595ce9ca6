"""``referral-bot local status`` and ``local stop`` on a real embedded server.

The installed console script runs in a child process, as a user types it, with a data folder
of the test's own and no ``REDIS_URL``; the server is started the way ``chat`` starts it, and
whatever is still running afterwards is stopped (killed if it will not stop).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from bot.cli.local import NOT_RUNNING, duration
from bot.storage.embedded import (
    EmbeddedServerError,
    embedded_server_dir,
    ensure_embedded_server,
    stop_embedded_server,
)
from tests.support.processes import child_env

REFERRAL_BOT = Path(sys.executable).with_name("referral-bot")
PASSWORD = "hunter2-not-for-output"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data folder whose embedded server, if any, is stopped after the test."""
    folder = tmp_path / "data"
    yield folder
    try:
        stop_embedded_server(folder, timeout=10)
    except EmbeddedServerError:
        pid = _pid_file(folder)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        raise


def local(data_dir: Path, *arguments: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``referral-bot local ...`` for ``data_dir``, without REDIS_URL unless ``settings`` say."""
    env = child_env(DATA_DIR=str(data_dir), **settings)
    if "REDIS_URL" not in settings:
        env.pop("REDIS_URL", None)
    return subprocess.run(
        [str(REFERRAL_BOT), "local", *arguments],
        capture_output=True,
        text=True,
        cwd=data_dir.parent,  # no developer's .env
        env=env,
        timeout=60,
        check=False,
    )


def _pid_file(data_dir: Path) -> int | None:
    try:
        return int((embedded_server_dir(data_dir) / "redis.pid").read_text())
    except (OSError, ValueError):
        return None


def _server_pid(url: str) -> int:
    with Redis.from_url(url) as client:
        return int(client.info("server")["process_id"])


def _gone(pid: int) -> bool:
    """Exited, or a zombie nobody reaps (the daemon is not our child)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def test_status_shows_the_running_server(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    with Redis.from_url(url) as client:
        client.set("draft", b"kept")
    pid = _server_pid(url)
    server_dir = embedded_server_dir(data_dir)

    result = local(data_dir, "status")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"A local Redis \(Valkey [\d.]+\) keeps the drafts", out), out
    assert re.search(rf"Socket\s+{re.escape(str(server_dir / 'redis.sock'))}\n", out), out
    assert re.search(rf"Data folder\s+{re.escape(str(server_dir))}\n", out), out
    assert re.search(rf"Pid\s+{pid}\n", out), out
    assert pid == _pid_file(data_dir)
    assert re.search(r"Memory\s+[\d.]+[BKMG] in use, [\d.]+[BKMG] resident \(RSS\)\n", out), out
    assert re.search(r"Uptime\s+\d+ s\n", out), out
    assert re.search(r"Keys\s+1\n", out), out
    assert re.search(r"Connections\s+0 from other processes", out), out
    assert "`referral-bot local stop` saves and stops it" in out
    assert _server_pid(url) == pid  # looking does not disturb it


def test_status_without_a_server_says_so_and_starts_none(data_dir: Path) -> None:
    result = local(data_dir, "status")

    assert result.returncode == NOT_RUNNING, result.stderr
    assert result.stdout == (
        f"No local Redis is running for {data_dir}. "
        "The next `referral-bot chat`, `serve` or `worker` starts one.\n"
    )
    assert not (embedded_server_dir(data_dir) / "redis.sock").exists()


def test_stop_saves_and_stops_and_the_next_start_loads(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    with Redis.from_url(url) as client:
        # No WAITAOF: the stop's own save must keep it.
        client.set("draft", b"kept", ex=3600)
    pid = _server_pid(url)
    server_dir = embedded_server_dir(data_dir)

    result = local(data_dir, "stop")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Stopped the local Redis (pid {pid}); drafts saved in {server_dir}.\n"
    deadline = time.monotonic() + 5
    while not _gone(pid):
        assert time.monotonic() < deadline, f"pid {pid} still runs"
        time.sleep(0.01)
    assert not (server_dir / "redis.sock").exists()
    assert not (server_dir / "redis.pid").exists()

    again = local(data_dir, "stop")
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"No local Redis is running for {data_dir}; nothing to stop.\n"

    assert ensure_embedded_server(data_dir) == url
    assert _server_pid(url) != pid
    with Redis.from_url(url) as client:
        assert client.get("draft") == b"kept"
        assert 0 < client.ttl("draft") <= 3600


def test_with_redis_url_set_there_is_no_local_server_to_show_or_stop(data_dir: Path) -> None:
    # One left running from before REDIS_URL was set: mentioned, not stopped.
    url = ensure_embedded_server(data_dir)
    pid = _server_pid(url)
    remote = f"redis://bot:{PASSWORD}@127.0.0.1:1/0"

    status = local(data_dir, "status", REDIS_URL=remote)
    stop = local(data_dir, "stop", REDIS_URL=remote)

    assert status.returncode == NOT_RUNNING, status.stderr
    assert stop.returncode == 2
    assert status.stdout.startswith(
        "The bot uses the Redis at redis://bot:***@127.0.0.1:1/0 (REDIS_URL): "
        "there is no local Redis to show."
    )
    assert stop.stderr.startswith(
        "The bot uses the Redis at redis://bot:***@127.0.0.1:1/0 (REDIS_URL), not a local one: "
        "there is nothing here to stop."
    )
    for said in (status.stdout, stop.stderr):
        assert f"A local Redis (pid {pid}) still runs in {embedded_server_dir(data_dir)}" in said
        assert "`REDIS_URL= referral-bot local stop` stops it" in said
    for output in (status.stdout, status.stderr, stop.stdout, stop.stderr):
        assert PASSWORD not in output
        assert "Traceback" not in output
    assert _server_pid(url) == pid

    # A blank REDIS_URL (overriding a .env) means the local server.
    blank = local(data_dir, "stop", REDIS_URL="")
    assert blank.returncode == 0, blank.stderr
    assert blank.stdout.startswith(f"Stopped the local Redis (pid {pid})")


def test_stop_while_another_process_is_connected_needs_force(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    pid = _server_pid(url)
    # Another process's connection, as a running chat, serve or worker holds one.
    other = subprocess.Popen(
        [sys.executable, "-c", CONNECTED, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline() == "connected\n"

        refused = local(data_dir, "stop")

        assert refused.returncode == 1
        assert refused.stderr == (
            f"The local Redis (pid {pid}) is in use: 1 other connection, from a "
            "`referral-bot chat`, `serve` or `worker` still running. Quit those first, or run "
            "`referral-bot local stop --force` (they lose their Redis until restarted).\n"
        )
        assert _server_pid(url) == pid
        assert re.search(r"Connections\s+1 from other processes", local(data_dir, "status").stdout)

        forced = local(data_dir, "stop", "--force")

        assert forced.returncode == 0, forced.stderr
        assert forced.stdout == (
            "Stopping it anyway (--force): 1 other connection.\n"
            f"Stopped the local Redis (pid {pid}); "
            f"drafts saved in {embedded_server_dir(data_dir)}.\n"
        )
        assert not (embedded_server_dir(data_dir) / "redis.sock").exists()
    finally:
        other.communicate(timeout=10)  # closing its stdin lets it exit


CONNECTED = """
import sys
from redis import Redis
with Redis.from_url(sys.argv[1]) as client:
    client.ping()
    print("connected", flush=True)
    sys.stdin.read()
"""


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (125, "2 min 5 s"),
        (3_600, "1 h 0 min"),
        (11_520, "3 h 12 min"),
        (187_200, "2 d 4 h"),
    ],
)
def test_uptime_reads_in_two_units(seconds: int, said: str) -> None:
    assert duration(seconds) == said
