"""The Teams stand-in against the clients the product uses: the Teams SDK's token validator
on Bot Framework's keys, the SDK's API client on the Bot Connector (the four calls the product
makes) with the bot's token from the identity stand-in, and the activity builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from microsoft_teams.api import ApiClient
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.api.models import Account
from microsoft_teams.apps.auth import TokenValidator
from microsoft_teams.common import ClientOptions

from handlers.teams.sender import PersonalChat
from tests.support.identity_stand_in import (
    BOT_CLIENT_SECRET,
    BOT_FRAMEWORK_SCOPE,
    PARTNER_CENTER_RESOURCE,
    IdentityStandIn,
)
from tests.support.teams_stand_in import (
    APP_ID,
    BOT_ID,
    CREATE,
    DEFAULT_TEAM,
    GET_MEMBER,
    JWKS,
    MANAGER,
    MESSAGE_SIZE_MAX,
    SELLER,
    SEND,
    TENANT_ID,
    UNKNOWN,
    UPDATE,
    TeamsActivities,
    TeamsStandIn,
    TeamsUser,
    personal_conversation_id,
    thread_conversation_id,
)

OTHER_APP = "00000000-0000-0000-0000-000000000000"
NOT_FOUND = "ActivityNotFoundInConversation"
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Which kind of referral?"}],
}
SELLER_CHAT = personal_conversation_id(SELLER)
GENERAL, APPROVALS = DEFAULT_TEAM.channels


@pytest.fixture
def api(fresh_teams_api: TeamsStandIn) -> TeamsStandIn:
    return fresh_teams_api


@pytest.fixture
def activities(api: TeamsStandIn) -> TeamsActivities:
    return TeamsActivities(api)


def bot_token(identity: IdentityStandIn, scope: str = BOT_FRAMEWORK_SCOPE) -> str:
    """The bot's token, by client credentials at the identity stand-in (as msal asks)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": BOT_CLIENT_SECRET,
        "scope": scope,
    }
    url = f"{identity.authority_root}/{TENANT_ID}/oauth2/v2.0/token"
    response = httpx.post(url, data=form, verify=identity.ssl_context())
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture
async def sdk(api: TeamsStandIn, identity: IdentityStandIn) -> AsyncIterator[ApiClient]:
    """The Teams SDK's API client on the stand-in's connector, holding the bot's token."""
    client = ApiClient(api.service_url, ClientOptions(token=bot_token(identity)))
    try:
        yield client
    finally:
        await client.http.http.aclose()


def card_message() -> MessageActivityInput:
    return MessageActivityInput(
        attachments=[{"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}]
    )


# Bot Framework's keys, as the Teams SDK checks inbound tokens ----------------------------------


def sdk_validator(api: TeamsStandIn) -> TokenValidator:
    """The SDK's inbound token check, configured as ``handlers/teams/http.py`` does."""
    cloud = with_overrides(PUBLIC, openid_metadata_url=api.openid_metadata_url)
    return TokenValidator.for_service(APP_ID, cloud=cloud)


async def test_the_sdk_finds_the_keys_next_to_the_metadata_url_and_accepts_minted_tokens(
    api: TeamsStandIn,
) -> None:
    claims = await sdk_validator(api).validate_token(api.mint(), api.service_url)
    assert claims["iss"] == "https://api.botframework.com"
    assert claims["aud"] == APP_ID
    assert claims["serviceurl"] == api.service_url
    [fetched] = api.calls()
    assert (fetched.operation, fetched.path) == (JWKS, "/v1/.well-known/keys")


def test_the_keys_are_published_as_bot_framework_publishes_them(api: TeamsStandIn) -> None:
    keys_url = api.openid_metadata_url.removesuffix("/openidconfiguration") + "/keys"
    [key] = httpx.get(keys_url).json()["keys"]
    assert (key["kty"], key["use"], key["e"]) == ("RSA", "sig", "AQAB")
    assert key["kid"] == key["x5t"] == jwt.get_unverified_header(api.mint())["kid"]
    assert key["x5c"]
    assert "msteams" in key["endorsements"]


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        ({"expired": True}, jwt.ExpiredSignatureError),
        ({"audience": "someone-else"}, jwt.InvalidAudienceError),
        ({"wrong_key": True}, jwt.InvalidSignatureError),
        ({"service_url": "https://smba.trafficmanager.net/amer/"}, jwt.InvalidTokenError),
    ],
)
async def test_the_sdk_refuses_the_tokens_the_knobs_forge(
    api: TeamsStandIn, knobs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await sdk_validator(api).validate_token(api.mint(**knobs), api.service_url)


# The Bot Connector, through the SDK's client ---------------------------------------------------


async def test_cards_are_posted_and_replaced_and_can_be_read_back(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    sent = await sdk.conversations.create_activity(SELLER_CHAT, card_message())
    said = await sdk.conversations.create_activity(SELLER_CHAT, MessageActivityInput(text="Hi"))
    assert int(said.id) > int(sent.id)
    assert api.message(sent.id)["attachments"][0]["content"] == CARD

    replaced = await sdk.conversations.update_activity(
        SELLER_CHAT, sent.id, MessageActivityInput(text="Co-sell it is.")
    )
    assert replaced.id == sent.id
    first, second = api.messages_in(SELLER_CHAT)
    assert (first["id"], first["text"]) == (sent.id, "Co-sell it is.")
    assert not first.get("attachments")  # an update replaces the whole activity
    assert api.last_message(SELLER_CHAT) == second
    assert [(call.operation, call.status) for call in api.calls()] == [
        (SEND, 201),
        (SEND, 201),
        (UPDATE, 200),
    ]
    update = api.calls(UPDATE)[0]
    assert update.http_method == "PUT"
    assert update.path.endswith(f"/v3/conversations/{SELLER_CHAT}/activities/{sent.id}")
    assert update.activity["text"] == "Co-sell it is."
    assert update.token is not None


async def test_thread_posts_land_in_their_channel(api: TeamsStandIn, sdk: ApiClient) -> None:
    thread = thread_conversation_id(APPROVALS.id, "1700000000000")
    await sdk.conversations.create_activity(thread, MessageActivityInput(text="On it."))
    [message] = api.messages_in(APPROVALS.id)
    assert message["conversation"]["id"] == thread
    assert api.messages_in(thread) == [message]
    with pytest.raises(LookupError):
        api.last_message(GENERAL.id)


async def test_a_thread_root_is_updated_in_its_channel_until_the_bot_is_out(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    root = await sdk.conversations.create_activity(APPROVALS.id, card_message())
    await sdk.conversations.update_activity(
        APPROVALS.id, root.id, MessageActivityInput(text="Approved by Grace")
    )
    assert api.message(root.id)["text"] == "Approved by Grace"
    assert api.messages_in(APPROVALS.id)[0]["id"] == root.id

    api.close_conversation(APPROVALS.id, 404)
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await sdk.conversations.update_activity(
            APPROVALS.id, root.id, MessageActivityInput(text="Too late")
        )
    assert gone.value.response.status_code == 404
    assert gone.value.response.json()["error"]["code"] == "ConversationNotFound"
    assert api.message(root.id)["text"] == "Approved by Grace"


async def test_members_are_found_where_teams_finds_them(api: TeamsStandIn, sdk: ApiClient) -> None:
    members = sdk.conversations.members_client
    seller = await members.get_by_id(SELLER_CHAT, SELLER.id)
    assert (seller.name, seller.given_name, seller.surname) == ("Ada Lovelace", "Ada", "Lovelace")
    assert seller.email == SELLER.email
    in_channel = await members.get_by_id(thread_conversation_id(GENERAL.id, "1"), MANAGER.id)
    assert in_channel.aad_object_id == MANAGER.aad_object_id
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await members.get_by_id(SELLER_CHAT, MANAGER.id)  # not in the seller's 1:1 chat
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["error"]["code"] == "MemberNotFoundInConversation"

    newcomer = TeamsUser("29:1new", "0f0e0d0c-0b0a-4908-8706-050403020100", "New", "N", "W", "n@x")
    api.set_user(newcomer)
    assert (await members.get_by_id(personal_conversation_id(newcomer), newcomer.id)).email == "n@x"
    assert [call.status for call in api.calls(GET_MEMBER)] == [200, 200, 404, 200]
    api.reset()
    with pytest.raises(httpx.HTTPStatusError):
        await members.get_by_id(personal_conversation_id(newcomer), newcomer.id)


def personal_chat(member: str, tenant: str = TENANT_ID) -> PersonalChat:
    return PersonalChat(
        bot=Account(id=BOT_ID),
        members=[Account(id=member)],
        tenant_id=tenant,
        channel_data={"tenant": {"id": tenant}},
    )


async def test_a_1_1_chat_is_created_as_bot_framework_documents_and_takes_activities(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    by_object_id = await sdk.conversations.create(personal_chat(MANAGER.aad_object_id))
    by_teams_id = await sdk.conversations.create(personal_chat(MANAGER.id))

    # One chat per person and bot: asked again, Teams answers the same.
    assert by_object_id.id == by_teams_id.id == personal_conversation_id(MANAGER)
    (first, _) = api.calls(CREATE)
    assert (first.http_method, first.path, first.status) == ("POST", "/amer/v3/conversations", 201)
    assert first.body == {
        "bot": {"id": BOT_ID},
        "isGroup": False,
        "members": [{"id": MANAGER.aad_object_id}],
        "tenantId": TENANT_ID,
        "channelData": {"tenant": {"id": TENANT_ID}},
    }
    await sdk.conversations.create_activity(by_object_id.id, MessageActivityInput(text="Hi"))
    assert [message["text"] for message in api.messages_in(by_object_id.id)] == ["Hi"]
    member = await sdk.conversations.members_client.get_by_id(by_object_id.id, MANAGER.id)
    assert member.email == MANAGER.email


async def test_a_chat_with_someone_without_the_app_is_refused(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    api.without_app(MANAGER)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await sdk.conversations.create(personal_chat(MANAGER.aad_object_id))
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["error"]["code"] == "BotNotInConversationRoster"
    assert (await sdk.conversations.create(personal_chat(SELLER.id))).id == SELLER_CHAT


DOCUMENTED_CHAT: dict[str, Any] = {
    "bot": {"id": BOT_ID},
    "isGroup": False,
    "members": [{"id": SELLER.id}],
    "tenantId": TENANT_ID,
    "channelData": {"tenant": {"id": TENANT_ID}},
}


@pytest.mark.parametrize(
    "changed",
    [
        {"bot": None},
        {"bot": {"id": APP_ID}},  # the app id without 28:
        {"isGroup": None},
        {"isGroup": True},
        {"members": []},
        {"members": [{"id": SELLER.id}, {"id": MANAGER.id}]},
        {"members": [{"id": "29:nobody"}]},
        {"tenantId": None},
        {"channelData": None},
        {"channelData": {"tenant": {"id": "another-tenant"}}},
    ],
)
def test_a_chat_asked_for_in_another_shape_is_refused(
    api: TeamsStandIn, identity: IdentityStandIn, changed: dict[str, Any]
) -> None:
    body = {key: value for key, value in (DOCUMENTED_CHAT | changed).items() if value is not None}
    headers = {"Authorization": f"Bearer {bot_token(identity)}"}
    url = f"{api.service_url}v3/conversations"

    refused = httpx.post(url, json=body, headers=headers)
    created = httpx.post(url, json=DOCUMENTED_CHAT, headers=headers)

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadArgument"
    assert created.status_code == 201
    assert created.json() == {"id": SELLER_CHAT}


async def test_a_rate_limit_answers_429_with_retry_after_then_recovers(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    api.rate_limit(SEND, times=2, retry_after=0.5)
    for _ in range(2):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await sdk.conversations.create_activity(SELLER_CHAT, MessageActivityInput(text="1"))
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "0.5"
        assert refused.value.response.json()["error"]["code"] == "Throttled"
    await sdk.conversations.create_activity(SELLER_CHAT, MessageActivityInput(text="2"))
    assert [message["text"] for message in api.messages_in(SELLER_CHAT)] == ["2"]


async def test_a_failure_on_demand_hits_the_next_call_only(
    api: TeamsStandIn, sdk: ApiClient
) -> None:
    api.fail(SEND, 500)
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await sdk.conversations.create_activity(SELLER_CHAT, card_message())
    assert failed.value.response.json() == {
        "error": {"code": "ServiceError", "message": "An error occurred."}
    }
    assert "Retry-After" not in failed.value.response.headers
    await sdk.conversations.create_activity(SELLER_CHAT, card_message())
    assert [call.status for call in api.calls(SEND)] == [500, 201]
    with pytest.raises(ValueError, match="at least 1"):
        api.fail(SEND, times=0)


# The Bot Connector's refusals, over plain HTTP ---------------------------------------------------


def test_only_the_bots_tokens_from_the_identity_platform_are_accepted(
    api: TeamsStandIn, identity: IdentityStandIn
) -> None:
    url = f"{api.service_url}v3/conversations/{SELLER_CHAT}/activities"
    message = {"type": "message", "text": "hi"}

    def send(token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(url, json=message, headers=headers)

    assert send(None).status_code == 401
    forged = send(api.mint())  # Bot Framework's inbound kind: not for the connector
    assert forged.status_code == 401
    assert forged.json() == {"message": "Authorization has been denied for this request."}
    assert send(bot_token(identity, f"{PARTNER_CENTER_RESOURCE}/.default")).status_code == 401
    assert send(bot_token(identity)).status_code == 201
    assert [call.status for call in api.calls(SEND)] == [401, 401, 401, 201]
    assert api.messages_in(SELLER_CHAT)[0]["text"] == "hi"


def test_without_a_token_check_the_connector_accepts_nothing(identity: IdentityStandIn) -> None:
    with TeamsStandIn() as alone:
        url = f"{alone.service_url}v3/conversations/{SELLER_CHAT}/activities"
        headers = {"Authorization": f"Bearer {bot_token(identity)}"}
        response = httpx.post(url, json={"type": "message", "text": "hi"}, headers=headers)
    assert response.status_code == 401


TOO_BIG = {"type": "message", "text": "x" * (MESSAGE_SIZE_MAX // 2)}  # UTF-16: just over


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "activities/1", {"type": "message", "text": "x"}, 404, NOT_FOUND),
        ("POST", "activities", {"type": "message"}, 400, "BadArgument"),
        ("POST", "activities", {"text": "no type"}, 400, "BadArgument"),
        ("POST", "activities", TOO_BIG, 413, "MessageSizeTooBig"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_as_teams_does(
    api: TeamsStandIn,
    identity: IdentityStandIn,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {bot_token(identity)}"}) as connector:
        url = f"{api.service_url}v3/conversations/{SELLER_CHAT}/{path}"
        response = connector.request(method, url, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert api.messages_in(SELLER_CHAT) == []


def test_a_call_nothing_answers_is_recorded_as_unknown(api: TeamsStandIn) -> None:
    response = httpx.get(f"{api.service_url}v3/teams/{DEFAULT_TEAM.id}")
    assert response.status_code == 404
    [call] = api.calls(UNKNOWN)
    assert call.path == f"/amer/v3/teams/{DEFAULT_TEAM.id}"


# Activities Teams sends ------------------------------------------------------------------------


def test_messages_keep_teams_documented_shapes(
    api: TeamsStandIn, activities: TeamsActivities
) -> None:
    message = activities.message("help")
    assert message["type"] == "message"
    assert message["text"] == "help"
    assert message["serviceUrl"] == api.service_url
    assert message["channelId"] == "msteams"
    assert message["recipient"] == {"id": BOT_ID, "name": "Referral Bot"}
    assert message["from"] == SELLER.account
    assert message["conversation"] == {
        "conversationType": "personal",
        "tenantId": TENANT_ID,
        "id": SELLER_CHAT,
    }
    assert message["channelData"]["tenant"]["id"] == TENANT_ID
    assert int(activities.message("again")["id"]) > int(message["id"])

    in_channel = activities.message("help", channel=APPROVALS, user=MANAGER)
    assert in_channel["text"] == "<at>Referral Bot</at> help"
    assert in_channel["entities"][0]["mentioned"]["id"] == BOT_ID
    assert in_channel["conversation"]["id"] == thread_conversation_id(
        APPROVALS.id, in_channel["id"]
    )
    assert in_channel["channelData"]["team"]["id"] == DEFAULT_TEAM.id
    assert in_channel["channelData"]["channel"]["id"] == APPROVALS.id
    assert in_channel["from"]["id"] == MANAGER.id

    submitted = activities.message("", value={"verb": "rb_choose"})
    assert submitted["value"] == {"verb": "rb_choose"}
    assert "text" not in submitted


async def test_card_actions_land_on_the_bots_latest_card_or_the_one_named(
    activities: TeamsActivities, sdk: ApiClient
) -> None:
    sent = await sdk.conversations.create_activity(SELLER_CHAT, card_message())
    invoke = activities.card_action("rb_kind", {"kind": "cosell"})
    assert (invoke["type"], invoke["name"]) == ("invoke", "adaptiveCard/action")
    assert invoke["conversation"]["id"] == SELLER_CHAT
    assert invoke["replyToId"] == sent.id
    assert invoke["value"] == {
        "action": {
            "type": "Action.Execute",
            "title": "Submit",
            "verb": "rb_kind",
            "data": {"kind": "cosell"},
        },
        "trigger": "manual",
    }
    in_channel = activities.card_action("rb_kind", reply_to_id="42", user=MANAGER, channel=GENERAL)
    assert in_channel["conversation"]["id"] == thread_conversation_id(GENERAL.id, "42")
    assert in_channel["replyToId"] == "42"
    assert in_channel["channelData"]["teamsChannelId"] == GENERAL.id


def test_installation_events_keep_teams_documented_shapes(activities: TeamsActivities) -> None:
    added = activities.bot_added_to_team()
    assert added["type"] == "conversationUpdate"
    assert added["membersAdded"] == [{"id": BOT_ID}]
    assert added["conversation"]["id"] == GENERAL.id
    assert added["channelData"]["team"]["name"] == DEFAULT_TEAM.name
    assert added["channelData"]["settings"]["selectedChannel"]["id"] == GENERAL.id
    assert "name" not in added["from"]

    installed = activities.installation_update()
    assert (installed["type"], installed["action"]) == ("installationUpdate", "add")
    assert installed["conversation"]["id"] == SELLER_CHAT
    assert activities.installation_update("remove")["action"] == "remove"


async def test_signed_headers_carry_the_activitys_service_url(
    api: TeamsStandIn, activities: TeamsActivities
) -> None:
    message = activities.message("help")
    headers = activities.headers(message)
    assert headers["Content-Type"] == "application/json"
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = await sdk_validator(api).validate_token(token, message["serviceUrl"])
    assert claims["serviceurl"] == message["serviceUrl"]
    forged = activities.headers(message, audience="another-bot")["Authorization"]
    with pytest.raises(jwt.InvalidAudienceError):
        await sdk_validator(api).validate_token(forged.removeprefix("Bearer "))
