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
from redis.asyncio import Redis

from bot.jobs.job import text_of
from bot.jobs.keys import STREAM, StreamKeys

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

# KEYS: the request's hash, the audit stream.
# ARGV: the new status, who, when (ISO), the reason, the API's request id, the audit's cap,
#       then the statuses it may move from.
# Returns {1} when it moved; {0, status, by, at} when it stood elsewhere; {-1} when unknown.
MOVE: Final = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {-1}
end
for i = 7, #ARGV do
  if status == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'by', ARGV[2], 'at', ARGV[3],
      'reason', ARGV[4], 'request_id', ARGV[5])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
      'approval', redis.call('HGET', KEYS[1], 'id'), 'status', ARGV[1], 'by', ARGV[2],
      'at', ARGV[3], 'reason', ARGV[4], 'request_id', ARGV[5],
      'referral', redis.call('HGET', KEYS[1], 'referral'))
    return {1}
  end
end
return {0, status, redis.call('HGET', KEYS[1], 'by') or '', redis.call('HGET', KEYS[1], 'at') or ''}
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


@dataclass(frozen=True, slots=True)
class Approval:
    """A request and where it stands."""

    id: str
    request: Request
    status: ApprovalStatus
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    request_id: str | None = None
    """Partner Center's request id of the registration's PATCH, once sent."""


@dataclass(frozen=True, slots=True)
class Moved:
    """The outcome of a step: whether this one moved the request, and where it stands."""

    moved: bool
    approval: Approval


class UnknownApproval(LookupError):
    """No request with that id (never made, or kept no longer)."""


class Approvals:
    """Requests for approval of one deployment."""

    def __init__(self, redis: Redis, *, stream: str = STREAM) -> None:
        self._redis = redis
        slot = StreamKeys(stream).slot
        self._prefix = f"{slot}:approval:"
        self.index = f"{slot}:approvals"
        self.audit = f"{slot}:approvals:audit"
        self._move = redis.register_script(MOVE)

    async def request(self, request: Request, *, now: datetime) -> Approval:
        """Record a new pending request (and its audit line); its approval."""
        approval_id = uuid.uuid4().hex[:12]
        created = now.isoformat()
        fields: dict[Any, Any] = {
            "id": approval_id,
            "request": request.model_dump_json(),
            "referral": request.referral_id,
            "requester": request.requester,
            "status": ApprovalStatus.PENDING.value,
            "created_at": created,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(approval_id), mapping=fields)
            pipe.expire(self._key(approval_id), KEEP_SECONDS)
            pipe.zadd(self.index, {approval_id: now.timestamp()})
            pipe.xadd(
                self.audit,
                {
                    "approval": approval_id,
                    "status": ApprovalStatus.PENDING.value,
                    "by": request.requester,
                    "at": created,
                    "referral": request.referral_id,
                },
                maxlen=AUDIT_MAX_LENGTH,
                approximate=True,
            )
            await pipe.execute()
        return Approval(approval_id, request, ApprovalStatus.PENDING, now)

    async def move(
        self,
        approval_id: str,
        to: ApprovalStatus,
        *,
        by: str,
        now: datetime,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Moved:
        """Move the request to ``to`` if it stands where ``to`` may be reached from."""
        answer: Any = await self._move(
            keys=[self._key(approval_id), self.audit],
            args=[
                to.value,
                by,
                now.isoformat(),
                reason or "",
                request_id or "",
                AUDIT_MAX_LENGTH,
                *sorted(status.value for status in MOVES[to]),
            ],
        )
        if int(answer[0]) < 0:
            raise UnknownApproval(approval_id)
        approval = await self.get(approval_id)
        return Moved(int(answer[0]) == 1, approval)

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
        found: list[Approval] = []
        ids: Any = await self._redis.zrevrange(self.index, 0, -1)
        for raw in ids:
            try:
                approval = await self.get(text_of(raw))
            except UnknownApproval:
                await self._redis.zrem(self.index, raw)  # expired from Redis
                continue
            if wanted is None or approval.status in wanted:
                found.append(approval)
                if len(found) >= limit:
                    break
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


def _approval(fields: dict[str, str]) -> Approval:
    return Approval(
        id=fields["id"],
        request=Request.model_validate(json.loads(fields["request"])),
        status=ApprovalStatus(fields["status"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        decided_by=fields.get("by") or None,
        decided_at=datetime.fromisoformat(fields["at"]) if fields.get("at") else None,
        reason=fields.get("reason") or None,
        request_id=fields.get("request_id") or None,
    )
