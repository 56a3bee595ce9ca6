"""The review card: every answer with a way to change it, then submit.

A review in groups (``Review.sections``) says what is still needed at the top, then shows
one container per group: its title with one Edit on its right (``Action.EDIT``, the group's
``edit`` as value: the group's questions are asked again), a line per answer (where an
answer the seller did not give came from, subtle, beside it) and the optional questions
left out on one line. The groups that do not fit under the card's size limit are counted.

Without groups, one row per line: the field's name and answer on the left, Edit on its right
(``Action.EDIT``, the line's step as value). A review of 40 lines fits in full; a longer
one shows the lines that fit under the card's size limit and counts the rest, which ``edit
FIELD`` typed as a reply still reaches.

Submit is disabled (``isEnabled: false``) while required answers are missing, with what is
missing said above it; Reapply appears when the referral changed underneath; Cancel asks
first, as on a question card.
"""

from __future__ import annotations

from microsoft_teams.cards.core import Action as CardAction
from microsoft_teams.cards.core import CardElement, Container, TextRun

from bot.conversation.views import Review, ReviewLine, ReviewSection
from cards import words
from cards.ids import Action
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._kit import LABEL, Budget, actions, beside, fits, fitted, note, run, said
from cards.teams._kit import words as runs
from cards.teams._prompt import cancel
from cards.words import MISSING


def review_body(review: Review, budget: Budget) -> list[CardElement]:
    """Title, notice, one row per answer with Edit, what is missing, Submit and Cancel; a
    review in groups says what is missing first, then shows a container per group."""
    if review.sections:
        return _grouped_body(review, budget)
    head: list[CardElement] = [*said(review.title, weight="Bolder", size="Large")]
    if review.notice:
        head.extend(said(f"{words.WARNING} {review.notice}", color="Warning"))
    tail: list[CardElement] = []
    if review.missing:
        tail.append(_still_needed(review.missing))
    tail.append(actions(_decisions(review)))
    budget.reserve(*head, *tail, _not_shown(len(review.lines)))
    missing = set(review.missing)
    rows: list[CardElement] = []
    for line in review.lines:
        row = _line(line, missing)
        if not budget.take(row):
            break
        rows.append(row)
    if len(rows) < len(review.lines):
        rows.append(_not_shown(len(review.lines) - len(rows)))
    return [*head, *rows, *tail]


def _grouped_body(review: Review, budget: Budget) -> list[CardElement]:
    """Title, notice, what is still needed, a container per group with its Edit, Submit and
    Cancel; the groups that do not fit are counted."""
    head: list[CardElement] = [*said(review.title, weight="Bolder", size="Large")]
    if review.notice:
        head.extend(said(f"{words.WARNING} {review.notice}", color="Warning"))
    if review.missing:
        head.append(_still_needed(review.missing))
    tail: list[CardElement] = [actions(_decisions(review))]
    groups = [_group(group) for group in review.sections]
    return fitted(head, groups, tail, budget, more=_groups_not_shown)


def _group(group: ReviewSection) -> CardElement:
    """The group's title with its Edit, a line per answer, and what was left out."""
    title = runs(run(group.title, LABEL, weight="Bolder", size="Medium"))
    top: CardElement = title
    if fits(group.edit, VALUE_BYTES):  # else not a group this card can send back
        top = beside([title], execute(words.EDIT, Action.EDIT, value=group.edit))
    items: list[CardElement] = [top]
    items.extend(
        runs(run(f"{line.label}: ", LABEL, weight="Bolder"), *_answer(line, line.value is None))
        for line in group.lines
    )
    if group.left_out:
        items.append(runs(run(words.left_out(group.left_out), subtle=True, italic=True)))
    return Container(separator=True, items=items)


def _still_needed(missing: tuple[str, ...]) -> CardElement:
    return runs(
        run(f"{words.WARNING} {words.STILL_NEEDED}", weight="Bolder", color="Attention"),
        run(", ".join(missing), color="Attention"),
    )


def _not_shown(count: int) -> CardElement:
    return note(words.fields_not_shown(count), subtle=True)


def _groups_not_shown(count: int) -> CardElement:
    return note(words.groups_not_shown(count), subtle=True)


def _decisions(review: Review) -> list[CardAction]:
    ready = not review.missing
    row: list[CardAction] = [
        execute(
            words.SUBMIT,
            Action.SUBMIT,
            style=None if review.can_reapply else "positive",
            enabled=ready,
        )
    ]
    if review.can_reapply:
        row.append(execute(words.REAPPLY, Action.REAPPLY, style="positive"))
    row.append(cancel())
    return row


def _line(line: ReviewLine, missing: set[str]) -> CardElement:
    needed = line.label in missing
    content = [runs(run(f"{line.label}: ", LABEL, weight="Bolder"), *_answer(line, needed))]
    if not fits(line.step, VALUE_BYTES):  # not a step id this card can send back
        return Container(items=content)
    return beside(content, execute(words.EDIT, Action.EDIT, value=line.step))


def _answer(line: ReviewLine, needed: bool) -> list[TextRun]:
    """The answer, and where it came from when the seller did not give it (subtle, beside
    it); a required answer still missing stands out."""
    if line.value is not None:
        shown = [run(" ".join(line.value.split()))]
        if line.note is not None and line.note.strip():
            aside = words.aside(" ".join(line.note.split()))
            shown.append(run(f"  {aside}", subtle=True, italic=True))
        return shown
    if needed:
        return [run(words.NOT_ANSWERED, color="Attention", italic=True)]
    return [run(MISSING, subtle=True)]
