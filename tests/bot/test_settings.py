"""Settings: names, defaults, and failures that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SANDBOX, ConfigurationError, Settings, load_settings

ENV_NAMES = (
    "REDIS_URL",
    "PARTNER_CENTER_BASE_URL",
    "PARTNER_CENTER_TOKEN",
    "ENTRA_AUTHORITY",
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "ENTRA_CLIENT_SECRET",
    "ENTRA_CLIENT_CERTIFICATE_PATH",
    "PARTNER_CENTER_SCOPE",
    "PARTNER_CENTER_WEBHOOKS_SCOPE",
    "PARTNER_CENTER_REFERRAL_URL",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "AUTH_MODE",
    "TOKEN_ENCRYPTION_KEY",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "TEAMS_CLIENT_ID",
    "TEAMS_CLIENT_SECRET",
    "TEAMS_TENANT_ID",
    "APPROVERS",
    "APPROVALS_CHANNEL",
    "POLL_INTERVAL_SECONDS",
    "SESSION_TTL_SECONDS",
    "PUBLIC_URL",
    "PORT",
    "LOG_LEVEL",
    "LOG_LEVEL_LIBRARIES",
    "DEAD_LETTER_DAYS",
    "HOST",
    "TEAMS_ALLOW_UNAUTHENTICATED",
    "TEAMS_SERVICE_URL_HOSTS",
    "TEAMS_ALLOWED_TENANTS",
    "SLACK_ALLOWED_TEAMS",
    "ALLOW_GUESTS",
    "PARTNER_CENTER_WEBHOOK_CERT_URLS",
    "PARTNER_CENTER_WEBHOOK_CA_BUNDLE",
    "PARTNER_CENTER_WEBHOOKS_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing_configured() -> None:
    settings = load_settings()
    assert settings.partner_center_base_url == "https://api.partner.microsoft.com/v1.0"
    assert settings.session_ttl_seconds == 72 * 3600
    assert settings.poll_interval_seconds == 600
    assert settings.sign_in_mode == "static"
    assert settings.approvers == ()
    assert not settings.uses_sandbox


def test_every_documented_name_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(ENV_NAMES) <= fields


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNER_CENTER_BASE_URL", "Sandbox")
    monkeypatch.setenv("APPROVERS", "U123, ana@contoso.com ,,")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("PARTNER_CENTER_TOKEN", "s3cret-token")
    settings = load_settings()
    assert settings.partner_center_base_url == SANDBOX
    assert settings.uses_sandbox
    assert settings.approvers == ("U123", "ana@contoso.com")
    assert settings.log_level == "DEBUG"
    assert "s3cret-token" not in repr(settings)
    assert "s3cret-token" not in str(settings.model_dump())


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=8123\n", encoding="utf-8")
    assert load_settings().port == 8123


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT: Input should be a valid integer"),
        ("PORT", "70000", "PORT: Input should be less than or equal to 65535"),
        ("PARTNER_CENTER_BASE_URL", "api.partner.microsoft.com", "PARTNER_CENTER_BASE_URL:"),
        ("AUTH_MODE", "password", "AUTH_MODE: Input should be 'user', 'service' or 'static'"),
        ("SESSION_TTL_SECONDS", "0", "SESSION_TTL_SECONDS: Input should be greater than 0"),
        ("SLACK_API_URL", "not a url", "SLACK_API_URL:"),
        ("APPROVALS_CHANNEL", "#deal-approvals", "APPROVALS_CHANNEL: Value error, must be a Slack"),
        ("APPROVALS_CHANNEL", "c0abc", "APPROVALS_CHANNEL: Value error, must be a Slack"),
        ("APPROVAL_TTL_DAYS", "0", "APPROVAL_TTL_DAYS: Input should be greater than or equal to 1"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: Input should be 'json' or 'text'"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert message in str(info.value)


def test_require_names_every_missing_variable() -> None:
    settings = load_settings()
    with pytest.raises(ConfigurationError) as info:
        settings.require("slack_bot_token", "slack_signing_secret", "port")
    assert str(info.value) == (
        "Missing required setting(s): SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET."
    )


# -- who is served, and where the server listens ------------------------------------------------


def test_the_server_listens_on_loopback_unless_told() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.allow_guests is False
    assert "smba.trafficmanager.net" in settings.teams_service_url_hosts
    assert settings.teams_tenants == ()
    assert settings.slack_allowed_teams == ()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "bot.example.com", "::"])
def test_the_unauthenticated_mode_is_refused_off_loopback(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("TEAMS_ALLOW_UNAUTHENTICATED", "true")
    monkeypatch.setenv("HOST", host)
    with pytest.raises(ConfigurationError, match="TEAMS_ALLOW_UNAUTHENTICATED") as refused:
        load_settings()
    assert "HOST" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_the_unauthenticated_mode_is_allowed_on_loopback(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("TEAMS_ALLOW_UNAUTHENTICATED", "true")
    monkeypatch.setenv("HOST", host)
    assert load_settings().teams_allow_unauthenticated


def test_allowlists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_SERVICE_URL_HOSTS", "SMBA.trafficmanager.net, 127.0.0.1:4000 ,")
    monkeypatch.setenv("TEAMS_ALLOWED_TENANTS", "AAAA-1, bbbb-2")
    monkeypatch.setenv("SLACK_ALLOWED_TEAMS", "T01,T02")
    monkeypatch.setenv("ALLOW_GUESTS", "true")
    settings = load_settings()
    assert settings.teams_service_url_hosts == ("smba.trafficmanager.net", "127.0.0.1:4000")
    assert settings.teams_tenants == ("aaaa-1", "bbbb-2")
    assert settings.slack_allowed_teams == ("T01", "T02")
    assert settings.allow_guests


def test_the_allowed_tenant_defaults_to_the_bots_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_TENANT_ID", "B28FDBFD-2b78")
    assert load_settings().teams_tenants == ("b28fdbfd-2b78",)


def test_referral_admins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().referral_admins == ()
    monkeypatch.setenv("REFERRAL_ADMINS", " U0001, ana@contoso.com ,,")
    assert load_settings().referral_admins == ("U0001", "ana@contoso.com")


def test_dead_letters_are_kept_a_week_and_libraries_log_as_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.dead_letter_days == 7
    assert settings.log_level_libraries is None
    monkeypatch.setenv("DEAD_LETTER_DAYS", "30")
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "debug")
    settings = load_settings()
    assert settings.dead_letter_days == 30
    assert settings.log_level_libraries == "DEBUG"
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "")
    assert load_settings().log_level_libraries is None
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "chatty")
    with pytest.raises(ConfigurationError, match="LOG_LEVEL_LIBRARIES"):
        load_settings()
    monkeypatch.setenv("LOG_LEVEL_LIBRARIES", "INFO")
    monkeypatch.setenv("DEAD_LETTER_DAYS", "0")
    with pytest.raises(ConfigurationError, match="DEAD_LETTER_DAYS"):
        load_settings()


def test_approvals_read_their_channel_and_wait_a_week_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().approval_ttl_days == 7
    monkeypatch.setenv("APPROVALS_CHANNEL", " C0APPROVALS ")
    monkeypatch.setenv("APPROVERS", "U0002, S0LEADS ,grace@contoso.example")

    settings = load_settings()

    assert settings.approvals_channel == "C0APPROVALS"
    assert settings.approvers == ("U0002", "S0LEADS", "grace@contoso.example")


def test_log_format_is_unset_by_default_and_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().log_format is None  # text on a terminal, JSON elsewhere
    monkeypatch.setenv("LOG_FORMAT", " JSON ")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "")
    assert load_settings().log_format is None
