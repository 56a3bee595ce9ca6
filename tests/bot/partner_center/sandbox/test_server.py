"""Starting and stopping the sandbox server, on a thread and as a foreground process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.partner_center.sandbox import SandboxServer, create_sandbox_app, run_sandbox_in_thread

ROOT = Path(__file__).resolve().parents[4]
AUTH = {"Authorization": "Bearer t"}


def test_a_thread_server_binds_a_free_port_and_stops_cleanly() -> None:
    with run_sandbox_in_thread() as base_url:
        parts = urlsplit(base_url)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "/v1.0")
        assert parts.port
        response = httpx.get(base_url + "/engagements/referrals", headers=AUTH)
        assert response.status_code == 200

    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/engagements/referrals", headers=AUTH)


def test_two_sandboxes_are_independent() -> None:
    with (
        run_sandbox_in_thread(create_sandbox_app(seed=False)) as empty,
        run_sandbox_in_thread() as seeded,
    ):
        assert empty != seeded
        assert httpx.get(empty + "/engagements/referrals", headers=AUTH).json()["value"] == []
        assert (
            httpx.get(seeded + "/engagements/referrals", headers=AUTH).json()["@odata.count"] == 6
        )


def test_a_busy_port_fails_in_the_caller() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):  # noqa: PT011 - the errno differs between systems
            SandboxServer(port=port).start()


def test_the_server_object_is_reusable_only_after_stopping() -> None:
    server = SandboxServer()
    with server:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert httpx.get(server.origin + "/sandbox/faults").status_code == 200
    server.stop()  # a second stop is harmless
    with server:
        assert (
            httpx.get(server.base_url + "/engagements/referrals", headers=AUTH).status_code == 200
        )


def test_the_foreground_server_reports_its_url_and_stops_on_ctrl_c() -> None:
    script = (
        "from bot.partner_center.sandbox import run_sandbox\n"
        "run_sandbox(port=0, on_ready=lambda url: print(url, flush=True))\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:"), process.stderr
            assert base_url.endswith("/v1.0")
            response = httpx.get(base_url + "/engagements/referrals", headers=AUTH, timeout=5)
            assert response.status_code == 200
            process.send_signal(signal.SIGINT)
            rest, _ = process.communicate(timeout=10)
            assert rest == ""  # it printed nothing but what on_ready did
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
