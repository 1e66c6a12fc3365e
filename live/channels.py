"""The Channels plugin: in-process memory backend by default, Redis streams when scaled out.

Built inside the app factory (one backend per app instance): Litestar's Redis pub/sub backend cannot be
restarted after shutdown on 2.x, and tests need a fresh app each.
"""

from __future__ import annotations

from datetime import timedelta

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

HISTORY = 0  # history lives in the database event log, not in the channel backend
SUBSCRIBER_MAX_BACKLOG = 1000
XREAD_BLOCK_MS = 250
"""How long the Redis reader's ``XREAD`` blocks. Litestar's default is 1 ms: with a hundred venue channels each
worker then ran a thousand ``XREAD`` calls over a hundred streams per second while idle. A blocking ``XREAD``
returns as soon as any stream has an entry, so delivery is not delayed; only a channel subscribed while a read is
blocked joins the next read (at most this late: its first events are healed from the event log as a gap)."""


def make_backend(redis_url: str, key_prefix: str = "podium") -> ChannelsBackend:
    if not redis_url:
        return MemoryChannelsBackend(history=HISTORY)
    from litestar.channels.backends.redis import RedisChannelsStreamBackend
    from redis.asyncio import Redis

    return RedisChannelsStreamBackend(
        history=1, redis=Redis.from_url(redis_url), stream_ttl=timedelta(hours=1), key_prefix=key_prefix,
        stream_sleep_no_subscriptions=XREAD_BLOCK_MS,
    )


def make_channels_plugin(redis_url: str, key_prefix: str = "podium") -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=make_backend(redis_url, key_prefix),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_MAX_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
