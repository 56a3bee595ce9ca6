"""``/referral team ID``: add a colleague to a referral's team. Diagram: ``docs/flows/team.md``.

The answers fill the member the flow appends to the team (``/team/-``).
"""

from __future__ import annotations

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers
from bot.conversation.vocabulary.paths import ApiPath
from bot.conversation.vocabulary.steps import Flow, Step, Submit
from bot.referrals import limits

NEW_MEMBER = "/team/-"
"""The member this flow adds: appended to the referral's team."""

FLOW = Flow(
    name="team",
    title="Add team member",
    submit=Submit.ADD_TEAM_MEMBER,
    needs_referral=True,
    steps=(
        Step(
            "first_name",
            "First name",
            "Who joins the team? First name:",
            InputKind.TEXT,
            parsers.text("The first name", limits.PERSON_NAME),
            fills=ApiPath(f"{NEW_MEMBER}/firstName"),
        ),
        Step(
            "last_name",
            "Last name",
            "Last name?",
            InputKind.TEXT,
            parsers.text("The last name", limits.PERSON_NAME),
            fills=ApiPath(f"{NEW_MEMBER}/lastName"),
        ),
        Step(
            "email",
            "Email",
            "Their email address?",
            InputKind.EMAIL,
            parsers.email,
            fills=ApiPath(f"{NEW_MEMBER}/email"),
        ),
        Step(
            "phone",
            "Phone",
            "Their phone number?",
            InputKind.PHONE,
            parsers.phone,
            required=False,
            fills=ApiPath(f"{NEW_MEMBER}/phoneNumber", unanswered=""),
        ),
    ),
)
