"""Refuse changes sent by another site's page (cross-site request forgery) and feeds opened from one.

The session cookie is ``SameSite=Lax``: a page on another *site* cannot send it with a form or a fetch. A sibling
subdomain or another port of the same host is the same site, though, and would still send it. Browsers name the
page a request comes from in ``Origin`` (every POST, and every websocket handshake), so a request that changes
something (POST, PUT, PATCH, DELETE) or opens a feed is refused when its ``Origin`` (else its ``Referer``) is not
this server: the ``Host`` the request was sent to, or the configured ``PODIUM_PUBLIC_URL`` / ``PODIUM_BOARD_URL``
(a reverse proxy that rewrites ``Host``). Requests that name no page at all (the tablets' queued sends name theirs;
scripts, the benchmark and ``curl`` name none) are not browser forgeries and pass; the token still decides who
they are. The public leaderboard's feed carries only released results and may be opened from anywhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.types import ASGIApp, Receive, Scope, Send
from msgspec import json

from judging.errors import error_body

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_FEEDS = ("/ws/board/",)
"""Websocket paths any page may open (no credentials, released results only)."""


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-case; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc.lower()}"


class OriginMiddleware:
    def __init__(self, app: ASGIApp, trusted: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted = {o for o in (_origin_of(u) for u in trusted if u) if o}

    def _foreign(self, scope: Scope) -> str | None:
        """The foreign page a request comes from, or None when it comes from this server (or names no page)."""
        headers = dict(scope.get("headers") or [])
        claimed = headers.get(b"origin") or headers.get(b"referer")
        if not claimed:
            return None
        page = claimed.decode("latin-1")
        origin = _origin_of(page)
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if origin is not None and (origin.split("://", 1)[1] == host or origin in self.trusted):
            return None
        return page[:200]  # "null" (a sandboxed frame, a file) is foreign too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope.get("method") in UNSAFE:
            foreign = self._foreign(scope)
            if foreign is not None:
                body = json.encode(error_body(
                    "cross_origin", f"Refused: this request was sent by a page of another site ({foreign}). If "
                    "Podium is behind a proxy, set PODIUM_PUBLIC_URL to the address shown in the browser.",
                    status_code=403))
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        elif kind == "websocket" and not str(scope.get("path", "")).startswith(OPEN_FEEDS) \
                and self._foreign(scope) is not None:
            await send({"type": "websocket.close", "code": 4403, "reason": "cross-origin"})
            return
        await self.app(scope, receive, send)
