"""``POST /partner-center/webhook``: Partner Center says a referral changed.

The request is checked first (its signature, with the certificate fetched only once the
cheap checks pass); anything that fails is answered 401, with nothing queued. A genuine
event is deduplicated (event name, resource, change time: Partner Center retries up to ten
times) and a follow-up job queued; the answer goes back at once, and a worker reads the
referral afterwards and observes it like any other change. The event itself says nothing of
what changed: reading the referral is the only way to know.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.jobs import Job, JobQueue, QueueRefused
from bot.notifications.changes import ChangeDetector
from bot.notifications.signature import WebhookRefused
from bot.notifications.webhook_events import InvalidWebhookEvent, parse_event
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import NotFound
from bot.storage.redis import RedisClient

logger = logging.getLogger(__name__)

WEBHOOK_PATH: Final = "/partner-center/webhook"
FOLLOW_UP: Final = "referral-webhook"
"""The job kind of reading a referral a webhook named."""
SEEN_SECONDS: Final = 7 * 24 * 3600
"""How long an event is remembered: Partner Center retries for far less."""

Endpoint = Callable[[Request], Awaitable[JSONResponse]]


class Verifier(Protocol):
    """Checks a webhook request (:class:`~bot.notifications.signature.WebhookVerifier`)."""

    async def verify(self, headers: dict[str, str], body: bytes) -> None:
        """Return if the request is Partner Center's; raise WebhookRefused otherwise."""
        ...


def webhook_endpoint(
    verifier: Callable[[], Verifier], redis: Callable[[], RedisClient], jobs: Callable[[], JobQueue]
) -> Endpoint:
    """The endpoint; the callables give the parts once the app has started."""

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            await verifier().verify(dict(request.headers), body)
        except WebhookRefused as refused:
            logger.warning("webhook refused: %s", refused)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            event = parse_event(body)
        except InvalidWebhookEvent as invalid:
            logger.warning("webhook not an event: %s", invalid)
            return JSONResponse({"error": str(invalid)}, status_code=400)
        referral_id = event.referral_id
        if event.is_test or not event.is_referral_event or referral_id is None:
            logger.info("webhook %s for %s: nothing to do", event.event_name, event.resource_uri)
            return JSONResponse({"status": "ignored"})
        seen = f"rb:webhook:seen:{event.dedupe_key}"
        try:
            if not await redis().set(seen, 1, nx=True, ex=SEEN_SECONDS):
                return JSONResponse({"status": "duplicate"})
            try:
                await jobs().put(FOLLOW_UP, {"referral_id": referral_id, "event": event.event_name})
            except QueueRefused:
                await redis().delete(seen)  # so that Partner Center's next try is taken
                raise
        except (RedisError, OSError, QueueRefused) as error:
            # Partner Center tries again later: nothing is lost by saying so.
            logger.warning("webhook for %s not queued: %s", referral_id, error)
            return JSONResponse({"error": "try again later"}, status_code=503)
        return JSONResponse({"status": "queued"}, status_code=202)

    return receive


def follow_up_handler(
    client: PartnerCenterClient, detector: ChangeDetector
) -> Callable[[Job], Awaitable[None]]:
    """The job that reads the referral a webhook named and observes it."""

    async def follow_up(job: Job) -> None:
        referral_id = str(job.payload.get("referral_id") or "")
        try:
            referral = await client.get(referral_id)
        except NotFound:
            logger.info("webhook named referral %s, which this identity cannot see", referral_id)
            return
        await detector.observe(referral, source="webhook")

    return follow_up
