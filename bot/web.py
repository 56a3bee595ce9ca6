"""The ``web`` process: one ASGI app behind which the platform endpoints are mounted.

Stateless by design, so any number of copies can run behind a load balancer. Health
endpoints follow the usual split: ``/healthz`` says the process is alive, ``/readyz`` that
everything it depends on answers, so a load balancer only routes to a copy that can serve.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from bot.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit
from bot.logs import log_context
from bot.metrics import REQUEST_SECONDS, REQUESTS, outcome_of, platform_of_path, timed

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when a dependency is not usable: ``/readyz`` says "unavailable" and logs why."""

READINESS_TIMEOUT_SECONDS = 2.0
UNAVAILABLE = "unavailable"


def create_web_app(
    checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    routes: Sequence[BaseRoute] = (),
    lifespan: Lifespan[Starlette] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The ASGI app with ``/healthz``, ``/readyz`` (``checks`` name what readiness needs) and
    the platform ``routes`` the composition root mounts; bodies over ``max_body_bytes`` are
    refused (413) before any route reads them."""
    readiness = dict(checks or {})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        results = await asyncio.gather(*(_run(name, check) for name, check in readiness.items()))
        report = dict(zip(readiness, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), *routes],
        lifespan=lifespan,
        middleware=[Middleware(RequestIds), Middleware(BodyLimit, max_bytes=max_body_bytes)],
    )


REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIds:
    """Every request has an id: the caller's ``X-Request-Id`` when it is a plain token (a
    load balancer's), else one made here. Lines logged while it is served carry it, and the
    response names it, so an operator can find the lines of one request. Each request is
    counted too, by platform and outcome, with how long its answer took (for Slack and
    Teams, the ack)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id in the log context and the response's headers."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]

        platform = platform_of_path(scope.get("path", ""))
        status = 500  # unless an answer starts

        async def named(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            with log_context(request_id=request_id), timed(REQUEST_SECONDS, platform):
                await self._app(scope, receive, named)
        finally:
            REQUESTS.labels(platform, outcome_of(status)).inc()


async def _run(name: str, check: ReadinessCheck) -> str:
    # /readyz answers anyone who asks: the detail (addresses, errors) goes to the log only.
    try:
        await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("readiness check %s timed out after %gs", name, READINESS_TIMEOUT_SECONDS)
        return UNAVAILABLE
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readiness check %s failed: %r", name, exc)
        return UNAVAILABLE
    return "ok"
