"""Per-process fan-out: one Channels subscription per feed channel, shared by every local socket.

The publisher encodes each event once per channel; the bytes travel through the Channels backend (memory or
Redis) once per process; the hub reads the message's ``seq``/``prev`` once, builds one ASGI send message around
the *same* bytes object, and hands it to every listener.

Delivery is broadcast-style, like ``websockets.broadcast``: a listener whose socket is idle and in sync writes
the frame synchronously from inside :meth:`Hub.deliver` (:attr:`Listener.direct`), without waking a task per
socket. Only when that is not possible (the socket is still syncing, another send is in flight, a gap must be
refilled from the log) does the item go to the listener's bounded queue, drained by the socket's own task. A
socket that cannot keep up is marked ``overflowed`` and closed by its handler with a clear reason, instead of
growing memory or slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.types import WebSocketSendEvent

from live.protocol import decode_header
from live.wire import frame_bytes

log = logging.getLogger("podium.live")

Item = tuple[int, int, bytes]
"""(seq, prev, encoded message)."""


class Frame:
    """One event as sent to every socket, built once per event: the ASGI ``websocket.send`` message and the
    websocket frame's bytes on the wire (for servers whose transport :mod:`live.wire` can write directly)."""

    __slots__ = ("message", "wire")

    def __init__(self, data: bytes) -> None:
        self.message: WebSocketSendEvent = {"type": "websocket.send", "bytes": data, "text": None}
        self.wire = frame_bytes(data)

DEFAULT_MAX_QUEUE = 256
LAG_WEIGHT = 0.1
"""Weight of each flush's lateness in :attr:`Hub.lag` (a mean over roughly the last ten flushes)."""


def frame_of(data: bytes) -> WebSocketSendEvent:
    return {"type": "websocket.send", "bytes": data, "text": None}



class _Resume:
    """Awaitable that finishes an awaitable which :func:`start_now` already ran up to a suspension point."""

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Generator[Any, Any, Any], yielded: Any) -> None:
        self.coro = coro
        self.yielded = yielded

    def __await__(self) -> Generator[Any, Any, None]:
        coro, yielded = self.coro, self.yielded
        while True:
            try:
                value = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation and errors go to the inner coroutine
                try:
                    yielded = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                yielded = coro.send(value)
            except StopIteration:
                return


async def _finish(coro: Generator[Any, Any, Any], yielded: Any) -> None:
    await _Resume(coro, yielded)


def start_now(awaitable: Awaitable[None]) -> asyncio.Task[None] | None:
    """Run ``awaitable`` right now, up to its first suspension (an eager task, as Python 3.12's ``eager_start``).

    Returns None when it finished without suspending (an ASGI websocket send to a writable socket does), else
    a task that finishes it. Exceptions raised before the first suspension propagate to the caller."""
    coro = awaitable.__await__()
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.ensure_future(_finish(coro, yielded))
    # cancelled before its first step, the task never reaches the inner coroutine: close it (runs its cleanup)
    task.add_done_callback(lambda t: coro.close() if t.cancelled() else None)
    return task


class Listener:
    """One socket's inbox: a bounded deque plus a wake-up event, and an optional synchronous writer."""

    __slots__ = ("_items", "_wake", "channel", "direct", "direct_batch", "max_queue", "overflowed", "resume_from")

    def __init__(self, channel: str, max_queue: int) -> None:
        self.channel = channel
        self.max_queue = max_queue
        self._items: deque[Item] = deque()
        self._wake = asyncio.Event()
        self.overflowed = False
        self.resume_from: int | None = None
        self.direct: Callable[[Item, Frame], bool] | None = None
        """Set by the socket's handler: writes the item now and returns True, or returns False to queue it."""
        self.direct_batch: Callable[[list[tuple[Item, Frame]]], int] | None = None
        """Set by the socket's handler: writes a leading part of a batch now; returns how many it took."""

    def push(self, item: Item, frame: Frame | None = None) -> None:
        if self.overflowed:
            return
        if self.direct is not None and not self._items and self.direct(item, frame or Frame(item[2])):
            return
        self._enqueue(item)

    def push_batch(self, batch: list[tuple[Item, Frame]]) -> None:
        """Several events at once (one write to the socket when it can take them now); the rest are queued."""
        if self.overflowed:
            return
        taken = 0
        if not self._items:
            if self.direct_batch is not None:
                taken = self.direct_batch(batch)
            elif self.direct is not None:
                while taken < len(batch) and self.direct(*batch[taken]):
                    taken += 1
        for item, _frame in batch[taken:]:
            self._enqueue(item)
            if self.overflowed:
                return

    def _enqueue(self, item: Item) -> None:
        if len(self._items) >= self.max_queue:
            self.overflowed = True
            self._items.clear()
        else:
            self._items.append(item)
        self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    async def get(self) -> Item | None:
        """The next item, or None when woken for another reason (overflow, resume request)."""
        while not self._items:
            if self.overflowed or self.resume_from is not None:
                return None
            await self._wake.wait()
            self._wake.clear()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


class Hub:
    def __init__(self, channels: ChannelsPlugin, *, max_queue: int = DEFAULT_MAX_QUEUE,
                 coalesce_s: float | None = 0.0, coalesce_per_listener_s: float = 0.0,
                 coalesce_max_s: float = 0.0, busy_lag_s: float = 0.0, busy_stretch: float = 1.0,
                 busy_max_s: float = 0.0, urgent_s: float | None = None) -> None:
        self.channels = channels
        self.max_queue = max_queue
        self.coalesce_s = coalesce_s
        """Events of a channel arriving within this time go to each socket as one write (0: those arriving in
        the same loop iteration, e.g. the events of one transaction; None: one write per event). A write is a
        system call per socket, the main cost of a busy feed; the frames stay separate websocket messages."""
        self.coalesce_per_listener_s = coalesce_per_listener_s
        self.coalesce_max_s = coalesce_max_s
        """A channel with many local sockets waits longer: ``listeners x coalesce_per_listener_s``, between
        ``coalesce_s`` and ``coalesce_max_s``. A flush costs one write per socket whatever it carries, so this
        bounds the share of the loop one busy channel's flushes can take (see :meth:`window`)."""
        self.busy_lag_s = busy_lag_s
        self.busy_stretch = busy_stretch
        self.busy_max_s = busy_max_s
        """Load adaptation (off when ``busy_lag_s`` is 0): while this process's loop runs late — :attr:`lag`, how
        late flush timers fire, smoothed — a many-socket channel's per-socket time grows up to ``busy_stretch``
        times and its cap up to ``busy_max_s``, fully so at a lag of ``busy_lag_s``. A saturated worker then
        spends less of its loop (and its viewers' devices less of theirs) on flushes; an idle one keeps the
        short window."""
        self.urgent_s = urgent_s
        """An urgent event (a released or corrected result, ``live.protocol.URGENT_KINDS``) is written within this
        time of its arrival, with whatever its channel has gathered so far, instead of waiting for the rest of the
        window — but no sooner than a window after the channel's last flush, so the channel's writes per second stay
        within the window's budget (None: no exception)."""
        self.lag = 0.0
        """How late this hub's flush timers fire, an exponentially weighted mean (seconds)."""
        self._pending: dict[str, list[tuple[Item, Frame]]] = {}
        self._due: dict[str, float] = {}
        """When each channel's gathered events are due (a timer for an earlier due makes the later one stale)."""
        self._flushed: dict[str, float] = {}
        """When each channel last flushed (loop time)."""
        self._listeners: dict[str, set[Listener]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self.received = 0
        """Messages received from the backend (once per message and process, not per listener)."""
        self.wire_writes = 0
        """Live events written to a socket's transport directly (:mod:`live.wire`)."""
        self.asgi_writes = 0
        """Live events written to a socket through the ASGI ``send`` (another server, or the queued path)."""
        self.control_writes = 0
        """Heartbeat pings and pongs written to a socket's transport directly (not counted in ``wire_writes``)."""

    async def join(self, channel: str) -> Listener:
        """A listener on ``channel``; returns once the channel subscription is live, so nothing published
        after this call can be missed by the caller."""
        listener = Listener(channel, self.max_queue)
        self._listeners.setdefault(channel, set()).add(listener)
        if channel not in self._pumps:
            self._ready[channel] = asyncio.Event()
            self._pumps[channel] = asyncio.create_task(self._pump(channel), name=f"podium-fanout-{channel}")
        await self._ready[channel].wait()
        return listener

    def leave(self, listener: Listener) -> None:
        group = self._listeners.get(listener.channel)
        if group is not None:
            group.discard(listener)

    def count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._listeners.get(channel, ()))
        return sum(len(g) for g in self._listeners.values())

    def deliver(self, channel: str, data: bytes) -> None:
        header = decode_header(data)
        item = (header.seq, header.prev, data)
        frame = Frame(data)
        self.received += 1
        if self.coalesce_s is None:
            for listener in tuple(self._listeners.get(channel, ())):
                try:
                    listener.push(item, frame)
                except Exception:  # one broken socket must not stop the others
                    log.exception("fan-out to a socket on %s failed", channel)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        window = self.window(channel)
        pending = self._pending.get(channel)
        if pending is None:
            pending = self._pending[channel] = []
            due = self._due[channel] = now + window
            if window > 0:
                loop.call_later(window, self._flush, channel, due)
            else:
                loop.call_soon(self._flush, channel)
        if self.urgent_s is not None and header.urgent:
            # Sooner, but never sooner than a window after this channel's last flush: the channel still gets at
            # most one write per socket per window, so a busy day writes no more often than without this.
            due = max(now + self.urgent_s, self._flushed.get(channel, -1e9) + window)
            if due < self._due[channel]:
                self._due[channel] = due  # the timer already set for the later due will find it stale
                loop.call_later(due - now, self._flush, channel, due)
        pending.append((item, frame))

    def window(self, channel: str) -> float:
        """How long this channel's events are gathered before one write per socket: ``coalesce_s``, or for a
        channel with many local sockets ``listeners x coalesce_per_listener_s`` up to ``coalesce_max_s``. A flush
        to n sockets takes about n x (one system call); with a per-listener time k times that cost, one
        channel's flushes take at most ~1/k of the loop however busy the contest. While the loop runs late, a
        many-socket channel's window stretches (``busy_*``); a channel below ``coalesce_s`` never does."""
        scaled = len(self._listeners.get(channel, ())) * self.coalesce_per_listener_s
        base = self.coalesce_s or 0.0
        if scaled <= base or self.busy_lag_s <= 0:
            return max(base, min(scaled, self.coalesce_max_s))
        busy = min(1.0, self.lag / self.busy_lag_s)
        cap = self.coalesce_max_s + busy * max(0.0, self.busy_max_s - self.coalesce_max_s)
        return max(base, min(scaled * (1.0 + busy * (self.busy_stretch - 1.0)), cap))

    def _flush(self, channel: str, due: float | None = None) -> None:
        if due is not None:
            if self._due.get(channel) != due:
                return  # stale: an urgent event brought this channel's flush forward, and it ran already
            late = max(0.0, asyncio.get_running_loop().time() - due)
            self.lag += LAG_WEIGHT * (late - self.lag)
        self._due.pop(channel, None)
        self._flushed[channel] = asyncio.get_running_loop().time()
        batch = self._pending.pop(channel, None)
        if not batch:
            return
        for listener in tuple(self._listeners.get(channel, ())):
            try:
                listener.push_batch(batch)
            except Exception:  # one broken socket must not stop the others
                log.exception("fan-out to a socket on %s failed", channel)

    async def _pump(self, channel: str) -> None:
        delay = 0.5
        while True:
            subscriber: Any = None
            try:
                subscriber = await self.channels.subscribe([channel])
                self._ready[channel].set()
                delay = 0.5
                async for data in subscriber.iter_events():
                    self.deliver(channel, data)
            except asyncio.CancelledError:
                raise
            except Exception:  # a backend blip must not end the feed: resubscribe; sockets heal gaps from the log
                log.exception("fan-out subscription to %s failed; resubscribing", channel)
                self._ready[channel].set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                if subscriber is not None:
                    with contextlib.suppress(Exception):
                        await self.channels.unsubscribe(subscriber)

    async def close(self) -> None:
        for task in self._pumps.values():
            task.cancel()
        for task in self._pumps.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pumps.clear()
        for group in self._listeners.values():
            for listener in group:
                listener.poke()
