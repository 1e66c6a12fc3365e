"""The Channels plugin: in-process memory backend by default, Redis streams when scaled out.

Built inside the app factory (one backend per app instance): Litestar's Redis pub/sub backend cannot be
restarted after shutdown on 2.x, and tests need a fresh app each.

Both backends also publish a whole batch at once (:meth:`publish_many`): the event publisher sends every event
of a round in one Redis round trip. Publishing them one ``await`` at a time cost a full event-loop turn each on a
busy worker — at a national day's peak, several seconds for a few hundred events while screens waited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsStreamBackend

HISTORY = 0  # history lives in the database event log, not in the channel backend
SUBSCRIBER_MAX_BACKLOG = 1000
XREAD_BLOCK_MS = 250
"""How long the Redis reader's ``XREAD`` blocks. Litestar's default is 1 ms: with a hundred venue channels each
worker then ran a thousand ``XREAD`` calls over a hundred streams per second while idle. A blocking ``XREAD``
returns as soon as any stream has an entry, so delivery is not delayed; only a channel subscribed while a read is
blocked joins the next read (at most this late: its first events are healed from the event log as a gap)."""
STREAM_MAXLEN = 1000
"""Entries each Redis stream keeps (at least; ``XADD ... MAXLEN ~``): how far a worker's reader may fall behind
the publisher before it loses messages. It was 1 (and Litestar's script trims exactly): a worker whose event loop
was busy for a moment missed whole runs of events on the busy public channel, and every socket of that channel
then refilled the gap from the database at once (the national benchmark logged ~500 such gaps, ~8,000 socket
replays, in a few minutes). 1000 events of a feed are minutes of a contest day and well under a megabyte per
stream; the TTL still removes idle streams."""
STREAM_TTL = timedelta(hours=1)


class BatchPublisher(Protocol):
    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Publish ``(channel, data)`` pairs, each channel's in the given order; True per message published."""
        ...


class MemoryBackend(MemoryChannelsBackend):
    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> list[bool]:
        for channel, data in messages:
            await self.publish(data, [channel])  # in process: no round trip to save
        return [True] * len(messages)


class StreamBackend(RedisChannelsStreamBackend):
    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> list[bool]:
        """One pipeline (one round trip, no MULTI: a failed entry does not hold back the others) of the same
        commands as Litestar's ``publish`` script (``XADD`` with fields ``data`` and ``channel``, then
        ``PEXPIRE``), so its ``stream_events`` reads them unchanged."""
        if not messages:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for channel, data in messages:
            key = self._make_key(channel)
            pipe.xadd(key, {"data": data, "channel": channel}, maxlen=self._history_limit, approximate=True)
            pipe.pexpire(key, self._stream_ttl)
        results = await pipe.execute(raise_on_error=False)
        return [not isinstance(results[2 * i], Exception) for i in range(len(messages))]


def make_backend(redis_url: str, key_prefix: str = "podium") -> MemoryBackend | StreamBackend:
    if not redis_url:
        return MemoryBackend(history=HISTORY)
    from redis.asyncio import Redis

    return StreamBackend(
        history=STREAM_MAXLEN, redis=Redis.from_url(redis_url), stream_ttl=STREAM_TTL, key_prefix=key_prefix,
        stream_sleep_no_subscriptions=XREAD_BLOCK_MS,
    )


def make_channels_plugin(backend: ChannelsBackend) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_MAX_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
