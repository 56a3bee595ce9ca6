"""Sealing token caches before they reach Redis: Fernet (AES-128-CBC with HMAC-SHA256).

``TOKEN_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated, newest first. The
newest seals; every one of them opens, so a key can be rotated without signing everyone out:
put the new key first, keep the old one after it until every cache has been written again
(a refresh rewrites it), then drop the old one.

A *check value* sealed with the newest key lives beside the caches. At start-up a process
opens it: if none of its keys can, its keys are not the ones the caches were sealed with, and
the process refuses to start, naming the setting, instead of failing on a seller's turn.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.storage.redis import RedisClient

CHECK_KEY = "rb:identity:key-check"
"""The sealed check value (in Redis): proof that this deployment's keys open its caches."""
CHECK_PLAINTEXT = b"referral-bot token caches"


class KeyProblem(Exception):
    """``TOKEN_ENCRYPTION_KEY`` is missing, malformed, or does not open what is stored."""


class Unreadable(Exception):
    """A sealed value that none of the keys opens (or that was altered)."""


class Sealer:
    """Seals with the newest key; opens with any of them."""

    def __init__(self, keys: SecretStr | str | None) -> None:
        raw = keys.get_secret_value() if isinstance(keys, SecretStr) else (keys or "")
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not parts:
            raise KeyProblem(
                "Missing required setting(s): TOKEN_ENCRYPTION_KEY. Sign-in keeps tokens in "
                'Redis sealed with it; make one with: python -c "from cryptography.fernet '
                'import Fernet; print(Fernet.generate_key().decode())"'
            )
        fernets = []
        for position, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part.encode()))
            except ValueError:
                # Never echo the value: it is a secret even when malformed.
                raise KeyProblem(
                    f"TOKEN_ENCRYPTION_KEY: key {position} of {len(parts)} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes)."
                ) from None
        self._keys = MultiFernet(fernets)
        self.key_count = len(fernets)

    def seal(self, plaintext: bytes) -> bytes:
        """``plaintext`` sealed with the newest key."""
        return self._keys.encrypt(plaintext)

    def open(self, sealed: bytes | str) -> bytes:
        """The plaintext of ``sealed``; :class:`Unreadable` when no key opens it."""
        try:
            return self._keys.decrypt(sealed)
        except InvalidToken:
            raise Unreadable("no TOKEN_ENCRYPTION_KEY key opens this value") from None

    async def check_against(self, redis: RedisClient, *, check_key: str = CHECK_KEY) -> None:
        """Refuse to start when these keys cannot open the caches already stored.

        The first process with keys writes the check value; a process whose keys open it
        re-seals it with its newest key, so after a rotation the old key can be dropped
        once every cache has been rewritten.
        """
        stored = await redis.get(check_key)
        if stored is not None:
            try:
                if self.open(stored) != CHECK_PLAINTEXT:
                    raise Unreadable("the check value is not ours")
            except Unreadable:
                raise KeyProblem(
                    "TOKEN_ENCRYPTION_KEY does not open the token caches stored in Redis (a "
                    "new key without the old one after it?). Put the key they were sealed "
                    "with back in the list, after the new one."
                ) from None
        await redis.set(check_key, self.seal(CHECK_PLAINTEXT))
