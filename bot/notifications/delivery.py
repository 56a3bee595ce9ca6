"""Delivering events: from one event on the job stream to one card in each channel that wants it.

Two job kinds. A ``referral-change`` job (added by the change detector's script) is fanned
out: one ``notify`` job per subscribed channel whose filters match, queued in that channel's
order (a channel's cards arrive in the order the changes were seen). A ``notify`` job sends
one card, exactly once per (event, channel): a delivery key is claimed before sending,
released if the send fails (the job is tried again later), and marked sent after. A fan-out
done twice (its worker died before acknowledging) queues the same ``notify`` jobs again, and
their delivery keys keep the second ones from sending.

A channel the bot can no longer post to (removed, archived) is unsubscribed with a log line
instead of being retried for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from bot.conversation.views import StatusChange
from bot.jobs import Job, JobHandler, JobQueue, UnreadableJob
from bot.jobs.keys import StreamKeys
from bot.metrics import NOTIFICATIONS_SENT
from bot.notifications.changes import CHANGE, ReferralChange
from bot.notifications.channels import ChannelGone, ChannelPoster
from bot.notifications.subscriptions import Subscription, Subscriptions
from bot.storage.redis import RedisClient

logger = logging.getLogger(__name__)

NOTIFY: Final = "notify"
"""The job kind of one card to one channel."""
SENDING_SECONDS: Final = 60
"""How long a delivery key claimed for a send holds. A channel's cards go one at a time (its
jobs are ordered), so the key guards against a second copy of the job, not a second worker
at once; a worker that died mid-send leaves it to lapse, and the job, taken over, then sends."""
SENT_SECONDS: Final = 24 * 3600
"""How long a card's delivery mark outlives its send. It stops a second copy of the same
``notify`` job (a fan-out done twice, a job reclaimed from a worker that died), which comes
within minutes; the change detector keeps the same change from being fanned out again at
all. A day is ample, and keeps the marks to a day's changes times channels (30 days kept a
month's: 600,000 keys at 1,000 changes a day in 20 channels)."""
SENT: Final = b"sent"
SEND_ATTEMPTS: Final = 3
"""Tries of one card (the platforms' clients also wait out 429s, as Retry-After says)."""
RETRY_SECONDS: Final = 2.0


NOT_SUBSCRIBED, CLAIMED, ALREADY_SENT, SENDING = range(4)
# KEYS: the subscriptions hash, the delivery key. ARGV: the channel's key, the claim's TTL.
# Returns {outcome} or {CLAIMED, the subscription} or {SENDING, seconds the claim has left}.
CLAIM: Final = """
local subscription = redis.call('HGET', KEYS[1], ARGV[1])
if not subscription then
  return {0}
end
if redis.call('SET', KEYS[2], 'sending', 'NX', 'EX', ARGV[2]) then
  return {1, subscription}
end
if redis.call('GET', KEYS[2]) == 'sent' then
  return {2}
end
return {3, redis.call('TTL', KEYS[2])}
"""


class DeliveryUnderWay(Exception):
    """Another worker is sending this card right now: try the job again later."""


class _Notify(BaseModel):
    change: ReferralChange
    channel: str


class Notifier:
    """Fans events out to subscribed channels and sends each card once."""

    def __init__(
        self,
        redis: RedisClient,
        subscriptions: Subscriptions,
        jobs: JobQueue,
        posters: Mapping[str, ChannelPoster],
        *,
        referral_url: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._subscriptions = subscriptions
        self._jobs = jobs
        self._posters = dict(posters)
        self._referral_url = referral_url
        self._sleep = sleep
        self._slot = StreamKeys(jobs.stream).slot
        self._claim_script = redis.register_script(CLAIM)

    def handlers(self) -> dict[str, JobHandler]:
        """The job handlers, for :func:`bot.jobs.dispatch`."""
        return {CHANGE: self.fan_out, NOTIFY: self.notify}

    async def fan_out(self, job: Job) -> None:
        """Queue one ``notify`` job per channel that wants this change."""
        change = _read(ReferralChange, job.payload)
        if change.event is None:
            return
        wire = change.model_dump(mode="json")
        channels = [
            subscription.channel
            for subscription in await self._subscriptions.all()
            if subscription.channel.platform in self._posters and subscription.filters.wants(change)
        ]
        # Put together, the jobs go to Redis in one batch rather than one round trip each.
        await asyncio.gather(
            *(
                self._jobs.put(
                    NOTIFY,
                    {"change": wire, "channel": channel.key},
                    order_key=f"channel:{channel.key}",
                )
                for channel in channels
            )
        )

    async def notify(self, job: Job) -> None:
        """Send one card to one channel, once; tried a few times, then left as a dead letter
        (a channel's jobs are ordered, and a job that fails is not retried after that: it
        would hold up the channel's later cards)."""
        order = _read(_Notify, job.payload)
        change = order.change
        key = f"{self._slot}:notified:{change.id}:{order.channel}"
        subscription = await self._claim(key, order.channel)
        if subscription is None:
            return  # unsubscribed since, or sent already
        channel = subscription.channel
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._posters[channel.platform].post_to_channel(channel, self.view(change))
            except ChannelGone as gone:
                await self._subscriptions.unsubscribe(channel.key)
                await self._redis.delete(key)
                logger.warning(
                    "unsubscribed %s: the bot can no longer post there (%s)", channel.key, gone
                )
                return
            except Exception as error:
                if attempt == SEND_ATTEMPTS:
                    await self._redis.delete(key)
                    raise
                logger.warning(
                    "card %s to %s failed (%r); trying again", change.id, channel.key, error
                )
                await self._sleep(RETRY_SECONDS * attempt)
            except BaseException:
                await self._redis.delete(key)
                raise
            else:
                break
        await self._redis.set(key, SENT, ex=SENT_SECONDS)
        NOTIFICATIONS_SENT.labels(channel.platform).inc()
        logger.debug("told %s: %s %s", channel.key, change.event, change.referral_id)

    async def _claim(self, key: str, channel_key: str) -> Subscription | None:
        """The channel's subscription with the delivery key claimed for this send, in one
        round trip; None when the channel is no longer subscribed or the card was sent
        already. A claim left by a worker that died mid-send is waited out (it lapses within
        a minute)."""
        for _ in range(2):
            answer: Any = await self._claim_script(
                keys=[self._subscriptions.key, key], args=[channel_key, SENDING_SECONDS]
            )
            outcome = int(answer[0])
            if outcome == CLAIMED:
                return Subscription.model_validate_json(answer[1])
            if outcome in (NOT_SUBSCRIBED, ALREADY_SENT):
                return None
            await self._sleep(max(int(answer[1]), 0) + 0.1)
        raise DeliveryUnderWay(f"{key} is still being sent elsewhere")

    def view(self, change: ReferralChange) -> StatusChange:
        """The card of ``change``."""
        event = change.event
        assert event is not None
        before = change.before
        return StatusChange(
            event=event,
            referral_id=change.referral_id,
            name=change.name,
            customer=change.customer,
            value=change.value,
            currency=change.currency,
            before=_status(before.status, before.substatus) if before is not None else None,
            after=_status(change.status, change.substatus) or "?",
            reason=change.reason if event in ("lost", "declined", "expired") else None,
            team=change.team,
            closing=change.closing,
            link=self._referral_url.format(id=change.referral_id) if self._referral_url else None,
        )


def _status(status: str | None, substatus: str | None) -> str | None:
    return ", ".join(part for part in (status, substatus) if part) or None


_Model = TypeVar("_Model", bound=BaseModel)


def _read(model: type[_Model], payload: Mapping[str, Any]) -> _Model:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise UnreadableJob(f"not a {model.__name__}: {error}") from None
