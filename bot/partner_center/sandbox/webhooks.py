"""The sandbox playing Microsoft for webhooks: the registration API and signed deliveries.

The registration API lives under ``/webhooks/v1`` as on Partner Center's own host
(``https://api.partnercenter.microsoft.com/webhooks/v1``): ``GET|POST|PUT|DELETE
/registration`` (fields ``WebhookUrl``, ``WebhookEvents``,
``SignatureTokenToMsSignatureHeader``), ``POST /registration/validationEvents`` (a
``test-created`` event), ``GET /registration/validationEvents/{correlationId}`` and
``GET /registration/events`` (also ``/availableEvents``). One registration per sandbox, as
Partner Center keeps one per tenant.

When a referral is created or changed (through the API or the admin routes that act as
Microsoft), the event is posted to the registered URL if it subscribes to it: a change to a
referral that invites Microsoft (the Microsoft side of a co-sell) is a ``related-referral-*``
event, any other a ``referral-*`` one. Deliveries run on a thread of their own, one at a time
in order, one attempt each with a short timeout, so an API answer never waits for a receiver
and a receiver's failure never reaches the API caller. ``GET /sandbox/webhooks`` lists them
(``?wait=SECONDS`` first waits for those still being sent).

With a :class:`WebhookSigner` on the state, each body is signed as Partner Center signs it
(RSA PKCS#1 v1.5, SHA-256, the certificate URL in ``x-ms-certificate-url``); without one the
events go unsigned, and a receiver that checks signatures refuses them, as it should.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.partner_center.sandbox.eligibility import targets_microsoft
from bot.partner_center.sandbox.errors import ApiError

if TYPE_CHECKING:
    from bot.partner_center.sandbox.state import SandboxState, StoredReferral

__all__ = [
    "AVAILABLE_EVENTS",
    "WEBHOOKS_ROOT",
    "Delivery",
    "Registration",
    "WebhookHub",
    "WebhookSigner",
    "resource_uri",
    "webhook_routes",
]

WEBHOOKS_ROOT = "/webhooks/v1"
AVAILABLE_EVENTS = (
    "referral-created",
    "referral-updated",
    "related-referral-created",
    "related-referral-updated",
    "test-created",
)
"""The referral events Partner Center documents, and its test event."""
TEST_EVENT = "test-created"
RESOURCE_ROOT = "https://api.partner.microsoft.com/v1.0/engagements/referrals/"
DELIVERY_LOG_LIMIT = 1000
MAX_WAIT_SECONDS = 30.0
JSON = "application/json"


def resource_uri(referral_id: str) -> str:
    """The ``ResourceUri`` of a referral's events."""
    return RESOURCE_ROOT + referral_id


@dataclass(frozen=True)
class WebhookSigner:
    """The key Microsoft signs events with, and where its certificate can be downloaded."""

    private_key: rsa.RSAPrivateKey
    certificate_url: str

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_url: str) -> WebhookSigner:
        """A signer from an unencrypted PEM private key (RSA)."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("webhook events are signed with an RSA key")
        return cls(key, certificate_url)

    def headers(self, body: bytes, *, ms_signature_header: bool = False) -> dict[str, str]:
        """The signature headers for ``body``: ``Authorization: Signature ...`` or, when the
        registration asked for it, ``x-ms-signature: Signature ...``."""
        signature = self.private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        value = "Signature " + base64.b64encode(signature).decode("ascii")
        return {
            "x-ms-signature" if ms_signature_header else "Authorization": value,
            "x-ms-certificate-url": self.certificate_url,
            "x-ms-signature-algorithm": "rsa-sha256",
        }


@dataclass(frozen=True, slots=True)
class Registration:
    """The partner's webhook: where events go and which ones."""

    subscriber_id: str
    url: str
    events: tuple[str, ...]
    ms_signature_header: bool = False

    def to_json(self) -> dict[str, Any]:
        """As the registration API answers it."""
        return {
            "SubscriberId": self.subscriber_id,
            "WebhookUrl": self.url,
            "WebhookEvents": list(self.events),
            "SignatureTokenToMsSignatureHeader": self.ms_signature_header,
        }


@dataclass(eq=False)
class Delivery:
    """One event sent (or being sent) to the registered URL, and how the receiver answered."""

    id: str
    event: Mapping[str, Any]
    body: bytes
    url: str
    headers: Mapping[str, str]
    correlation_id: str | None = None
    status: int | None = None
    error: str | None = None
    done: Future[None] = field(default_factory=Future, repr=False)

    def to_json(self) -> dict[str, Any]:
        """As ``GET /sandbox/webhooks`` shows it; ``status`` None while being sent or when no
        answer came (then ``error`` says why)."""
        return {
            "id": self.id,
            "eventName": self.event["EventName"],
            "resourceUri": self.event["ResourceUri"],
            "url": self.url,
            "correlationId": self.correlation_id,
            "signed": any(name.lower() == "x-ms-certificate-url" for name in self.headers),
            "headers": dict(self.headers),
            "body": self.body.decode("utf-8"),
            "pending": not self.done.done(),
            "status": self.status,
            "error": self.error,
        }


class WebhookHub:
    """The sandbox's webhook registration and its deliveries; belongs to one state.

    The registration is changed on the server's loop only; deliveries are written by the
    sending thread too, hence the lock around the log.
    """

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.registration: Registration | None = None
        self._deliveries: deque[Delivery] = deque(maxlen=DELIVERY_LOG_LIMIT)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    # -- registration --------------------------------------------------------------------

    def reset(self) -> None:
        """No registration, no deliveries (those being sent finish unrecorded)."""
        self.registration = None
        self.clear_deliveries()

    def clear_deliveries(self) -> None:
        """Forget the deliveries."""
        with self._lock:
            self._deliveries.clear()

    def deliveries(self) -> list[Delivery]:
        """The deliveries, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every delivery to be answered; True if all were."""
        pending = [delivery.done for delivery in self.deliveries()]
        _, not_done = wait_for_futures(pending, timeout=timeout)
        return not not_done

    # -- events ----------------------------------------------------------------------------

    def referral_changed(self, stored: StoredReferral, *, created: bool) -> None:
        """Send the event of a created or changed referral, if a registration wants it."""
        registration = self.registration
        if registration is None:
            return  # the common case: no parsing, no thread, nothing
        related = "related-" if targets_microsoft(stored.model()) else ""
        name = f"{related}referral-{'created' if created else 'updated'}"
        if name in registration.events:
            self.send(name, resource_uri(stored.id))

    def send(
        self,
        event_name: str,
        resource: str,
        *,
        correlation_id: str | None = None,
        audit_uri: str | None = None,
        resource_name: str = "referral",
    ) -> Delivery:
        """Post one event to the registered URL (whatever it subscribes to) in the background.

        Raises :class:`LookupError` when nothing is registered.
        """
        registration = self.registration
        if registration is None:
            raise LookupError("no webhook is registered")
        event = {
            "EventName": event_name,
            "ResourceUri": resource,
            "ResourceName": resource_name,
            "AuditUri": audit_uri,
            "ResourceChangeUtcDate": self._state.now(),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": JSON}
        signer = self._state.webhook_signer
        if signer is not None:
            headers |= signer.headers(body, ms_signature_header=registration.ms_signature_header)
        delivery = Delivery(
            id=str(uuid.uuid4()),
            event=event,
            body=body,
            url=registration.url,
            headers=headers,
            correlation_id=correlation_id,
        )
        with self._lock:
            self._deliveries.append(delivery)
            if self._executor is None:
                # One thread, so events arrive in the order they happened.
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="sandbox-webhooks")
            executor = self._executor
        executor.submit(self._deliver, delivery)
        return delivery

    def _deliver(self, delivery: Delivery) -> None:
        try:
            with httpx.Client(
                timeout=self._state.webhook_timeout_seconds,
                verify=self._state.webhook_verify,
                trust_env=False,
                follow_redirects=False,
            ) as client:
                response = client.post(
                    delivery.url, content=delivery.body, headers=delivery.headers
                )
            delivery.status = response.status_code
        except Exception as exc:  # noqa: BLE001 - whatever the receiver does is only recorded
            delivery.error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            delivery.done.set_result(None)

    def close(self) -> None:
        """Stop the sending thread once the deliveries queued are sent."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


# -- routes -------------------------------------------------------------------------------


def webhook_routes(state: SandboxState) -> list[Route]:
    """The registration API under ``/webhooks/v1`` and the admin routes under
    ``/sandbox/webhooks``."""
    handlers = _Handlers(state)
    registration = f"{WEBHOOKS_ROOT}/registration"
    return [
        Route(registration, handlers.show, methods=["GET"]),
        Route(registration, handlers.create, methods=["POST"]),
        Route(registration, handlers.replace, methods=["PUT"]),
        Route(registration, handlers.delete, methods=["DELETE"]),
        Route(registration + "/validationEvents", handlers.validate, methods=["POST"]),
        Route(
            registration + "/validationEvents/{correlation_id}",
            handlers.validation_status,
            methods=["GET"],
        ),
        Route(registration + "/events", handlers.available_events, methods=["GET"]),
        Route(f"{WEBHOOKS_ROOT}/availableEvents", handlers.available_events, methods=["GET"]),
        Route("/sandbox/webhooks", handlers.list_deliveries, methods=["GET"]),
        Route("/sandbox/webhooks", handlers.clear_deliveries, methods=["DELETE"]),
        Route("/sandbox/webhooks/events", handlers.fire, methods=["POST"]),
    ]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False).encode(), status, media_type=JSON)


class _Handlers:
    """The route bodies, bound to one state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    @property
    def hub(self) -> WebhookHub:
        return self.state.webhooks

    # -- the registration API (bearer token as for the Referrals API) ------------------------

    async def show(self, request: Request) -> Response:
        """GET /webhooks/v1/registration."""
        _authenticate(self.state, request)
        return _json(self._registered().to_json())

    async def create(self, request: Request) -> Response:
        """POST /webhooks/v1/registration: register; 409 if one already is (PUT replaces)."""
        _authenticate(self.state, request)
        registration = await self._registration_from(request)
        if self.hub.registration is not None:
            raise ApiError(
                409, "A webhook is already registered; PUT replaces it.", code="conflict"
            )
        self.hub.registration = registration
        return _json(registration.to_json())

    async def replace(self, request: Request) -> Response:
        """PUT /webhooks/v1/registration: replace the registration."""
        _authenticate(self.state, request)
        registration = await self._registration_from(request)
        self._registered()
        self.hub.registration = registration
        return _json(registration.to_json())

    async def delete(self, request: Request) -> Response:
        """DELETE /webhooks/v1/registration."""
        _authenticate(self.state, request)
        self._registered()
        self.hub.registration = None
        return Response(status_code=204)

    async def validate(self, request: Request) -> Response:
        """POST /webhooks/v1/registration/validationEvents: send a ``test-created`` event."""
        _authenticate(self.state, request)
        registration = self._registered()
        if TEST_EVENT not in registration.events:
            raise ApiError(
                400,
                f"Register for {TEST_EVENT} to receive validation events.",
                target="WebhookEvents",
            )
        correlation_id = str(uuid.uuid4())
        self.hub.send(
            TEST_EVENT,
            f"https://api.partnercenter.microsoft.com/webhooks/v1/test/{correlation_id}",
            correlation_id=correlation_id,
            resource_name="test",
        )
        return _json({"correlationId": correlation_id})

    async def validation_status(self, request: Request) -> Response:
        """GET /webhooks/v1/registration/validationEvents/{correlationId}."""
        _authenticate(self.state, request)
        correlation_id = request.path_params["correlation_id"]
        found = [
            delivery
            for delivery in self.hub.deliveries()
            if delivery.correlation_id == correlation_id
        ]
        if not found:
            raise ApiError(404, f"No validation event {correlation_id!r}.")
        results = [
            {
                "webhookUrl": delivery.url,
                "responseCode": delivery.status,
                "responseMessage": delivery.error,
                "pending": not delivery.done.done(),
            }
            for delivery in found
        ]
        return _json({"correlationId": correlation_id, "results": results})

    async def available_events(self, request: Request) -> Response:
        """GET /webhooks/v1/registration/events: the event names one can register for."""
        _authenticate(self.state, request)
        return _json(list(AVAILABLE_EVENTS))

    # -- admin ---------------------------------------------------------------------------------

    async def list_deliveries(self, request: Request) -> Response:
        """GET /sandbox/webhooks[?wait=SECONDS]: the registration and the deliveries."""
        wait = request.query_params.get("wait")
        if wait:
            try:
                seconds = min(max(float(wait), 0.0), MAX_WAIT_SECONDS)
            except ValueError:
                raise ApiError(400, "wait must be a number of seconds.", target="wait") from None
            await asyncio.to_thread(self.hub.wait, seconds)
        registration = self.hub.registration
        return _json(
            {
                "registration": registration.to_json() if registration else None,
                "deliveries": [delivery.to_json() for delivery in self.hub.deliveries()],
            }
        )

    async def clear_deliveries(self, request: Request) -> Response:
        """DELETE /sandbox/webhooks: forget the deliveries (the registration stays)."""
        self.hub.clear_deliveries()
        return Response(status_code=204)

    async def fire(self, request: Request) -> Response:
        """POST /sandbox/webhooks/events {"EventName", "referralId" | "ResourceUri",
        "AuditUri"?}: send any event to the registered URL, subscribed or not."""
        body = await _object(request)
        name = body.get("EventName")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "EventName must be text.", target="EventName")
        resource = body.get("ResourceUri")
        referral_id = body.get("referralId")
        if resource is None and isinstance(referral_id, str) and referral_id:
            resource = resource_uri(referral_id)
        if not isinstance(resource, str) or not resource:
            raise ApiError(400, "Send referralId or ResourceUri.", target="ResourceUri")
        audit = body.get("AuditUri")
        if audit is not None and not isinstance(audit, str):
            raise ApiError(400, "AuditUri must be text or null.", target="AuditUri")
        try:
            delivery = self.hub.send(name, resource, audit_uri=audit)
        except LookupError:
            raise ApiError(409, "No webhook is registered.", code="conflict") from None
        return _json(delivery.to_json(), 202)

    # -- helpers -------------------------------------------------------------------------------

    def _registered(self) -> Registration:
        registration = self.hub.registration
        if registration is None:
            raise ApiError(404, "No webhook is registered.")
        return registration

    async def _registration_from(self, request: Request) -> Registration:
        body = {key.lower(): value for key, value in (await _object(request)).items()}
        url = body.get("webhookurl")
        if not isinstance(url, str) or not _is_http_url(url):
            raise ApiError(400, "WebhookUrl must be an absolute http(s) URL.", target="WebhookUrl")
        events = body.get("webhookevents")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(event, str) for event in events)
        ):
            raise ApiError(
                400, "WebhookEvents must be a non-empty list of names.", target="WebhookEvents"
            )
        unknown = [event for event in events if event not in AVAILABLE_EVENTS]
        if unknown:
            raise ApiError(
                400,
                f"Unknown event(s): {', '.join(unknown)} (see GET {WEBHOOKS_ROOT}"
                "/registration/events).",
                target="WebhookEvents",
            )
        header = body.get("signaturetokentomssignatureheader", False)
        if not isinstance(header, bool):
            raise ApiError(
                400,
                "SignatureTokenToMsSignatureHeader must be true or false.",
                target="SignatureTokenToMsSignatureHeader",
            )
        return Registration(
            subscriber_id=self.state.partner.organization_id,
            url=url,
            events=tuple(dict.fromkeys(events)),
            ms_signature_header=header,
        )


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _authenticate(state: SandboxState, request: Request) -> None:
    """The Referrals API gateway's bearer check, for these routes outside its root."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthenticated("Send 'Authorization: Bearer <token>'.")
    required = state.required_token
    if required is not None and not hmac.compare_digest(token.encode(), required.encode()):
        raise _unauthenticated("The bearer token is not valid for this sandbox.")
    if state.token_check is not None:
        problem = state.token_check(token)
        if problem is not None:
            status, reason = problem
            raise ApiError(status, reason)


def _unauthenticated(message: str) -> ApiError:
    return ApiError(
        401, message, headers={"WWW-Authenticate": 'Bearer realm="partner-center-sandbox"'}
    )
