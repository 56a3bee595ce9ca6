"""Postal addresses typed in one answer: "1 Main St, Suite 200, Seattle, WA 98101, US".

People paste an address the way they would write it on an envelope, on one line with
commas or on several lines. :func:`parse_address` places each part it recognises with
confidence and leaves the others ``None``, so the conversation asks for those one by one;
it never guesses which field a part is.

The rules, in the order they are applied (commas, semicolons and line breaks separate
parts; words inside a part are not split, except around a postal code):

* **Country**: the last part, when there is more than one and the country catalog knows it
  by name, alpha-2 or alpha-3 code or alias (what :func:`~.choices.parse_country`
  accepts: "US", "USA", "United States", "UK", "Germany", "DE", "JP"). A code or name that
  is also a US state ("GA", "IN", "CA", "Georgia") is the country only when the part
  before it holds a postal code ("WA 98101, GA" is Gabon); otherwise the answer is refused
  as ambiguous, because "Atlanta, GA" and "Libreville, GA" look the same. Words after a
  postal code in the same part are the country too ("WA 98101 USA"); words before the
  code never are, so the "CA" of "CA 95814" is California. A last part after the postal
  part that names no known country ("WA 98101, Atlantis", "10117 Berlin, Deutschland")
  is left for the country question, which suggests the closest; it is not put in another
  field. One with digits in it ("WA 98101, Suite 5") is refused.
* **Postal code**: in the last part left (or, written big-to-small, the first part when it
  starts with the Japanese postal mark 〒 or a Japanese NNN-NNNN code; then the parts are
  read in reverse). Recognised shapes: US ZIP (98101, 98052-6399), Indian PIN (560103),
  Japanese (100-8111, 〒100-8111), UK postcodes (SW1A 2AA), Canadian (M5V 3L9), and 4- or
  5-digit codes before a city (10117 Berlin, 8001 Zürich). The first part is otherwise
  always the street line, so a house number such as "12345 Main St" is never a postal code,
  and neither is the number of a unit ("Unit 12345").
* **What the words next to the code are**: before a UK postcode, the city (UK addresses
  name the post town, not a state: "London SW1A 2AA"); after a 4- or 5-digit code, the city
  ("10117 Berlin"); after a Japanese code, the prefecture, as the state ("〒100-8111
  Tokyo"); before any other code, the state ("WA 98101", "Karnataka 560103", "Tokyo
  100-8111"), split as city and state when it ends in a capitalised 2- or 3-letter code
  ("New York NY 10110", "Sydney NSW 2000").
* **City**: unless the postal part named it, the part just before the postal part (or
  before a US state typed alone). A code typed in a part of its own leaves the part before
  it unclear (city or state?), unless it is a UK postcode (the city) or that part is a US
  state; the unclear case is refused with a hint to write the state and code together.
* **US state without a ZIP**: the last part left, when it is a US state's code (as
  capitals) or name ("Seattle, WA").
* **Street lines**: the first part is ``line1``. When a postal code or a US state anchored
  the parts above, everything between ``line1`` and the city is ``line2``, joined with
  commas ("Prestige Tech Park, Outer Ring Road, Bengaluru, Karnataka 560103": "Outer Ring
  Road" is line2). Without an anchor only a part that is clearly a unit ("Suite 200",
  "Floor 3", "Apt 4B", "#200", "3rd Floor") is line2; any other part could be a second
  street line or the city, so the answer is refused saying so, never placed by guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation.vocabulary.values._common import InvalidAnswer, _count, _prepare, _shown
from bot.referrals import limits
from bot.referrals.catalogs import COUNTRIES


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; a part the answer did not give with confidence is ``None``.

    ``country`` is an ISO 3166-1 alpha-2 code, as :func:`~.choices.parse_country` returns.
    """

    line1: str
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def filled(self) -> dict[str, str]:
        """The referral fields this address fills, by field name; ``None`` parts are left out."""
        fields = {
            "address_line1": self.line1,
            "address_line2": self.line2,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "country": self.country,
        }
        return {name: value for name, value in fields.items() if value is not None}


_HINT = (
    "Type the street line alone, or the whole address with its parts separated by commas "
    "or new lines, such as 1 Main St, Suite 200, Seattle, WA 98101, US."
)
_PARTS = re.compile(r"[,;\n]")
_POSTAL_MARK = "〒"

# Postal code shapes, matched against one or two words.
_ZIP = re.compile(r"\d{5}(?:-\d{4})?", re.ASCII)
_PIN = re.compile(r"\d{6}", re.ASCII)
_JAPAN = re.compile(r"〒?(\d{3}-\d{4})")
_UK = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", re.ASCII | re.IGNORECASE)
_CANADA = re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d", re.ASCII | re.IGNORECASE)
_FOUR = re.compile(r"\d{4}", re.ASCII)
_REGION_CODE = re.compile(r"[A-Z]{2,3}", re.ASCII)

_UNIT_WORDS = (
    "suite|ste|floor|fl|apartment|apt|unit|building|bldg|flat|room|rm|level|lvl|office|"
    "department|dept"
)
_UNIT = re.compile(
    rf"(?:(?:{_UNIT_WORDS})(?:\.\s?|\s|(?=[#\d]))#?\s?|#\s?)(?P<id>[\w-]{{1,10}})"
    r"|(?P<ordinal>\d{1,3}(?:st|nd|rd|th)) (?:floor|fl\.?)",
    re.IGNORECASE,
)

_US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}
_US_STATE_NAMES = {name.casefold(): code for code, name in _US_STATES.items()}


@dataclass(frozen=True, slots=True)
class _Postal:
    """A part read around its postal code: the code, and the words placed beside it."""

    code: str
    city: str | None = None
    state: str | None = None
    country: str | None = None
    alone: bool = False
    uk: bool = False


def parse_address(text: str) -> Address:
    """A postal address, each part it recognises with confidence placed in its field.

    A single part is the street line ("1 Main St" fills ``line1`` only). See the module's
    docstring for how the other parts are placed; a part that could be either of two
    fields is refused with a message saying which, rather than put in one by guess.
    Each part must fit its field's length limit.
    """
    cleaned = _prepare(text, noun="address", lines=True)
    cleaned = re.sub(rf"{_POSTAL_MARK} +", _POSTAL_MARK, cleaned)
    parts = [part.strip() for part in _PARTS.split(cleaned) if part.strip()]
    if not parts:
        raise InvalidAnswer("An address is required.", hint=_HINT)
    country = _trailing_country(parts) if len(parts) > 1 else None
    if country is not None or _unknown_country(parts):
        parts = parts[:-1]
    postal = _postal_part(parts, len(parts) - 1, with_country=country is None)
    if postal is None and len(parts) > 1:
        postal = _postal_part(parts, 0, with_country=country is None)
        if postal is not None:
            # Written big-to-small, as in Japan: postal code and prefecture first.
            parts = [*reversed(parts[1:]), parts[0]]
    if postal is not None:
        address = _around_postal(cleaned, parts[:-1], postal)
        country = country or postal.country
    else:
        address = _without_postal(parts)
    address = Address(
        address.line1,
        address.line2,
        address.city,
        address.state,
        address.postal_code,
        country,
    )
    _check_lengths(address)
    return address


def format_address(address: Address) -> str:
    """*address* on one line as a person reads it: "1 Main St, Suite 200, Seattle, WA 98101, US".

    Parts that are ``None`` are skipped. The state and postal code share a part ("WA
    98101"); without a state, a UK or Canadian postcode follows the city ("London SW1A
    2AA") and any other code comes before it ("10117 Berlin"), as in those countries. For
    addresses of those shapes, :func:`parse_address` reads the result back as *address*.
    """
    if address.state is not None:
        locality = [address.city, _joined(address.state, address.postal_code)]
    elif address.postal_code is None or address.city is None:
        locality = [address.city, address.postal_code]
    elif _UK.fullmatch(address.postal_code) or _CANADA.fullmatch(address.postal_code):
        locality = [f"{address.city} {address.postal_code}"]
    else:
        locality = [f"{address.postal_code} {address.city}"]
    parts = [address.line1, address.line2, *locality, address.country]
    return ", ".join(part for part in parts if part)


def _joined(*words: str | None) -> str:
    return " ".join(word for word in words if word)


def _us_state(part: str) -> bool:
    """Whether *part* is a US state's code, typed in capitals, or its name in any case."""
    return part in _US_STATES or part.casefold() in _US_STATE_NAMES


def _is_unit(part: str) -> bool:
    """Whether *part* is clearly a unit within a building: "Suite 200", "Apt 4B", "#200".

    The unit's identifier must hold a digit or be a single letter, so a town such as
    "Flat Rock" is not taken for a flat.
    """
    match = _UNIT.fullmatch(part)
    if match is None:
        return False
    identifier = match["id"]
    return identifier is None or len(identifier) == 1 or any(ch.isdigit() for ch in identifier)


def _trailing_country(parts: list[str]) -> str | None:
    """The country the last part names, or ``None``; refuses a state-or-country code."""
    last = parts[-1]
    country = COUNTRIES.get(last)
    if country is None or not _us_state(last):
        return country
    if _postal_part(parts, len(parts) - 2, with_country=False) is not None:
        return country
    state = _US_STATES.get(last) or _US_STATES[_US_STATE_NAMES[last.casefold()]]
    raise InvalidAnswer(
        f"In that address, {_shown(last)} could be the country {COUNTRIES.label(country)} "
        f"or the US state {state}.",
        hint=(
            f'For the state, add its ZIP code, as in "{last} 12345", or the country after it, '
            f'as in "{last}, US"; for the country, write its name: {COUNTRIES.label(country)}.'
        ),
    )


def _unknown_country(parts: list[str]) -> bool:
    """Whether the last part is where the country goes, after the postal part, but names none.

    A name ("Atlantis", "Deutschland") is left for the country question, which suggests the
    closest countries; it is not put in another field. A part with digits, such as a unit
    typed last, is no misspelt country, and is refused.
    """
    if not (
        len(parts) > 2
        and _postal_part(parts, len(parts) - 1, with_country=False) is None
        and _postal_part(parts, len(parts) - 2, with_country=False) is not None
    ):
        return False
    last = parts[-1]
    if any(ch.isdigit() for ch in last):
        raise InvalidAnswer(
            f"In that address, {_shown(last)} comes after the postal code, where the country "
            "goes, and is not a country.",
            hint=(
                "Put a unit such as Suite 200 just after the street line, and end the address "
                "with the country, such as US."
            ),
        )
    return True


def _postal_part(parts: list[str], index: int, *, with_country: bool) -> _Postal | None:
    """*parts[index]* read as the part holding the postal code, or ``None`` when it is not.

    The first part is the street line, unless it starts with a Japanese postal code.
    """
    if index < 0 or _is_unit(parts[index]):
        return None
    words = parts[index].split(" ")
    if index == 0:
        japan = _JAPAN.fullmatch(words[0])
        if japan is None:
            return None
        return _code_first(words) if len(words) > 1 else _Postal(japan[1], alone=True)
    return _code_last(words, with_country=with_country) or _code_first(words)


def _code_last(words: list[str], *, with_country: bool) -> _Postal | None:
    """A code ending the part ("WA 98101", "London SW1A 2AA"), or followed by a country."""
    ends = [len(words)]
    if with_country:
        ends += range(len(words) - 1, 0, -1)
    for end in ends:
        country = None
        if end < len(words):
            country = COUNTRIES.get(" ".join(words[end:]))
            if country is None:
                continue
        for size in (2, 1):
            start = end - size
            if start < 0 or (country is not None and start == 0):
                continue
            postal = _read_code_last(" ".join(words[start:end]), words[:start])
            if postal is not None:
                return _Postal(
                    postal.code, postal.city, postal.state, country, postal.alone, postal.uk
                )
    return None


def _read_code_last(code: str, before: list[str]) -> _Postal | None:
    if _UK.fullmatch(code):
        return _Postal(code.upper(), city=" ".join(before) or None, alone=not before, uk=True)
    japan = _JAPAN.fullmatch(code)
    if japan is not None:
        return _code_after_region(japan[1], before)
    if _CANADA.fullmatch(code):
        return _code_after_region(code.upper(), before)
    if _ZIP.fullmatch(code) or _PIN.fullmatch(code):
        return _code_after_region(code, before)
    if _FOUR.fullmatch(code) and (not before or _REGION_CODE.fullmatch(before[-1])):
        return _code_after_region(code, before)
    return None


def _code_after_region(code: str, before: list[str]) -> _Postal:
    """A code after the state ("WA 98101"), or after a city and a state code ("New York NY")."""
    if not before:
        return _Postal(code, alone=True)
    if len(before) > 1 and _REGION_CODE.fullmatch(before[-1]):
        return _Postal(code, city=" ".join(before[:-1]), state=before[-1])
    return _Postal(code, state=" ".join(before))


def _code_first(words: list[str]) -> _Postal | None:
    """A code starting the part: "10117 Berlin" (then the city), "〒100-8111 Tokyo" (the state)."""
    if len(words) < 2:
        return None
    rest = " ".join(words[1:])
    japan = _JAPAN.fullmatch(words[0])
    if japan is not None:
        return _Postal(japan[1], state=rest)
    if _ZIP.fullmatch(words[0]) or _FOUR.fullmatch(words[0]):
        return _Postal(words[0], city=rest)
    return None


def _around_postal(cleaned: str, head: list[str], postal: _Postal) -> Address:
    """The address from the parts above the postal part, in small-to-big order."""
    if not head:
        raise InvalidAnswer(
            f"The address {_shown(cleaned)} has no street line.",
            hint="Start with the street and number, such as 1 Main St.",
        )
    city, state = postal.city, postal.state
    head = list(head)
    if postal.alone and len(head) > 1 and not _is_unit(head[-1]):
        if postal.uk:
            city = head.pop()
        elif _us_state(head[-1]):
            state = head.pop()
        else:
            raise InvalidAnswer(
                f"In that address, {_shown(head[-1])} could be the city or the state.",
                hint=(
                    f'Write the state and the postal code together, as in "{head[-1]} '
                    f'{postal.code}", or leave the city and state out: they are asked next.'
                ),
            )
    if city is None and len(head) > 1 and not _is_unit(head[-1]):
        city = head.pop()
    return Address(head[0], ", ".join(head[1:]) or None, city, state, postal.code)


def _without_postal(parts: list[str]) -> Address:
    """The address when no part holds a postal code: street, units, maybe city and US state."""
    head = list(parts)
    state = head.pop() if len(head) > 1 and _us_state(head[-1]) else None
    city = None
    if state is not None and len(head) > 1 and not _is_unit(head[-1]):
        city = head.pop()
    rest = head[1:]
    unsure = [part for part in rest if not _is_unit(part)]
    if state is None and unsure:
        shown = " and ".join(_shown(part) for part in unsure[:2])
        more = f" (and {_count(len(unsure) - 2, 'more part')})" if len(unsure) > 2 else ""
        raise InvalidAnswer(
            f"In that address, {shown}{more} could be a second street line or the city: "
            "without a postal code I cannot tell which.",
            hint=(
                "Add the postal code, as in 1 Main St, Seattle, WA 98101, US, or type only "
                "the street line: the city and the rest are asked next."
            ),
        )
    return Address(head[0], ", ".join(rest) or None, city, state)


_LIMITS = (
    ("line1", "street line", limits.ADDRESS_LINE),
    ("line2", "second address line", limits.ADDRESS_LINE),
    ("city", "city", limits.CITY),
    ("state", "state", limits.STATE),
    ("postal_code", "postal code", limits.POSTAL_CODE),
)


def _check_lengths(address: Address) -> None:
    for attribute, field, limit in _LIMITS:
        value = getattr(address, attribute)
        if value is not None and len(value) > limit:
            raise InvalidAnswer(
                f"The {field} {_shown(value)} is too long: {len(value):,} characters, "
                f"and the limit is {limit:,}.",
                hint=f"Shorten the {field} by at least {_count(len(value) - limit, 'character')}.",
            )
