"""The web process killed (``kill -9``) with Slack's requests in flight: every request it
acknowledged is done exactly once by a worker; one it did not acknowledge may be lost (Slack
then retries it, with the same ids), but none is done twice.

Both processes run as the Procfile runs them, configured through the environment, on the
suite's Redis (a job stream of the test's own) and the Slack stand-in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.bot.test_web import free_port
from tests.handlers.slack.test_notification_faults import REFERRAL_BOT, until, worker_env, workers
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SlackRequests, SlackUser, dm_channel_id
from tests.support.slack_stand_in import SlackApiStandIn

SELLERS = [f"U{n:04}" for n in range(1000, 1060)]
"""One request each, so each reply names the request it answers (its DM)."""


async def test_every_acknowledged_request_is_done_once_after_the_web_process_is_killed(
    tmp_path: Path,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    stream = f"rb:jobs:{redis_namespace}"
    for user in SELLERS:
        fresh_slack_api.set_user(
            SlackUser(user, user.lower(), f"Seller {user}", "Seller", user, f"{user}@x.example")
        )
    env = {
        **worker_env(
            tmp_path,
            redis_url=redis_url,
            stream=stream,
            slack=fresh_slack_api,
            partner_center=fresh_sandbox.base_url,
            poll_interval=3600,
        ),
        "SLACK_ALLOWED_TEAMS": redis_namespace,
    }
    port = free_port()
    web_env = {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    requests = SlackRequests(team_id=redis_namespace)
    web = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is awaited
        [str(REFERRAL_BOT), "serve", "--no-worker", "--port", str(port)],
        env=web_env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    acked: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            await until(lambda: web.poll() is None, 1, "the web process")
            for _ in range(200):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the web process did not get ready")

            async def ask(user: str) -> None:
                signed = requests.command("help", user=user)
                try:
                    answer = await http.post(
                        signed.path, content=signed.body, headers=signed.headers
                    )
                except httpx.TransportError:
                    return  # killed before it answered: not acknowledged
                if answer.status_code == 200:
                    acked.append(user)

            sending = [asyncio.create_task(ask(user)) for user in SELLERS]
            # Kill it while the requests are arriving: some answered, some in flight.
            while len(acked) < len(SELLERS) // 3:  # noqa: ASYNC110 - polling a list
                await asyncio.sleep(0.005)
            os.killpg(web.pid, signal.SIGKILL)
            await asyncio.gather(*sending)
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
        web.wait(timeout=10)

    assert len(SELLERS) // 3 <= len(acked) < len(SELLERS)  # the kill met requests in flight
    async with workers(tmp_path, env, stream) as start:
        await start("worker")
        await until(
            lambda: all(fresh_slack_api.messages_to(dm_channel_id(u)) for u in acked),
            30,
            "every acknowledged request's answer",
        )
        await asyncio.sleep(1.0)  # anything more that was coming has come

    answers = Counter(
        user for user in SELLERS for _ in fresh_slack_api.messages_to(dm_channel_id(user))
    )
    assert all(answers[user] == 1 for user in acked), answers
    assert all(count <= 1 for count in answers.values()), answers
