"""Terminal renderers: referral models and conversation views in, rich renderables out.

Pure functions, no I/O: the caller prints what they return. Every value that comes from a
referral or from what a seller typed goes into a :class:`~rich.text.Text`, so brackets in a
customer's name are shown as typed instead of being read as console markup. Any field may be
missing; a missing one shows as a dash.

:func:`render_view` turns any view of the conversation engine into terminal output; the
words it adds around the engine's own are those of every surface (:mod:`cards.words`), and
so is the choice of how each question is answered (:mod:`cards.controls`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, assert_never

from rich import box
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    Created,
    EligibilityReport,
    InboundCard,
    InboundList,
    InputKind,
    Notice,
    Option,
    Problem,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    ReviewLine,
    SignIn,
    StatusChange,
    View,
)
from bot.referrals.models import (
    DealRegistration,
    EligibilityPolicy,
    Member,
    PartnerEligibility,
    Referral,
    ReferralEligibility,
)
from cards import inbound, words
from cards.controls import Control, control_for
from cards.formatting import (
    approval_facts,
    approval_times,
    inline,
    registration_facts,
    requirements,
    solution_facts,
    solution_name,
    solutions,
)
from cards.formatting import customer as _customer
from cards.formatting import day as _date
from cards.formatting import joined as _joined
from cards.formatting import kind as _kind
from cards.formatting import money as _money
from cards.formatting import status as _status
from cards.formatting import timestamp as _timestamp
from cards.words import (
    FAILED,
    GOODBYE,
    INPUT_PROMPT,
    MISSING,
    PASSED,
    UNEXPECTED,
    UNEXPECTED_HINT,
    WARNING,
)

__all__ = [
    "GOODBYE",
    "INPUT_PROMPT",
    "UNEXPECTED",
    "UNEXPECTED_HINT",
    "chat_banner",
    "eligibility_report",
    "partner_eligibility_report",
    "referral_card",
    "referral_table",
    "render_approval",
    "render_approval_list",
    "render_created",
    "render_eligibility",
    "render_notice",
    "render_problem",
    "render_prompt",
    "render_referral",
    "render_referral_list",
    "render_review",
    "render_status_change",
    "render_view",
]

SHORT_LIST = 12
"""Up to this many choices go one per line; longer lists are laid out in columns."""


def referral_table(
    referrals: Sequence[Referral],
    *,
    total: int | None = None,
    truncated: bool = False,
    numbered: bool = False,
) -> RenderableType:
    """A table of referrals, one row each; the caption counts them and warns of a cut-off.
    ``numbered``: a first column numbers the rows from 1 (``/referral show 2``).

    Where the terminal is too narrow for a column each (ids alone take 36), the name,
    customer, status, value and closing date share one column instead of being cut off.
    """
    caption = words.list_caption(len(referrals), len(referrals), total, truncated)
    first = ("#",) if numbered else ()
    wide = _table(
        caption, *first, "Id", "Name", "Customer", "Status", "Value", "Closing", "Updated"
    )
    narrow = _table(caption, *first, "Id", "Referral")
    for number, referral in enumerate(referrals, start=1):
        row = (str(number),) if numbered else ()
        details = referral.details
        # In the order of the wide table's columns after the id.
        cells = {
            "name": referral.name,
            "customer": referral.customer_profile.name if referral.customer_profile else None,
            "status": _status(referral),
            "value": _money(details.deal_value, details.currency) if details else None,
            "closing": _date(details.closing_date_time) if details else None,
        }
        wide.add_row(
            *row,
            _text(referral.id),
            *(_text(value) for value in cells.values()),
            _text(_date(referral.updated_date_time)),
        )
        narrow.add_row(
            *row,
            _text(referral.id),
            Text("\n").join(
                [
                    Text(cells["name"] or words.UNNAMED, style="bold"),
                    _text(cells["customer"]),
                    Text(_joined((cells["status"], cells["value"], cells["closing"])) or MISSING),
                ]
            ),
        )
    return _FirstThatFits(wide, narrow)


def referral_card(referral: Referral, *, heading: str | None = None) -> RenderableType:
    """Everything about one referral: ids, status, customer, deal, teams, requirements."""
    facts = _facts(
        {
            "Id": referral.id or MISSING,
            "Engagement id": referral.engagement_id or MISSING,
            "eTag": referral.e_tag or MISSING,
            "Status": _status(referral) or MISSING,
            "Status reason": referral.status_reason,
            "External reference": referral.external_reference_id,
            "Type": _kind(referral),
            "Organization": referral.organization_name,
            "Customer": _customer(referral),
            "Deal value": _money(
                referral.details.deal_value if referral.details else None,
                referral.details.currency if referral.details else None,
            ),
            "Closing": _date(referral.details.closing_date_time if referral.details else None),
            "Created": _timestamp(referral.created_date_time),
            "Updated": _timestamp(referral.updated_date_time),
            "Notes": referral.details.notes if referral.details else None,
        }
    )
    parts: list[RenderableType] = [facts]
    profile = referral.customer_profile
    if profile and profile.team:
        parts.append(_team("Customer contacts", profile.team))
    if referral.team:
        parts.append(_team("Team", referral.team))
    requirements = _requirements(referral)
    if requirements is not None:
        parts.append(requirements)
    if referral.registrations:
        parts.append(_registrations(referral.registrations))
    title = Text(referral.name or words.UNNAMED, style="bold")
    if heading:
        title = Text.assemble((f"{heading}: ", "green"), title)
    return Panel(Group(*parts), title=title, title_align="left")


def eligibility_report(eligibility: ReferralEligibility, *, referral_id: str) -> RenderableType:
    """Whether a referral may be registered, with each policy and what it looked at."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("", width=1)
    table.add_column("Policy")
    table.add_column("Looked at")
    for policy in [*eligibility.passed_policies, *eligibility.failed_policies]:
        said = Text(words.policy_sentence(policy.policy_name, policy.is_eligible))
        fix = words.policy_fix(policy.policy_name, policy.is_eligible)
        if fix is not None:
            said.append(f"\n{fix}", style="yellow")
        table.add_row(_mark(policy.is_eligible), said, _looked_at(policy))
    if not eligibility.passed_policies and not eligibility.failed_policies:
        table.add_row("", Text(words.NO_POLICIES, style="dim"), "")
    summary = Text.assemble(
        _mark(eligibility.is_eligible), " ", words.eligibility_words(eligibility, referral_id)
    )
    return Group(summary, table)


def partner_eligibility_report(eligibility: PartnerEligibility) -> RenderableType:
    """Whether this partner may register deals at all, policy by policy."""
    verdict = "may" if eligibility.is_eligible else "may not"
    summary = Text.assemble(
        _mark(eligibility.is_eligible), f" This partner {verdict} register deals."
    )
    if not eligibility.policies:
        return summary
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("", width=1)
    table.add_column("Policy")
    for policy in eligibility.policies:
        table.add_row(_mark(policy.is_eligible), _text(policy.policy_name or "(unnamed policy)"))
    return Group(summary, table)


# -- conversation views ---------------------------------------------------------------------


def render_view(view: View) -> RenderableType:
    """Any view the conversation engine returns, as terminal output."""
    match view:
        case Prompt():
            return render_prompt(view)
        case Review():
            return render_review(view)
        case Created():
            return render_created(view)
        case ReferralCard():
            return render_referral(view)
        case ReferralList():
            return render_referral_list(view)
        case EligibilityReport():
            return render_eligibility(view)
        case Notice():
            return render_notice(view)
        case Problem():
            return render_problem(view)
        case SignIn():
            return render_sign_in(view)
        case StatusChange():
            return render_status_change(view)
        case ApprovalCard():
            return render_approval(view)
        case ApprovalList():
            return render_approval_list(view)
        case InboundCard():
            return render_inbound(view)
        case InboundList():
            return render_inbox(view)
        case _:
            assert_never(view)


def render_prompt(prompt: Prompt) -> RenderableType:
    """One question: where the seller is, what is asked, the choices, and what went wrong.

    Choices are numbered in the order of ``prompt.choices``: the engine reads "3" as the
    third of them, so the numbers shown must be exactly those.
    """
    question = Text(prompt.question, style="bold")
    if not prompt.required:
        question.append(f"  {words.TYPE_SKIP}", style="dim")
    parts: list[RenderableType] = [Text(words.progress_line(prompt), style="dim"), question]
    if prompt.choices:
        parts.append(_numbered(prompt.choices))
    plan = control_for(prompt)
    guidance = [
        (words.TYPE_SEVERAL, prompt.input is InputKind.MULTI),
        (words.TYPE_YES_NO, prompt.input is InputKind.YES_NO),
        (words.TYPE_NAME_OR_CODE, plan.control is Control.SEARCH),
    ]
    parts.extend(Text(said, style="dim") for said, applies in guidance if applies)
    if prompt.placeholder:
        parts.append(Text.assemble((words.FOR_EXAMPLE, "dim"), (prompt.placeholder, "dim italic")))
    if prompt.hint and not prompt.error:
        parts.append(Text(prompt.hint, style="dim"))
    if prompt.current is not None:
        current = Text.assemble((words.CURRENT, "cyan"), prompt.current)
        if prompt.can_keep:
            current.append(f"  {words.TYPE_KEEP}", style="dim")
        parts.append(current)
    elif prompt.can_keep:
        parts.append(Text(words.TYPE_KEEP, style="dim"))
    if prompt.error:
        parts.append(Text.assemble((f"{FAILED} ", "bold red"), (prompt.error, "red")))
        if prompt.hint:
            parts.append(Text(f"  {prompt.hint}", style="yellow"))
        picks = _suggestions(prompt.suggestions, prompt.choices)
        if picks is not None:
            parts.append(picks)
    return Group(*parts)


def render_review(review: Review) -> RenderableType:
    """Every answer before submitting; missing required fields stand out in red.

    A review in groups says what is still needed first, then each group: its title with
    how to edit it, its answers (where an answer the seller did not give came from beside
    it, dim) and the optional questions left out."""
    if review.sections:
        return _grouped_review(review)
    title = Text(review.title, style="bold")
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", padding=(0, 1))
    table.add_column("Field", style="bold", no_wrap=True)
    table.add_column("Answer")
    missing = set(review.missing)
    for line in review.lines:
        if line.value is not None:
            value = _answer(line)
        elif line.label in missing:
            value = Text(words.NOT_ANSWERED, style="bold red")
        else:
            value = Text(MISSING, style="dim")
        table.add_row(Text(line.label), value)
    parts: list[RenderableType] = [table]
    if review.notice:
        parts.append(Text(review.notice, style="yellow"))
    if review.missing:
        parts.append(Text(words.still_needed(review.missing), style="red"))
    closing = words.REAPPLY_OR_EDIT if review.can_reapply else words.SUBMIT_OR_EDIT
    parts.append(Text(closing, style="bold"))
    return Group(*parts)


def _grouped_review(review: Review) -> RenderableType:
    parts: list[RenderableType] = [Text(review.title, style="bold")]
    if review.notice:
        parts.append(Text(review.notice, style="yellow"))
    if review.missing:
        parts.append(Text(words.still_needed(review.missing), style="red"))
    for group in review.sections:
        parts.append(Text(""))
        parts.append(
            Text.assemble((group.title, "bold"), (f"  {words.edit_group(group.edit)}", "dim"))
        )
        if group.lines:
            table = Table.grid(padding=(0, 2))
            table.add_column(no_wrap=True)
            table.add_column()
            for line in group.lines:
                value = (
                    _answer(line)
                    if line.value is not None
                    else Text(words.NOT_ANSWERED, style="bold red")
                )
                table.add_row(Text(line.label), value)
            parts.append(Padding(table, (0, 0, 0, 2), expand=False))
        if group.left_out:
            parts.append(Text(f"  {words.left_out(group.left_out)}", style="dim"))
    parts.append(Text(""))
    closing = words.REAPPLY_OR_EDIT_GROUP if review.can_reapply else words.SUBMIT_OR_EDIT_GROUP
    parts.append(Text(closing, style="bold"))
    return Group(*parts)


def _answer(line: ReviewLine) -> Text:
    """An answer, and where it came from when the seller did not give it (dim, beside it)."""
    value = Text(line.value or "")
    if line.note:
        value.append(f"  {words.aside(line.note)}", style="dim italic")
    return value


def render_created(created: Created) -> RenderableType:
    """What was created: the ids first, then each referral's card."""
    parts: list[RenderableType] = [Text(f"{PASSED} {created.message}", style="bold green")]
    for referral in created.referrals:
        # Ids are what the seller copies into the next command: one per line, never wrapped.
        ids = Table.grid(padding=(0, 2))
        ids.add_column(style="bold", no_wrap=True)
        ids.add_column(style="bold cyan", no_wrap=True)
        ids.add_row("Referral id", _text(referral.id))
        ids.add_row("Engagement id", _text(referral.engagement_id))
        parts.append(ids)
    parts.extend(referral_card(referral, heading="Created") for referral in created.referrals)
    first = created.referrals[0].id if created.referrals else None
    if first:
        parts.append(Text(f"/referral show {first} shows it again.", style="dim"))
    return Group(*parts)


def render_referral(view: ReferralCard) -> RenderableType:
    """One referral as it now stands, after what the message says happened; then how to
    ask for its deal registration, when the view offers it (the terminal has no buttons)."""
    parts: list[RenderableType] = []
    if view.message:
        parts.append(Text(f"{PASSED} {view.message}", style="bold green"))
    parts.append(referral_card(view.referral))
    if view.registrable and view.referral.id:
        parts.append(Text(words.register_hint(view.referral.id), style="dim"))
    return parts[0] if len(parts) == 1 else Group(*parts)


def render_referral_list(view: ReferralList) -> RenderableType:
    """A titled page of referrals: at most 20, as on a card, numbered, and how many there are
    in all; then how to pick one by its number (the terminal has no buttons), the view's
    note, and how to see more."""
    title = Text(view.title, style="bold")
    if not view.referrals:
        return Group(title, Text(words.NO_REFERRALS, style="dim"))
    listed = len(view.referrals)
    table = referral_table(
        view.referrals[: words.MAX_LISTED],
        total=max(view.total if view.total is not None else listed, listed),
        truncated=view.truncated,
        numbered=True,
    )
    parts: list[RenderableType] = [title, table, Text(words.by_number(view.pick), style="dim")]
    if view.note:
        parts.append(Text(view.note, style="dim"))
    if view.more is not None:
        parts.append(Text(f"More: type {view.more}", style="dim"))
    return Group(*parts)


def render_eligibility(view: EligibilityReport) -> RenderableType:
    """A referral's deal-registration eligibility, policy by policy; first whether the
    organization may register deals at all, when that was checked."""
    report = eligibility_report(view.eligibility, referral_id=view.referral_id)
    if view.partner_eligible is None:
        return report
    eligible = view.partner_eligible
    parts: list[RenderableType] = [
        Text.assemble(_mark(eligible), " ", (words.partner_sentence(eligible), "bold"))
    ]
    fix = words.partner_fix(eligible)
    if fix is not None:
        parts.append(Text(fix, style="yellow"))
    return Group(*parts, report)


def render_notice(notice: Notice) -> RenderableType:
    """A short statement, with its detail (such as the command list) below it."""
    message = Text(notice.message, style="bold")
    if not notice.detail:
        return message
    return Group(message, Text(notice.detail))


def render_sign_in(view: SignIn) -> RenderableType:
    """Why sign-in is needed, and the link to open in a browser (printed whole, so the
    terminal can make it clickable)."""
    return Group(
        Text(view.message, style="bold"),
        Text(view.url, style="underline"),
        Text(view.detail or words.SIGN_IN_PRIVATE, style="dim"),
    )


def render_problem(problem: Problem) -> RenderableType:
    """What went wrong, what to do about it, and the reference to quote to support."""
    parts: list[RenderableType] = [
        Text.assemble((f"{FAILED} ", "bold red"), (problem.message, "red"))
    ]
    if problem.hint:
        parts.append(Text(problem.hint, style="yellow"))
    if problem.reference:
        parts.append(Text(f"{words.REFERENCE}{problem.reference}", style="dim"))
    return Group(*parts)


STATUS_STYLES: Mapping[words.Tone, str] = {
    "good": "bold green",
    "bad": "bold red",
    "warning": "bold yellow",
    "neutral": "bold cyan",
}


def render_status_change(view: StatusChange) -> RenderableType:
    """What happened to a referral (a channel's card): the headline, the reason, the facts,
    and where to see it (the link printed whole, so the terminal can make it clickable)."""
    parts: list[RenderableType] = [
        Text(words.status_headline(view), style=STATUS_STYLES[words.STATUS_TONES[view.event]])
    ]
    if view.reason and view.reason.strip():
        parts.append(Text.assemble((f"{words.REASON}: ", "bold"), view.reason))
    rows: dict[str, str | None] = dict(words.status_facts(view, _money))
    rows[words.STATUS_ID] = view.referral_id
    parts.append(_facts(rows))
    if view.link:
        parts.append(Text(view.link, style="underline"))
    return Group(*parts)


def render_approval(view: ApprovalCard) -> RenderableType:
    """A request to approve a deal registration: the line for the reader, what is asked and
    where it stands, the request, the registration and each solution, the eligibility, and
    (for the requester) how to take it back; approvers decide in the chat, on the card."""
    parts: list[RenderableType] = []
    if view.message and view.message.strip():
        parts.append(Text(view.message, style="bold"))
    tone = STATUS_STYLES[words.APPROVAL_TONES[view.status]]
    parts.append(Text(words.approval_heading(view), style=tone))
    if view.young:
        parts.append(Text(f"{WARNING} {words.YOUNG_REFERRAL}", style="yellow"))
    rows: dict[str, str | None] = dict(approval_facts(view))
    rows.update((label, _timestamp(moment)) for label, moment in approval_times(view))
    parts.append(_facts(rows))
    parts.append(_registration(view))
    if view.eligibility is not None:
        parts.append(_outcomes(view.eligibility, view.referral_id))
    if "withdraw" in view.actions:
        parts.append(Text(words.withdraw_hint(view.approval_id), style="dim"))
    return Group(*parts)


def render_approval_list(view: ApprovalList) -> RenderableType:
    """A titled list of requests, each as its card, or what to say when there are none."""
    title = Text(view.title, style="bold")
    if not view.approvals:
        return Group(title, Text(view.empty, style="dim"))
    cards: list[RenderableType] = []
    for approval in view.approvals:
        cards.extend((Text(), render_approval(approval)))
    return Group(title, *cards)


def render_inbound(view: InboundCard) -> RenderableType:
    """An incoming referral: the line for the reader, who sent what and where its answer
    stands, the facts and the sender's notes; it is answered in Slack or Teams."""
    parts: list[RenderableType] = []
    if view.message and view.message.strip():
        parts.append(Text(view.message, style="bold"))
    tone = STATUS_STYLES[inbound.TONES[view.status]]
    parts.append(Text(inbound.inbound_title(view), style=tone))
    parts.append(Text(inbound.inbound_status(view)))
    problem = inbound.problem_line(view)
    if problem:
        parts.append(Text(f"{WARNING} {problem}", style="yellow"))
    rows: dict[str, str | None] = dict(inbound.inbound_facts(view))
    rows["Id"] = view.referral.id
    parts.append(_facts(rows))
    notes = inbound.inbound_notes(view)
    if notes:
        parts.append(Text(notes, style="dim"))
    return Group(*parts)


def render_inbox(view: InboundList) -> RenderableType:
    """A titled list of incoming referrals, each as its card, or what to say when none
    waits."""
    title = Text(view.title, style="bold")
    if not view.referrals:
        return Group(title, Text(view.empty, style="dim"))
    cards: list[RenderableType] = []
    for each in view.referrals:
        cards.extend((Text(), render_inbound(each)))
    return Group(title, *cards)


def chat_banner(
    *,
    seller: str,
    email: str | None,
    redis_url: str,
    data_dir: Path,
    partner_center_url: str,
    sandbox: bool,
) -> RenderableType:
    """What ``referral-bot chat`` says first: who you are, where things live, how to start."""
    if sandbox:
        partner_center = Text.assemble(
            "built-in sandbox ",
            (
                "(demo data; for the real one, set ENTRA_CLIENT_ID and the rest of the app "
                "registration to sign in, or PARTNER_CENTER_TOKEN: see the README)",
                "dim",
            ),
        )
    else:
        partner_center = Text(partner_center_url)
    you = f"{seller} <{email}>" if email else seller
    facts = _facts({"You are": you, "Drafts": redis_url, "Data folder": str(data_dir)})
    facts.add_row("Partner Center", partner_center)
    start = Text("Type /referral new to create a referral, /referral help for more, quit to leave.")
    return Panel(
        Group(facts, Text(), start),
        title=Text("referral-bot chat", style="bold"),
        title_align="left",
    )


def _numbered(choices: Sequence[Option]) -> RenderableType:
    width = len(str(len(choices)))
    lines = [
        Text.assemble((f"{number:>{width}}. ", "cyan"), option.label)
        for number, option in enumerate(choices, 1)
    ]
    if len(lines) <= SHORT_LIST:
        return Group(*(Text("  ") + line for line in lines))
    # Down the columns, so the numbers still read in order.
    return Columns(lines, column_first=True, padding=(0, 3))


def _suggestions(suggestions: Sequence[Option], choices: Sequence[Option]) -> Text | None:
    """The number that picks each suggestion from the list (the error already names them)."""
    numbers = {option.value: number for number, option in enumerate(choices, 1)}
    picks = [
        f"{numbers[option.value]} for {option.label}"
        for option in suggestions
        if option.value in numbers
    ]
    if not picks:
        return None
    return Text.assemble(("  Type ", "yellow"), "; ".join(picks), (".", "yellow"))


# -- pieces -------------------------------------------------------------------------------


class _FirstThatFits:
    """Renders the first layout that fits the width without wrapping, else the last one."""

    def __init__(self, *layouts: RenderableType) -> None:
        self.layouts = layouts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        unbounded = options.update_width(sys.maxsize)
        for layout in self.layouts[:-1]:
            if Measurement.get(console, unbounded, layout).maximum <= options.max_width:
                yield layout
                return
        yield self.layouts[-1]


def _table(caption: str, *headers: str) -> Table:
    # Ids (copied into the next command), statuses, amounts and dates stay on one line.
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, caption=caption)
    for header in headers:
        wraps = header in ("Name", "Customer", "Referral")
        table.add_column(
            header, no_wrap=not wraps, justify="right" if header == "Value" else "left"
        )
    return table


def _facts(rows: Mapping[str, str | None]) -> Table:
    """A two-column grid of label and value; rows without a value are left out."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows.items():
        if value:
            grid.add_row(label, _text(value))
    return grid


def _team(title: str, members: Iterable[Member]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("Name", "Email", "Phone"):
        table.add_column(header)
    for member in members:
        table.add_row(_text(member.display_name), _text(member.email), _text(member.phone_number))
    return table


def _requirements(referral: Referral) -> Table | None:
    rows = requirements(referral, missing=MISSING)
    if not rows:
        return None
    table = _facts(rows)
    table.title = "Requirements"
    table.title_justify = "left"
    return table if table.row_count else None


def _registrations(registrations: Iterable[DealRegistration]) -> Table:
    table = Table(title="Deal registrations", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("Id", "Type", "Status", "Contract value", "Solutions"):
        table.add_column(header, no_wrap=header in ("Id", "Contract value"))
    for registration in registrations:
        contract = registration.contract
        table.add_row(
            _text(registration.id),
            _text(registration.type),
            _text(_joined((registration.status, registration.status_reason), ": ")),
            _text(_money(contract.value, contract.currency) if contract else None),
            _text(
                ", ".join(detail.id or MISSING for detail in registration.solution_details or ())
            ),
        )
    return table


def _registration(view: ApprovalCard) -> RenderableType:
    """The registration's type and contract, then each solution: its name, and its facts on
    one line below (they wrap on a narrow terminal instead of being cut off)."""
    registration = view.registration
    rows = {label: value or MISSING for label, value in registration_facts(registration)}
    contract = _facts(rows)
    contract.title = words.REGISTRATION
    contract.title_justify = "left"
    listed = solutions(registration)
    if not listed:
        return Group(contract, Text(f"{words.SOLUTIONS}: {words.NO_SOLUTIONS}", style="dim"))
    lines: list[RenderableType] = [Text(words.SOLUTIONS, style="italic")]
    for solution in listed:
        lines.append(Text(f"  {solution_name(solution)}", style="bold"))
        lines.append(Text(f"    {inline(solution_facts(solution))}"))
    return Group(contract, *lines)


def _outcomes(eligibility: ReferralEligibility, referral_id: str) -> RenderableType:
    """The eligibility in short: the verdict, then each policy's outcome in plain words."""
    lines = [
        Text.assemble(
            _mark(eligibility.is_eligible), " ", words.eligibility_words(eligibility, referral_id)
        )
    ]
    lines.extend(
        Text.assemble("  ", _mark(passed), " ", sentence)
        for passed, sentence in words.policy_outcomes(eligibility)
    )
    return Group(*lines)


def _looked_at(policy: EligibilityPolicy) -> Text:
    seen = [f"{key}={_scalar(value)}" for key, value in policy.referral_properties.items()]
    seen.extend(policy.additional_properties)
    return _text(", ".join(seen))


def _scalar(value: Any) -> str:
    return MISSING if value is None else str(value)


def _mark(ok: bool) -> Text:
    return Text(PASSED, style="green") if ok else Text(FAILED, style="red")


def _text(value: str | None) -> Text:
    return Text(value) if value else Text(MISSING, style="dim")
