"""Requests to approve a deal registration: the card, a list of them, the home page's share,
and the modal that asks why one is rejected.

The card is posted in a shared channel and every approver sees the same one, so nothing on
it names a viewer; ``ApprovalCard.message`` is the line for whoever it is shown to. Each
button carries the approval's id as its value and nothing else: Approve, Retry and Withdraw
are decided on the click, Reject opens :func:`reject_modal`, whose submission
(``callback_id`` :attr:`~cards.ids.Action.REJECT_REASON`) brings the reason and, in
``private_metadata``, the approval's id.

A card is at most 14 blocks, whatever the data: solutions past
:data:`~cards.words.MAX_SOLUTIONS` are counted, policies share one section and every text is
clipped by :mod:`cards.slack._kit`. A list shows as many whole cards as fit in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    InputBlock,
    InteractiveElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View as Surface

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
from cards.ids import REASON_INPUT, VERDICT_ACTIONS, Action
from cards.slack._kit import (
    BUTTON_VALUE,
    FIELD_TEXT,
    MESSAGE_BLOCKS,
    actions,
    button,
    clip_mrkdwn,
    context,
    escape,
    fact,
    field_sections,
    header,
    local_time,
    mrkdwn,
    plain,
    section,
)

STYLES: Final[dict[Verdict, str]] = {"approve": "primary", "retry": "primary", "reject": "danger"}
"""Button styles: the verdict that moves a request on is primary, Reject is danger."""
NAME_TEXT: Final = 300
"""Longest solution name shown (escaped mrkdwn), so its facts always fit beside it."""
LINE_TEXT: Final = 240
"""Longest line of the eligibility section: its dozen lines share one section's 3,000."""
MODAL_TITLE: Final = Surface.title_max_length
MODAL_BUTTON: Final = 24
"""A modal's submit and close buttons (Slack's limit; slack_sdk checks only the title)."""
MODAL_LABEL: Final = InputBlock.label_max_length


# -- one request ------------------------------------------------------------------------------


def approval_blocks(view: ApprovalCard) -> list[Block]:
    """The line for the viewer, what is asked and where it stands, the request and the
    registration, its eligibility, then the buttons the view allows."""
    blocks: list[Block] = []
    if view.message and view.message.strip():
        # Bold in mrkdwn stops at a line break: the line is shown as one.
        blocks.append(section(f"*{escape(' '.join(view.message.split()))}*"))
    blocks.append(header(words.approval_title(view)))
    blocks.append(section(escape(words.approval_status(view))))
    if view.young:
        blocks.append(section(f":warning: {escape(words.YOUNG_REFERRAL)}"))
    blocks.extend(_request(view))
    blocks.extend(_registration(view))
    if view.eligibility is not None:
        blocks.append(section(_eligibility(view.eligibility, view.referral_id)))
    buttons = verdict_buttons(view)
    if buttons:
        blocks.append(actions(buttons))
    return blocks


def verdict_buttons(view: ApprovalCard) -> list[InteractiveElement]:
    """A button per verdict the view allows, in its order, each carrying the approval's id.

    An id too long to travel whole gets no buttons: a click must name the request it was
    made on, never a clipped id that names none (or another).
    """
    if not view.approval_id.strip() or len(view.approval_id) > BUTTON_VALUE:
        return []
    return [
        button(
            words.VERDICT_BUTTONS[verdict],
            VERDICT_ACTIONS[verdict],
            value=view.approval_id,
            style=STYLES.get(verdict),
        )
        for verdict in dict.fromkeys(view.actions)  # Slack refuses an action id twice a row
    ]


def _request(view: ApprovalCard) -> list[Block]:
    facts = [fact(label, value) for label, value in approval_facts(view)]
    facts.extend(f"*{label}*\n{local_time(moment)}" for label, moment in approval_times(view))
    return list(field_sections(facts))


def _registration(view: ApprovalCard) -> list[Block]:
    """The contract in one section of fields, then a section per solution (at most
    :data:`~cards.words.MAX_SOLUTIONS`, and a line counting the rest)."""
    registration = view.registration
    contract = [
        mrkdwn(fact(label, value), FIELD_TEXT) for label, value in registration_facts(registration)
    ]
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f"*{words.REGISTRATION}*"), fields=contract)]
    listed = solutions(registration)
    if not listed:
        return [*blocks, context(f"{words.SOLUTIONS}: {words.NO_SOLUTIONS}")]
    for solution in listed[: words.MAX_SOLUTIONS]:
        # A long name must leave room in the section for the solution's facts.
        name = clip_mrkdwn(escape(solution_name(solution)), NAME_TEXT)
        blocks.append(section(f"*{name}*\n{escape(inline(solution_facts(solution)))}"))
    if len(listed) > words.MAX_SOLUTIONS:
        blocks.append(context(words.solutions_not_shown(len(listed) - words.MAX_SOLUTIONS)))
    return blocks


def _eligibility(eligibility: ReferralEligibility, referral_id: str) -> str:
    """The verdict, then one line per policy, failed first; at most
    :data:`~cards.words.MAX_POLICIES`, and a line counting the rest. Each line is clipped
    so that all of them fit in the section (a policy we do not know shows by its name)."""
    verdict = words.eligibility_verdict(eligibility, referral_id)
    said = [f"*{clip_mrkdwn(escape(verdict), LINE_TEXT)}*"]
    outcomes = words.policy_outcomes(eligibility)
    said.extend(
        f"{_mark(passed)} {clip_mrkdwn(escape(sentence), LINE_TEXT)}"
        for passed, sentence in outcomes[: words.MAX_POLICIES]
    )
    if len(outcomes) > words.MAX_POLICIES:
        said.append(words.policies_not_shown(len(outcomes) - words.MAX_POLICIES))
    return "\n".join(said)


# -- several requests -------------------------------------------------------------------------


def approval_list_blocks(view: ApprovalList) -> list[Block]:
    """The title, then each request's card between dividers, as many whole cards as fit in
    a message, and a line counting the rest with the command that lists them."""
    blocks: list[Block] = [header(view.title)]
    if not view.approvals:
        return [*blocks, section(escape(view.empty))]
    room = MESSAGE_BLOCKS - len(blocks) - 1  # the line counting what does not fit
    shown = 0
    for approval in view.approvals:
        card: list[Block] = [DividerBlock(), *approval_blocks(approval)]
        if len(card) > room:
            break
        blocks.extend(card)
        room -= len(card)
        shown += 1
    if shown < len(view.approvals):
        blocks.append(context(escape(words.approvals_not_shown(len(view.approvals) - shown))))
    return blocks


def waiting_blocks(approvals: Sequence[ApprovalCard]) -> list[Block]:
    """A home page's requests waiting for a decision: each in a few lines with its buttons
    (at most :data:`~cards.words.MAX_HOME_APPROVALS`, and a line counting the rest)."""
    if not approvals:
        return []
    blocks: list[Block] = [header(words.WAITING_FOR_DECISION)]
    for approval in approvals[: words.MAX_HOME_APPROVALS]:
        lines = [
            f"*{escape(words.approval_title(approval))}*",
            escape(words.approval_status(approval)),
            escape(approval_glance(approval)),
        ]
        blocks.append(section("\n".join(lines)))
        buttons = verdict_buttons(approval)
        if buttons:
            blocks.append(actions(buttons))
    if len(approvals) > words.MAX_HOME_APPROVALS:
        more = words.approvals_not_shown(len(approvals) - words.MAX_HOME_APPROVALS)
        blocks.append(context(escape(more)))
    return blocks


# -- rejecting --------------------------------------------------------------------------------


def reject_modal(approval_id: str, heading: str) -> dict[str, Any]:
    """The modal Reject opens, as the ``view`` argument of ``views.open``: ``heading`` (the
    request's :func:`~cards.words.approval_heading`, plain text) and a required box for the
    reason. Its submission has ``callback_id`` :attr:`~cards.ids.Action.REJECT_REASON`, the
    approval's id as ``private_metadata`` and the reason under
    ``state.values[REASON_INPUT][REASON_INPUT].value``."""
    reason = PlainTextInputElement(
        action_id=REASON_INPUT, multiline=True, max_length=words.REASON_LENGTH
    )
    return Surface(
        type="modal",
        callback_id=Action.REJECT_REASON.value,
        private_metadata=approval_id,
        title=plain(words.REJECT_TITLE, MODAL_TITLE),
        submit=plain(words.REJECT, MODAL_BUTTON),
        close=plain(words.CANCEL, MODAL_BUTTON),
        blocks=[
            section(escape(heading)),
            InputBlock(
                block_id=REASON_INPUT,
                label=plain(words.REASON_QUESTION, MODAL_LABEL),
                element=reason,
                optional=False,
            ),
        ],
    ).to_dict()


def _mark(ok: bool) -> str:
    return words.PASSED if ok else words.FAILED
