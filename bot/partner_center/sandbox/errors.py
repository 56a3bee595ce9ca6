"""The sandbox's error answers, in the Partner Center error body shape.

``{"error": {"code", "message", "target"}}``: the client parses exactly this, so every refusal
of the sandbox, from a bad ``$filter`` to an injected 503, is written the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

__all__ = ["ApiError", "default_code", "error_response"]

_CODES: Mapping[int, str] = {
    400: "invalidRequest",
    401: "unauthenticated",
    403: "accessDenied",
    404: "itemNotFound",
    405: "invalidRequest",
    409: "conflict",
    412: "preconditionFailed",
    # The documented code list has no throttling code; this is what Microsoft's APIs use.
    429: "tooManyRequests",
    500: "generalException",
    503: "serviceNotAvailable",
}


def default_code(status: int) -> str:
    """The Partner Center error code the sandbox answers with for an HTTP status."""
    if status in _CODES:
        return _CODES[status]
    return "serviceNotAvailable" if status >= 500 else "invalidRequest"


class ApiError(Exception):
    """A refusal to answer as an error response; raised by the operations, caught by the app."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or default_code(status)
        self.message = message
        self.target = target
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}

    def response(self) -> Response:
        """The error as an HTTP response."""
        return error_response(
            self.status, self.message, code=self.code, target=self.target, headers=self.headers
        )


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    target: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error response with the Partner Center error body."""
    error: dict[str, Any] = {"code": code or default_code(status), "message": message}
    if target is not None:
        error["target"] = target
    content = json.dumps({"error": error}, ensure_ascii=False).encode()
    return Response(content, status, headers=dict(headers or {}), media_type="application/json")
