"""Slack end to end: signed requests in Slack's shapes into the real app; its replies land
in the Slack stand-in; referrals land in the sandbox."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.app.web import build_web_app
from bot.app.worker import run_worker
from bot.conversation.chat.turns import Turn
from bot.jobs import JobQueue
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Member, Referral
from cards.ids import Action
from cards.slack import encode_choice
from tests.handlers.slack.conftest import SlackBot, slack_settings
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SlackRequests, dm_channel_id
from tests.support.slack_stand_in import RESPONSE_URL, SlackApiStandIn

DM = dm_channel_id("U0001")
ADA = Member(first_name="Ada", last_name="Lovelace", email="ada.lovelace@contoso.example")


async def posted(bot: SlackBot, count: int) -> list[Any]:
    return await bot.slack.wait_for_async("chat.postMessage", count=count)


def texts(call: Any) -> str:
    return str(call.args.get("text", "")) + str(call.args.get("blocks", ""))


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        found += block.get("elements", [])
        if "accessory" in block:
            found.append(block["accessory"])
    return found


async def test_slash_command_is_acked_fast_and_the_first_card_lands_in_the_dm(
    bot: SlackBot,
) -> None:
    started = time.perf_counter()
    response = await bot.send(bot.requests.command("new"))
    assert response.status_code == 200
    assert time.perf_counter() - started < 1.0
    (card,) = await posted(bot, 1)
    assert card.args["channel"] == DM
    assert "What kind of deal is this?" in texts(card)
    buttons = [e for e in elements(card.blocks) if e.get("action_id") == Action.CHOOSE]
    assert buttons[0]["value"] == encode_choice("deal_kind", "private")


async def test_bad_or_stale_signatures_are_refused(bot: SlackBot) -> None:
    forged = await bot.send(bot.requests.command("new", bad_signature=True))
    stale = await bot.send(bot.requests.command("new", age=301))
    assert forged.status_code == 401
    assert stale.status_code == 401
    await bot.settled()
    assert bot.slack.calls("chat.postMessage") == []


async def test_a_private_lead_from_slack_to_the_sandbox(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.send(bot.requests.command("new"))
    await posted(bot, 1)
    # A button for the kind of deal; the card it was on becomes a record.
    await bot.send(
        bot.requests.action(
            Action.CHOOSE,
            value=encode_choice("deal_kind", "private"),
            message=bot.slack.last_message(DM),
        )
    )
    await posted(bot, 2)
    typed = ["Fabrikam - Slack", "Fabrikam Inc", "1 Main St"]
    for count, text in enumerate(typed, start=3):
        await bot.send(bot.requests.dm_message(text))
        await posted(bot, count)
    await bot.send(
        bot.requests.action(Action.SKIP, value="address_line2", message=bot.slack.last_message(DM))
    )
    await posted(bot, 6)
    for count, text in enumerate(["Seattle", "WA", "98101"], start=7):
        await bot.send(bot.requests.dm_message(text))
        await posted(bot, count)
    # The country: type-ahead, then the pick.
    card = bot.slack.last_message(DM)
    search = next(e for e in elements(card["blocks"]) if e.get("action_id") == Action.SEARCH)
    block_id = next(
        b["block_id"] for b in card["blocks"] if search in b.get("elements", [b.get("accessory")])
    )
    options = await bot.send(bot.requests.suggestion(Action.SEARCH, block_id, "ger"))
    assert options.status_code == 200
    assert options.json()["options"][0]["value"] == "DE"
    await bot.send(
        bot.requests.action(
            Action.SEARCH, selected=("US", "United States"), block_id=block_id, message=card
        )
    )
    await posted(bot, 10)
    # A private lead's contact is optional: one skip leaves it out. The currency is the
    # country's, so it is not asked.
    answers = ["10 to 50 employees", "skip", "50k"]
    for count, text in enumerate(answers, start=11):
        await bot.send(bot.requests.dm_message(text))
        await posted(bot, count)
    # The closing date from the date picker.
    card = bot.slack.last_message(DM)
    picker = next(
        b
        for b in card["blocks"]
        if any(e.get("action_id") == Action.PICK_DATE for e in b.get("elements", []))
        or (b.get("accessory") or {}).get("action_id") == Action.PICK_DATE
    )
    await bot.send(
        bot.requests.action(
            Action.PICK_DATE, date="2027-03-31", block_id=picker["block_id"], message=card
        )
    )
    await posted(bot, 14)
    # Every optional question in turn; the consents one at a time.
    rest = ["all", "Pilot first", "skip", "skip", "skip", "skip", "skip", "yes", "yes", "skip"]
    for count, text in enumerate(rest, start=15):
        await bot.send(bot.requests.dm_message(text))
        await posted(bot, count)
    review = bot.slack.last_message(DM)
    assert "Review" in str(review["blocks"]) or "New referral" in str(review["blocks"])
    await bot.send(bot.requests.action(Action.SUBMIT, message=review))
    # The review card says "sending", then turns into the result (through response_url).
    *_, sending, created = await bot.slack.wait_for_async(RESPONSE_URL, count=6)
    assert "Sending to Partner Center" in texts(sending)
    assert "Created your referral" in texts(created)
    assert sending.args["replace_original"]
    assert created.args["replace_original"]
    found = await client_for_sandbox.list(filter="customerProfile/name eq 'Fabrikam Inc'").collect()
    (referral,) = [r for r in found if r.name == "Fabrikam - Slack"]
    assert referral.details is not None
    assert referral.details.closing_date_time is not None
    assert referral.details.closing_date_time.date().isoformat() == "2027-03-31"
    assert referral.customer_profile is not None
    assert referral.customer_profile.address is not None
    assert referral.customer_profile.address.country == "US"
    assert referral.details.currency == "USD"  # worked out from the country
    # Every answered card was rewritten as a record without buttons: clicked ones through
    # their response_url, typed-to ones with chat.update.
    updates = bot.slack.calls("chat.update")
    clicks = bot.slack.calls(RESPONSE_URL)[:-2]
    assert len(updates) >= 18
    assert len(clicks) == 4
    assert all(not elements(call.args["blocks"]) for call in [*updates, *clicks])
    assert len(bot.slack.calls("chat.postMessage")) == 24


async def test_the_same_click_twice_has_one_effect(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("new"))
    await posted(bot, 1)
    click = bot.requests.action(
        Action.CHOOSE,
        value=encode_choice("deal_kind", "private"),
        message=bot.slack.last_message(DM),
    )
    await bot.send(click)
    await bot.send(click)
    await posted(bot, 2)
    await bot.settled()
    assert len(bot.slack.calls("chat.postMessage")) == 2


async def test_a_retried_event_has_one_effect(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("new"))
    await bot.send(bot.requests.dm_message("private"))
    await posted(bot, 2)
    first = bot.requests.dm_message("Fabrikam deal")
    await bot.send(first)
    await bot.send(bot.requests.retry(first, num=1))
    await posted(bot, 3)
    await bot.settled()
    assert len(bot.slack.calls("chat.postMessage")) == 3


async def test_unknown_subcommand_answers_with_help_and_the_closest(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("nwe"))
    (card,) = await posted(bot, 1)
    assert "Did you mean /referral new?" in texts(card)


async def test_show_and_list_render_referral_cards(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    # Ada (U0001) sees only referrals whose team includes her.
    for referral in await client_for_sandbox.list(filter="status eq 'Active'").collect():
        assert referral.id
        await client_for_sandbox.add_team_member(referral.id, ADA)
    await bot.send(bot.requests.command("list open"))
    (card,) = await posted(bot, 1)
    shows = [e for e in elements(card.blocks) if e.get("action_id") == Action.SHOW]
    assert shows
    await bot.send(
        bot.requests.action(
            Action.SHOW, value=shows[0]["value"], message=bot.slack.last_message(DM)
        )
    )
    (_, shown) = await posted(bot, 2)
    assert shows[0]["value"] in texts(shown)


async def test_app_home_shows_the_draft_and_open_referrals(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("new"))
    await posted(bot, 1)
    await bot.send(bot.requests.home_opened())
    (published,) = await bot.slack.wait_for_async("views.publish")
    view = str(published.args["view"])
    assert "New referral" in view
    assert Action.RESUME in view


async def test_rate_limited_posts_are_retried(bot: SlackBot) -> None:
    bot.slack.rate_limit("chat.postMessage", times=1, retry_after=0)
    await bot.send(bot.requests.command("new"))
    calls = await bot.slack.wait_for_async("chat.postMessage", count=2, timeout=10)
    assert calls[0].status == 429
    assert calls[1].ok


async def test_list_has_a_more_button_for_the_next_page(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    template = (await client_for_sandbox.list().collect())[0].to_wire()
    for number in range(21):  # Ada's, on top of the six seeded ones of other teams
        await client_for_sandbox.create(
            Referral.from_wire(
                {
                    "name": f"Paging {number:02d}",
                    "type": "Independent",
                    "customerProfile": template["customerProfile"],
                    "consent": {"consentToShareReferralWithMicrosoftSellers": False},
                    "details": {"dealValue": 1000, "currency": "USD"},
                    "team": [ADA.to_wire()],
                }
            )
        )
    await bot.send(bot.requests.command("list"))
    (card,) = await posted(bot, 1)
    (more,) = [e for e in elements(card.blocks) if e.get("action_id") == Action.PAGE]
    assert more["value"] == "/referral list 2"
    await bot.send(
        bot.requests.action(Action.PAGE, value=more["value"], message=bot.slack.last_message(DM))
    )
    (_, second) = await posted(bot, 2)
    assert "page 2" in texts(second)


async def test_socket_mode_receives_commands_without_a_public_url(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,  # cleans this test's keys up
    redis_url: str,
    redis_namespace: str,
) -> None:
    settings = slack_settings(
        fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, slack_app_token="xapp-test"
    )
    app = build_web_app(settings)
    async with app.router.lifespan_context(app):
        command = SlackRequests(team_id=redis_namespace).command("help").payload
        fresh_slack_api.socket_send(
            {
                "envelope_id": "envelope-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
        ack = await fresh_slack_api.socket_ack("envelope-1")
        assert ack["envelope_id"] == "envelope-1"
        (card,) = await fresh_slack_api.wait_for_async("chat.postMessage")
        assert "/referral new" in texts(card)
    connections = fresh_slack_api.calls("apps.connections.open")
    assert connections
    assert connections[0].token == "xapp-test"


async def test_submit_shows_progress_on_the_clicked_card_then_what_is_missing(
    bot: SlackBot,
) -> None:
    await bot.send(bot.requests.command("new"))
    await posted(bot, 1)
    await bot.send(bot.requests.dm_message("private"))
    await posted(bot, 2)
    await bot.send(bot.requests.action(Action.SUBMIT, message=bot.slack.last_message(DM)))
    # The clicked card says "sending", then asks the first missing question in its place.
    sending, missing = await bot.slack.wait_for_async(RESPONSE_URL, count=2)
    assert "Sending to Partner Center" in texts(sending)
    assert "Before submitting, answer" in texts(missing)
    await asyncio.sleep(0.1)
    assert len(bot.slack.calls("chat.postMessage")) == 2


async def test_an_unexpected_failure_gives_the_seller_a_reference(bot: SlackBot) -> None:
    bot.slack.fail("users.info", "fatal_error")
    await bot.send(bot.requests.command("new"))
    (card,) = await posted(bot, 1)
    assert "Something went wrong on my side" in texts(card)
    assert "Reference" in texts(card)


async def test_a_draft_started_in_the_dm_puts_the_seller_on_the_team(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.send(bot.requests.dm_message("/referral new"))
    await posted(bot, 1)
    assert bot.slack.calls("users.info")
    answers = ["private", "Typed in the DM", "Fabrikam Inc", "1 Main St", "skip", "Seattle"]
    answers += ["WA", "98101", "US", "10 to 50 employees", "skip", "skip", "skip", "skip"]
    answers += ["50k", "usd", "2027-03-31", "skip", "skip", "skip", "skip", "skip", "yes", "yes"]
    answers += ["skip", "submit"]
    for count, text in enumerate(answers, start=2):
        await bot.send(bot.requests.dm_message(text))
        await posted(bot, count)
    found = await client_for_sandbox.list(filter="name eq 'Typed in the DM'").collect()
    (referral,) = found
    assert [(m.first_name, m.last_name, m.email) for m in referral.team or []] == [
        ("Ada", "Lovelace", "ada.lovelace@contoso.example")
    ]


async def test_web_processes_queue_the_work_and_a_worker_process_does_it(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    settings = slack_settings(fresh_sandbox, fresh_slack_api, redis_url, redis_namespace)
    web = build_web_app(settings, worker=False)  # the Procfile's `serve --no-worker`
    requests = SlackRequests(
        team_id=redis_namespace,
        hooks_url=fresh_slack_api.origin,
        response_urls=fresh_slack_api.response_url,
    )
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            command = requests.command("new")
            sent = await http.post(command.path, content=command.body, headers=command.headers)
            assert sent.status_code == 200
            assert await redis.xlen(settings.job_stream) == 1
            # The turn waits in its conversation's inbox, typed: no raw Slack body, no token.
            inbox = JobQueue(redis, stream=settings.job_stream).inbox(
                f"slack:{redis_namespace}:U0001"
            )
            (entry,) = await redis.lrange(inbox, 0, -1)
            turn = Turn.model_validate(json.loads(entry)["payload"])
            assert turn.text == "/referral new"
            assert turn.delivery.startswith("command-")
            assert b"xoxb" not in entry
            assert b"token" not in entry  # the verification token stays out
            assert b"team_domain" not in entry
            assert fresh_slack_api.calls("chat.postMessage") == []

            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(settings, stop))  # `referral-bot worker`
            try:
                (card,) = await fresh_slack_api.wait_for_async("chat.postMessage")
            finally:
                stop.set()
                await asyncio.wait_for(worker, timeout=10)
    assert "What kind of deal is this?" in texts(card)
    assert await redis.xlen(settings.job_stream) == 0


async def say_and_settle(bot: SlackBot, text: str) -> dict[str, Any]:
    """Type ``text`` in the DM; the card the bot shows next."""
    await bot.send(bot.requests.dm_message(text))
    await bot.settled()
    return bot.slack.last_message(DM)


def asked_step(card: dict[str, Any]) -> str | None:
    """The step a question card asks (its Review button names it)."""
    return next(
        (str(e["value"]) for e in elements(card["blocks"]) if e.get("action_id") == Action.REVIEW),
        None,
    )


async def test_the_short_way_in_slack_groups_the_review_and_keeps_on_edit(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    # One line to start: customer, value, currency and closing date, said back.
    await bot.send(bot.requests.command("new Northwind 75k USD by 2027-03-31"))
    await bot.settled()
    said = " ".join(texts(call) for call in bot.slack.calls("chat.postMessage"))
    assert "From your line" in said
    assert "Northwind" in said
    await say_and_settle(bot, "partner led")
    card = await say_and_settle(bot, "500 Pine St, Portland, OR 97204, US")
    assert asked_step(card) == "customer_size"  # the whole address in one answer
    await say_and_settle(bot, "51 to 250 employees")
    card = await say_and_settle(bot, "Grace Hopper <grace@northwind.example> +1 503 555 0100")
    assert asked_step(card) == "extras"
    await say_and_settle(bot, "none")
    review = await say_and_settle(bot, "yes")
    edits = [e for e in elements(review["blocks"]) if e.get("action_id") == Action.EDIT]
    assert [e["value"] for e in edits] == [
        "the_deal",
        "the_customer",
        "the_contact",
        "needs",
        "sharing",
        "your_team",
    ]
    shown = str(review["blocks"])
    assert "500 Pine St, Portland, OR 97204, US" in shown
    assert "Grace Hopper" in shown

    # Edit the customer: its questions again, each with Keep.
    await bot.send(bot.requests.action(Action.EDIT, value="the_customer", message=review))
    await bot.settled()
    card = bot.slack.last_message(DM)
    assert asked_step(card) == "customer_name"
    keep = [e for e in elements(card["blocks"]) if e.get("action_id") == Action.KEEP]
    assert [e["value"] for e in keep] == ["customer_name"]
    await bot.send(bot.requests.action(Action.KEEP, value="customer_name", message=card))
    await bot.settled()
    card = bot.slack.last_message(DM)
    assert asked_step(card) == "address"
    card = await say_and_settle(bot, "1 Main St, Seattle, WA 98101, US")
    assert asked_step(card) == "customer_size"
    await bot.send(bot.requests.action(Action.KEEP, value="customer_size", message=card))
    await bot.settled()
    review = bot.slack.last_message(DM)
    assert "1 Main St, Seattle, WA 98101, US" in str(review["blocks"])

    await bot.send(bot.requests.action(Action.SUBMIT, message=review))
    await bot.settled()
    found = await client_for_sandbox.list(filter="customerProfile/name eq 'Northwind'").collect()
    (referral,) = found
    assert referral.details is not None
    assert (referral.details.deal_value, referral.details.currency) == (75000, "USD")
    assert referral.customer_profile is not None
    assert referral.customer_profile.address is not None
    assert referral.customer_profile.address.city == "Seattle"
    (contact,) = referral.customer_profile.team or []
    assert (contact.first_name, contact.last_name) == ("Grace", "Hopper")
    assert referral.consent is not None
    assert referral.consent.consent_to_microsoft_to_contact_specific_partners is True
