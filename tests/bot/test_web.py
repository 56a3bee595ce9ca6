"""The web process: health and readiness, and the Procfile's command serving them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from bot.app.web import build_web_app
from bot.app.worker import WorkerFailed
from bot.jobs.keys import Shards
from bot.logs import log_handler
from bot.settings import ConfigurationError, Settings
from bot.web import create_web_app
from tests.support.processes import child_env
from tests.support.redis_server import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]


async def get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        return await client.get(path)


async def test_healthz_answers_without_checking_dependencies() -> None:
    async def broken() -> None:
        raise ConnectionError("redis is down")

    response = await get(create_web_app({"redis": broken}), "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_each_check_and_logs_why_one_is_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("connection refused by 10.0.0.7:6379")

    async def hanging() -> None:
        await asyncio.sleep(30)

    ready = await get(create_web_app({"store": fine}), "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"store": "ok"}}

    app = create_web_app({"store": fine, "redis": broken, "slow": hanging})
    started = time.monotonic()
    not_ready = await get(app, "/readyz")
    assert time.monotonic() - started < 5
    assert not_ready.status_code == 503
    assert not_ready.json() == {
        "status": "not ready",
        "checks": {
            "store": "ok",
            "redis": "unavailable",
            "slow": "unavailable",
        },
    }
    # /readyz answers anyone: the detail is for the log only.
    assert "10.0.0.7" not in not_ready.text
    assert "readiness check redis failed" in caplog.text
    assert "10.0.0.7:6379" in caplog.text
    assert "readiness check slow timed out after 2s" in caplog.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} process in the Procfile")


def test_procfile_web_command_serves_health(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = child_env(
        PORT=str(port),
        HOST="127.0.0.1",  # the Procfile binds HOST (every interface when unset)
        PARTNER_CENTER_TOKEN="test-token",
        REDIS_URL=redis_url,
        DATA_DIR=str(tmp_path / "data"),
    )
    command = procfile_command("web")
    assert "--host ${HOST:-0.0.0.0}" in command
    # A session of its own, so stopping it stops the shell and the server the shell started.
    process = subprocess.Popen(
        command, shell=True, cwd=tmp_path, env=env, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(
                        f"web did not start: {process.stderr.read() if process.stderr else ''}"
                    )
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.json() == {"status": "ready", "checks": {"redis": "ok", "jobs": "ok"}}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_serve_refuses_to_start_without_credentials(tmp_path: Path) -> None:
    env = child_env()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "referral-bot"), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "PARTNER_CENTER_TOKEN" in result.stderr


def test_serve_names_the_missing_slack_setting(tmp_path: Path) -> None:
    env = child_env(PARTNER_CENTER_TOKEN="test-token", SLACK_BOT_TOKEN="xoxb-only-half")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "referral-bot"), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "xoxb-only-half" not in result.stderr


# -- a job loop that dies takes the process down with it ---------------------------------------


def broken_stream_env(tmp_path: Path, redis_url: str, stream: str) -> dict[str, str]:
    return child_env(
        PARTNER_CENTER_TOKEN="test-token",
        REDIS_URL=redis_url,
        JOB_STREAM=stream,
        DATA_DIR=str(tmp_path / "data"),
    )


async def test_readyz_fails_when_the_job_loop_of_the_web_process_stops(
    redis: Redis, redis_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    stream = f"rb:jobs:{redis_namespace}"
    await redis.hset(stream, "not", "a stream")  # the consumer group cannot be made
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_token="test-token",
        redis_url=redis_url,
        job_stream=stream,
        data_dir=tmp_path,
    )
    app = build_web_app(settings, worker=True)
    stopped: list[bool] = []
    app.state.stop_server = lambda: stopped.append(True)
    readiness: list[httpx.Response] = []

    async def serve_until_stopped() -> None:
        async with app.router.lifespan_context(app):
            for _ in range(100):
                if stopped:
                    break
                await asyncio.sleep(0.02)
            readiness.append(await get(app, "/readyz"))

    with pytest.raises(WorkerFailed):
        await serve_until_stopped()
    assert stopped == [True]  # the server was asked to stop
    (ready,) = readiness
    assert ready.status_code == 503
    assert ready.json()["checks"]["worker"] == "unavailable"


async def test_readyz_with_redis_down_says_unavailable_and_only_logs_why(
    private_redis: PrivateRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_token="test-token",
        redis_url=private_redis.url,
        data_dir=tmp_path,
        redis_socket_timeout_seconds=0.5,
    )
    app = build_web_app(settings, worker=False)
    async with app.router.lifespan_context(app):
        assert (await get(app, "/readyz")).status_code == 200
        private_redis.stop()
        down = await get(app, "/readyz")
    assert down.status_code == 503
    assert down.json() == {
        "status": "not ready",
        "checks": {"redis": "unavailable", "jobs": "unavailable"},
    }
    assert "Error" not in down.text
    assert str(private_redis.port) not in down.text
    assert "readiness check redis failed" in caplog.text


@pytest.mark.parametrize("command", ["referral-bot worker", "referral-bot serve --host 127.0.0.1"])
async def test_a_process_whose_job_loop_stops_exits_non_zero(
    command: str, tmp_path: Path, redis: Redis, redis_url: str, redis_namespace: str
) -> None:
    stream = f"rb:jobs:{redis_namespace}"
    await redis.hset(stream, "not", "a stream")
    env = broken_stream_env(tmp_path, redis_url, stream)
    env["PORT"] = str(free_port())
    finished = await asyncio.to_thread(
        subprocess.run,
        command,
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode == 1, finished.stderr.decode()
    assert b"Stopped:" in finished.stderr
    assert b"the job loop stopped" in finished.stderr


# -- where serve listens, and the unauthenticated Teams mode ----------------------------------


def test_serve_refuses_the_unauthenticated_mode_off_loopback(tmp_path: Path) -> None:
    env = child_env(
        PARTNER_CENTER_TOKEN="test-token",
        TEAMS_CLIENT_ID="00000000-0000-0000-0000-000000000001",
        TEAMS_CLIENT_SECRET="secret",
        TEAMS_TENANT_ID="00000000-0000-0000-0000-000000000002",
        TEAMS_ALLOW_UNAUTHENTICATED="true",
        DATA_DIR=str(tmp_path / "data"),
    )
    # No PUBLIC_URL: listening beyond this machine is what makes forged activities reachable.
    # (192.0.2.10 is a documentation address: were it not refused, binding it would fail.)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "referral-bot"),
            "serve",
            "--host",
            "192.0.2.10",
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "TEAMS_ALLOW_UNAUTHENTICATED" in result.stderr
    assert "HOST=192.0.2.10" in result.stderr


def test_teams_needs_a_tenant_to_serve() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_token="test-token",
        teams_client_id="00000000-0000-0000-0000-000000000001",
        teams_client_secret="secret",
    )
    with pytest.raises(ConfigurationError, match="TEAMS_ALLOWED_TENANTS"):
        build_web_app(settings)


async def test_readyz_fails_when_the_job_stream_is_not_a_stream(
    redis: Redis, redis_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    stream = f"rb:jobs:{redis_namespace}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_token="test-token",
        redis_url=redis_url,
        data_dir=tmp_path,
        job_stream=stream,
    )
    app = build_web_app(settings, worker=False)
    async with app.router.lifespan_context(app):
        assert (await get(app, "/readyz")).status_code == 200  # no stream yet: fine
        await redis.set(stream, "written over")
        broken = await get(app, "/readyz")

    assert broken.status_code == 503
    assert broken.json()["checks"] == {"redis": "ok", "jobs": "unavailable"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [("lb-7f3a9c", True), ("", False), ("<script>", False), ("x" * 65, False)],
)
async def test_every_response_names_its_request_and_lines_logged_for_it_carry_the_id(
    given: str, kept: bool
) -> None:
    lines = io.StringIO()
    handler = log_handler("json", stream=lines)
    logging.getLogger().addHandler(handler)

    async def noisy() -> None:
        logging.getLogger("bot.test").warning("checking the store")

    try:
        transport = httpx.ASGITransport(app=create_web_app({"store": noisy}))
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            answer = await client.get("/readyz", headers={"X-Request-Id": given} if given else {})
    finally:
        logging.getLogger().removeHandler(handler)

    request_id = answer.headers["x-request-id"]
    assert (request_id == given) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", request_id)
    (line,) = [json.loads(text) for text in lines.getvalue().splitlines() if "checking" in text]
    assert line["request_id"] == request_id


async def test_readyz_checks_every_shard_of_the_job_stream_and_logs_which_is_broken(
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_token="test-token",
        redis_url=redis_url,
        data_dir=tmp_path,
        job_stream=f"rb:jobs:{redis_namespace}",
        job_stream_shards=4,
    )
    app = build_web_app(settings, worker=False)
    async with app.router.lifespan_context(app):
        assert (await get(app, "/readyz")).status_code == 200
        broken = Shards(settings.job_stream, count=4).all[3].stream
        await redis.set(broken, "not a stream", ex=60)
        not_ready = await get(app, "/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["jobs"] == "unavailable"
    assert f"{broken} is a string, not a stream" in caplog.text
