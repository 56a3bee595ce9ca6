"""Signed requests as Slack sends them to ``/slack/events``, built from documented shapes.

Every builder starts from a JSON file in ``tests/fixtures/slack/`` (one representative payload
of each kind, laid out as in Slack's documentation, see the README there), fills in the
values a test cares about, encodes the body the way Slack does (form fields for slash
commands, ``payload=<json>`` for interactions, JSON for the Events API) and signs it:
``X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")`` with
``X-Slack-Request-Timestamp`` (platform notes C4).

Each builder can also forge what a test needs to see rejected: ``bad_signature=True`` signs
with another secret, ``age=301`` dates the request more than five minutes back. Events can
carry Slack's retry headers (C5), and :meth:`SlackRequests.retry` redelivers a request's
very body as Slack's retries do.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlencode

from tests.fixtures import load_json

__all__ = [
    "API_APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_USERS",
    "EVENTS_PATH",
    "HOOKS_URL",
    "SIGNING_SECRET",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "USER_ID",
    "VERIFICATION_TOKEN",
    "Option",
    "SignedRequest",
    "SlackRequests",
    "SlackUser",
    "Timestamps",
    "dm_channel_id",
    "fixture",
    "sign",
]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
"""The example signing secret of Slack's "Verifying requests from Slack" page."""
VERIFICATION_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"
"""The deprecated ``token`` field Slack still sends (the slash-command doc's example)."""
TEAM_ID = "T0001"
TEAM_DOMAIN = "example"
API_APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "B0001"
USER_ID = "U0001"
HOOKS_URL = "https://hooks.slack.com"
"""Where Slack's ``response_url``s live; tests point them at the Web API stand-in instead."""
EVENTS_PATH = "/slack/events"

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORGED_SECRET = "not-the-signing-secret"

Option = str | tuple[str, str] | Mapping[str, Any]
"""A select option: its value, ``(value, text)``, or a full Block Kit option object."""


@dataclass(frozen=True, slots=True)
class SlackUser:
    """A workspace member, as ``users.info`` describes them and payloads name them."""

    id: str
    name: str
    """The (deprecated) handle Slack still sends as ``user_name`` / ``user.username``."""
    real_name: str
    first_name: str
    last_name: str
    email: str
    title: str = ""
    is_bot: bool = False
    is_restricted: bool = False
    """A multi-channel guest."""
    is_ultra_restricted: bool = False
    """A single-channel guest."""


DEFAULT_USERS: tuple[SlackUser, ...] = (
    SlackUser(
        "U0001", "ada", "Ada Lovelace", "Ada", "Lovelace", "ada.lovelace@contoso.example",
        title="Partner Sales Executive",
    ),
    SlackUser(
        "U0002", "grace", "Grace Hopper", "Grace", "Hopper", "grace.hopper@contoso.example",
        title="Partner Development Manager",
    ),
)  # fmt: skip
"""The members the stand-in knows after every reset (``users.info`` answers for them)."""
_HANDLES = {user.id: user.name for user in DEFAULT_USERS}


def dm_channel_id(user: str) -> str:
    """The id of the bot's DM with ``user``: ``U0001`` -> ``D0001``.

    The stand-in's ``conversations.open`` and the payload builders both use it.
    """
    return "D" + (user[1:] if user[:1] in ("U", "W") else user)


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of ``tests/fixtures/slack/<name>.json``."""
    loaded = load_json(f"slack/{name}.json")
    assert isinstance(loaded, dict)
    return loaded


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of ``body`` sent at ``timestamp``: ``v0=<hex>``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Timestamps:
    """Slack message timestamps (``"1700000000.000100"``) from a clock, strictly increasing.

    Not thread-safe: callers serialize (the stand-in holds its lock).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._last = (0, 0)

    def next(self) -> str:
        """The clock's time as a ts, or one microsecond past the previous one."""
        now = self.clock()
        current = (int(now), int((now % 1) * 1_000_000))
        if current <= self._last:
            seconds, micros = self._last
            current = (seconds + (micros + 1) // 1_000_000, (micros + 1) % 1_000_000)
        self._last = current
        return f"{current[0]}.{current[1]:06d}"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """One HTTP request as Slack would send it: post ``body`` with ``headers`` to ``path``."""

    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)
    """What the body encodes (the form fields, the interaction payload or the event JSON),
    for a test to read ids such as ``trigger_id`` or ``event_id`` from."""
    path: str = EVENTS_PATH

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header."""
        return self.headers["Content-Type"]

    def with_body(self, body: bytes) -> SignedRequest:
        """The same headers (signature included) over another body: a tampered request."""
        return replace(self, body=body)


class ResponseUrls(Protocol):
    """Mints a ``response_url`` bound to a channel (and the message clicked)."""

    def __call__(
        self, channel: str, message_ts: str | None, *, user: str, kind: str, team_id: str
    ) -> str:
        """A fresh ``response_url``."""
        ...


class SlackRequests:
    """Builds signed requests from Slack; ``clock`` gives the signing time (``time.time``).

    ``hooks_url`` is the origin of the ``response_url``s put in payloads: the stand-in's
    origin in tests (so a reply through ``response_url`` stays on loopback and is recorded).
    ``response_urls`` mints them instead, bound to the message clicked (the stand-in's
    :meth:`~tests.support.slack_stand_in.SlackApiStandIn.response_url`), so a replace through
    one changes that message in the stand-in as Slack would.
    """

    def __init__(
        self,
        signing_secret: str = SIGNING_SECRET,
        *,
        clock: Callable[[], float] = time.time,
        hooks_url: str = HOOKS_URL,
        team_id: str = TEAM_ID,
        team_domain: str = TEAM_DOMAIN,
        api_app_id: str = API_APP_ID,
        response_urls: ResponseUrls | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.clock = clock
        self.hooks_url = hooks_url.rstrip("/")
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self._sequence = itertools.count(1)
        self._timestamps = Timestamps(clock)
        self._mint = response_urls

    # Signing --------------------------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        content_type: str,
        *,
        payload: Mapping[str, Any] | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> SignedRequest:
        """Sign ``body`` as sent ``age`` seconds ago (with another secret if ``bad_signature``)."""
        timestamp = str(int(self.clock() - age))
        secret = FORGED_SECRET if bad_signature else self.signing_secret
        signed = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, timestamp, body),
            **(headers or {}),
        }
        return SignedRequest(body=body, headers=signed, payload=dict(payload or {}))

    def retry(
        self,
        request: SignedRequest,
        *,
        num: int = 1,
        reason: str = "http_timeout",
        age: float = 0.0,
    ) -> SignedRequest:
        """Slack's retry of ``request``: the same body, signed anew, with the retry headers."""
        headers = {
            "X-Slack-Retry-Num": str(num),
            "X-Slack-Retry-Reason": reason,
        }
        retried = self.sign(
            request.body, request.content_type, payload=request.payload, age=age, headers=headers
        )
        return replace(retried, path=request.path)

    # Slash commands -------------------------------------------------------------------------

    def command(
        self,
        text: str = "",
        *,
        user: str = USER_ID,
        user_name: str | None = None,
        channel: str | None = None,
        channel_name: str | None = None,
        command: str = "/referral",
        trigger_id: str | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """``/referral <text>`` typed by ``user`` (in their DM with the bot unless ``channel``)."""
        fields: dict[str, Any] = fixture("slash_command")
        in_dm = channel is None or channel.startswith("D")
        fields.update(
            team_id=self.team_id,
            team_domain=self.team_domain,
            channel_id=channel or dm_channel_id(user),
            channel_name=channel_name or ("directmessage" if in_dm else "general"),
            user_id=user,
            user_name=user_name or _handle(user),
            command=command,
            text=text,
            api_app_id=self.api_app_id,
            response_url=self._response_url("commands", channel or dm_channel_id(user), None, user),
            trigger_id=trigger_id or self.trigger_id(),
        )
        body = urlencode(fields).encode()
        return self.sign(body, FORM, payload=fields, age=age, bad_signature=bad_signature)

    # Interactions ---------------------------------------------------------------------------

    def action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        selected: Option | Sequence[Option] | None = None,
        date: str | None = None,
        user_picked: str | None = None,
        block_id: str | None = None,
        element_type: str | None = None,
        text: str | None = None,
        message: Mapping[str, Any] | None = None,
        message_ts: str | None = None,
        channel: str | None = None,
        user: str = USER_ID,
        ephemeral: bool = False,
        trigger_id: str | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """A ``block_actions`` click on a message in the DM of ``user``.

        ``value`` is a button's value; ``selected`` a select's pick (one option, or a list for
        a multi-select); ``date`` a date picker's ``YYYY-MM-DD``; ``user_picked`` a user
        picker's pick (``users_select``, reported as ``selected_user``). ``element_type`` defaults
        from those (button, static_select, multi_static_select, datepicker): pass
        ``"external_select"`` or ``"overflow"`` for those elements.

        ``message`` is the message clicked on (e.g. ``slack_api.last_message(channel)``): its
        ts, text and blocks go in the payload, and ``block_id`` defaults to the id of the
        block holding ``action_id`` there. Without it the fixture's message is used.
        """
        payload = fixture("block_actions")
        channel_id = channel or dm_channel_id(user)
        clicked = self._message(payload["message"], message, message_ts)
        payload.update(
            user=self._user(user),
            api_app_id=self.api_app_id,
            container=_container(clicked["ts"], channel_id, ephemeral=ephemeral),
            trigger_id=trigger_id or self.trigger_id(),
            team={"id": self.team_id, "domain": self.team_domain},
            channel=_channel(channel_id),
            message=clicked,
            response_url=self._response_url("actions", channel_id, clicked["ts"], user),
        )
        found_block = _block_of(clicked.get("blocks") or [], action_id)
        if text is None and value is not None:
            # Slack reports a button's own words with its value.
            text = _button_text(clicked.get("blocks") or [], action_id, value)
        state = (
            {"type": element_type or "users_select", "selected_user": user_picked}
            if user_picked is not None
            else _element_state(
                value=value, selected=selected, date=date, element_type=element_type, text=text
            )
        )
        element = {
            "action_id": action_id,
            "block_id": block_id or found_block or payload["actions"][0]["block_id"],
            **state,
            "action_ts": self._timestamps.next(),
        }
        payload["actions"] = [element]
        return self._interaction(payload, age=age, bad_signature=bad_signature)

    def view_action(
        self,
        action_id: str,
        view: Mapping[str, Any],
        *,
        value: str | None = None,
        block_id: str | None = None,
        text: str | None = None,
        user: str = USER_ID,
        trigger_id: str | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """A ``block_actions`` click on a button of a view rather than a message: the App
        Home tab ``view`` as ``views.publish`` answered it (or a modal as ``views.open`` did).

        The payload carries the view whole, and its container is the view (``type: view``,
        ``view_id``); there is no ``message``, ``channel`` or ``response_url``, as Slack sends
        none for a view. ``block_id`` defaults to the id of the block holding ``action_id``
        in the view, and the button's words are read from it as for :meth:`action`.
        """
        payload = fixture("block_actions")
        for absent in ("channel", "message", "response_url", "state"):
            payload.pop(absent, None)
        shown = copy.deepcopy(dict(view))
        shown.setdefault("state", {"values": {}})
        blocks = shown.get("blocks") or []
        payload.update(
            user=self._user(user),
            api_app_id=self.api_app_id,
            container={"type": "view", "view_id": shown["id"]},
            trigger_id=trigger_id or self.trigger_id(),
            team={"id": self.team_id, "domain": self.team_domain},
            view=shown,
        )
        if text is None and value is not None:
            text = _button_text(blocks, action_id, value)
        element = {
            "action_id": action_id,
            "block_id": block_id or _block_of(blocks, action_id) or "view",
            **_element_state(value=value, selected=None, date=None, element_type=None, text=text),
            "action_ts": self._timestamps.next(),
        }
        payload["actions"] = [element]
        return self._interaction(payload, age=age, bad_signature=bad_signature)

    def suggestion(
        self,
        action_id: str,
        block_id: str,
        query: str,
        *,
        user: str = USER_ID,
        message: Mapping[str, Any] | None = None,
        channel: str | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """A ``block_suggestion``: ``query`` typed in an external select of a DM message."""
        payload = fixture("block_suggestion")
        channel_id = channel or dm_channel_id(user)
        shown = self._message(payload["message"], message, None)
        payload.update(
            user=self._user(user),
            container=_container(shown["ts"], channel_id, ephemeral=False),
            api_app_id=self.api_app_id,
            action_id=action_id,
            block_id=block_id,
            value=query,
            team={"id": self.team_id, "domain": self.team_domain},
            channel=_channel(channel_id),
            message=shown,
        )
        return self._interaction(payload, age=age, bad_signature=bad_signature)

    def view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Mapping[str, Any]]],
        *,
        user: str = USER_ID,
        private_metadata: str = "",
        view_id: str | None = None,
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """A modal submitted; ``values`` is ``view.state.values``
        (block id -> action id -> element state)."""
        payload = fixture("view_submission")
        view = payload["view"]
        view.update(
            team_id=self.team_id,
            callback_id=callback_id,
            private_metadata=private_metadata,
            state={"values": copy.deepcopy(dict(values))},
            app_id=self.api_app_id,
            app_installed_team_id=self.team_id,
        )
        if view_id is not None:
            view.update(id=view_id, root_view_id=view_id)
        payload.update(
            team={"id": self.team_id, "domain": self.team_domain},
            user=self._user(user),
            api_app_id=self.api_app_id,
            trigger_id=self.trigger_id(),
        )
        return self._interaction(payload, age=age, bad_signature=bad_signature)

    # Events API -----------------------------------------------------------------------------

    def event_callback(
        self,
        event: Mapping[str, Any],
        *,
        template: str = "event_message_im",
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """``event`` in the Events API envelope (``event_callback``), with a fresh ``event_id``
        unless given; ``retry_num`` adds ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``."""
        envelope = fixture(template)
        envelope.update(
            team_id=self.team_id,
            context_team_id=self.team_id,
            api_app_id=self.api_app_id,
            event=dict(event),
            event_id=event_id or self.event_id(),
            event_time=int(self.clock()),
        )
        envelope["authorizations"][0]["team_id"] = self.team_id
        envelope["authorizations"][0]["user_id"] = BOT_USER_ID
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = _json(envelope)
        return self.sign(
            body, JSON, payload=envelope, age=age, bad_signature=bad_signature, headers=headers
        )

    def dm_message(
        self,
        text: str,
        *,
        user: str = USER_ID,
        channel: str | None = None,
        event_id: str | None = None,
        ts: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """A ``message`` event (``channel_type: "im"``): ``user`` typed ``text`` in the bot's DM."""
        event = fixture("event_message_im")["event"]
        sent = ts or self._timestamps.next()
        event.update(
            user=user,
            ts=sent,
            event_ts=sent,
            client_msg_id=str(uuid.uuid4()),
            text=text,
            team=self.team_id,
            channel=channel or dm_channel_id(user),
        )
        rich_text = event["blocks"][0]
        rich_text["block_id"] = secrets.token_urlsafe(4)[:5]
        rich_text["elements"][0]["elements"] = [{"type": "text", "text": text}]
        return self.event_callback(
            event,
            event_id=event_id,
            retry_num=retry_num,
            retry_reason=retry_reason,
            age=age,
            bad_signature=bad_signature,
        )

    def home_opened(
        self,
        *,
        user: str = USER_ID,
        tab: str = "home",
        view: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        age: float = 0.0,
        bad_signature: bool = False,
    ) -> SignedRequest:
        """``app_home_opened``: ``user`` opened the app's ``tab`` ("home" or "messages").

        ``view`` is the Home view last published for them, if any (Slack leaves it out when
        none was ever published).
        """
        event = fixture("event_app_home_opened")["event"]
        event.update(
            user=user, channel=dm_channel_id(user), tab=tab, event_ts=self._timestamps.next()
        )
        if view is not None:
            event["view"] = copy.deepcopy(dict(view))
        return self.event_callback(
            event,
            template="event_app_home_opened",
            event_id=event_id,
            retry_num=retry_num,
            retry_reason=retry_reason,
            age=age,
            bad_signature=bad_signature,
        )

    def url_verification(
        self, challenge: str | None = None, *, age: float = 0.0, bad_signature: bool = False
    ) -> SignedRequest:
        """The ``url_verification`` handshake; the app must echo ``challenge``."""
        payload = fixture("url_verification")
        if challenge is not None:
            payload["challenge"] = challenge
        return self.sign(
            _json(payload), JSON, payload=payload, age=age, bad_signature=bad_signature
        )

    # Ids ------------------------------------------------------------------------------------

    def trigger_id(self) -> str:
        """A fresh trigger id, shaped like Slack's (``<n>.<n>.<32 hex>``)."""
        return f"{13345224609 + next(self._sequence)}.738474920.{secrets.token_hex(16)}"

    def event_id(self) -> str:
        """A fresh Events API ``event_id`` (``Ev`` and ten upper-case characters)."""
        return "Ev" + uuid.uuid4().hex[:10].upper()

    # Internals ------------------------------------------------------------------------------

    def _response_url(self, kind: str, channel: str, message_ts: str | None, user: str) -> str:
        if self._mint is not None:
            return self._mint(channel, message_ts, user=user, kind=kind, team_id=self.team_id)
        secret = secrets.token_urlsafe(18)
        return f"{self.hooks_url}/{kind}/{self.team_id}/{next(self._sequence)}/{secret}"

    def _user(self, user: str) -> dict[str, str]:
        handle = _handle(user)
        return {"id": user, "username": handle, "name": handle, "team_id": self.team_id}

    def _message(
        self,
        template: dict[str, Any],
        message: Mapping[str, Any] | None,
        message_ts: str | None,
    ) -> dict[str, Any]:
        shown = copy.deepcopy(dict(message)) if message is not None else template
        shown.setdefault("type", "message")
        shown.setdefault("team", self.team_id)
        if message_ts is not None:
            shown["ts"] = message_ts
        return shown

    def _interaction(
        self, payload: dict[str, Any], *, age: float, bad_signature: bool
    ) -> SignedRequest:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        return self.sign(body, FORM, payload=payload, age=age, bad_signature=bad_signature)


def _handle(user: str) -> str:
    return _HANDLES.get(user, user.lower())


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _container(message_ts: str, channel_id: str, *, ephemeral: bool) -> dict[str, Any]:
    return {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }


def _channel(channel_id: str) -> dict[str, str]:
    return {"id": channel_id, "name": "directmessage" if channel_id.startswith("D") else "general"}


def _option(option: Option) -> dict[str, Any]:
    if isinstance(option, Mapping):
        return copy.deepcopy(dict(option))
    value, text = (option, option) if isinstance(option, str) else option
    return {"text": {"type": "plain_text", "text": text, "emoji": True}, "value": value}


def _element_state(
    *,
    value: str | None,
    selected: Option | Sequence[Option] | None,
    date: str | None,
    element_type: str | None,
    text: str | None,
) -> dict[str, Any]:
    """The element-specific part of an ``actions[]`` item, as Slack reports each element."""
    if date is not None:
        return {"type": element_type or "datepicker", "selected_date": date}
    if selected is not None:
        if isinstance(selected, str | tuple | Mapping):
            state: dict[str, Any] = {"selected_option": _option(selected)}
            kind = element_type or "static_select"
        else:
            state = {"selected_options": [_option(option) for option in selected]}
            kind = element_type or "multi_static_select"
        if kind != "overflow":
            state["placeholder"] = {"type": "plain_text", "text": "Select an item", "emoji": True}
        return {"type": kind, **state}
    shown = text if text is not None else (value or "Button")
    button: dict[str, Any] = {
        "type": element_type or "button",
        "text": {"type": "plain_text", "text": shown, "emoji": True},
    }
    if value is not None:
        button["value"] = value
    return button


def _button_text(blocks: Iterable[Mapping[str, Any]], action_id: str, value: str) -> str | None:
    """The words of the button with ``action_id`` and ``value`` on the message, if there."""
    for block in blocks:
        elements = [*(block.get("elements") or []), block.get("accessory") or {}]
        for element in elements:
            if element.get("action_id") == action_id and element.get("value") == value:
                words = (element.get("text") or {}).get("text")
                return str(words) if words else None
    return None


def _block_of(blocks: Iterable[Mapping[str, Any]], action_id: str) -> str | None:
    """The ``block_id`` of the block whose element (or accessory) has ``action_id``."""
    for block in blocks:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        if block.get("element"):
            elements.append(block["element"])
        if any(element.get("action_id") == action_id for element in elements):
            block_id = block.get("block_id")
            return str(block_id) if block_id is not None else None
    return None
