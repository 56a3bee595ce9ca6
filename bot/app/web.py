"""The ``web`` process's app: the chat platforms' endpoints, Partner Center's webhook and the
sign-in callback.

:func:`build_web_app` mounts these routes on the generic ASGI app of :mod:`bot.web` (health,
the body limit) and opens the process's services in its lifespan.
"""

from __future__ import annotations

import gc
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app.clients import check_partner_center_settings
from bot.app.platforms import (
    build_login_client,
    build_slack_app,
    build_teams_app,
    inbound_tokens,
    slack_configured,
    teams_configured,
    teams_front_end,
    teams_running,
)
from bot.app.services import ChatServices, chat_services
from bot.app.worker import WorkerFailed, approval_turns, working
from bot.conversation.chat.approving import ApprovalTurns
from bot.conversation.chat.triaging import triage_refusal
from bot.conversation.chat.turns import TURN, Replier, Turn
from bot.conversation.views import Decision, Notice, Problem, Triage
from bot.identity.identity import Identity
from bot.identity.signin import CALLBACK_PATH, SignedIn, SignIns
from bot.identity.web import callback_endpoint
from bot.inbound.store import InboundStore
from bot.inbound_tokens import InboundTokens
from bot.jobs import JobQueue, QueueRefused
from bot.jobs.job import text_of
from bot.notifications.signature import WebhookVerifier
from bot.notifications.webhook import WEBHOOK_PATH, webhook_endpoint
from bot.references import ReferenceBook
from bot.settings import Settings
from bot.web import ReadinessCheck, create_web_app
from handlers.slack import SlackGate, SlackServices, events_endpoint
from handlers.slack import register as register_slack

if TYPE_CHECKING:
    from microsoft_teams.apps import App as TeamsApp


def partner_center_routes(
    settings: Settings, state: Mapping[str, Any], platforms: set[str]
) -> list[Route]:
    """Partner Center's webhook, and (``AUTH_MODE=user``) the sign-in callback; their parts
    are in ``state`` once the app has started."""
    webhook = webhook_endpoint(
        lambda: state["verifier"], lambda: state["redis"], lambda: state["jobs"]
    )
    routes = [Route(WEBHOOK_PATH, webhook, methods=["POST"])]
    if settings.sign_in_mode == "user":
        routes.append(
            sign_in_route(
                lambda: state["services"].sign_ins,
                lambda: state["services"].identity,
                lambda: state["jobs"],
                platforms,
            )
        )
    return routes


def certificate_client(settings: Settings) -> httpx.AsyncClient:
    """The client webhook certificates are downloaded with: redirects never followed, TLS
    trusting ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` or the system's store."""
    bundle = settings.ca_bundle
    verify = ssl.create_default_context(cafile=str(bundle) if bundle else None)
    return httpx.AsyncClient(verify=verify, follow_redirects=False, trust_env=False)


def sign_in_route(
    sign_ins: Callable[[], SignIns],
    identity: Callable[[], Identity],
    jobs: Callable[[], JobQueue],
    platforms: set[str],
) -> Route:
    """``GET /auth/callback``: finish a seller's sign-in, then tell them in chat (a turn in
    their conversation's order, so it follows whatever they did before)."""

    async def tell(done: SignedIn) -> None:
        if done.resume.get("platform") not in platforms:
            # The terminal: nobody to ask whose account it is (the person at the terminal
            # chose the link's conversation), so the sign-in is theirs at once.
            await identity().confirm(done.principal)
            return
        delivery = "signed-in-" + uuid.uuid4().hex
        turn = Turn.model_validate({**done.resume, "kind": "signed_in", "delivery": delivery})
        await jobs().put(TURN, turn.model_dump(mode="json"), order_key=turn.conversation)

    return Route(CALLBACK_PATH, callback_endpoint(sign_ins, tell), methods=["GET", "POST"])


def platform_routes(
    settings: Settings, slack: AsyncApp | None, teams: TeamsApp | None, tokens: InboundTokens | None
) -> list[Route]:
    """``/slack/events`` (the signature checked on the raw body, then Bolt) and
    ``/api/messages`` (the token checked before the body is parsed), as configured."""
    routes = []
    if slack is not None:
        assert settings.slack_signing_secret is not None
        secret = settings.slack_signing_secret.get_secret_value()
        routes.append(Route("/slack/events", events_endpoint(slack, secret), methods=["POST"]))
    if teams is not None:
        front = teams_front_end()
        endpoint = front.messages_endpoint(teams, tokens)
        routes.append(Route(front.MESSAGES_PATH, endpoint, methods=["POST"]))
    return routes


def build_web_app(settings: Settings, *, worker: bool = True) -> Starlette:
    """The ``web`` process's ASGI app: health, and the chat platforms that are configured.

    The platform endpoints only verify, acknowledge and queue; with ``worker`` this process
    also works on the queue (one process is a whole deployment), without it separate
    ``worker`` processes do (the Procfile's way: the acks never wait behind the work).
    Long-lived resources (Redis, the Partner Center client) open in the app's lifespan, so
    nothing connects at import and a second process simply opens its own.
    """
    check_partner_center_settings(settings)  # fail at start, naming the variable
    slack = build_slack_app(settings) if slack_configured(settings) else None
    login = build_login_client() if teams_configured(settings) else None
    teams = build_teams_app(settings) if login is not None else None
    tokens = inbound_tokens(settings, login) if login is not None else None
    state: dict[str, Any] = {}
    failures: list[BaseException] = []

    def worker_failed(error: BaseException) -> None:
        # /readyz turns 503 and the server is asked to stop; `serve` then exits non-zero.
        failures.append(error)
        stop_server = getattr(web.state, "stop_server", None)
        if stop_server is not None:
            stop_server()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with chat_services(settings) as services, AsyncExitStack() as stack:
            jobs = services.jobs
            state.update(services=services, redis=services.redis, jobs=jobs)
            certificates = await stack.enter_async_context(certificate_client(settings))
            state["verifier"] = WebhookVerifier(
                certificates,
                allowed_cert_urls=settings.partner_center_webhook_cert_urls,
                ca_bundle=settings.partner_center_webhook_ca_bundle,
            )
            if worker:
                await stack.enter_async_context(
                    working(settings, services, on_failure=worker_failed)
                )
            if slack is not None:
                gate = SlackGate(allowed_teams=settings.slack_allowed_teams)
                register_slack(slack, SlackServices(jobs), gate)
            if teams is not None and login is not None:
                front = teams_front_end()
                allowlists = front.TeamsGate(
                    service_hosts=settings.teams_service_url_hosts, tenants=settings.teams_tenants
                )
                front.register(teams, teams_services(settings, services, jobs, teams), allowlists)
                await stack.enter_async_context(teams_running(teams, login))
                if tokens is not None:
                    front.check_tokens_with(teams, tokens)
            if slack is not None and settings.slack_app_token is not None:
                # Socket Mode: Slack delivers over a WebSocket this process opens, so the
                # app works without a public URL (the HTTP route stays for the rest).
                socket = AsyncSocketModeHandler(slack, settings.slack_app_token.get_secret_value())
                await socket.connect_async()  # type: ignore[no-untyped-call]
                stack.push_async_callback(socket.close_async)
            # Everything built so far lives as long as the process: take it out of the
            # collector's sight, so collections under load scan only per-request objects.
            # (Garbage from start-up is collected first rather than kept for ever.)
            gc.collect()
            gc.freeze()
            yield

    served = {name for name, app in (("slack", slack), ("teams", teams)) if app is not None}
    routes = [
        *platform_routes(settings, slack, teams, tokens),
        *partner_center_routes(settings, state, served),
    ]
    checks = readiness_checks(settings, state, failures if worker else None)
    web = create_web_app(
        checks, routes=routes, lifespan=lifespan, max_body_bytes=settings.max_body_bytes
    )
    web.state.worker_failures = failures
    return web


def readiness_checks(
    settings: Settings, state: Mapping[str, Any], failures: list[BaseException] | None
) -> dict[str, ReadinessCheck]:
    """What ``/readyz`` needs: Redis answering, the job stream usable, and (``failures``
    given: the process works the queue too) the job loop still running."""

    async def redis_ready() -> None:
        await state["redis"].ping()

    async def jobs_ready() -> None:
        # Requests are acknowledged only once their job is on the stream: a stream that is
        # not one (written over, say) would refuse every turn.
        jobs: JobQueue = state["jobs"]
        async with state["redis"].pipeline(transaction=False) as pipe:
            for shard in jobs.shards:
                pipe.type(shard.stream)
            kinds = await pipe.execute()
        for shard, kind in zip(jobs.shards, kinds, strict=True):
            if text_of(kind) not in ("stream", "none"):
                raise QueueRefused(f"{shard.stream} is a {text_of(kind)}, not a stream")

    async def worker_ready() -> None:
        if failures:
            raise WorkerFailed(f"the job loop stopped: {failures[0]!r}")

    checks: dict[str, ReadinessCheck] = {"redis": redis_ready, "jobs": jobs_ready}
    if failures is not None:
        checks["worker"] = worker_ready
    return checks


def teams_services(
    settings: Settings, services: ChatServices, jobs: JobQueue, teams: TeamsApp
) -> Any:
    """What the Teams handlers of the web process need (:class:`handlers.teams.TeamsServices`):
    the job stream, the conversation references, and the check of approval clicks."""
    front = teams_front_end()
    references = ReferenceBook(services.redis)
    replier = front.TeamsReplier(
        front.TeamsSender(teams, settings.teams_service_url_hosts), references
    )
    refusal = decision_refusal(
        approval_turns(services, {"teams": replier}), replier, inbound=services.inbound
    )
    return front.TeamsServices(jobs, references, refusal=refusal)


def decision_refusal(
    approvals: ApprovalTurns, replier: Replier, *, inbound: InboundStore | None = None
) -> Callable[[Turn, Decision | Triage], Awaitable[str | None]]:
    """Why a click on an approval card (or an incoming referral's) is refused, in words, asked
    in the web process so a Teams channel's clicker alone hears it (the click's own answer);
    None when it may go on."""

    async def refusal(turn: Turn, decision: Decision | Triage) -> str | None:
        if isinstance(decision, Triage):
            refused = await triage_refusal(inbound, decision) if inbound is not None else []
        else:
            refused = await approvals.refusal(turn, replier, decision, decided=True)
        if not refused:
            return None
        first = refused[0]
        if isinstance(first, Problem) and first.hint:
            return f"{first.message} {first.hint}"
        return first.message if isinstance(first, Problem | Notice) else None

    return refusal
