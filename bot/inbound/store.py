"""Incoming referrals in Redis: one record per referral sent to the partner, moved on by
atomic steps.

A record is filed once, when the referral is first seen waiting for an answer (New, Pending or
Received), and is ``waiting`` until someone answers it in chat (``accepting`` or
``declining`` while Partner Center is asked, then ``accepted`` or ``declined``; back to
``waiting`` with the problem when Partner Center refuses), it is answered in Partner Center
itself (``answered``), or its time runs out (``expired``). Every step is one script that
checks the status it moves from and appends the step to the audit stream in the same step:
two people clicking Accept and Decline at once, or one clicking twice, give one outcome, and
the others are told who decided and when.

Reminders are claimed here too, one script per reminder: a threshold (3 days left, 1 day
left) is claimed once per referral whatever the number of workers or their restarts. Where
the referral's cards were posted (a triage channel per workspace, the DMs of matched sellers)
is kept per place, each claimed before it is posted, so a card job run twice posts once.

Keys share the job stream's hash slot, as approvals do (every script touches one slot).
Round trips: filing, a move, a reminder and a claim are one script each (plus one read of
the record after a move); a listing is one range read and one pipelined read of the records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from bot.jobs.job import text_of
from bot.jobs.keys import STREAM, StreamKeys
from bot.referrals.models import Referral
from bot.storage.records import AuditedMoves
from bot.storage.redis import RedisClient

KEEP_SECONDS: Final = 180 * 24 * 3600
"""How long a record is kept after it was filed (answered or not)."""
AUDIT_MAX_LENGTH: Final = 100_000
CARD: Final = "card:"
"""The prefix of a record's fields naming where a card of it was posted."""
CLAIM: Final = "claim:"
"""The prefix of a record's fields naming the work that posts (posted) a card there."""
REMINDED: Final = "reminded:"
"""The prefix of a record's fields marking a reminder threshold (in days) as told."""
MARK: Final = "done:"
"""The prefix of a record's fields marking a piece of work done (see :meth:`InboundStore.mark`)."""


class InboundStatus(StrEnum):
    """Where an incoming referral stands, as far as the bot knows."""

    WAITING = "waiting"
    ACCEPTING = "accepting"
    DECLINING = "declining"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ANSWERED = "answered"
    """Answered outside the chat (in Partner Center), as the change detection saw."""
    EXPIRED = "expired"


OPEN: Final = frozenset({InboundStatus.WAITING, InboundStatus.ACCEPTING, InboundStatus.DECLINING})
"""Where a record stands while an answer may still change it (kept in the open index, as the
move knows them too)."""
MOVES: Final[dict[InboundStatus, frozenset[InboundStatus]]] = {
    InboundStatus.WAITING: frozenset(
        # Assigned (waiting to waiting), or Partner Center refused an answer being sent.
        {InboundStatus.WAITING, InboundStatus.ACCEPTING, InboundStatus.DECLINING}
    ),
    InboundStatus.ACCEPTING: frozenset({InboundStatus.WAITING}),
    InboundStatus.DECLINING: frozenset({InboundStatus.WAITING}),
    InboundStatus.ACCEPTED: frozenset({InboundStatus.ACCEPTING}),
    InboundStatus.DECLINED: frozenset({InboundStatus.DECLINING}),
    # Answered in Partner Center: found so on a change, or while an answer of ours was sent.
    InboundStatus.ANSWERED: frozenset(
        {InboundStatus.WAITING, InboundStatus.ACCEPTING, InboundStatus.DECLINING}
    ),
    InboundStatus.EXPIRED: frozenset({InboundStatus.WAITING}),
}
"""The statuses each status may be reached from."""

# KEYS: the record's hash, the audit stream, the open index.
# ARGV: the record's fields (JSON object of strings), its TTL, its score in the open index
#       (when it expires), the audit's cap.
# Returns 1 when it was filed now, 0 when it was filed before.
FILE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local fields = cjson.decode(ARGV[1])
for name, value in pairs(fields) do
  redis.call('HSET', KEYS[1], name, value)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], fields['id'])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'referral', fields['id'],
  'status', fields['status'], 'at', fields['filed_at'])
return 1
"""

# KEYS: the record's hash. ARGV: the thresholds crossed (days, largest first).
# Marks each as told; returns 1 when the last (the smallest, the one to tell) was not told
# before and the record still waits for an answer, else 0.
REMIND: Final = """
if redis.call('HGET', KEYS[1], 'status') ~= 'waiting' then
  return 0
end
local new = 0
for i = 1, #ARGV do
  new = redis.call('HSETNX', KEYS[1], 'reminded:' .. ARGV[i], '1')
end
return new
"""

# KEYS: the record's hash. ARGV: the claim's field, the work claiming it.
# Returns the work that holds the claim (this one when it was free), or false when unknown.
CLAIM_PLACE: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
"""


@dataclass(frozen=True, slots=True)
class Posted:
    """A card of an incoming referral: where (a channel, as JSON) and the message's id."""

    channel: dict[str, Any]
    message_id: str


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """An incoming referral and where its answer stands."""

    id: str
    """The referral's id."""
    referral: Referral
    """The referral as it was when it arrived."""
    status: InboundStatus
    filed_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    """Who moved it last, as a conversation key (``slack:T1:U2``)."""
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    """Why it was declined (what the decliner typed), or how Partner Center answered it."""
    problem: str | None = None
    """What Partner Center said when it refused the last answer sent."""
    sender: str | None = None
    """The piece of work (a job's id) that is sending the answer."""
    assignee: str | None = None
    """Whom it is assigned to, as a conversation key."""
    assignee_name: str | None = None
    cards: dict[str, Posted] | None = None
    """Where its cards are, by place (``slack:T1``, ``dm:slack:T1:U2``)."""
    matched: tuple[str, ...] = ()
    """The conversation keys of the sellers told of it in their DM."""

    @property
    def is_open(self) -> bool:
        """Whether an answer may still change it."""
        return self.status in OPEN


@dataclass(frozen=True, slots=True)
class Moved:
    """The outcome of a step: whether this one moved the record, and where it stands."""

    moved: bool
    record: InboundRecord


@dataclass(frozen=True, slots=True)
class Filed:
    """A record as :meth:`InboundStore.file` left it; ``new`` False: it was filed before."""

    record: InboundRecord
    new: bool


class UnknownInbound(LookupError):
    """No record of that referral (never filed, or kept no longer)."""


class InboundStore:
    """The incoming referrals of one deployment."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM) -> None:
        self._redis = redis
        slot = StreamKeys(stream).slot
        self._prefix = f"{slot}:inbound:"
        self.audit = f"{slot}:inbound:audit"
        self.open = f"{slot}:inbound:open"
        """Records an answer may still change, scored by when they expire: what the inbox,
        home pages, reminders and expiry read, so they never walk the whole history."""
        self._moves = AuditedMoves(
            redis,
            label="referral",
            open=(status.value for status in OPEN),
            audit_cap=AUDIT_MAX_LENGTH,
        )
        self._file = redis.register_script(FILE)
        self._remind = redis.register_script(REMIND)
        self._claim = redis.register_script(CLAIM_PLACE)

    async def file(self, referral: Referral, *, now: datetime, expires_at: datetime) -> Filed:
        """File an incoming referral as waiting (and its audit line), once: filed before, the
        record as it stands is returned instead."""
        assert referral.id is not None
        fields = {
            "id": referral.id,
            "referral": json.dumps(referral.to_wire(), separators=(",", ":")),
            "status": InboundStatus.WAITING.value,
            "filed_at": now.isoformat(),
            "expires_at": expires_at.isoformat(),
        }
        filed: Any = await self._file(
            keys=[self._key(referral.id), self.audit, self.open],
            args=[json.dumps(fields), KEEP_SECONDS, expires_at.timestamp(), AUDIT_MAX_LENGTH],
        )
        return Filed(await self.get(referral.id), new=int(filed) == 1)

    async def move(
        self,
        referral_id: str,
        to: InboundStatus,
        *,
        by: str,
        now: datetime,
        by_name: str | None = None,
        reason: str | None = None,
        problem: str | None = None,
        sender: str | None = None,
        more: dict[str, str] | None = None,
    ) -> Moved:
        """Move the record to ``to`` if it stands where ``to`` may be reached from.

        ``sender`` names the piece of work that sends the answer, so that work (a job run
        again after its worker died) can tell the answer is its own to finish. ``more`` are
        further fields set in the same step (an assignee).
        """
        fields = {
            "by": by,
            "by_name": by_name or "",
            "at": now.isoformat(),
            "reason": reason or "",
            "problem": problem or "",
            **(more or {}),
        }
        if sender is not None:
            fields["sender"] = sender
        answer: Any = await self._moves.move(
            self._key(referral_id),
            self.audit,
            self.open,
            to=to.value,
            fields=fields,
            allowed_from=(status.value for status in MOVES[to]),
        )
        if int(answer[0]) < 0:
            raise UnknownInbound(referral_id)
        return Moved(int(answer[0]) == 1, await self.get(referral_id))

    async def assign(
        self, referral_id: str, *, to: str, to_name: str, by: str, by_name: str, now: datetime
    ) -> Moved:
        """Assign a waiting referral to ``to`` (a conversation key), as ``by``; the same
        audited step as any move, so an assignment never lands on an answered referral."""
        return await self.move(
            referral_id,
            InboundStatus.WAITING,
            by=by,
            by_name=by_name,
            now=now,
            more={"assignee": to, "assignee_name": to_name},
        )

    async def remind(self, referral_id: str, thresholds: Sequence[int]) -> bool:
        """Claim the reminder of the smallest of ``thresholds`` (days left, all crossed),
        marking the larger ones told too (a worker down over both tells once, not twice);
        True when it was not claimed before and the referral still waits."""
        ordered = sorted(set(thresholds), reverse=True)
        if not ordered:
            return False
        claimed: Any = await self._remind(keys=[self._key(referral_id)], args=ordered)
        return int(claimed) == 1

    async def claim_place(self, referral_id: str, place: str, attempt: str) -> bool:
        """Claim the posting of the referral's card at ``place`` for ``attempt`` (a job's
        id); True when ``attempt`` holds the claim (it took it now, or before)."""
        holder: Any = await self._claim(
            keys=[self._key(referral_id)], args=[CLAIM + place, attempt]
        )
        return holder is not None and text_of(holder) == attempt

    async def posted(self, referral_id: str, place: str, card: Posted) -> None:
        """Remember where the card of ``place`` was posted, to show its outcome there."""
        value = json.dumps({"channel": card.channel, "message_id": card.message_id})
        await self._redis.hset(self._key(referral_id), CARD + place, value)

    async def mark(self, referral_id: str, name: str) -> None:
        """Mark something done for the referral (a reminder posted on a thread)."""
        await self._redis.hset(self._key(referral_id), MARK + name, "1")

    async def marked(self, referral_id: str, name: str) -> bool:
        """Whether :meth:`mark` marked ``name`` done for the referral."""
        return bool(await self._redis.hexists(self._key(referral_id), MARK + name))

    async def matched(self, referral_id: str, sellers: Iterable[str]) -> None:
        """Remember the sellers told of the referral in their DM (their conversation keys)."""
        await self._redis.hset(self._key(referral_id), "matched", json.dumps(sorted(sellers)))

    async def filed(self, referral_id: str) -> bool:
        """Whether the referral has a record (one round trip, nothing read)."""
        return bool(await self._redis.exists(self._key(referral_id)))

    async def get(self, referral_id: str) -> InboundRecord:
        """The record and where it stands."""
        fields = await self._redis.hgetall(self._key(referral_id))
        if not fields:
            raise UnknownInbound(referral_id)
        return _record({text_of(k): text_of(v) for k, v in fields.items()})

    async def waiting(self, *, limit: int = 100) -> list[InboundRecord]:
        """The records still open, soonest to expire (the oldest) first."""
        ids: Any = await self._redis.zrange(self.open, 0, limit - 1)
        return await self._many(ids)

    async def expiring_before(self, moment: datetime, *, limit: int = 500) -> list[InboundRecord]:
        """Open records that expire before ``moment``, soonest first."""
        ids: Any = await self._redis.zrangebyscore(
            self.open, "-inf", moment.timestamp(), start=0, num=limit
        )
        return await self._many(ids)

    async def _many(self, ids: list[Any]) -> list[InboundRecord]:
        """The records ``ids`` in one round trip; those no longer kept leave the index."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw in ids:
                pipe.hgetall(self._key(text_of(raw)))
            answers: Any = await pipe.execute()
        found, gone = [], []
        for raw, fields in zip(ids, answers, strict=True):
            if fields:
                found.append(_record({text_of(k): text_of(v) for k, v in fields.items()}))
            else:
                gone.append(raw)
        if gone:
            await self._redis.zrem(self.open, *gone)
        return found

    async def history(self, referral_id: str) -> list[dict[str, str]]:
        """The audit lines of one referral, oldest first."""
        lines = []
        entries: Any = await self._redis.xrange(self.audit)
        for _, fields in entries:
            line = {text_of(k): text_of(v) for k, v in fields.items()}
            if line.get("referral") == referral_id:
                lines.append(line)
        return lines

    def key(self, referral_id: str) -> str:
        """The key of a referral's record."""
        return self._key(referral_id)

    def _key(self, referral_id: str) -> str:
        return self._prefix + referral_id


def _record(fields: dict[str, str]) -> InboundRecord:
    cards = {
        name.removeprefix(CARD): Posted(**json.loads(value))
        for name, value in fields.items()
        if name.startswith(CARD)
    }
    return InboundRecord(
        id=fields["id"],
        referral=Referral.from_json(fields["referral"]),
        status=InboundStatus(fields["status"]),
        filed_at=datetime.fromisoformat(fields["filed_at"]),
        expires_at=datetime.fromisoformat(fields["expires_at"]),
        decided_by=fields.get("by") or None,
        decided_by_name=fields.get("by_name") or None,
        decided_at=datetime.fromisoformat(fields["at"]) if fields.get("at") else None,
        reason=fields.get("reason") or None,
        problem=fields.get("problem") or None,
        sender=fields.get("sender") or None,
        assignee=fields.get("assignee") or None,
        assignee_name=fields.get("assignee_name") or None,
        cards=cards,
        matched=tuple(json.loads(fields["matched"])) if fields.get("matched") else (),
    )
