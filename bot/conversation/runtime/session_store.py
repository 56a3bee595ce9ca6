"""The session store: one opaque value per conversation in Redis, written by compare-and-set.

The engine serializes a session to bytes; the store keeps those bytes with a version number
and knows nothing of what they mean. Every operation is one round trip to Redis:

``load``
    ``HMGET`` of the session hash ``{v: version, d: data}``.
``save`` / ``delete``
    a Lua script run with ``EVALSHA`` that compares the stored version with the expected one
    and writes version, data and TTL together, or nothing. A script is atomic on the server,
    so two inputs racing on one step cannot both win, and a write is never half done. After
    the server lost its script cache (a restart), the first call falls back to ``EVAL``
    (that call costs two round trips; ``EVAL`` caches the script again).
``claim`` / ``settle`` / ``release``
    set-if-absent on a side key for idempotent submits: a double click creates one referral.
``put`` / ``get`` / ``forget``
    a plain value on a side key with a TTL (``SET EX``, ``GET``, ``DEL``), for small facts that
    outlive a session, such as "this seller had a draft that expired".

``round_trips`` counts the requests the store sends (commands and script calls); redis-py's
own reconnection retry and idle-connection PING below it are not counted.

Keys (see :class:`KeyBuilder`) share the conversation's hash tag, ``rb:{slack:T1:U2}:session``,
``rb:{slack:T1:U2}:submit:<draft id>``, so they live in one Redis Cluster slot. Claims and side
values share one namespace of names per conversation; ``session`` is the session's own.

Errors: a connection refused, reset or timed out, or a pool with no free connection, surfaces
as :class:`StoreUnavailable`, so the engine can say "try again shortly". redis-py's own retry
(see :mod:`bot.storage.redis`) runs below this; a retried script that had in fact run reports
a conflict (``save`` returns None), never a double write.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.redis import RedisClient, RedisUnavailable

KEY_PREFIX: Final = "rb"
SESSION_PART: Final = "session"
MAX_CONVERSATION_KEY_LENGTH: Final = 1024
"""Longest conversation key, after escaping (Teams conversation ids run to a few hundred)."""

# Redis errors that mean "the server is not there right now", not "the request was wrong".
# ReadOnlyError is what a replica answers for a moment while a managed Redis fails over.
_UNAVAILABLE: Final = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)

# Claim values carry a tag byte, so a loser can tell a submit in progress from a finished one.
_IN_PROGRESS: Final = b"T"
_SETTLED: Final = b"R"

_PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
# Escaped as %XX: the hash-tag braces, "%" itself (so escaping is reversible and two keys
# never collide), glob metacharacters (so SCAN patterns over keys stay exact), and anything
# outside printable ASCII (spaces, control characters, non-ASCII letters).
_UNSAFE = re.compile(r"[%{}*?\[\]\\]|[^\x21-\x7e]")


class StoreUnavailable(RedisUnavailable):
    """The session store cannot reach Redis right now; the user should try again shortly."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored session: its version for the next compare-and-set, and the engine's bytes."""

    version: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of :meth:`SessionStore.claim`.

    Exactly one of three cases:

    - ``won``: the caller holds the claim;
    - lost to a holder still working: ``result`` is None;
    - lost to a finished holder: ``result`` is what it settled with.
    """

    won: bool
    result: bytes | None = None


class SessionStore(Protocol):
    """Where conversations keep their state: versioned opaque bytes, plus submit claims."""

    round_trips: int
    """Requests sent to the server so far (commands and script calls)."""

    async def load(self, key: str) -> Stored | None:
        """The session of conversation ``key``, or None if there is none (or it expired)."""
        ...

    async def save(
        self, key: str, data: bytes, *, expected_version: int | None, ttl_seconds: int
    ) -> int | None:
        """Write ``data`` if the stored version is ``expected_version``; the new version or None.

        ``expected_version=None`` creates the session only if there is none, as version 1.
        Otherwise the write succeeds only if the stored version equals ``expected_version``,
        and stores version + 1. Either way the TTL is set to ``ttl_seconds`` (sliding).
        None means nothing was written: another write came first, or the session expired.
        """
        ...

    async def save_or_current(
        self, key: str, data: bytes, *, expected_version: int | None, ttl_seconds: int
    ) -> int | Stored | None:
        """Like :meth:`save`, but when nothing is written, return what is stored instead.

        The new version (an ``int``) when written; the stored session when another version is
        there; None when there is no session (it expired, or was deleted).
        """
        ...

    async def delete(self, key: str, *, expected_version: int) -> bool:
        """Delete the session if its version is ``expected_version``; whether it was deleted."""
        ...

    async def claim(self, key: str, name: str, token: str, ttl_seconds: int) -> Claim:
        """Take the claim ``name`` of conversation ``key`` with ``token`` unless someone has it.

        A claim not settled or released expires after ``ttl_seconds``, so a crashed holder
        does not block the conversation for ever. Use a name per piece of work, such as
        ``submit:<draft id>``, so a later draft is not mistaken for a finished one.
        """
        ...

    async def settle(
        self, key: str, name: str, token: str, result: bytes, ttl_seconds: int
    ) -> bool:
        """Replace our claim by ``result`` (kept ``ttl_seconds``); False if we no longer hold it."""
        ...

    async def release(self, key: str, name: str, token: str) -> bool:
        """Drop our claim so the work can be retried; False if we no longer held it."""
        ...

    async def renew(self, key: str, name: str, token: str, ttl_seconds: int) -> bool:
        """Keep our claim another ``ttl_seconds`` (a holder at work says it is alive); False
        if we no longer hold it."""
        ...

    async def put(self, key: str, name: str, data: bytes, *, ttl_seconds: int) -> None:
        """Store the side value ``name`` of conversation ``key`` for ``ttl_seconds``."""
        ...

    async def get(self, key: str, name: str) -> bytes | None:
        """The side value ``name`` of conversation ``key``, or None."""
        ...

    async def forget(self, key: str, name: str) -> bool:
        """Delete the side value ``name``; whether there was one."""
        ...


def escape_conversation_key(key: str) -> str:
    """``key`` made safe inside a hash tag: braces, ``%`` and unusual characters become %XX."""
    if not key:
        raise ValueError("a conversation key must not be empty")
    escaped = _UNSAFE.sub(lambda match: "".join(f"%{b:02X}" for b in match[0].encode()), key)
    if len(escaped) > MAX_CONVERSATION_KEY_LENGTH:
        raise ValueError(
            f"conversation key longer than {MAX_CONVERSATION_KEY_LENGTH} characters: "
            f"{key[:40]!r}..."
        )
    return escaped


@dataclass(frozen=True, slots=True)
class KeyBuilder:
    """Builds ``<prefix>:{<conversation key>}:<part>``: every key of one conversation shares
    the hash tag in braces, so multi-key scripts work unchanged on Redis Cluster."""

    prefix: str = KEY_PREFIX

    def tag(self, conversation: str) -> str:
        """The hash tag of a conversation, braces included."""
        return "{" + escape_conversation_key(conversation) + "}"

    def key(self, conversation: str, part: str) -> str:
        """The key of one ``part`` (``session``, ``submit:<id>``) of a conversation."""
        if not _PART_NAME.fullmatch(part):
            raise ValueError(
                f"invalid key part {part!r}: use letters, digits, '_', '.', ':', '-' "
                "(at most 128, starting with a letter or digit)"
            )
        return f"{self.prefix}:{self.tag(conversation)}:{part}"

    def session(self, conversation: str) -> str:
        """The key of the session hash."""
        return self.key(conversation, SESSION_PART)

    def claim(self, conversation: str, name: str) -> str:
        """The key of a claim or side value ``name``; ``session`` is the session's own."""
        if name == SESSION_PART:
            raise ValueError(f"{SESSION_PART!r} is not a claim name")
        return self.key(conversation, name)


@dataclass(frozen=True, slots=True)
class _Script:
    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> _Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


# KEYS[1] session hash. ARGV: expected version ("" = create only if absent), data, TTL seconds.
# Returns the new version when written; otherwise what is stored now as {version, data}
# (both nil when nothing is), so a writer with a stale copy can redo its work without
# another round trip to read.
_SAVE = _Script.of("""
local expected = ARGV[1]
local version
if expected == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HMGET', KEYS[1], 'v', 'd') end
  version = 1
else
  local current = redis.call('HMGET', KEYS[1], 'v', 'd')
  if current[1] ~= expected then return current end
  version = tonumber(expected) + 1
end
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return version
""")

# KEYS[1] session hash. ARGV: expected version. Returns 1 if deleted, else 0.
_DELETE = _Script.of("""
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
""")

# KEYS[1] claim. ARGV: tagged token, TTL seconds. Returns nil if we took it, else its value.
_CLAIM = _Script.of("""
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
""")

# KEYS[1] claim. ARGV: tagged token, tagged result, TTL seconds. Returns 1 if settled.
# Finding our own result counts as success: it is a retry of a settle whose reply was lost.
_SETTLE = _Script.of("""
local current = redis.call('GET', KEYS[1])
if current == ARGV[2] then return 1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
""")

# KEYS[1] claim. ARGV: tagged token, TTL seconds. Returns 1 if renewed.
_RENEW = _Script.of("""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
""")

# KEYS[1] claim. ARGV: tagged token. Returns 1 if released.
_RELEASE = _Script.of("""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
""")


class RedisSessionStore:
    """:class:`SessionStore` on Redis (or Valkey); stateless apart from a request counter.

    Takes the shared client from the composition root; the client must return bytes
    (``decode_responses=False``, as :func:`bot.storage.redis.connect` builds it).
    """

    def __init__(self, redis: RedisClient, *, keys: KeyBuilder | None = None) -> None:
        if redis.get_encoder().decode_responses:
            raise ValueError("the session store needs a client with decode_responses=False")
        self._redis = redis
        self.keys = keys or KeyBuilder()
        self.round_trips = 0

    async def load(self, key: str) -> Stored | None:
        """The session of conversation ``key``, or None if there is none (or it expired)."""
        name = self.keys.session(key)
        self.round_trips += 1
        try:
            version, data = await self._redis.hmget(name, ["v", "d"])
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot load the session: {exc}") from exc
        if version is None or data is None:
            return None
        return Stored(int(version), _as_bytes(data))

    async def save(
        self, key: str, data: bytes, *, expected_version: int | None, ttl_seconds: int
    ) -> int | None:
        """Write ``data`` if the stored version is ``expected_version``; the new version or None.

        ``expected_version=None`` creates the session only if there is none, as version 1.
        Otherwise the write succeeds only if the stored version equals ``expected_version``,
        and stores version + 1. Either way the TTL is set to ``ttl_seconds`` (sliding).
        None means nothing was written: another write came first, or the session expired.
        """
        written = await self.save_or_current(
            key, data, expected_version=expected_version, ttl_seconds=ttl_seconds
        )
        return written if isinstance(written, int) else None

    async def save_or_current(
        self, key: str, data: bytes, *, expected_version: int | None, ttl_seconds: int
    ) -> int | Stored | None:
        """Like :meth:`save`, but when nothing is written, return what is stored instead.

        The new version (an ``int``) when written; the stored session when another version is
        there; None when there is no session (it expired, or was deleted).
        """
        if expected_version is not None:
            _check_positive("expected_version", expected_version)
        _check_positive("ttl_seconds", ttl_seconds)
        expected = b"" if expected_version is None else str(expected_version).encode()
        reply = await self._run(_SAVE, self.keys.session(key), expected, bytes(data), ttl_seconds)
        if isinstance(reply, int):
            return reply
        version, current = reply
        if version is None or current is None:
            return None
        return Stored(int(version), _as_bytes(current))

    async def delete(self, key: str, *, expected_version: int) -> bool:
        """Delete the session if its version is ``expected_version``; whether it was deleted."""
        _check_positive("expected_version", expected_version)
        deleted = await self._run(_DELETE, self.keys.session(key), str(expected_version))
        return bool(deleted)

    async def claim(self, key: str, name: str, token: str, ttl_seconds: int) -> Claim:
        """Take the claim ``name`` of conversation ``key`` with ``token`` unless someone has it.

        A claim not settled or released expires after ``ttl_seconds``, so a crashed holder
        does not block the conversation for ever. Use a name per piece of work, such as
        ``submit:<draft id>``, so a later draft is not mistaken for a finished one.
        """
        _check_positive("ttl_seconds", ttl_seconds)
        mine = _tag_token(token)
        current = await self._run(_CLAIM, self.keys.claim(key, name), mine, ttl_seconds)
        # Our own token back means a retried call that had already taken the claim.
        if current is None or current == mine:
            return Claim(won=True)
        current = _as_bytes(current)
        if current.startswith(_SETTLED):
            return Claim(won=False, result=current[len(_SETTLED) :])
        if current.startswith(_IN_PROGRESS):
            return Claim(won=False)
        raise ValueError(f"unexpected value in claim {name!r} of {key!r}")

    async def settle(
        self, key: str, name: str, token: str, result: bytes, ttl_seconds: int
    ) -> bool:
        """Replace our claim by ``result`` (kept ``ttl_seconds``); False if we no longer hold it."""
        _check_positive("ttl_seconds", ttl_seconds)
        settled = await self._run(
            _SETTLE,
            self.keys.claim(key, name),
            _tag_token(token),
            _SETTLED + bytes(result),
            ttl_seconds,
        )
        return bool(settled)

    async def release(self, key: str, name: str, token: str) -> bool:
        """Drop our claim so the work can be retried; False if we no longer held it."""
        released = await self._run(_RELEASE, self.keys.claim(key, name), _tag_token(token))
        return bool(released)

    async def renew(self, key: str, name: str, token: str, ttl_seconds: int) -> bool:
        """Keep our claim another ``ttl_seconds``; False if we no longer hold it."""
        _check_positive("ttl_seconds", ttl_seconds)
        renewed = await self._run(
            _RENEW, self.keys.claim(key, name), _tag_token(token), ttl_seconds
        )
        return bool(renewed)

    async def put(self, key: str, name: str, data: bytes, *, ttl_seconds: int) -> None:
        """Store the side value ``name`` of conversation ``key`` for ``ttl_seconds``."""
        _check_positive("ttl_seconds", ttl_seconds)
        target = self.keys.claim(key, name)
        self.round_trips += 1
        try:
            await self._redis.set(target, bytes(data), ex=ttl_seconds)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot write {name!r}: {exc}") from exc

    async def get(self, key: str, name: str) -> bytes | None:
        """The side value ``name`` of conversation ``key``, or None."""
        target = self.keys.claim(key, name)
        self.round_trips += 1
        try:
            value = await self._redis.get(target)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot read {name!r}: {exc}") from exc
        return None if value is None else _as_bytes(value)

    async def forget(self, key: str, name: str) -> bool:
        """Delete the side value ``name``; whether there was one."""
        target = self.keys.claim(key, name)
        self.round_trips += 1
        try:
            return bool(await self._redis.delete(target))
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot delete {name!r}: {exc}") from exc

    async def _run(self, script: _Script, key: str, *args: bytes | str | int) -> Any:
        """Run ``script`` on one key: EVALSHA, or EVAL when the server does not know it."""
        try:
            self.round_trips += 1
            try:
                return await self._redis.evalsha(script.sha, 1, key, *args)
            except NoScriptError:
                # The server restarted or its script cache was flushed. EVAL runs the script
                # and caches it again, so this costs one extra round trip, once per server.
                self.round_trips += 1
                return await self._redis.eval(script.source, 1, key, *args)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot reach the session store: {exc}") from exc


def _tag_token(token: str) -> bytes:
    if not token:
        raise ValueError("a claim token must not be empty")
    return _IN_PROGRESS + token.encode()


def _check_positive(name: str, value: int) -> None:
    # bool is an int; True as a version or TTL is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    raise TypeError(f"expected bytes from Redis, got {type(value).__name__}")
