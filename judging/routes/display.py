"""Display routes: the venue big screen (live updates arrive with the live feed)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Template

from judging.auth import requires_display
from judging.db.models import Entry, Venue
from judging.errors import PodiumError
from judging.web import principal_of, render


@get("/screen/{venue_id:int}", include_in_schema=False)
async def venue_screen(request: Request[Any, Any, Any], venue_id: FromPath[int]) -> Template:
    p = principal_of(request)
    assert p is not None
    if not p.is_staff and venue_id not in p.venues("display", "host", "chief_judge"):
        raise PermissionDeniedException("This screen link belongs to another venue.")
    async with request.app.state.db.read() as session:
        venue = await session.get(Venue, venue_id)
        if venue is None:
            raise PodiumError(f"There is no venue {venue_id}.", code="not_found", status_code=404)
        current = await session.get(Entry, venue.current_entry_id) if venue.current_entry_id else None
    return render(request, "display/venue.html", venue=venue, current=current)


router = Router(path="/", route_handlers=[venue_screen], guards=[requires_display], tags=["display"])
