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


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, lower-case, the scheme's default port filled in; None when it is not an
    http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _host_of(host: str, scheme: str) -> tuple[str, int] | None:
    """(host, port) of a ``Host`` header, the port defaulting to the page's scheme's (a proxy's ``$host`` drops
    ``:443``); None when it cannot be read."""
    origin = _origin_of(f"{scheme}://{host}")
    return None if origin is None else origin[1:]


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
        if origin is None:
            return page[:200]  # "null" (a sandboxed frame, a file) is foreign too
        host = _host_of(headers.get(b"host", b"").decode("latin-1"), origin[0])
        return None if origin in self.trusted or host == origin[1:] else page[:200]

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
            # Accepted, then closed with 4403 (the feeds' "not allowed"): a close before the accept is an HTTP 403
            # at the handshake, which a browser reports as 1006, and its page would reconnect forever.
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4403, "reason": "cross-origin: refused"})
            return
        await self.app(scope, receive, send)
