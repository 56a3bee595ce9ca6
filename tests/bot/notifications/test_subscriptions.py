"""What a channel hears about: the subscribe command's words, and the filters they make."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.conversation.chat.commands import SubscribeCommand, Usage, parse_message
from bot.notifications.changes import Before, ReferralChange
from bot.notifications.subscriptions import Filters

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def change(status: str, substatus: str, **more: object) -> ReferralChange:
    return ReferralChange(
        referral_id="r",
        updated=T0,
        status=status,
        substatus=substatus,
        before=Before(status="Active", substatus="Accepted"),
        **more,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("typed", "events", "minimum", "mine"),
    [
        ("/referral subscribe", (), None, False),
        ("/referral subscribe won", ("won",), None, False),
        ("/referral subscribe LOST won lost", ("lost", "won"), None, False),
        (
            "/referral subscribe all",
            ("new", "accepted", "won", "lost", "declined", "expired"),
            None,
            False,
        ),
        ("/referral subscribe won min=50k mine", ("won",), 50_000, True),
        ("/referral subscribe min=1.5m", (), 1_500_000, False),
        ("/referral subscribe wins losses", ("won", "lost"), None, False),
        ("/referral subscribe min=75,000", (), 75_000, False),
    ],
)
def test_the_words_of_subscribe(
    typed: str, events: tuple[str, ...], minimum: float | None, mine: bool
) -> None:
    assert parse_message(typed) == SubscribeCommand("subscribe", events, minimum, mine)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("/referral subscribe wonn", "Did you mean won?"),
        ("/referral subscribe everything", "I don't know 'everything' here."),
        ("/referral subscribe min=lots", "min= takes an amount"),
        ("/referral subscribe min=-5", "min= takes an amount"),
        ("/referral unsubscribe all", "nothing after it"),
    ],
)
def test_wrong_words_say_what_is_wrong(typed: str, said: str) -> None:
    parsed = parse_message(typed)
    assert isinstance(parsed, Usage)
    assert said in parsed.message


def test_no_event_word_means_won_and_lost() -> None:
    filters = Filters()
    assert filters.wants(change("Closed", "Won"))
    assert filters.wants(change("Closed", "Lost"))
    assert not filters.wants(change("Closed", "Declined"))
    assert not filters.wants(change("Active", "Engaged"))  # no event at all


def test_min_counts_the_deal_value() -> None:
    filters = Filters(min_value=100_000)
    assert filters.wants(change("Closed", "Won", value=100_000))
    assert not filters.wants(change("Closed", "Won", value=99_999))
    assert not filters.wants(change("Closed", "Won"))  # no value: not big enough


def test_mine_needs_the_subscriber_on_the_team() -> None:
    filters = Filters(mine="ada@contoso.com")
    assert filters.wants(change("Closed", "Won", team_emails=("ada@contoso.com",)))
    assert not filters.wants(change("Closed", "Won", team_emails=("ben@contoso.com",)))


def test_filters_are_described_in_the_words_that_set_them() -> None:
    described = Filters(events=("won",), min_value=50_000, mine="ada@contoso.com").describe()
    assert described == "won, min=50000, mine (ada@contoso.com)"
