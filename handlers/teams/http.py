"""Serving the Teams SDK's messaging endpoint from the app's own ASGI app.

The SDK brings its own web server (FastAPI under uvicorn) and starts it from ``App.start``;
the product already has one. So the SDK gets an adapter that only collects the route it
registers, ``App.initialize`` sets up token validation without serving anything, and one
Starlette route hands each request to the SDK's ``server.handle_request``, which checks the
JWT, runs the handlers and returns the status and body to answer with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import jwt
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.apps import App
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MESSAGES_PATH = "/api/messages"

logger = logging.getLogger(__name__)


class RouteCollector:
    """An ``HttpServerAdapter`` that serves nothing itself: the Starlette app does."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[..., Awaitable[Any]]] = {}

    def register_route(
        self, method: str, path: str, handler: Callable[..., Awaitable[Any]]
    ) -> None:
        """Remember the SDK's handler for ``method path``."""
        self.routes[(method.upper(), path)] = handler

    def serve_static(self, path: str, directory: str) -> None:
        """Static tabs are not part of this app."""
        raise NotImplementedError("this app serves no static Teams content")

    async def start(self, port: int) -> None:
        """Never called: uvicorn serves the Starlette app."""
        raise RuntimeError("the web process serves Teams through its own ASGI app")

    async def stop(self) -> None:
        """Nothing to stop."""


class InboundTokens(Protocol):
    """Checks inbound bearer tokens (``bot.inbound_tokens.InboundTokens``): keys fetched off
    the event loop, only for the issuers the bot trusts."""

    async def authenticate(self, raw_token: str) -> dict[str, Any]:
        """The claims of a valid token; ``jwt.InvalidTokenError`` otherwise."""
        ...

    async def validate_token(
        self, raw_token: str, service_url: str | None = None
    ) -> dict[str, Any]:
        """:meth:`authenticate` plus the ``serviceurl`` claim checked against ``service_url``."""
        ...


UNAUTHORIZED = {"error": "Unauthorized"}


def check_tokens_with(teams: App, tokens: InboundTokens) -> None:
    """Make the SDK check tokens with ``tokens`` rather than its own validator, which fetches
    keys synchronously on the event loop. Call after ``App.initialize`` (which makes it)."""
    server = teams.server
    if getattr(server, "_token_validator", None) is None:
        raise RuntimeError(
            "the Teams SDK has no token validator to replace: is the app initialized, and "
            "does this SDK version still keep it in HttpServer._token_validator?"
        )
    server._token_validator = tokens  # type: ignore[assignment]


def messages_endpoint(
    teams: App, tokens: InboundTokens | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of ``POST /api/messages``. With ``tokens``, the bearer token is
    checked before the body is parsed: an unauthenticated body is never parsed."""

    async def api_messages(request: Request) -> Response:
        raw = await request.body()  # the size is capped in front of every route
        if tokens is not None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return JSONResponse(UNAUTHORIZED, status_code=401)
            try:
                await tokens.authenticate(token.strip())
            except jwt.InvalidTokenError as exc:
                logger.warning("refused a Teams activity: %s", exc)
                return JSONResponse(UNAUTHORIZED, status_code=401)
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "an activity is a JSON object"}, status_code=400)
        answer = await teams.server.handle_request({"body": body, "headers": dict(request.headers)})
        if answer["body"] is None:
            return Response(status_code=answer["status"])
        return JSONResponse(answer["body"], status_code=answer["status"])

    return api_messages


def build_app(
    *,
    client_id: str,
    tenant_id: str | None,
    token: Callable[[str | list[str], str | None], Awaitable[str]],
    openid_metadata_url: str,
    allow_unauthenticated: bool,
) -> App:
    """The SDK app, serving nothing itself, checking inbound tokens against the keys next to
    ``openid_metadata_url`` (Bot Framework's by default) and sending with ``token``."""
    return App(
        client_id=client_id,
        tenant_id=tenant_id,
        token=token,
        http_server_adapter=RouteCollector(),
        cloud=with_overrides(PUBLIC, openid_metadata_url=openid_metadata_url),
        dangerously_allow_unauthenticated_requests=allow_unauthenticated,
    )
