"""The front door of the API routes: request ids, injected faults, bearer auth, the request log.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it runs on every request
of the benchmark, and wrapping ``send`` costs far less than a second task per request.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.partner_center.sandbox.errors import error_response
from bot.partner_center.sandbox.state import LoggedRequest, SandboxState

__all__ = ["API_ROOT", "LOGGED_HEADERS", "ApiGateway"]

API_ROOT = "/v1.0"

LOGGED_HEADERS = ("client-request-id", "ms-correlationid", "if-match", "prefer")
"""Request headers kept in the request log: what a test needs to prove what the client sent."""


class ApiGateway:
    """Wraps the app: every response gets ``request-id``; API requests are checked and logged."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        headers = _headers(scope)
        added = [(b"request-id", request_id.encode())]
        if "client-request-id" in headers:
            added.append((b"client-request-id", headers["client-request-id"].encode("latin-1")))
        status = 500  # what the log shows if the app fails before answering

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        path: str = scope["path"]
        if not (path == API_ROOT or path.startswith(API_ROOT + "/")):
            await self.app(scope, receive, send_with_ids)
            return
        try:
            await self._api(scope, receive, send_with_ids, headers)
        finally:
            self.state.requests.record(
                LoggedRequest(
                    method=scope["method"],
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers={name: headers[name] for name in LOGGED_HEADERS if name in headers},
                    status=status,
                    request_id=request_id,
                )
            )

    async def _api(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        api_path = scope["path"][len(API_ROOT) :] or "/"
        fault = self.state.faults.take(scope["method"], api_path)
        if fault is not None:
            if fault.delay_seconds:
                await asyncio.sleep(fault.delay_seconds)
            if fault.status is not None:
                extra = {}
                if fault.retry_after is not None:
                    # Whole seconds as HTTP defines them; fractions are kept so tests stay fast.
                    extra["Retry-After"] = f"{fault.retry_after:g}"
                message = fault.message or f"Injected fault: HTTP {fault.status}."
                response = error_response(fault.status, message, code=fault.code, headers=extra)
                await response(scope, receive, send)
                return
            if fault.answer_after_seconds:
                send = _answering_late(send, fault.answer_after_seconds)
        problem = self._unauthenticated(headers.get("authorization"))
        if problem is not None:
            status, reason = problem
            # Only a 401 asks for (other) credentials; a 403 knows who is asking.
            extra = {"WWW-Authenticate": 'Bearer realm="partner-center-sandbox"'}
            response = error_response(status, reason, headers=extra if status == 401 else None)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _unauthenticated(self, authorization: str | None) -> tuple[int, str] | None:
        # Returns the status and reason the request is refused with, or None to let it through.
        if not authorization:
            return 401, (
                "The request has no Authorization header; send 'Authorization: Bearer <token>'."
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return 401, "The Authorization header must be 'Bearer <token>'."
        required = self.state.required_token
        if required is not None and not hmac.compare_digest(token.encode(), required.encode()):
            return 401, "The bearer token is not valid for this sandbox."
        check = self.state.token_check
        return None if check is None else check(token)


def _answering_late(send: Send, seconds: float) -> Send:
    """``send`` holding back the answer ``seconds`` after the request was handled."""

    async def late(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(seconds)
        await send(message)

    return late


def _headers(scope: Scope) -> dict[str, str]:
    # ASGI gives lower-cased names; when a header repeats, the first one counts.
    found: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1")
        if name not in found:
            found[name] = raw_value.decode("latin-1")
    return found
