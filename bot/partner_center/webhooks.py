"""The Partner Center webhook registration API: where Partner Center posts referral events.

It lives on Partner Center's CSP host (``https://api.partnercenter.microsoft.com/webhooks/v1``),
not on the Referrals API's, and keeps one registration per partner tenant: registering again
overwrites, and whoever configured co-sell last (a CRM connector, say) gets the events.
Errors are the Referrals client's typed errors (:mod:`bot.partner_center.errors`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from bot.partner_center.auth import TokenProvider
from bot.partner_center.errors import (
    NotFound,
    OutcomeUnknown,
    Unavailable,
    UnexpectedResponse,
    error_from_response,
    request_id_from,
)

__all__ = ["WEBHOOK_PATH", "WebhookRegistration", "WebhookRegistrations"]

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/partner-center/webhook"
"""Where the web process receives the events, under ``PUBLIC_URL``."""
REGISTRATION = "/registration"


class WebhookRegistration(BaseModel):
    """The registration as the API answers it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    subscriber_id: str | None = Field(
        default=None, validation_alias=AliasChoices("SubscriberId", "subscriberId")
    )
    webhook_url: str = Field(validation_alias=AliasChoices("WebhookUrl", "webhookUrl"))
    webhook_events: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("WebhookEvents", "webhookEvents")
    )
    ms_signature_header: bool | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "SignatureTokenToMsSignatureHeader", "signatureTokenToMsSignatureHeader"
        ),
    )

    def to_wire(self) -> dict[str, Any]:
        """The registration in the API's field names (for ``--json``)."""
        wire: dict[str, Any] = {
            "SubscriberId": self.subscriber_id,
            "WebhookUrl": self.webhook_url,
            "WebhookEvents": list(self.webhook_events),
        }
        if self.ms_signature_header is not None:
            wire["SignatureTokenToMsSignatureHeader"] = self.ms_signature_header
        return wire


class WebhookRegistrations:
    """Register, read, replace and delete the partner's webhook, and ask for a test event.

    ``http`` is the long-lived client, ``base_url`` the registration API's root
    (``PARTNER_CENTER_WEBHOOKS_URL``), ``tokens`` the same provider as the Referrals client.
    Nothing is retried but one 401 with a token that may be refreshed: these are rare,
    operator-driven calls.
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str, tokens: TokenProvider) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens

    @property
    def base_url(self) -> str:
        """The registration API root this talks to."""
        return self._base_url

    async def register(
        self, url: str, events: Iterable[str], *, ms_signature_header: bool = True
    ) -> WebhookRegistration:
        """Register ``url`` for ``events``; :class:`~bot.partner_center.errors.Conflict` if a
        registration exists (then :meth:`update` replaces it).

        ``ms_signature_header`` asks for the signature in ``x-ms-signature``, leaving
        ``Authorization`` to proxies in front of the bot.
        """
        body = _body(url, events, ms_signature_header)
        return _registration(await self._request("POST", REGISTRATION, json=body))

    async def update(
        self, url: str, events: Iterable[str], *, ms_signature_header: bool = True
    ) -> WebhookRegistration:
        """Replace the registration."""
        body = _body(url, events, ms_signature_header)
        return _registration(await self._request("PUT", REGISTRATION, json=body))

    async def show(self) -> WebhookRegistration | None:
        """The registration, or None when there is none."""
        try:
            response = await self._request("GET", REGISTRATION)
        except NotFound:
            return None
        if not response.content.strip() or response.content.strip() == b"null":
            return None
        return _registration(response)

    async def delete(self) -> None:
        """Delete the registration: Partner Center stops sending events."""
        await self._request("DELETE", REGISTRATION)

    async def send_test(self) -> str:
        """Ask for a ``test-created`` event (the registration must include it); returns the
        correlation id to look the attempt up with. Partner Center allows two a minute."""
        response = await self._request("POST", REGISTRATION + "/validationEvents")
        data = _json(response)
        correlation = data.get("correlationId") or data.get("CorrelationId")
        if not isinstance(correlation, str) or not correlation:
            raise UnexpectedResponse(
                "The validation event answer has no correlationId.",
                status=response.status_code,
                request_id=request_id_from(response.headers),
            )
        return correlation

    async def validation_status(self, correlation_id: str) -> dict[str, Any]:
        """What became of a test event (the API's document, as is)."""
        path = f"{REGISTRATION}/validationEvents/{uuid.UUID(correlation_id)}"
        return _json(await self._request("GET", path))

    async def available_events(self) -> list[str]:
        """The event names one can register for."""
        response = await self._request("GET", REGISTRATION + "/events")
        data = _any_json(response)
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise UnexpectedResponse(
                "The list of events is not a list of names.", status=response.status_code
            )
        return data

    async def _request(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        correlation_id = str(uuid.uuid4())
        for attempt in (1, 2):
            token = await self._tokens.token()
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "MS-CorrelationId": correlation_id,
                "MS-RequestId": str(uuid.uuid4()),
            }
            try:
                response = await self._http.request(
                    method, self._base_url + path, json=json, headers=headers
                )
            except httpx.HTTPError as exc:
                kind = Unavailable if method == "GET" else OutcomeUnknown
                raise kind(
                    f"The webhook registration API could not be reached ({type(exc).__name__}).",
                    correlation_id=correlation_id,
                ) from exc
            if response.status_code == 401 and attempt == 1 and self._tokens.invalidate(token):
                continue
            if response.is_success:
                logger.debug(
                    "webhooks %s %s: %s (request id %s)",
                    method,
                    path,
                    response.status_code,
                    request_id_from(response.headers),
                )
                return response
            raise error_from_response(
                response.status_code,
                response.content,
                response.headers,
                correlation_id=correlation_id,
            )
        raise AssertionError("unreachable")  # pragma: no cover


def _body(url: str, events: Iterable[str], ms_signature_header: bool) -> dict[str, Any]:
    names = list(dict.fromkeys(events))
    if not names:
        raise ValueError("register for at least one event")
    return {
        "WebhookUrl": url,
        "WebhookEvents": names,
        "SignatureTokenToMsSignatureHeader": ms_signature_header,
    }


def _any_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse(
            "The webhook registration API answered something that is not JSON.",
            status=response.status_code,
            request_id=request_id_from(response.headers),
        ) from None


def _json(response: httpx.Response) -> dict[str, Any]:
    data = _any_json(response)
    if not isinstance(data, dict):
        raise UnexpectedResponse(
            "The webhook registration API answered something that is not a JSON object.",
            status=response.status_code,
            request_id=request_id_from(response.headers),
        )
    return data


def _registration(response: httpx.Response) -> WebhookRegistration:
    try:
        return WebhookRegistration.model_validate(_json(response))
    except ValidationError:
        raise UnexpectedResponse(
            "The webhook registration is not in the documented shape.",
            status=response.status_code,
            request_id=request_id_from(response.headers),
        ) from None
