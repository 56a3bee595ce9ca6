"""The built-in sandbox in a process of its own, for benchmarks that must not share its loop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    """Serve the sandbox on ``port`` with uvicorn; return once it accepts connections."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory",
        "bot.partner_center.sandbox:create_sandbox_app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the sandbox did not start")
