"""Requests to approve a deal registration: the card, a list of them, and the home card's
share.

The card goes to a shared channel and every approver sees the same one, so it names no
viewer and is never stamped with an owner (:func:`cards.teams.owned` is for a seller's own
drafts); ``ApprovalCard.message`` is the line for whoever it is shown to. Each button is an
``Action.Execute`` whose value is the approval's id (:mod:`cards.teams._actions`): Approve,
Retry and Withdraw send nothing else (``associatedInputs: none``); Reject sends the reason
box just above the buttons. On a card of one request the box is
:data:`~cards.ids.REASON_INPUT` and required, so Teams itself asks for a reason; on a list or
a home card, where Reject sends every box of the card, each request has its own box
(:func:`~cards.teams._actions.reason_input`) and none is required, so one request's Reject is
never held up by another's empty box.

Every text is clipped and the solutions and policies are capped (the rest counted), so a
request's part of a card stays a few kilobytes whatever the data; a list shows the requests
that fit under the card's size limit and counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from microsoft_teams.cards.core import (
    ActionStyle,
    CardElement,
    Container,
    ExecuteAction,
    TextInput,
)

from bot.conversation.views import ApprovalCard, ApprovalList, Verdict
from bot.referrals.models import ReferralEligibility
from cards import words
from cards.formatting import (
    approval_facts,
    approval_glance,
    approval_times,
    inline,
    registration_facts,
    solution_facts,
    solution_name,
    solutions,
)
from cards.ids import VERDICT_ACTIONS
from cards.teams._actions import VALUE_BYTES, execute, reason_input
from cards.teams._kit import (
    PLACEHOLDER,
    Budget,
    actions,
    clip,
    fact,
    fits,
    fitted,
    local_time,
    note,
    run,
    said,
)
from cards.teams._kit import words as runs
from cards.teams._status import COLORS

STYLES: Final[dict[Verdict, ActionStyle]] = {
    "approve": "positive",
    "retry": "positive",
    "reject": "destructive",
}
"""Button styles: the verdict that moves a request on is positive, Reject destructive."""


# -- one request ------------------------------------------------------------------------------


def approval_body(view: ApprovalCard, budget: Budget) -> list[CardElement]:
    """The line for the viewer, what is asked and where it stands, the request, the
    registration and its eligibility (what fits), then the reason box and the buttons."""
    rows = _rows(view)
    tail = _controls(view, reason_input(), required=True)
    more = note(words.NOT_SHOWN, subtle=True)
    return fitted(_head(view), rows, tail, budget, more=lambda _: more)


def verdict_actions(view: ApprovalCard) -> list[ExecuteAction]:
    """A button per verdict the view allows, in its order, each carrying the approval's id;
    none when the id cannot travel whole (a clipped id would name no request, or another)."""
    if not view.approval_id.strip() or not fits(view.approval_id, VALUE_BYTES):
        return []
    return [
        execute(
            words.VERDICT_BUTTONS[verdict],
            VERDICT_ACTIONS[verdict],
            value=view.approval_id,
            inputs=None if verdict == "reject" else "none",
            style=STYLES.get(verdict),
        )
        for verdict in dict.fromkeys(view.actions)
    ]


def _head(view: ApprovalCard) -> list[CardElement]:
    head: list[CardElement] = []
    if view.message and view.message.strip():
        head.extend(said(view.message, weight="Bolder", color="Accent"))
    color = COLORS[words.APPROVAL_TONES[view.status]]
    head.extend(said(words.approval_heading(view), weight="Bolder", size="Large", color=color))
    if view.young:
        head.append(note(f"{words.WARNING} {words.YOUNG_REFERRAL}", color="Warning"))
    return head


def _rows(view: ApprovalCard) -> list[CardElement]:
    """The request's facts and times, the registration, each solution, the eligibility: the
    parts a card too small for all of them leaves out from the end."""
    rows: list[CardElement] = [fact(label, value) for label, value in approval_facts(view)]
    rows.extend(
        note(f"{label}: {local_time(moment)}", subtle=True)
        for label, moment in approval_times(view)
    )
    contract = [fact(label, value) for label, value in registration_facts(view.registration)]
    rows.append(Container(separator=True, items=[_caption(words.REGISTRATION), *contract]))
    rows.extend(_solutions(view))
    if view.eligibility is not None:
        rows.append(_eligibility(view.eligibility, view.referral_id))
    return rows


def _solutions(view: ApprovalCard) -> list[CardElement]:
    listed = solutions(view.registration)
    if not listed:
        return [fact(words.SOLUTIONS, words.NO_SOLUTIONS)]
    rows: list[CardElement] = [
        Container(
            items=[
                runs(run(solution_name(solution), weight="Bolder")),
                runs(run(inline(solution_facts(solution)))),
            ]
        )
        for solution in listed[: words.MAX_SOLUTIONS]
    ]
    if len(listed) > words.MAX_SOLUTIONS:
        more = words.solutions_not_shown(len(listed) - words.MAX_SOLUTIONS)
        rows.append(note(more, subtle=True))
    return [_caption(words.SOLUTIONS), *rows]


def _eligibility(eligibility: ReferralEligibility, referral_id: str) -> CardElement:
    """The verdict, then one line per policy, failed first (at most
    :data:`~cards.words.MAX_POLICIES`, and a line counting the rest)."""
    verdict = words.eligibility_verdict(eligibility, referral_id)
    items: list[CardElement] = [*said(verdict, weight="Bolder")]
    outcomes = words.policy_outcomes(eligibility)
    items.extend(
        runs(run(f"{_mark(passed)} "), run(sentence))
        for passed, sentence in outcomes[: words.MAX_POLICIES]
    )
    if len(outcomes) > words.MAX_POLICIES:
        items.append(note(words.policies_not_shown(len(outcomes) - words.MAX_POLICIES)))
    return Container(separator=True, items=items)


def _controls(view: ApprovalCard, box: str, *, required: bool) -> list[CardElement]:
    """The reason box (when Reject is offered) just above the buttons; nothing once
    decided."""
    buttons = verdict_actions(view)
    if not buttons:
        return []
    controls: list[CardElement] = []
    if "reject" in view.actions:
        controls.append(
            TextInput(
                id=box,
                is_multiline=True,
                label=words.REASON_LABEL,
                placeholder=clip(words.REASON_QUESTION, PLACEHOLDER),
                max_length=words.REASON_LENGTH,
                is_required=required or None,
                error_message=words.REASON_FIRST if required else None,
            )
        )
    controls.append(actions(buttons))
    return controls


# -- several requests -------------------------------------------------------------------------


def approval_list_body(view: ApprovalList, budget: Budget) -> list[CardElement]:
    """The title, then each request as on its own card (each with its own reason box), as
    many as fit, and a line counting the rest with the command that lists them."""
    head = said(view.title, weight="Bolder", size="Large")
    if not view.approvals:
        return [*head, *said(view.empty)]
    parts = [Container(separator=True, items=_whole(approval)) for approval in view.approvals]
    return _taken(head, parts, budget)


def waiting_body(approvals: Sequence[ApprovalCard], budget: Budget) -> list[CardElement]:
    """A home card's requests waiting for a decision, each in a few lines with its reason box
    and buttons (at most :data:`~cards.words.MAX_HOME_APPROVALS`, as many as fit, and a line
    counting the rest); nothing when none waits."""
    if not approvals:
        return []
    head: list[CardElement] = [note(words.WAITING_FOR_DECISION, weight="Bolder", size="Medium")]
    parts = [_glance(approval) for approval in approvals]
    return _taken(head, parts, budget, most=words.MAX_HOME_APPROVALS)


def _whole(view: ApprovalCard) -> list[CardElement]:
    box = reason_input(view.approval_id)
    return [*_head(view), *_rows(view), *_controls(view, box, required=False)]


def _glance(view: ApprovalCard) -> CardElement:
    color = COLORS[words.APPROVAL_TONES[view.status]]
    items: list[CardElement] = [
        runs(run(words.approval_title(view), weight="Bolder")),
        runs(run(words.approval_status(view), color=color)),
        runs(run(approval_glance(view), subtle=True)),
        *_controls(view, reason_input(view.approval_id), required=False),
    ]
    return Container(separator=True, items=items)


def _taken(
    head: list[CardElement],
    parts: Sequence[CardElement],
    budget: Budget,
    *,
    most: int | None = None,
) -> list[CardElement]:
    """``head``, then ``parts`` in order while they fit (at most ``most``), then a line
    counting those left out; a part that does not fit ends the run, keeping the order."""
    widest = note(words.approvals_not_shown(len(parts)), subtle=True)
    budget.reserve(*head, widest)
    shown: list[CardElement] = []
    for part in parts[:most]:
        if not budget.take(part):
            break
        shown.append(part)
    if len(shown) < len(parts):
        shown.append(note(words.approvals_not_shown(len(parts) - len(shown)), subtle=True))
    return [*head, *shown]


def _caption(text: str) -> CardElement:
    return note(text, weight="Bolder")


def _mark(ok: bool) -> str:
    return words.PASSED if ok else words.FAILED
