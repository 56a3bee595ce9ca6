"""The Lua scripts of the job stream (see :mod:`bot.jobs` for the ordered jobs they serve).

Each touches one hash slot: the stream, and inboxes and leases tagged with its name.
"""

from __future__ import annotations

from typing import Final

# Take the lease of an inbox (or keep ours) and return its head, after dropping the head just
# done; when the inbox is empty, let the lease go and acknowledge the stream entry that named
# it. One script, so a job appended meanwhile either lands before it (and is seen) or after
# it (and finds the lease free), and a finished inbox costs no round trip of its own.
# KEYS: lease, inbox, stream. ARGV: token, lease ms, head done or "", group, stream entry id.
# Answers {0} (another worker holds the lease), {1} (none left, acknowledged), {2, head}.
NEXT: Final = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {0} end
if ARGV[3] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[3] then
  redis.call('LPOP', KEYS[2])
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  if holder then redis.call('DEL', KEYS[1]) end
  redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
  redis.call('XDEL', KEYS[3], ARGV[5])
  return {1}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {2, head}
"""
# Add the ordered jobs of a batch: for each, the stream entry naming its inbox, then the job
# in the inbox (given a TTL when the inbox is new: an inbox empties as it is worked on). One
# script for the whole batch, since every inbox shares the stream's slot. A failed XADD (the
# stream's key is not a stream) stops the script before anything is written.
# The stream is trimmed to about its bound on the way (MAXLEN ~).
# KEYS: stream, then an inbox per job.
# ARGV: inbox TTL, stream bound, then order key and entry per job.
PUT: Final = """
local ids = {}
for i = 2, #KEYS do
  ids[i - 1] = redis.call(
    'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'ordered', 'key', ARGV[2 * i - 1])
  if redis.call('RPUSH', KEYS[i], ARGV[2 * i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
return ids
"""
# Extend our lease; 0 when it is not ours any more. KEYS: lease. ARGV: token, lease ms.
RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
