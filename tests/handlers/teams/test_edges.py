"""The edges of ``/api/messages`` (issue 10, findings 5 and 6): the body cap, the token checked
before the body is parsed, and signing keys fetched off the event loop, at most once a minute,
only for the issuers the bot trusts. Last, the cap measured on a real ``serve`` process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bot.body_limit import DEFAULT_MAX_BODY_BYTES
from handlers.teams import MESSAGES_PATH
from tests.handlers.slack.test_edges import CHUNK, HUNDRED_MB, Counted
from tests.handlers.teams.conftest import TeamsBot
from tests.support.identity_stand_in import BOT_CLIENT_SECRET, IdentityStandIn
from tests.support.processes import child_env
from tests.support.slack_payloads import SIGNING_SECRET
from tests.support.slack_stand_in import SlackApiStandIn
from tests.support.teams_stand_in import APP_ID, JWKS, TENANT_ID, TeamsStandIn

JSON = {"Content-Type": "application/json"}


async def test_a_100_mb_body_with_its_length_is_refused_unread(bot: TeamsBot) -> None:
    body = Counted()
    headers = {**JSON, "Content-Length": str(HUNDRED_MB)}
    response = await bot.http.post(MESSAGES_PATH, content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent <= CHUNK


async def test_a_chunked_100_mb_body_is_read_no_further_than_the_cap(bot: TeamsBot) -> None:
    body = Counted()
    response = await bot.http.post(MESSAGES_PATH, content=body, headers=JSON)
    assert response.status_code == 413
    assert body.sent <= DEFAULT_MAX_BODY_BYTES + 2 * CHUNK


async def test_an_unauthenticated_body_is_refused_before_it_is_parsed(bot: TeamsBot) -> None:
    activity = bot.activities.message("hi")
    garbage = b"{not json"
    forged = bot.activities.headers(activity, wrong_key=True)
    answers = [
        await bot.http.post(MESSAGES_PATH, content=garbage, headers=JSON),
        await bot.http.post(MESSAGES_PATH, content=garbage, headers=forged),
        await bot.http.post(MESSAGES_PATH, content=b"[1, 2]", headers=forged),
    ]
    assert [answer.status_code for answer in answers] == [401, 401, 401]


async def test_malformed_json_with_a_good_token_is_400(bot: TeamsBot) -> None:
    headers = bot.activities.headers(bot.activities.message("hi"))
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"'):
        response = await bot.http.post(MESSAGES_PATH, content=body, headers=headers)
        assert response.status_code == 400, body


async def test_a_token_for_another_service_url_is_refused(bot: TeamsBot) -> None:
    activity = bot.activities.message("hi")
    headers = bot.activities.headers({**activity, "serviceUrl": "https://elsewhere.example/"})
    response = await bot.http.post(MESSAGES_PATH, json=activity, headers=headers)
    assert response.status_code == 401


async def test_a_slow_keys_endpoint_does_not_stall_other_requests(bot: TeamsBot) -> None:
    bot.teams.delay_keys(2.0)
    activity = bot.activities.message("referral help")
    started = time.monotonic()
    checking = asyncio.create_task(bot.post(activity))
    await asyncio.sleep(0.3)  # the token check is now waiting for the keys
    health = await bot.http.get("/healthz")
    assert health.status_code == 200
    assert time.monotonic() - started < 1.0, "the event loop was blocked"
    assert not checking.done()
    answer = await checking
    assert answer.status_code == 200
    assert len(bot.teams.calls(JWKS)) == 1


async def test_keys_are_cached_and_refetched_at_most_once_a_minute(bot: TeamsBot) -> None:
    for _ in range(3):
        response = await bot.post(bot.activities.message("referral help"))
        assert response.status_code == 200
    unknown = [await bot.post(bot.activities.message("hi"), kid=f"rotated-{n}") for n in range(3)]
    assert [answer.status_code for answer in unknown] == [401] * 3
    # One fetch for the first token; the unknown keys within the minute fetch nothing more.
    assert len(bot.teams.calls(JWKS)) == 1


async def test_a_token_from_an_untrusted_issuer_fetches_no_keys(bot: TeamsBot) -> None:
    activity = bot.activities.message("referral help")
    issuers = [
        "https://evil.example",
        "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    ]
    for issuer in issuers:
        response = await bot.post(activity, issuer=issuer)
        assert response.status_code == 401, issuer
    assert bot.teams.calls(JWKS) == []
    await bot.settled()


# A real `serve` process: its memory stays bounded ----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def post_huge(port: int, path: str, *, chunked: bool) -> tuple[int | None, int]:
    """POST 100 MB of ``x`` (declared, or chunked) with no credentials; returns the status
    the server answered (``None`` if it only closed) and how many bytes went out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: web\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    )
    sock.sendall(head.encode())
    sent = 0
    piece = b"x" * CHUNK
    frame = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece

    def pump() -> None:
        nonlocal sent
        try:
            while sent < HUNDRED_MB:
                sock.sendall(frame)
                sent += CHUNK
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading and closed

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    data = b""
    try:
        while b"\r\n" not in data:
            part = sock.recv(4096)
            if not part:
                break
            data += part
    except OSError:
        pass
    sender.join(60)
    sock.close()
    status = int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, sent


def test_a_serve_process_stays_small_under_100_mb_bodies(
    tmp_path: Path,
    redis_url: str,
    teams_api: TeamsStandIn,
    identity: IdentityStandIn,
    slack_api: SlackApiStandIn,
) -> None:
    port = free_port()
    env = child_env(
        PARTNER_CENTER_TOKEN="test-token",
        REDIS_URL=redis_url,
        DATA_DIR=str(tmp_path / "data"),
        JOB_STREAM=f"rb:jobs:edges-{port}",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        TEAMS_CLIENT_ID=APP_ID,
        TEAMS_CLIENT_SECRET=BOT_CLIENT_SECRET,
        TEAMS_TENANT_ID=TENANT_ID,
        ENTRA_AUTHORITY=identity.authority_root,
        REQUESTS_CA_BUNDLE=str(identity.ca_bundle),
        TEAMS_LOGIN_URL=teams_api.login_endpoint,
        TEAMS_OPENID_METADATA_URL=teams_api.openid_metadata_url,
    )
    command = [
        str(Path(sys.executable).parent / "referral-bot"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-worker",
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    stderr = process.stderr.read() if process.stderr else b""
                    raise AssertionError(f"serve did not start: {stderr.decode()}") from None
                time.sleep(0.1)
        before = peak_rss_kb(process.pid)
        answers = [
            post_huge(port, path, chunked=chunked)
            for path in ("/slack/events", MESSAGES_PATH)
            for chunked in (False, True)
        ]
        after = peak_rss_kb(process.pid)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    assert [status for status, _ in answers] == [413] * 4
    assert after - before < 32 * 1024, f"peak RSS grew by {(after - before) // 1024} MB"
