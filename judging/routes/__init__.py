"""HTTP and websocket routes, one router per audience, each with its guard on the router.

``routers()`` is what the app factory mounts: add a new audience module's router here.
"""

from __future__ import annotations

from litestar import Router


def routers() -> list[Router]:
    from judging.routes import chief, display, judge, ops, public, staff, venue

    return [public.router, staff.router, judge.router, chief.router, display.router, venue.router, ops.router]
