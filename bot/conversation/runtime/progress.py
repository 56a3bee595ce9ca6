"""Where a question stands: "Step N of T", counted in questions, not fields (see
:class:`~bot.conversation.views.Progress` for why the total is a bound)."""

from __future__ import annotations

from typing import Any

from bot.conversation.runtime.situation import Situation
from bot.conversation.views import Progress
from bot.conversation.vocabulary.steps import Step


def progress(situation: Situation, step: Step) -> Progress:
    """Where ``step`` stands among the questions asked or still to ask for the steps that
    apply or may yet (:meth:`Flow.may_apply`): its place among them, and how many there are
    (why a bound: :class:`Progress`).

    A group question counts once for the steps it covers while it is still to be asked, and
    the steps its answer filled are not counted again; so an address typed in one answer
    takes one off the count, not six. An answer that fills only some of them leaves the rest
    to be asked one by one, and they are counted from then on."""
    flow, answers, skipped = situation.flow, situation.answers, situation.session.skipped
    told = {*situation.session.told, *situation.session.inferred}
    # Each group's steps counted as part of it while it is still to be asked (asked on every
    # question: worked out once per group, not once per step).
    folding = {
        group.id: _folded(group, answers)
        for group in flow.steps
        if group.is_group and situation.is_open(group)
    }
    counted: list[Step] = []
    for candidate in flow.may_apply(answers, skipped):
        if candidate.id in told and candidate.id in answers:
            # Answered without being asked (the first line, a prefill, worked out): not a
            # question, even while an edit asks it.
            continue
        if candidate.is_group:
            asked = candidate.id in answers or candidate.id in skipped
            if step.id in candidate.covers and not asked:
                continue  # the seller went to one of its steps (an edit): that one counts
            if asked or candidate.id == step.id or candidate.id in folding:
                counted.append(candidate)
            continue
        group = flow.group_of(candidate.id)
        if group is not None:
            settled = answers.get(group.id)
            if isinstance(settled, list) and candidate.id in settled:
                continue  # its group's answer gave it: asked again, it is that question
            folded = candidate.id in folding.get(group.id, ())
            if folded and candidate.id != step.id:
                continue  # counted as part of its group, still to be asked
        counted.append(candidate)
    ids = [counted_step.id for counted_step in counted]
    group = flow.group_of(step.id)
    if step.id in ids:
        number = ids.index(step.id) + 1
    elif group is not None and group.id in ids:  # asked again, as part of its group's answer
        number = ids.index(group.id) + 1
    elif ids:  # an answer it was told, edited: where it stands among the questions
        order = [each.id for each in flow.steps]
        before = sum(1 for each in ids if order.index(each) < order.index(step.id))
        number = min(max(before, 1), len(ids))
    else:  # every answer was told: this edit is the one question
        return Progress(number=1, total=1)
    return Progress(number=number, total=len(ids))


def _folded(group: Step, answers: dict[str, Any]) -> frozenset[str]:
    """The steps counted as part of ``group``'s question while that is still to be asked:
    all it covers, unless it offers choices (optional questions), then only those offered
    (a required step it covers is asked whatever the answer)."""
    catalog = group.choices.catalog(answers) if group.choices is not None else None
    return frozenset(group.covers if catalog is None else catalog)
