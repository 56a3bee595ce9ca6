"""Sign-in settings: what each AUTH_MODE needs is checked at start, naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from bot.app.clients import check_partner_center_settings
from bot.app.web import build_web_app
from bot.identity.sealing import CHECK_KEY, CHECK_PLAINTEXT, Sealer
from bot.identity.setup import build_sign_in
from bot.settings import ConfigurationError, Settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sign_in import TEST_KEY, settings_for


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_an_app_registration_makes_user_mode_the_default() -> None:
    assert settings().sign_in_mode == "static"
    assert settings(entra_client_id="app").sign_in_mode == "user"
    assert settings(entra_client_id="app", auth_mode="service").sign_in_mode == "service"
    assert settings(auth_mode="").sign_in_mode == "static"


@pytest.mark.parametrize(
    ("mode", "named"),
    [
        ("user", "ENTRA_CLIENT_ID, ENTRA_TENANT_ID, TOKEN_ENCRYPTION_KEY, PUBLIC_URL"),
        ("service", "ENTRA_CLIENT_ID, ENTRA_TENANT_ID, TOKEN_ENCRYPTION_KEY"),
    ],
)
def test_what_a_mode_lacks_is_named_at_start(mode: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match=f"Missing required setting\\(s\\): {named}\\."):
        build_web_app(settings(auth_mode=mode))


def test_user_mode_needs_a_secret_or_a_certificate(identity: IdentityStandIn) -> None:
    configured = settings_for(identity, "redis://unused", entra_client_secret=None)
    with pytest.raises(ConfigurationError, match="ENTRA_CLIENT_SECRET or ENTRA_CLIENT_CERT"):
        check_partner_center_settings(configured)


def test_a_malformed_key_is_a_start_up_error(identity: IdentityStandIn) -> None:
    configured = settings_for(identity, "redis://unused", token_encryption_key="short")
    with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEY: key 1 of 1"):
        check_partner_center_settings(configured)


def test_an_unreadable_certificate_is_a_start_up_error(
    identity: IdentityStandIn,
) -> None:
    configured = settings_for(
        identity, "redis://unused", entra_client_certificate_path="/nonexistent/app.pem"
    )
    with pytest.raises(ConfigurationError, match="ENTRA_CLIENT_CERTIFICATE_PATH: cannot read"):
        check_partner_center_settings(configured)


async def test_a_key_that_does_not_open_the_stored_caches_stops_the_start(
    identity: IdentityStandIn, redis_url: str, redis: Redis
) -> None:
    (await build_sign_in(settings_for(identity, redis_url), redis)).close()
    other = Fernet.generate_key().decode()
    try:
        with pytest.raises(ConfigurationError, match="does not open the token caches"):
            await build_sign_in(
                settings_for(identity, redis_url, token_encryption_key=other), redis
            )
        # Rotated the right way (the new key first, the old one kept), it starts.
        rotated = f"{other},{TEST_KEY}"
        (
            await build_sign_in(
                settings_for(identity, redis_url, token_encryption_key=rotated), redis
            )
        ).close()
    finally:
        # The check value is shared by the suite: sealed with the suite's key again.
        await redis.set(CHECK_KEY, Sealer(TEST_KEY).seal(CHECK_PLAINTEXT))


def test_the_authority_must_be_https() -> None:
    with pytest.raises(ValueError, match="must be an https URL"):
        settings(entra_authority="http://login.example")


def test_a_certificate_needs_its_private_key_beside_it(
    identity: IdentityStandIn, tmp_path: Path
) -> None:
    issued = trustme.CA().issue_cert("referral-bot.example")
    both, only_cert = tmp_path / "app.pem", tmp_path / "cert.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(both))
    issued.cert_chain_pems[0].write_to_path(str(only_cert))

    check_partner_center_settings(
        settings_for(identity, "redis://unused", entra_client_certificate_path=both)
    )
    with pytest.raises(ConfigurationError, match="must hold the private key and the certificate"):
        check_partner_center_settings(
            settings_for(identity, "redis://unused", entra_client_certificate_path=only_cert)
        )
