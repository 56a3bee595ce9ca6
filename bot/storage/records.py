"""An audited move of a record kept as a Redis hash: the one step every workflow record takes
(an approval request, an incoming referral) from one status to the next.

One script per move: it checks the record stands in one of the statuses it may move from,
sets the new status with the fields that go with it (who, when, why), appends the same to the
audit stream, and drops the record from the open index once the new status is no longer
open. Two people clicking at once: one moves it, the other is told where it stands and who
put it there. The record, the audit stream and the index share a hash slot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from bot.storage.redis import RedisClient

# KEYS: the record's hash, the audit stream, the open index.
# ARGV: the new status, the fields to set with it (a JSON object of strings), the audit's
#       cap, the audit's name for the record's id, the open statuses (JSON list), the record's
#       fields the audit repeats (JSON list), then the statuses it may move from.
# Returns {1} when it moved; {0, status, by, at} when it stood elsewhere; {-1} when unknown.
MOVE: Final = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {-1}
end
for i = 7, #ARGV do
  if status == ARGV[i] then
    local fields = cjson.decode(ARGV[2])
    local id = redis.call('HGET', KEYS[1], 'id')
    local line = {ARGV[4], id, 'status', ARGV[1]}
    for _, name in ipairs(cjson.decode(ARGV[6])) do
      table.insert(line, name)
      table.insert(line, redis.call('HGET', KEYS[1], name) or '')
    end
    redis.call('HSET', KEYS[1], 'status', ARGV[1])
    for name, value in pairs(fields) do
      redis.call('HSET', KEYS[1], name, value)
      table.insert(line, name)
      table.insert(line, value)
    end
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(line))
    local open = false
    for _, name in ipairs(cjson.decode(ARGV[5])) do
      if name == ARGV[1] then open = true end
    end
    if not open then
      redis.call('ZREM', KEYS[3], id)
    end
    return {1}
  end
end
return {0, status, redis.call('HGET', KEYS[1], 'by') or '', redis.call('HGET', KEYS[1], 'at') or ''}
"""


class AuditedMoves:
    """Moves of one kind of record: ``label`` names its id in the audit, ``open`` are the
    statuses kept in the open index, ``repeated`` the record's fields every audit line
    repeats."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        label: str,
        open: Iterable[str],
        audit_cap: int,
        repeated: Iterable[str] = (),
    ) -> None:
        self._script = redis.register_script(MOVE)
        self._label = label
        self._open = json.dumps(sorted(open))
        self._repeated = json.dumps(list(repeated))
        self._cap = audit_cap

    async def move(
        self,
        record: str,
        audit: str,
        index: str,
        *,
        to: str,
        fields: Mapping[str, str],
        allowed_from: Iterable[str],
    ) -> Any:
        """Move ``record`` to ``to`` with ``fields`` if it stands in one of ``allowed_from``:
        the script's answer (see :data:`MOVE`)."""
        return await self._script(
            keys=[record, audit, index],
            args=[
                to,
                json.dumps(dict(fields)),
                self._cap,
                self._label,
                self._open,
                self._repeated,
                *sorted(allowed_from),
            ],
        )
