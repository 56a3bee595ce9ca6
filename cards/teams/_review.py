"""The review card: every answer with a way to change it, then submit.

One row per line: the field's name and answer on the left, Edit on its right
(``Action.EDIT``, the line's step as value). The new-referral flow's longest review (31
lines) fits in full; a longer one shows the lines that fit under the card's size limit and
counts the rest, which ``edit FIELD`` typed as a reply still reaches.

Submit is disabled (``isEnabled: false``) while required answers are missing, with what is
missing said above it; Reapply appears when the referral changed underneath; Cancel asks
first, as on a question card.
"""

from __future__ import annotations

from microsoft_teams.cards.core import Action as CardAction
from microsoft_teams.cards.core import CardElement, Container, TextRun

from bot.conversation.views import Review, ReviewLine
from cards import words
from cards.ids import Action
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._kit import LABEL, Budget, actions, beside, fits, note, run, said
from cards.teams._kit import words as runs
from cards.teams._prompt import cancel
from cards.words import MISSING


def review_body(review: Review, budget: Budget) -> list[CardElement]:
    """Title, notice, one row per answer with Edit, what is missing, Submit and Cancel."""
    head: list[CardElement] = [*said(review.title, weight="Bolder", size="Large")]
    if review.notice:
        head.extend(said(f"{words.WARNING} {review.notice}", color="Warning"))
    tail: list[CardElement] = []
    if review.missing:
        tail.append(
            runs(
                run(f"{words.WARNING} {words.STILL_NEEDED}", weight="Bolder", color="Attention"),
                run(", ".join(review.missing), color="Attention"),
            )
        )
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


def _not_shown(count: int) -> CardElement:
    return note(words.fields_not_shown(count), subtle=True)


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
    content = [runs(run(f"{line.label}: ", LABEL, weight="Bolder"), _answer(line, missing))]
    if not fits(line.step, VALUE_BYTES):  # not a step id this card can send back
        return Container(items=content)
    return beside(content, execute(words.EDIT, Action.EDIT, value=line.step))


def _answer(line: ReviewLine, missing: set[str]) -> TextRun:
    if line.value is not None:
        return run(" ".join(line.value.split()))
    if line.label in missing:
        return run(words.NOT_ANSWERED, color="Attention", italic=True)
    return run(MISSING, subtle=True)
