"""Text placed in an OData ``$filter``: the one way in, so no words can change the query.

Every string a ``$filter`` compares with (a seller's email, an external reference) goes
through :func:`literal`: quoted, a quote inside written twice (OData's own escape), and
refused when it holds what no name, email or id holds (control characters, line breaks) or
is longer than :data:`MAX_LITERAL`. Refusing beats cleaning up: a cleaned value would quietly
match something other than what was asked for.

What sellers type to find a referral by name never gets here: the service documents no
``contains`` or ``startswith`` (see ``partner-center-api.md``), so names are matched by the
bot over the referrals it lists (:mod:`bot.conversation.chat.finding`).
"""

from __future__ import annotations

import unicodedata
from typing import Final

MAX_LITERAL: Final = 320
"""The longest text a filter compares with: an email address is at most 254 characters."""
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Control characters (newlines, NUL, DEL, C1), lone surrogates, line and paragraph
separators."""


class UnsafeLiteral(ValueError):
    """Text that cannot be placed in a ``$filter``; the message says why."""


def literal(value: str, *, max_length: int = MAX_LITERAL) -> str:
    """``value`` as an OData string literal: ``'o''brien@contoso.com'``.

    Raises :class:`UnsafeLiteral` for text longer than ``max_length`` characters or holding a
    control character.
    """
    if len(value) > max_length:
        raise UnsafeLiteral(f"text of {len(value)} characters; at most {max_length} fit a filter")
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            raise UnsafeLiteral(f"a control character ({ord(character):#04x}) in filter text")
    doubled = value.replace("'", "''")
    return f"'{doubled}'"
