"""The chat services: the desk, its memory and what every chat front end shares.

:func:`chat_services` builds them once per process on the connections of
:mod:`bot.app.clients` (Redis, Partner Center); the terminal, the worker and the web process
all start from them.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.app.clients import check_partner_center_settings, partner_center_access, redis_client
from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import Approvals
from bot.clock import SystemClock
from bot.conversation.chat.approving import ApprovalRequests, ApprovalRules
from bot.conversation.chat.desk import Desk
from bot.conversation.chat.finding import Finder
from bot.conversation.chat.inbound_rules import InboundRules
from bot.conversation.chat.known_customers import KnownCustomers
from bot.conversation.chat.memory import ChatMemory
from bot.conversation.runtime.access import Access
from bot.conversation.runtime.engine import Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.identity.identity import Identity
from bot.identity.signin import SignIns
from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundStore
from bot.jobs import JobQueue
from bot.notifications.changes import ChangeDetector
from bot.notifications.subscriptions import Subscriptions
from bot.partner_center.client import PartnerCenterClient
from bot.settings import SANDBOX, Settings
from bot.storage.redis import RedisClient, redact_url


@dataclass(frozen=True)
class ChatServices:
    """What a chat front end needs, and where it lives (for the banner)."""

    desk: Desk
    memory: ChatMemory
    redis: RedisClient
    redis_url: str
    partner_center_url: str
    sandbox: bool
    data_dir: Path
    identity: Identity
    sign_ins: SignIns | None
    """Sign-in links and their callback (``AUTH_MODE=user``)."""
    partner_center: PartnerCenterClient
    """Partner Center as each seller (:meth:`~PartnerCenterClient.acting_for`)."""
    deployment: PartnerCenterClient
    """Partner Center as the deployment itself (see
    :class:`~bot.app.clients.PartnerCenterParts`)."""
    detector: ChangeDetector
    subscriptions: Subscriptions
    jobs: JobQueue
    """The job stream, for work that follows a chat's (a request's card, telling someone)."""
    approvals: Approvals
    approval_places: ApprovalPlaces
    approval_rules: ApprovalRules
    inbound: InboundStore
    """Incoming referrals, filed once each, and where their answer stands."""
    inbound_places: InboundPlaces
    inbound_rules: InboundRules


def for_local_chat(settings: Settings) -> Settings:
    """Settings for a laptop: with no Partner Center configured, the built-in sandbox."""
    configured = {
        "partner_center_base_url",
        "partner_center_token",
        "auth_mode",
        "entra_client_id",
    } & settings.model_fields_set
    if configured:
        return settings
    return settings.model_copy(update={"partner_center_base_url": SANDBOX})


@asynccontextmanager
async def chat_services(settings: Settings) -> AsyncIterator[ChatServices]:
    """The desk on Redis (``REDIS_URL`` or the embedded server) and Partner Center."""
    check_partner_center_settings(settings)  # a configuration error stops us before Redis starts
    async with AsyncExitStack() as stack:
        redis, redis_url = await stack.enter_async_context(redis_client(settings))
        parts = await stack.enter_async_context(partner_center_access(settings, redis))
        client, sign_in = parts.client, parts.sign_in
        detector = ChangeDetector(
            redis, stream=settings.job_stream, shards=settings.job_stream_shards
        )
        store = RedisSessionStore(redis)
        access = Access(settings.referral_admins)
        clock = SystemClock()
        approvals = Approvals(redis, stream=settings.job_stream)
        places = ApprovalPlaces(redis, stream=settings.job_stream)
        rules = approval_rules(settings)
        jobs = JobQueue(redis, stream=settings.job_stream, shards=settings.job_stream_shards)
        requests = ApprovalRequests(approvals, places, jobs, rules, clock=clock)
        memory = ChatMemory(store)
        engine = Engine(
            store,
            client,
            clock=clock,
            ttl_seconds=settings.session_ttl_seconds,
            access=access,
            sent=functools.partial(detector.observe, source="bot"),
            checks={"register": requests.check},
            requests=requests,
            lookups={"known_customer": KnownCustomers(Finder(client, access, memory))},
        )
        yield ChatServices(
            desk=Desk(engine, client, access=access, memory=memory),
            memory=memory,
            redis=redis,
            redis_url=redact_url(redis_url),
            partner_center_url=client.base_url,
            sandbox=settings.uses_sandbox,
            data_dir=settings.data_dir,
            identity=sign_in.identity if sign_in is not None else Identity("static"),
            sign_ins=sign_in.sign_ins if sign_in is not None else None,
            partner_center=client,
            deployment=parts.deployment,
            detector=detector,
            subscriptions=Subscriptions(redis, stream=settings.job_stream),
            jobs=jobs,
            approvals=approvals,
            approval_places=places,
            approval_rules=rules,
            inbound=InboundStore(redis, stream=settings.job_stream),
            inbound_places=InboundPlaces(redis, stream=settings.job_stream),
            inbound_rules=inbound_rules(settings),
        )


def approval_rules(settings: Settings) -> ApprovalRules:
    """Who decides deal registrations, where requests go and how long they wait."""
    return ApprovalRules(
        approvers=frozenset(settings.approvers),
        slack_channel=settings.approvals_channel,
        ttl=timedelta(days=settings.approval_ttl_days),
    )


def inbound_rules(settings: Settings) -> InboundRules:
    """Where incoming referrals are triaged by default, when reminders come, who sees all."""
    teams = settings.slack_allowed_teams
    return InboundRules(
        slack_channel=settings.inbound_channel,
        slack_workspace=teams[0] if teams else "",
        reminder_days=settings.inbound_reminder_days,
        admins=frozenset(admin.strip().lower() for admin in settings.referral_admins),
    )
