"""Type-ahead for long catalogs (countries, currencies, solutions): what matches a query.

Answered within a platform's few-second budget without touching Redis: the catalogs are in
memory and a step's catalog does not depend on the draft for the searchable steps.

:func:`suggestions` answers for a step id, for a platform whose type-ahead request carries
only the step (Slack's ``block_suggestion``).
"""

from __future__ import annotations

import functools

from bot.conversation.views import Option
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.steps import Fixed
from bot.referrals.lookup import Catalog, lookup_key

MAX_SUGGESTIONS = 100
"""Slack shows at most 100 options in an external select."""


def searchable_catalog(step_id: str) -> Catalog[str] | None:
    """The fixed catalog behind a step of any flow, or None for steps without one."""
    for flow in FLOWS.values():
        for step in flow.steps:
            if step.id == step_id and isinstance(step.choices, Fixed):
                return step.choices.source
    return None


def suggestions(step_id: str, query: str, *, limit: int = MAX_SUGGESTIONS) -> tuple[Option, ...]:
    """Options of the step's catalog matching ``query`` (see :func:`matching`)."""
    catalog = searchable_catalog(step_id)
    return () if catalog is None else matching(catalog, query, limit=limit)


def matching(
    catalog: Catalog[str], query: str, *, limit: int = MAX_SUGGESTIONS
) -> tuple[Option, ...]:
    """Options of ``catalog`` matching ``query``: prefix matches of the label or value first,
    then other substring matches, then the closest spellings; the first ``limit`` of the
    catalog for an empty query."""
    key = lookup_key(query)
    keyed = _keyed(catalog)
    if not key:
        picked = [value for value, _, _ in keyed[:limit]]
    else:
        starts = [value for value, keys, _ in keyed if any(k.startswith(key) for k in keys)]
        inside = [
            value for value, keys, _ in keyed if value not in starts and any(key in k for k in keys)
        ]
        close = [v for v in catalog.closest(query, n=10) if v not in starts and v not in inside]
        picked = [*starts, *inside, *close][:limit]
    labels = {value: label for value, _, label in keyed}
    return tuple(Option(value=value, label=labels[value]) for value in picked)


@functools.cache
def _keyed(catalog: Catalog[str]) -> tuple[tuple[str, tuple[str, str], str], ...]:
    # Normalising every label on every keystroke would dominate a type-ahead answer.
    return tuple(
        (value, (lookup_key(catalog.label(value)), lookup_key(value)), catalog.label(value))
        for value in catalog
    )
