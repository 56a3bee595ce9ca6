"""Change detection: one Redis script decides, for every observation of a referral, whether
it is news, and if so adds the event to the job stream in the same step.

Observations come from three places that overlap (the bot's own submits, webhooks, the
poll) and from several workers at once, so the decision must be atomic: the script keeps the
last known status, substatus, ETag and change time per referral, ignores an observation
older than what it has, records a newer one, and adds an event only when the status or
substatus moved, or when the referral was never seen before (a ``new`` event, never won or
lost). A referral changed twice between polls gives one event with its latest status.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from bot.conversation.views import StatusEvent
from bot.jobs.keys import STREAM, STREAM_MAX_LENGTH, Shards, StreamKeys
from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.models import Member, Referral
from bot.storage.redis import RedisClient

CHANGE: Final = "referral-change"
"""The job kind of an event on the job stream."""
STATE_SECONDS: Final = 400 * 24 * 3600
"""How long the last known state of a referral nobody observes any more is kept."""
_BEFORE: Final = '"__BEFORE__"'

Source = Literal["bot", "webhook", "poll"]

# KEYS: the referral's state, the job stream.
# ARGV: the new state (JSON), the event (JSON, holding the placeholder for "before"),
#       "baseline" to record without an event, the state's TTL, the stream's cap.
# Returns 1 when an event was added, 0 otherwise.
OBSERVE: Final = """
local stored = redis.call('GET', KEYS[1])
local new = cjson.decode(ARGV[1])
local before = 'null'
if stored then
  local old = cjson.decode(stored)
  if tonumber(old.updated) > tonumber(new.updated) then
    return 0
  end
  if old.updated == new.updated and old.etag == new.etag then
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    return 0
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
  if old.status == new.status and old.substatus == new.substatus then
    return 0
  end
  before = cjson.encode({status = old.status, substatus = old.substatus})
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
  if ARGV[3] == 'baseline' then
    return 0
  end
end
local event = string.gsub(ARGV[2], '"__BEFORE__"', function() return before end, 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'kind', 'referral-change',
  'payload', event)
return 1
"""


class Before(BaseModel):
    """The status a referral had before the change."""

    model_config = ConfigDict(frozen=True)

    status: str | None = None
    substatus: str | None = None


class ReferralChange(BaseModel):
    """One change of a referral, as the event carries it to the channels (the job's payload)."""

    model_config = ConfigDict(frozen=True)

    referral_id: str
    updated: datetime
    status: str | None = None
    substatus: str | None = None
    before: Before | None = None
    """None: the first time the referral was seen."""
    name: str | None = None
    customer: str | None = None
    value: float | None = None
    currency: str | None = None
    reason: str | None = None
    team: tuple[str, ...] = ()
    """The team as names (or emails where a member has no name)."""
    team_emails: tuple[str, ...] = ()
    closing: date | None = None
    direction: str | None = None
    source: Source = "poll"

    @property
    def id(self) -> str:
        """The event's id: the same change observed twice has the same id."""
        return f"{self.referral_id}@{self.updated.isoformat()}"

    @property
    def event(self) -> StatusEvent | None:
        """What happened, as channels hear it, or None for a move nobody subscribes to."""
        if self.before is None:
            return "new"
        return EVENTS.get((self.status or "", self.substatus or ""))


EVENTS: Final[dict[tuple[str, str], StatusEvent]] = {
    (ReferralStatus.ACTIVE, ReferralSubstatus.ACCEPTED): "accepted",
    (ReferralStatus.CLOSED, ReferralSubstatus.WON): "won",
    (ReferralStatus.CLOSED, ReferralSubstatus.LOST): "lost",
    (ReferralStatus.CLOSED, ReferralSubstatus.DECLINED): "declined",
    (ReferralStatus.CLOSED, ReferralSubstatus.EXPIRED): "expired",
}


class ChangeDetector:
    """Observes referrals and adds an event to the job stream for each real change."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM, shards: int = 1) -> None:
        """Events go to the shard of ``stream`` chosen by the referral's id, so one referral's
        changes are told in the order they were seen."""
        self._redis = redis
        self._shards = Shards(stream, count=shards)
        self._observe = redis.register_script(OBSERVE)

    def _shard(self, referral_id: str) -> StreamKeys:
        return self._shards.of(f"referral:{referral_id}")

    def state_key(self, referral_id: str) -> str:
        """The key of a referral's last known state: in its job stream shard's hash slot,
        since the script writes both."""
        return f"{self._shard(referral_id).slot}:refstate:{referral_id}"

    async def observe(self, referral: Referral, *, source: Source, baseline: bool = False) -> bool:
        """Record what ``referral`` looks like now; True when that was news (an event was
        added). ``baseline``: record a referral seen for the first time without an event
        (the first poll of a deployment, which sees every referral at once)."""
        if not referral.id or referral.updated_date_time is None:
            return False
        change = change_of(referral, source)
        state = {
            "status": change.status or "",
            "substatus": change.substatus or "",
            "etag": referral.e_tag or "",
            "updated": int(change.updated.timestamp() * 1000),
        }
        event = change.model_dump_json(exclude={"before"})
        event = event[:-1] + f',"before":{_BEFORE}}}'
        added = await self._observe(
            keys=[self.state_key(referral.id), self._shard(referral.id).stream],
            args=[
                json.dumps(state),
                event,
                "baseline" if baseline else "",
                STATE_SECONDS,
                STREAM_MAX_LENGTH,
            ],
        )
        return bool(added)


def change_of(referral: Referral, source: Source) -> ReferralChange:
    """The event's payload for ``referral`` as it is now."""
    assert referral.id is not None
    assert referral.updated_date_time is not None
    details = referral.details
    team = referral.team or []
    return ReferralChange(
        referral_id=referral.id,
        updated=referral.updated_date_time,
        status=str(referral.status) if referral.status is not None else None,
        substatus=str(referral.substatus) if referral.substatus is not None else None,
        name=referral.name,
        customer=referral.customer_profile.name if referral.customer_profile else None,
        value=float(details.deal_value) if details and details.deal_value is not None else None,
        currency=details.currency if details else None,
        reason=referral.status_reason,
        team=tuple(_member(member) for member in team),
        team_emails=tuple(member.email.lower() for member in team if member.email),
        closing=(
            details.closing_date_time.date() if details and details.closing_date_time else None
        ),
        direction=str(referral.direction) if referral.direction is not None else None,
        source=source,
    )


def _member(member: Member) -> str:
    names = " ".join(part for part in (member.first_name, member.last_name) if part)
    return names or member.email or "?"
