"""The composition root: the one place that turns :class:`Settings` into live objects.

Everything else receives its dependencies from here, so a test can build the same parts
around a loopback sandbox or a local Redis without patching anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import ssl
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route

from bot.clock import SystemClock
from bot.conversation.chat.desk import Desk
from bot.conversation.chat.memory import ChatMemory
from bot.conversation.chat.turns import TURN, Replier, Turn, TurnRunner, turn_handlers
from bot.conversation.runtime.access import Access
from bot.conversation.runtime.engine import Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.identity.bot_framework import BotFrameworkTokens
from bot.identity.caches import SERVICE_PRINCIPAL
from bot.identity.identity import Identity
from bot.identity.setup import SignInParts, build_sign_in, check_sign_in_settings
from bot.identity.signin import CALLBACK_PATH, SignedIn, SignIns
from bot.identity.tokens import DelegatedTokens
from bot.identity.web import callback_endpoint
from bot.inbound_tokens import InboundTokens
from bot.jobs import JobHandler, JobQueue, WorkOptions, dispatch
from bot.notifications.changes import ChangeDetector
from bot.notifications.delivery import Notifier
from bot.notifications.poller import Poller
from bot.notifications.signature import WebhookVerifier
from bot.notifications.subscriptions import Subscriptions
from bot.notifications.webhook import (
    FOLLOW_UP,
    WEBHOOK_PATH,
    follow_up_handler,
    webhook_endpoint,
)
from bot.partner_center.auth import StaticTokenProvider, TokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.partner_center.sandbox import run_sandbox_in_thread
from bot.partner_center.webhooks import WebhookRegistrations
from bot.references import ReferenceBook
from bot.settings import SANDBOX, ConfigurationError, Settings
from bot.storage.redis import connect, redact_url, resolve_redis_url
from bot.web import create_web_app
from handlers.slack import SlackGate, SlackReplier, SlackServices, events_endpoint
from handlers.slack import register as register_slack

if TYPE_CHECKING:
    from types import ModuleType

    from microsoft_teams.apps import App as TeamsApp

SANDBOX_TOKEN = SecretStr("sandbox")
HTTP_POOL_SIZE = 100
DRAIN_SECONDS = 10.0

logger = logging.getLogger(__name__)


class _RefuseAllCookies(CookieJar):
    """A jar that never stores a cookie.

    The API authenticates with bearer tokens; a cookie one user's response set must not ride
    along on another user's request through the shared client. Skipping the jar also saves
    the standard library's cookie parsing on every response.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore every Set-Cookie."""


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The long-lived HTTP client for Partner Center.

    httpx's own connection pool degrades badly under concurrency on this kind of workload;
    the aiohttp transport keeps the httpx API on aiohttp's engine.
    """
    limits = httpx.Limits(max_connections=HTTP_POOL_SIZE, max_keepalive_connections=HTTP_POOL_SIZE)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits, trust_env=False),
        timeout=httpx.Timeout(settings.partner_center_timeout_seconds),
        cookies=_RefuseAllCookies(),
        trust_env=False,
    )


def static_token_provider(settings: Settings) -> TokenProvider:
    """The one token of ``AUTH_MODE=static``: ``PARTNER_CENTER_TOKEN``, or any for the sandbox."""
    if (
        settings.partner_center_token is None
        or not settings.partner_center_token.get_secret_value()
    ):
        if settings.uses_sandbox:
            return StaticTokenProvider(SANDBOX_TOKEN)
        raise ConfigurationError(
            "Missing required setting(s): PARTNER_CENTER_TOKEN. Set it to a Partner Center "
            "bearer token, set ENTRA_CLIENT_ID (and the rest of the app registration) to sign "
            "in with msal, or set PARTNER_CENTER_BASE_URL=sandbox to use the built-in sandbox."
        )
    return StaticTokenProvider(settings.partner_center_token)


def check_partner_center_settings(settings: Settings) -> None:
    """Fail at start, naming the variable, on what ``AUTH_MODE`` needs and lacks."""
    if settings.sign_in_mode == "static":
        static_token_provider(settings)
    else:
        check_sign_in_settings(settings)


def build_partner_center_client(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    base_url: str | None = None,
    sign_in: SignInParts | None = None,
    as_integration_user: bool = False,
) -> PartnerCenterClient:
    """A client for ``base_url`` (default: the configured API root), with its tokens from
    ``sign_in`` (``user`` and ``service`` mode) or the static token."""
    tokens, principals = (
        sign_in.tokens_for(as_integration_user=as_integration_user)
        if sign_in is not None
        else (static_token_provider(settings), None)
    )
    return PartnerCenterClient(
        http,
        base_url=base_url or settings.partner_center_base_url,
        tokens=tokens,
        principals=principals,
        retry=RetryPolicy(max_attempts=settings.partner_center_max_attempts),
        max_pages=settings.partner_center_max_pages,
    )


@asynccontextmanager
async def partner_center_access(
    settings: Settings, redis: Redis | None
) -> AsyncIterator[PartnerCenterParts]:
    """Ready clients and, unless ``AUTH_MODE=static``, the sign-in parts (on ``redis``),
    with the built-in sandbox running on loopback when configured."""
    async with AsyncExitStack() as stack:
        sign_in = None
        if settings.sign_in_mode != "static":
            if redis is None:
                raise ValueError(f"AUTH_MODE={settings.sign_in_mode} keeps its tokens in Redis")
            sign_in = await build_sign_in(settings, redis)
            stack.callback(sign_in.close)
        base_url = settings.partner_center_base_url
        if settings.uses_sandbox:
            base_url = stack.enter_context(run_sandbox_in_thread())
        http = await stack.enter_async_context(build_http_client(settings))
        client = build_partner_center_client(settings, http, base_url=base_url, sign_in=sign_in)
        deployment = (
            build_partner_center_client(
                settings, http, base_url=base_url, sign_in=sign_in, as_integration_user=True
            )
            if sign_in is not None and sign_in.identity.per_seller
            else client
        )
        yield PartnerCenterParts(client, deployment, sign_in)


@dataclass(frozen=True)
class PartnerCenterParts:
    """The clients of a process, and how they sign in."""

    client: PartnerCenterClient
    """Acts for whoever a call names (each seller with ``AUTH_MODE=user``)."""
    deployment: PartnerCenterClient
    """Acts as the deployment itself: the static token or the integration user (the command
    line, webhooks' follow-ups, the poll)."""
    sign_in: SignInParts | None


@asynccontextmanager
async def partner_center(settings: Settings) -> AsyncIterator[PartnerCenterClient]:
    """The command line's client: the static token, or the integration user that
    ``referral-bot login`` signed in (Redis holds its tokens)."""
    check_partner_center_settings(settings)
    async with AsyncExitStack() as stack:
        redis = None
        if settings.sign_in_mode != "static":
            redis, _ = await stack.enter_async_context(redis_client(settings))
        parts = await stack.enter_async_context(partner_center_access(settings, redis))
        yield parts.deployment


@asynccontextmanager
async def redis_client(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    """The shared Redis (``REDIS_URL`` or the embedded server) and its URL; closed after."""
    redis_url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
    redis = await connect(
        redis_url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
    )
    try:
        yield redis, redis_url
    finally:
        await redis.aclose()


@dataclass(frozen=True)
class ChatServices:
    """What a chat front end needs, and where it lives (for the banner)."""

    desk: Desk
    memory: ChatMemory
    redis: Redis
    redis_url: str
    partner_center_url: str
    sandbox: bool
    data_dir: Path
    identity: Identity
    sign_ins: SignIns | None
    """Sign-in links and their callback (``AUTH_MODE=user``)."""
    deployment: PartnerCenterClient
    """Partner Center as the deployment itself (see :class:`PartnerCenterParts`)."""
    detector: ChangeDetector
    subscriptions: Subscriptions


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
        detector = ChangeDetector(redis, stream=settings.job_stream)
        store = RedisSessionStore(redis)
        access = Access(settings.referral_admins)
        engine = Engine(
            store,
            client,
            clock=SystemClock(),
            ttl_seconds=settings.session_ttl_seconds,
            access=access,
            sent=functools.partial(detector.observe, source="bot"),
        )
        yield ChatServices(
            desk=Desk(engine, client, access=access),
            memory=ChatMemory(store),
            redis=redis,
            redis_url=redact_url(redis_url),
            partner_center_url=client.base_url,
            sandbox=settings.uses_sandbox,
            data_dir=settings.data_dir,
            identity=sign_in.identity if sign_in is not None else Identity("static"),
            sign_ins=sign_in.sign_ins if sign_in is not None else None,
            deployment=parts.deployment,
            detector=detector,
            subscriptions=Subscriptions(redis, stream=settings.job_stream),
        )


def build_slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: on ``SLACK_API_URL``, retrying 429s as ``Retry-After`` says."""
    settings.require("slack_bot_token")
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


def build_slack_app(settings: Settings) -> AsyncApp:
    """The Bolt app that verifies and acknowledges Slack's requests."""
    settings.require("slack_bot_token", "slack_signing_secret")
    assert settings.slack_signing_secret is not None
    return AsyncApp(
        client=build_slack_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        # Listeners queue the turn, then acknowledge: Slack hears "received" only once the
        # turn is in Redis (listeners do nothing slow, so this stays well inside 3 s).
        process_before_response=True,
        # The signature is checked on the raw body in front of Bolt (handlers/slack/http.py),
        # before anything parses it; Socket Mode needs no HTTP signature at all.
        request_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
    )


def slack_configured(settings: Settings) -> bool:
    """Whether the Slack front end is set up (a bot token and the signing secret)."""
    return settings.slack_bot_token is not None or settings.slack_signing_secret is not None


def teams_configured(settings: Settings) -> bool:
    """Whether the Teams front end is set up (the bot's Entra app id and secret)."""
    return settings.teams_client_id is not None or settings.teams_client_secret is not None


def teams_front_end() -> ModuleType:
    """:mod:`handlers.teams`, imported on first use: the Teams SDK takes over a second to
    import, and only processes serving Teams should pay for it."""
    with warnings.catch_warnings():
        # The SDK flags parts of itself as experimental at import; nothing to act on here.
        warnings.simplefilter("ignore", FutureWarning)
        import handlers.teams  # noqa: PLC0415

    return handlers.teams


def build_login_client() -> httpx.AsyncClient:
    """The HTTP client the Teams front end fetches the inbound tokens' signing keys with."""
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)


def build_teams_app(settings: Settings) -> TeamsApp:
    """The Teams SDK app: inbound JWTs checked against ``TEAMS_OPENID_METADATA_URL``'s keys,
    outbound calls with the bot's tokens from msal (``ENTRA_AUTHORITY``), no web server of its
    own."""
    settings.require("teams_client_id", "teams_client_secret")
    assert settings.teams_client_id is not None
    assert settings.teams_client_secret is not None
    if not settings.teams_tenants:
        raise ConfigurationError(
            "Missing required setting(s): TEAMS_ALLOWED_TENANTS (or TEAMS_TENANT_ID): the "
            "Entra tenants whose people the bot serves."
        )
    if settings.teams_allow_unauthenticated:
        logger.warning(
            "TEAMS_ALLOW_UNAUTHENTICATED is on: /api/messages accepts activities WITHOUT "
            "checking who sent them. For local development only."
        )
    tokens = BotFrameworkTokens(
        client_id=settings.teams_client_id,
        client_secret=settings.teams_client_secret,
        tenant_id=settings.teams_tenant_id,
        authority_root=str(settings.entra_authority),
        ca_bundle=settings.ca_bundle,
    )
    teams: TeamsApp = teams_front_end().build_app(
        client_id=settings.teams_client_id,
        tenant_id=settings.teams_tenant_id,
        token=tokens,
        openid_metadata_url=str(settings.teams_openid_metadata_url),
        allow_unauthenticated=settings.teams_allow_unauthenticated,
    )
    # The SDK sets the httpx logger to its own client logger's level each time it makes a
    # client (on every activity): at WARNING, requests are not logged one by one at INFO.
    logging.getLogger("microsoft_teams.common.http.client").setLevel(logging.WARNING)
    return teams


def inbound_tokens(settings: Settings, http: httpx.AsyncClient) -> InboundTokens | None:
    """The check of inbound Teams tokens (none in unauthenticated mode): Bot Framework's and
    the served tenants' (Entra), keys fetched with ``http`` off the event loop."""
    if settings.teams_allow_unauthenticated:
        return None
    assert settings.teams_client_id is not None
    return InboundTokens(
        http,
        app_id=settings.teams_client_id,
        openid_metadata_url=str(settings.teams_openid_metadata_url),
        entra_tenants=settings.teams_tenants,
        entra_login_url=str(settings.teams_login_url),
    )


@asynccontextmanager
async def teams_running(
    teams: TeamsApp, login: httpx.AsyncClient | None = None
) -> AsyncIterator[TeamsApp]:
    """Token validation set up (no server started); the HTTP clients closed after (``login``
    too: the client inbound tokens' keys are fetched with)."""
    try:
        await teams.initialize()
        yield teams
    finally:
        # The SDK does not close the HTTP clients it made.
        await teams.http_client.http.aclose()
        await teams.api.http.http.aclose()
        if login is not None:
            await login.aclose()


async def job_handlers(
    settings: Settings, services: ChatServices, stack: AsyncExitStack
) -> dict[str, JobHandler]:
    """The handler of every kind of job this deployment produces: the turns of the chat
    platforms that are configured, each answered through its platform's replier."""
    repliers: dict[str, Replier] = {}
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
        return {}
    runner = TurnRunner(
        services.desk,
        services.memory,
        repliers,
        identity=services.identity,
        subscriptions=services.subscriptions,
    )
    notifier = Notifier(
        services.redis,
        services.subscriptions,
        JobQueue(services.redis, stream=settings.job_stream),
        repliers,
        referral_url=settings.partner_center_referral_url,
    )
    return {
        **turn_handlers(runner),
        **notifier.handlers(),
        FOLLOW_UP: follow_up_handler(services.deployment, services.detector),
    }


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
        handlers = await job_handlers(settings, services, stack)
        if not handlers:
            logger.info("no chat platform configured: no jobs to work on")
        stopping = asyncio.Event()
        options = WorkOptions(concurrency=settings.worker_concurrency, drain_seconds=DRAIN_SECONDS)
        loop = asyncio.create_task(
            JobQueue(
                services.redis,
                stream=settings.job_stream,
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
        try:
            yield loop
        finally:
            stopping.set()
            if polling is not None:
                # A poll under way stops within the drain time; the next one starts over from
                # the cursor, so nothing is lost by cutting it short.
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(polling, DRAIN_SECONDS)
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
        routes.append(sign_in_route(lambda: state["sign_ins"], lambda: state["jobs"], platforms))
    return routes


def certificate_client(settings: Settings) -> httpx.AsyncClient:
    """The client webhook certificates are downloaded with: redirects never followed, TLS
    trusting ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` or the system's store."""
    bundle = settings.ca_bundle
    verify = ssl.create_default_context(cafile=str(bundle) if bundle else None)
    return httpx.AsyncClient(verify=verify, follow_redirects=False, trust_env=False)


def sign_in_route(
    sign_ins: Callable[[], SignIns], jobs: Callable[[], JobQueue], platforms: set[str]
) -> Route:
    """``GET /auth/callback``: finish a seller's sign-in, then tell them in chat (a turn in
    their conversation's order, so it follows whatever they did before)."""

    async def tell(done: SignedIn) -> None:
        if done.resume.get("platform") not in platforms:
            return  # the terminal: the seller carries on there, signed in
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
            state["redis"] = services.redis
            jobs = JobQueue(services.redis, stream=settings.job_stream)
            state["sign_ins"], state["jobs"] = services.sign_ins, jobs
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
                references = ReferenceBook(services.redis)
                allowlists = front.TeamsGate(
                    service_hosts=settings.teams_service_url_hosts, tenants=settings.teams_tenants
                )
                front.register(teams, front.TeamsServices(jobs, references), allowlists)
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

    async def redis_ready() -> None:
        await state["redis"].ping()

    async def worker_ready() -> None:
        if failures:
            raise WorkerFailed(f"the job loop stopped: {failures[0]!r}")

    served = {name for name, app in (("slack", slack), ("teams", teams)) if app is not None}
    routes = [
        *platform_routes(settings, slack, teams, tokens),
        *partner_center_routes(settings, state, served),
    ]
    checks = {"redis": redis_ready, **({"worker": worker_ready} if worker else {})}
    web = create_web_app(
        checks, routes=routes, lifespan=lifespan, max_body_bytes=settings.max_body_bytes
    )
    web.state.worker_failures = failures
    return web


@asynccontextmanager
async def webhook_registrations(settings: Settings) -> AsyncIterator[WebhookRegistrations]:
    """The command line's webhook registration client: ``PARTNER_CENTER_WEBHOOKS_URL`` (the
    built-in sandbox's own with ``PARTNER_CENTER_BASE_URL=sandbox``), as the deployment: the
    static token, or the integration user with a token for the registration API's own
    audience (``PARTNER_CENTER_WEBHOOKS_SCOPE``; msal gets it with the same refresh token)."""
    check_partner_center_settings(settings)
    async with AsyncExitStack() as stack:
        if settings.sign_in_mode == "static":
            tokens = static_token_provider(settings)
        else:
            redis, _ = await stack.enter_async_context(redis_client(settings))
            sign_in = await build_sign_in(settings, redis)
            stack.callback(sign_in.close)
            webhooks_tokens = DelegatedTokens(
                sign_in.apps,
                sign_in.caches,
                scopes=[settings.partner_center_webhooks_scope],
                service=True,
            )
            tokens = webhooks_tokens.provider(SERVICE_PRINCIPAL)
        base_url = settings.partner_center_webhooks_url
        if settings.uses_sandbox:
            api_root = stack.enter_context(run_sandbox_in_thread())
            base_url = api_root.removesuffix("/v1.0") + "/webhooks/v1"
        http = await stack.enter_async_context(build_http_client(settings))
        yield WebhookRegistrations(http, base_url, tokens)
