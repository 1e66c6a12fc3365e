"""One websocket connection of a feed: sync (snapshot or replay), then stream, with heartbeats both ways.

The database side is behind :class:`FeedSource` (implemented in ``judging.feed``), so this module knows no
SQLAlchemy. Sequence of a connection::

    client connects with ?since=<last seq it saw> (0 or absent: never saw anything)
    server: hello
    server: snapshot (since too old, absent, or ahead of the server)  |  the missed events (replayed from the log)
    server: synced {seq}
    server: event ...   (live; each carries seq and prev — prev > the client's last seq means a gap)
    both:   ping every heartbeat_s; server answers client pings with pong {t, server_ms} (clock offset)
    client: beat {device_id, app_version, queued, online}   (a judge's tablet on its venue feed: its presence)

Gaps are healed on the server: an event whose ``prev`` is newer than what this socket last received makes the
handler replay from the log first (or send a fresh snapshot when the gap is older than the window).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from live.fanout import Frame, Hub, Item, Listener, frame_of, start_now
from live.protocol import (
    CLOSE_HEARTBEAT,
    CLOSE_SLOW,
    CLOSE_UNAUTHENTICATED,
    Beat,
    Hello,
    Ping,
    Pong,
    Resume,
    Snapshot,
    State,
    Synced,
    decode_client,
    encode,
    now_ms,
)
from live.wire import RAW_SEND_KEY, frame_bytes, raw_writer

log = logging.getLogger("podium.live")


class FeedSource(Protocol):
    """The log behind a feed: snapshots and replays, from the database."""

    name: str
    channel: str

    async def snapshot(self) -> tuple[int, State]:
        """(head seq, state at that seq), read consistently."""
        ...

    async def replay(self, since: int, window: int) -> tuple[list[bytes], int] | None:
        """Encoded events after ``since`` for this feed and the head seq, or None if ``since`` is older than
        ``window`` events (or ahead of the log): then the client needs a snapshot."""
        ...


@dataclass
class FeedConfig:
    heartbeat_s: float = 20.0
    """Server ping interval; a client silent for 3 intervals is closed."""
    window: int = 1000
    """Events a client may resume across; a longer gap gets a snapshot."""
    send_timeout_s: float = 10.0
    """A single send slower than this means the client is not reading: it is closed as slow."""
    poll_s: float = 1.0
    """The publisher also polls the log this often (events written by other processes or the CLI)."""
    silent_sweep_s: float = 5.0
    """The publisher's process looks this often for tablets that went silent and announces them (``presence``
    events, ``judging.sheets.announce_silent``): a silent tablet shows offline within this long of the threshold."""
    recheck_s: float = 60.0
    """A socket opened with a login (a tablet, a screen, a console, the staff monitor) re-reads it this often
    (``Recheck``): a revoked login or a withdrawn role closes the socket within this long instead of holding it all
    day."""
    max_queue: int = 256
    """Messages a socket may fall behind before it is closed as slow."""
    coalesce_s: float | None = 0.05
    """Events of a feed arriving within this time are written to each socket at once (see ``Hub``): at most
    20 writes a second per socket however busy the contest, for at most 50 ms of added latency."""
    coalesce_per_listener_s: float = 40e-6
    """A feed with many sockets in this process gathers longer: this much per socket (see ``Hub.window``), so a
    flush (one system call per socket, ~8 us on the machines we measured) takes at most ~1/5 of the loop:
    2,000 sockets on the public board gather for 80 ms, 2,500 per worker (national) for 100 ms."""
    coalesce_max_s: float = 0.2
    """The longest a feed gathers events (its added latency) while the process keeps up."""
    busy_lag_s: float = 0.02
    """Load adaptation (``Hub.window``; 0 turns it off): when this process's flush timers fire this late on
    average, its many-socket feeds gather ``busy_stretch`` times longer, up to ``busy_max_s`` — less of a
    saturated worker's loop goes to flushes, less of every phone's to reading them. Proportionally below."""
    busy_stretch: float = 2.5
    busy_max_s: float = 0.25
    urgent_s: float | None = 0.03
    """A released or corrected result does not wait for its feed's window: it is written within this time (the
    30 ms gather lets results released together share a write), with whatever else the feed has gathered. The
    window is for the many small events a screen can take a moment later (stage changes, statuses); a result is
    what the room is waiting for. None: results wait like any event."""


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


Recheck = Callable[[], Awaitable[tuple[int, str] | None]]
"""Re-reads a socket's login: None while it may keep the feed, else the (close code, reason) to close it with."""

BeatHandler = Callable[[Beat], Awaitable[bool]]
"""Records a tablet's ``beat`` (its presence); False when the socket's login is no longer valid (revoked): the
feed is then closed with 4401."""


class FeedConnection:
    def __init__(self, socket: WebSocket, hub: Hub, source: FeedSource, config: FeedConfig,
                 on_beat: BeatHandler | None = None, recheck: Recheck | None = None) -> None:
        self.socket = socket
        self.on_beat = on_beat
        """Set for a judge's tablet on its venue feed; other sockets' beats are ignored like any unknown message."""
        self.recheck = recheck
        """Set for a socket opened with a login (see ``FeedConfig.recheck_s``)."""
        self.hub = hub
        self.source = source
        self.config = config
        self.last = 0
        self.last_rx = time.monotonic()
        self.listener: Listener | None = None
        self.sending_since = 0.0
        """When the send in flight started (0: none); the heartbeat closes a socket stuck in one send."""
        self._sending = False
        self._sent = asyncio.Event()
        self.idle = False
        """The stream task is waiting for items with nothing else to do: the hub may write live events itself."""
        self.failed: BaseException | None = None
        """A direct write from the hub failed (the client left): the stream task ends the connection."""
        self._finishing: asyncio.Task[None] | None = None
        self.raw = raw_writer(socket.scope.get(RAW_SEND_KEY))
        """Writes a pre-framed event straight to the transport (uvicorn), or None: the ASGI path only."""

    # Sends are serialised per socket by ``_sending``: either the hub writes a live event synchronously
    # (``write_now``, the common case: no task wakes up per socket) or one of this connection's tasks awaits
    # ``send``. No asyncio.wait_for (on Python 3.11 it creates a task per call, per subscriber): the heartbeat
    # watches ``sending_since`` instead.
    async def send(self, data: bytes) -> None:
        while self._sending:
            self._sent.clear()
            await self._sent.wait()
        self._sending = True
        self.sending_since = time.monotonic()
        try:
            await self.socket.send(frame_of(data))
        finally:
            self._done_sending()

    async def send_control(self, data: bytes) -> None:
        """A ping or pong: written straight to the transport when no other send is in flight (pongs answer every
        client's ping, ~600 a second with 6,000 sockets; the ASGI chain cost each one a few coroutines), else after
        that send, like any message. Neither carries a seq, so it may go between any two events."""
        if self.raw is not None and not self._sending and self.failed is None:
            with contextlib.suppress(Exception):  # a broken transport: the ASGI send below reports it
                if self.raw(frame_bytes(data)):
                    self.hub.control_writes += 1
                    return
        await self.send(data)

    def _done_sending(self, _task: object = None) -> None:
        self._sending = False
        self.sending_since = 0.0
        self._finishing = None
        self._sent.set()

    def write_batch(self, batch: list[tuple[Item, Frame]]) -> int:
        """Write a leading run of ``batch`` (in order, no gap) to the transport in one write; returns how many
        items were taken (written or already seen). Only with a raw writer; the rest goes to the queue."""
        listener = self.listener
        if self.raw is None or not self.idle or self._sending or self.failed is not None or listener is None \
                or listener.resume_from is not None:
            return 0
        last = self.last
        parts: list[bytes] = []
        taken = skipped = 0
        for (seq, prev, _data), frame in batch:
            if seq <= last:
                taken += 1
                if not parts:
                    skipped = taken
                continue
            if prev > last:
                break  # a gap: the stream task refills from the log first
            parts.append(frame.wire)
            last = seq
            taken += 1
        if not parts:
            return taken
        try:
            written = self.raw(parts[0] if len(parts) == 1 else b"".join(parts))
        except Exception as exc:  # the client is gone: let the stream task end the connection
            self.failed = exc
            listener.poke()
            return len(batch)
        if not written:
            return skipped  # paused or closing: the queued path applies back-pressure
        self.last = last
        self.hub.wire_writes += len(parts)
        return taken

    def write_now(self, item: Item, frame: Frame) -> bool:
        """Called by the hub for each live event: write it to the socket now if this socket is idle and in sync.
        False: not possible now; the hub queues the item and the stream task handles it (sync, gap, backlog)."""
        listener = self.listener
        if not self.idle or self._sending or self.failed is not None or listener is None \
                or listener.resume_from is not None:
            return False
        seq, prev, _data = item
        if seq <= self.last:
            return True  # a duplicate or late retry
        if prev > self.last:
            return False  # a gap: the stream task refills from the log first
        if self.raw is not None:
            try:
                written = self.raw(frame.wire)
            except Exception as exc:  # the client is gone: let the stream task end the connection
                self.failed = exc
                listener.poke()
                return True
            if written:
                self.last = seq
                self.hub.wire_writes += 1
                return True
            return False  # paused (a slow reader) or closing: the queued path applies back-pressure
        self._sending = True
        self.sending_since = time.monotonic()
        self.hub.asgi_writes += 1
        try:
            task = start_now(self.socket.send(frame.message))
        except BaseException as exc:  # the client is gone: let the stream task end the connection
            self._done_sending()
            self.failed = exc
            listener.poke()
            return True
        self.last = seq
        if task is None:
            self._done_sending()
        else:  # the transport is paused (the client is slow to read): finish in the background, queue the rest
            self._finishing = task
            task.add_done_callback(self._finished)
        return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._done_sending()
        if not task.cancelled() and task.exception() is not None and self.listener is not None:
            self.failed = task.exception()
            self.listener.poke()

    async def sync(self, since: int | None) -> None:
        """Bring the client from ``since`` to the head: replay, or snapshot when that is not possible
        (``since`` None: the client has seen nothing)."""
        replay = await self.source.replay(since, self.config.window) if since is not None else None
        if replay is None:
            seq, state = await self.source.snapshot()
            await self.send(encode(Snapshot(seq=seq, server_ms=now_ms(), state=state)))
            self.last = seq
        else:
            messages, head = replay
            for data in messages:
                await self.send(data)
            self.last = max(head, since or 0)
        await self.send(encode(Synced(seq=self.last)))

    async def run(self, since: int) -> None:
        listener = self.listener = await self.hub.join(self.source.channel)
        listener.direct = self.write_now
        if self.raw is not None:
            listener.direct_batch = self.write_batch
        try:
            await self.send(encode(Hello(feed=self.source.name, server_ms=now_ms(),
                                         heartbeat_s=self.config.heartbeat_s, window=self.config.window)))
            await self.sync(since if since > 0 else None)
            tasks = [asyncio.create_task(self._stream(listener)), asyncio.create_task(self._receive()),
                     asyncio.create_task(self._heartbeat())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for task in done:
                exc = task.exception()
                if exc is not None:
                    raise exc
        except _Close as close:
            log.info("closing %s feed socket: %s", self.source.name, close.reason)
            with contextlib.suppress(Exception):
                await self.socket.close(code=close.code, reason=close.reason)
        except (WebSocketDisconnect, ConnectionError):
            pass
        finally:
            listener.direct = None
            listener.direct_batch = None
            self.hub.leave(listener)
            if self._finishing is not None:
                self._finishing.cancel()

    async def _stream(self, listener: Listener) -> None:
        while True:
            self.idle = True
            try:
                item = await listener.get()
            finally:
                self.idle = False
            if self.failed is not None:
                raise self.failed
            if listener.overflowed:
                raise _Close(CLOSE_SLOW, f"too slow: more than {listener.max_queue} messages behind; reconnect")
            if listener.resume_from is not None:
                since, listener.resume_from = listener.resume_from, None
                await self.sync(since)
                continue
            if item is None:
                continue
            seq, prev, data = item
            if seq <= self.last:
                continue
            if prev > self.last:
                await self.sync(self.last)  # a gap (a lost or late publish): refill from the log
                if seq <= self.last:
                    continue
            await self.send(data)
            self.last = seq

    async def _receive(self) -> None:
        while True:
            raw = await self.socket.receive_data(mode="text")
            self.last_rx = time.monotonic()
            try:
                msg = decode_client(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # unknown client messages are ignored, never fatal
            if isinstance(msg, Ping):
                await self.send_control(encode(Pong(t=msg.t, server_ms=now_ms())))
            elif isinstance(msg, Resume) and self.listener is not None:
                self.listener.resume_from = max(0, msg.since)
                self.listener.poke()
            elif isinstance(msg, Beat) and self.on_beat is not None and not await self._beat(self.on_beat, msg):
                raise _Close(CLOSE_UNAUTHENTICATED, "the login link is no longer valid: open a new one")

    @staticmethod
    async def _beat(on_beat: BeatHandler, beat: Beat) -> bool:
        """Presence is best effort: a write that fails (the database restarting) must not end the feed, and the
        tablet's next beat records it again."""
        try:
            return await on_beat(beat)
        except Exception:
            log.warning("recording a tablet's presence from its feed failed", exc_info=True)
            return True

    async def _heartbeat(self) -> None:
        interval = self.config.heartbeat_s
        check = min(interval, self.config.send_timeout_s / 2)
        # Jittered: thousands of screens that connected in the same second must not all wake in the same
        # millisecond (a burst that would delay a release landing at that moment).
        next_ping = time.monotonic() + interval * random.uniform(0.5, 1.0)
        next_recheck = time.monotonic() + self.config.recheck_s * random.uniform(0.5, 1.0)
        await asyncio.sleep(check * random.random())
        while True:
            await asyncio.sleep(check)
            now = time.monotonic()
            if self.sending_since and now - self.sending_since > self.config.send_timeout_s:
                raise _Close(CLOSE_SLOW, "too slow: a message could not be delivered in time; reconnect")
            if self.recheck is not None and now >= next_recheck:
                next_recheck = now + self.config.recheck_s
                try:
                    async with asyncio.timeout(self.config.send_timeout_s):  # a slow database must not stall pings
                        verdict = await self.recheck()
                except Exception:  # the database may blip: the socket keeps its feed until the next check
                    log.warning("re-reading a %s feed socket's login failed; retrying later", self.source.name,
                                exc_info=True)
                    verdict = None
                if verdict is not None:
                    raise _Close(*verdict)
            if now < next_ping:
                continue
            next_ping = now + interval
            if now - self.last_rx > 3 * interval:
                raise _Close(CLOSE_HEARTBEAT, f"no heartbeat from the client for {3 * interval:.0f} s")
            if not self._sending:
                await self.send_control(encode(Ping(t=now_ms())))


async def serve_feed(socket: WebSocket, hub: Hub, source: FeedSource, since: int,
                     config: FeedConfig | None = None, on_beat: BeatHandler | None = None,
                     recheck: Recheck | None = None) -> None:
    """Run an accepted socket's feed until the client leaves, falls behind, goes silent, or (``recheck``) loses
    its login."""
    await FeedConnection(socket, hub, source, config or FeedConfig(), on_beat, recheck).run(since)
