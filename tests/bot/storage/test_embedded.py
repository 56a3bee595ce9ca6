"""The embedded server: started once per data folder, shared, persistent, recovered."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from bot.storage.embedded import (
    EmbeddedServerError,
    embedded_server_dir,
    ensure_embedded_server,
    stop_embedded_server,
)

ROOT = Path(__file__).resolve().parents[3]

# Run in separate interpreters: each resolves the URL and reports which server process
# answered it, so two servers started side by side would show two process ids.
RESOLVE = """
import sys
from pathlib import Path
from redis import Redis
from bot.storage.embedded import ensure_embedded_server
url = ensure_embedded_server(Path(sys.argv[1]))
with Redis.from_url(url) as client:
    print(url, client.info("server")["process_id"])
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data folder whose embedded server, if any, is stopped after the test."""
    yield tmp_path
    try:
        stop_embedded_server(tmp_path, timeout=10)
    except EmbeddedServerError:
        pid = _pid(tmp_path)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        raise


def _pid(data_dir: Path) -> int | None:
    try:
        return int((embedded_server_dir(data_dir) / "redis.pid").read_text())
    except (OSError, ValueError):
        return None


def _server_pid(url: str) -> int:
    with Redis.from_url(url) as client:
        return int(client.info("server")["process_id"])


def _dead(pid: int) -> bool:
    # The killed daemon is not our child: wait until it is gone or a zombie nobody reaps.
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


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not _dead(pid):
        assert time.monotonic() < deadline, f"pid {pid} survived SIGKILL"
        time.sleep(0.01)


def test_starts_a_server_on_a_private_unix_socket(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    socket_path = embedded_server_dir(data_dir) / "redis.sock"
    assert url == f"unix://{socket_path}"
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o700
    with Redis.from_url(url) as client:
        assert client.ping()
        assert client.config_get("port") == {"port": "0"}  # no TCP listener
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("save") == {"save": "60 1"}
    assert _server_pid(url) == _pid(data_dir)


def test_a_second_call_shares_the_running_server(data_dir: Path) -> None:
    first = ensure_embedded_server(data_dir)
    pid = _server_pid(first)
    started = time.perf_counter()
    assert ensure_embedded_server(data_dir) == first
    assert time.perf_counter() - started < 0.5
    assert _server_pid(first) == pid


def test_processes_starting_at_once_share_one_server_that_outlives_them(data_dir: Path) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RESOLVE, str(data_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        outputs.append(out.strip())
    assert len(set(outputs)) == 1, outputs
    url, pid = outputs[0].split()
    # Every starter has exited; the server still answers.
    assert _server_pid(url) == int(pid) == _pid(data_dir)


def test_stale_socket_and_pid_file_of_a_killed_server_are_recovered(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    with Redis.from_url(url) as client:
        client.set("draft", b"kept")
        client.execute_command("WAITAOF", 1, 0, 2000)  # on disk before the crash
    old_pid = _server_pid(url)
    _kill(old_pid)
    server_dir = embedded_server_dir(data_dir)
    assert (server_dir / "redis.sock").exists()
    assert (server_dir / "redis.pid").exists()

    assert ensure_embedded_server(data_dir) == url
    assert _server_pid(url) != old_pid
    with Redis.from_url(url) as client:
        assert client.get("draft") == b"kept"


def test_a_pid_file_naming_an_unrelated_process_is_stale(data_dir: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc to tell a server from an unrelated process")
    server_dir = embedded_server_dir(data_dir)
    server_dir.mkdir(parents=True)
    (server_dir / "redis.pid").write_text(str(os.getpid()))  # alive, but not a server
    url = ensure_embedded_server(data_dir)
    assert _server_pid(url) != os.getpid()


def test_stop_saves_and_the_next_start_loads(data_dir: Path) -> None:
    url = ensure_embedded_server(data_dir)
    with Redis.from_url(url) as client:
        client.set("draft", b"kept", ex=3600)
    assert stop_embedded_server(data_dir) is True
    server_dir = embedded_server_dir(data_dir)
    assert not (server_dir / "redis.sock").exists()
    assert not (server_dir / "redis.pid").exists()
    assert (server_dir / "dump.rdb").exists()
    assert stop_embedded_server(data_dir) is False

    ensure_embedded_server(data_dir)
    with Redis.from_url(url) as client:
        assert client.get("draft") == b"kept"
        assert 0 < client.ttl("draft") <= 3600


def test_stop_without_a_server_is_a_no_op(tmp_path: Path) -> None:
    assert stop_embedded_server(tmp_path / "nothing-here") is False


def test_a_server_that_cannot_start_is_reported_with_its_log(data_dir: Path) -> None:
    manifest = embedded_server_dir(data_dir) / "appendonlydir" / "appendonly.aof.manifest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("not a manifest\n")
    with pytest.raises(EmbeddedServerError, match=r"(?i)manifest"):
        ensure_embedded_server(data_dir, timeout=10)


def test_a_socket_path_too_long_for_unix_sockets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedServerError, match="DATA_DIR"):
        ensure_embedded_server(tmp_path / ("x" * 120))
