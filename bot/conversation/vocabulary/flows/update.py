"""``/referral update ID``: pick the fields to change, answer each, review, send a JSON Patch.

The fields are the new-referral steps whose path is marked updatable, the very same steps:
marking a step ``updatable=True`` in :mod:`~bot.conversation.vocabulary.flows.new_referral`
offers it here, with its current value read from its path. Each picked answer that differs
from the referral's value becomes a ``replace`` at that path.

The change is bound to the version read at the start (``If-Match``); when someone changed
the referral meanwhile, the seller sees what changed and may re-apply. Diagram:
``docs/flows/update.md``.
"""

from __future__ import annotations

from bot.conversation.vocabulary.flows import new_referral
from bot.conversation.vocabulary.flows.builders import any_of
from bot.conversation.vocabulary.paths import NoPath
from bot.conversation.vocabulary.steps import Fixed, Flow, Step, Submit
from bot.referrals.lookup import Catalog

UPDATABLE_STEPS: tuple[Step, ...] = tuple(
    step for step in new_referral.FLOW.steps if step.updatable
)
"""The fields an update may change, in the new-referral flow's order."""

ALIASES = {"value": "deal_value", "amount": "deal_value", "close date": "closing_date"}
"""Other words sellers use for some fields (optional: a field needs none)."""

UPDATABLE: Catalog[str] = Catalog(
    "field",
    tuple(step.id for step in UPDATABLE_STEPS),
    labels={step.id: step.label for step in UPDATABLE_STEPS},
    aliases={
        alias: step_id
        for alias, step_id in ALIASES.items()
        if any(step.id == step_id for step in UPDATABLE_STEPS)
    },
)
"""The fields picker's choices: one per updatable step, by step id."""

FLOW = Flow(
    name="update",
    title="Update referral",
    submit=Submit.UPDATE_REFERRAL,
    needs_referral=True,
    chosen_by="fields",
    steps=(
        any_of(
            "fields",
            "Fields to change",
            "What do you want to change?",
            Fixed(UPDATABLE),
            display=lambda picked: ", ".join(UPDATABLE.label(str(p)) for p in picked),
            fills=NoPath("picks the fields to change; each picked field is asked next"),
        ),
        *UPDATABLE_STEPS,
    ),
)
