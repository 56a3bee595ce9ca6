"""Typed errors for everything that can go wrong talking to Partner Center.

The service's error body (``{"error": {"code", "message", "target", "innerError"}}``) is
parsed once here; callers match on the exception type and read ``code``/``target`` for the
detail. Messages are not localized and must not be parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

REQUEST_ID_HEADERS = ("request-id", "ms-requestid", "x-ms-request-id")


class PartnerCenterError(Exception):
    """A request to Partner Center failed. ``status`` is None when no response came back."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        target: str | None = None,
        inner_error: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.target = target
        self.inner_error = dict(inner_error) if inner_error else None
        self.request_id = request_id
        self.correlation_id = correlation_id

    @property
    def most_specific_code(self) -> str | None:
        """The innermost ``innerError.code``: the most specific reason the service gives."""
        code = self.code
        inner: Any = self.inner_error
        while isinstance(inner, Mapping):
            code = inner.get("code") or code
            inner = inner.get("innerError")
        return code

    def describe(self) -> str:
        """One line for a person: the message, the service's code, and ids to quote to support."""
        parts = [self.message]
        detail = [f"code {self.most_specific_code}"] if self.most_specific_code else []
        if self.target:
            detail.append(f"target {self.target}")
        if self.status is not None:
            detail.append(f"HTTP {self.status}")
        if self.request_id:
            detail.append(f"request id {self.request_id}")
        elif self.correlation_id:
            detail.append(f"correlation id {self.correlation_id}")
        if detail:
            parts.append(f"({', '.join(detail)})")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.describe()


class Invalid(PartnerCenterError):
    """400 (or 422): the service rejected the request's content."""


class Unauthorized(PartnerCenterError):
    """401: the token is missing, expired or not for this API."""


class Forbidden(PartnerCenterError):
    """403: the signed-in user lacks a Referrals role, or conditional access refused."""


class NotFound(PartnerCenterError):
    """404: no referral with that id is visible to this user."""


class Conflict(PartnerCenterError):
    """409: the change conflicts with the referral's current state."""


class PreconditionFailed(PartnerCenterError):
    """412: the referral changed since its ETag was read; read it again and re-apply."""


class Throttled(PartnerCenterError):
    """429: too many requests; ``retry_after`` seconds is the service's advice when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(PartnerCenterError):
    """5xx, a timeout or a broken connection: the service could not answer."""


class OutcomeUnknown(Unavailable):
    """A request that changes something may have reached the service, but its answer did not
    come back: a timeout or a broken connection after sending, or a gateway's 500/502/504.

    The client never sends such a request again on its own (a second create would make a
    second referral). Whoever sent it must look for its effect (a referral by its
    ``externalReferenceId``) before sending it again.
    """


class UnexpectedResponse(PartnerCenterError):
    """A success status whose body is not what the API documents."""


_BY_STATUS: Mapping[int, type[PartnerCenterError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: Invalid,
    429: Throttled,
}

_DEFAULT_MESSAGES: Mapping[int, str] = {
    400: "Partner Center rejected the request.",
    401: "Partner Center did not accept the credentials.",
    403: "Partner Center refused access to this referral.",
    404: "No such referral.",
    409: "The change conflicts with the referral's current state.",
    412: "The referral was changed by someone else since it was read.",
    429: "Partner Center is throttling requests.",
}


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The service's id for a request, under whichever header name it used."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in REQUEST_ID_HEADERS:
        if lowered.get(name):
            return lowered[name]
    return None


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    correlation_id: str | None = None,
    retry_after: float | None = None,
) -> PartnerCenterError:
    """Build the typed error for an unsuccessful response."""
    error = _error_object(body)
    cls = _BY_STATUS.get(status) or (Unavailable if status >= 500 else PartnerCenterError)
    message = _text(error.get("message")) or _DEFAULT_MESSAGES.get(status)
    if message is None:
        message = f"Partner Center answered HTTP {status}."
    inner = error.get("innerError")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": _text(error.get("code")),
        "target": _text(error.get("target")),
        "inner_error": inner if isinstance(inner, Mapping) else None,
        "request_id": request_id_from(headers),
        "correlation_id": correlation_id,
    }
    if cls is Throttled:
        return Throttled(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


def _error_object(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if isinstance(parsed, Mapping):
        error = parsed.get("error", parsed)
        if isinstance(error, Mapping):
            return error
    return {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
