"""Incoming referrals in Teams: the triage card, the inbox, and the home card's share.

The card goes to a shared channel, so it names no viewer and carries no owner (as approval
cards, see :mod:`cards.teams._approvals`); ``InboundCard.message`` is the line for whoever it
is shown to. Each button is an ``Action.Execute`` whose value is the referral's id
(:mod:`cards.teams._actions`): Accept sends nothing else (``associatedInputs: none``);
Decline and Assign send the card's boxes, of which they read their own: the reason box
(:data:`~cards.ids.REASON_INPUT`) and the seller's email box
(:data:`~cards.ids.ASSIGNEE_INPUT`). Neither box is required, so that one button is never
held up by the other's empty box; a Decline without a reason is refused in the click's
answer. On a list or a home card each referral has boxes of its own (their ids end with the
referral's id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from microsoft_teams.cards.core import ActionStyle, CardElement, Container, ExecuteAction, TextInput

from bot.conversation.views import InboundCard, InboundList, TriageVerdict
from cards import inbound
from cards.ids import ASSIGNEE_INPUT, REASON_INPUT, TRIAGE_ACTIONS
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._kit import (
    LONG_TEXT,
    PLACEHOLDER,
    Budget,
    clip,
    fact,
    fits,
    fitted,
    note,
    run,
    said,
)
from cards.teams._kit import actions as action_set
from cards.teams._kit import words as runs
from cards.teams._status import COLORS

STYLES: Final[dict[TriageVerdict, ActionStyle]] = {"accept": "positive", "decline": "destructive"}
EMAIL_LENGTH: Final = 254


def box(name: str, referral_id: str | None) -> str:
    """The id of a referral's box: ``name`` on a card of one referral, ``name:<id>`` on a card
    of several (ids are unique in a card, and a button sends every box of it)."""
    return name if referral_id is None else f"{name}:{referral_id}"


def inbound_body(view: InboundCard, budget: Budget) -> list[CardElement]:
    """The line for the viewer, what arrived and where its answer stands, the facts and the
    notes (what fits), then the boxes and the buttons."""
    rows: list[CardElement] = [fact(label, value) for label, value in inbound.inbound_facts(view)]
    notes = inbound.inbound_notes(view)
    if notes:
        rows.extend(said(notes, LONG_TEXT, subtle=True))
    rows.append(note(f"Id: {view.referral.id or ''}", subtle=True))
    more = note("More on the referral in Partner Center.", subtle=True)
    return fitted(_head(view), rows, _controls(view, None), budget, more=lambda _: more)


def triage_actions(view: InboundCard) -> list[ExecuteAction]:
    """A button per verdict the view allows, each carrying the referral's id; none when the
    id cannot travel whole."""
    referral_id = view.referral.id or ""
    if not referral_id.strip() or not fits(referral_id, VALUE_BYTES):
        return []
    return [
        execute(
            inbound.BUTTONS[verdict],
            TRIAGE_ACTIONS[verdict],
            value=referral_id,
            inputs="none" if verdict == "accept" else None,
            style=STYLES.get(verdict),
        )
        for verdict in dict.fromkeys(view.actions)
    ]


def _head(view: InboundCard) -> list[CardElement]:
    head: list[CardElement] = []
    if view.message and view.message.strip():
        head.extend(said(view.message, weight="Bolder", color="Accent"))
    color = COLORS[inbound.TONES[view.status]]
    head.extend(said(inbound.inbound_title(view), weight="Bolder", size="Large", color=color))
    head.extend(said(inbound.inbound_status(view), color=color))
    problem = inbound.problem_line(view)
    if problem:
        head.extend(said(problem, color="Warning"))
    return head


def _controls(view: InboundCard, referral_id: str | None) -> list[CardElement]:
    """The reason and seller boxes (as the buttons offered need them), then the buttons."""
    buttons = triage_actions(view)
    if not buttons:
        return []
    controls: list[CardElement] = []
    if "decline" in view.actions:
        controls.append(
            TextInput(
                id=box(REASON_INPUT, referral_id),
                is_multiline=True,
                label=inbound.DECLINE_LABEL,
                placeholder=clip(inbound.DECLINE_QUESTION, PLACEHOLDER),
                max_length=inbound.REASON_LENGTH,
            )
        )
    if "assign" in view.actions:
        controls.append(
            TextInput(
                id=box(ASSIGNEE_INPUT, referral_id),
                label=inbound.ASSIGNEE_LABEL,
                placeholder=clip(inbound.ASSIGN_PLACEHOLDER, PLACEHOLDER),
                max_length=EMAIL_LENGTH,
                style="Email",
            )
        )
    controls.append(action_set(buttons))
    return controls


def inbox_body(view: InboundList, budget: Budget) -> list[CardElement]:
    """The title, then each referral as on its own card (each with its own boxes), as many as
    fit, and a line counting the rest."""
    head = said(view.title, weight="Bolder", size="Large")
    if not view.referrals:
        return [*head, *said(view.empty)]
    parts = [Container(separator=True, items=_whole(each)) for each in view.referrals]
    return _taken(head, parts, budget)


def waiting_inbound_body(referrals: Sequence[InboundCard], budget: Budget) -> list[CardElement]:
    """A home card's incoming referrals waiting for an answer, each in a few lines with its
    boxes and buttons (at most :data:`~cards.inbound.MAX_HOME_INBOUND`)."""
    if not referrals:
        return []
    head: list[CardElement] = [note(inbound.WAITING_FOR_ANSWER, weight="Bolder", size="Medium")]
    parts = [_glance(each) for each in referrals]
    return _taken(head, parts, budget, most=inbound.MAX_HOME_INBOUND)


def _whole(view: InboundCard) -> list[CardElement]:
    rows = [fact(label, value) for label, value in inbound.inbound_facts(view)]
    return [*_head(view), *rows, *_controls(view, view.referral.id)]


def _glance(view: InboundCard) -> CardElement:
    color = COLORS[inbound.TONES[view.status]]
    items: list[CardElement] = [
        runs(run(inbound.inbound_title(view), weight="Bolder")),
        runs(run(inbound.inbound_status(view), color=color)),
        runs(run(inbound.inbound_glance(view), subtle=True)),
        *_controls(view, view.referral.id),
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
    counting those left out."""
    widest = note(inbound.inbound_not_shown(len(parts)), subtle=True)
    budget.reserve(*head, widest)
    shown: list[CardElement] = []
    for part in parts[:most]:
        if not budget.take(part):
            break
        shown.append(part)
    if len(shown) < len(parts):
        shown.append(note(inbound.inbound_not_shown(len(parts) - len(shown)), subtle=True))
    return [*head, *shown]
