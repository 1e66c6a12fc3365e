"""Chief judge (评审组长) routes: the panel's progress, locking an entry's sheets, reopening one judge's sheet.

The router admits any logged-in account; each handler checks that the caller is the chief judge of the
entry's venue (or staff), because the venue comes from the entry or sheet in the path. Every lock and
reopen is audited with its reason.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath, JSONBody

from judging import sheets
from judging.auth import Principal, requires_login
from judging.web import client_ip, principal_of


def _me(request: Request[Any, Any, Any]) -> Principal:
    p = principal_of(request)
    assert p is not None  # the router's guard guarantees it
    return p


@get("/venues/{venue_id:int}/progress", summary="Panel progress of a venue (no score values)")
async def progress(request: Request[Any, Any, Any], venue_id: FromPath[int]) -> sheets.PanelProgress:
    """Per entry and judge: submitted version and time, locked, conflicted; devices online/offline with queued
    sheets; open help calls. Score values are not included."""
    async with request.app.state.db.read() as session:
        return await sheets.panel_progress(session, _me(request), venue_id)


@post("/entries/{entry_id:int}/lock", summary="Lock every judge's sheet of an entry", status_code=200)
async def lock(request: Request[Any, Any, Any], entry_id: FromPath[int], data: JSONBody[sheets.LockIn]
               ) -> sheets.LockOut:
    """After the lock no judge of the panel can submit or correct this entry's on-site sheet (judges who had
    not submitted get an empty locked sheet). Audited as ``sheet.lock``."""
    return await sheets.lock_entry(request.app.state.db, request.app, _me(request), entry_id, data.reason,
                                   ip=client_ip(request))


@post("/sheets/{sheet_id:int}/reopen", summary="Reopen one judge's sheet (with a reason)", status_code=200)
async def reopen(request: Request[Any, Any, Any], sheet_id: FromPath[int], data: JSONBody[sheets.ReopenIn]
                 ) -> sheets.ReopenOut:
    """The judge can then submit a correction (a new version). Audited as ``sheet.reopen`` with the reason."""
    return await sheets.reopen_sheet(request.app.state.db, request.app, _me(request), sheet_id, data.reason,
                                     ip=client_ip(request))


@get("/sheets/{sheet_id:int}/history", summary="Every version of a sheet (staff; chief judge after release)")
async def history(request: Request[Any, Any, Any], sheet_id: FromPath[int]) -> sheets.SheetHistory:
    """The same history as ``/api/judge/sheets/{id}/history``, for staff at any time and for the venue's chief
    judge once the entry's result is released."""
    async with request.app.state.db.read() as session:
        return await sheets.sheet_history(session, _me(request), sheet_id)


router = Router(path="/api/chief", route_handlers=[progress, lock, reopen, history], guards=[requires_login],
                tags=["chief judge"])
