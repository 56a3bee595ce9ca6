"""Settings: names, defaults, and failures that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SANDBOX, ConfigurationError, Settings, load_settings

ENV_NAMES = (
    "REDIS_URL",
    "PARTNER_CENTER_BASE_URL",
    "PARTNER_CENTER_TOKEN",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
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
    assert settings.auth_mode == "static"
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
