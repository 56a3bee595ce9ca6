"""Deal-registration approvals in Redis: one record per request, moved on by atomic steps.

A request is ``pending`` until an approver decides (``approved``, then ``submitted`` or
``failed`` once Partner Center answered; ``failed`` may be approved again: Retry), rejects
it, the requester withdraws it, or it expires. Every step is one script that checks the
status it moves from and, in the same step, appends the decision to the audit stream: two
approvers clicking at once, or one clicking twice, give one decision, and the loser is told
who decided and when. Keys share the job stream's hash slot (a deployment's approvals live
beside its jobs, and every script touches one slot).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from bot.jobs.job import text_of
from bot.jobs.keys import STREAM, StreamKeys
from bot.metrics import APPROVALS
from bot.storage.records import AuditedMoves
from bot.storage.redis import RedisClient

KEEP_SECONDS: Final = 180 * 24 * 3600
"""How long a request is kept after it was made (decided or not)."""
AUDIT_MAX_LENGTH: Final = 100_000


class ApprovalStatus(StrEnum):
    """Where a request for approval stands."""

    PENDING = "pending"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


MOVES: Final[dict[ApprovalStatus, frozenset[ApprovalStatus]]] = {
    ApprovalStatus.APPROVED: frozenset({ApprovalStatus.PENDING, ApprovalStatus.FAILED}),
    ApprovalStatus.SUBMITTED: frozenset({ApprovalStatus.APPROVED}),
    ApprovalStatus.FAILED: frozenset({ApprovalStatus.APPROVED}),
    ApprovalStatus.REJECTED: frozenset({ApprovalStatus.PENDING, ApprovalStatus.FAILED}),
    ApprovalStatus.EXPIRED: frozenset({ApprovalStatus.PENDING}),
    ApprovalStatus.WITHDRAWN: frozenset({ApprovalStatus.PENDING, ApprovalStatus.FAILED}),
}
"""The statuses each status may be reached from (``failed`` → ``approved``: Retry)."""
OPEN: Final = frozenset({ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.FAILED})
"""Where a request stands while a decision may still change it (kept in :attr:`~Approvals.open`,
as the move knows them too)."""
PAGE: Final = 200
"""How many ids a listing reads from an index at a time."""

# KEYS: the request's hash, the index, the audit stream, the index of open requests.
# ARGV: the request's fields (JSON object of strings), its TTL, its score in the index (the
#       time it was made), the audit's cap.
# Returns 1 when it was recorded now, 0 when a request with this id was recorded before.
REQUEST: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local fields = cjson.decode(ARGV[1])
for name, value in pairs(fields) do
  redis.call('HSET', KEYS[1], name, value)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], fields['id'])
redis.call('ZADD', KEYS[4], ARGV[3], fields['id'])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'approval', fields['id'],
  'status', fields['status'], 'by', fields['requester'], 'at', fields['created_at'],
  'referral', fields['referral'])
return 1
"""


class Request(BaseModel):
    """What a seller asks approvers to approve."""

    model_config = ConfigDict(frozen=True)

    referral_id: str
    requester: str
    """The requester's conversation key (``slack:T1:U2``): whom to tell."""
    requester_name: str
    registration: dict[str, Any]
    """The registration as the API takes it (``add /registrations/-``)."""
    eligibility: dict[str, Any] = {}
    """The eligibility report the approvers see, as the API gave it."""
    referral_name: str | None = None
    customer: str | None = None
    young: bool = False
    """The referral was less than 72 hours old when the registration was asked for."""
    reply_to: dict[str, Any] = {}
    """Where the requester's own conversation is, in their platform's terms (a Teams
    conversation reference): where they are told of the outcome."""


@dataclass(frozen=True, slots=True)
class Approval:
    """A request and where it stands."""

    id: str
    request: Request
    status: ApprovalStatus
    created_at: datetime
    decided_by: str | None = None
    """Who moved it last, as a conversation key (``slack:T1:U2``)."""
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    request_id: str | None = None
    """Partner Center's request id of the registration's PATCH, once sent."""
    card: Posted | None = None
    """Where its card was posted for approvers."""
    sender: str | None = None
    """The piece of work (a job's id) that took it to ``approved`` and sends it."""


@dataclass(frozen=True, slots=True)
class Posted:
    """A card in an approvals channel: the channel (as JSON) and the message's id."""

    channel: dict[str, Any]
    message_id: str


@dataclass(frozen=True, slots=True)
class Moved:
    """The outcome of a step: whether this one moved the request, and where it stands."""

    moved: bool
    approval: Approval


class UnknownApproval(LookupError):
    """No request with that id (never made, or kept no longer)."""


class Approvals:
    """Requests for approval of one deployment."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM) -> None:
        self._redis = redis
        slot = StreamKeys(stream).slot
        self._prefix = f"{slot}:approval:"
        self.index = f"{slot}:approvals"
        self.audit = f"{slot}:approvals:audit"
        self.open = f"{slot}:approvals:open"
        """Requests a decision may still change (pending, approved, failed), by age: what
        home pages, lists and expiry read, so they never walk the whole history."""
        self._moves = AuditedMoves(
            redis,
            label="approval",
            open=(status.value for status in OPEN),
            audit_cap=AUDIT_MAX_LENGTH,
            repeated=("referral",),
        )
        self._request = redis.register_script(REQUEST)

    async def request(
        self, request: Request, *, now: datetime, approval_id: str | None = None
    ) -> Filed:
        """Record a new pending request (and its audit line). With ``approval_id`` (a draft's
        id) a request recorded before under it is returned instead: asking twice files once."""
        approval_id = approval_id or uuid.uuid4().hex[:12]
        created = now.isoformat()
        fields = {
            "id": approval_id,
            "request": request.model_dump_json(),
            "referral": request.referral_id,
            "requester": request.requester,
            "status": ApprovalStatus.PENDING.value,
            "created_at": created,
        }
        recorded: Any = await self._request(
            keys=[self._key(approval_id), self.index, self.audit, self.open],
            args=[json.dumps(fields), KEEP_SECONDS, now.timestamp(), AUDIT_MAX_LENGTH],
        )
        if int(recorded) == 1:
            APPROVALS.labels(ApprovalStatus.PENDING.value).inc()
        return Filed(await self.get(approval_id), new=int(recorded) == 1)

    async def move(
        self,
        approval_id: str,
        to: ApprovalStatus,
        *,
        by: str,
        now: datetime,
        by_name: str | None = None,
        reason: str | None = None,
        request_id: str | None = None,
        sender: str | None = None,
    ) -> Moved:
        """Move the request to ``to`` if it stands where ``to`` may be reached from.

        ``sender`` names the piece of work that sends an approved registration, so that work
        (a job run again after its worker died) can tell the approval is its own to finish.
        """
        fields = {
            "by": by,
            "by_name": by_name or "",
            "at": now.isoformat(),
            "reason": reason or "",
            "request_id": request_id or "",
        }
        if sender is not None:
            fields["sender"] = sender
        answer: Any = await self._moves.move(
            self._key(approval_id),
            self.audit,
            self.open,
            to=to.value,
            fields=fields,
            allowed_from=(status.value for status in MOVES[to]),
        )
        if int(answer[0]) < 0:
            raise UnknownApproval(approval_id)
        if int(answer[0]) == 1:
            APPROVALS.labels(to.value).inc()
        approval = await self.get(approval_id)
        return Moved(int(answer[0]) == 1, approval)

    async def posted(self, approval_id: str, card: Posted) -> None:
        """Remember where the request's card was posted, to show its outcome there."""
        await self._redis.hset(
            self._key(approval_id),
            mapping={"card_channel": json.dumps(card.channel), "card_id": card.message_id},
        )

    async def get(self, approval_id: str) -> Approval:
        """The request and where it stands."""
        fields = await self._redis.hgetall(self._key(approval_id))
        if not fields:
            raise UnknownApproval(approval_id)
        return _approval({text_of(k): text_of(v) for k, v in fields.items()})

    async def listed(
        self, statuses: Iterable[ApprovalStatus] | None = None, *, limit: int = 100
    ) -> list[Approval]:
        """The newest requests (those in ``statuses`` when given), newest first."""
        wanted = set(statuses) if statuses is not None else None
        index = self.open if wanted is not None and wanted <= OPEN else self.index
        found: list[Approval] = []
        start = 0
        while len(found) < limit:
            ids: Any = await self._redis.zrevrange(index, start, start + PAGE - 1)
            if not ids:
                break
            start += len(ids)
            for approval in await self._many(index, ids):
                if wanted is None or approval.status in wanted:
                    found.append(approval)
        return found[:limit]

    async def made_before(self, moment: datetime, *, limit: int = 100) -> list[Approval]:
        """Pending requests made before ``moment``, oldest first (those due to expire)."""
        ids: Any = await self._redis.zrangebyscore(
            self.open, "-inf", moment.timestamp(), start=0, num=limit * 4
        )
        due = [a for a in await self._many(self.open, ids) if a.status is ApprovalStatus.PENDING]
        return due[:limit]

    async def _many(self, index: str, ids: list[Any]) -> list[Approval]:
        """The requests ``ids`` of ``index`` in one round trip; those no longer kept (their
        hash expired) leave the index."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw in ids:
                pipe.hgetall(self._key(text_of(raw)))
            answers: Any = await pipe.execute()
        found, gone = [], []
        for raw, fields in zip(ids, answers, strict=True):
            if fields:
                found.append(_approval({text_of(k): text_of(v) for k, v in fields.items()}))
            else:
                gone.append(raw)
        if gone:
            await self._redis.zrem(index, *gone)
        return found

    async def history(self, approval_id: str) -> list[dict[str, str]]:
        """The audit lines of one request, oldest first."""
        lines = []
        entries: Any = await self._redis.xrange(self.audit)
        for _, fields in entries:
            line = {text_of(k): text_of(v) for k, v in fields.items()}
            if line.get("approval") == approval_id:
                lines.append(line)
        return lines

    def _key(self, approval_id: str) -> str:
        return self._prefix + approval_id


@dataclass(frozen=True, slots=True)
class Filed:
    """A request as :meth:`Approvals.request` left it; ``new`` False: it was filed before."""

    approval: Approval
    new: bool


def _approval(fields: dict[str, str]) -> Approval:
    card = None
    if fields.get("card_channel") and fields.get("card_id"):
        card = Posted(json.loads(fields["card_channel"]), fields["card_id"])
    return Approval(
        id=fields["id"],
        request=Request.model_validate(json.loads(fields["request"])),
        status=ApprovalStatus(fields["status"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        decided_by=fields.get("by") or None,
        decided_by_name=fields.get("by_name") or None,
        decided_at=datetime.fromisoformat(fields["at"]) if fields.get("at") else None,
        reason=fields.get("reason") or None,
        request_id=fields.get("request_id") or None,
        card=card,
        sender=fields.get("sender") or None,
    )
