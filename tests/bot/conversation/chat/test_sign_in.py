"""The chat's words about sign-in, in each AUTH_MODE, and the check that the account signed in
is the chat user's own."""

from __future__ import annotations

from bot.conversation.chat.commands import SignInCommand, Usage, parse_message
from bot.conversation.chat.sign_in import answer_sign_in, other_person
from bot.conversation.views import Notice, Problem, Seller, SignIn
from bot.identity.caches import Account
from bot.identity.identity import Identity

ADA = Account("Ada@Contoso.com", "Ada Lovelace", "6b1e7a4c-2f3d-4e5a-9b8c-0d1e2f3a4b5c", "t")


def test_login_logout_and_whoami_are_commands_typed_or_slashed() -> None:
    for text in ("login", "/referral login", "referral LOGIN"):
        assert parse_message(text) == SignInCommand("login")
    assert parse_message("/referral whoami") == SignInCommand("whoami")
    assert parse_message("logout") == SignInCommand("logout")
    assert isinstance(parse_message("/referral login now"), Usage)


async def test_with_a_static_token_there_is_nothing_to_sign_in_to() -> None:
    for action in ("login", "logout"):
        (said,) = await answer_sign_in(None, "p", SignInCommand(action), None)  # type: ignore[arg-type]
        assert isinstance(said, Notice)
        assert "no sign-in" in said.message
    (said,) = await answer_sign_in(Identity("static"), "p", SignInCommand("whoami"), None)
    assert "AUTH_MODE=static" in said.message  # type: ignore[union-attr]


async def test_login_in_a_shared_place_sends_no_link() -> None:
    class SignedOut:
        mode = "user"
        per_seller = True

        async def account(self, principal: str) -> Account | None:
            return None

    (said,) = await answer_sign_in(SignedOut(), "p", SignInCommand("login"), None)  # type: ignore[arg-type]
    assert isinstance(said, Problem)
    assert "1:1 chat" in (said.hint or "")
    (link,) = await answer_sign_in(SignedOut(), "p", SignInCommand("login"), "https://l")  # type: ignore[arg-type]
    assert isinstance(link, SignIn)
    assert link.url == "https://l"


def test_the_same_person_by_email_whatever_its_case() -> None:
    assert other_person(Seller(user_id="U1", email="ada@contoso.com"), ADA) is None


def test_another_email_is_another_person() -> None:
    reason = other_person(Seller(user_id="U1", email="grace@contoso.com"), ADA)
    assert reason == "your chat profile's email is grace@contoso.com"


def test_on_teams_the_entra_object_id_must_match() -> None:
    teams_user = Seller(user_id="9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
    assert other_person(teams_user, ADA) == "your chat account is a different Microsoft account"
    assert other_person(Seller(user_id=ADA.object_id or ""), ADA) is None


def test_nothing_to_compare_is_no_refusal() -> None:
    # The terminal without --as: no email, no object id.
    assert other_person(Seller(user_id="ana"), ADA) is None
