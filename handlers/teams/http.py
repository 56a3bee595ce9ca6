"""Serving the Teams SDK's messaging endpoint from the app's own ASGI app.

The SDK brings its own web server (FastAPI under uvicorn) and starts it from ``App.start``;
the product already has one. So the SDK gets an adapter that only collects the route it
registers, ``App.initialize`` sets up token validation without serving anything, and one
Starlette route hands each request to the SDK's ``server.handle_request``, which checks the
JWT, runs the handlers and returns the status and body to answer with.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.apps import App
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MESSAGES_PATH = "/api/messages"


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


def messages_endpoint(teams: App) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of ``POST /api/messages``."""

    async def api_messages(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
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
