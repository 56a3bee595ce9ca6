"""The ``web`` process: one ASGI app behind which the platform endpoints are mounted.

Stateless by design, so any number of copies can run behind a load balancer. Health
endpoints follow the usual split: ``/healthz`` says the process is alive, ``/readyz`` that
everything it depends on answers, so a load balancer only routes to a copy that can serve.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Lifespan

from bot.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit

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
        middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)],
    )


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
