"""A local stand-in of Slack's Web API, served over loopback HTTP, that records every call.

The bot's ``AsyncWebClient(base_url=slack_api.base_url)`` talks to it as to
``https://slack.com/api/``: real HTTP, real JSON, Slack's response shapes and error codes
(``not_authed``, ``invalid_auth``, ``no_text``, ``message_not_found``, ``user_not_found``,
``invalid_blocks``, ``exchanged_trigger_id``, ``hash_conflict``, ``unknown_method``...).
It keeps what Slack would keep (the messages in each channel, each user's Home view, the
modals opened) so a test can read the conversation back, and it can answer HTTP 429 with
``Retry-After`` (platform notes C8) or any ``ok: false`` error on demand.

It also receives what the bot posts to a payload's ``response_url``: the payload builders
(``tests/support/slack_payloads.py``) point those at :attr:`SlackApiStandIn.origin`, and such posts
are recorded as calls of :data:`RESPONSE_URL`.

Methods answered: ``auth.test``, ``conversations.open``, ``chat.postMessage``,
``chat.update``, ``chat.postEphemeral``, ``chat.delete``, ``views.publish``, ``views.open``,
``users.info``; anything else gets ``unknown_method``.

Fixtures: ``slack_api`` (one server for the session), ``fresh_slack_api`` (the same, reset
for this test) and ``slack_requests`` (signed requests whose ``response_url``s point here).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.support.loopback import LoopbackStandIn
from tests.support.slack_payloads import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_USERS,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
    SlackRequests,
    SlackUser,
    Timestamps,
    dm_channel_id,
    fixture,
)

__all__ = [
    "BOT_SCOPES",
    "BOT_USER_NAME",
    "MESSAGE_BLOCKS_MAX",
    "RESPONSE_URL",
    "TEAM_NAME",
    "VIEW_BLOCKS_MAX",
    "Call",
    "SlackApiStandIn",
    "fresh_slack_api",
    "slack_api",
    "slack_requests",
]

RESPONSE_URL = "response_url"
"""The :attr:`Call.method` of a post to a payload's ``response_url``."""
TEAM_NAME = "Example Workspace"
BOT_USER_NAME = "referral-bot"
BOT_SCOPES = ("chat:write", "commands", "im:history", "im:write", "users:read", "users:read.email")
"""The manifest's bot scopes, sent back in ``X-OAuth-Scopes`` as Slack does."""
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
TEXT_MAX = 40_000
JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
"""Arguments a form-encoded call sends as JSON strings; recorded decoded."""

_JSON_MEDIA = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stand-in answered."""

    method: str
    """The Web API method (``chat.postMessage``), or :data:`RESPONSE_URL`."""
    args: dict[str, Any]
    """Query, form and JSON arguments merged; ``blocks``/``view``... decoded when sent as JSON
    strings. For a ``response_url`` post: the JSON body."""
    headers: dict[str, str]
    """Request headers, names lower-cased."""
    http_method: str
    status: int
    response: dict[str, Any]
    path: str = ""

    @property
    def ok(self) -> bool:
        """Whether Slack would have said ``"ok": true``."""
        return self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        """The ``error`` code of a failed call."""
        error = self.response.get("error")
        return str(error) if error is not None else None

    @property
    def token(self) -> str | None:
        """The bearer token the call carried (header, else a ``token`` argument)."""
        return _token(self.headers, self.args)

    @property
    def blocks(self) -> list[dict[str, Any]] | None:
        """The ``blocks`` argument, parsed."""
        blocks = self.args.get("blocks")
        return blocks if isinstance(blocks, list) else None


class _MethodError(Exception):
    """An ``ok: false`` answer (raised inside the stand-in's method handlers)."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


@dataclass(slots=True)
class _Fault:
    remaining: int
    error: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class SlackApiStandIn(LoopbackStandIn):
    """Slack's Web API for one workspace and one bot, in memory, behind a loopback server.

    Use as a context manager (or :meth:`start` / :meth:`stop`); :attr:`base_url` is the value
    for ``AsyncWebClient(base_url=...)`` (``http://127.0.0.1:PORT/api/``). Every helper is
    thread-safe: the server answers on its own thread.
    """

    name = "Slack stand-in"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._socket_open = False
        self._condition = threading.Condition()
        super().__init__()
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "apps.connections.open": self._apps_connections_open,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/commands/{rest:path}", self._response_url, methods=["POST"]),
                Route("/actions/{rest:path}", self._response_url, methods=["POST"]),
                WebSocketRoute("/link", self._socket_mode),
            ]
        )
        self.reset()

    # Serving --------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """What :meth:`start` returns."""
        return self.base_url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``, for ``AsyncWebClient(base_url=...)``."""
        return self.origin + "/api/"

    # Test controls --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, messages, views and faults; restore the default users."""
        with self._condition:
            self._calls: list[Call] = []
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._ephemeral: dict[str, list[dict[str, Any]]] = {}
            self._home_views: dict[str, dict[str, Any]] = {}
            self._opened_views: list[dict[str, Any]] = []
            self._used_triggers: set[str] = set()
            self._open_dms: set[str] = set()
            self._faults: dict[str, list[_Fault]] = {}
            self._users: dict[str, SlackUser] = {user.id: user for user in DEFAULT_USERS}
            self._timestamps = Timestamps(self.clock)
            self._socket_outbox: list[dict[str, Any]] = []
            self._socket_acks: list[dict[str, Any]] = []
            self._condition.notify_all()

    def set_user(self, user: SlackUser) -> None:
        """Add or replace a member (``users.info`` answers with their profile)."""
        with self._condition:
            self._users[user.id] = user

    def remove_user(self, user_id: str) -> None:
        """Forget a member: ``users.info`` answers ``user_not_found``."""
        with self._condition:
            self._users.pop(user_id, None)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429, ``Retry-After`` and
        ``{"ok": false, "error": "ratelimited"}``."""
        self._add_fault(
            method, _Fault(times, "ratelimited", 429, {"Retry-After": str(retry_after)})
        )

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``
        (HTTP 200, as Slack does for method errors, unless ``status`` says otherwise)."""
        self._add_fault(method, _Fault(times, error, status))

    def seed_message(
        self, channel: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> str:
        """Put a bot message in ``channel`` as if posted earlier (not recorded as a call);
        returns its ts."""
        args: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            args["blocks"] = blocks
        with self._condition:
            return str(self._chat_post_message(args)["ts"])

    # Reading back ---------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call so far (of ``method`` only, if given), oldest first."""
        with self._condition:
            return [call for call in self._calls if method is None or call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` arrived; returns all calls of ``method``.

        Wakes on each call (no polling). Raises TimeoutError after ``timeout`` seconds. From
        a coroutine whose loop also runs the code under test, use :meth:`wait_for_async`.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [call for call in self._calls if call.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [call.method for call in self._calls]
                    raise TimeoutError(
                        f"{len(found)} of {count} {method} call(s) after {timeout} s; "
                        f"calls so far: {seen}"
                    )
                self._condition.wait(remaining)

    async def wait_for_async(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds the worker thread's wait too
    ) -> list[Call]:
        """:meth:`wait_for` on a worker thread, leaving the event loop free meanwhile."""
        return await asyncio.to_thread(self.wait_for, method, count, timeout)

    def messages_to(self, channel: str) -> list[dict[str, Any]]:
        """The bot's messages in ``channel`` as they stand now (updates applied, deletions
        gone), oldest first. A user id means the DM with that user."""
        with self._condition:
            return copy.deepcopy(self._messages.get(_resolve(channel), []))

    def last_message(self, channel: str) -> dict[str, Any]:
        """The latest message in ``channel``; LookupError when there is none."""
        messages = self.messages_to(channel)
        if not messages:
            raise LookupError(f"no message in {_resolve(channel)}")
        return messages[-1]

    def last_blocks(self, channel: str) -> list[dict[str, Any]]:
        """The blocks of the latest message in ``channel`` (``[]`` for a text-only one)."""
        blocks = self.last_message(channel).get("blocks") or []
        assert isinstance(blocks, list)
        return blocks

    def ephemeral_to(self, channel: str) -> list[dict[str, Any]]:
        """Ephemeral messages posted in ``channel`` (each with its ``user``), oldest first."""
        with self._condition:
            return copy.deepcopy(self._ephemeral.get(_resolve(channel), []))

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user``."""
        with self._condition:
            view = self._home_views.get(user)
            return copy.deepcopy(view) if view is not None else None

    def opened_views(self) -> list[dict[str, Any]]:
        """Modals opened with ``views.open``, oldest first."""
        with self._condition:
            return copy.deepcopy(self._opened_views)

    # HTTP -----------------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        headers = {name.lower(): value for name, value in request.headers.items()}
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        invalid_json = False
        if raw and media == "application/json":
            try:
                parsed = json.loads(raw)
            except ValueError:
                invalid_json = True
            else:
                if isinstance(parsed, dict):
                    args.update(parsed)
                else:
                    invalid_json = True
        elif raw:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        for name in JSON_ARGUMENTS:
            if isinstance(args.get(name), str):
                with contextlib.suppress(ValueError):  # left as sent; the method reports it
                    args[name] = json.loads(args[name])
        with self._condition:
            status, body, extra_headers = self._answer(method, args, headers, invalid_json)
            self._record(
                Call(method, args, headers, request.method, status, body, request.url.path)
            )
        response_headers = {"X-OAuth-Scopes": ",".join(BOT_SCOPES), **extra_headers}
        return _json_response(body, status, response_headers)

    async def _response_url(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw = await request.body()
        try:
            args = json.loads(raw) if raw else {}
        except ValueError:
            args = {"raw": raw.decode(errors="replace")}
        body = {"ok": True}
        with self._condition:
            self._record(
                Call(RESPONSE_URL, args, headers, request.method, 200, body, request.url.path)
            )
        return _json_response(body, 200, {})

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        self._condition.notify_all()

    def _answer(
        self, method: str, args: dict[str, Any], headers: dict[str, str], invalid_json: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._handlers.get(method)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        token = _token(headers, args)
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if not token.startswith(("xoxb-", "xoxp-", "xoxe.", "xapp-")):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if invalid_json:
            return 200, {"ok": False, "error": "invalid_json"}, {}
        fault = self._take_fault(method)
        if fault is not None:
            return fault.status, {"ok": False, "error": fault.error}, dict(fault.headers)
        try:
            return 200, handler(args), {}
        except _MethodError as failure:
            return failure.status, {"ok": False, "error": failure.error, **failure.extra}, {}

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._condition:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.pop(0)
        return fault

    # Socket Mode ----------------------------------------------------------------------------

    def socket_send(self, envelope: dict[str, Any]) -> None:
        """Deliver ``envelope`` to the app over its Socket Mode connection."""
        with self._condition:
            self._socket_outbox.append(envelope)

    async def socket_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        """Wait for the app to acknowledge ``envelope_id`` over its Socket Mode connection."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._condition:
                for message in self._socket_acks:
                    if message.get("envelope_id") == envelope_id:
                        return message
            await asyncio.sleep(0.01)
        raise TimeoutError(f"no acknowledgement of {envelope_id}")

    @property
    def socket_connected(self) -> bool:
        """Whether an app holds a Socket Mode connection now."""
        return self._socket_open

    async def _socket_mode(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self._socket_open = True
        await websocket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}
        )
        try:
            while True:
                with self._condition:
                    outbox, self._socket_outbox = self._socket_outbox, []
                for envelope in outbox:
                    await websocket.send_json(envelope)
                try:
                    message = await asyncio.wait_for(websocket.receive_json(), 0.02)
                except TimeoutError:
                    continue
                with self._condition:
                    self._socket_acks.append(message)
                    self._condition.notify_all()
        except WebSocketDisconnect:
            pass
        finally:
            self._socket_open = False

    # Methods (called with the lock held) ----------------------------------------------------

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://{self.origin.removeprefix('http://')}/link"}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {
                "ok": True,
                "no_op": True,
                "already_open": True,
                "channel": {"id": args["channel"]},
            }
        users = [user.strip() for user in str(args.get("users") or "").split(",") if user.strip()]
        if not users:
            raise _MethodError("users_list_not_supplied")
        if len(users) > 1:
            raise _MethodError("not_implemented", detail="the stand-in opens 1:1 DMs only")
        if users[0] not in self._users and users[0] != BOT_USER_ID:
            raise _MethodError("user_not_found")
        channel = dm_channel_id(users[0])
        if channel in self._open_dms:
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}
        self._open_dms.add(channel)
        return {"ok": True, "channel": {"id": channel}}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve(_required(args, "channel", "channel_not_found"))
        content = _message_content(args)
        if not any(content.get(key) for key in ("text", "blocks", "attachments")):
            raise _MethodError("no_text")
        ts = self._timestamps.next()
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": content.get("text", ""),
            "team": TEAM_ID,
            **{key: value for key, value in content.items() if key != "text"},
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self._messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve(_required(args, "channel", "channel_not_found"))
        ts = str(_required(args, "ts", "message_not_found"))
        message = self._find(channel, ts)
        content = _message_content(args)
        message.update(content)  # what is left out is kept, as Slack does
        message["edited"] = {"user": BOT_USER_ID, "ts": self._timestamps.next()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve(_required(args, "channel", "channel_not_found"))
        user = str(_required(args, "user", "user_not_found"))
        content = _message_content(args)
        if not any(content.get(key) for key in ("text", "blocks", "attachments")):
            raise _MethodError("no_text")
        ts = self._timestamps.next()
        message = {"type": "message", "user": user, "ts": ts, "text": "", **content}
        self._ephemeral.setdefault(channel, []).append(message)
        return {"ok": True, "message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _resolve(_required(args, "channel", "channel_not_found"))
        ts = str(_required(args, "ts", "message_not_found"))
        message = self._find(channel, ts)
        self._messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(_required(args, "user_id", "invalid_arguments"))
        view = _view(args, "home")
        current = self._home_views.get(user)
        if args.get("hash") and current is not None and args["hash"] != current["hash"]:
            raise _MethodError("hash_conflict")
        published = self._stored_view(view, current["id"] if current else None)
        self._home_views[user] = published
        return {"ok": True, "view": copy.deepcopy(published)}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(_required(args, "trigger_id", "invalid_arguments"))
        view = _view(args, "modal")
        if trigger in self._used_triggers:
            raise _MethodError("exchanged_trigger_id")
        self._used_triggers.add(trigger)
        opened = self._stored_view(view, None)
        self._opened_views.append(opened)
        return {"ok": True, "view": copy.deepcopy(opened)}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(_required(args, "user", "user_not_found"))
        user = self._users.get(user_id)
        if user is None:
            raise _MethodError("user_not_found")
        return {"ok": True, "user": _user_object(user)}

    # Helpers --------------------------------------------------------------------------------

    def _find(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise _MethodError("message_not_found")

    def _stored_view(self, view: dict[str, Any], view_id: str | None) -> dict[str, Any]:
        identifier = view_id or "V" + secrets.token_hex(5).upper()
        stored = {
            "id": identifier,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "previous_view_id": None,
            "root_view_id": identifier,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return copy.deepcopy(stored)


def _json_response(body: dict[str, Any], status: int, headers: Mapping[str, str]) -> Response:
    return Response(
        json.dumps(body), status_code=status, headers=dict(headers), media_type=_JSON_MEDIA
    )


def _token(headers: Mapping[str, str], args: Mapping[str, Any]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    token = args.get("token")
    return str(token) if token else None


def _resolve(channel: str) -> str:
    """A user id posted to means the bot's DM with that user, as in Slack."""
    return dm_channel_id(channel) if channel[:1] in ("U", "W") else channel


def _required(args: Mapping[str, Any], name: str, error: str) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise _MethodError(error)
    return value


def _message_content(args: Mapping[str, Any]) -> dict[str, Any]:
    """The ``text`` / ``blocks`` / ``attachments`` of a message call, checked as Slack does."""
    content: dict[str, Any] = {}
    if "text" in args and args["text"] is not None:
        text = str(args["text"])
        if len(text) > TEXT_MAX:
            raise _MethodError("msg_too_long")
        content["text"] = text
    if "blocks" in args and args["blocks"] is not None:
        content["blocks"] = _blocks(args["blocks"], MESSAGE_BLOCKS_MAX, "invalid_blocks")
    if "attachments" in args and args["attachments"] is not None:
        if not isinstance(args["attachments"], list):
            raise _MethodError("invalid_attachments")
        content["attachments"] = copy.deepcopy(args["attachments"])
    return content


def _blocks(blocks: Any, limit: int, error: str) -> list[dict[str, Any]]:
    """Blocks as Slack stores them: each with a ``block_id`` (a random one if none was given)."""
    if not isinstance(blocks, list) or not all(
        isinstance(block, dict) and block.get("type") for block in blocks
    ):
        raise _MethodError(error, response_metadata={"messages": ["[ERROR] invalid blocks"]})
    if len(blocks) > limit:
        raise _MethodError(
            error,
            response_metadata={"messages": [f"[ERROR] no more than {limit} items allowed"]},
        )
    stored = copy.deepcopy(blocks)
    for block in stored:
        block.setdefault("block_id", secrets.token_urlsafe(4)[:5])
    return stored


def _view(args: Mapping[str, Any], kind: str) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict) or view.get("type") != kind:
        raise _MethodError("invalid_arguments")
    checked = dict(view)
    checked["blocks"] = _blocks(view.get("blocks", []), VIEW_BLOCKS_MAX, "invalid_arguments")
    return checked


def _user_object(user: SlackUser) -> dict[str, Any]:
    """``users.info``'s ``user``, from the documented example with this member's details."""
    found: dict[str, Any] = fixture("users_info_response")["user"]
    found.update(id=user.id, team_id=TEAM_ID, name=user.name, real_name=user.real_name)
    found["is_bot"] = user.is_bot
    found["profile"].update(
        title=user.title,
        real_name=user.real_name,
        real_name_normalized=user.real_name,
        display_name=user.name,
        display_name_normalized=user.name,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        team=TEAM_ID,
    )
    return found


# Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slack_api() -> Iterator[SlackApiStandIn]:
    """The Web API stand-in, one server for the whole session (see ``fresh_slack_api``)."""
    with SlackApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def fresh_slack_api(slack_api: SlackApiStandIn) -> SlackApiStandIn:
    """The stand-in, reset for this test: no calls, messages, views or faults."""
    slack_api.reset()
    return slack_api


@pytest.fixture
def slack_requests(slack_api: SlackApiStandIn) -> SlackRequests:
    """Signed Slack requests (secret :data:`SIGNING_SECRET`) whose ``response_url``s point
    at the stand-in."""
    return SlackRequests(SIGNING_SECRET, hooks_url=slack_api.origin)
