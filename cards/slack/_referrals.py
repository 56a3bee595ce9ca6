"""Referrals on cards: one in full, a list of them, what was created, eligibility, Home.

Wording and formats follow the terminal renderers (:mod:`cards.text`): the same facts, a dash
for anything missing, amounts with thousands separators, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block, DividerBlock

from bot.conversation.views import (
    Created,
    DraftSummary,
    EligibilityReport,
    Home,
    ReferralCard,
    ReferralList,
)
from bot.referrals.models import EligibilityPolicy, Member, Referral
from cards.formatting import customer as _customer
from cards.formatting import day as _date
from cards.formatting import joined as _joined
from cards.formatting import kind as _kind
from cards.formatting import member as _member_line
from cards.formatting import money as _money
from cards.formatting import requirements
from cards.formatting import status as _status
from cards.ids import Action
from cards.slack._kit import (
    MESSAGE_BLOCKS,
    MISSING,
    actions,
    button,
    context,
    escape,
    fact,
    field_sections,
    header,
    section,
)

MAX_LISTED = 20
"""Referrals shown on a list or the Home tab; the rest are counted."""
PASSED = "✓"
FAILED = "✗"
UNNAMED = "(unnamed referral)"
NO_DRAFT = "No draft in progress. Type /referral new in a DM with me."
NO_REFERRALS = "No referrals found."
MORE = "More"
NO_OPEN_REFERRALS = "You have no open referrals."


# -- one referral ---------------------------------------------------------------------------


def referral_blocks(view: ReferralCard) -> list[Block]:
    """The referral's name, what just happened, and its facts, contacts and requirements."""
    referral = view.referral
    blocks: list[Block] = [header(referral.name or UNNAMED)]
    if view.message:
        blocks.append(section(f"{PASSED} {escape(view.message)}"))
    blocks.extend(field_sections(_facts(referral)))
    notes = referral.details.notes if referral.details else None
    if notes:
        blocks.append(section(f"*Notes*\n{escape(notes)}"))
    requirements = _requirements(referral)
    if requirements:
        blocks.extend(field_sections(requirements))
    return blocks


def referral_text(view: ReferralCard) -> str:
    """The notification text of a referral card."""
    name = view.referral.name or UNNAMED
    return f"{view.message} {name}" if view.message else name


def _facts(referral: Referral) -> list[str]:
    details = referral.details
    profile = referral.customer_profile
    facts = [
        fact("Id", referral.id),
        fact("Engagement id", referral.engagement_id),
        fact("Status", _status(referral)),
        fact("Customer", _customer(referral)),
        fact("Deal value", _money(details.deal_value, details.currency) if details else None),
        fact("Closing", _date(details.closing_date_time) if details else None),
    ]
    if referral.status_reason:
        facts.append(fact("Status reason", referral.status_reason))
    kind = _kind(referral)
    if kind:
        facts.append(fact("Type", kind))
    if referral.team:
        facts.append(fact("Team", _members(referral.team)))
    if profile and profile.team:
        facts.append(fact("Customer contacts", _members(profile.team)))
    return facts


def _requirements(referral: Referral) -> list[str]:
    return [fact(label, value) for label, value in requirements(referral, missing=MISSING).items()]


# -- several referrals ----------------------------------------------------------------------


def summary(referral: Referral, *, ids: bool = False) -> Block:
    """One referral in two or three lines, with a Show button when it has an id."""
    details = referral.details
    customer = referral.customer_profile.name if referral.customer_profile else None
    facts = _joined(
        (
            customer,
            _status(referral),
            _money(details.deal_value, details.currency) if details else None,
            f"closing {_date(details.closing_date_time)}"
            if details and details.closing_date_time
            else None,
        )
    )
    lines = [f"*{escape(referral.name or UNNAMED)}*", escape(facts or MISSING)]
    if ids:
        lines.append(f"Id: `{escape(referral.id or MISSING)}`")
        lines.append(f"Engagement id: `{escape(referral.engagement_id or MISSING)}`")
    show = button("Show", Action.SHOW, value=referral.id) if referral.id else None
    return section("\n".join(lines), accessory=show)


def created_blocks(view: Created) -> list[Block]:
    """What was created: the message, then each referral with its ids."""
    blocks: list[Block] = [section(f"{PASSED} *{escape(view.message)}*")]
    room = MESSAGE_BLOCKS - len(blocks)
    blocks.extend(summary(referral, ids=True) for referral in view.referrals[:room])
    return blocks


def list_blocks(view: ReferralList) -> list[Block]:
    """A titled list of at most 20 referrals and how many there are in all."""
    blocks: list[Block] = [header(view.title)]
    if not view.referrals:
        return [*blocks, section(NO_REFERRALS)]
    blocks.extend(summary(referral) for referral in view.referrals[:MAX_LISTED])
    blocks.append(context(list_caption(view.referrals, view.total, view.truncated)))
    if view.more is not None:
        blocks.append(actions([button(MORE, Action.PAGE, value=view.more)]))
    return blocks


def list_caption(referrals: Sequence[Referral], total: int | None, truncated: bool) -> str:
    """``20 of 25 referrals``, and a word when the listing stopped at its page limit."""
    shown = min(len(referrals), MAX_LISTED)
    counted = max(total if total is not None else len(referrals), len(referrals))
    noun = "referral" if counted == 1 else "referrals"
    caption = f"{shown} of {counted} {noun}" if counted != shown else f"{shown} {noun}"
    if truncated:
        caption += "; stopped at the page limit, narrow the filter to see the rest"
    return caption


# -- eligibility ----------------------------------------------------------------------------


def eligibility_text(view: EligibilityReport) -> str:
    """The verdict in one line: ``✓ Referral X is eligible ... (2 passed, 0 failed).``"""
    eligibility = view.eligibility
    verdict = "eligible" if eligibility.is_eligible else "not eligible"
    return (
        f"{_mark(eligibility.is_eligible)} Referral {view.referral_id} is {verdict} for deal "
        f"registration ({len(eligibility.passed_policies)} passed, "
        f"{len(eligibility.failed_policies)} failed)."
    )


def eligibility_blocks(view: EligibilityReport) -> list[Block]:
    """The verdict, then each policy with what it looked at."""
    blocks: list[Block] = [section(escape(eligibility_text(view)))]
    policies = [*view.eligibility.passed_policies, *view.eligibility.failed_policies]
    if not policies:
        return [*blocks, context("(the service listed no policies)")]
    room = MESSAGE_BLOCKS - len(blocks)
    shown = policies if len(policies) <= room else policies[: room - 1]
    blocks.extend(section(_policy(policy)) for policy in shown)
    if len(shown) < len(policies):
        blocks.append(context(f"{len(policies) - len(shown)} more policies not shown."))
    return blocks


def _policy(policy: EligibilityPolicy) -> str:
    seen = [f"{key}={MISSING if v is None else v}" for key, v in policy.referral_properties.items()]
    seen.extend(policy.additional_properties)
    looked_at = escape(", ".join(seen)) if seen else MISSING
    return f"{_mark(policy.is_eligible)} *{escape(policy.policy_name)}*\nLooked at: {looked_at}"


# -- Home -----------------------------------------------------------------------------------


def home_blocks(view: Home) -> list[Block]:
    """The draft in progress (with Resume) or how to start one, then the open referrals."""
    blocks: list[Block] = [header("Referrals")]
    if view.draft is not None:
        blocks.append(_draft(view.draft))
    else:
        blocks.append(section(NO_DRAFT))
    blocks.extend((DividerBlock(), header("Your open referrals")))
    if view.problem:
        blocks.append(section(f":warning: {escape(view.problem)}"))
    elif not view.referrals:
        blocks.append(section(NO_OPEN_REFERRALS))
    else:
        blocks.extend(summary(referral) for referral in view.referrals[:MAX_LISTED])
        blocks.append(context(list_caption(view.referrals, view.total, truncated=False)))
    return blocks


def _draft(draft: DraftSummary) -> Block:
    progress = draft.progress
    where = (
        f"Step {progress.number} of {progress.total}" if progress is not None else "Ready to review"
    )
    changed = _when(draft.updated_at)
    text = f"*Draft in progress:* {escape(draft.title)}\n{where} · last changed {changed}"
    return section(text, accessory=button("Resume", Action.RESUME, style="primary"))


# -- formats --------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    """A time each reader sees in their own time zone, with UTC as the fallback."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _members(members: Iterable[Member]) -> str:
    return "\n".join(_member(member) for member in members)


def _member(member: Member) -> str:
    return _member_line(member) or MISSING


def _mark(ok: bool) -> str:
    return PASSED if ok else FAILED
