"""Sealing token caches: Fernet keys from TOKEN_ENCRYPTION_KEY, rotation, and the start-up
check that the configured keys open what Redis already holds."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from bot.identity.sealing import KeyProblem, Sealer, Unreadable

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_a_sealed_value_opens_and_holds_nothing_in_clear() -> None:
    sealer = Sealer(OLD)
    sealed = sealer.seal(b'{"refresh_token": "rt-secret"}')
    assert b"rt-secret" not in sealed
    assert sealer.open(sealed) == b'{"refresh_token": "rt-secret"}'


def test_after_a_rotation_the_old_key_still_opens_and_the_new_one_seals() -> None:
    before = Sealer(OLD).seal(b"cache")
    rotated = Sealer(f"{NEW}, {OLD}")
    assert rotated.open(before) == b"cache"
    assert Sealer(NEW).open(rotated.seal(b"cache")) == b"cache"
    with pytest.raises(Unreadable):
        Sealer(NEW).open(before)


@pytest.mark.parametrize("keys", [None, "", " , "])
def test_a_missing_key_names_the_setting_and_how_to_make_one(keys: str | None) -> None:
    with pytest.raises(KeyProblem, match="TOKEN_ENCRYPTION_KEY") as raised:
        Sealer(keys)
    assert "Fernet.generate_key" in str(raised.value)


def test_a_malformed_key_is_named_by_position_never_echoed() -> None:
    with pytest.raises(KeyProblem, match="key 2 of 2 is not a Fernet key") as raised:
        Sealer(f"{OLD},not-a-key-but-secret")
    assert "not-a-key-but-secret" not in str(raised.value)


async def test_keys_that_do_not_open_the_stored_caches_stop_the_start(
    redis: Redis, redis_namespace: str
) -> None:
    check = f"rb:identity:key-check:{redis_namespace}"
    await Sealer(OLD).check_against(redis, check_key=check)

    with pytest.raises(KeyProblem, match="does not open the token caches"):
        await Sealer(NEW).check_against(redis, check_key=check)
    # Rotating (new first, old kept) starts, and re-seals the check with the new key...
    await Sealer(f"{NEW},{OLD}").check_against(redis, check_key=check)
    # ...so that, once the caches are rewritten, the old key can go.
    await Sealer(NEW).check_against(redis, check_key=check)
