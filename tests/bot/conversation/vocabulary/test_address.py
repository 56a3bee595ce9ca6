"""Whole postal addresses in one answer: what is placed, what is left to ask, what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.vocabulary.values import (
    Address,
    InvalidAnswer,
    format_address,
    parse_address,
)
from bot.referrals import limits
from bot.referrals.catalogs import COUNTRIES
from tests.support.answers import refusal

# --- real-world spellings -------------------------------------------------------------

SPELLINGS = [
    # United States
    (
        "1 Main St, Seattle, WA 98101, US",
        Address("1 Main St", None, "Seattle", "WA", "98101", "US"),
    ),
    (
        "One Microsoft Way\nRedmond, WA 98052-6399\nUSA",
        Address("One Microsoft Way", None, "Redmond", "WA", "98052-6399", "US"),
    ),
    (
        "500 5th Ave, Suite 200, New York, NY 10110, United States",
        Address("500 5th Ave", "Suite 200", "New York", "NY", "10110", "US"),
    ),
    ("1 Main St, Seattle, WA 98101", Address("1 Main St", None, "Seattle", "WA", "98101")),
    ("1 Main St, Seattle WA 98101", Address("1 Main St", None, "Seattle", "WA", "98101")),
    (
        "1 Main St, New York NY 10110 USA",
        Address("1 Main St", None, "New York", "NY", "10110", "US"),
    ),
    (
        "1 Main St\nSacramento, CA 95814",
        Address("1 Main St", None, "Sacramento", "CA", "95814"),
    ),
    ("1 Main St, Seattle, WA", Address("1 Main St", None, "Seattle", "WA")),
    (
        "1 Main St, Atlanta, Georgia, US",
        Address("1 Main St", None, "Atlanta", "Georgia", None, "US"),
    ),
    ("1 Main St, Seattle, WA, 98101", Address("1 Main St", None, "Seattle", "WA", "98101")),
    (
        "1 Main St, Seattle, WA 98101, GA",
        Address("1 Main St", None, "Seattle", "WA", "98101", "GA"),
    ),
    # United Kingdom
    (
        "10 Downing Street, London SW1A 2AA, UK",
        Address("10 Downing Street", None, "London", None, "SW1A 2AA", "GB"),
    ),
    (
        "221B Baker Street, London, NW1 6XE, United Kingdom",
        Address("221B Baker Street", None, "London", None, "NW1 6XE", "GB"),
    ),
    (
        "Flat 1, 10 High St, Leeds ls1 4ap, GB",
        Address("Flat 1", "10 High St", "Leeds", None, "LS1 4AP", "GB"),
    ),
    # Germany
    (
        "Unter den Linden 77, 10117 Berlin, Germany",
        Address("Unter den Linden 77", None, "Berlin", None, "10117", "DE"),
    ),
    (
        "Konrad-Zuse-Straße 1, 85716 Unterschleißheim, DE",
        Address("Konrad-Zuse-Straße 1", None, "Unterschleißheim", None, "85716", "DE"),
    ),
    # India: "Outer Ring Road" is neither the city nor a unit, and sits above the city.
    (
        "Prestige Tech Park, Outer Ring Road, Bengaluru, Karnataka 560103, India",
        Address("Prestige Tech Park", "Outer Ring Road", "Bengaluru", "Karnataka", "560103", "IN"),
    ),
    # Japan, small to big and big to small
    (
        "1-1 Chiyoda, Chiyoda-ku, Tokyo 100-8111, Japan",
        Address("1-1 Chiyoda", None, "Chiyoda-ku", "Tokyo", "100-8111", "JP"),
    ),
    (
        "〒100-8111 Tokyo, Chiyoda-ku, 1-1 Chiyoda, JP",
        Address("1-1 Chiyoda", None, "Chiyoda-ku", "Tokyo", "100-8111", "JP"),
    ),
    (  # written with full-width digits, as a Japanese keyboard types them
        "〒 \uff11\uff10\uff10-\uff18\uff11\uff11\uff11 Tokyo\nChiyoda-ku\n1-1 Chiyoda",
        Address("1-1 Chiyoda", None, "Chiyoda-ku", "Tokyo", "100-8111"),
    ),
    # Canada, Australia, Switzerland
    (
        "100 King St W, Toronto, ON M5V 3L9, Canada",
        Address("100 King St W", None, "Toronto", "ON", "M5V 3L9", "CA"),
    ),
    (
        "1 George St, Sydney NSW 2000, Australia",
        Address("1 George St", None, "Sydney", "NSW", "2000", "AU"),
    ),
    (
        "Bahnhofstrasse 1, 8001 Zürich, Switzerland",
        Address("Bahnhofstrasse 1", None, "Zürich", None, "8001", "CH"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), SPELLINGS)
def test_real_world_spellings(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 Main St", Address("1 Main St")),
        ("  1   Main St  ", Address("1 Main St")),
        ("12345 Main St", Address("12345 Main St")),
        ("1 Main St, US", Address("1 Main St", country="US")),
        ("1 Main St\n\nGermany", Address("1 Main St", country="DE")),
        ("1 Main St, in", Address("1 Main St", country="IN")),
        ("1 Main St, U.S.A.", Address("1 Main St", country="US")),
    ],
)
def test_what_cannot_be_placed_is_left_to_ask(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "unit",
    [
        "Suite 200",
        "Ste. 200",
        "Floor 3",
        "3rd Floor",
        "Apt 4B",
        "Apartment 12",
        "Unit 5",
        "Unit 12345",
        "Building 2",
        "Bldg 2",
        "#200",
        "Flat 1",
        "Room 101",
        "Suite A",
    ],
)
def test_a_unit_after_the_street_is_line2(unit: str) -> None:
    assert parse_address(f"1 Main St, {unit}") == Address("1 Main St", unit)
    assert parse_address(f"1 Main St, {unit}, Seattle, WA 98101") == Address(
        "1 Main St", unit, "Seattle", "WA", "98101"
    )


def test_a_unit_just_above_the_postal_part_is_not_the_city() -> None:
    assert parse_address("1 Main St, Suite 200, WA 98101") == Address(
        "1 Main St", "Suite 200", None, "WA", "98101"
    )


def test_a_town_named_like_a_unit_is_still_a_town() -> None:
    assert parse_address("1 Main St, Flat Rock, NC 28731") == Address(
        "1 Main St", None, "Flat Rock", "NC", "28731"
    )


def test_everything_between_the_street_and_the_city_is_line2() -> None:
    assert parse_address("1 Main St, Building 2, Floor 3, Seattle, WA 98101, US") == Address(
        "1 Main St", "Building 2, Floor 3", "Seattle", "WA", "98101", "US"
    )


@pytest.mark.parametrize("country", ["Atlantis", "Untied States"])
def test_an_unknown_country_after_the_postal_code_is_left_to_ask(country: str) -> None:
    assert parse_address(f"1 Main St, Seattle, WA 98101, {country}") == Address(
        "1 Main St", None, "Seattle", "WA", "98101"
    )


def test_only_what_the_country_catalog_knows_is_a_country() -> None:
    # "Deutschland" is no alias in the catalog: the country question asks, and suggests.
    assert parse_address("Unter den Linden 77, 10117 Berlin, Deutschland") == Address(
        "Unter den Linden 77", None, "Berlin", None, "10117"
    )


def test_a_part_with_digits_where_the_country_goes_is_refused() -> None:
    error = refusal(parse_address, "1 Main St, Seattle, WA 98101, Suite 5")
    assert error.message == (
        'In that address, "Suite 5" comes after the postal code, where the country goes, '
        "and is not a country."
    )
    assert error.hint == (
        "Put a unit such as Suite 200 just after the street line, and end the address "
        "with the country, such as US."
    )


def test_a_state_code_before_a_zip_is_not_a_country() -> None:
    # "CA" is Canada's code and "IN" India's; before a ZIP they are US states.
    assert parse_address("1 Main St, Sacramento, CA 95814") == Address(
        "1 Main St", None, "Sacramento", "CA", "95814"
    )
    assert parse_address("1 Main St, Indianapolis, IN 46204, US").state == "IN"


def test_filled_names_the_referral_fields_given() -> None:
    assert parse_address("500 5th Ave, Suite 200, New York, NY 10110, US").filled() == {
        "address_line1": "500 5th Ave",
        "address_line2": "Suite 200",
        "city": "New York",
        "state": "NY",
        "postal_code": "10110",
        "country": "US",
    }
    assert Address("1 Main St").filled() == {"address_line1": "1 Main St"}


# --- format_address -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            Address("1 Main St", "Suite 200", "Seattle", "WA", "98101", "US"),
            "1 Main St, Suite 200, Seattle, WA 98101, US",
        ),
        (Address("1 Main St"), "1 Main St"),
        (Address("1 Main St", city="Seattle"), "1 Main St, Seattle"),
        (Address("1 Main St", state="WA", country="US"), "1 Main St, WA, US"),
        (
            Address("10 Downing Street", None, "London", None, "SW1A 2AA", "GB"),
            "10 Downing Street, London SW1A 2AA, GB",
        ),
        (
            Address("Unter den Linden 77", None, "Berlin", None, "10117", "DE"),
            "Unter den Linden 77, 10117 Berlin, DE",
        ),
        (Address("1 Main St", postal_code="10117"), "1 Main St, 10117"),
    ],
)
def test_format_address(address: Address, expected: str) -> None:
    assert format_address(address) == expected


@pytest.mark.parametrize(("text", "expected"), SPELLINGS)
def test_formatted_spellings_read_back(text: str, expected: Address) -> None:
    assert parse_address(format_address(expected)) == expected


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n , ;\n"])
def test_an_address_is_required(text: str) -> None:
    error = refusal(parse_address, text)
    assert error.message == "An address is required."
    assert error.hint is not None
    assert "1 Main St, Suite 200, Seattle, WA 98101, US" in error.hint


def test_a_part_that_could_be_a_street_line_or_the_city_is_refused() -> None:
    error = refusal(parse_address, "1 Main St, Seattle")
    assert error.message == (
        'In that address, "Seattle" could be a second street line or the city: '
        "without a postal code I cannot tell which."
    )
    assert error.hint is not None
    assert "type only the street line" in error.hint
    error = refusal(parse_address, "Prestige Tech Park, Outer Ring Road, Bengaluru, India")
    assert error.message.startswith(
        'In that address, "Outer Ring Road" and "Bengaluru" could be a second street line'
    )


def test_a_code_that_is_a_country_and_a_us_state_is_refused_without_a_zip() -> None:
    error = refusal(parse_address, "1 Main St, Atlanta, GA")
    assert error.message == (
        'In that address, "GA" could be the country Gabon or the US state Georgia.'
    )
    assert error.hint == (
        'For the state, add its ZIP code, as in "GA 12345", or the country after it, '
        'as in "GA, US"; for the country, write its name: Gabon.'
    )
    error = refusal(parse_address, "Rustaveli Ave 1, Tbilisi, georgia")
    assert error.message == (
        'In that address, "georgia" could be the country Georgia or the US state Georgia.'
    )


def test_a_lone_postal_code_after_an_unknown_region_is_refused() -> None:
    error = refusal(parse_address, "Prestige Tech Park, Bengaluru, Karnataka, 560103")
    assert error.message == 'In that address, "Karnataka" could be the city or the state.'
    assert error.hint == (
        'Write the state and the postal code together, as in "Karnataka 560103", '
        "or leave the city and state out: they are asked next."
    )


def test_an_address_without_a_street_line_is_refused() -> None:
    error = refusal(parse_address, "〒100-8111 Tokyo, JP")
    assert error.message == 'The address "〒100-8111 Tokyo, JP" has no street line.'
    assert error.hint == "Start with the street and number, such as 1 Main St."


@pytest.mark.parametrize(
    ("text", "field", "length", "limit"),
    [
        ("x" * 260, "street line", 260, limits.ADDRESS_LINE),
        ("1 Main St, " + "y" * 251 + ", Suite 2, WA 98101", "second address line", 260, 250),
        ("1 Main St, " + "c" * 210 + ", WA 98101", "city", 210, limits.CITY),
        ("1 Main St, " + "s" * 210 + " 98101", "state", 210, limits.STATE),
    ],
)
def test_each_part_must_fit_its_limit(text: str, field: str, length: int, limit: int) -> None:
    error = refusal(parse_address, text)
    assert error.message.startswith(f"The {field} ")
    assert error.message.endswith(
        f" is too long: {length:,} characters, and the limit is {limit:,}."
    )
    assert error.hint == f"Shorten the {field} by at least {length - limit:,} characters."


def test_a_part_one_character_too_long() -> None:
    error = refusal(parse_address, "1 Main St, " + "c" * 201 + " 12345")
    assert error.hint == "Shorten the state by at least 1 character."


def test_a_pasted_page_is_refused_before_it_is_read() -> None:
    error = refusal(parse_address, "1 Main St, " * 200)
    assert error.message == "That answer is 2,200 characters long, too long to be an address."


def test_control_characters_are_refused() -> None:
    error = refusal(parse_address, "1 Main St\x00")
    assert error.message == (
        '"1 Main St\\x00" contains an invisible control character (U+0000) that cannot be saved.'
    )


# --- properties -----------------------------------------------------------------------

_words = st.from_regex(r"[A-Z][a-z]{2,9}", fullmatch=True)
_streets = st.builds(lambda number, word: f"{number} {word} St", st.integers(1, 99999), _words)
_units = st.none() | st.builds(
    "{} {}".format,
    st.sampled_from(["Suite", "Floor", "Apt", "Unit", "Building", "Flat"]),
    st.integers(1, 999).map(str) | st.from_regex(r"[1-9][0-9]?[A-Z]", fullmatch=True),
)
_hash_units = st.integers(1, 9999).map(lambda number: f"#{number}")
_cities = st.lists(_words, min_size=1, max_size=3).map(" ".join)
_us_states = st.sampled_from(["WA", "NY", "CA", "GA", "IN", "TX", "DE", "PA", "Ohio", "Iowa"])
_zips = st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True)
_uk_postcodes = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}", fullmatch=True)
_five_digits = st.from_regex(r"[0-9]{5}", fullmatch=True)
_countries = st.none() | st.sampled_from(sorted(COUNTRIES))


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    """A realistic address: the shapes format_address writes and parse_address reads back.

    A street ("<n> <Word> St"), maybe a unit, then one of: a US city (or none), state and
    ZIP; a UK city (or none) and postcode; a 5-digit code and its city (German order);
    then maybe a country code, any of them (a US state's too: it follows a postal code).
    """
    line1 = draw(_streets)
    line2 = draw(_units | _hash_units)
    shape = draw(st.sampled_from(["us", "uk", "de"]))
    city = draw(st.none() | _cities) if shape != "de" else draw(_cities)
    country = draw(_countries)
    if shape == "us":
        return Address(line1, line2, city, draw(_us_states), draw(_zips), country)
    if shape == "uk":
        return Address(line1, line2, city, None, draw(_uk_postcodes), country)
    return Address(line1, line2, city, None, draw(_five_digits), country)


@settings(max_examples=150)
@given(address=addresses())
def test_formatted_addresses_read_back(address: Address) -> None:
    assert parse_address(format_address(address)) == address


@settings(max_examples=60)
@given(address=addresses(), separator=st.sampled_from([", ", "\n", " ,\n", ";"]))
def test_any_separator_between_parts(address: Address, separator: str) -> None:
    assert parse_address(format_address(address).replace(", ", separator)) == address


_answers = (
    st.text(max_size=120)
    | st.text(alphabet="0123456789 ,\n-#〒ABCDEFGHIJKLMNOPQRSTUVWXYZabcs", max_size=60)
    | st.lists(
        st.sampled_from(
            ["1 Main St", "Suite 2", "WA", "98101", "WA 98101", "GA", "US", "SW1A 2AA", "x"]
        ),
        max_size=6,
    ).map(", ".join)
)


def attempt(text: str) -> Address | InvalidAnswer:
    """What parse_address makes of *text*: an Address, or the InvalidAnswer it raised."""
    try:
        return parse_address(text)
    except InvalidAnswer as error:
        return error


@settings(max_examples=300)
@given(text=_answers)
def test_any_text_is_parsed_or_refused_cleanly(text: str) -> None:
    read = attempt(text)
    if isinstance(read, InvalidAnswer):
        assert read.message
    else:
        assert read.line1
        assert all(read.filled().values())
