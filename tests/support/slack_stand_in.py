"""A local stand-in of Slack's Web API, served over loopback HTTP, that records every call.

The bot's ``AsyncWebClient(base_url=slack_api.base_url)`` talks to it as to
``https://slack.com/api/``: real HTTP, real JSON, Slack's response shapes and error codes
(``not_authed``, ``invalid_auth``, ``no_text``, ``message_not_found``, ``user_not_found``,
``invalid_blocks``, ``unknown_method``...). It keeps what Slack would keep (the messages in
each channel) so a test can read the conversation back, and it can answer HTTP 429 with
``Retry-After`` (platform notes C8) or any ``ok: false`` error on demand, once
(:meth:`SlackApiStandIn.fail`) or for every post to a channel that no longer takes the bot's
messages (:meth:`SlackApiStandIn.close_channel`). It can also be slow
(:meth:`SlackApiStandIn.delay`): a call held back and abandoned by its client meanwhile (the
process killed) is not done, and is recorded with status :data:`CLIENT_GONE`.

Methods answered: the ones the product calls (``auth.test``, ``conversations.open``,
``chat.postMessage`` (a ``thread_ts`` kept on the reply), ``chat.update``, ``views.publish``,
``views.open``, ``users.info``, ``users.lookupByEmail`` (``users_not_found`` for an address
nobody has), ``usergroups.users.list``, and ``apps.connections.open`` with a WebSocket at
``/link`` for Socket Mode); anything else gets ``unknown_method``.

**Messages** are kept as Slack keeps them: ``chat.update`` rewrites the message in place (what
it leaves out is kept), so :meth:`SlackApiStandIn.message` and
:meth:`SlackApiStandIn.messages_to` read the latest version. **User groups** are made with
:meth:`SlackApiStandIn.set_usergroup`; ``usergroups.users.list`` answers ``no_such_subteam``
for any other. **Modals**: ``views.open`` takes a ``trigger_id`` once (again:
``exchanged_trigger_id``), checks the modal as Slack does (title, submit, block count,
``callback_id`` and ``private_metadata`` lengths) and keeps it (:meth:`SlackApiStandIn.modals`).

**response_url.** :meth:`SlackApiStandIn.response_url` mints a URL shaped like Slack's
(``{origin}/actions/T0001/<n>/<secret>``, ``/commands/...`` for a slash command) bound to the
message that carried the control. A JSON post to it does what Slack does (platform notes C1,
C9): ``delete_original`` deletes that message, ``replace_original`` replaces it (same ts, so a
later ``chat.update`` finds the new content), otherwise ``response_type: in_channel`` posts a
new message in the channel and anything else an ephemeral one (:meth:`ephemeral_to`). A URL
serves 5 uses within 30 minutes of minting. Each post is recorded as a call of
:data:`RESPONSE_URL` whose :attr:`Call.use` says what it did.

**Rate tiers** (off unless ``rate_tiers=True`` or :meth:`set_rate_tiers`): token buckets per
token (the workspace's install) and method, after Slack's published tiers (:data:`TIERS`,
:data:`METHOD_TIERS`), and per channel for ``chat.postMessage``; over the limit, HTTP 429
with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``. :meth:`counts` tallies
calls and 429s per method.

Fixtures: ``slack_api`` (one server for the session), ``fresh_slack_api`` (the same, reset
for this test) and ``slack_requests`` (signed requests whose ``response_url``s point here).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

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
    "CLIENT_GONE",
    "MESSAGE_BLOCKS_MAX",
    "METHOD_TIERS",
    "POST_MESSAGE_PER_CHANNEL",
    "RESPONSE_URL",
    "RESPONSE_URL_SECONDS",
    "RESPONSE_URL_USES",
    "TEAM_NAME",
    "TIERS",
    "VIEW_BLOCKS_MAX",
    "VIEW_TITLE_MAX",
    "Call",
    "Count",
    "Limit",
    "ResponseUse",
    "SlackApiStandIn",
    "fresh_slack_api",
    "slack_api",
    "slack_requests",
]

RESPONSE_URL = "response_url"
"""The :attr:`Call.method` of a post to a ``response_url``."""
CLIENT_GONE = 499
"""The :attr:`Call.status` of a call held by :meth:`SlackApiStandIn.delay` whose client hung up
before it was answered (nginx's code for it): nothing of it was done, nothing was answered."""
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
"""A ``response_url`` serves :data:`RESPONSE_URL_USES` posts within this many seconds."""
TEAM_NAME = "Example Workspace"
BOT_USER_NAME = "referral-bot"
BOT_SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "im:history",
    "im:write",
    "usergroups:read",
    "users:read",
    "users:read.email",
)
"""The manifest's bot scopes, sent back in ``X-OAuth-Scopes`` as Slack does."""
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
VIEW_TITLE_MAX = 24
"""A modal's title, submit and close texts, at most (platform notes C2)."""
CALLBACK_ID_MAX = 255
PRIVATE_METADATA_MAX = 3_000
TEXT_MAX = 40_000
JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
"""Arguments a form-encoded call sends as JSON strings; recorded decoded."""

_JSON_MEDIA = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket: ``per_minute`` calls a minute, at most ``burst`` at once."""

    per_minute: float
    burst: int


TIERS: Mapping[int, Limit] = {
    1: Limit(1, 1),
    2: Limit(20, 20),
    3: Limit(50, 50),
    4: Limit(100, 100),
}
"""Slack's Web API tiers ("1+", "20+", "50+", "100+" a minute, docs.slack.dev/apis/web-api/
rate-limits). Slack evaluates them per minute and tolerates bursts without saying how large;
here a bucket holds one minute's allowance and refills continuously."""
METHOD_TIERS: Mapping[str, int] = {
    "chat.update": 3,
    "conversations.open": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "views.open": 4,
    "views.publish": 4,
}
"""The tier of each limited method the stand-in answers (from each method's reference page).
``auth.test`` and ``apps.connections.open`` are not limited here."""
POST_MESSAGE_PER_CHANNEL = Limit(60, 3)
"""``chat.postMessage``: "about one message a second per channel, short bursts allowed". Slack
also keeps an unpublished workspace-wide cap, which the stand-in does not model."""


Effect = Literal["replaced", "deleted", "posted", "ephemeral", "unbound"]


@dataclass(frozen=True, slots=True)
class ResponseUse:
    """What one accepted post to a ``response_url`` did."""

    url: str
    number: int
    """Which use of the URL this was, 1 to :data:`RESPONSE_URL_USES`."""
    effect: Effect
    """``unbound``: the URL was not minted by :meth:`SlackApiStandIn.response_url` (the
    payload builders' own URLs), so the stand-in knows no message to act on and only records
    the post."""
    channel: str | None
    ts: str | None
    """The message replaced, deleted or posted."""
    message: dict[str, Any] | None
    """The message as it stands after the use (None when deleted or unbound)."""


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
    at: float = 0.0
    """``time.perf_counter()`` when the stand-in answered."""
    use: ResponseUse | None = None
    """For an accepted ``response_url`` post: what it did."""

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


@dataclass(frozen=True, slots=True)
class Count:
    """Calls of one method, and how many of them were answered HTTP 429."""

    calls: int = 0
    ratelimited: int = 0


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


@dataclass(slots=True)
class _Delay:
    remaining: int
    seconds: float


@dataclass(slots=True)
class _Hook:
    """A ``response_url``: where it points, until when, and how often it was used."""

    channel: str | None
    ts: str | None
    user: str | None
    expires_at: float | None
    uses: int = 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class SlackApiStandIn(LoopbackStandIn):
    """Slack's Web API for one workspace and one bot, in memory, behind a loopback server.

    Use as a context manager (or :meth:`start` / :meth:`stop`); :attr:`base_url` is the value
    for ``AsyncWebClient(base_url=...)`` (``http://127.0.0.1:PORT/api/``). Every helper is
    thread-safe: the server answers on its own thread. ``clock`` (seconds) dates messages,
    expires ``response_url``s and refills the rate buckets.
    """

    name = "Slack stand-in"

    def __init__(self, *, clock: Callable[[], float] = time.time, rate_tiers: bool = False) -> None:
        self.clock = clock
        self._default_tiers = rate_tiers
        self._condition = threading.Condition()
        self._listeners: list[Callable[[Call], None]] = []
        self._hook_numbers = itertools.count(1_000_001)
        super().__init__()
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "apps.connections.open": self._apps_connections_open,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route(
                    "/{kind}/{team}/{number}/{secret}", self._response_url_post, methods=["POST"]
                ),
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
        """Forget calls, messages, response_urls and faults; restore the default users and the
        rate tiers given to the constructor (full buckets)."""
        with self._condition:
            self._calls: list[Call] = []
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._ephemeral: dict[str, list[dict[str, Any]]] = {}
            self._open_dms: set[str] = set()
            self._faults: dict[str, list[_Fault]] = {}
            self._delays: dict[str, list[_Delay]] = {}
            self._held: dict[str, int] = {}
            self._users: dict[str, SlackUser] = {user.id: user for user in DEFAULT_USERS}
            self._timestamps = Timestamps(self.clock)
            self._hooks: dict[str, _Hook] = {}
            self._tiers = self._default_tiers
            self._buckets: dict[tuple[str, ...], _Bucket] = {}
            self._socket_outbox: list[dict[str, Any]] = []
            self._socket_acks: list[dict[str, Any]] = []
            self._closed: dict[str, str] = {}
            self._usergroups: dict[str, tuple[str, ...]] = {}
            self._modals: list[dict[str, Any]] = []
            self._exchanged: set[str] = set()
            self._condition.notify_all()

    def set_user(self, user: SlackUser) -> None:
        """Add or replace a member (``users.info`` answers with their profile)."""
        with self._condition:
            self._users[user.id] = user

    def set_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        """Make (or replace) the user group ``group_id`` (``S...``) with ``users`` as its
        members, for ``usergroups.users.list`` (until :meth:`reset`)."""
        with self._condition:
            self._usergroups[group_id] = tuple(users)

    def set_rate_tiers(self, enabled: bool) -> None:
        """Enforce the rate tiers (or stop); either way the buckets start full."""
        with self._condition:
            self._tiers = enabled
            self._buckets = {}

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

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before doing and
        answering them, as a slow Slack does. A call whose client hangs up meanwhile (its
        process killed) is never done: no message posted, no fault or rate token spent; it is
        recorded with status :data:`CLIENT_GONE` and error ``client_gone``. :meth:`held` says
        how many calls are being held right now."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._condition:
            self._delays.setdefault(method, []).append(_Delay(times, seconds))

    def held(self, method: str | None = None) -> int:
        """How many calls (of ``method`` only, if given) :meth:`delay` is holding right now."""
        with self._condition:
            if method is not None:
                return self._held.get(method, 0)
            return sum(self._held.values())

    def close_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """From now on (until :meth:`reset`), answer every ``chat.postMessage`` and
        ``chat.update`` in ``channel`` with ``error``, as Slack does for a channel that no
        longer takes the bot's messages:
        ``channel_not_found`` (deleted, or private without the bot), ``is_archived``,
        ``not_in_channel`` (the bot was removed)..."""
        with self._condition:
            self._closed[_resolve(channel)] = error

    def response_url(
        self,
        channel: str,
        message_ts: str | None = None,
        *,
        user: str | None = None,
        kind: Literal["actions", "commands"] = "actions",
        team_id: str = TEAM_ID,
    ) -> str:
        """A fresh ``response_url`` for an interaction in ``channel`` (a user id means the
        DM with them) on the message ``message_ts`` (None for a slash command: nothing to
        replace). ``user`` is who sees its ephemeral posts. Valid for 5 uses, 30 minutes."""
        with self._condition:
            number = next(self._hook_numbers)
            path = f"/{kind}/{team_id}/{number}/{secrets.token_urlsafe(18)}"
            expires_at = self.clock() + RESPONSE_URL_SECONDS
            self._hooks[path] = _Hook(_resolve(channel), message_ts, user, expires_at)
        return self.origin + path

    def listen(self, listener: Callable[[Call], None]) -> Callable[[], None]:
        """Call ``listener`` with every call as it is recorded (on the server's thread, with
        the stand-in's lock held: be quick, call nothing of the stand-in). Returns a function
        that stops the listening."""
        with self._condition:
            self._listeners.append(listener)

        def stop() -> None:
            with self._condition, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return stop

    # Reading back ---------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call so far (of ``method`` only, if given), oldest first."""
        with self._condition:
            return [call for call in self._calls if method is None or call.method == method]

    def uses(self, url: str) -> list[Call]:
        """The posts to one ``response_url`` (refused ones too), oldest first."""
        path = urlsplit(url).path
        return [call for call in self.calls(RESPONSE_URL) if call.path == path]

    def counts(self, since: int = 0) -> dict[str, Count]:
        """Calls and HTTP 429 answers per method (:data:`RESPONSE_URL` for response_url
        posts), counting from the ``since``-th call (a :meth:`mark`)."""
        with self._condition:
            tally: dict[str, Count] = {}
            for call in self._calls[since:]:
                seen = tally.get(call.method, Count())
                tally[call.method] = Count(seen.calls + 1, seen.ratelimited + (call.status == 429))
            return tally

    def mark(self) -> int:
        """How many calls were recorded so far (for :meth:`counts`)."""
        with self._condition:
            return len(self._calls)

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
        """The bot's messages in ``channel`` as they stand now (updates and replacements
        applied, deletions gone), oldest first. A user id means the DM with that user."""
        with self._condition:
            return copy.deepcopy(self._messages.get(_resolve(channel), []))

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The bot's message ``ts`` in ``channel`` as it stands now (its latest
        ``chat.update`` applied); LookupError when there is none."""
        with self._condition:
            try:
                return copy.deepcopy(self._find(_resolve(channel), ts))
            except _MethodError:
                raise LookupError(f"no message {ts} in {_resolve(channel)}") from None

    def modals(self) -> list[dict[str, Any]]:
        """The modals ``views.open`` opened, oldest first (as Slack answered them, with the
        ``trigger_id`` they were opened with)."""
        with self._condition:
            return copy.deepcopy(self._modals)

    def last_message(self, channel: str) -> dict[str, Any]:
        """The latest message in ``channel``; LookupError when there is none."""
        messages = self.messages_to(channel)
        if not messages:
            raise LookupError(f"no message in {_resolve(channel)}")
        return messages[-1]

    def ephemeral_to(self, channel: str) -> list[dict[str, Any]]:
        """Ephemeral messages posted through response_urls in ``channel`` (each with the
        ``user`` who sees it), oldest first."""
        with self._condition:
            return copy.deepcopy(self._ephemeral.get(_resolve(channel), []))

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
        if not await self._held_back(method, request):
            gone = {"ok": False, "error": "client_gone"}
            with self._condition:
                self._record(
                    Call(method, args, headers, request.method, CLIENT_GONE, gone, request.url.path)
                )
            return _json_response(gone, CLIENT_GONE, {})  # nobody is there to read it
        with self._condition:
            status, body, extra_headers = self._answer(method, args, headers, invalid_json)
            self._record(
                Call(method, args, headers, request.method, status, body, request.url.path)
            )
        response_headers = {"X-OAuth-Scopes": ",".join(BOT_SCOPES), **extra_headers}
        return _json_response(body, status, response_headers)

    async def _response_url_post(self, request: Request) -> Response:
        path = request.url.path
        if request.path_params["kind"] not in ("actions", "commands"):
            return Response("Not Found", status_code=404)
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw = await request.body()
        try:
            args = json.loads(raw) if raw else {}
        except ValueError:
            args = {"raw": raw.decode(errors="replace")}
        with self._condition:
            status, body, use = self._respond(self.origin + path, path, args)
            self._record(
                Call(RESPONSE_URL, args, headers, request.method, status, body, path, use=use)
            )
        return _json_response(body, status, {})

    async def _held_back(self, method: str, request: Request) -> bool:
        """Wait out a :meth:`delay` queued for ``method``, if any; False when the client hung
        up meanwhile (checked every 10 ms)."""
        with self._condition:
            queue = self._delays.get(method)
            if not queue:
                return True
            delay = queue[0]
            delay.remaining -= 1
            if delay.remaining == 0:
                queue.pop(0)
            self._held[method] = self._held.get(method, 0) + 1
            self._condition.notify_all()
        try:
            deadline = time.monotonic() + delay.seconds
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    return False
                await asyncio.sleep(min(0.01, max(deadline - time.monotonic(), 0)))
            return not await request.is_disconnected()
        finally:
            with self._condition:
                self._held[method] -= 1
                self._condition.notify_all()

    def _record(self, call: Call) -> None:
        call = replace(call, at=time.perf_counter())
        self._calls.append(call)
        for listener in self._listeners:
            listener(call)
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
        retry_after = self._throttle(token, method, args)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
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

    # Rate tiers -----------------------------------------------------------------------------

    def _throttle(self, token: str, method: str, args: Mapping[str, Any]) -> int | None:
        """None if the call may go ahead (a token is taken), else the seconds to wait."""
        if not self._tiers:
            return None
        if method == "chat.postMessage":
            if not args.get("channel"):
                return None  # the method answers channel_not_found
            key: tuple[str, ...] = (token, method, _resolve(str(args["channel"])))
            limit = POST_MESSAGE_PER_CHANNEL
        elif method in METHOD_TIERS:
            key, limit = (token, method), TIERS[METHOD_TIERS[method]]
        else:
            return None
        now = self.clock()
        rate = limit.per_minute / 60
        bucket = self._buckets.setdefault(key, _Bucket(float(limit.burst), now))
        bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))  # Slack sends whole seconds

    # response_url ---------------------------------------------------------------------------

    def _respond(
        self, url: str, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], ResponseUse | None]:
        hook = self._hooks.get(path)
        if hook is None:  # made by a payload builder, not minted here: nothing to act on
            hook = self._hooks[path] = _Hook(None, None, None, None)
        expired = hook.expires_at is not None and self.clock() > hook.expires_at
        if expired or hook.uses >= RESPONSE_URL_USES:
            # Slack refuses a used-up or expired response_url with HTTP 404 (seen in
            # slackapi/bolt-js#1261); the body it sends then is not documented publicly, so
            # the error code here, in the Web API's JSON shape, is the stand-in's guess.
            return 404, {"ok": False, "error": "expired_url"}, None
        try:
            effect, channel, ts, message = self._apply(hook, body)
        except _MethodError as failure:
            return failure.status, {"ok": False, "error": failure.error}, None
        hook.uses += 1
        use = ResponseUse(url, hook.uses, effect, channel, ts, message)
        return 200, {"ok": True}, use

    def _apply(
        self, hook: _Hook, body: Mapping[str, Any]
    ) -> tuple[Effect, str | None, str | None, dict[str, Any] | None]:
        """Do what a response_url post asks; ``(effect, channel, ts, message after)``."""
        if hook.channel is None:
            return "unbound", None, None, None
        channel = hook.channel
        if body.get("delete_original"):
            original = self._original(hook)
            self._messages[channel].remove(original)
            return "deleted", channel, hook.ts, None
        content = _message_content(body, status=400)
        if not any(content.get(key) for key in ("text", "blocks", "attachments")):
            raise _MethodError("no_text", status=400)
        if body.get("replace_original"):
            original = self._original(hook)
            for key in ("text", "blocks", "attachments"):
                original.pop(key, None)
            original.update({"text": "", **content})
            return "replaced", channel, hook.ts, copy.deepcopy(original)
        if body.get("response_type") == "in_channel":
            posted = self._chat_post_message({**body, "channel": channel})
            return "posted", channel, posted["ts"], posted["message"]
        ts = self._timestamps.next()
        message = {"type": "message", "user": hook.user, "ts": ts, "text": "", **content}
        self._ephemeral.setdefault(channel, []).append(message)
        return "ephemeral", channel, ts, copy.deepcopy(message)

    def _original(self, hook: _Hook) -> dict[str, Any]:
        """The message a response_url was minted for. Slack's answer when it is gone (or when
        a slash command's URL has none) is not documented; the stand-in says 404."""
        if hook.channel is None or hook.ts is None:
            raise _MethodError("message_not_found", status=404)
        try:
            return self._find(hook.channel, hook.ts)
        except _MethodError:
            raise _MethodError("message_not_found", status=404) from None

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

    async def _socket_mode(self, websocket: WebSocket) -> None:
        await websocket.accept()
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
        if channel in self._closed:
            raise _MethodError(self._closed[channel])
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
        if channel in self._closed:
            raise _MethodError(self._closed[channel])
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

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        _required(args, "user_id", "invalid_arguments")
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _MethodError("invalid_arguments")
        blocks = _blocks(view.get("blocks", []), VIEW_BLOCKS_MAX, "invalid_arguments")
        identifier = "V" + secrets.token_hex(5).upper()
        published = {
            "id": identifier,
            "team_id": TEAM_ID,
            "type": "home",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "root_view_id": identifier,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return {"ok": True, "view": published}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = str(_required(args, "trigger_id", "invalid_arguments"))
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _MethodError("invalid_arguments")
        if trigger_id in self._exchanged:
            raise _MethodError("exchanged_trigger_id")
        blocks = _blocks(view.get("blocks", []), VIEW_BLOCKS_MAX, "invalid_arguments")
        _check_modal(view, blocks)
        self._exchanged.add(trigger_id)
        identifier = "V" + secrets.token_hex(5).upper()
        opened = {
            **copy.deepcopy(view),
            "id": identifier,
            "team_id": TEAM_ID,
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "root_view_id": identifier,
            "previous_view_id": None,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self._modals.append({**copy.deepcopy(opened), "trigger_id": trigger_id})
        return {"ok": True, "view": opened}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group_id = str(_required(args, "usergroup", "invalid_arguments"))
        members = self._usergroups.get(group_id)
        if members is None:
            raise _MethodError("no_such_subteam")
        return {"ok": True, "users": list(members)}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(_required(args, "user", "user_not_found"))
        user = self._users.get(user_id)
        if user is None:
            raise _MethodError("user_not_found")
        return {"ok": True, "user": _user_object(user)}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        # Slack compares the address whole, case-insensitively; nobody by it: users_not_found.
        email = str(_required(args, "email", "users_not_found")).strip().lower()
        for user in self._users.values():
            if user.email.lower() == email:
                return {"ok": True, "user": _user_object(user)}
        raise _MethodError("users_not_found")

    # Helpers --------------------------------------------------------------------------------

    def _find(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise _MethodError("message_not_found")


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


def _message_content(args: Mapping[str, Any], *, status: int = 200) -> dict[str, Any]:
    """The ``text`` / ``blocks`` / ``attachments`` of a message, checked as Slack does
    (errors with HTTP ``status``: 200 for the Web API, 400 for a response_url)."""
    content: dict[str, Any] = {}
    if "text" in args and args["text"] is not None:
        text = str(args["text"])
        if len(text) > TEXT_MAX:
            raise _MethodError("msg_too_long", status=status)
        content["text"] = text
    if "blocks" in args and args["blocks"] is not None:
        try:
            content["blocks"] = _blocks(args["blocks"], MESSAGE_BLOCKS_MAX, "invalid_blocks")
        except _MethodError as failure:
            failure.status = status
            raise
    if "attachments" in args and args["attachments"] is not None:
        if not isinstance(args["attachments"], list):
            raise _MethodError("invalid_attachments", status=status)
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


def _check_modal(view: Mapping[str, Any], blocks: list[dict[str, Any]]) -> None:
    """A modal as ``views.open`` accepts it (docs.slack.dev/reference/views/modal-views):
    a plain-text title, a submit button when it has inputs, texts and ids within limits."""
    texts = {name: view.get(name) for name in ("title", "submit", "close")}
    if not isinstance(texts["title"], dict):
        raise _MethodError("invalid_arguments", response_metadata={"messages": ["no title"]})
    for name, text in texts.items():
        if text is None:
            continue
        words = text.get("text") if isinstance(text, dict) else None
        if text.get("type") != "plain_text" or not isinstance(words, str) or not words:
            raise _MethodError("invalid_arguments", response_metadata={"messages": [name]})
        if len(words) > VIEW_TITLE_MAX:
            said = f"[ERROR] {name} must be at most {VIEW_TITLE_MAX} characters"
            raise _MethodError("invalid_arguments", response_metadata={"messages": [said]})
    if any(block["type"] == "input" for block in blocks) and texts["submit"] is None:
        said = "[ERROR] a view with input blocks needs a submit button"
        raise _MethodError("invalid_arguments", response_metadata={"messages": [said]})
    if len(str(view.get("callback_id") or "")) > CALLBACK_ID_MAX:
        raise _MethodError("invalid_arguments", response_metadata={"messages": ["callback_id"]})
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA_MAX:
        said = "private_metadata"
        raise _MethodError("invalid_arguments", response_metadata={"messages": [said]})


def _user_object(user: SlackUser) -> dict[str, Any]:
    """``users.info``'s ``user``, from the documented example with this member's details."""
    found: dict[str, Any] = fixture("users_info_response")["user"]
    found.update(id=user.id, team_id=TEAM_ID, name=user.name, real_name=user.real_name)
    found["is_bot"] = user.is_bot
    found["is_restricted"] = user.is_restricted
    found["is_ultra_restricted"] = user.is_ultra_restricted
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
    """The stand-in, reset for this test: no calls, messages, response_urls or faults."""
    slack_api.reset()
    return slack_api


@pytest.fixture
def slack_requests(slack_api: SlackApiStandIn) -> SlackRequests:
    """Signed Slack requests (secret :data:`SIGNING_SECRET`) whose ``response_url``s point
    at the stand-in."""
    return SlackRequests(
        SIGNING_SECRET, hooks_url=slack_api.origin, response_urls=slack_api.response_url
    )
