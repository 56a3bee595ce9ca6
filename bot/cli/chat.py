"""``referral-bot chat``: talk to the bot in this terminal, as a seller would in Slack or Teams.

The same desk and engine as the chat platforms, on the same Redis and Partner Center: with
nothing configured, the embedded Redis in the data folder and the built-in sandbox.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from anyio.from_thread import start_blocking_portal
from rich.console import Console
from rich.text import Text

from bot.app.services import chat_services, for_local_chat
from bot.cli._shared import InputError, configure_logging
from bot.cli.local import BACKGROUND_NOTE, configured_redis_url
from bot.conversation.chat.turns import TurnRunner
from bot.settings import load_settings
from cards.text import GOODBYE, chat_banner
from handlers.console import (
    PLATFORM,
    ConsoleReplier,
    IdentityError,
    console_seller,
    conversation_key,
    run_chat,
)

Identity = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar='"First Last <email>"',
        help="Who you are to the bot (default: your account name, without an email, "
        "which sees no referrals).",
    ),
]


def chat(identity: Identity = None) -> None:
    """Create and manage referrals step by step, in this terminal.

    Drafts are kept in Redis (REDIS_URL, else an embedded server in the data folder, which
    runs on in the background: `referral-bot local status` shows it, `local stop` stops it).

    Without PARTNER_CENTER_BASE_URL and PARTNER_CENTER_TOKEN, the built-in sandbox stands in.
    With AUTH_MODE=user, `/referral login` prints a sign-in link; `referral-bot serve` (at
    PUBLIC_URL) finishes the sign-in, and the chat carries on as you.
    """
    settings = load_settings()
    # A chat in a terminal reads as text, whatever stderr is piped to.
    configure_logging(
        settings.log_level, settings.log_level_libraries, settings.log_format or "text"
    )
    user = _account_name()
    try:
        seller = console_seller(identity, user=user)
    except IdentityError as exc:
        raise InputError(str(exc)) from None
    key = conversation_key(user)
    console = Console()
    # The services live on an event loop in the portal's thread, entered and left in one
    # task there; the chat loop blocks on the terminal here (see handlers.console.loop).
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(chat_services(for_local_chat(settings))) as services,
    ):
        console.print(
            chat_banner(
                seller=seller.display_name or user,
                email=seller.email,
                redis_url=services.redis_url,
                data_dir=services.data_dir,
                partner_center_url=services.partner_center_url,
                sandbox=services.sandbox,
            )
        )
        if configured_redis_url(settings) is None:
            # It outlives the chat by design (shared by every local process); say so, or the
            # user later finds a valkey-server they never started.
            console.print(Text(BACKGROUND_NOTE, style="dim"))
        try:
            # The terminal is one more chat front on the shared turn pipeline.
            turns = TurnRunner(
                services.desk,
                services.memory,
                {PLATFORM: ConsoleReplier(console)},
                identity=services.identity,
                subscriptions=services.subscriptions,
            )
            run_chat(turns, seller, conversation_key=key, portal=portal, console=console)
        except KeyboardInterrupt:
            # Ctrl+C before the chat reads its first line is a leave like any other (at the
            # prompt, the chat answers it itself).
            console.print(GOODBYE)


def _account_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container user without a passwd entry or LOGNAME: one shared local conversation.
        return "local"
