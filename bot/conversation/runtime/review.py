"""The review: every answer before anything is sent, in the flow's groups (one Edit each)
when it has them, a line per answer with its own Edit when it has none."""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation.runtime.situation import Situation
from bot.conversation.views import Review, ReviewLine, ReviewSection
from bot.conversation.vocabulary.steps import Step


def review_view(situation: Situation, *, notice: str | None = None) -> Review:
    """Every applicable answer, in the flow's review groups when it has them, and what is
    still missing."""
    missing = situation.missing()
    sections = _sections(situation, {step.id for step in missing})
    if sections:
        lines = tuple(line for section in sections for line in section.lines)
    else:
        lines = tuple(_line(situation, step) for step in situation.applicable())
    session = situation.session
    return Review(
        flow=situation.flow.name,
        title=situation.flow.title,
        lines=lines,
        sections=sections,
        missing=tuple(step.label for step in missing),
        notice=notice or session.notice,
        can_reapply=session.notice is not None,
    )


def _line(situation: Situation, step: Step) -> ReviewLine:
    """One answer as the review shows it: what it was before, for an existing referral, and
    where it came from when the seller did not give it."""
    answer = situation.answers.get(step.id)
    shown = step.show(answer) if answer is not None else None
    before = step.current(situation.subject) if situation.subject else None
    if shown is not None and before is not None and before != answer:
        shown = f"{step.show(before)} → {shown}"
    note = situation.session.inferred.get(step.id) if answer is not None else None
    return ReviewLine(step=step.id, label=step.label, value=shown, note=note)


def _sections(situation: Situation, missing: set[str]) -> tuple[ReviewSection, ...]:
    """The review's groups: a group question's steps on one line, the seller first where
    they join the team, optional questions left unanswered named on one line, and groups
    with nothing to show left out."""
    flow = situation.flow
    sections: list[ReviewSection] = []
    for section in flow.sections:
        lines: list[ReviewLine] = []
        left_out: list[str] = []
        if section.seller:
            lines.append(_seller_line(situation, section.id))
        for step in section_questions(situation, section.steps):
            if step.is_group:
                summary = step.summary(situation.answers) if step.summary else None
                needed = any(s.id in missing for s in flow.covered(step, situation.answers))
                line = ReviewLine(step=step.id, label=step.label, value=summary)
            else:
                line = _line(situation, step)
                needed = step.id in missing
            if line.value is None and not needed:
                left_out.append(step.label)
            else:
                lines.append(line)
        if lines or left_out:
            sections.append(
                ReviewSection(
                    edit=section.id,
                    title=section.title,
                    lines=tuple(lines),
                    left_out=tuple(left_out),
                )
            )
    return tuple(sections)


def section_questions(situation: Situation, step_ids: Sequence[str]) -> list[Step]:
    """The questions a review group asks: its applicable steps, a group question in place of
    the steps it covers (when any of them applies)."""
    flow = situation.flow
    applicable = {step.id for step in situation.applicable()}
    questions: list[Step] = []
    for step_id in step_ids:
        step = flow.step(step_id)
        group = flow.group_of(step_id)
        if step_id not in applicable or (group is not None and group.id in step_ids):
            continue
        if not step.is_group or flow.covered(step, situation.answers):
            questions.append(step)
    return questions


def _seller_line(situation: Situation, section: str) -> ReviewLine:
    seller = situation.session.seller
    name = seller.display_name or " ".join(
        part for part in (seller.first_name, seller.last_name) if part
    )
    who = f"{name} <{seller.email}>" if name and seller.email else (name or seller.email)
    return ReviewLine(
        step=section,
        label="You",
        value=who or seller.user_id,
        note="from your chat profile",
    )
