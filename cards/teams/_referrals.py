"""Referrals on cards: one in full, a list of them, what was created, eligibility, home
(whose requests waiting for a decision are drawn by :mod:`cards.teams._approvals`).

Words come from :mod:`cards.words` and facts from :mod:`cards.formatting`, as on every
surface: a dash for anything missing, amounts with thousands separators, dates as
``YYYY-MM-DD``. No link to Partner Center is built here: only a channel's status card has
one, when the view brings it (:mod:`cards.teams._status`).
Rows that do not fit under the card's size limit are counted instead of shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from microsoft_teams.cards.core import CardElement, Container, TextColor

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
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._approvals import waiting_body
from cards.teams._inbound import waiting_inbound_body
from cards.teams._kit import (
    LONG_TEXT,
    TEXT,
    Budget,
    actions,
    beside,
    fact,
    fits,
    fitted,
    local_time,
    note,
    run,
    said,
)
from cards.teams._kit import (
    words as runs,
)
from cards.words import MISSING

# -- one referral ---------------------------------------------------------------------------


def referral_body(view: ReferralCard, budget: Budget) -> list[CardElement]:
    """The referral's name, what just happened, then its facts, notes and requirements;
    last Register deal, when the view offers it (kept whatever the rows leave out)."""
    referral = view.referral
    head: list[CardElement] = [*said(referral.name or words.UNNAMED, weight="Bolder", size="Large")]
    if view.message:
        head.extend(said(f"{words.PASSED} {view.message}", color="Good"))
    rows: list[CardElement] = [fact(label, value) for label, value in facts(referral, people="; ")]
    notes = referral.details.notes if referral.details else None
    if notes:
        rows.append(Container(items=[note(words.NOTES, weight="Bolder"), *said(notes, LONG_TEXT)]))
    rows.extend(
        fact(label, value) for label, value in requirements(referral, missing=MISSING).items()
    )
    tail = _register(view)
    return fitted(head, rows, tail, budget, more=lambda _: note(words.NOT_SHOWN, subtle=True))


def _register(view: ReferralCard) -> list[CardElement]:
    """Register deal, which types ``/referral register ID``: only when the view offers it
    and the id travels whole in the action's data."""
    referral_id = view.referral.id
    if not view.registrable or not referral_id or not fits(referral_id, VALUE_BYTES):
        return []
    register = execute(words.REGISTER, Action.REGISTER, value=referral_id, style="positive")
    return [actions([register])]


def referral_text(view: ReferralCard) -> str:
    """The notification text of a referral card."""
    name = view.referral.name or words.UNNAMED
    return f"{view.message} {name}" if view.message else name


# -- several referrals ----------------------------------------------------------------------


def summary(referral: Referral, *, ids: bool = False, pick: str | None = None) -> CardElement:
    """One referral in two to four lines, with Show on its right when it has an id (on a
    pick list, the button of the command that asked: Update, Close...)."""
    lines: list[CardElement] = [
        runs(run(referral.name or words.UNNAMED, weight="Bolder")),
        runs(run(glance(referral) or MISSING, subtle=True)),
    ]
    if ids:
        lines.append(fact("Id", referral.id))
        lines.append(fact("Engagement id", referral.engagement_id))
    if pick is not None:
        value = words.pick_command(pick, referral.id or "")
        if referral.id and fits(value, VALUE_BYTES):
            chosen = execute(words.pick_button(pick), Action.PICK, value=value)
            return beside(lines, chosen, separator=True)
    elif referral.id and fits(referral.id, VALUE_BYTES):
        show = execute(words.SHOW, Action.SHOW, value=referral.id)
        return beside(lines, show, separator=True)
    return Container(items=lines, separator=True)


def created_body(view: Created, budget: Budget) -> list[CardElement]:
    """What was created: the message, then each referral with its ids."""
    head = said(f"{words.PASSED} {view.message}", weight="Bolder", color="Good")
    rows = [summary(referral, ids=True) for referral in view.referrals]
    return fitted(head, rows, [], budget, more=lambda count: note(words.more_not_shown(count)))


def list_body(view: ReferralList, budget: Budget) -> list[CardElement]:
    """A titled list of at most 20 referrals, how many there are in all, and More (a pick
    list: the referrals words named, each with the button of the command that asked, and
    its note)."""
    head = said(view.title, weight="Bolder", size="Large")
    if not view.referrals:
        return [*head, note(words.NO_REFERRALS)]
    tail: list[CardElement] = []
    if view.note:
        tail.extend(said(view.note))
    if view.more is not None and fits(view.more, VALUE_BYTES):
        tail.append(actions([execute(words.MORE, Action.PAGE, value=view.more)]))
    return _listed(
        head,
        view.referrals,
        tail,
        budget,
        total=view.total,
        truncated=view.truncated,
        pick=view.pick,
    )


def _listed(
    head: list[CardElement],
    referrals: Sequence[Referral],
    tail: list[CardElement],
    budget: Budget,
    *,
    total: int | None,
    truncated: bool,
    pick: str | None = None,
) -> list[CardElement]:
    """Referral rows that fit, followed by the caption counting them, then ``tail``."""
    budget.reserve(*head, *tail, _widest_caption(len(referrals), total, truncated))
    rows = _rows_that_fit(referrals, budget, pick=pick)
    caption = _caption(len(rows), len(referrals), total, truncated)
    return [*head, *rows, caption, *tail]


def _rows_that_fit(
    referrals: Sequence[Referral], budget: Budget, *, pick: str | None = None
) -> list[CardElement]:
    """A row per referral, at most 20, while they fit."""
    rows: list[CardElement] = []
    for referral in referrals[: words.MAX_LISTED]:
        row = summary(referral, pick=pick)
        if not budget.take(row):
            break
        rows.append(row)
    return rows


def _caption(shown: int, listed: int, total: int | None, truncated: bool) -> CardElement:
    return note(words.list_caption(shown, listed, total, truncated), subtle=True)


def _widest_caption(listed: int, total: int | None, truncated: bool) -> CardElement:
    """The longest caption a list of ``listed`` may end with: the room to keep for it."""
    return _caption(0, listed, max(total or 0, 10**9), truncated)


# -- eligibility ----------------------------------------------------------------------------


def eligibility_body(view: EligibilityReport, budget: Budget) -> list[CardElement]:
    """The verdict, then each policy with what it looked at."""
    head = [
        *_partner(view.partner_eligible),
        *said(words.eligibility_verdict(view.eligibility, view.referral_id), weight="Bolder"),
    ]
    policies = [*view.eligibility.passed_policies, *view.eligibility.failed_policies]
    if not policies:
        return [*head, note(words.NO_POLICIES, subtle=True)]
    rows = [_policy(policy) for policy in policies]
    return fitted(
        head,
        rows,
        [],
        budget,
        more=lambda count: note(words.policies_not_shown(count), subtle=True),
    )


def _partner(eligible: bool | None) -> list[CardElement]:
    """Whether the organization may register deals at all, when that was checked: it comes
    first, since no referral can be registered without it."""
    if eligible is None:
        return []
    color: TextColor = "Good" if eligible else "Attention"
    first = note(
        f"{_mark(eligible)} {words.partner_sentence(eligible)}", weight="Bolder", color=color
    )
    fix = words.partner_fix(eligible)
    return [first, note(fix, color="Warning")] if fix is not None else [first]


def _policy(policy: EligibilityPolicy) -> CardElement:
    seen = [f"{key}={MISSING if v is None else v}" for key, v in policy.referral_properties.items()]
    seen.extend(policy.additional_properties)
    return Container(
        separator=True,
        items=[
            runs(
                run(f"{_mark(policy.is_eligible)} "),
                run(words.policy_sentence(policy.policy_name, policy.is_eligible), weight="Bolder"),
            ),
            *_fix(policy),
            fact(words.LOOKED_AT, ", ".join(seen) if seen else None),
        ],
    )


def _fix(policy: EligibilityPolicy) -> list[CardElement]:
    fix = words.policy_fix(policy.policy_name, policy.is_eligible)
    return [note(fix, color="Warning")] if fix is not None else []


# -- home -----------------------------------------------------------------------------------


def home_body(view: Home, budget: Budget) -> list[CardElement]:
    """The draft in progress (with Resume) or how to start one, the requests waiting for a
    decision (with their buttons), then the open referrals.

    Room goes first to what is always shown (the draft, the headings, the caption), then to
    the requests, which wait on this person, then to as many referrals as still fit.
    """
    head: list[CardElement] = [note(words.HOME_TITLE, weight="Bolder", size="Large")]
    head.append(_draft(view.draft) if view.draft is not None else note(words.NO_DRAFT))
    mine: list[CardElement] = [note(words.YOUR_OPEN_REFERRALS, weight="Bolder", size="Medium")]
    if view.problem:
        mine.extend(said(f"{words.WARNING} {view.problem}", color="Attention"))
    elif not view.referrals:
        mine.append(note(words.NO_OPEN_REFERRALS))
    listing = bool(view.referrals) and not view.problem
    widest = _widest_caption(len(view.referrals), view.total, truncated=False)
    budget.reserve(*head, *mine, *([widest] if listing else []))
    waiting = waiting_body(view.approvals, budget) + waiting_inbound_body(view.inbound, budget)
    if not listing:
        return [*head, *waiting, *mine]
    rows = _rows_that_fit(view.referrals, budget)
    caption = _caption(len(rows), len(view.referrals), view.total, truncated=False)
    return [*head, *waiting, *mine, *rows, caption]


def _draft(draft: DraftSummary) -> CardElement:
    content = [
        runs(run(words.DRAFT_IN_PROGRESS, weight="Bolder"), run(draft.title, TEXT)),
        note(words.draft_status(draft.progress, local_time(draft.updated_at)), subtle=True),
    ]
    return beside(content, execute(words.RESUME, Action.RESUME, style="positive"))


# -- helpers ----------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return words.PASSED if ok else words.FAILED
