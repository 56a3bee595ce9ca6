"""Who the terminal user is to the bot: ``--as "First Last <email>"`` or the OS account."""

from __future__ import annotations

import pytest

from bot.conversation.views import Seller
from handlers.console import IdentityError, console_seller, conversation_key


def test_without_as_the_seller_is_the_os_account() -> None:
    assert console_seller(None, user="ana") == Seller(user_id="ana", display_name="ana")
    assert console_seller("  ", user="ana") == Seller(user_id="ana", display_name="ana")


def test_name_and_email_are_split_and_the_email_normalized() -> None:
    seller = console_seller("Ana María Lopez <Ana@Contoso.COM>", user="ana")

    assert seller == Seller(
        user_id="ana",
        display_name="Ana María Lopez",
        first_name="Ana María",
        last_name="Lopez",
        email="Ana@contoso.com",
    )


def test_a_bare_email_or_a_bare_name_is_enough() -> None:
    assert console_seller("ana@contoso.com", user="ana").email == "ana@contoso.com"
    assert console_seller("ana@contoso.com", user="ana").display_name == "ana"
    named = console_seller("Ana", user="a1")
    assert (named.first_name, named.last_name, named.email) == ("Ana", None, None)


@pytest.mark.parametrize("identity", ["Ana Lopez <not-an-email>", "Ana <>"])
def test_a_bad_email_is_refused_with_the_expected_form(identity: str) -> None:
    with pytest.raises(IdentityError, match="First Last <email>"):
        console_seller(identity, user="ana")


def test_the_conversation_key_names_the_terminal_and_the_account() -> None:
    assert conversation_key("ana") == "console:local:ana"
