"""Referrals on cards: one in full, a list of them, what was created, eligibility, home.

Wording and formats follow the Slack and terminal renderers: the same facts, a dash for
anything missing, amounts with thousands separators, dates as ``YYYY-MM-DD``. No link to
Partner Center is built (the other renderers build none either). Rows that do not fit under
the card's size limit are counted instead of shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from microsoft_teams.cards.core import CardElement, Container

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
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._kit import (
    LONG_TEXT,
    MISSING,
    TEXT,
    Budget,
    actions,
    beside,
    fact,
    fits,
    note,
    run,
    said,
    words,
)

MAX_LISTED: Final = 20
"""Referrals shown on a list or the home card; the rest are counted."""
PASSED: Final = "✓"
FAILED: Final = "✗"
WARNING: Final = "⚠"
UNNAMED: Final = "(unnamed referral)"
NO_DRAFT: Final = "No draft in progress. Type /referral new to start one."
NO_REFERRALS: Final = "No referrals found."
NO_OPEN_REFERRALS: Final = "You have no open referrals."
NO_POLICIES: Final = "(the service listed no policies)"
MORE: Final = "More"
NOT_SHOWN: Final = "Some details do not fit on this card."
POLICIES_NOT_SHOWN: Final = "{count} more policies not shown."


# -- one referral ---------------------------------------------------------------------------


def referral_body(view: ReferralCard, budget: Budget) -> list[CardElement]:
    """The referral's name, what just happened, then its facts, notes and requirements."""
    referral = view.referral
    head: list[CardElement] = [*said(referral.name or UNNAMED, weight="Bolder", size="Large")]
    if view.message:
        head.extend(said(f"{PASSED} {view.message}", color="Good"))
    rows: list[CardElement] = [fact(label, value) for label, value in _facts(referral)]
    notes = referral.details.notes if referral.details else None
    if notes:
        rows.append(Container(items=[note("Notes", weight="Bolder"), *said(notes, LONG_TEXT)]))
    rows.extend(
        fact(label, value) for label, value in requirements(referral, missing=MISSING).items()
    )
    return _fitted(head, rows, [], budget, more=lambda _: note(NOT_SHOWN, subtle=True))


def referral_text(view: ReferralCard) -> str:
    """The notification text of a referral card."""
    name = view.referral.name or UNNAMED
    return f"{view.message} {name}" if view.message else name


def _facts(referral: Referral) -> list[tuple[str, str | None]]:
    details = referral.details
    profile = referral.customer_profile
    facts = [
        ("Id", referral.id),
        ("Engagement id", referral.engagement_id),
        ("Status", _status(referral)),
        ("Customer", _customer(referral)),
        ("Deal value", _money(details.deal_value, details.currency) if details else None),
        ("Closing", _date(details.closing_date_time) if details else None),
    ]
    if referral.status_reason:
        facts.append(("Status reason", referral.status_reason))
    kind = _kind(referral)
    if kind:
        facts.append(("Type", kind))
    if referral.team:
        facts.append(("Team", _members(referral.team)))
    if profile and profile.team:
        facts.append(("Customer contacts", _members(profile.team)))
    return facts


# -- several referrals ----------------------------------------------------------------------


def summary(referral: Referral, *, ids: bool = False) -> CardElement:
    """One referral in two to four lines, with Show on its right when it has an id."""
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
    lines: list[CardElement] = [
        words(run(referral.name or UNNAMED, weight="Bolder")),
        words(run(facts or MISSING, subtle=True)),
    ]
    if ids:
        lines.append(fact("Id", referral.id))
        lines.append(fact("Engagement id", referral.engagement_id))
    if referral.id and fits(referral.id, VALUE_BYTES):
        return beside(lines, execute("Show", Action.SHOW, value=referral.id), separator=True)
    return Container(items=lines, separator=True)


def created_body(view: Created, budget: Budget) -> list[CardElement]:
    """What was created: the message, then each referral with its ids."""
    head = said(f"{PASSED} {view.message}", weight="Bolder", color="Good")
    rows = [summary(referral, ids=True) for referral in view.referrals]
    return _fitted(head, rows, [], budget, more=lambda count: note(f"{count} more not shown."))


def list_body(view: ReferralList, budget: Budget) -> list[CardElement]:
    """A titled list of at most 20 referrals, how many there are in all, and More."""
    head = said(view.title, weight="Bolder", size="Large")
    if not view.referrals:
        return [*head, note(NO_REFERRALS)]
    tail: list[CardElement] = []
    if view.more is not None and fits(view.more, VALUE_BYTES):
        tail.append(actions([execute(MORE, Action.PAGE, value=view.more)]))
    return _listed(head, view.referrals, tail, budget, total=view.total, truncated=view.truncated)


def list_caption(shown: int, listed: Sequence[Referral], total: int | None, truncated: bool) -> str:
    """``20 of 25 referrals``, and a word when the listing stopped at its page limit."""
    counted = max(total if total is not None else len(listed), len(listed))
    noun = "referral" if counted == 1 else "referrals"
    caption = f"{shown} of {counted} {noun}" if counted != shown else f"{shown} {noun}"
    if truncated:
        caption += "; stopped at the page limit, narrow the filter to see the rest"
    return caption


def _listed(
    head: list[CardElement],
    referrals: Sequence[Referral],
    tail: list[CardElement],
    budget: Budget,
    *,
    total: int | None,
    truncated: bool,
) -> list[CardElement]:
    """Referral rows that fit, followed by the caption counting them, then ``tail``."""
    widest = note(list_caption(0, referrals, max(total or 0, 10**9), truncated), subtle=True)
    budget.reserve(*head, *tail, widest)
    rows: list[CardElement] = []
    for referral in referrals[:MAX_LISTED]:
        row = summary(referral)
        if not budget.take(row):
            break
        rows.append(row)
    caption = note(list_caption(len(rows), referrals, total, truncated), subtle=True)
    return [*head, *rows, caption, *tail]


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


def eligibility_body(view: EligibilityReport, budget: Budget) -> list[CardElement]:
    """The verdict, then each policy with what it looked at."""
    head = said(eligibility_text(view), weight="Bolder")
    policies = [*view.eligibility.passed_policies, *view.eligibility.failed_policies]
    if not policies:
        return [*head, note(NO_POLICIES, subtle=True)]
    rows = [_policy(policy) for policy in policies]
    return _fitted(
        head,
        rows,
        [],
        budget,
        more=lambda count: note(POLICIES_NOT_SHOWN.format(count=count), subtle=True),
    )


def _policy(policy: EligibilityPolicy) -> CardElement:
    seen = [f"{key}={MISSING if v is None else v}" for key, v in policy.referral_properties.items()]
    seen.extend(policy.additional_properties)
    return Container(
        separator=True,
        items=[
            words(run(f"{_mark(policy.is_eligible)} "), run(policy.policy_name, weight="Bolder")),
            fact("Looked at", ", ".join(seen) if seen else None),
        ],
    )


# -- home -----------------------------------------------------------------------------------


def home_text(view: Home) -> str:
    """The notification text of the home card."""
    if view.draft is not None:
        return f"Referrals: your {view.draft.title} draft is waiting."
    return "Referrals: your open referrals."


def home_body(view: Home, budget: Budget) -> list[CardElement]:
    """The draft in progress (with Resume) or how to start one, then the open referrals."""
    head: list[CardElement] = [note("Referrals", weight="Bolder", size="Large")]
    head.append(_draft(view.draft) if view.draft is not None else note(NO_DRAFT))
    head.append(note("Your open referrals", weight="Bolder", size="Medium"))
    if view.problem:
        return [*head, *said(f"{WARNING} {view.problem}", color="Attention")]
    if not view.referrals:
        return [*head, note(NO_OPEN_REFERRALS)]
    return _listed(head, view.referrals, [], budget, total=view.total, truncated=False)


def _draft(draft: DraftSummary) -> CardElement:
    progress = draft.progress
    where = (
        f"Step {progress.number} of {progress.total}" if progress is not None else "Ready to review"
    )
    content = [
        words(run("Draft in progress: ", weight="Bolder"), run(draft.title, TEXT)),
        note(f"{where} · last changed {_when(draft.updated_at)}", subtle=True),
    ]
    return beside(content, execute("Resume", Action.RESUME, style="positive"))


# -- helpers ----------------------------------------------------------------------------------


def _fitted(
    head: Sequence[CardElement],
    rows: Sequence[CardElement],
    tail: Sequence[CardElement],
    budget: Budget,
    *,
    more: Callable[[int], CardElement],
) -> list[CardElement]:
    """``head`` and ``tail`` whole, with as many ``rows`` between as fit and a line counting
    the rest."""
    budget.reserve(*head, *tail, more(len(rows)))
    shown: list[CardElement] = []
    for row in rows:
        if not budget.take(row):
            break
        shown.append(row)
    if len(shown) < len(rows):
        shown.append(more(len(rows) - len(shown)))
    return [*head, *shown, *tail]


def _when(moment: datetime) -> str:
    """A time each reader sees in their own time zone and format (Adaptive Cards' DATE and
    TIME functions take an RFC 3339 time in UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    stamp = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def _members(members: Iterable[Member]) -> str:
    return "; ".join(_member(member) for member in members)


def _member(member: Member) -> str:
    return _member_line(member) or MISSING


def _mark(ok: bool) -> str:
    return PASSED if ok else FAILED
