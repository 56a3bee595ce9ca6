"""Contact details and yes/no answers."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from bot.conversation.vocabulary.values._common import InvalidAnswer, _prepare, _shown
from bot.referrals import limits

_EMAIL_HINT = "Type an address such as name@contoso.com."


def parse_email(text: str) -> str:
    """An email address, normalized (the domain lower-cased, Unicode in NFC).

    Checks the syntax only; nothing is looked up. A ``mailto:`` prefix and surrounding
    angle brackets are dropped.
    """
    cleaned = _prepare(text, noun="email address").strip("<>").strip()
    if cleaned[:7].lower() == "mailto:":
        cleaned = cleaned[7:].strip()
    if not cleaned:
        raise InvalidAnswer("An email address is required.", hint=_EMAIL_HINT)
    if len(cleaned) > limits.EMAIL:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is too long for an email address: {len(cleaned):,} "
            f"characters, and the limit is {limits.EMAIL}.",
            hint=_EMAIL_HINT,
        )
    try:
        checked = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is not a valid email address. {exc}", hint=_EMAIL_HINT
        ) from None
    return checked.normalized


_PHONE_CHARACTERS = frozenset("0123456789+-.() ")
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 15  # E.164, country code included
_PHONE_HINT = (
    "Type the number with its country code, such as +1 425 555 0100; "
    "spaces, dashes, dots and brackets are fine."
)


def parse_phone(text: str) -> str:
    """A phone number, as ``+`` (when typed) followed by its digits only.

    Digits with an optional leading ``+``; spaces, dashes, dots and brackets are allowed
    and dropped. Between 7 and 15 digits (E.164 allows at most 15). A ``tel:`` prefix is
    dropped. Extensions are refused.
    """
    cleaned = _prepare(text, noun="phone number")
    if cleaned[:4].lower() == "tel:":
        cleaned = cleaned[4:].strip()
    if not cleaned:
        raise InvalidAnswer("A phone number is required.", hint=_PHONE_HINT)
    if len(cleaned) > limits.PHONE:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is too long for a phone number: {len(cleaned)} characters, "
            f"and the limit is {limits.PHONE}.",
            hint=_PHONE_HINT,
        )
    stray = next((ch for ch in cleaned if ch not in _PHONE_CHARACTERS), None)
    if stray is not None:
        raise InvalidAnswer(
            f'{_shown(cleaned)} contains "{stray}", which is not part of a phone number.',
            hint=_PHONE_HINT,
        )
    if "+" in cleaned[1:]:
        raise InvalidAnswer(
            f'{_shown(cleaned)} has a "+" that is not at the start.', hint=_PHONE_HINT
        )
    digits = "".join(ch for ch in cleaned if ch.isdigit())
    if len(digits) < _MIN_PHONE_DIGITS:
        raise InvalidAnswer(
            f"{_shown(cleaned)} has {len(digits)} digits; "
            f"a phone number has at least {_MIN_PHONE_DIGITS}.",
            hint=_PHONE_HINT,
        )
    if len(digits) > _MAX_PHONE_DIGITS:
        raise InvalidAnswer(
            f"{_shown(cleaned)} has {len(digits)} digits; a phone number has at most "
            f"{_MAX_PHONE_DIGITS}, country code included.",
            hint=_PHONE_HINT,
        )
    return ("+" if cleaned.startswith("+") else "") + digits


_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "true", "1"})
_NO = frozenset({"no", "n", "nope", "nah", "false", "0"})


def parse_yes_no(text: str) -> bool:
    """Yes or no: ``yes/y/yeah/yep/sure/ok/true/1`` or ``no/n/nope/nah/false/0``, any case."""
    cleaned = _prepare(text, noun="yes or no answer").lower().rstrip(".!")
    if cleaned in _YES:
        return True
    if cleaned in _NO:
        return False
    if not cleaned:
        raise InvalidAnswer("An answer is required.", hint="Answer yes or no.")
    raise InvalidAnswer(f"{_shown(text)} is not a yes or no answer.", hint="Answer yes or no.")
