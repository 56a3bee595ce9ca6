"""Type-ahead: a catalog answers by its id (what a card names) and by a step's id (what a
Slack type-ahead request carries), the same way."""

from __future__ import annotations

from bot.conversation.suggest import catalog_suggestions, suggestions
from bot.referrals import catalogs


def test_a_catalog_answers_the_same_by_its_id_and_by_a_step_that_offers_it() -> None:
    by_catalog = catalog_suggestions("country", "ger")

    assert by_catalog[0].value == "DE"
    assert by_catalog[0].label == catalogs.COUNTRIES.label("DE")
    assert suggestions("country", "ger") == by_catalog


def test_an_empty_query_lists_the_catalog_from_the_top_and_unknown_ids_find_nothing() -> None:
    assert [o.value for o in catalog_suggestions("currency", "", limit=3)] == list(
        catalogs.CURRENCIES
    )[:3]
    assert catalog_suggestions("no such catalog", "ger") == ()
    assert suggestions("no_such_step", "ger") == ()


def test_every_offered_catalog_is_known_by_its_own_id() -> None:
    for catalog_id, catalog in catalogs.OFFERED.items():
        assert catalogs.catalog_id(catalog) == catalog_id
        assert catalogs.by_id(catalog_id) is catalog
