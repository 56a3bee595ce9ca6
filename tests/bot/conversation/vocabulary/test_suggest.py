"""Type-ahead: a step's catalog answers by the step's id (what a Slack type-ahead request
carries)."""

from __future__ import annotations

from bot.conversation.vocabulary.suggest import suggestions
from bot.referrals import catalogs


def test_a_step_answers_from_its_catalog() -> None:
    found = suggestions("country", "ger")

    assert found[0].value == "DE"
    assert found[0].label == catalogs.COUNTRIES.label("DE")


def test_an_empty_query_lists_the_catalog_from_the_top_and_unknown_steps_find_nothing() -> None:
    assert [o.value for o in suggestions("currency", "", limit=3)] == list(catalogs.CURRENCIES)[:3]
    assert suggestions("no_such_step", "ger") == ()


def test_every_offered_catalog_is_known_by_its_own_id() -> None:
    for catalog_id, catalog in catalogs.OFFERED.items():
        assert catalogs.catalog_id(catalog) == catalog_id
        assert catalogs.by_id(catalog_id) is catalog
