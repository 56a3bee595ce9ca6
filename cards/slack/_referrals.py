"""Referrals on cards: one in full, a list of them, what was created, eligibility, Home
(whose requests waiting for a decision are drawn by :mod:`cards.slack._approvals`).

Words come from :mod:`cards.words` and facts from :mod:`cards.formatting`, as on every
surface: a dash for anything missing, amounts with thousands separators, dates as
``YYYY-MM-DD``.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ButtonElement, DividerBlock

from bot.conversation.views import (
    Created,
    DraftSummary,
    EligibilityReport,
    Home,
    ReferralCard,
    ReferralList,
)
from bot.referrals.models import EligibilityPolicy, Referral
from cards import words
from cards.formatting import facts, glance, requirements
from cards.ids import Action
from cards.slack._approvals import waiting_blocks
from cards.slack._inbound import waiting_inbound_blocks
from cards.slack._kit import (
    BUTTON_VALUE,
    MESSAGE_BLOCKS,
    actions,
    button,
    context,
    escape,
    fact,
    field_sections,
    header,
    local_time,
    section,
)
from cards.words import MISSING

# -- one referral ---------------------------------------------------------------------------


def referral_blocks(view: ReferralCard) -> list[Block]:
    """The referral's name, what just happened, and its facts, contacts and requirements;
    then Register deal, when the view offers it."""
    referral = view.referral
    blocks: list[Block] = [header(referral.name or words.UNNAMED)]
    if view.message:
        blocks.append(section(f"{words.PASSED} {escape(view.message)}"))
    blocks.extend(field_sections(fact(label, value) for label, value in facts(referral)))
    notes = referral.details.notes if referral.details else None
    if notes:
        blocks.append(section(f"*{words.NOTES}*\n{escape(notes)}"))
    needs = requirements(referral, missing=MISSING)
    if needs:
        blocks.extend(field_sections(fact(label, value) for label, value in needs.items()))
    register = _register(view)
    if register is not None:
        blocks.append(actions([register]))
    return blocks


def _register(view: ReferralCard) -> ButtonElement | None:
    """Register deal, which types ``/referral register ID``: only when the view offers it
    and the id travels whole in the button's value."""
    referral_id = view.referral.id
    if not view.registrable or not referral_id or len(referral_id) > BUTTON_VALUE:
        return None
    return button(words.REGISTER, Action.REGISTER, value=referral_id, style="primary")


def referral_text(view: ReferralCard) -> str:
    """The notification text of a referral card."""
    name = view.referral.name or words.UNNAMED
    return f"{view.message} {name}" if view.message else name


# -- several referrals ----------------------------------------------------------------------


def summary(referral: Referral, *, ids: bool = False, pick: str | None = None) -> Block:
    """One referral in two or three lines, with a Show button when it has an id (on a pick
    list, the button of the command that asked: Update, Close...)."""
    lines = [f"*{escape(referral.name or words.UNNAMED)}*", escape(glance(referral) or MISSING)]
    if ids:
        lines.append(f"Id: `{escape(referral.id or MISSING)}`")
        lines.append(f"Engagement id: `{escape(referral.engagement_id or MISSING)}`")
    show = button(words.SHOW, Action.SHOW, value=referral.id) if referral.id else None
    if pick is not None:
        value = words.pick_command(pick, referral.id or "")
        # An id cut short would pick another referral, or none: no button rather than that.
        fits = referral.id and len(value) <= BUTTON_VALUE
        show = button(words.pick_button(pick), Action.PICK, value=value) if fits else None
    return section("\n".join(lines), accessory=show)


def created_blocks(view: Created) -> list[Block]:
    """What was created: the message, then each referral with its ids."""
    blocks: list[Block] = [section(f"{words.PASSED} *{escape(view.message)}*")]
    room = MESSAGE_BLOCKS - len(blocks)
    blocks.extend(summary(referral, ids=True) for referral in view.referrals[:room])
    return blocks


def list_blocks(view: ReferralList) -> list[Block]:
    """A titled list of at most 20 referrals and how many there are in all (a pick list: the
    referrals words named, each with the button of the command that asked, and its note)."""
    blocks: list[Block] = [header(view.title)]
    if not view.referrals:
        return [*blocks, section(words.NO_REFERRALS)]
    shown = view.referrals[: words.MAX_LISTED]
    blocks.extend(summary(referral, pick=view.pick) for referral in shown)
    blocks.append(context(listed_caption(view)))
    if view.note:
        blocks.append(context(escape(view.note)))
    if view.more is not None:
        blocks.append(actions([button(words.MORE, Action.PAGE, value=view.more)]))
    return blocks


def listed_caption(view: ReferralList | Home) -> str:
    """The caption of a list or home page: every listed referral up to 20 is shown."""
    listed = len(view.referrals)
    truncated = view.truncated if isinstance(view, ReferralList) else False
    return words.list_caption(min(listed, words.MAX_LISTED), listed, view.total, truncated)


# -- eligibility ----------------------------------------------------------------------------


def eligibility_blocks(view: EligibilityReport) -> list[Block]:
    """The verdict, then each policy with what it looked at."""
    verdict = words.eligibility_verdict(view.eligibility, view.referral_id)
    blocks: list[Block] = [*_partner(view.partner_eligible), section(escape(verdict))]
    policies = [*view.eligibility.passed_policies, *view.eligibility.failed_policies]
    if not policies:
        return [*blocks, context(words.NO_POLICIES)]
    room = MESSAGE_BLOCKS - len(blocks)
    shown = policies if len(policies) <= room else policies[: room - 1]
    blocks.extend(section(_policy(policy)) for policy in shown)
    if len(shown) < len(policies):
        blocks.append(context(words.policies_not_shown(len(policies) - len(shown))))
    return blocks


def _partner(eligible: bool | None) -> list[Block]:
    """Whether the organization may register deals at all, when that was checked: it comes
    first, since no referral can be registered without it."""
    if eligible is None:
        return []
    said = f"{_mark(eligible)} *{escape(words.partner_sentence(eligible))}*"
    fix = words.partner_fix(eligible)
    return [section(f"{said}\n{escape(fix)}" if fix is not None else said)]


def _policy(policy: EligibilityPolicy) -> str:
    seen = [f"{key}={MISSING if v is None else v}" for key, v in policy.referral_properties.items()]
    seen.extend(policy.additional_properties)
    looked_at = escape(", ".join(seen)) if seen else MISSING
    said = escape(words.policy_sentence(policy.policy_name, policy.is_eligible))
    fix = words.policy_fix(policy.policy_name, policy.is_eligible)
    fixed = f"\n{escape(fix)}" if fix is not None else ""
    return f"{_mark(policy.is_eligible)} *{said}*{fixed}\n{words.LOOKED_AT}: {looked_at}"


# -- Home -----------------------------------------------------------------------------------


def home_blocks(view: Home) -> list[Block]:
    """The draft in progress (with Resume) or how to start one, the requests waiting for a
    decision (with their buttons), then the open referrals."""
    blocks: list[Block] = [header(words.HOME_TITLE)]
    if view.draft is not None:
        blocks.append(_draft(view.draft))
    else:
        blocks.append(section(words.NO_DRAFT))
    waiting = waiting_blocks(view.approvals)
    if waiting:
        blocks.extend((DividerBlock(), *waiting))
    arrived = waiting_inbound_blocks(view.inbound)
    if arrived:
        blocks.extend((DividerBlock(), *arrived))
    blocks.extend((DividerBlock(), header(words.YOUR_OPEN_REFERRALS)))
    if view.problem:
        blocks.append(section(f":warning: {escape(view.problem)}"))
    elif not view.referrals:
        blocks.append(section(words.NO_OPEN_REFERRALS))
    else:
        blocks.extend(summary(referral) for referral in view.referrals[: words.MAX_LISTED])
        blocks.append(context(listed_caption(view)))
    return blocks


def _draft(draft: DraftSummary) -> Block:
    status = words.draft_status(draft.progress, local_time(draft.updated_at))
    text = f"*{words.DRAFT_IN_PROGRESS.strip()}* {escape(draft.title)}\n{status}"
    return section(text, accessory=button(words.RESUME, Action.RESUME, style="primary"))


# -- formats --------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return words.PASSED if ok else words.FAILED
