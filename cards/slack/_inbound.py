"""Incoming referrals in Slack: the triage card, the inbox, the home page's share, and the
modal that asks why one is declined.

The card sits in a triage channel every seller there sees, so nothing on it names a viewer;
``InboundCard.message`` is the line for whoever it is shown to (a reminder, who decided).
Accept and Decline are buttons carrying the referral's id: Accept is decided on the click,
Decline opens :func:`decline_modal`, whose submission (``callback_id``
:attr:`~cards.ids.Action.DECLINE_REASON``) brings the reason and, in ``private_metadata``, the
referral's id. Assign is a user picker (``users_select``), which carries no value of its
own: the row's block id names the referral (:data:`~cards.ids.INBOUND_BLOCK_PREFIX`).

A card is at most nine blocks whatever the data, every text clipped by
:mod:`cards.slack._kit`; a list shows as many whole cards as fit in a message.
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
    UserSelectElement,
)
from slack_sdk.models.views import View as Surface

from bot.conversation.views import InboundCard, InboundList, TriageVerdict
from cards import inbound
from cards.ids import INBOUND_BLOCK_PREFIX, REASON_INPUT, TRIAGE_ACTIONS, Action
from cards.slack._kit import (
    BUTTON_VALUE,
    ID_LENGTH,
    MESSAGE_BLOCKS,
    PLACEHOLDER,
    actions,
    button,
    context,
    escape,
    fact,
    field_sections,
    header,
    plain,
    section,
)
from cards.words import CANCEL

STYLES: Final[dict[TriageVerdict, str]] = {"accept": "primary", "decline": "danger"}
MODAL_TITLE: Final = Surface.title_max_length
MODAL_BUTTON: Final = 24
MODAL_LABEL: Final = InputBlock.label_max_length
NOTES_TEXT: Final = 1000
"""Longest notes shown: the card is for deciding at a glance."""


def inbound_blocks(view: InboundCard) -> list[Block]:
    """The line for the viewer, what arrived and where its answer stands, the facts, the
    sender's notes, the id, then the controls the view allows."""
    blocks: list[Block] = []
    if view.message and view.message.strip():
        blocks.append(section(f"*{escape(' '.join(view.message.split()))}*"))
    blocks.append(header(inbound.inbound_title(view)))
    blocks.append(section(escape(inbound.inbound_status(view))))
    problem = inbound.problem_line(view)
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    facts = inbound.inbound_facts(view)
    blocks.extend(field_sections(fact(label, value) for label, value in facts))
    notes = inbound.inbound_notes(view)
    if notes:
        blocks.append(context(escape(notes[:NOTES_TEXT])))
    blocks.append(context(f"Id: `{escape(view.referral.id or '')}`"))
    controls = triage_controls(view)
    if controls:
        blocks.append(actions(controls, block_id=inbound_block_id(view)))
    return blocks


def inbound_block_id(view: InboundCard) -> str | None:
    """The controls row's block id, naming the referral; None when the id cannot travel whole
    (a clipped id would name another referral, or none)."""
    block_id = f"{INBOUND_BLOCK_PREFIX}{view.referral.id or ''}"
    return block_id if view.referral.id and len(block_id) <= ID_LENGTH else None


def triage_controls(view: InboundCard) -> list[InteractiveElement]:
    """Accept, Decline and the Assign picker, as the view allows; none without an id that
    travels whole."""
    referral_id = view.referral.id or ""
    if not referral_id.strip() or len(referral_id) > BUTTON_VALUE or not inbound_block_id(view):
        return []
    controls: list[InteractiveElement] = []
    for verdict in dict.fromkeys(view.actions):
        if verdict == "assign":
            controls.append(
                UserSelectElement(
                    action_id=Action.ASSIGN.value,
                    placeholder=plain(inbound.ASSIGN_PLACEHOLDER, PLACEHOLDER),
                )
            )
        else:
            controls.append(
                button(
                    inbound.BUTTONS[verdict],
                    TRIAGE_ACTIONS[verdict],
                    value=referral_id,
                    style=STYLES.get(verdict),
                )
            )
    return controls


def inbox_blocks(view: InboundList) -> list[Block]:
    """The title, then each referral's card between dividers, as many whole cards as fit in a
    message, and a line counting the rest."""
    blocks: list[Block] = [header(view.title)]
    if not view.referrals:
        return [*blocks, section(escape(view.empty))]
    room = MESSAGE_BLOCKS - len(blocks) - 1
    shown = 0
    for each in view.referrals:
        card: list[Block] = [DividerBlock(), *inbound_blocks(each)]
        if len(card) > room:
            break
        blocks.extend(card)
        room -= len(card)
        shown += 1
    if shown < len(view.referrals):
        blocks.append(context(escape(inbound.inbound_not_shown(len(view.referrals) - shown))))
    return blocks


def waiting_inbound_blocks(referrals: Sequence[InboundCard]) -> list[Block]:
    """A home page's incoming referrals waiting for an answer: each in a few lines with its
    controls (at most :data:`~cards.inbound.MAX_HOME_INBOUND`, and a line counting the rest)."""
    if not referrals:
        return []
    blocks: list[Block] = [header(inbound.WAITING_FOR_ANSWER)]
    for each in referrals[: inbound.MAX_HOME_INBOUND]:
        lines = [
            f"*{escape(inbound.inbound_title(each))}*",
            escape(inbound.inbound_status(each)),
            escape(inbound.inbound_glance(each)),
        ]
        blocks.append(section("\n".join(lines)))
        controls = triage_controls(each)
        if controls:
            blocks.append(actions(controls, block_id=inbound_block_id(each)))
    if len(referrals) > inbound.MAX_HOME_INBOUND:
        more = inbound.inbound_not_shown(len(referrals) - inbound.MAX_HOME_INBOUND)
        blocks.append(context(escape(more)))
    return blocks


def decline_modal(referral_id: str, heading: str) -> dict[str, Any]:
    """The modal Decline opens, as the ``view`` argument of ``views.open``: ``heading`` (plain
    text) and a required box for the reason. Its submission has ``callback_id``
    :attr:`~cards.ids.Action.DECLINE_REASON`, the referral's id as ``private_metadata`` and
    the reason under ``state.values[REASON_INPUT][REASON_INPUT].value``."""
    reason = PlainTextInputElement(
        action_id=REASON_INPUT, multiline=True, max_length=inbound.REASON_LENGTH
    )
    return Surface(
        type="modal",
        callback_id=Action.DECLINE_REASON.value,
        private_metadata=referral_id,
        title=plain(inbound.DECLINE_TITLE, MODAL_TITLE),
        submit=plain(inbound.DECLINE, MODAL_BUTTON),
        close=plain(CANCEL, MODAL_BUTTON),
        blocks=[
            section(escape(heading)),
            InputBlock(
                block_id=REASON_INPUT,
                label=plain(inbound.DECLINE_QUESTION, MODAL_LABEL),
                element=reason,
                optional=False,
            ),
        ],
    ).to_dict()
