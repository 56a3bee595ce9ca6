"""The Lua scripts of the job stream (see :mod:`bot.jobs` for the ordered jobs they serve).

Each touches one hash slot: the stream, and inboxes and leases tagged with its name.
"""

from __future__ import annotations

from typing import Final

# Take the lease of an inbox (or keep ours) and return its head, after dropping the head just
# done; when the inbox is empty, mark the lease idle (ours, for the key's next jobs to be sent
# to us) and acknowledge the stream entry that named it. One script, so a job appended
# meanwhile either lands before it (and is seen) or after it (and finds the lease idle, and
# whoever reads its entry takes the lease). A lease another worker holds busy is left to it;
# one it left idle is taken over.
# KEYS: lease, inbox, the stream the entry came from.
# ARGV: worker, lease ms, head done or "", group, stream entry id, idle lease ms.
# Answers {0} (another worker holds the lease), {1} (none left, acknowledged), {2, head}.
NEXT: Final = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= 'busy:' .. ARGV[1] and string.sub(holder, 1, 5) == 'busy:' then
  return {0}
end
if ARGV[3] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[3] then
  redis.call('LPOP', KEYS[2])
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  redis.call('SET', KEYS[1], 'idle:' .. ARGV[1], 'PX', ARGV[6])
  redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
  redis.call('XDEL', KEYS[3], ARGV[5])
  return {1}
end
redis.call('SET', KEYS[1], 'busy:' .. ARGV[1], 'PX', ARGV[2])
return {2, head}
"""
# Add the ordered jobs of a batch (all of one shard): for each, the job in its inbox (given a
# TTL when the inbox is new: an inbox empties as it is worked on), then, unless a worker is
# busy on the key, a stream entry naming the inbox. A busy worker needs none: it takes the
# inbox's next head until it finds it empty, in a script that runs before or after this one,
# so it sees this job or has left the lease idle; and should it die, its own entry, never
# acknowledged, is reclaimed and drains the inbox. (An entry for it anyway would wait on
# its drain for nothing: under a fast typist they piled up by the thousand.) The entry goes
# to the stream of the worker that last held the key's lease, while that worker lives (its
# heartbeat and its stream are there), so a conversation's turns keep reaching the worker
# that has its draft cached; else to the shard's stream, for any worker. One script for the
# batch, since every key shares the shard's slot (the worker's keys are built here from the
# lease's value: they are in that slot too). A failed XADD (the key is not a stream) stops
# the script before that job's inbox entry is written.
# Streams are trimmed to about their bound on the way (MAXLEN ~).
# KEYS: shard stream, then an inbox and a lease per job.
# ARGV: inbox TTL, stream bound, shard's key prefix, then order key and entry per job.
# Answers, per job, its entry's id, or "" when it needed none.
PUT: Final = """
local ids = {}
for i = 1, (#KEYS - 1) / 2 do
  local inbox, lease = KEYS[2 * i], KEYS[2 * i + 1]
  local holder = redis.call('GET', lease)
  local id = ''
  if not (holder and string.sub(holder, 1, 5) == 'busy:') then
    local stream = KEYS[1]
    if holder then
      local worker = string.sub(holder, 6)
      local own = ARGV[3] .. ':to:' .. worker
      if redis.call('EXISTS', ARGV[3] .. ':alive:' .. worker, own) == 2 then stream = own end
    end
    id = redis.call(
      'XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'kind', 'ordered', 'key', ARGV[2 + 2 * i])
  end
  if redis.call('RPUSH', inbox, ARGV[3 + 2 * i]) == 1 then
    redis.call('EXPIRE', inbox, ARGV[1])
  end
  ids[i] = id
end
return ids
"""
# Extend our lease; 0 when it is not ours any more. KEYS: lease. ARGV: holder, lease ms.
RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Hand a worker's own stream back to the shard: each entry still there (sent to the worker and
# not done) is added to the shard's stream marked "adopted", and the worker's stream, heartbeat
# and membership go. Done for a worker whose heartbeat stopped (unless ARGV[3] is "1": a
# worker handing back its own on a clean stop). Answers how many entries moved, or -1 when
# the worker is alive.
# KEYS: heartbeat, the worker's stream, shard stream, workers set.
# ARGV: worker, stream bound, "1" to hand back even though alive.
ADOPT: Final = """
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local moved = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do
  local fields = entry[2]
  fields[#fields + 1] = 'adopted'
  fields[#fields + 1] = '1'
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
  moved = moved + 1
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return moved
"""
# This worker lives: its heartbeat, its membership, and its own stream with the consumer
# group (made if missing: taken over while this worker was too slow to beat, say).
# KEYS: heartbeat, workers set, the worker's stream. ARGV: worker, heartbeat ms, group.
BEAT: Final = """
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[3], ARGV[3], '0', 'MKSTREAM')
end
return 1
"""
