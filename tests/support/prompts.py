"""Questions as the state machine asks them, for the renderers' tests: every step of every
flow, built by :func:`bot.conversation.runtime.machine.prompt_view` from a fresh draft, so a card is
tested on exactly what the engine would hand it (earliest dates, catalog ids and all).

A flow that works on an existing referral (``Flow.needs_referral``) starts its draft on the
referral of ``tests/fixtures/partner_center/get_referral_response.json``, as the engine does
(:func:`bot.conversation.runtime.machine.start`): its prefilled answers, and the choices they
give (a deal registration's solutions), are there when its steps are asked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.views import Prompt, Seller
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.steps import Flow
from bot.referrals.models import Referral
from tests.fixtures import partner_center


def referral_subject() -> Subject:
    """The referral a draft of a flow that needs one works on, as the engine stores it."""
    referral = Referral.from_wire(partner_center("get_referral_response"))
    assert referral.id is not None
    return Subject(referral_id=referral.id, etag=referral.e_tag, snapshot=referral.to_wire())


def situation(flow: Flow, today: date) -> machine.Situation:
    """A fresh draft of ``flow`` as the machine sees it on ``today``: with its referral, read
    back from the draft as the engine reads it, when it has one."""
    moment = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    session = fresh_draft(flow, moment)
    subject = session.subject
    referral = Referral.from_wire(subject.snapshot) if subject is not None else None
    return machine.Situation(flow, session, referral, today)


def fresh_draft(flow: Flow, moment: datetime) -> Session:
    """A draft of ``flow`` just started at ``moment``: on :func:`referral_subject` when the
    flow needs a referral, with whatever the flow prefills from it."""
    session = Session(
        id="draft",
        flow=flow.name,
        seller=Seller(user_id="U1"),
        subject=referral_subject() if flow.needs_referral else None,
        created_at=moment,
        updated_at=moment,
    )
    return machine.start(flow, session)


def flow_prompts(today: date, *, optional_too: bool = True) -> Iterator[Prompt]:
    """Every step of every flow as the engine would ask it on ``today`` in a fresh draft;
    with ``optional_too``, each also as an optional question that can go back."""
    for flow in FLOWS.values():
        asking = situation(flow, today)
        for step in flow.steps:
            asked = machine.prompt_view(asking, step)
            yield asked
            if optional_too:
                yield asked.model_copy(update={"required": not asked.required, "can_go_back": True})
