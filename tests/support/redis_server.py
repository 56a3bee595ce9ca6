"""Real Redis-protocol servers for the tests.

- The suite's shared server (fixtures ``redis_url`` and ``redis`` in ``tests/conftest.py``):
  ``REDIS_URL`` when set, else an embedded server in a temporary folder. Tests use logical
  database :data:`TEST_DB` of it, and each test writes only keys containing its own
  namespace, which the ``redis`` fixture deletes afterwards. Nothing is ever flushed, so a
  shared server (someone's, or CI's) keeps its data, and two test runs against one server at
  the same time do not disturb each other.
- :class:`PrivateRedis`: a server of one test's own, on a loopback port, that the test can
  stop, kill, pause and restart on the same port and data, to see what the bot does when
  Redis goes away in the middle of a conversation.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis

from bot.storage.embedded import server_binary, server_config

TEST_DB = 15
"""Logical database the tests use on the shared server, away from an application's DB 0."""


def with_db(url: str, db: int) -> str:
    """``url`` pointing at logical database ``db`` (path for redis://, query for unix://)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "db"]
    path = parts.path
    if parts.scheme == "unix":
        query.append(("db", str(db)))
    else:
        path = f"/{db}"
    # Built by hand: urlunsplit drops the empty authority of unix:///path.
    rebuilt = f"{parts.scheme}://{parts.netloc}{path}"
    return f"{rebuilt}?{urlencode(query)}" if query else rebuilt


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLUSTER_BUS_OFFSET = 10_000
"""A cluster node also listens on its port plus this, for the other nodes."""


def cluster_port() -> int:
    """A loopback port for a cluster node: its bus port (10,000 higher) must be a port too,
    and free."""
    for _ in range(100):
        port = random.randint(20_000, 65_535 - CLUSTER_BUS_OFFSET)
        if _free(port) and _free(port + CLUSTER_BUS_OFFSET):
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a server on ``host:port`` answers PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class PrivateRedis:
    """A real server of one test's own that it can stop and start again, keeping its data.

    ``stop()`` is a graceful shutdown (the server saves first); ``kill()`` is a crash (the
    append-only file keeps what was fsynced: about everything older than a second, or
    everything after ``WAITAOF 1 0 <ms>``); ``pause()`` freezes the process, so clients
    time out instead of being refused. ``start()`` brings it back on the same port and data.
    """

    host = "127.0.0.1"

    def __init__(
        self, data_dir: Path, *, port: int | None = None, owns_every_slot: bool = False
    ) -> None:
        """``owns_every_slot``: a one-node Redis Cluster holding all 16,384 hash slots. Any
        client works against it as against one server, but it refuses what a cluster refuses:
        a script, a transaction or a command whose keys hash to more than one slot
        (``CROSSSLOT``), and logical databases other than 0."""
        self.data_dir = data_dir.absolute()
        self.port = port or (cluster_port() if owns_every_slot else free_port())
        self.owns_every_slot = owns_every_slot
        self.log_path = self.data_dir / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``, the same across restarts."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive (it may be paused)."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server on this port and data folder, and wait until it answers PING."""
        if self.running:
            raise RuntimeError("the private Redis is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "redis.conf"
        text = server_config(self.data_dir, port=self.port)
        if self.owns_every_slot:
            text += "cluster-enabled yes\ncluster-config-file nodes.conf\n"
        config.write_text(text, encoding="utf-8")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(server_binary()), str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
            )
        self._paused = False
        deadline = time.monotonic() + timeout
        while not ping(self.host, self.port):
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"the private Redis exited:\n{self._log_tail()}")
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(f"the private Redis did not start:\n{self._log_tail()}")
            time.sleep(0.01)
        if self.owns_every_slot:
            self._own_every_slot(deadline)

    def _own_every_slot(self, deadline: float) -> None:
        """Assign every slot to this node (once: a restart keeps nodes.conf), and wait for
        the cluster to say it is ok."""
        client = redis.Redis(host=self.host, port=self.port)
        try:
            info = client.execute_command("CLUSTER", "INFO").decode()
            if "cluster_slots_assigned:16384" not in info:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            while "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO").decode():
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"the one-node cluster is not ok:\n{self._log_tail()}")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully (SIGTERM: the server saves its data, then exits)."""
        process = self._require_process()
        self.resume()
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        finally:
            self._process = None

    def kill(self) -> None:
        """Crash the server (SIGKILL): no final save."""
        process = self._require_process()
        process.kill()
        process.wait()
        self._process = None
        self._paused = False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        process = self._require_process()
        os.kill(process.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Unfreeze a paused server (SIGCONT)."""
        if self._paused and self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)
        self._paused = False

    def close(self) -> None:
        """Stop the server if it runs; for teardown."""
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop()

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the private Redis is not running")
        return self._process

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
