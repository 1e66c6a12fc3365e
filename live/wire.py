"""Writing one pre-framed websocket message straight to a socket's transport (what ``websockets.broadcast`` does).

A live event goes to thousands of sockets. Through the ASGI stack each write is a chain of coroutines (the
framework's send wrappers, the server's ``send``, the websocket library building the same frame again); a server
frame is unmasked, so its bytes are identical for every socket and can be built once per event and written with
one ``transport.write`` each.

This needs the server's protocol object behind the ASGI ``send`` callable. :func:`raw_writer` recognises
uvicorn's ``websockets-sansio`` protocol (the one ``podium serve`` runs) by the attributes it uses and returns a
writer only when they are all there; any other server, or the test client, gets None and the normal ASGI path.
The writer refuses (returns False) whenever the normal path must be used: the transport is paused (a slow
reader: the queued path applies back-pressure and eventually closes it), closing, or the connection not open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RAW_SEND_KEY = "podium.raw_send"
"""Scope key under which the app keeps the server's own ASGI ``send`` for websocket connections."""


def frame_bytes(payload: bytes) -> bytes:
    """One unmasked, unfragmented binary websocket frame (RFC 6455 §5.2) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        head = bytes((0x82, n))
    elif n < 1 << 16:
        head = bytes((0x82, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x82, 127)) + n.to_bytes(8, "big")
    return head + payload


def raw_writer(send: Any) -> Callable[[bytes], bool] | None:
    """A function writing pre-framed bytes to the socket behind ``send`` (True) or refusing (False); None when
    ``send`` is not a protocol this module knows."""
    proto = getattr(send, "__self__", None)
    if proto is None:
        return None
    transport = getattr(proto, "transport", None)
    conn = getattr(proto, "conn", None)
    writable = getattr(proto, "writable", None)
    if transport is None or conn is None or writable is None or not hasattr(proto, "close_sent") \
            or not hasattr(conn, "state") or not callable(getattr(transport, "write", None)):
        return None
    try:
        from websockets.protocol import State
    except ImportError:  # pragma: no cover - websockets is a dependency
        return None
    open_state = State.OPEN

    def write(data: bytes) -> bool:
        if proto.close_sent or conn.state is not open_state or not writable.is_set() or transport.is_closing():
            return False
        transport.write(data)
        return True

    return write
