"""``referral-bot webhooks ...``: tell Partner Center where to post referral events.

The events go to ``{PUBLIC_URL}/partner-center/webhook``; Partner Center keeps one
registration per partner tenant, so ``register`` replaces whatever was registered before.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from bot.app.webhooks import webhook_registrations
from bot.cli._shared import JsonFlag, command, configure_logging
from bot.notifications.webhook_events import REFERRAL_EVENTS, TEST_CREATED
from bot.partner_center.errors import Conflict
from bot.partner_center.webhooks import WEBHOOK_PATH, WebhookRegistration, WebhookRegistrations
from bot.settings import ConfigurationError, Settings, load_settings

__all__ = ["app"]

T = TypeVar("T")

EVENTS = (*REFERRAL_EVENTS, TEST_CREATED)
"""What ``register`` subscribes to: the four referral events, and the test event so that
``referral-bot webhooks test`` works."""

app = typer.Typer(
    no_args_is_help=True, help="Register the bot's webhook with Partner Center, and test it."
)


def webhook_url(settings: Settings) -> str:
    """``{PUBLIC_URL}/partner-center/webhook``; a ConfigurationError naming PUBLIC_URL if unset."""
    if settings.public_url is None:
        raise ConfigurationError(
            "Missing required setting(s): PUBLIC_URL. Partner Center posts events to "
            f"{{PUBLIC_URL}}{WEBHOOK_PATH}, so set PUBLIC_URL to the address it reaches the "
            "web process at."
        )
    return str(settings.public_url).rstrip("/") + WEBHOOK_PATH


def _run(settings: Settings, work: Callable[[WebhookRegistrations], Awaitable[T]]) -> T:
    async def main() -> T:
        async with webhook_registrations(settings) as registrations:
            return await work(registrations)

    return asyncio.run(main())


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)
    return settings


def _print(registration: WebhookRegistration | None, json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(registration.to_wire() if registration else None, indent=2))
    elif registration is None:
        typer.echo("No webhook is registered.")
    else:
        typer.echo(f"Webhook: {registration.webhook_url}")
        typer.echo(f"Events: {', '.join(registration.webhook_events) or '(none)'}")
        if registration.subscriber_id:
            typer.echo(f"Subscriber: {registration.subscriber_id}")


@command(app, "register")
def register(json_output: JsonFlag = False) -> None:
    """Register {PUBLIC_URL}/partner-center/webhook for the referral events (and the test
    event), replacing any registration the partner had."""
    settings = _settings()
    url = webhook_url(settings)  # checked before anything is sent

    async def work(registrations: WebhookRegistrations) -> WebhookRegistration:
        try:
            return await registrations.register(url, EVENTS)
        except Conflict:
            return await registrations.update(url, EVENTS)

    _print(_run(settings, work), json_output)


@command(app, "show")
def show(json_output: JsonFlag = False) -> None:
    """Show where Partner Center posts events, and which."""
    _print(_run(_settings(), lambda registrations: registrations.show()), json_output)


@command(app, "test")
def send_test(json_output: JsonFlag = False) -> None:
    """Ask Partner Center to post a test event to the registered webhook (two a minute)."""
    correlation_id = _run(_settings(), lambda registrations: registrations.send_test())
    result: dict[str, Any] = {"correlationId": correlation_id}
    if json_output:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"Test event requested (correlation id {correlation_id}).")


@command(app, "delete")
def delete() -> None:
    """Delete the registration: Partner Center stops posting events."""
    _run(_settings(), lambda registrations: registrations.delete())
    typer.echo("Webhook registration deleted.")
