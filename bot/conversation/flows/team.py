"""``/referral team ID``: add a colleague to a referral's team. Diagram: ``docs/flows/team.md``."""

from __future__ import annotations

from bot.conversation import parsers
from bot.conversation.steps import Flow, Step
from bot.conversation.views import InputKind
from bot.referrals import limits

FLOW = Flow(
    name="team",
    title="Add team member",
    needs_referral=True,
    steps=(
        Step(
            "first_name",
            "First name",
            "Who joins the team? First name:",
            InputKind.TEXT,
            parsers.text("The first name", limits.PERSON_NAME),
        ),
        Step(
            "last_name",
            "Last name",
            "Last name?",
            InputKind.TEXT,
            parsers.text("The last name", limits.PERSON_NAME),
        ),
        Step("email", "Email", "Their email address?", InputKind.EMAIL, parsers.email),
        Step(
            "phone",
            "Phone",
            "Their phone number?",
            InputKind.PHONE,
            parsers.phone,
            required=False,
        ),
    ),
)
