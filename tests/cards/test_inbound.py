"""Incoming referrals rendered for Slack, Teams and the terminal: the facts a triage card
promises (sender, customer, need, value, closing date, contact, days left), only the controls
the view allows (each naming the referral), and every platform's limits held whatever the
referral holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from bot.conversation.views import Home, InboundCard, InboundList, InboundState
from bot.referrals.models import Referral
from cards import inbound, text
from cards.ids import INBOUND_BLOCK_PREFIX, REASON_INPUT, TRIAGE, Action
from cards.slack import decline_modal, home, message
from cards.teams import card
from cards.teams import home as teams_home
from cards.teams._kit import CARD_BYTES
from tests.cards.test_slack import ESCAPED, NASTY, assert_within_limits, elements
from tests.cards.test_teams import assert_valid, executes, inputs, read_both, schema_errors

LITWARE_ID = "0b6e1f9a-1111-4c2d-9e3f-5a7c9e1b3d99"
EXPIRES = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)


def litware(**changes: Any) -> Referral:
    document: dict[str, Any] = {
        "id": LITWARE_ID,
        "name": "Litware - Microsoft 365 rollout",
        "status": "New",
        "substatus": "Pending",
        "direction": "Incoming",
        "customerProfile": {
            "name": "Litware Inc",
            "address": {"city": "Boston", "country": "US"},
            "team": [
                {
                    "firstName": "Dana",
                    "lastName": "Reyes",
                    "email": "dana.reyes@litware.example",
                    "phoneNumber": "6175550100",
                }
            ],
        },
        "details": {
            "notes": "600 seats by spring.",
            "dealValue": 60000,
            "currency": "USD",
            "closingDateTime": "2027-03-31T00:00:00Z",
            "requirements": {
                "industries": [{"id": "Education"}],
                "products": [{"id": "Microsoft365"}],
                "solutions": [{"id": "SOL-M365", "name": "Microsoft 365 E3"}],
            },
        },
        "inviteContext": {"invitedBy": {"organizationId": "msft", "organizationName": "Microsoft"}},
    }
    return Referral.from_wire(document | changes)


def waiting(**changes: Any) -> InboundCard:
    fields: dict[str, Any] = {
        "referral": litware(),
        "status": "waiting",
        "expires_at": EXPIRES,
        "days_left": 12,
        "actions": ("accept", "decline", "assign"),
    }
    return InboundCard(**(fields | changes))


def slack_text(view: InboundCard | InboundList) -> str:
    made = message(view)
    return made.text + str(made.blocks)


def terminal(view: Any) -> str:
    console = Console(width=120, record=True)
    console.print(text.render_view(view))
    return console.export_text()


@pytest.mark.parametrize("render", [slack_text, lambda v: str(card(v).content), terminal])
def test_the_card_says_what_it_takes_to_decide(render: Any) -> None:
    shown = render(waiting())

    for fact in (
        "Incoming referral from Microsoft: Litware - Microsoft 365 rollout",
        "Litware Inc",
        "Microsoft 365 E3",
        "Microsoft365",
        "Education",
        "60,000 USD",
        "2027-03-31",
        "Dana Reyes",
        "dana.reyes@litware.example",
        "12 days left",
        "2026-12-18",
        "600 seats by spring.",
    ):
        assert fact in shown, fact


def test_another_partner_is_named_as_the_sender() -> None:
    partner = {"invitedBy": {"organizationId": "org-9", "organizationName": "Fourth Coffee"}}
    view = waiting(referral=litware(inviteContext=partner))

    assert inbound.inbound_title(view).startswith("Incoming referral from Fourth Coffee:")


@pytest.mark.parametrize(
    ("days", "said"), [(12, "12 days left"), (1, "1 day left"), (0, "less than a day left")]
)
def test_days_left_read_as_people_say_them(days: int, said: str) -> None:
    assert inbound.days_left(days) == said


ANSWERED: list[tuple[InboundState, dict[str, Any], str]] = [
    ("accepted", {"decided_by": "Grace Hopper"}, "Accepted by Grace Hopper"),
    ("declined", {"decided_by": "Ada", "reason": "Not ours."}, "Declined by Ada"),
    ("answered", {"reason": "Active, Accepted"}, "Answered in Partner Center (Active, Accepted)"),
    ("expired", {}, "Expired unanswered"),
    ("accepting", {"decided_by": "Grace Hopper"}, "Grace Hopper is accepting it"),
]


@pytest.mark.parametrize(("status", "changes", "said"), ANSWERED)
def test_an_answered_one_says_how_and_has_no_controls(
    status: InboundState, changes: dict[str, Any], said: str
) -> None:
    view = waiting(status=status, actions=(), days_left=None, **changes)

    slack = message(view)
    teams = card(view)

    assert said in slack.text + str(slack.blocks)
    assert elements(slack.blocks) == []
    assert said in str(teams.content)
    assert executes(teams.content) == []
    assert inputs(teams.content) == []


def test_slack_controls_name_the_referral() -> None:
    made = message(waiting())

    assert_within_limits(made.blocks)
    (row,) = [block for block in made.blocks if block["type"] == "actions"]
    assert row["block_id"] == f"{INBOUND_BLOCK_PREFIX}{LITWARE_ID}"
    accept, decline, assign = row["elements"]
    assert (accept["action_id"], accept["value"]) == (Action.ACCEPT, LITWARE_ID)
    assert (decline["action_id"], decline["value"]) == (Action.DECLINE, LITWARE_ID)
    assert (assign["action_id"], assign["type"]) == (Action.ASSIGN, "users_select")


def test_an_id_too_long_to_travel_gets_no_controls() -> None:
    made = message(waiting(referral=litware(id="x" * 300)))

    assert elements(made.blocks) == []


def test_teams_buttons_read_back_as_the_triage_they_stand_for() -> None:
    made = card(waiting())

    assert_valid(made)
    read = {
        action["verb"]: read_both(made.content, action, "Someone <a@b.example>")
        for action in executes(made.content)
    }
    assert {verb: each.verdict for verb, each in read.items()} == {
        verb.value: verdict for verb, verdict in TRIAGE.items()
    }
    assert all(each.referral == LITWARE_ID for each in read.values())
    assert read[Action.ACCEPT].reason is None


def test_data_from_partner_center_stays_data() -> None:
    view = waiting(referral=litware(name=NASTY, customerProfile={"name": NASTY}))

    made = message(view)

    assert ESCAPED in str(made.blocks)
    assert NASTY not in str([b for b in made.blocks if b["type"] != "header"])


def test_huge_values_keep_every_limit() -> None:
    huge = "ä<&>" * 3000
    referral = litware(
        name=huge,
        customerProfile={"name": huge, "team": [{"firstName": huge, "email": huge}]},
        details={"notes": huge, "requirements": {"products": [{"id": huge}] * 50}},
    )
    view = waiting(referral=referral, assignee=huge, problem=huge, message=huge)

    assert_within_limits(message(view).blocks)
    teams = card(view)
    assert schema_errors(teams.content) == []
    assert len(str(teams.content).encode()) < CARD_BYTES * 2  # JSON text, roughly


def test_the_inbox_lists_every_card_or_says_none_waits() -> None:
    cards = tuple(waiting(referral=litware(id=f"r-{n}")) for n in range(3))
    listed = InboundList(title="Waiting", referrals=cards)
    empty = InboundList(title="Waiting", referrals=())

    assert_within_limits(message(listed).blocks)
    assert message(listed).text == "3 incoming referrals waiting for an answer"
    assert "No incoming referral waits" in slack_text(empty)
    teams = card(listed)
    assert schema_errors(teams.content) == []
    boxes = [box["id"] for box in inputs(teams.content)]
    assert len(boxes) == len(set(boxes)) == 6  # a reason and a seller box each


def test_homes_show_what_waits() -> None:
    view = Home(
        draft=None,
        referrals=(),
        inbound=tuple(waiting(referral=litware(id=f"r-{n}")) for n in range(7)),
    )

    slack = home(view)
    teams = teams_home(view)

    assert inbound.WAITING_FOR_ANSWER in str(slack)
    assert "2 more incoming referrals not shown" in str(slack)
    assert inbound.WAITING_FOR_ANSWER in str(teams.content)
    assert schema_errors(teams.content) == []


def test_the_decline_modal_carries_the_referral_and_asks_why() -> None:
    modal = decline_modal(LITWARE_ID, "Litware - Microsoft 365 rollout")

    assert modal["callback_id"] == Action.DECLINE_REASON
    assert modal["private_metadata"] == LITWARE_ID
    (_, box) = modal["blocks"]
    assert box["block_id"] == REASON_INPUT
    assert box["element"]["action_id"] == REASON_INPUT
    assert box.get("optional") is False
