"""``GET /auth/callback``: where Entra ID sends the seller's browser after sign-in.

It answers with a small page (the seller goes back to chat) and hands the completed sign-in
to ``signed_in``, which tells the chat. The page never shows the code, the state or a
token; it is not cached, not framed, and sends no referrer (the callback URL carries the
code until it is redeemed, which happens before this page is sent).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.identity.signin import SignedIn, SignInRefused, SignIns

logger = logging.getLogger(__name__)

SignedInHandler = Callable[[SignedIn], Awaitable[None]]
Endpoint = Callable[[Request], Awaitable[HTMLResponse]]

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def callback_endpoint(sign_ins: Callable[[], SignIns], signed_in: SignedInHandler) -> Endpoint:
    """The endpoint; ``sign_ins`` gives the service once the app has started."""

    async def callback(request: Request) -> HTMLResponse:
        # form_post: Entra ID posts the answer as a form (the body is bounded by the app's
        # size limit); a GET with a query string is taken too (response_mode=query).
        params = dict(request.query_params)
        if request.method == "POST":
            params = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            done = await sign_ins().finish(params)
        except SignInRefused as refused:
            return page("Not signed in", refused.message, status=400)
        try:
            await signed_in(done)
        except Exception:
            logger.exception("could not tell %s they are signed in", done.principal)
        return page(
            "Signed in",
            f"You are signed in to Partner Center as {done.account.username}. "
            "You can close this tab and go back to the chat.",
        )

    return callback


def page(title: str, message: str, *, status: int = 200) -> HTMLResponse:
    """A minimal page: a heading and one sentence, escaped."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}: referral-bot</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;"
        "padding:0 1em;line-height:1.5'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=_HEADERS)
