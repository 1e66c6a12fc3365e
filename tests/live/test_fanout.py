"""The broadcast-style fan-out without a server: live events are written to idle sockets synchronously from the
hub (no task per socket), the same frame object goes to every socket, and a socket whose transport stalls is
cut off with 4408 while the others keep receiving every event at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from live.fanout import Hub, start_now
from live.protocol import CLOSE_SLOW, Event, Leaderboard, TimerState, encode
from live.server import FeedConfig, serve_feed
from live.wire import RAW_SEND_KEY, frame_bytes


class FakeSubscriber:
    async def iter_events(self) -> AsyncIterator[bytes]:
        await asyncio.Event().wait()
        yield b""  # pragma: no cover


class FakeChannels:
    async def subscribe(self, channels: list[str]) -> FakeSubscriber:
        return FakeSubscriber()

    async def unsubscribe(self, subscriber: FakeSubscriber) -> None:
        return None


class FakeSocket:
    """An ASGI-level socket: ``send`` completes at once unless ``paused`` (a full transport buffer)."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}  # no server protocol behind it: the ASGI path (live.wire finds none)
        self.sent: list[dict[str, Any]] = []
        self.paused = False
        self.resume = asyncio.Event()
        self.closed: tuple[int, str] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        if self.paused:
            await self.resume.wait()
        self.sent.append(message)

    async def receive_data(self, mode: str = "text") -> str:
        await asyncio.Event().wait()
        return ""  # pragma: no cover

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


class FakeSource:
    name = "board/1"
    channel = "c"

    async def snapshot(self) -> tuple[int, Any]:
        return 0, Leaderboard(contest_id=1, name="x")

    async def replay(self, since: int, window: int) -> tuple[list[bytes], int] | None:
        return None


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def event(seq: int) -> bytes:
    return encode(Event(seq=seq, prev=seq - 1, at_ms=0, data=TimerState(venue_id=1, elapsed_ms=seq)))  # type: ignore[arg-type]


def test_start_now_runs_eagerly_and_finishes_suspended_work_in_a_task() -> None:
    async def go() -> None:
        log: list[str] = []

        async def quick() -> None:
            log.append("quick")

        assert start_now(quick()) is None and log == ["quick"]  # done before start_now returned

        gate = asyncio.Event()

        async def slow() -> None:
            log.append("slow started")
            await gate.wait()
            log.append("slow done")

        task = start_now(slow())
        assert task is not None and log[-1] == "slow started"
        gate.set()
        await task
        assert log[-1] == "slow done"

        async def broken() -> None:
            raise ConnectionError("gone")

        with pytest.raises(ConnectionError):
            start_now(broken())

        cleaned: list[bool] = []

        async def stuck() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append(True)

        task = start_now(stuck())
        assert task is not None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned == [True]  # cancellation reaches the inner coroutine

    asyncio.run(go())


def test_hub_writes_to_idle_sockets_synchronously_and_cuts_off_a_stalled_one() -> None:
    async def go() -> None:
        hub = Hub(FakeChannels(), max_queue=4, coalesce_s=None)  # type: ignore[arg-type]
        config = FeedConfig(heartbeat_s=60, send_timeout_s=60, max_queue=4)
        fast1, fast2, slow = FakeSocket(), FakeSocket(), FakeSocket()
        tasks = [asyncio.create_task(serve_feed(s, hub, FakeSource(), 0, config))  # type: ignore[arg-type]
                 for s in (fast1, fast2, slow)]
        for _ in range(50):
            await asyncio.sleep(0)
        for s in (fast1, fast2, slow):  # hello, snapshot, synced
            assert [m["bytes"][:12] for m in s.sent] == [b'{"type":"hel', b'{"type":"sna',
                                                         b'{"type":"syn']
        slow.paused = True
        for seq in range(1, 11):
            data = event(seq)
            hub.deliver("c", data)
            # written before deliver returned, no task switch; one frame object for every socket
            assert fast1.sent[-1]["bytes"] is data and fast1.sent[-1] is fast2.sent[-1]
        for _ in range(50):
            await asyncio.sleep(0)
        assert len(fast1.sent) == len(fast2.sent) == 13
        assert slow.closed is not None and slow.closed[0] == CLOSE_SLOW
        assert tasks[2].done()
        await _cancel(tasks)
        assert hub.count("c") == 0

    asyncio.run(go())


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False


class FakeServerProtocol:
    """What live.wire looks for behind a server's ASGI send (uvicorn's websockets-sansio protocol)."""

    def __init__(self) -> None:
        from websockets.protocol import State

        self.transport = FakeTransport()
        self.conn = type("Conn", (), {"state": State.OPEN})()
        self.writable = asyncio.Event()
        self.writable.set()
        self.close_sent = False

    async def send(self, message: Any) -> None:  # pragma: no cover - the raw path bypasses it
        raise AssertionError("not used")


def test_events_of_one_iteration_reach_each_socket_in_one_write() -> None:
    """A transaction's events (and any others arriving in the same loop iteration) are one transport write per
    socket, still separate websocket frames in order; a paused transport gets them through the ASGI path."""
    async def go() -> None:
        hub = Hub(FakeChannels(), max_queue=16)  # type: ignore[arg-type]
        config = FeedConfig(heartbeat_s=60, send_timeout_s=60, max_queue=16)
        raw1, raw2, asgi = FakeSocket(), FakeSocket(), FakeSocket()
        protos = [FakeServerProtocol(), FakeServerProtocol()]
        raw1.scope[RAW_SEND_KEY], raw2.scope[RAW_SEND_KEY] = protos[0].send, protos[1].send
        tasks = [asyncio.create_task(serve_feed(s, hub, FakeSource(), 0, config))  # type: ignore[arg-type]
                 for s in (raw1, raw2, asgi)]
        for _ in range(50):
            await asyncio.sleep(0)
        events = [event(seq) for seq in (1, 2, 3)]
        for data in events:
            hub.deliver("c", data)
        assert all(p.transport.writes == [] for p in protos)  # nothing before the iteration ends
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        wire = b"".join(frame_bytes(d) for d in events)
        assert [p.transport.writes for p in protos] == [[wire], [wire]]
        assert [m["bytes"] for m in asgi.sent[3:]] == events  # no raw writer: the ASGI path, in order
        assert hub.wire_writes == 6

        protos[1].writable.clear()  # the client stopped reading: uvicorn paused the transport
        hub.deliver("c", event(4))
        hub.deliver("c", event(5))
        for _ in range(20):
            await asyncio.sleep(0)
        assert protos[0].transport.writes[-1] == frame_bytes(event(4)) + frame_bytes(event(5))
        assert len(protos[1].transport.writes) == 1 and [m["bytes"] for m in raw2.sent[3:]] == [event(4), event(5)]
        await _cancel(tasks)

    asyncio.run(go())



def test_a_channel_with_many_sockets_gathers_events_longer() -> None:
    """The coalescing window grows with the channel's local sockets (a flush costs one write per socket), within
    [coalesce_s, coalesce_max_s]; events inside the window still reach each socket in one write."""
    async def go() -> None:
        hub = Hub(FakeChannels(), max_queue=16, coalesce_s=0.01,  # type: ignore[arg-type]
                  coalesce_per_listener_s=0.05, coalesce_max_s=0.25)
        assert hub.window("c") == 0.01  # no sockets
        config = FeedConfig(heartbeat_s=60, send_timeout_s=60, max_queue=16)
        sockets = [FakeSocket() for _ in range(3)]
        protos = [FakeServerProtocol() for _ in sockets]
        for s, p in zip(sockets, protos, strict=True):
            s.scope[RAW_SEND_KEY] = p.send
        tasks = [asyncio.create_task(serve_feed(s, hub, FakeSource(), 0, config))  # type: ignore[arg-type]
                 for s in sockets]
        for _ in range(50):
            await asyncio.sleep(0)
        assert hub.count("c") == 3 and hub.window("c") == pytest.approx(0.15)  # 3 x 50 ms
        hub.deliver("c", event(1))
        await asyncio.sleep(0.08)  # longer than coalesce_s, inside the 150 ms window
        hub.deliver("c", event(2))
        assert all(p.transport.writes == [] for p in protos)
        await asyncio.sleep(0.2)
        wire = frame_bytes(event(1)) + frame_bytes(event(2))
        assert [p.transport.writes for p in protos] == [[wire]] * 3
        await _cancel(tasks)
        hub.coalesce_per_listener_s = 1.0
        hub._listeners["c"] = {object() for _ in range(3)}  # type: ignore[misc]
        assert hub.window("c") == 0.25  # capped

    asyncio.run(go())


def test_a_late_loop_stretches_only_the_many_socket_windows() -> None:
    """Load adaptation: flush timers that fire late raise ``Hub.lag``; at ``busy_lag_s`` a many-socket channel
    gathers ``busy_stretch`` times longer (up to ``busy_max_s``), a small channel keeps ``coalesce_s``."""
    async def go() -> None:
        hub = Hub(FakeChannels(), max_queue=16, coalesce_s=0.01,  # type: ignore[arg-type]
                  coalesce_per_listener_s=0.001, coalesce_max_s=0.1, busy_lag_s=0.02, busy_stretch=2.0,
                  busy_max_s=0.15)
        hub._listeners["big"] = {object() for _ in range(60)}  # type: ignore[misc]
        hub._listeners["small"] = {object() for _ in range(5)}  # type: ignore[misc]
        assert hub.lag == 0 and hub.window("big") == pytest.approx(0.06) and hub.window("small") == 0.01
        for _ in range(25):  # each flush timer fires ~30 ms late: the loop is blocked before it runs
            hub.deliver("small", event(1))
            asyncio.get_running_loop().call_soon(time.sleep, 0.04)
            await asyncio.sleep(0.045)
        assert hub.lag >= 0.02
        assert hub.window("big") == pytest.approx(0.12)  # 60 x 1 ms x 2
        assert hub.window("small") == 0.01
        hub._listeners["big"] = {object() for _ in range(100)}  # type: ignore[misc]
        assert hub.window("big") == pytest.approx(0.15)  # the busy cap (0.1 while the loop keeps up)
        hub.lag = 0.01  # half busy: halfway
        assert hub.window("big") == pytest.approx(0.125)
        hub.busy_lag_s = 0  # adaptation off
        assert hub.window("big") == pytest.approx(0.1)

    asyncio.run(go())


def released(seq: int) -> bytes:
    from live.protocol import ResultReleased

    return encode(Event(seq=seq, prev=seq - 1, at_ms=0, data=ResultReleased(  # type: ignore[arg-type]
        entry_id=seq, venue_id=1, score="90.00", display="90.00", judges=[], n_valid=5, trimmed=True)))


def test_a_released_result_cuts_the_window_short() -> None:
    """A result is what the room waits for: it is written within ``urgent_s`` of its arrival, with the events
    gathered before it, instead of waiting out the channel's window — but no sooner than a window after the
    channel's last flush (the write budget stays one per socket per window). The window's own timer is then stale
    and must not flush the next window's events early; without ``urgent_s`` a result waits like any event."""
    async def go() -> None:
        hub = Hub(FakeChannels(), max_queue=16, coalesce_s=0.3, urgent_s=0.02)  # type: ignore[arg-type]
        got: list[list[int]] = []

        class Sink:
            channel = "c"
            overflowed = False

            def push_batch(self, batch: list[Any]) -> None:
                got.append([item[0] for item, _frame in batch])

        hub._listeners["c"] = {Sink()}  # type: ignore[arg-type]
        hub.deliver("c", event(1))
        await asyncio.sleep(0.05)
        assert got == []  # an ordinary event waits for the 300 ms window
        hub.deliver("c", released(2))
        await asyncio.sleep(0.1)
        assert got == [[1, 2]]  # the result went out at once (no flush before), with the event gathered before it
        hub.deliver("c", event(3))  # opens a new window, due ~0.41 s from the start
        await asyncio.sleep(0.22)  # past the first window's own timer (0.3 s): stale, it must not flush event 3
        assert got == [[1, 2]]
        await asyncio.sleep(0.15)
        assert got == [[1, 2], [3]]
        hub.deliver("c", released(4))  # right after a flush: it waits until a window after that flush
        await asyncio.sleep(0.1)
        assert got == [[1, 2], [3]]
        await asyncio.sleep(0.3)
        assert got == [[1, 2], [3], [4]]

        hub.urgent_s = None
        await asyncio.sleep(0.3)
        hub.deliver("c", released(5))
        await asyncio.sleep(0.1)
        assert got[-1] == [4]  # no exception: the result waits the window
        await asyncio.sleep(0.3)
        assert got[-1] == [5]

    asyncio.run(go())
