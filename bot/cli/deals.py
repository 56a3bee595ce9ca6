"""``referral-bot eligibility ...`` and ``referral-bot registrations ...``: deal registration."""

from __future__ import annotations

import functools

import typer

from bot.cli._shared import (
    IfMatch,
    InputError,
    InputFile,
    JsonFlag,
    ReferralId,
    command,
    read_model,
    reread,
    run,
    show,
)
from bot.referrals.models import DealRegistration
from cards import text

eligibility_app = typer.Typer(no_args_is_help=True, help="Check deal-registration eligibility.")
registrations_app = typer.Typer(no_args_is_help=True, help="Ask Microsoft to register a deal.")


@command(eligibility_app, "partner")
def partner_eligibility(json_output: JsonFlag = False) -> None:
    """Whether this partner may register deals at all."""
    eligibility = run(lambda client: client.partner_eligibility())
    show(eligibility, text.partner_eligibility_report, json_output)


@command(eligibility_app, "referral")
def referral_eligibility(referral_id: ReferralId, json_output: JsonFlag = False) -> None:
    """Which deal-registration policies a referral passes and fails, and what each looked at."""
    eligibility = run(lambda client: client.referral_eligibility(referral_id))
    report = functools.partial(text.eligibility_report, referral_id=referral_id)
    show(eligibility, report, json_output)


@command(registrations_app, "add")
def add_registration(
    referral_id: ReferralId,
    file: InputFile,
    if_match: IfMatch = None,
    json_output: JsonFlag = False,
) -> None:
    """Ask Microsoft to register a referral's deal, from a JSON file.

    The file holds one deal registration in the API's shape (type, contract,
    solutionDetails); it is checked before anything is sent.
    """
    registration = read_model(file, DealRegistration)
    if not registration.to_wire():
        raise InputError(f"{file}: the deal registration is empty.")
    registered = run(
        lambda client: reread(
            client, referral_id, client.register_deal(referral_id, registration, if_match=if_match)
        )
    )
    card = functools.partial(text.referral_card, heading="Registration requested")
    show(registered, card, json_output)
