"""The work on the job stream: the handler of every kind of job, and the loop that runs them.

:func:`job_handlers` answers each job kind (the turns through each platform's replier,
notifications, webhook follow-ups); :func:`working` runs the job loop with the
reconciliation poller beside it, in the ``worker`` process (:func:`run_worker`) or inside
the web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import aiohttp

from bot.app.platforms import (
    build_slack_client,
    build_teams_app,
    slack_configured,
    teams_configured,
    teams_front_end,
    teams_running,
)
from bot.app.services import ChatServices, chat_services
from bot.clock import SystemClock
from bot.conversation.chat.approving import ApprovalTurns, approval_handlers
from bot.conversation.chat.inbound_jobs import InboundParts, inbound_parts
from bot.conversation.chat.inbound_rules import InboundReplier
from bot.conversation.chat.inbound_timing import InboundTimer
from bot.conversation.chat.turns import Replier, TurnRunner, turn_handlers
from bot.jobs import Job, JobHandler, JobQueue, WorkOptions, dispatch
from bot.notifications.changes import CHANGE
from bot.notifications.delivery import Notifier
from bot.notifications.poller import Poller
from bot.notifications.webhook import FOLLOW_UP, follow_up_handler
from bot.references import ReferenceBook
from bot.settings import Settings
from handlers.slack import SlackReplier

DRAIN_SECONDS = 10.0
EXPIRY_SECONDS = 60.0
"""How often a worker looks for requests for approval to expire, and for incoming referrals
to remind of or expire."""

logger = logging.getLogger(__name__)


async def job_handlers(
    settings: Settings, services: ChatServices, stack: AsyncExitStack
) -> dict[str, JobHandler]:
    """The handler of every kind of job this deployment produces: the turns of the chat
    platforms that are configured, each answered through its platform's replier."""
    return (await worker_parts(settings, services, stack)).handlers


@dataclass(frozen=True)
class WorkerParts:
    """What a worker runs: a handler per job kind, the approvals to expire and the incoming
    referrals to remind of (None when no chat platform is configured)."""

    handlers: dict[str, JobHandler]
    approvals: ApprovalTurns | None
    inbound: InboundParts | None = None


async def worker_parts(
    settings: Settings, services: ChatServices, stack: AsyncExitStack
) -> WorkerParts:
    """:func:`job_handlers`, with the approvals whose requests the worker expires."""
    repliers: dict[str, InboundReplier] = {}
    if slack_configured(settings):
        client = build_slack_client(settings)
        # One pooled session for every Web API call and response_url, rather than one each.
        session = await stack.enter_async_context(aiohttp.ClientSession())
        client.session = session
        repliers["slack"] = SlackReplier(
            client, session=session, allow_guests=settings.allow_guests
        )
    if teams_configured(settings):
        front = teams_front_end()
        teams = build_teams_app(settings)
        await stack.enter_async_context(teams_running(teams))
        references = ReferenceBook(services.redis)
        repliers["teams"] = front.TeamsReplier(
            front.TeamsSender(teams, settings.teams_service_url_hosts), references
        )
    if not repliers:
        return WorkerParts({}, None)
    approvals = approval_turns(services, repliers)
    inbound = inbound_parts(
        services.inbound,
        services.inbound_places,
        services.inbound_rules,
        deployment=services.deployment,
        partner_center=services.partner_center,
        repliers=repliers,
        jobs=services.jobs,
        clock=SystemClock(),
        sent=functools.partial(services.detector.observe, source="bot"),
    )
    runner = TurnRunner(
        services.desk,
        services.memory,
        repliers,
        identity=services.identity,
        subscriptions=services.subscriptions,
        approvals=approvals,
        inbound=inbound.triaging,
    )
    notifier = Notifier(
        services.redis,
        services.subscriptions,
        services.jobs,
        repliers,
        referral_url=settings.partner_center_referral_url,
    )
    handlers = {
        **turn_handlers(runner),
        **approval_handlers(approvals),
        **notifier.handlers(),
        **inbound.handlers(),
        # A change is told to the subscribed channels and, when it is an incoming referral's,
        # followed up for triage.
        CHANGE: each_of(notifier.fan_out, inbound.arrivals.on_change),
        FOLLOW_UP: follow_up_handler(services.deployment, services.detector),
    }
    return WorkerParts(handlers, approvals, inbound)


def each_of(*handlers: JobHandler) -> JobHandler:
    """One job handled by each of ``handlers`` in turn. Each is idempotent (a fan-out's cards
    have delivery keys, a follow-up is filed once), so the job run again after one of them
    failed repeats nothing the others did."""

    async def handle(job: Job) -> None:
        for handler in handlers:
            await handler(job)

    return handle


def approval_turns(services: ChatServices, repliers: Mapping[str, Replier]) -> ApprovalTurns:
    """Approvals on the worker's side: cards, clicks, commands and expiry."""
    return ApprovalTurns(
        services.approvals,
        services.approval_places,
        services.partner_center,
        services.approval_rules,
        repliers=repliers,
        jobs=services.jobs,
        clock=SystemClock(),
        sent=functools.partial(services.detector.observe, source="bot"),
    )


async def expiring(turns: ApprovalTurns, stopping: asyncio.Event) -> None:
    """Expire requests for approval left unanswered, once a minute until ``stopping``."""
    while not stopping.is_set():
        try:
            expired = await turns.expire_due()
            if expired:
                logger.info("%d requests for approval expired", expired)
        except Exception:
            # Redis or a platform failing now may work at the next round; nothing is lost.
            logger.exception("could not expire requests for approval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), EXPIRY_SECONDS)


async def inbound_timing(timer: InboundTimer, stopping: asyncio.Event) -> None:
    """Remind of incoming referrals running out of time and expire those whose time ran out,
    once a minute until ``stopping`` (every worker does; each reminder is told once)."""
    while not stopping.is_set():
        try:
            reminded = await timer.remind_due()
            expired = await timer.expire_due()
            if reminded or expired:
                logger.info("incoming referrals: %d reminded, %d expired", reminded, expired)
        except Exception:
            # Redis failing now may work at the next round; nothing is lost.
            logger.exception("could not remind of or expire incoming referrals")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), EXPIRY_SECONDS)


class WorkerFailed(RuntimeError):
    """The job loop of this process stopped on an error: the process must not stay up."""


@asynccontextmanager
async def working(
    settings: Settings,
    services: ChatServices,
    *,
    on_failure: Callable[[BaseException], None] | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    """This process works on the job stream until the block ends (then drains its jobs).

    Yields the job loop's task. Should the loop stop on its own (an error it cannot wait
    out), ``on_failure`` is called at once and leaving the block raises :class:`WorkerFailed`.
    """
    async with AsyncExitStack() as stack:
        parts = await worker_parts(settings, services, stack)
        handlers = parts.handlers
        if not handlers:
            logger.info("no chat platform configured: no jobs to work on")
        stopping = asyncio.Event()
        options = WorkOptions(concurrency=settings.worker_concurrency, drain_seconds=DRAIN_SECONDS)
        loop = asyncio.create_task(
            JobQueue(
                services.redis,
                stream=settings.job_stream,
                shards=settings.job_stream_shards,
                dead_letter_days=settings.dead_letter_days,
            ).work(dispatch(handlers), stopping, options=options)
        )

        def stopped(task: asyncio.Task[None]) -> None:
            if task.cancelled() or task.exception() is None:
                return
            error = task.exception()
            assert error is not None
            logger.critical("the job loop stopped: %r", error, exc_info=error)
            if on_failure is not None:
                on_failure(error)

        loop.add_done_callback(stopped)
        polling = None
        if handlers:
            # Channels hear of changes nobody told the bot about (webhooks lost or not set up).
            poller = Poller(
                services.redis,
                services.deployment,
                services.detector,
                stream=settings.job_stream,
                interval=settings.poll_interval_seconds,
            )
            polling = asyncio.create_task(poller.run(stopping))
        expiry = (
            asyncio.create_task(expiring(parts.approvals, stopping))
            if parts.approvals is not None
            else None
        )
        timing = (
            asyncio.create_task(inbound_timing(parts.inbound.timer, stopping))
            if parts.inbound is not None
            else None
        )
        try:
            yield loop
        finally:
            stopping.set()
            if polling is not None:
                # A poll under way stops within the drain time; the next one starts over from
                # the cursor, so nothing is lost by cutting it short.
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(polling, DRAIN_SECONDS)
            for periodic in (expiry, timing):
                if periodic is not None:
                    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                        await asyncio.wait_for(periodic, DRAIN_SECONDS)
            try:
                await loop
            except Exception as error:
                raise WorkerFailed(f"the job loop stopped: {error!r}") from error


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The ``worker`` process: do jobs until ``stop`` is set; raise :class:`WorkerFailed`
    (for a non-zero exit) should the job loop stop on its own."""
    async with chat_services(settings) as services, working(settings, services) as loop:
        logger.info("worker started (Redis %s)", services.redis_url)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({loop, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
