"""The Teams stand-in: Bot Framework's keys checked with PyJWT, the token endpoint and the
Bot Connector over real HTTP, the activity builders, and a real Teams SDK app validating
inbound tokens against the stand-in and answering through it."""

from __future__ import annotations

import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.teams_stand_in import (
    APP_ID,
    APP_PASSWORD,
    BOT_FRAMEWORK_ISSUER,
    BOT_ID,
    CREATE_CONVERSATION,
    DEFAULT_TEAM,
    DELETE,
    GET_MEMBER,
    GET_MEMBERS,
    JWKS,
    MANAGER,
    MESSAGE_SIZE_MAX,
    REPLY,
    SELLER,
    SEND,
    TENANT_ID,
    TOKEN,
    UPDATE,
    TeamsActivities,
    TeamsStandIn,
    card_of,
    fresh_teams_api,
    personal_conversation_id,
    teams_activities,
    teams_api,
    thread_conversation_id,
)

__all__ = ["fresh_teams_api", "teams_activities", "teams_api"]  # the fixtures used below

SDK_LEEWAY = 300  # what the Teams SDK allows for clock skew
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Which kind of referral?"}],
    "actions": [{"type": "Action.Execute", "title": "Co-sell", "verb": "rb_kind", "data": {}}],
}
SELLER_CHAT = personal_conversation_id(SELLER)
APPROVALS = DEFAULT_TEAM.channel("Deal Approvals")


@pytest.fixture
def api(fresh_teams_api: TeamsStandIn) -> TeamsStandIn:
    return fresh_teams_api


@pytest.fixture
def activities(api: TeamsStandIn) -> TeamsActivities:
    return TeamsActivities(api)


@pytest.fixture
def connector(api: TeamsStandIn) -> Iterator[httpx.Client]:
    """A client of the connector holding a token from the stand-in's token endpoint."""
    token = api.issue_token()
    with httpx.Client(
        base_url=api.service_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def decode(api: TeamsStandIn, token: str) -> dict[str, Any]:
    """Validate ``token`` as the Teams SDK does, keys fetched from the stand-in's JWKS."""
    key = jwt.PyJWKClient(api.jwks_url).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=[APP_ID, f"api://{APP_ID}", f"api://botid-{APP_ID}"],
        issuer=[BOT_FRAMEWORK_ISSUER],
        leeway=SDK_LEEWAY,
    )
    return claims


# Bot Framework's keys and the tokens it signs --------------------------------------------------


def test_openid_metadata_points_at_the_published_keys(api: TeamsStandIn) -> None:
    metadata = httpx.get(api.openid_metadata_url).json()
    assert metadata["issuer"] == BOT_FRAMEWORK_ISSUER
    assert metadata["jwks_uri"] == api.jwks_url
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]

    keys = httpx.get(metadata["jwks_uri"]).json()["keys"]
    assert [key["kty"] for key in keys] == ["RSA"]
    key = keys[0]
    assert key["use"] == "sig"
    assert key["kid"] == key["x5t"]
    assert key["e"] == "AQAB"
    assert key["x5c"]
    assert "msteams" in key["endorsements"]
    assert [call.operation for call in api.calls()] == ["openid_configuration", JWKS]


def test_minted_tokens_verify_against_the_jwks(api: TeamsStandIn) -> None:
    claims = decode(api, api.mint())
    assert claims["iss"] == BOT_FRAMEWORK_ISSUER
    assert claims["aud"] == APP_ID
    assert claims["serviceurl"] == api.service_url
    assert claims["nbf"] <= claims["exp"]


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        ({"expired": True}, jwt.ExpiredSignatureError),
        ({"not_yet_valid": True}, jwt.ImmatureSignatureError),
        ({"audience": "someone-else"}, jwt.InvalidAudienceError),
        ({"issuer": "https://login.botframework.example"}, jwt.InvalidIssuerError),
        ({"wrong_key": True}, jwt.InvalidSignatureError),
        ({"kid": "not-published"}, jwt.PyJWKClientError),
        ({"algorithm": "HS256"}, jwt.InvalidTokenError),
    ],
)
def test_token_knobs_make_tokens_that_fail(
    api: TeamsStandIn, knobs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        decode(api, api.mint(**knobs))


def test_service_url_claim_can_be_changed_or_left_out(api: TeamsStandIn) -> None:
    assert decode(api, api.mint(service_url="https://smba.example/emea/"))["serviceurl"] == (
        "https://smba.example/emea/"
    )
    assert "serviceurl" not in decode(api, api.mint(omit_service_url=True))


def test_a_rotated_key_is_published_beside_the_old_one(teams_api: TeamsStandIn) -> None:
    before = teams_api.mint()
    kid = teams_api.rotate_key()
    kids = [key["kid"] for key in httpx.get(teams_api.jwks_url).json()["keys"]]
    assert kids[0] == kid
    assert len(kids) >= 2
    assert jwt.get_unverified_header(teams_api.mint())["kid"] == kid
    decode(teams_api, before)  # still verifies: the old key stays published


# The bot's own token ---------------------------------------------------------------------------


def test_client_credentials_get_a_bearer_token(api: TeamsStandIn) -> None:
    response = httpx.post(
        api.token_url(),
        data={
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_PASSWORD,
            "scope": "https://api.botframework.com/.default",
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://api.botframework.com"
    assert claims["appid"] == APP_ID
    assert claims["tid"] == TENANT_ID
    assert api.calls(TOKEN)[-1].body["client_id"] == APP_ID


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://api.botframework.com"}, 400, "invalid_scope"),
    ],
)
def test_the_token_endpoint_refuses_as_entra_does(
    api: TeamsStandIn, changes: dict[str, str], status: int, error: str
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_PASSWORD,
        "scope": "https://api.botframework.com/.default",
    }
    response = httpx.post(api.token_url(), data={**form, **changes})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"].startswith("AADSTS")


async def test_the_token_provider_fetches_once_and_caches(api: TeamsStandIn) -> None:
    provider = api.token_provider()
    first = await provider("https://api.botframework.com/.default", TENANT_ID)
    second = await provider("https://api.botframework.com/.default", TENANT_ID)
    assert first == second
    assert len(api.calls(TOKEN)) == 1
    assert api.calls(TOKEN)[0].path == f"/{TENANT_ID}/oauth2/v2.0/token"


# The Bot Connector ---------------------------------------------------------------------------


def test_send_update_and_delete_are_recorded_and_change_the_chat(
    api: TeamsStandIn, connector: httpx.Client
) -> None:
    card_message = {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}
        ],
    }
    sent = connector.post(f"v3/conversations/{SELLER_CHAT}/activities", json=card_message)
    assert sent.status_code == 201
    card_id = sent.json()["id"]
    assert set(sent.json()) == {"id"}
    text_id = connector.post(
        f"v3/conversations/{SELLER_CHAT}/activities", json={"type": "message", "text": "Hi"}
    ).json()["id"]
    assert int(text_id) > int(card_id)
    assert card_of(api.message(card_id)) == CARD

    updated = connector.put(
        f"v3/conversations/{SELLER_CHAT}/activities/{card_id}",
        json={"type": "message", "text": "Co-sell it is."},
    )
    assert (updated.status_code, updated.json()) == (200, {"id": card_id})
    assert connector.delete(f"v3/conversations/{SELLER_CHAT}/activities/{text_id}").is_success

    [message] = api.messages_in(SELLER_CHAT)
    assert message["id"] == card_id
    assert message["text"] == "Co-sell it is."
    assert "attachments" not in message  # an update replaces the whole activity
    assert [len(version.get("attachments", [])) for version in api.revisions(card_id)] == [1, 0]
    assert list(api.deleted()) == [text_id]
    assert [call.operation for call in api.connector_calls()] == [SEND, SEND, UPDATE, DELETE]
    call = api.calls(UPDATE)[0]
    assert (call.http_method, call.conversation_id, call.activity_id) == (
        "PUT",
        SELLER_CHAT,
        card_id,
    )
    assert call.activity["text"] == "Co-sell it is."
    assert call.token is not None
    assert api.message(card_id)["text"] == "Co-sell it is."


def test_replies_and_thread_posts_land_in_their_channel(
    api: TeamsStandIn, activities: TeamsActivities, connector: httpx.Client
) -> None:
    post = activities.message("new referral", channel=APPROVALS)
    thread = post["conversation"]["id"]
    assert thread == thread_conversation_id(APPROVALS.id, post["id"])

    reply = connector.post(
        f"v3/conversations/{thread}/activities/{post['id']}",
        json={"type": "message", "text": "On it."},
    )
    assert reply.status_code == 201
    in_thread = connector.post(
        f"v3/conversations/{thread}/activities", json={"type": "message", "text": "Done."}
    )
    assert in_thread.status_code == 201
    messages = api.messages_in(APPROVALS.id)
    assert [message["text"] for message in messages] == ["On it.", "Done."]
    assert messages[0]["replyToId"] == post["id"]
    assert {message["conversation"]["id"] for message in messages} == {thread}
    assert api.calls(REPLY)[0].activity_id == post["id"]


def test_typing_is_delivered_but_not_kept(api: TeamsStandIn, connector: httpx.Client) -> None:
    response = connector.post(f"v3/conversations/{SELLER_CHAT}/activities", json={"type": "typing"})
    assert (response.status_code, response.json()) == (200, {})
    assert api.messages_in(SELLER_CHAT) == []


NOT_FOUND = "ActivityNotFoundInConversation"
TOO_BIG = {"type": "message", "text": "x" * (MESSAGE_SIZE_MAX // 2)}  # UTF-16: just over


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "activities/1", {"type": "message", "text": "x"}, 404, NOT_FOUND),
        ("DELETE", "activities/1", None, 404, NOT_FOUND),
        ("POST", "activities", {"type": "message"}, 400, "BadArgument"),
        ("POST", "activities", {"text": "no type"}, 400, "BadArgument"),
        ("POST", "activities", TOO_BIG, 413, "MessageSizeTooBig"),
    ],
)
def test_bad_requests_are_refused_as_teams_does(
    connector: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    response = connector.request(method, f"v3/conversations/{SELLER_CHAT}/{path}", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_the_bot_cannot_edit_a_persons_message(
    activities: TeamsActivities, connector: httpx.Client
) -> None:
    said = activities.message("hello")
    response = connector.put(
        f"v3/conversations/{SELLER_CHAT}/activities/{said['id']}",
        json={"type": "message", "text": "edited"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NotEnoughPermissions"


def test_only_issued_tokens_are_accepted(api: TeamsStandIn) -> None:
    path = f"{api.service_url}v3/conversations/{SELLER_CHAT}/activities"
    message = {"type": "message", "text": "hi"}
    assert httpx.post(path, json=message).status_code == 401
    forged = httpx.post(path, json=message, headers={"Authorization": "Bearer not-issued"})
    assert forged.status_code == 401
    assert forged.json() == {"message": "Authorization has been denied for this request."}
    api.require_issued_tokens = False
    assert httpx.post(path, json=message, headers={"Authorization": "Bearer any"}).is_success
    assert [call.status for call in api.calls(SEND)] == [401, 401, 201]


def test_create_conversation_opens_a_chat_or_a_channel_thread(
    api: TeamsStandIn, connector: httpx.Client
) -> None:
    personal = connector.post(
        "v3/conversations",
        json={
            "bot": {"id": BOT_ID},
            "members": [{"id": MANAGER.id}],
            "channelData": {"tenant": {"id": TENANT_ID}},
            "isGroup": False,
        },
    )
    assert (personal.status_code, personal.json()) == (
        201,
        {"id": personal_conversation_id(MANAGER)},
    )

    thread = connector.post(
        "v3/conversations",
        json={
            "isGroup": True,
            "channelData": {"channel": {"id": APPROVALS.id}},
            "activity": {"type": "message", "text": "Approval needed"},
        },
    ).json()
    assert thread["id"] == thread_conversation_id(APPROVALS.id, thread["activityId"])
    assert api.last_message(APPROVALS.id)["text"] == "Approval needed"
    assert len(api.created_conversations()) == 2

    api.remove_user(MANAGER.id)
    refused = connector.post(
        "v3/conversations",
        json={"members": [{"id": MANAGER.id}], "tenantId": TENANT_ID},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ForbiddenOperationException"
    assert [call.status for call in api.calls(CREATE_CONVERSATION)] == [201, 201, 403]


def test_members_are_described_as_teams_channel_accounts(connector: httpx.Client) -> None:
    [member] = connector.get(f"v3/conversations/{SELLER_CHAT}/members").json()
    assert member["aadObjectId"] == SELLER.aad_object_id
    assert member["email"] == SELLER.email
    everyone = connector.get(f"v3/conversations/{APPROVALS.id}/members").json()
    assert {person["id"] for person in everyone} == {SELLER.id, MANAGER.id}
    by_aad = connector.get(f"v3/conversations/{SELLER_CHAT}/members/{SELLER.aad_object_id}")
    assert by_aad.json()["id"] == SELLER.id
    missing = connector.get(f"v3/conversations/{SELLER_CHAT}/members/{MANAGER.id}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "MemberNotFoundInConversation",
    )
    team = connector.get(f"v3/teams/{DEFAULT_TEAM.id}").json()
    assert team == {
        "id": DEFAULT_TEAM.id,
        "name": DEFAULT_TEAM.name,
        "aadGroupId": DEFAULT_TEAM.aad_group_id,
    }


# Failures on demand ----------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_then_recovers(
    api: TeamsStandIn, connector: httpx.Client
) -> None:
    api.rate_limit(SEND, times=2, retry_after=3)
    path = f"v3/conversations/{SELLER_CHAT}/activities"
    first = connector.post(path, json={"type": "message", "text": "1"})
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "3"
    assert first.json() == {"error": {"code": "Throttled", "message": "Too many requests."}}
    assert connector.post(path, json={"type": "message", "text": "2"}).status_code == 429
    assert connector.post(path, json={"type": "message", "text": "3"}).status_code == 201
    assert [message["text"] for message in api.messages_in(SELLER_CHAT)] == ["3"]


def test_faults_can_target_one_conversation_until_reset(
    api: TeamsStandIn, connector: httpx.Client
) -> None:
    api.fail(SEND, 403, code="BotNotInConversationRoster", times=None, conversation_id=APPROVALS.id)
    message = {"type": "message", "text": "hi"}
    for _ in range(3):
        refused = connector.post(f"v3/conversations/{APPROVALS.id}/activities", json=message)
        assert refused.json()["error"]["code"] == "BotNotInConversationRoster"
    assert connector.post(f"v3/conversations/{SELLER_CHAT}/activities", json=message).is_success
    api.reset()
    assert connector.post(f"v3/conversations/{APPROVALS.id}/activities", json=message).is_success


def test_other_operations_fail_on_demand(api: TeamsStandIn, connector: httpx.Client) -> None:
    api.fail(UPDATE, 502)
    api.fail(GET_MEMBERS, 500)
    api.fail(TOKEN, 503, code="temporarily_unavailable", message="AADSTS50000: try later")
    seeded = api.seed_message(SELLER_CHAT, "before")
    update = connector.put(
        f"v3/conversations/{SELLER_CHAT}/activities/{seeded}", json={"type": "message", "text": "x"}
    )
    assert (update.status_code, update.json()["error"]["code"]) == (502, "ServiceError")
    assert connector.get(f"v3/conversations/{SELLER_CHAT}/members").status_code == 500
    token = httpx.post(api.token_url(), data={})
    assert (token.status_code, token.json()["error"]) == (503, "temporarily_unavailable")
    assert api.message(seeded)["text"] == "before"
    assert connector.get(f"v3/conversations/{SELLER_CHAT}/members/{SELLER.id}").is_success
    assert api.calls(GET_MEMBER)[0].status == 200


def test_wait_for_wakes_on_a_call_from_another_thread(
    api: TeamsStandIn, connector: httpx.Client
) -> None:
    def later() -> None:
        connector.post(
            f"v3/conversations/{SELLER_CHAT}/activities", json={"type": "message", "text": "hi"}
        )

    worker = threading.Timer(0.05, later)
    worker.start()
    try:
        [call] = api.wait_for(SEND, timeout=5)
    finally:
        worker.join()
    assert call.activity["text"] == "hi"
    with pytest.raises(TimeoutError):
        api.wait_for(UPDATE, timeout=0.05)


# Activities Teams sends ------------------------------------------------------------------------


def test_activities_keep_teams_documented_shapes(
    api: TeamsStandIn, activities: TeamsActivities
) -> None:
    message = activities.message("help")
    assert message["type"] == "message"
    assert message["serviceUrl"] == api.service_url
    assert message["channelId"] == "msteams"
    assert message["recipient"] == {"id": BOT_ID, "name": "Referral Bot"}
    assert message["from"]["aadObjectId"] == SELLER.aad_object_id
    assert message["conversation"] == {
        "conversationType": "personal",
        "tenantId": TENANT_ID,
        "id": SELLER_CHAT,
    }
    assert message["channelData"]["tenant"]["id"] == TENANT_ID

    in_channel = activities.message("help", channel=APPROVALS)
    assert in_channel["text"] == "<at>Referral Bot</at> help"
    assert in_channel["entities"][0]["mentioned"]["id"] == BOT_ID
    assert in_channel["channelData"]["team"]["id"] == DEFAULT_TEAM.id
    assert in_channel["channelData"]["channel"]["id"] == APPROVALS.id

    card_id = api.seed_message(SELLER_CHAT, card=CARD)
    invoke = activities.card_action("rb_kind", {"kind": "cosell"})
    assert (invoke["type"], invoke["name"]) == ("invoke", "adaptiveCard/action")
    assert invoke["replyToId"] == card_id
    assert invoke["value"] == {
        "action": {
            "type": "Action.Execute",
            "title": "Submit",
            "verb": "rb_kind",
            "data": {"kind": "cosell"},
        },
        "trigger": "manual",
    }

    added = activities.bot_added_to_team(channel=APPROVALS)
    assert added["type"] == "conversationUpdate"
    assert added["membersAdded"] == [{"id": BOT_ID}]
    assert added["conversation"]["id"] == APPROVALS.id
    assert added["channelData"]["team"]["name"] == DEFAULT_TEAM.name
    assert added["channelData"]["settings"]["selectedChannel"]["id"] == APPROVALS.id
    assert added["channelData"]["tenant"]["id"] == TENANT_ID
    assert "name" not in added["from"]

    personal = activities.bot_added_to_personal_chat(MANAGER)
    assert [member["id"] for member in personal["membersAdded"]] == [BOT_ID, MANAGER.id]
    assert personal["conversation"]["id"] == personal_conversation_id(MANAGER)

    removed = activities.installation_update("remove", team=DEFAULT_TEAM)
    assert (removed["type"], removed["action"]) == ("installationUpdate", "remove")
    assert removed["conversation"]["conversationType"] == "channel"
    assert activities.installation_update()["conversation"]["id"] == SELLER_CHAT


def test_signed_headers_carry_the_activitys_service_url(
    api: TeamsStandIn, activities: TeamsActivities
) -> None:
    message = activities.message("help")
    headers = activities.headers(message)
    assert headers["Content-Type"] == "application/json"
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert decode(api, token)["serviceurl"] == message["serviceUrl"]
    with pytest.raises(jwt.InvalidAudienceError):
        decode(api, activities.headers(message, audience="other")["Authorization"][7:])


# A Teams SDK app against the stand-in ------------------------------------------------------------


class _CollectingAdapter:
    """An ``HttpServerAdapter`` that only collects the SDK's routes: we serve them."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}

    def register_route(self, method: str, path: str, handler: Any) -> None:
        self.routes[path] = handler

    def serve_static(self, path: str, directory: str) -> None:
        raise NotImplementedError

    async def start(self, port: int) -> None:
        raise NotImplementedError("uvicorn serves the Starlette app")

    async def stop(self) -> None:
        return None


@dataclass(frozen=True)
class SdkBot:
    """A Teams SDK app served by Starlette, and a client of it."""

    app: Any
    """The ``microsoft_teams.apps.App``."""
    client: httpx.AsyncClient
    """A client of the Starlette app serving it at ``/api/messages``."""

    async def post(self, activity: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/api/messages", json=activity, headers=headers)


@pytest.fixture
async def bot(api: TeamsStandIn) -> AsyncIterator[SdkBot]:
    """A Teams SDK app mounted in a Starlette app at ``/api/messages``, its inbound tokens
    checked against the stand-in's keys and its outbound calls made to the stand-in."""
    with warnings.catch_warnings():
        # The SDK makes a preview object when imported (ExperimentalWarning).
        warnings.simplefilter("ignore", FutureWarning)
        from microsoft_teams.api import (  # noqa: PLC0415 - imported once the warning is quiet
            AdaptiveCardActionCardResponse,
            AdaptiveCardInvokeActivity,
            MessageActivity,
        )
        from microsoft_teams.apps import ActivityContext, App  # noqa: PLC0415
        from microsoft_teams.cards import AdaptiveCard, TextBlock  # noqa: PLC0415

    adapter = _CollectingAdapter()
    app = App(
        client_id=APP_ID,
        tenant_id=TENANT_ID,
        token=api.token_provider(),
        cloud=api.cloud,
        service_url=api.service_url,
        http_server_adapter=adapter,
    )

    @app.on_message
    async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
        await ctx.send(f"You said: {ctx.activity.text}")

    @app.on_card_action_execute
    async def on_execute(
        ctx: ActivityContext[AdaptiveCardInvokeActivity],
    ) -> AdaptiveCardActionCardResponse:
        action = ctx.activity.value.action
        text = f"{action.verb}: {action.data['kind']}"
        return AdaptiveCardActionCardResponse(value=AdaptiveCard(body=[TextBlock(text=text)]))

    await app.initialize()
    handle = adapter.routes["/api/messages"]

    async def messages(request: Request) -> Response:
        answer = await handle({"body": await request.json(), "headers": dict(request.headers)})
        if answer["body"] is None:
            return Response(status_code=answer["status"])
        return JSONResponse(answer["body"], status_code=answer["status"])

    web = Starlette(routes=[Route("/api/messages", messages, methods=["POST"])])
    transport = httpx.ASGITransport(app=web)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            yield SdkBot(app, client)
    finally:
        # The App never closes its HTTP clients; left open, their sockets leak.
        await app.http_client.http.aclose()
        await app.api.http.http.aclose()


quiet_sdk = pytest.mark.filterwarnings(
    # Every ApiClient the SDK builds (one per activity) makes its deprecated BotClient.
    "ignore:The bot client is deprecated:DeprecationWarning"
)


@quiet_sdk
async def test_the_sdk_accepts_a_valid_token_and_replies_through_the_stand_in(
    api: TeamsStandIn, activities: TeamsActivities, bot: SdkBot
) -> None:
    message = activities.message("help")
    response = await bot.post(message, activities.headers(message))
    assert (response.status_code, response.content) == (200, b"")
    assert api.last_message(SELLER_CHAT)["text"] == "You said: help"
    [send] = api.calls(SEND)
    assert send.token in {call.response["access_token"] for call in api.calls(TOKEN)}
    assert [call.operation for call in api.calls()][:2] == [JWKS, TOKEN]


@quiet_sdk
async def test_the_sdk_answers_an_action_execute_with_a_card(
    api: TeamsStandIn, activities: TeamsActivities, bot: SdkBot
) -> None:
    api.seed_message(SELLER_CHAT, card=CARD)
    invoke = activities.card_action("rb_kind", {"kind": "cosell"})
    response = await bot.post(invoke, activities.headers(invoke))
    assert response.status_code == 200
    assert response.json() == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.card.adaptive",
        "value": {
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [{"type": "TextBlock", "text": "rb_kind: cosell"}],
        },
    }


@quiet_sdk
@pytest.mark.parametrize(
    "knobs",
    [
        {"expired": True},
        {"audience": "someone-else"},
        {"issuer": "https://evil.example"},
        {"wrong_key": True},
        {"service_url": "https://smba.trafficmanager.net/amer/"},
        {"omit_service_url": True},
        {"algorithm": "HS256"},
    ],
)
async def test_the_sdk_rejects_bad_tokens(
    api: TeamsStandIn,
    activities: TeamsActivities,
    bot: SdkBot,
    knobs: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = activities.message("help")
    headers = activities.headers(message, **knobs)
    response = await bot.post(message, headers)
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})
    missing = await bot.post(message, {})
    assert missing.status_code == 401
    assert api.connector_calls() == []
    assert "JWT token validation failed" in caplog.text


@quiet_sdk
async def test_the_sdk_sends_proactively_and_the_stand_in_can_refuse(
    api: TeamsStandIn, bot: SdkBot
) -> None:
    app = bot.app
    sent = await app.send(SELLER_CHAT, "Your referral was won.")
    assert api.message(sent.id)["text"] == "Your referral was won."
    api.rate_limit(SEND, retry_after=2)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await app.send(SELLER_CHAT, "again")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "2"
