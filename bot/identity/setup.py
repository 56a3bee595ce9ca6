"""Turning the sign-in settings into live parts, with every mistake caught at start-up.

``AUTH_MODE=static`` needs none of this. ``service`` and ``user`` need the app registration,
``TOKEN_ENCRYPTION_KEY`` (checked against what Redis already holds), and for ``user`` a
credential and ``PUBLIC_URL`` for the callback. Each missing or malformed one stops the
process at start with its name, never a seller's turn later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.identity.apps import CredentialProblem, MsalApps, Registration
from bot.identity.caches import SERVICE_PRINCIPAL, TokenCaches
from bot.identity.identity import Identity
from bot.identity.sealing import KeyProblem, Sealer
from bot.identity.signin import CALLBACK_PATH, SignIns
from bot.identity.tokens import DelegatedTokens
from bot.partner_center.auth import TokenProvider
from bot.settings import ConfigurationError, Settings
from bot.storage.redis import RedisClient


@dataclass(frozen=True, slots=True)
class SignInParts:
    """Everything sign-in is made of, for one process."""

    identity: Identity
    apps: MsalApps
    caches: TokenCaches
    sign_ins: SignIns | None
    """Links and the callback (``user`` mode)."""
    delegated: DelegatedTokens
    """Tokens for whoever calls act as: each seller (``user``) or the integration user."""
    service: DelegatedTokens
    """The integration user's tokens (``referral-bot login``; the command line acts as it)."""

    def tokens_for(
        self, *, as_integration_user: bool = False
    ) -> tuple[TokenProvider, Callable[[str], TokenProvider] | None]:
        """The client's default token provider, and one per principal when sellers act as
        themselves (unless ``as_integration_user``: the command line)."""
        if self.identity.per_seller and not as_integration_user:
            return ActingForNobody(), self.delegated.provider
        return self.service.provider(SERVICE_PRINCIPAL), None

    def close(self) -> None:
        """Close the HTTP session msal uses."""
        self.apps.close()


class ActingForNobody:
    """The client's tokens when every call must say whom it acts for: a call that does not
    is a programming error, found by the first test that makes it."""

    async def token(self) -> str:
        """Never: see the class."""
        raise RuntimeError(
            "with AUTH_MODE=user every Partner Center call acts for a seller: "
            "use client.acting_for(conversation key)"
        )

    def invalidate(self, token: str) -> bool:
        """Nothing to invalidate."""
        return False


def check_sign_in_settings(settings: Settings) -> None:
    """Raise :class:`ConfigurationError` naming what ``AUTH_MODE`` needs and lacks."""
    mode = settings.sign_in_mode
    if mode == "static":
        return
    needed = ["entra_client_id", "entra_tenant_id", "token_encryption_key"]
    if mode == "user":
        needed.append("public_url")
    settings.require(*needed)
    if (
        mode == "user"
        and settings.entra_client_certificate_path is None
        and settings.entra_client_secret is None
    ):
        raise ConfigurationError(
            "Missing required setting(s): ENTRA_CLIENT_SECRET or "
            "ENTRA_CLIENT_CERTIFICATE_PATH (AUTH_MODE=user signs sellers in through a "
            "web app registration)."
        )
    try:
        Sealer(settings.token_encryption_key)
        MsalApps(registration(settings)).close()  # reads the certificate, if any
    except (KeyProblem, CredentialProblem) as problem:
        raise ConfigurationError(str(problem)) from None


def registration(settings: Settings) -> Registration:
    """The Partner Center app registration the settings describe."""
    assert settings.entra_client_id is not None
    assert settings.entra_tenant_id is not None
    return Registration(
        client_id=settings.entra_client_id,
        tenant_id=settings.entra_tenant_id,
        authority_root=str(settings.entra_authority),
        client_secret=settings.entra_client_secret,
        certificate_path=settings.entra_client_certificate_path,
        ca_bundle=settings.ca_bundle,
    )


async def build_sign_in(settings: Settings, redis: RedisClient) -> SignInParts:
    """The sign-in parts of ``service`` and ``user`` mode, keys checked against Redis."""
    check_sign_in_settings(settings)
    try:
        sealer = Sealer(settings.token_encryption_key)
        await sealer.check_against(redis)
        apps = MsalApps(registration(settings))
    except (KeyProblem, CredentialProblem) as problem:
        raise ConfigurationError(str(problem)) from None
    caches = TokenCaches(redis, sealer)
    scopes = [settings.partner_center_scope]
    service = DelegatedTokens(apps, caches, scopes=scopes, service=True)
    if settings.sign_in_mode == "service":
        identity = Identity("service", caches=caches, tokens=service)
        return SignInParts(identity, apps, caches, None, service, service)
    assert settings.public_url is not None
    sign_ins = SignIns(
        redis,
        sealer,
        apps,
        caches,
        scopes=scopes,
        redirect_uri=str(settings.public_url).rstrip("/") + CALLBACK_PATH,
    )
    delegated = DelegatedTokens(apps, caches, scopes=scopes)
    identity = Identity("user", caches=caches, sign_ins=sign_ins, tokens=delegated)
    return SignInParts(identity, apps, caches, sign_ins, delegated, service)
