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
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Lifespan

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when a dependency is not usable; its message is reported by ``/readyz``."""

READINESS_TIMEOUT_SECONDS = 2.0


def create_web_app(
    checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    routes: Sequence[BaseRoute] = (),
    lifespan: Lifespan[Starlette] | None = None,
) -> Starlette:
    """The ASGI app with ``/healthz``, ``/readyz`` (``checks`` name what readiness needs) and
    the platform ``routes`` the composition root mounts."""
    readiness = dict(checks or {})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        results = await asyncio.gather(*(_run(check) for check in readiness.values()))
        report = dict(zip(readiness, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), *routes],
        lifespan=lifespan,
    )


async def _run(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"timed out after {READINESS_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported as text
        logger.warning("readiness check failed: %r", exc)
        return f"failed: {exc}"
    return "ok"
