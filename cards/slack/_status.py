"""A referral's change of status, as the card a subscribed channel gets.

The headline is a header block (plain text: a deal's name shows as typed, it cannot mention
or link anything); the reason, the facts and the id are mrkdwn built from escaped data. The
buttons open the referral in Partner Center (a link: Slack still sends the click, which the
``rb_`` action listener acks and ignores) and show it in the chat, as a list's Show does.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ButtonElement, InteractiveElement

from bot.conversation.views import StatusChange
from cards import words
from cards.formatting import money
from cards.ids import Action
from cards.slack._kit import (
    BUTTON_TEXT,
    BUTTON_VALUE,
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

URL_LENGTH = ButtonElement.url_max_length
LINK_SCHEMES = ("https://", "http://")


def status_blocks(view: StatusChange) -> list[Block]:
    """Headline, the reason (lost, declined), the facts, the id, then Open and Show."""
    blocks: list[Block] = [header(words.status_headline(view))]
    if view.reason and view.reason.strip():
        blocks.append(section(f"*{words.REASON}:* {escape(view.reason)}"))
    facts = words.status_facts(view, money)
    blocks.extend(field_sections(fact(label, value) for label, value in facts))
    blocks.append(context(f"{words.STATUS_ID}: `{escape(view.referral_id)}`"))
    buttons = _buttons(view)
    if buttons:
        blocks.append(actions(buttons))
    return blocks


def _buttons(view: StatusChange) -> list[InteractiveElement]:
    found: list[InteractiveElement] = []
    link = view.link
    if link and len(link) <= URL_LENGTH and link.lower().startswith(LINK_SCHEMES):
        found.append(
            ButtonElement(
                text=plain(words.OPEN_IN_PARTNER_CENTER, BUTTON_TEXT),
                action_id=Action.OPEN_IN_PARTNER_CENTER.value,
                url=link,
                style="primary",
            )
        )
    # An id cut short would show another referral, or none: no Show rather than a wrong one.
    if view.referral_id.strip() and len(view.referral_id) <= BUTTON_VALUE:
        found.append(button(words.SHOW, Action.SHOW, value=view.referral_id))
    return found
