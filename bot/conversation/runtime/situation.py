"""A flow with one session: what the state machine, the progress count and the review all
read off a draft (which steps apply, which are missing, which are still to be asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.conversation.runtime.session import Session
from bot.conversation.vocabulary.steps import Filled, Flow, Step
from bot.referrals.models import Referral


@dataclass(frozen=True, slots=True)
class Situation:
    """A flow with one session, and what the machine derives from them."""

    flow: Flow
    session: Session
    subject: Referral | None = field(default=None)
    today: date | None = None
    """The engine's today, which date questions are asked against (their earliest day)."""

    @property
    def answers(self) -> dict[str, Any]:
        """The session's answers."""
        return self.session.answers

    def applicable(self) -> tuple[Step, ...]:
        """Steps that apply for the answers so far."""
        return self.flow.applicable(self.answers)

    def missing(self) -> tuple[Step, ...]:
        """Applicable required steps without an answer."""
        return tuple(
            step
            for step in self.applicable()
            if step.is_required(self.answers) and step.id not in self.answers
        )

    def is_open(self, step: Step) -> bool:
        """Whether ``step`` is still to be asked (:meth:`Flow.is_open`)."""
        return self.flow.is_open(step, self.answers, self.session.skipped)


def declined(situation: Situation, step: Step) -> Filled | None:
    """What skipping group question ``step`` settles: what it says (declining optional
    questions declines them all), or, when every step it leaves open is optional (a private
    lead's contact), all of them; None when its steps are to be asked one at a time."""
    if not step.is_group:
        return None
    if step.declined is not None:
        return step.declined(situation.answers)
    still = [s for s in situation.flow.covered(step, situation.answers) if situation.is_open(s)]
    if any(s.is_required(situation.answers) for s in still):
        return None
    return Filled({}, tuple(s.id for s in still))
