"""The terminal's replier: no channels to post in or rewrite, and who ``APPROVERS`` names."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bot.conversation import Notice, Turn
from bot.notifications.channels import Channel, ChannelGone
from handlers.console import ConsoleReplier, console_seller, conversation_key

CHANNEL = Channel(platform="console", workspace="local", id="nowhere")


def replier() -> ConsoleReplier:
    return ConsoleReplier(Console(file=io.StringIO()))


def turn(identity: str | None = None) -> Turn:
    seller = console_seller(identity, user="ada")
    return Turn(
        platform="console", conversation=conversation_key("ada"), seller=seller, delivery="line-1"
    )


async def test_the_terminal_has_no_channel_to_post_in_or_rewrite() -> None:
    with pytest.raises(ChannelGone):
        await replier().post_to_channel(CHANNEL, Notice(message="Waiting"))
    with pytest.raises(ChannelGone):
        await replier().update_in_channel(CHANNEL, "1", Notice(message="Approved"))


async def test_the_account_names_the_person_at_the_terminal() -> None:
    assert await replier().named_by(turn(), frozenset({"ada", "grace"}))
    assert not await replier().named_by(turn(), frozenset({"grace", "ada@contoso.example"}))


async def test_the_email_given_with_as_names_them_whatever_its_case() -> None:
    named = turn("Ada Lovelace <ada@contoso.example>")

    assert await replier().named_by(named, frozenset({"ADA@Contoso.example"}))
    assert not await replier().named_by(named, frozenset({"grace@contoso.example"}))
    assert not await replier().named_by(named, frozenset())
