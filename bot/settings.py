"""All configuration, read once from the environment (or a ``.env`` file) into one object.

Nothing else in the code reads the environment: the composition root builds
:class:`Settings` and passes what each part needs. Values a given process cannot run without
are checked by :meth:`Settings.require`, so a missing one fails at start with its name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from platformdirs import user_data_path
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SANDBOX = "sandbox"
"""``PARTNER_CENTER_BASE_URL`` value that starts the built-in Partner Center sandbox."""

DEFAULT_PARTNER_CENTER_BASE_URL = "https://api.partner.microsoft.com/v1.0"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TEAMS_LOGIN_URL = "https://login.microsoftonline.com"
DEFAULT_TEAMS_OPENID_METADATA_URL = (
    "https://login.botframework.com/v1/.well-known/openidconfiguration"
)
DEFAULT_TEAMS_SERVICE_URL_HOSTS = (
    "smba.trafficmanager.net",  # the public cloud
    "smba.infra.gcc.teams.microsoft.com",  # GCC
    "smba.infra.gov.teams.microsoft.us",  # GCC High
    "smba.infra.dod.teams.microsoft.us",  # DoD
)
"""The Bot Connector hosts of Teams' clouds: the only ``serviceUrl``s the bot sends its token to."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_REFERRAL_URL = "https://partner.microsoft.com/dashboard/referrals/v2/opportunities/{id}"
DEFAULT_ENTRA_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_PARTNER_CENTER_SCOPE = "https://api.partner.microsoft.com/user_impersonation"
DEFAULT_PARTNER_CENTER_WEBHOOKS_URL = "https://api.partnercenter.microsoft.com/webhooks/v1"
DEFAULT_PARTNER_CENTER_WEBHOOK_CERT_URLS = ("https://3psostorageacct.blob.core.windows.net/cert/",)
"""Where Partner Center's webhook signing certificate is documented to live."""

AuthMode = Literal["user", "service", "static"]


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


class Settings(BaseSettings):
    """Every setting, named as its environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    redis_url: str | None = None
    redis_cluster: bool = False
    """``REDIS_URL`` names a Redis Cluster node (a managed service's configuration endpoint);
    a ``redis+cluster://host:port,host:port`` URL says so without this."""
    redis_max_connections: int = Field(default=50, ge=1, le=10_000)
    redis_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    redis_socket_timeout_seconds: float = Field(default=2.0, gt=0)
    data_dir: Path = Field(default_factory=lambda: user_data_path("referral-bot"))
    partner_center_base_url: str = DEFAULT_PARTNER_CENTER_BASE_URL
    partner_center_token: SecretStr | None = None
    partner_center_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    partner_center_max_attempts: int = Field(default=4, ge=1, le=10)
    partner_center_max_pages: int = Field(default=50, ge=1, le=10_000)
    partner_center_scope: str = Field(default=DEFAULT_PARTNER_CENTER_SCOPE, min_length=1)
    partner_center_webhook_cert_urls: Annotated[tuple[str, ...], NoDecode] = (
        DEFAULT_PARTNER_CENTER_WEBHOOK_CERT_URLS
    )
    """URL prefixes (comma-separated, https) a webhook's ``x-ms-certificate-url`` must start
    with; nothing else is ever downloaded, so a forged request cannot point the bot at a
    certificate of its own."""
    partner_center_webhook_ca_bundle: Path | None = None
    """Trust anchors (PEM) the webhook signing certificate must chain to; unset, the system's
    store. Add Microsoft's issuing CA here if the store lacks it."""
    partner_center_webhooks_url: str = DEFAULT_PARTNER_CENTER_WEBHOOKS_URL
    """The webhook registration API's root (a different host from the Referrals API); with
    ``PARTNER_CENTER_BASE_URL=sandbox``, the sandbox's own is used."""
    partner_center_webhooks_scope: str = Field(
        default="https://api.partnercenter.microsoft.com/user_impersonation", min_length=1
    )
    """The delegated scope of the webhook registration API (another audience than the
    Referrals API's)."""
    auth_mode: AuthMode | None = None
    """Who Partner Center calls act as; unset: ``user`` once ``ENTRA_CLIENT_ID`` is set, else
    ``static`` (see :attr:`sign_in_mode`)."""
    token_encryption_key: SecretStr | None = None
    """Fernet keys (comma-separated, newest first) sealing the token caches in Redis."""
    entra_authority: AnyHttpUrl = AnyHttpUrl(DEFAULT_ENTRA_AUTHORITY)
    entra_tenant_id: str | None = None
    entra_client_id: str | None = None
    entra_client_secret: SecretStr | None = None
    entra_client_certificate_path: Path | None = None
    """A PEM holding the app's private key and certificate (instead of a client secret)."""
    requests_ca_bundle: Path | None = None
    ssl_cert_file: Path | None = None
    """Where TLS trust anchors for sign-in come from (``REQUESTS_CA_BUNDLE`` first); unset,
    the system's store."""
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SLACK_API_URL)
    worker_concurrency: int = Field(default=32, ge=1, le=1000)
    job_stream: str = Field(default="rb:jobs", min_length=1, pattern=r"^\S+$")
    job_stream_shards: int = Field(default=1, ge=1, le=256)
    """How many streams the job stream is split into (see :mod:`bot.jobs.keys`): 1 on a
    single server; on a cluster, a few per master so no node carries all the turns."""
    dead_letter_days: float = Field(default=7, gt=0, le=3650)
    teams_client_id: str | None = None
    teams_client_secret: SecretStr | None = None
    teams_tenant_id: str | None = None
    teams_login_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_TEAMS_LOGIN_URL)
    """Where the signing keys of inbound Entra-issued tokens are read
    (``{root}/{tenant}/discovery/v2.0/keys``); the bot's own tokens come from msal at
    :attr:`entra_authority`."""
    teams_openid_metadata_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_TEAMS_OPENID_METADATA_URL)
    teams_allow_unauthenticated: bool = False
    teams_service_url_hosts: Annotated[tuple[str, ...], NoDecode] = DEFAULT_TEAMS_SERVICE_URL_HOSTS
    teams_allowed_tenants: Annotated[tuple[str, ...], NoDecode] = ()
    slack_allowed_teams: Annotated[tuple[str, ...], NoDecode] = ()
    allow_guests: bool = False
    approvers: Annotated[tuple[str, ...], NoDecode] = ()
    referral_admins: Annotated[tuple[str, ...], NoDecode] = ()
    """Chat user ids or emails (comma-separated) who see and change every referral; everyone
    else only those whose team includes the email of their chat profile."""

    @field_validator("referral_admins", mode="before")
    @classmethod
    def _split_referral_admins(cls, value: Any) -> Any:
        # Comma-separated, like APPROVERS.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    approvals_channel: str | None = None
    """The Slack channel (its id, ``C…`` or ``G…``) requests for deal-registration approval
    go to, unless an approver sets one with ``/referral approvals here``."""
    approval_ttl_days: int = Field(default=7, ge=1, le=90)
    """A request for approval left unanswered this many days expires."""

    inbound_channel: str | None = None
    """The Slack channel (its id) incoming referrals are triaged in, unless someone sets one
    with ``/referral inbound here``."""
    inbound_reminder_days: Annotated[tuple[int, ...], NoDecode] = (3, 1)
    """Remind of an incoming referral left unanswered when this many days are left before
    Partner Center archives it (comma-separated, e.g. ``3,1``; empty: no reminders)."""

    @field_validator("inbound_reminder_days", mode="before")
    @classmethod
    def _split_reminder_days(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("inbound_reminder_days")
    @classmethod
    def _reminder_days_in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        # Partner Center lets an incoming referral wait 14 days: a reminder later than that,
        # or at 0 days left, would never be told.
        if any(not 1 <= days <= 14 for days in value):
            raise ValueError("each must be a whole number of days from 1 to 14, such as 3,1")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("approvals_channel", "inbound_channel", mode="before")
    @classmethod
    def _slack_channel_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        if isinstance(value, str) and not (
            value[:1] in ("C", "G") and value[1:].isalnum() and value.isupper()
        ):
            raise ValueError(
                "must be a Slack channel id such as C0123ABCD (the channel's details show it), "
                "not its name"
            )
        return value

    poll_interval_seconds: float = Field(default=600.0, gt=0)
    """How often the reconciliation poll looks for changes webhooks missed."""
    partner_center_referral_url: str | None = DEFAULT_REFERRAL_URL
    """A referral's page in Partner Center's web UI (``{id}`` is its id), linked from the cards
    channels get; empty: no link."""

    @field_validator("partner_center_referral_url", mode="before")
    @classmethod
    def _referral_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and "{id}" not in value:
            raise ValueError("must hold {id}, where the referral's id goes")
        return value

    session_ttl_seconds: int = Field(default=72 * 3600, gt=0)
    public_url: AnyHttpUrl | None = None
    host: str = Field(default=DEFAULT_HOST, min_length=1)
    port: int = Field(default=3000, ge=1, le=65535)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Where this process serves ``/metrics`` for a Prometheus scraper (on ``HOST``); unset:
    nowhere. Each process on one machine needs a port of its own."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] | None = None
    """``json`` (one object a line, with the request, job and conversation they belong to) or
    ``text``; unset: text on a terminal, JSON otherwise."""
    log_level_libraries: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None
    """Third-party loggers' level; unset, they stay at INFO or above whatever LOG_LEVEL is."""

    @field_validator("approvers", mode="before")
    @classmethod
    def _split_approvers(cls, value: Any) -> Any:
        # A comma-separated list reads better in an environment variable than JSON.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "teams_service_url_hosts", "teams_allowed_tenants", "slack_allowed_teams", mode="before"
    )
    @classmethod
    def _split_allowlists(cls, value: Any) -> Any:
        # Comma-separated; hosts and tenant ids compare case-insensitively.
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(part).strip() for part in value if str(part).strip())
        return value

    @field_validator("teams_service_url_hosts", "teams_allowed_tenants")
    @classmethod
    def _lower_case(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(part.lower() for part in value)

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _unset_metrics_port(cls, value: Any) -> Any:
        # An empty METRICS_PORT= means no metrics listener, as if it were not there.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: Any) -> Any:
        # An empty LOG_FORMAT= means unset, as if it were not there.
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("log_level", "log_level_libraries", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        # An empty LOG_LEVEL_LIBRARIES= means unset, as if it were not there.
        return (value.strip().upper() or None) if isinstance(value, str) else value

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _lower_auth_mode(cls, value: Any) -> Any:
        # An empty AUTH_MODE= means unset, as if it were not there.
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("entra_authority")
    @classmethod
    def _https_authority(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        # Tokens and secrets travel to the authority: never in clear.
        if value.scheme != "https":
            raise ValueError("must be an https URL, such as " + DEFAULT_ENTRA_AUTHORITY)
        return value

    @field_validator("partner_center_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == SANDBOX:
            return SANDBOX
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be an http(s) URL of the API root, such as "
                f"{DEFAULT_PARTNER_CENTER_BASE_URL}, or 'sandbox'"
            )
        return value.rstrip("/")

    @field_validator("partner_center_webhook_cert_urls", mode="before")
    @classmethod
    def _split_cert_urls(cls, value: Any) -> Any:
        # Comma-separated, like TEAMS_SERVICE_URL_HOSTS.
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(part).strip() for part in value if str(part).strip())
        return value

    @field_validator("partner_center_webhook_cert_urls")
    @classmethod
    def _https_cert_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A certificate fetched in clear could be swapped on the way: https only, and a prefix
        # with a host and a path (a bare host would allow any file on it).
        if not value:
            raise ValueError("needs at least one https URL prefix")
        for url in value:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname or not parts.path.startswith("/"):
                raise ValueError(
                    f"{url!r} must be an https URL prefix with a path, such as "
                    f"{DEFAULT_PARTNER_CENTER_WEBHOOK_CERT_URLS[0]}"
                )
            if parts.query or parts.fragment:
                raise ValueError(f"{url!r} must have no query or fragment")
        return value

    @field_validator("partner_center_webhooks_url")
    @classmethod
    def _check_webhooks_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                f"must be an http(s) URL such as {DEFAULT_PARTNER_CENTER_WEBHOOKS_URL}"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _unauthenticated_only_locally(self) -> Settings:
        # Accepting unsigned activities is for a laptop and the Bot Framework Emulator; a
        # deployment with a public URL must never run that way, whatever else is set.
        if self.teams_allow_unauthenticated and self.public_url is not None:
            raise ValueError(
                "TEAMS_ALLOW_UNAUTHENTICATED is for local development only and is refused "
                "when PUBLIC_URL is set"
            )
        if self.teams_allow_unauthenticated and not is_loopback(self.host):
            raise ValueError(
                "TEAMS_ALLOW_UNAUTHENTICATED is for local development only and is refused "
                f"unless the server listens on loopback (HOST={self.host})"
            )
        return self

    @model_validator(mode="after")
    def _shards_named(self) -> Settings:
        if self.job_stream_shards > 1 and ("{" in self.job_stream or "}" in self.job_stream):
            raise ValueError(
                f"JOB_STREAM={self.job_stream} has a hash tag; with JOB_STREAM_SHARDS="
                f"{self.job_stream_shards} each shard gets a tag of its own, so leave the "
                "braces out"
            )
        return self

    @property
    def teams_tenants(self) -> tuple[str, ...]:
        """The Entra tenants served: ``TEAMS_ALLOWED_TENANTS``, else ``TEAMS_TENANT_ID``."""
        if self.teams_allowed_tenants:
            return self.teams_allowed_tenants
        return (self.teams_tenant_id.lower(),) if self.teams_tenant_id else ()

    @property
    def sign_in_mode(self) -> AuthMode:
        """``AUTH_MODE``, or its default: ``user`` once an app registration is configured."""
        if self.auth_mode is not None:
            return self.auth_mode
        return "user" if self.entra_client_id else "static"

    @property
    def ca_bundle(self) -> Path | None:
        """The CA bundle sign-in trusts: ``REQUESTS_CA_BUNDLE``, else ``SSL_CERT_FILE``."""
        return self.requests_ca_bundle or self.ssl_cert_file

    @property
    def uses_sandbox(self) -> bool:
        """Whether the built-in sandbox stands in for Partner Center."""
        return self.partner_center_base_url == SANDBOX

    def require(self, *names: str) -> None:
        """Fail with one message naming every listed setting that is not set."""
        missing = [name.upper() for name in names if _is_unset(getattr(self, name))]
        if missing:
            raise ConfigurationError(f"Missing required setting(s): {', '.join(missing)}.")


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation errors into one clear message per variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc.errors())) from None


def _describe(errors: Iterable[Any]) -> str:
    lines = []
    for error in errors:
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        lines.append(f"{name}: {error['msg']}")
    return "Invalid configuration:\n  " + "\n  ".join(lines)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_unset(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return not value.get_secret_value()
    return value is None or value in ("", ())
