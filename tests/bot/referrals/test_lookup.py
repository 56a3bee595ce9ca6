"""The generic lenient lookup: keys, aliases, labels, suggestions and construction checks."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.referrals.lookup import Catalog, UnknownValue, camel_label, lookup_key

FRUIT_VALUES = ("Apple", "Blood Orange", "Kiwi & Lime", "PassionFruit(Red)", "Crème Brûlée")


def fruit() -> Catalog[str]:
    return Catalog(
        "fruit",
        FRUIT_VALUES,
        aliases={"Orange": "Blood Orange", "Golden Delicious": "Apple"},
        labels={"PassionFruit(Red)": "Passion Fruit (Red)", "Apple": "Malus domestica"},
    )


@st.composite
def respelt(draw: st.DrawFn, value: str) -> str:
    """*value* with random case changes and separators inserted and removed."""
    out: list[str] = []
    for char in value:
        if char in " _" and draw(st.booleans()):
            continue
        out.append(char.swapcase() if draw(st.booleans()) else char)
        out.append(draw(st.sampled_from(["", "", "", " ", "_", "-", "  "])))
    return "".join(out)


# --- keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Agriculture, Forestry, & Fishing", "agriculture forestry and fishing"),
        ("Côte d'Ivoire", "cote divoire"),
        ("CustomSolution(ISV)", "custom_solution isv"),
        ("Dynamics365Business", "dynamics 365 business"),
        ("U.S.", "us"),
        ("10to50employees", "10 To 50 Employees"),
        ("Straße", "STRASSE"),
    ],
)
def test_equivalent_spellings_share_a_key(one: str, other: str) -> None:
    assert lookup_key(one) == lookup_key(other)


def test_key_of_punctuation_only_is_empty() -> None:
    assert lookup_key(" -_.,()'") == ""


# --- lookup ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apple", "Apple"),
        ("apple", "Apple"),
        ("  APPLE  ", "Apple"),
        ("blood_orange", "Blood Orange"),
        ("orange", "Blood Orange"),
        ("golden-delicious", "Apple"),
        ("kiwi and lime", "Kiwi & Lime"),
        ("Kiwi&Lime", "Kiwi & Lime"),
        ("passion fruit red", "PassionFruit(Red)"),
        ("creme brulee", "Crème Brûlée"),
    ],
)
def test_lookup_accepts_variants_and_aliases(text: str, expected: str) -> None:
    catalog = fruit()
    assert catalog.lookup(text) == expected
    assert catalog.get(text) == expected


def test_get_returns_none_for_unknown_text() -> None:
    assert fruit().get("banana") is None
    assert fruit().get("") is None


def test_contains_is_exact_canonical_values_only() -> None:
    catalog = fruit()
    assert "Blood Orange" in catalog
    assert "blood orange" not in catalog
    assert "Orange" not in catalog
    assert 3 not in catalog


def test_values_iteration_and_length_keep_order() -> None:
    catalog = fruit()
    assert catalog.values == FRUIT_VALUES
    assert tuple(catalog) == FRUIT_VALUES
    assert len(catalog) == len(FRUIT_VALUES)
    assert catalog.name == "fruit"
    assert "fruit" in repr(catalog)


def test_label_defaults_to_the_value_and_accepts_variants() -> None:
    catalog = fruit()
    assert catalog.label("Blood Orange") == "Blood Orange"
    assert catalog.label("PassionFruit(Red)") == "Passion Fruit (Red)"
    assert catalog.label("passion fruit red") == "Passion Fruit (Red)"
    with pytest.raises(UnknownValue):
        catalog.label("banana")


def test_labels_are_not_lookups_unless_they_share_the_key() -> None:
    # "Malus domestica" is only how Apple is shown; it was not given as an alias.
    assert fruit().get("Malus domestica") is None


def test_enum_values_come_back_as_members() -> None:
    class Colour(StrEnum):
        RED = "Red"
        DARK_BLUE = "DarkBlue"

    colours: Catalog[Colour] = Catalog("colour", Colour)
    found = colours.lookup("dark blue")
    assert found is Colour.DARK_BLUE
    assert "Red" in colours
    assert Colour.RED in colours


# --- unknown values and suggestions -----------------------------------------------------


def test_unknown_value_carries_catalog_given_and_suggestions() -> None:
    with pytest.raises(UnknownValue) as caught:
        fruit().lookup("Aple")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.catalog == "fruit"
    assert error.given == "Aple"
    assert error.suggestions[0] == "Apple"
    assert str(error).startswith("'Aple' is not a known fruit. Did you mean: ")


def test_message_without_suggestions() -> None:
    with pytest.raises(UnknownValue) as caught:
        fruit().lookup("xyz")
    assert caught.value.suggestions == ()
    assert str(caught.value) == "'xyz' is not a known fruit."


def test_message_shows_a_label_only_where_it_can_be_typed_back() -> None:
    catalog = Catalog("size", ("S", "M"), labels={"S": "Small", "M": "Medium"})
    with pytest.raises(UnknownValue) as caught:
        catalog.lookup("Smal")
    assert str(caught.value) == "'Smal' is not a known size. Did you mean: S (Small)?"
    assert caught.value.suggestions == ("S",)

    with pytest.raises(UnknownValue) as caught:
        fruit().lookup("passion fruit")
    assert "Did you mean: Passion Fruit (Red)?" in str(caught.value)


def test_message_lists_several_suggestions_best_first() -> None:
    catalog = Catalog("play", ("Migrate SAP", "Migrate Oracle", "Frontline Workers"))
    with pytest.raises(UnknownValue) as caught:
        catalog.lookup("migrate")
    assert caught.value.suggestions == ("Migrate SAP", "Migrate Oracle")
    assert str(caught.value).endswith("Did you mean one of: Migrate SAP; Migrate Oracle?")


def test_message_shortens_long_input_but_keeps_it_whole_on_the_error() -> None:
    text = "z" * 500
    with pytest.raises(UnknownValue) as caught:
        fruit().lookup(text)
    assert caught.value.given == text
    assert len(str(caught.value)) < 120


def test_closest_ranks_and_limits() -> None:
    catalog = fruit()
    assert catalog.closest("Blood Orang") == ("Blood Orange",)
    assert catalog.closest("apple")[0] == "Apple"
    assert catalog.closest("lime", n=1) == ("Kiwi & Lime",)
    assert catalog.closest("apple", n=0) == ()
    assert catalog.closest("   ") == ()
    assert catalog.closest("qqqqqq") == ()


# --- construction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "aliases", "labels", "message"),
    [
        (("DataWarehouse", "Data Warehouse"), {}, {}, "'DataWarehouse' and 'Data Warehouse'"),
        (("Power & Utilities", "Power and Utilities"), {}, {}, "'Power & Utilities'"),
        (("A", "A"), {}, {}, "listed twice"),
        (("Apple", "Pear"), {"Pear": "Apple"}, {}, "'Pear'"),
        (("Apple", "Pear"), {"Nashi": "Nashi Pear"}, {}, "'Nashi Pear'"),
        (("Apple", "Pear"), {"apple": "Apple", "A P P L E": "Pear"}, {}, "'A P P L E'"),
        (("Apple", "..."), {}, {}, "'...'"),
        (("Apple",), {"--": "Apple"}, {}, "'--'"),
        (("Apple",), {}, {"Quince": "Q"}, "'Quince'"),
    ],
)
def test_construction_rejects_ambiguous_or_dangling_data(
    values: tuple[str, ...], aliases: dict[str, str], labels: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=r"^thing: ") as caught:
        Catalog("thing", values, aliases=aliases, labels=labels)
    assert message in str(caught.value)


def test_alias_spelling_its_own_value_is_fine() -> None:
    catalog = Catalog("thing", ("Apple",), aliases={"APPLE": "Apple", "apple": "Apple"})
    assert catalog.lookup("a p p l e") == "Apple"


# --- camel_label -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Dynamics365Business", "Dynamics 365 Business"),
        ("DynamicsAX,GP,NAV,SL", "Dynamics AX, GP, NAV, SL"),
        ("CustomSolution(ISV)", "Custom Solution (ISV)"),
        ("IPServices(ISV)", "IP Services (ISV)"),
        ("SkypeForBusiness", "Skype for Business"),
        ("ProofOfConceptOrDemo", "Proof of Concept or Demo"),
        ("PowerBI", "Power BI"),
        ("SQL", "SQL"),
        ("Dynamics365forSales", "Dynamics 365 for Sales"),
        ("Public Safety and National Security", "Public Safety and National Security"),
        ("None", "None"),
    ],
)
def test_camel_label(value: str, label: str) -> None:
    assert camel_label(value) == label


@given(st.text(alphabet=st.sampled_from("aBcDeFxYzQ019,() &"), max_size=30))
def test_camel_label_keeps_the_key(value: str) -> None:
    assert lookup_key(camel_label(value)) == lookup_key(value)


# --- properties ------------------------------------------------------------------------

CANONICAL_TEXT = st.text(
    alphabet=st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), min_size=1
)


@given(st.data())
def test_respelt_values_look_up_to_themselves(data: st.DataObject) -> None:
    catalog = fruit()
    value = data.draw(st.sampled_from(catalog.values))
    assert catalog.lookup(data.draw(respelt(value))) == value


@settings(deadline=None)
@given(st.text())
def test_lookup_raises_only_unknown_value_and_suggests_real_values(text: str) -> None:
    catalog = fruit()
    found = catalog.get(text)
    if found is not None:
        assert found in catalog
        assert catalog.lookup(text) == found
        return
    with pytest.raises(UnknownValue) as caught:
        catalog.lookup(text)
    assert caught.value.given == text
    assert all(suggestion in catalog for suggestion in caught.value.suggestions)
    assert len(set(caught.value.suggestions)) == len(caught.value.suggestions)


@given(
    st.lists(CANONICAL_TEXT.filter(lookup_key), min_size=1, max_size=6, unique_by=lookup_key),
    st.data(),
)
def test_construction_rejects_any_respelt_duplicate(values: list[str], data: st.DataObject) -> None:
    assert Catalog("thing", values).values == tuple(values)
    original = data.draw(st.sampled_from(values))
    twin = data.draw(respelt(original))
    with pytest.raises(ValueError, match=r"^thing: ") as caught:
        Catalog("thing", [*values, twin])
    if twin == original:
        assert "listed twice" in str(caught.value)
    else:
        assert repr(original) in str(caught.value)
        assert repr(twin) in str(caught.value)
