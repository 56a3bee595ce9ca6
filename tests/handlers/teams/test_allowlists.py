"""Who the Teams front end serves: Bot Connectors of Teams' clouds only (the bot's token goes
nowhere else), and people of the allowlisted tenants only."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app.web import build_web_app
from bot.conversation import TURN
from bot.jobs import JobQueue
from bot.settings import DEFAULT_TEAMS_SERVICE_URL_HOSTS, Settings
from cards.ids import Action
from handlers.teams.sender import service_url_allowed
from tests.handlers.teams.conftest import DM, TeamsBot, forget_teams_keys, teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.loopback import LoopbackStandIn
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import SELLER, TENANT_ID, TeamsActivities, TeamsStandIn

OTHER_TENANT = "0f5ee5ba-5e5e-4c1e-9b1c-7a7a7a7a7a7a"
REFUSAL = "This bot serves its own organisation's Microsoft Teams tenant only."


class Attacker(LoopbackStandIn):
    """A host that is no Bot Connector: it records whatever reaches it."""

    name = "attacker"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[Route("/{rest:path}", self._record, methods=["GET", "POST", "PUT"])]
        )

    async def _record(self, request: Request) -> JSONResponse:
        with self._lock:
            self.received.append(
                {"path": request.url.path, "authorization": request.headers.get("authorization")}
            )
        return JSONResponse({"id": "1"}, status_code=201)


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    with Attacker() as host:
        yield host


@asynccontextmanager
async def served(settings: Settings, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    app = build_web_app(settings)
    await forget_teams_keys(redis)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
                yield http
    finally:
        await forget_teams_keys(redis)


async def queued(redis: Redis, stream: str) -> int:
    """Jobs ever added to ``stream`` (done ones leave it; the counter stays)."""
    if not await redis.exists(stream):
        return 0
    return int((await redis.xinfo_stream(stream))["entries-added"])


def in_tenant(activity: dict[str, Any], tenant: str) -> dict[str, Any]:
    activity["conversation"]["tenantId"] = tenant
    activity.setdefault("channelData", {})["tenant"] = {"id": tenant}
    return activity


# -- outbound tokens only to Teams' Bot Connectors ------------------------------------------


async def test_a_forged_service_url_in_unauthenticated_mode_gets_nothing(
    fresh_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    attacker: Attacker,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> None:
    settings = teams_settings(
        fresh_sandbox,
        fresh_teams_api,
        identity,
        redis_url,
        redis_namespace,
        teams_allow_unauthenticated=True,
    )
    forged = teams_activities.message("referral list")
    forged["serviceUrl"] = attacker.origin + "/amer/"
    async with served(settings, redis) as http:
        answer = await http.post("/api/messages", json=forged)  # unsigned: the mode allows it
        click = teams_activities.card_action(Action.CANCEL, {}, reply_to_id="1")
        click["serviceUrl"] = attacker.origin + "/amer/"
        await http.post("/api/messages", json=click)
        # The same activity from the real Bot Connector is answered, there.
        served_ = await http.post("/api/messages", json=teams_activities.message("referral help"))
        assert served_.status_code == 200
        await wait_for_messages(fresh_teams_api, 1)
    assert answer.status_code == 403
    assert attacker.received == []
    assert await queued(redis, settings.job_stream) == 1  # the genuine one only


async def test_the_worker_sends_no_token_to_a_host_outside_the_allowlist(
    bot: TeamsBot, attacker: Attacker
) -> None:
    """A turn already on the stream naming another host (queued before an upgrade, say)."""
    reference = {
        "serviceUrl": attacker.origin + "/amer/",
        "conversation": {"id": DM, "conversationType": "personal", "tenantId": TENANT_ID},
        "channelId": "msteams",
        "bot": {"id": "28:bot"},
        "user": SELLER.account,
    }
    turn = {
        "platform": "teams",
        "conversation": f"teams:{TENANT_ID}:{SELLER.aad_object_id}",
        "seller": {"user_id": SELLER.aad_object_id, "display_name": SELLER.name},
        "delivery": "activity-forged-1",
        "text": "referral help",
        "address": {"reference": reference, "user": SELLER.id},
    }
    await JobQueue(bot.redis, stream=bot.job_stream).put(
        TURN, turn, order_key=str(turn["conversation"])
    )
    await bot.settled()
    assert attacker.received == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://smba.trafficmanager.net/amer/", True),
        ("https://SMBA.trafficmanager.net:443/teams/", True),
        ("https://smba.infra.gov.teams.microsoft.us/teams", True),
        ("http://smba.trafficmanager.net/amer/", False),  # not https
        ("https://smba.trafficmanager.net.evil.example/amer/", False),
        ("https://evil.example/smba.trafficmanager.net/", False),
        ("https://user@smba.trafficmanager.net/amer/", False),
        ("https://smba.trafficmanager.net:8443/amer/", True),  # no port named: any
        ("https://[::1/amer/", False),
        ("", False),
        (None, False),
    ],
)
def test_service_urls_are_checked_against_the_hosts(url: str | None, allowed: bool) -> None:
    assert service_url_allowed(url, DEFAULT_TEAMS_SERVICE_URL_HOSTS) is allowed


def test_a_loopback_entry_with_a_port_admits_that_port_only() -> None:
    hosts = ("127.0.0.1:4000",)
    assert service_url_allowed("http://127.0.0.1:4000/amer/", hosts)
    assert not service_url_allowed("http://127.0.0.1:4001/amer/", hosts)
    assert not service_url_allowed("http://127.0.0.2:4000/amer/", hosts)


# -- tenants ------------------------------------------------------------------------------------


async def test_a_foreign_tenant_is_told_once_and_nothing_is_queued(bot: TeamsBot) -> None:
    for text in ("referral list", "referral list"):
        message = in_tenant(bot.activities.message(text), OTHER_TENANT)
        response = await bot.post(message)  # correctly signed by Bot Framework
        assert response.status_code == 200
    await bot.settled()
    assert await queued(bot.redis, bot.job_stream) == 0
    (said,) = bot.teams.messages_in(DM)  # once, and no referral data
    assert said.get("text") == REFUSAL
    assert not said.get("attachments")


async def test_a_click_from_a_foreign_tenant_is_answered_with_the_refusal_alone(
    bot: TeamsBot,
) -> None:
    click = in_tenant(bot.activities.card_action(Action.CANCEL, {}, reply_to_id="1"), OTHER_TENANT)
    response = await bot.post(click)
    assert response.status_code == 200
    assert response.json()["value"] == REFUSAL
    await bot.settled()
    assert await queued(bot.redis, bot.job_stream) == 0
    assert bot.teams.messages_in(DM) == []


async def test_a_tenant_listed_in_teams_allowed_tenants_is_served(
    fresh_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> None:
    settings = teams_settings(
        fresh_sandbox,
        fresh_teams_api,
        identity,
        redis_url,
        redis_namespace,
        teams_allowed_tenants=f"{OTHER_TENANT.upper()}, {TENANT_ID}",
    )
    async with served(settings, redis) as http:
        message = in_tenant(teams_activities.message("referral help"), OTHER_TENANT)
        response = await http.post(
            "/api/messages", json=message, headers=teams_activities.headers(message)
        )
        assert response.status_code == 200
        await wait_for_messages(fresh_teams_api, 1)
    (said,) = fresh_teams_api.messages_in(DM)
    assert said.get("text") != REFUSAL
    assert said.get("attachments")
    keys = [key async for key in redis.scan_iter(match=f"rb:{{teams:{OTHER_TENANT}:*")]
    if keys:
        await redis.delete(*keys)


async def wait_for_messages(teams: TeamsStandIn, count: int, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(teams.messages_in(DM)) < count:
        assert asyncio.get_running_loop().time() < deadline, "the bot said nothing"
        await asyncio.sleep(0.01)
