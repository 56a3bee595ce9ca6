"""``referral-bot`` end to end: the real CLI against the real sandbox over loopback HTTP.

Every test drives the typer app with ``CliRunner`` (or the installed console script) and
checks what an operator sees, the exit status, and what the sandbox received and holds.
Every exit-2 case also checks, through the sandbox's request log, that nothing was sent.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.sandbox import SandboxServer, SandboxState, create_sandbox_app
from bot.settings import Settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"
TOKEN = "test-token"  # the test sandbox accepts only this token
PAGE_SIZE = 2
REFERRAL_SCRIPT = Path(sys.executable).with_name("referral-bot")

# Seeded by the sandbox (see bot/partner_center/sandbox/demo_data.py).
NEW_LEAD = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"  # New/Pending, not eligible
WON = "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"  # Closed/Won
ELIGIBLE = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # the partner's co-sell, eligible
SEEDED = 6


@dataclass
class Sandbox:
    """The sandbox under test: its API root, an admin client and an API client."""

    base_url: str
    admin: httpx.Client
    api: httpx.Client

    def requests(self) -> list[dict[str, Any]]:
        """The API requests the sandbox received since the test began."""
        response = self.admin.get("/sandbox/requests")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["requests"]
        return entries

    def referral(self, referral_id: str) -> dict[str, Any]:
        """A referral as the sandbox holds it now."""
        response = self.api.get(f"engagements/referrals/{referral_id}")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document


Invoke = Callable[..., Result]


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    state = SandboxState(page_size=PAGE_SIZE, required_token=TOKEN)
    with SandboxServer(create_sandbox_app(state)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    with (
        httpx.Client(base_url=sandbox_server.origin, trust_env=False) as admin,
        httpx.Client(
            base_url=sandbox_server.base_url + "/",
            headers={"Authorization": f"Bearer {TOKEN}"},
            trust_env=False,
        ) as api,
    ):
        admin.post("/sandbox/reset").raise_for_status()
        admin.delete("/sandbox/requests").raise_for_status()
        yield Sandbox(sandbox_server.base_url, admin, api)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env and an environment without any setting."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return tmp_path


@pytest.fixture
def cli(sandbox: Sandbox, isolated: Path) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
        environment: dict[str, str | None] = {
            "PARTNER_CENTER_BASE_URL": sandbox.base_url,
            "PARTNER_CENTER_TOKEN": TOKEN,
            "COLUMNS": "200",
            **(env or {}),
        }
        return runner.invoke(app, list(args), env=environment, catch_exceptions=False)

    return invoke


def write_json(directory: Path, name: str, content: Any) -> str:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def assert_refused_before_sending(result: Result, sandbox: Sandbox, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.requests() == []


# -- referrals get --------------------------------------------------------------------------


def test_get_shows_the_referral_card(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "get", ELIGIBLE)

    assert result.exit_code == 0, result.output
    [request] = sandbox.requests()
    assert (request["method"], request["status"]) == ("GET", 200)
    assert request["path"].endswith(f"/engagements/referrals/{ELIGIBLE}")
    assert "Northwind Traders - Contoso Experience Platform" in result.stdout
    assert ELIGIBLE in result.stdout
    assert sandbox.referral(ELIGIBLE)["eTag"] in result.stdout
    assert "Active/Accepted" in result.stdout
    assert "30,000 USD" in result.stdout
    assert "DEAL-123456-XYZ" in result.stdout
    assert "Raj Patel" in result.stdout
    assert result.stderr == ""


def test_get_json_is_the_wire_document(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "get", ELIGIBLE, "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    held = sandbox.referral(ELIGIBLE)
    assert document["id"] == ELIGIBLE
    assert document["eTag"] == held["eTag"]
    assert document["customerProfile"]["name"] == held["customerProfile"]["name"]
    assert document["details"]["dealValue"] == held["details"]["dealValue"]


def test_get_unknown_id_exits_1_with_the_api_code_and_request_id(
    cli: Invoke, sandbox: Sandbox
) -> None:
    result = cli("referrals", "get", "no-such-referral", "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    [request] = sandbox.requests()
    assert request["status"] == 404
    assert "itemNotFound" in result.stderr
    assert f"request id {request['requestId']}" in result.stderr
    assert "Traceback" not in result.stderr


# -- referrals list -------------------------------------------------------------------------


def test_list_follows_every_page(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "list")

    assert result.exit_code == 0, result.output
    for referral_id in (NEW_LEAD, WON, ELIGIBLE):
        assert referral_id in result.stdout
    assert "Woodgrove Bank - secure collaboration" in result.stdout
    assert "Closed/Won" in result.stdout
    assert f"{SEEDED} referrals" in result.stdout
    pages = sandbox.requests()
    assert len(pages) == SEEDED // PAGE_SIZE
    assert all("skiptoken" in page["query"] for page in pages[1:])


def test_list_json_is_an_array_capped_by_top(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "list", "--top", "3", "--json")

    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert isinstance(documents, list)
    assert len(documents) == 3
    assert documents[0]["id"] == NEW_LEAD
    assert len(sandbox.requests()) == 2  # pages of two: 2 + 1


def test_list_filters_and_orders(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli(
        "referrals",
        "list",
        "--filter",
        "status eq 'Active'",
        "--orderby",
        "createdDateTime desc",
        "--json",
    )

    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert documents
    assert {document["status"] for document in documents} == {"Active"}
    created = [document["createdDateTime"] for document in documents]
    assert created == sorted(created, reverse=True)
    assert "status eq 'Active'" in httpx.QueryParams(sandbox.requests()[0]["query"])["$filter"]


def test_list_with_top_zero_is_a_usage_error(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "list", "--top", "0")

    assert result.exit_code == 2
    assert sandbox.requests() == []


# -- referrals create -----------------------------------------------------------------------


def test_create_sends_the_file_and_shows_the_new_referral(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    file = write_json(isolated, "referral.json", fixture("create_private_referral_request.json"))

    result = cli("referrals", "create", "--file", file)

    assert result.exit_code == 0, result.output
    assert "Created: Contoso Test Deal - [Private]" in result.stdout
    assert "50,000 USD" in result.stdout
    [request] = sandbox.requests()
    assert (request["method"], request["status"]) in {("POST", 200), ("POST", 201)}


def test_create_json_returns_the_stored_referral(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    file = write_json(
        isolated, "referral.json", fixture("create_partner_led_referral_request.json")
    )

    result = cli("referrals", "create", "-f", file, "--json")

    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    held = sandbox.referral(created["id"])
    assert held["name"] == created["name"] == "Contoso Test Deal - [PartnerLed]"
    assert held["engagementId"] == created["engagementId"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('{"name": "x",', "is not valid JSON", id="bad-json"),
        pytest.param("[1, 2]", "must hold a JSON object", id="not-an-object"),
        pytest.param(
            {"name": "x", "details": {"dealValue": "lots"}},
            "details/dealValue",
            id="model-validation",
        ),
    ],
)
def test_create_refuses_a_bad_file_before_sending(
    cli: Invoke, sandbox: Sandbox, isolated: Path, content: Any, expected: str
) -> None:
    file = write_json(isolated, "referral.json", content)

    result = cli("referrals", "create", "--file", file)

    assert_refused_before_sending(result, sandbox, expected, "referral.json")


def test_create_names_the_missing_required_fields(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    referral = fixture("create_private_referral_request.json")
    del referral["consent"]
    del referral["customerProfile"]["address"]["country"]
    file = write_json(isolated, "referral.json", referral)

    result = cli("referrals", "create", "--file", file, "--json")

    assert_refused_before_sending(result, sandbox, "consent", "customerProfile/address/country")


def test_create_with_a_missing_file_is_a_usage_error(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "create", "--file", "nowhere.json")

    assert result.exit_code == 2
    assert sandbox.requests() == []


# -- referrals update -----------------------------------------------------------------------


def test_update_coerces_text_values_and_adds_json(cli: Invoke, sandbox: Sandbox) -> None:
    member = {"firstName": "Ada", "lastName": "Lee", "email": "ada@contoso.com"}

    result = cli(
        "referrals",
        "update",
        NEW_LEAD,
        "--set",
        "details/dealValue=25000",
        "--set",
        "/details/closingDateTime=2026-12-01",
        "--set",
        "consent/consentToContact=true",
        "--add",
        f"/team/-={json.dumps(member)}",
    )

    assert result.exit_code == 0, result.output
    assert "Updated: Fabrikam - Microsoft 365 training" in result.stdout
    assert "25,000 USD" in result.stdout
    assert "Ada Lee" in result.stdout
    held = sandbox.referral(NEW_LEAD)
    assert held["details"]["dealValue"] == 25000
    assert held["details"]["closingDateTime"].startswith("2026-12-01T00:00:00")
    assert held["consent"]["consentToContact"] is True
    assert held["team"][-1]["email"] == "ada@contoso.com"
    patch = next(r for r in sandbox.requests() if r["method"] == "PATCH")
    assert patch["status"] == 200


def test_update_with_if_match_applies_to_that_version_only(cli: Invoke, sandbox: Sandbox) -> None:
    etag = sandbox.referral(NEW_LEAD)["eTag"]

    first = cli(
        "referrals", "update", NEW_LEAD, "--set", "name=Renamed", "--if-match", etag, "--json"
    )
    second = cli("referrals", "update", NEW_LEAD, "--set", "name=Again", "--if-match", etag)

    assert first.exit_code == 0, first.output
    updated = json.loads(first.stdout)
    assert updated["name"] == "Renamed"
    assert updated["eTag"] != etag
    assert second.exit_code == 1
    assert "HTTP 412" in second.stderr
    assert "request id" in second.stderr
    assert sandbox.referral(NEW_LEAD)["name"] == "Renamed"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(
            ["--set", "details/dealValu=10"],
            ["/details/dealValu", "Did you mean /details/dealValue"],
            id="unknown-path",
        ),
        pytest.param(
            ["--set", "details/dealValue=lots"], ["/details/dealValue"], id="not-a-number"
        ),
        pytest.param(
            ["--set", "details/dealValue=-5"], ["/details/dealValue", "greater than 0"], id="<=0"
        ),
        pytest.param(
            ["--set", "consent/consentToContact=maybe"],
            ["/consent/consentToContact"],
            id="not-a-boolean",
        ),
        pytest.param(
            ["--add", "team/-={firstName: Ada}"], ["--add /team/-", "not JSON"], id="bad-json"
        ),
        pytest.param(
            ["--add", 'team/-={"firstName": "Ada"}'], ["/team/-", "lastName, email"], id="member"
        ),
        pytest.param(["--set", "dealValue"], ["expected PATH=VALUE"], id="no-equals"),
        pytest.param([], ["at least one --set"], id="no-changes"),
    ],
)
def test_update_refuses_bad_changes_before_sending(
    cli: Invoke, sandbox: Sandbox, options: list[str], expected: list[str]
) -> None:
    result = cli("referrals", "update", NEW_LEAD, *options, "--json")

    assert_refused_before_sending(result, sandbox, *expected)


# -- referrals close ------------------------------------------------------------------------


def test_close_reads_checks_and_closes(cli: Invoke, sandbox: Sandbox) -> None:
    etag = sandbox.referral(ELIGIBLE)["eTag"]
    sandbox.admin.delete("/sandbox/requests").raise_for_status()

    result = cli("referrals", "close", ELIGIBLE, "WON", "--reason", "Signed on Friday")

    assert result.exit_code == 0, result.output
    assert "Closed: Northwind Traders" in result.stdout
    assert "Closed/Won" in result.stdout
    held = sandbox.referral(ELIGIBLE)
    assert (held["status"], held["substatus"]) == ("Closed", "Won")
    assert held["statusReason"] == "Signed on Friday"
    read, patch = sandbox.requests()[:2]
    assert (read["method"], patch["method"]) == ("GET", "PATCH")
    assert patch["headers"]["if-match"] == etag  # bound to the version read


def test_closing_a_closed_referral_exits_1_after_reading_it(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("referrals", "close", WON, "lost", "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "already closed as Won" in result.stderr
    assert [request["method"] for request in sandbox.requests()] == ["GET"]
    assert sandbox.referral(WON)["substatus"] == "Won"


def test_close_with_an_unknown_outcome_is_refused_before_sending(
    cli: Invoke, sandbox: Sandbox
) -> None:
    result = cli("referrals", "close", NEW_LEAD, "postponed")

    assert result.exit_code == 2
    assert "won" in result.stderr
    assert "declined" in result.stderr
    assert sandbox.requests() == []


# -- eligibility and registrations ----------------------------------------------------------


def test_partner_eligibility(cli: Invoke, sandbox: Sandbox) -> None:
    shown = cli("eligibility", "partner")
    as_json = cli("eligibility", "partner", "--json")

    assert shown.exit_code == 0, shown.output
    assert "✓ This partner may register deals." in shown.stdout
    assert json.loads(as_json.stdout)["isEligible"] is True
    assert len(sandbox.requests()) == 2


def test_referral_eligibility_shows_each_policy_and_what_it_looked_at(
    cli: Invoke, sandbox: Sandbox
) -> None:
    eligible = cli("eligibility", "referral", ELIGIBLE)
    not_eligible = cli("eligibility", "referral", NEW_LEAD)

    assert eligible.exit_code == 0, eligible.output
    assert f"✓ Referral {ELIGIBLE} is eligible" in eligible.stdout
    assert "The deal is worth more than USD 25,000." in eligible.stdout
    assert "dealValue=30000" in eligible.stdout
    assert not_eligible.exit_code == 0, not_eligible.output
    assert f"✗ Referral {NEW_LEAD} is not eligible" in not_eligible.stdout
    lines = not_eligible.stdout.splitlines()
    failed = next(line for line in lines if "The deal is private" in line)
    assert "✗" in failed
    assert "type=Independent" in failed
    assert "Share it with Microsoft sellers" in not_eligible.stdout  # what would fix it


def test_referral_eligibility_json(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("eligibility", "referral", NEW_LEAD, "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["isEligible"] is False
    assert {policy["policyName"] for policy in report["failedPolicies"]} >= {
        "isDealTypeCosellOrPartnerLed"
    }


def registration() -> dict[str, Any]:
    value: dict[str, Any] = fixture("register_deal_patch.json")[0]["value"]
    return value


def test_registration_add_sends_it_and_shows_it(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    file = write_json(isolated, "registration.json", registration())

    result = cli("registrations", "add", ELIGIBLE, "--file", file)

    assert result.exit_code == 0, result.output
    assert "Registration requested: Northwind Traders" in result.stdout
    assert "AzureIPCoSell" in result.stdout
    assert "250,000 USD" in result.stdout
    [held] = sandbox.referral(ELIGIBLE)["registrations"]
    assert held["type"] == "AzureIPCoSell"
    assert held["contract"]["value"] == 250000


def test_registration_add_json_is_the_updated_referral(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    file = write_json(isolated, "registration.json", registration())

    result = cli("registrations", "add", ELIGIBLE, "--file", file, "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["id"] == ELIGIBLE
    assert document["registrations"][0]["contract"]["currency"] == "USD"
    assert document["eTag"] == sandbox.referral(ELIGIBLE)["eTag"]


def test_registration_refused_by_the_api_exits_1(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    file = write_json(isolated, "registration.json", registration())

    result = cli("registrations", "add", NEW_LEAD, "--file", file, "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "not eligible" in result.stderr
    assert "code invalidRequest" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('{"type": ', "is not valid JSON", id="bad-json"),
        pytest.param('"AzureIPCoSell"', "must hold a JSON object", id="not-an-object"),
        pytest.param({"contract": {"value": "lots"}}, "contract/value", id="model-validation"),
        pytest.param({}, "empty", id="empty"),
    ],
)
def test_registration_refuses_a_bad_file_before_sending(
    cli: Invoke, sandbox: Sandbox, isolated: Path, content: Any, expected: str
) -> None:
    file = write_json(isolated, "registration.json", content)

    result = cli("registrations", "add", ELIGIBLE, "--file", file)

    assert_refused_before_sending(result, sandbox, expected)


# -- configuration and failures -------------------------------------------------------------


def test_missing_token_with_a_real_base_url_names_the_variable(
    cli: Invoke, sandbox: Sandbox
) -> None:
    result = cli("referrals", "get", NEW_LEAD, env={"PARTNER_CENTER_TOKEN": None})

    assert_refused_before_sending(result, sandbox, "PARTNER_CENTER_TOKEN")


def test_malformed_base_url_names_the_variable(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli("eligibility", "partner", env={"PARTNER_CENTER_BASE_URL": "api.example"})

    assert_refused_before_sending(result, sandbox, "PARTNER_CENTER_BASE_URL")


def test_dotenv_in_the_working_directory_is_read(
    cli: Invoke, sandbox: Sandbox, isolated: Path
) -> None:
    (isolated / ".env").write_text(f"PARTNER_CENTER_TOKEN={TOKEN}\n", "utf-8")

    result = cli("referrals", "get", NEW_LEAD, "--json", env={"PARTNER_CENTER_TOKEN": None})

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == NEW_LEAD


def test_base_url_sandbox_runs_the_built_in_one(cli: Invoke, sandbox: Sandbox) -> None:
    result = cli(
        "referrals",
        "list",
        "--json",
        env={"PARTNER_CENTER_BASE_URL": "sandbox", "PARTNER_CENTER_TOKEN": None},
    )

    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == SEEDED
    assert sandbox.requests() == []  # not the test's sandbox: one of its own


def test_an_unexpected_failure_is_one_line_and_exit_1(
    cli: Invoke,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(self: PartnerCenterClient, referral_id: str) -> None:
        raise RuntimeError("the flux capacitor\nsecond line")

    monkeypatch.setattr(PartnerCenterClient, "get", broken)
    caplog.set_level(logging.DEBUG, logger="bot.cli")

    result = cli("referrals", "get", NEW_LEAD)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Unexpected RuntimeError: the flux capacitor (--verbose shows more)\n"
    )
    [logged] = [record for record in caplog.records if record.exc_info]
    assert logged.levelno == logging.DEBUG  # the traceback, for --verbose or LOG_LEVEL=DEBUG


def test_help_reads_as_a_list_of_commands(cli: Invoke) -> None:
    top = cli("--help")
    referrals = cli("referrals", "--help")
    update = cli("referrals", "update", "--help")

    assert top.exit_code == referrals.exit_code == update.exit_code == 0
    for command in ("referrals", "eligibility", "registrations", "sandbox"):
        assert command in top.stdout
    assert "Exit status" in top.stdout
    for command in ("get", "list", "create", "update", "close"):
        assert command in referrals.stdout
    assert "PATH=VALUE" in update.stdout
    assert "--if-match" in update.stdout


# -- the installed console script -----------------------------------------------------------


def script_env(**settings: str) -> dict[str, str]:
    """Only what a process needs: nothing from a developer's own settings leaks in."""
    return {"PATH": os.environ.get("PATH", ""), "COLUMNS": "200", **settings}


def run_script(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REFERRAL_SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=script_env(**settings),
        timeout=30,
        check=False,
    )


def test_console_script_exit_statuses_and_json(sandbox: Sandbox, isolated: Path) -> None:
    settings = {"PARTNER_CENTER_BASE_URL": sandbox.base_url, "PARTNER_CENTER_TOKEN": TOKEN}

    found = run_script("referrals", "get", WON, "--json", cwd=isolated, **settings)
    missing = run_script("referrals", "get", "nope", cwd=isolated, **settings)
    sent = len(sandbox.requests())
    refused = run_script("referrals", "update", WON, "--set", "bogus=1", cwd=isolated, **settings)

    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["substatus"] == "Won"
    assert missing.returncode == 1
    assert "itemNotFound" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert refused.returncode == 2
    assert "/bogus" in refused.stderr
    assert len(sandbox.requests()) == sent


def test_console_script_verbose_logs_debug_detail(sandbox: Sandbox, isolated: Path) -> None:
    settings = {"PARTNER_CENTER_BASE_URL": sandbox.base_url, "PARTNER_CENTER_TOKEN": TOKEN}

    result = run_script("--verbose", "referrals", "get", WON, "--json", cwd=isolated, **settings)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == WON
    assert "DEBUG" in result.stderr
    assert "request-id" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_sandbox_command_serves_until_terminated(isolated: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(REFERRAL_SCRIPT), "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=isolated,
        env=script_env(),
    )
    try:
        assert process.stdout is not None
        announced = [process.stdout.readline() for _ in range(3)]
        base_url = f"http://127.0.0.1:{port}/v1.0"
        assert base_url in announced[0]
        assert (
            f"export PARTNER_CENTER_BASE_URL={base_url} PARTNER_CENTER_TOKEN=sandbox"
            in announced[2]
        )
        response = httpx.get(
            f"{base_url}/engagements/referrals",
            headers={"Authorization": "Bearer sandbox"},
            trust_env=False,
        )
        assert response.status_code == 200
        assert len(response.json()["value"]) == SEEDED
        process.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop
        _, errors = process.communicate(timeout=15)
        assert process.returncode == 0
        assert errors == "Sandbox stopped.\n"
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=15)


def test_sandbox_command_json_on_any_free_port(isolated: Path) -> None:
    process = subprocess.Popen(
        [str(REFERRAL_SCRIPT), "sandbox", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=isolated,
        env=script_env(),
    )
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        base_url = announced["baseUrl"]
        assert base_url.startswith("http://127.0.0.1:")
        assert announced["environment"] == {
            "PARTNER_CENTER_BASE_URL": base_url,
            "PARTNER_CENTER_TOKEN": "sandbox",
        }
        response = httpx.get(
            f"{base_url}/engagements/partners/dealregistrationeligibility",
            headers={"Authorization": "Bearer sandbox"},
            trust_env=False,
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=15)
