"""Who is typing at this terminal, and the key their conversation is stored under."""

from __future__ import annotations

from bot.conversation import InvalidAnswer, Seller, parse_email, parse_text
from bot.referrals import limits


class IdentityError(ValueError):
    """``--as`` names nobody we can use; the message says what to type instead."""


def conversation_key(user: str) -> str:
    """The conversation key of an operating-system user at the local terminal."""
    return f"console:local:{user}"


def console_seller(identity: str | None, *, user: str) -> Seller:
    """The seller at this terminal: ``--as "First Last <email>"``, else the OS account ``user``.

    The email, when given, puts the seller on the team of the referrals they create, and a
    seller sees and changes only referrals whose team includes it: without it, new drafts still
    work but no referral is shown or changed (unless the account is in ``REFERRAL_ADMINS``).
    """
    if identity is None or not identity.strip():
        return Seller(user_id=user, display_name=user)
    name, bracket, rest = identity.partition("<")
    address: str | None = rest.strip().removesuffix(">") if bracket else None
    if address is None and "@" in name and len(name.split()) == 1:
        name, address = "", name  # --as ana@contoso.com
    try:
        email = parse_email(address) if address is not None else None
        words = parse_text(
            name, field="The name", max_length=2 * limits.PERSON_NAME, required=email is None
        ).split()
    except InvalidAnswer as invalid:
        raise IdentityError(
            f'--as {identity!r}: {invalid.message} Write it as "First Last <email>".'
        ) from None
    first = " ".join(words[:-1]) or (words[0] if words else None)
    last = words[-1] if len(words) > 1 else None
    return Seller(
        user_id=user,
        display_name=" ".join(words) or user,
        first_name=first,
        last_name=last,
        email=email,
    )
