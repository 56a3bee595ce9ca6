"""The identity stand-in, driven by the real msal: what the product's sign-in code will do.

msal is configured as the product will configure it: the authority
``{authority_root}/{TENANT}``, ``instance_discovery=False`` (else msal asks
login.microsoftonline.com about the authority first; the suite's network guard would stop it)
and an ``http_client`` session that trusts the stand-in's CA (see
:meth:`IdentityStandIn.requests_session` for why not ``verify=`` alone).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import msal
import pytest
import requests

from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread
from tests.conftest import NetworkAccessError
from tests.support.identity_stand_in import (
    ADA,
    BEN,
    BOT_CLIENT_ID,
    BOT_CLIENT_SECRET,
    BOT_FRAMEWORK_SCOPE,
    BOT_FRAMEWORK_TENANT,
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE_CODE_GRANT,
    NO_ROLE,
    PARTNER_CENTER_RESOURCE,
    PARTNER_CENTER_SCOPE,
    TENANT,
    IdentityStandIn,
    fresh_identity,
    identity,
)

__all__ = ["fresh_identity", "identity"]  # fixtures used below

REDIRECT_URI = "https://bot.contoso.example/auth/callback"
SCOPES = [PARTNER_CENTER_SCOPE]


@pytest.fixture
def http(fresh_identity: IdentityStandIn) -> Iterator[requests.Session]:
    """msal's transport, trusting the stand-in's CA; closed before the next test."""
    with fresh_identity.requests_session() as session:
        yield session


def web_app(
    stand_in: IdentityStandIn, http: requests.Session, secret: str = CLIENT_SECRET
) -> msal.ConfidentialClientApplication:
    """The web sign-in's msal client, as the product builds it."""
    return msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=secret,
        authority=stand_in.authority,
        instance_discovery=False,
        http_client=http,
    )


def terminal_app(stand_in: IdentityStandIn, http: requests.Session) -> msal.PublicClientApplication:
    """The terminal's msal client (device code flow, no secret)."""
    return msal.PublicClientApplication(
        CLIENT_ID, authority=stand_in.authority, instance_discovery=False, http_client=http
    )


def sign_in(
    stand_in: IdentityStandIn,
    app: msal.ConfidentialClientApplication,
    person: Any = ADA,
) -> dict[str, Any]:
    """The whole code flow: msal builds the URL, the person signs in, msal redeems the code."""
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    action, fields = stand_in.authorize_form(flow["auth_uri"], person)
    assert action == REDIRECT_URI
    result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, fields)
    return result


def status(answer: tuple[int, str] | None) -> int:
    """The status of :meth:`IdentityStandIn.check`'s answer, 200 when it lets a token pass."""
    return 200 if answer is None else answer[0]


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


# --- the authorization code flow ------------------------------------------------------------------


def test_msal_signs_a_person_in_with_the_code_flow(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)

    result = sign_in(fresh_identity, app)

    assert "error" not in result, result
    assert {"access_token", "refresh_token", "id_token", "client_info"} <= result.keys()
    assert result["scope"] == PARTNER_CENTER_SCOPE
    assert result["id_token_claims"]["oid"] == ADA.oid
    assert result["id_token_claims"]["preferred_username"] == "ada@contoso.com"
    [account] = app.get_accounts()
    assert account["username"] == ADA.username
    assert account["home_account_id"] == f"{ADA.oid}.{TENANT}"
    assert account["environment"] == "127.0.0.1"
    access = claims(result["access_token"])
    assert access["aud"] == "https://api.partner.microsoft.com"
    assert access["scp"] == "user_impersonation"
    assert (access["oid"], access["tid"], access["appid"]) == (ADA.oid, TENANT, CLIENT_ID)
    assert access["exp"] - access["iat"] == 3600
    assert fresh_identity.check(result["access_token"]) is None
    [request] = fresh_identity.token_requests()
    assert (request.grant_type, request.client_id, request.person, request.ok) == (
        "authorization_code",
        CLIENT_ID,
        ADA.oid,
        True,
    )


def test_tokens_are_signed_with_the_published_key(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    result = sign_in(fresh_identity, web_app(fresh_identity, http))
    config = http.get(f"{fresh_identity.authority}/v2.0/.well-known/openid-configuration").json()
    [jwk] = http.get(config["jwks_uri"]).json()["keys"]

    key = jwt.PyJWK(jwk)
    access = jwt.decode(
        result["access_token"], key, algorithms=["RS256"], audience=PARTNER_CENTER_RESOURCE
    )
    id_claims = jwt.decode(result["id_token"], key, algorithms=["RS256"], audience=CLIENT_ID)

    assert access["oid"] == id_claims["oid"] == ADA.oid
    assert id_claims["iss"] == config["issuer"]
    assert config["device_authorization_endpoint"].endswith(f"/{TENANT}/oauth2/v2.0/devicecode")


def test_the_query_response_mode_redirects_with_the_code(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    with pytest.warns(UserWarning, match="form_post"):  # msal nudges towards form_post
        flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)

    target = fresh_identity.authorize(flow["auth_uri"], BEN)
    response = {key: values[0] for key, values in parse_qs(urlsplit(target).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, response)

    assert target.startswith(REDIRECT_URI + "?")
    assert response["state"] == flow["state"]
    client_info = json.loads(base64.urlsafe_b64decode(response["client_info"] + "=="))
    assert client_info == {"uid": BEN.oid, "utid": TENANT}
    assert result["id_token_claims"]["oid"] == BEN.oid


def test_authorize_refuses_a_form_post_request(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")

    with pytest.raises(ValueError, match="authorize_form"):
        fresh_identity.authorize(flow["auth_uri"], ADA)


def test_the_id_token_carries_the_nonce_msal_checks(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, fields = fresh_identity.authorize_form(flow["auth_uri"], ADA)

    result = app.acquire_token_by_auth_code_flow(flow, fields)

    sent_nonce = parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]
    assert sent_nonce == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert result["id_token_claims"]["nonce"] == sent_nonce


def test_a_code_is_single_use(fresh_identity: IdentityStandIn, http: requests.Session) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, fields = fresh_identity.authorize_form(flow["auth_uri"], ADA)
    first = app.acquire_token_by_auth_code_flow(dict(flow), fields)

    again = web_app(fresh_identity, http).acquire_token_by_auth_code_flow(dict(flow), fields)

    assert "access_token" in first
    assert again["error"] == "invalid_grant"
    assert again["error_description"].startswith("AADSTS54005:")
    assert again["error_codes"] == [54005]
    assert [r.ok for r in fresh_identity.token_requests("authorization_code")] == [True, False]


def test_pkce_is_verified(fresh_identity: IdentityStandIn, http: requests.Session) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, fields = fresh_identity.authorize_form(flow["auth_uri"], ADA)

    forged = app.acquire_token_by_auth_code_flow({**flow, "code_verifier": "x" * 43}, fields)

    assert forged["error"] == "invalid_grant"
    assert "code_challenge" in forged["error_description"]


def test_the_redirect_uri_must_be_the_authorized_one(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, fields = fresh_identity.authorize_form(flow["auth_uri"], ADA)

    moved = app.acquire_token_by_auth_code_flow(
        {**flow, "redirect_uri": "https://elsewhere.example/cb"}, fields
    )

    assert moved["error"] == "invalid_grant"
    assert moved["error_codes"] == [500112]


def test_the_confidential_client_must_prove_its_secret(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    result = sign_in(fresh_identity, web_app(fresh_identity, http, secret="not-the-secret"))

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert "not-the-secret" in fresh_identity.secrets()


def test_authorize_requires_pkce_state_and_nonce(fresh_identity: IdentityStandIn) -> None:
    base = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": f"{PARTNER_CENTER_SCOPE} openid offline_access profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }
    endpoint = f"{fresh_identity.authority}/oauth2/v2.0/authorize?"

    errors = {}
    for missing in ("code_challenge", "code_challenge_method", "nonce", "state"):
        query = {key: value for key, value in base.items() if key != missing}
        target = fresh_identity.authorize(endpoint + urlencode(query), ADA)
        errors[missing] = parse_qs(urlsplit(target).query)
    plain = fresh_identity.authorize(
        endpoint + urlencode({**base, "code_challenge_method": "plain"}), ADA
    )

    assert {name: answer["error"] for name, answer in errors.items()} == {
        "code_challenge": ["invalid_request"],
        "code_challenge_method": ["invalid_request"],
        "nonce": ["invalid_request"],
        "state": ["invalid_request"],
    }
    assert errors["nonce"]["state"] == ["s1"]
    assert "code" not in parse_qs(urlsplit(plain).query)


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "00000000-0000-4000-8000-000000000000"},
        {"client_id": BOT_CLIENT_ID},
        {"redirect_uri": ""},
        {"redirect_uri": "not-a-url"},
    ],
)
def test_authorize_shows_an_error_page_instead_of_redirecting_a_bad_client(
    fresh_identity: IdentityStandIn, change: dict[str, str]
) -> None:
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
        **change,
    }
    with pytest.raises(ValueError, match="400"):
        fresh_identity.authorize(
            f"{fresh_identity.authority}/oauth2/v2.0/authorize?{urlencode(query)}", ADA
        )


# --- refresh, expiry and revocation -------------------------------------------------------------


def test_msal_refreshes_with_the_refresh_token(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    first = sign_in(fresh_identity, app)
    [account] = app.get_accounts()

    cached = app.acquire_token_silent(SCOPES, account)
    refreshed = app.acquire_token_silent(SCOPES, account, force_refresh=True)

    assert cached is not None
    assert cached["access_token"] == first["access_token"]
    assert refreshed is not None
    assert refreshed["access_token"] != first["access_token"]
    assert fresh_identity.check(refreshed["access_token"]) is None
    [refresh] = fresh_identity.token_requests("refresh_token")
    assert (refresh.person, refresh.ok) == (ADA.oid, True)
    assert PARTNER_CENTER_SCOPE in refresh.scope.split()


def test_expired_access_tokens_are_refused_until_refreshed(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    first = sign_in(fresh_identity, app)
    [account] = app.get_accounts()

    fresh_identity.expire_access_tokens()
    refreshed = app.acquire_token_silent(SCOPES, account, force_refresh=True)

    assert fresh_identity.check(first["access_token"]) == (401, "The access token has expired.")
    assert refreshed is not None
    assert fresh_identity.check(refreshed["access_token"]) is None


def test_a_short_lifetime_makes_msal_refresh_every_time(http: requests.Session) -> None:
    # msal counts a token as expired 5 minutes early, so 60 seconds is never served from cache.
    with IdentityStandIn(access_token_lifetime=60) as stand_in, stand_in.requests_session() as s:
        app = web_app(stand_in, s)
        first = sign_in(stand_in, app)
        [account] = app.get_accounts()

        again = app.acquire_token_silent(SCOPES, account)

        assert claims(first["access_token"])["exp"] - claims(first["access_token"])["iat"] == 60
        assert again is not None
        assert again["access_token"] != first["access_token"]
        assert len(stand_in.token_requests("refresh_token")) == 1


def test_revoking_a_person_stops_their_tokens_only(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    ada = sign_in(fresh_identity, app, ADA)
    ben = sign_in(fresh_identity, app, BEN)
    ada_account, ben_account = (app.get_accounts(username=p.username)[0] for p in (ADA, BEN))

    fresh_identity.revoke(ADA)
    refused = app.acquire_token_silent_with_error(SCOPES, ada_account, force_refresh=True)
    still = app.acquire_token_silent(SCOPES, ben_account, force_refresh=True)

    assert fresh_identity.check(ada["access_token"]) == (401, "The access token has been revoked.")
    assert refused is not None
    assert refused["error"] == "invalid_grant"
    assert refused["error_description"].startswith("AADSTS50173:")
    assert fresh_identity.check(ben["access_token"]) is None
    assert still is not None
    assert fresh_identity.check(still["access_token"]) is None
    again = sign_in(fresh_identity, web_app(fresh_identity, http), ADA)  # signing in again works
    assert fresh_identity.check(again["access_token"]) is None


# --- client credentials (the bot's own token) -----------------------------------------------------


@pytest.mark.parametrize("tenant", [TENANT, BOT_FRAMEWORK_TENANT])
def test_the_bot_gets_an_app_token_with_client_credentials(
    fresh_identity: IdentityStandIn, http: requests.Session, tenant: str
) -> None:
    bot = msal.ConfidentialClientApplication(
        BOT_CLIENT_ID,
        client_credential=BOT_CLIENT_SECRET,
        authority=f"{fresh_identity.authority_root}/{tenant}",
        instance_discovery=False,
        http_client=http,
    )

    result = bot.acquire_token_for_client([BOT_FRAMEWORK_SCOPE])
    cached = bot.acquire_token_for_client([BOT_FRAMEWORK_SCOPE])

    assert "refresh_token" not in result
    assert "id_token" not in result
    assert cached["access_token"] == result["access_token"]
    token = claims(result["access_token"])
    assert (token["aud"], token["appid"], token["idtyp"]) == (
        "https://api.botframework.com",
        BOT_CLIENT_ID,
        "app",
    )
    assert fresh_identity.check(result["access_token"], BOT_FRAMEWORK_SCOPE) is None
    status, reason = fresh_identity.check(result["access_token"]) or (0, "")
    assert status == 401
    assert "api.botframework.com" in reason
    [request] = fresh_identity.token_requests("client_credentials")
    assert (request.client_id, request.scope, request.person) == (
        BOT_CLIENT_ID,
        BOT_FRAMEWORK_SCOPE,
        None,
    )


def test_client_credentials_need_the_secret_and_a_default_scope(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    def bot(secret: str) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            BOT_CLIENT_ID,
            client_credential=secret,
            authority=fresh_identity.authority,
            instance_discovery=False,
            http_client=http,
        )

    wrong_secret = bot("guess").acquire_token_for_client([BOT_FRAMEWORK_SCOPE])
    wrong_scope = bot(BOT_CLIENT_SECRET).acquire_token_for_client([PARTNER_CENTER_SCOPE])
    unknown = bot(BOT_CLIENT_SECRET).acquire_token_for_client(["https://unknown.example/.default"])

    assert wrong_secret["error"] == "invalid_client"
    assert wrong_scope["error"] == "invalid_scope"
    assert unknown["error_codes"] == [500011]
    assert [r.ok for r in fresh_identity.token_requests()] == [False, False, False]


# --- the device code flow (the terminal) ----------------------------------------------------------


def test_msal_signs_in_with_the_device_code_flow(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = terminal_app(fresh_identity, http)
    flow = app.initiate_device_flow(SCOPES)

    pending = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    fresh_identity.approve_device_code(flow["user_code"], BEN)
    started = time.monotonic()
    result = app.acquire_token_by_device_flow(flow)

    assert flow["user_code"] in flow["message"]
    assert flow["interval"] == 1
    assert pending["error"] == "authorization_pending"
    assert time.monotonic() - started < 3
    assert "error" not in result, result
    assert {"access_token", "refresh_token", "id_token", "client_info"} <= result.keys()
    [account] = app.get_accounts()
    assert (account["username"], account["local_account_id"]) == (BEN.username, BEN.oid)
    assert fresh_identity.check(result["access_token"]) is None
    assert [(r.ok, r.error) for r in fresh_identity.token_requests(DEVICE_CODE_GRANT)] == [
        (False, "authorization_pending"),
        (True, None),
    ]


def test_a_device_sign_in_refreshes_without_a_secret(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = terminal_app(fresh_identity, http)
    flow = app.initiate_device_flow(SCOPES)
    fresh_identity.approve_device_code(flow["user_code"], ADA)
    app.acquire_token_by_device_flow(flow)

    refreshed = app.acquire_token_silent(SCOPES, app.get_accounts()[0], force_refresh=True)

    assert refreshed is not None
    assert fresh_identity.check(refreshed["access_token"]) is None


def test_a_device_code_works_once_and_unknown_user_codes_are_refused(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = terminal_app(fresh_identity, http)
    flow = app.initiate_device_flow(SCOPES)
    fresh_identity.approve_device_code(flow["user_code"].lower(), ADA)
    app.acquire_token_by_device_flow(flow)

    again = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)

    assert again["error"] == "invalid_grant"
    with pytest.raises(LookupError):
        fresh_identity.approve_device_code("NOSUCHCODE", ADA)


def test_the_bot_registration_has_no_device_code_flow(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = msal.PublicClientApplication(
        BOT_CLIENT_ID,
        authority=fresh_identity.authority,
        instance_discovery=False,
        http_client=http,
    )

    flow = app.initiate_device_flow(SCOPES)

    assert flow["error"] == "unauthorized_client"
    assert "user_code" not in flow


# --- check, secrets, reset ------------------------------------------------------------------------


def test_check_answers_as_partner_center_would(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    nora = sign_in(fresh_identity, app, NO_ROLE)

    assert fresh_identity.check(nora["access_token"]) == (
        403,
        "nora@contoso.com has no Partner Center role that allows referrals.",
    )
    assert status(fresh_identity.check("not-a-token")) == 401
    assert status(fresh_identity.check(nora["id_token"])) == 401
    forged = jwt.encode(claims(nora["access_token"]), "someone-else's-key" * 2, algorithm="HS256")
    assert status(fresh_identity.check(forged)) == 401
    other_scope = "https://api.partner.microsoft.com/other_scope"
    assert status(fresh_identity.check(nora["access_token"], other_scope)) == 401


def test_secrets_lists_everything_issued_or_received(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    _, fields = fresh_identity.authorize_form(flow["auth_uri"], ADA)
    result = app.acquire_token_by_auth_code_flow(dict(flow), fields)
    refreshed = app.acquire_token_silent(SCOPES, app.get_accounts()[0], force_refresh=True)
    device = terminal_app(fresh_identity, http).initiate_device_flow(SCOPES)
    assert refreshed is not None

    found = fresh_identity.secrets()

    assert {
        CLIENT_SECRET,
        BOT_CLIENT_SECRET,
        fields["code"],
        flow["code_verifier"],
        result["access_token"],
        result["refresh_token"],
        result["id_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        device["device_code"],
    } <= found
    assert flow["state"] not in found
    assert device["user_code"] not in found


def test_reset_forgets_tokens_but_keeps_the_ca(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    result = sign_in(fresh_identity, web_app(fresh_identity, http))

    fresh_identity.reset()

    assert fresh_identity.token_requests() == []
    assert status(fresh_identity.check(result["access_token"])) == 401
    assert result["access_token"] not in fresh_identity.secrets()
    assert sign_in(fresh_identity, web_app(fresh_identity, http))["access_token"]


# --- transport: TLS, discovery and the network guard ---------------------------------------------


def test_the_server_speaks_https_with_the_throw_away_ca(fresh_identity: IdentityStandIn) -> None:
    url = f"{fresh_identity.authority}/v2.0/.well-known/openid-configuration"

    with httpx.Client(verify=fresh_identity.ssl_context()) as trusting:
        config = trusting.get(url).json()
    with httpx.Client() as default, pytest.raises(httpx.ConnectError, match="CERTIFICATE"):
        default.get(url)

    assert fresh_identity.authority_root.startswith("https://127.0.0.1:")
    assert config["issuer"] == f"{fresh_identity.authority_root}/{TENANT}/v2.0"
    assert fresh_identity.ca_bundle.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_msal_verify_works_once_the_environment_names_no_ca_bundle(
    fresh_identity: IdentityStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests prefers REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE over a session's verify, and msal's
    # verify= is only that: with either variable set (CI images do) it is silently ignored.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=CLIENT_SECRET,
        authority=fresh_identity.authority,
        instance_discovery=False,
        verify=str(fresh_identity.ca_bundle),
    )
    try:
        assert "access_token" in sign_in(fresh_identity, app)
    finally:
        app.http_client.close()


def test_msal_verify_loses_to_requests_ca_bundle_in_the_environment(
    fresh_identity: IdentityStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())

    with pytest.raises(requests.exceptions.SSLError):
        msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=fresh_identity.authority,
            instance_discovery=False,
            verify=str(fresh_identity.ca_bundle),
        )


def test_without_instance_discovery_false_msal_would_leave_the_machine(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    with pytest.raises(NetworkAccessError, match=r"login\.microsoftonline\.com"):
        msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=fresh_identity.authority,
            http_client=http,
        )


def test_an_unknown_tenant_fails_discovery(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{fresh_identity.authority_root}/contoso.onmicrosoft.com",
            instance_discovery=False,
            http_client=http,
        )


# --- with the Partner Center sandbox --------------------------------------------------------------


def test_the_sandbox_honours_the_stand_ins_tokens(
    fresh_identity: IdentityStandIn, http: requests.Session
) -> None:
    app = web_app(fresh_identity, http)
    ada = sign_in(fresh_identity, app, ADA)["access_token"]
    nora = sign_in(fresh_identity, app, NO_ROLE)["access_token"]
    state = SandboxState(token_check=fresh_identity.check)

    with run_sandbox_in_thread(create_sandbox_app(state)) as base_url, httpx.Client() as client:
        path = f"{base_url}/engagements/referrals"

        def status(token: str) -> int:
            return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code

        allowed, denied = status(ada), status(nora)
        fresh_identity.revoke(ADA)
        revoked = status(ada)

    assert (allowed, denied, revoked) == (200, 403, 401)
