"""Display routes: the venue big screen, the leaderboard screen, live-feed snapshots and the websocket feeds.

Feeds (protocol in ``live/protocol.py``, documented in docs/live.md):

* ``/ws/venue/{venue_id}?since=N`` — a venue (big screen): display, host, chief judge of that venue, or staff.
* ``/ws/venue/{venue_id}/console?since=N`` — the same feed plus the panel's tablets coming and going (``presence``):
  the venue's host and chief judge, or staff (their control page).
* ``/ws/board/{contest_id}?since=N`` — the public leaderboard: anonymous.
* ``/ws/staff/{contest_id}?since=N`` — all venues, progress and tablet presence: staff.

Websockets are accepted first and then closed with a 44xx code when not allowed, so a screen can tell "this
link is not valid" (do not retry) from a network blip (reconnect).
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from typing import Any

import segno
from litestar import Request, Router, WebSocket, get, websocket
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import select

from judging.auth import Principal, load_principal, may_control_venue, requires_display, requires_staff
from judging.db.engine import unavailable
from judging.db.models import Contest, Entry, TopicType, Venue
from judging.errors import PodiumError
from judging.feed import DbFeedSource
from judging.settings import Settings
from judging.sheets import FeedBeats
from judging.web import principal_of, render, translator_for
from live.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    Snapshot,
    now_ms,
)
from live.server import Recheck, serve_feed


def may_watch_venue(p: Principal | None, venue_id: int) -> bool:
    """Staff, and the venue's screen, host, chief judge and judges. The feed carries released values only, so a
    judge sees nothing of other judges' scores before release; tablets use it to follow the stage live."""
    return p is not None and (p.is_staff or venue_id in p.venues("display", "host", "chief_judge", "judge"))


async def _venue(request: Request[Any, Any, Any] | WebSocket[Any, Any, Any], venue_id: int) -> Venue | None:
    async with request.app.state.db.read() as session:
        return await session.get(Venue, venue_id)


async def _contest(request: Request[Any, Any, Any] | WebSocket[Any, Any, Any], contest_id: int) -> Contest | None:
    async with request.app.state.db.read() as session:
        return await session.get(Contest, contest_id)


def _source(conn: Any, audience: str, contest_id: int, venue_id: int | None = None) -> DbFeedSource:
    return DbFeedSource(conn.app.state.db, audience, contest_id=contest_id, venue_id=venue_id,
                        topology=conn.app.state.topology, snapshots=conn.app.state.get("snapshots"))


# ------------------------------------------------------------------------------------------ pages
def board_url(settings: Settings, contest_id: int) -> str:
    """The absolute address of a contest's public leaderboard (``settings.board_base_url``: ``PODIUM_BOARD_URL``
    when configured, else the base of the printed login links; never the request's host)."""
    return f"{settings.board_base_url}/board/{contest_id}"


def screen_qr(url: str) -> str:
    """A QR code for a big screen: dark on its own white square (the screen is dark) and without a fixed size
    (a viewBox), so the stylesheet sizes it in vh like everything else on the screen."""
    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, light="#fff")


@get("/screen/{venue_id:int}", include_in_schema=False)
async def venue_screen(request: Request[Any, Any, Any], venue_id: FromPath[int]) -> Template:
    p = principal_of(request)
    if not may_watch_venue(p, venue_id):
        raise PermissionDeniedException("This screen link belongs to another venue.")
    async with request.app.state.db.read() as session:
        venue = await session.get(Venue, venue_id)
        if venue is None:
            raise PodiumError(f"There is no venue {venue_id}.", code="not_found", status_code=404)
        current = await session.get(Entry, venue.current_entry_id) if venue.current_entry_id else None
        contest = await session.get(Contest, venue.contest_id)
        tts = (await session.execute(select(TopicType).where(TopicType.contest_id == venue.contest_id))).scalars()
        english = translator_for(request).locale == "en"
        topics = {tt.key: tt.name_en if english else tt.name_zh for tt in tts}
    board = board_url(request.app.state.settings, venue.contest_id)
    return render(request, "display/venue.html", venue=venue, current=current, contest=contest, topics=topics,
                  board_url=board, board_qr=screen_qr(board))


@get("/api/live/venue/{venue_id:int}", summary="Snapshot of a venue feed (what its big screen shows)")
async def venue_snapshot(request: Request[Any, Any, Any], venue_id: FromPath[int]) -> Snapshot:
    if not may_watch_venue(principal_of(request), venue_id):
        raise PermissionDeniedException("This feed belongs to another venue.")
    venue = await _venue(request, venue_id)
    if venue is None:
        raise PodiumError(f"There is no venue {venue_id}.", code="not_found", status_code=404)
    seq, state = await _source(request, "display", venue.contest_id, venue_id).snapshot()
    return Snapshot(seq=seq, server_ms=now_ms(), state=state)


@get("/board/{contest_id:int}", include_in_schema=False)
async def board_screen(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Template:
    contest = await _contest(request, contest_id)
    if contest is None:
        raise PodiumError(f"There is no contest {contest_id}.", code="not_found", status_code=404)
    return render(request, "display/board.html", contest=contest)


@get("/api/live/board/{contest_id:int}", summary="Snapshot of the public leaderboard (released results only)")
async def board_snapshot(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Snapshot:
    if await _contest(request, contest_id) is None:
        raise PodiumError(f"There is no contest {contest_id}.", code="not_found", status_code=404)
    seq, state = await _source(request, "public", contest_id).snapshot()
    return Snapshot(seq=seq, server_ms=now_ms(), state=state)


@get("/api/live/staff/{contest_id:int}", summary="Snapshot of the staff feed (all venues, progress, tablets)",
     guards=[requires_staff])
async def staff_snapshot(request: Request[Any, Any, Any], contest_id: FromPath[int]) -> Snapshot:
    if await _contest(request, contest_id) is None:
        raise PodiumError(f"There is no contest {contest_id}.", code="not_found", status_code=404)
    seq, state = await _source(request, "staff", contest_id).snapshot()
    return Snapshot(seq=seq, server_ms=now_ms(), state=state)


# ------------------------------------------------------------------------------------------ websockets
def _ws_principal(socket: WebSocket[Any, Any, Any]) -> Principal | None:
    user = socket.scope.get("user")
    return user if isinstance(user, Principal) else None


async def _refuse(socket: WebSocket[Any, Any, Any], code: int, reason: str) -> None:
    await socket.close(code=code, reason=reason)


async def _guarded(socket: WebSocket[Any, Any, Any], feed: Coroutine[Any, Any, None]) -> None:
    """Run a feed; an exhausted database pool (or a dead connection after a database restart) closes it with 1013
    (Try Again Later: the websocket twin of HTTP's 503 + Retry-After; screens reconnect with backoff), never with
    a 4500."""
    try:
        await feed
    except Exception as exc:
        if not unavailable(exc):
            raise
        with contextlib.suppress(Exception):
            await socket.close(code=CLOSE_TRY_AGAIN, reason="The server is busy; reconnecting shortly.")


@websocket("/ws/venue/{venue_id:int}")
async def venue_feed(socket: WebSocket[Any, Any, Any], venue_id: FromPath[int], since: FromQuery[int] = 0) -> None:
    await _guarded(socket, _venue_feed(socket, venue_id, since, "display"))


@websocket("/ws/venue/{venue_id:int}/console")
async def console_feed(socket: WebSocket[Any, Any, Any], venue_id: FromPath[int], since: FromQuery[int] = 0) -> None:
    await _guarded(socket, _venue_feed(socket, venue_id, since, "console"))


# Who may hold each of a venue's feeds, and what a refused socket is told.
_VENUE_FEEDS = {
    "display": (may_watch_venue, "this account may not watch this venue"),
    "console": (may_control_venue, "the console feed is for this venue's host and chief judge"),
}


def _recheck(socket: WebSocket[Any, Any, Any], allowed: Any, refusal: str) -> Recheck | None:
    """Re-read the socket's login (every ``FeedConfig.recheck_s``): a revoked link, a disabled account or a
    withdrawn role (a judge moved off the panel, a host replaced) closes the socket instead of letting it follow
    the feed all day. None for a socket without a login."""
    raw = socket.auth if isinstance(socket.auth, str) else None
    if raw is None:
        return None
    state = socket.app.state

    async def check() -> tuple[int, str] | None:
        p = await load_principal(state.db, state.settings.secret, raw)
        if p is None:
            return CLOSE_UNAUTHENTICATED, "your login was revoked or has ended: open your login link again"
        return None if allowed(p) else (CLOSE_FORBIDDEN, refusal)

    return check


async def _venue_feed(socket: WebSocket[Any, Any, Any], venue_id: int, since: int, audience: str) -> None:
    await socket.accept()
    p = _ws_principal(socket)
    if p is None:
        return await _refuse(socket, CLOSE_UNAUTHENTICATED, "not logged in: open your login link")
    may, refusal = _VENUE_FEEDS[audience]
    if not may(p, venue_id):
        return await _refuse(socket, CLOSE_FORBIDDEN, refusal)
    venue = await _venue(socket, venue_id)
    if venue is None:
        return await _refuse(socket, CLOSE_NOT_FOUND, f"there is no venue {venue_id}")
    source = await _source(socket, audience, venue.contest_id, venue_id).open()
    beats = None
    if audience == "display" and p.person_id is not None and venue_id in p.venues("judge", "chief_judge") \
            and isinstance(socket.auth, str):
        # a judge's tablet: it sends its heartbeat over this socket while the feed is live (judging.sheets.FeedBeats)
        app = socket.app
        beats = FeedBeats(app.state.db, app, app.state.settings.secret, socket.auth)
    # Every socket with a login is re-checked, a tablet's too: its beats re-read only that the login exists, and a
    # judge on two panels beats on one feed only.
    recheck = _recheck(socket, lambda q: may(q, venue_id), refusal)
    await serve_feed(socket, socket.app.state.hub, source, since, socket.app.state.feed_config, on_beat=beats,
                     recheck=recheck)
    return None


@websocket("/ws/board/{contest_id:int}")
async def board_feed(socket: WebSocket[Any, Any, Any], contest_id: FromPath[int], since: FromQuery[int] = 0) -> None:
    await _guarded(socket, _board_feed(socket, contest_id, since))


async def _board_feed(socket: WebSocket[Any, Any, Any], contest_id: int, since: int) -> None:
    await socket.accept()
    if await _contest(socket, contest_id) is None:
        return await _refuse(socket, CLOSE_NOT_FOUND, f"there is no contest {contest_id}")
    source = await _source(socket, "public", contest_id).open()
    await serve_feed(socket, socket.app.state.hub, source, since, socket.app.state.feed_config)
    return None


@websocket("/ws/staff/{contest_id:int}")
async def staff_feed(socket: WebSocket[Any, Any, Any], contest_id: FromPath[int], since: FromQuery[int] = 0) -> None:
    await _guarded(socket, _staff_feed(socket, contest_id, since))


async def _staff_feed(socket: WebSocket[Any, Any, Any], contest_id: int, since: int) -> None:
    await socket.accept()
    p = _ws_principal(socket)
    if p is None:
        return await _refuse(socket, CLOSE_UNAUTHENTICATED, "not logged in")
    if not p.is_staff:
        return await _refuse(socket, CLOSE_FORBIDDEN, "the staff feed is for association staff")
    if await _contest(socket, contest_id) is None:
        return await _refuse(socket, CLOSE_NOT_FOUND, f"there is no contest {contest_id}")
    source = await _source(socket, "staff", contest_id).open()
    await serve_feed(socket, socket.app.state.hub, source, since, socket.app.state.feed_config,
                     recheck=_recheck(socket, lambda q: q.is_staff, "the staff feed is for association staff"))
    return None


screens = Router(path="/", route_handlers=[venue_screen, venue_snapshot], guards=[requires_display])
router = Router(
    path="/", route_handlers=[screens, board_screen, board_snapshot, staff_snapshot, venue_feed, console_feed,
                              board_feed, staff_feed],
    tags=["display"],
)
