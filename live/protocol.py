"""The live feed's wire protocol: one msgspec schema for every message, as tagged unions.

Server -> client messages carry ``"type"``: ``hello``, ``snapshot``, ``event``, ``synced``, ``ping``, ``pong``.
Client -> server messages: ``ping`` (heartbeat, answered by ``pong`` for the clock offset), ``resume`` and, from a
judge's tablet on its venue feed, ``beat`` (the device's presence: the same fields as ``POST /api/judge/heartbeat``).
Event data carries ``"kind"``, the event kind stored in the database log (``entry.status``, ``timer``, ...).

What each audience may see is decided here, by type, not by scattered checks: :data:`DISPLAY_KINDS` and
:data:`PUBLIC_KINDS` list the kinds that reach big screens and the public, :data:`CONSOLE_KINDS` what a venue's
host and chief judge follow (the screen's kinds plus their panel's tablets and help calls), :data:`STAFF_KINDS`
what staff follow; every payload is converted into a
fixed Struct, so a field a writer adds to a payload (say, a sheet's values) is dropped before it can leak.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec

# ----------------------------------------------------------------------------------------- vocabulary
Status = Literal["scheduled", "presenting", "scoring", "unofficial", "released", "official", "absent", "withdrawn"]
RELEASED = ("released", "official")


def public_entry_status(status: str) -> Status:
    """An entry's status as the public board sees it: released or official, else scheduled (not released yet).
    The board's feed carries no status before a release (:data:`PUBLIC_KINDS`), so its snapshot shows none."""
    return status if status in RELEASED else "scheduled"  # type: ignore[return-value]
Audience = Literal["display", "console", "public", "staff"]

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW = 4408
CLOSE_HEARTBEAT = 4002
CLOSE_TRY_AGAIN = 1013
"""RFC 6455 "Try Again Later": the server is overloaded (database pool exhausted); reconnect with backoff."""
FATAL_CLOSE_CODES = frozenset({CLOSE_BAD_REQUEST, CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND})
"""After these a client must not reconnect by itself (the link is wrong or revoked)."""


def now_ms() -> int:
    return int(time.time() * 1000)


# ----------------------------------------------------------------------------------------- event data
class _Data(msgspec.Struct, tag_field="kind", kw_only=True):
    pass


class VenueCurrent(_Data, tag="venue.current"):
    """The host put an entry on stage (or cleared the stage: ``entry_id`` None)."""

    venue_id: int
    entry_id: int | None


class EntryStatus(_Data, tag="entry.status"):
    entry_id: int
    venue_id: int | None
    status: Status
    reason: str = ""


class TimerState(_Data, tag="timer"):
    """Server-authoritative presentation timer: clients render ``elapsed_ms + (server_now - started_at_ms)``."""

    venue_id: int
    running: bool = False
    started_at_ms: int | None = None
    elapsed_ms: int = 0
    duration_ms: int = 15 * 60_000
    qa_ms: int = 5 * 60_000


class SheetSubmitted(_Data, tag="sheet.submitted"):
    """A judge's sheet arrived. Never carries values: only who, for which entry, which version."""

    entry_id: int
    venue_id: int | None
    person_id: int
    version: int = 1
    stage: str = "onsite"


class SheetReopened(_Data, tag="sheet.reopened"):
    """The chief judge reopened a judge's locked sheet (with a reason, audited): that judge's tablet re-reads its
    state, so the sheet can be corrected at once. Who and which sheet, never values."""

    entry_id: int
    venue_id: int | None
    person_id: int
    sheet_id: int


class SheetsLocked(_Data, tag="sheets.locked"):
    """The chief judge locked every panel sheet of an entry: the panel's tablets re-read their state."""

    entry_id: int
    venue_id: int | None
    locked_sheets: int = 0


class JudgeMark(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    total: str
    """The judge's total as a decimal string, exactly as stored."""
    dropped: Literal["high", "low"] | None = None
    recused: bool = False


class _ResultData(_Data, kw_only=True):
    entry_id: int
    venue_id: int | None
    score: float
    """Panel score, full precision (trimmed mean of valid totals)."""
    display: str
    """Panel score rounded half-up to 2 decimals: what screens show and rank by."""
    judges: list[JudgeMark]
    n_valid: int
    trimmed: int
    rank: int | None = None
    """Rank in the venue at the moment of release (screens recompute ranks from the state)."""
    version: int = 1
    reason: str = ""


class ResultReleased(_ResultData, tag="result.released"):
    pass


class ResultCorrected(_ResultData, tag="result.corrected"):
    pass


class GradesFinalized(_Data, tag="grades.finalized"):
    contest_id: int
    entry_ids: list[int] = msgspec.field(default_factory=list)
    """Entries whose results became official; empty means every released entry of the contest."""


class PresenceData(_Data, tag="presence"):
    account_id: int
    device_id: str = ""
    venue_id: int | None = None
    person_id: int | None = None
    online: bool = True
    queued: int = 0
    app_version: str = ""
    last_seen_ms: int = 0


class HelpCalled(_Data, tag="help.called"):
    """A judge pressed "需要帮助" (staff feed, and the console of the judge's venue)."""

    help_call_id: int
    account_id: int
    name: str = ""
    venue_id: int | None = None
    message: str = ""


class HelpResolved(_Data, tag="help.resolved"):
    """Someone at the venue (host, chief judge) or staff marked a help call as handled."""

    help_call_id: int
    venue_id: int | None = None
    by: str = ""
    """Who handled it (display name)."""


EventData = (
    VenueCurrent | EntryStatus | TimerState | SheetSubmitted | SheetReopened | SheetsLocked | ResultReleased
    | ResultCorrected | GradesFinalized | PresenceData | HelpCalled | HelpResolved
)
KIND_ALIASES = {"tablet.presence": "presence"}

DISPLAY_KINDS = frozenset({
    "venue.current", "entry.status", "timer", "sheet.submitted", "sheet.reopened", "sheets.locked",
    "result.released", "result.corrected", "grades.finalized",
})
PUBLIC_KINDS = frozenset({"result.released", "result.corrected", "grades.finalized"})
"""The public board (``/ws/board/{contest_id}``) shows released results only (PRODUCT.md: audience and big screens), so
its feed carries only what changes them. The stage (``venue.current``) and the statuses before a release
(``entry.status``) stay on the venue feeds: no transition takes an entry out of ``released``/``official``, so a
status event never changes what the board shows, and on a national benchmark day they were 5.35 million of the
board's 6.82 million frames (1.47 million releases). The board's snapshot matches
(:func:`public_entry_status`, no stage in :class:`VenueBrief`), so a snapshot plus the public events is the next
snapshot."""
CONSOLE_KINDS = DISPLAY_KINDS | {"presence", "help.called", "help.resolved"}
"""The venue console (``/ws/venue/{id}/console``): the chief judge sees the panel's tablets come and go, including
a tablet that went silent (announced by the server's sweep, ``judging.sheets.announce_silent``), and the panel's
help calls come and go, without polling."""
STAFF_KINDS = DISPLAY_KINDS | {"presence", "help.called", "help.resolved"}
KINDS_BY_AUDIENCE: dict[str, frozenset[str]] = {"display": DISPLAY_KINDS, "console": CONSOLE_KINDS,
                                                 "public": PUBLIC_KINDS, "staff": STAFF_KINDS}


def parse_data(kind: str, payload: dict[str, Any]) -> EventData | None:
    """The typed data of a logged event, or None for kinds the feed does not carry (or malformed payloads).

    Unknown payload fields are dropped here: only the Struct's own fields survive.
    """
    kind = KIND_ALIASES.get(kind, kind)
    try:
        data: EventData = msgspec.convert({**payload, "kind": kind}, EventData, strict=False)
    except msgspec.ValidationError:
        return None
    if isinstance(data, SheetSubmitted) and data.stage != "onsite":
        return None  # initial-review sheets are not part of any venue's progress
    return data


def venue_of(data: EventData) -> int | None:
    return getattr(data, "venue_id", None)


# ----------------------------------------------------------------------------------------- state
class EntryView(msgspec.Struct, kw_only=True):
    id: int
    code: str
    title: str
    team: str
    organization: str
    topic_type: str
    venue_id: int | None
    running_order: int | None
    status: Status = "scheduled"


class PanelJudge(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    is_chief: bool = False


class Result(msgspec.Struct, kw_only=True):
    entry_id: int
    score: float
    display: str
    judges: list[JudgeMark]
    n_valid: int
    trimmed: int
    version: int = 1
    corrected: bool = False
    reason: str = ""
    seq: int = 0
    """Seq of the event that released (or last corrected) this result."""


class VenueState(msgspec.Struct, tag="venue", kw_only=True):
    venue_id: int
    contest_id: int
    code: str
    name: str
    current_entry_id: int | None = None
    current_seq: int = 0
    """Seq of the event that put the current entry on stage (screens feature a result released after it)."""
    timer: TimerState
    panel: list[PanelJudge] = msgspec.field(default_factory=list)
    entries: dict[int, EntryView] = msgspec.field(default_factory=dict)
    progress: dict[int, list[int]] = msgspec.field(default_factory=dict)
    """Entry id -> person ids whose sheet arrived (sorted). Who, never what."""
    results: dict[int, Result] = msgspec.field(default_factory=dict)
    """Released (or official) results only."""
    ranks: dict[int, int] = msgspec.field(default_factory=dict)


class TopicTypeView(msgspec.Struct, kw_only=True):
    key: str
    name_zh: str
    name_en: str


class VenueBrief(msgspec.Struct, kw_only=True):
    """A venue as the public board names it (which entry is on stage is the venue feed's: :data:`PUBLIC_KINDS`)."""

    id: int
    code: str
    name: str


class Leaderboard(msgspec.Struct, tag="leaderboard", kw_only=True):
    contest_id: int
    name: str
    topic_types: list[TopicTypeView] = msgspec.field(default_factory=list)
    venues: dict[int, VenueBrief] = msgspec.field(default_factory=dict)
    entries: dict[int, EntryView] = msgspec.field(default_factory=dict)
    results: dict[int, Result] = msgspec.field(default_factory=dict)
    ranks: dict[int, int] = msgspec.field(default_factory=dict)
    """Rank of each released entry within its topic type."""


class PresenceView(msgspec.Struct, kw_only=True):
    account_id: int
    device_id: str
    venue_id: int | None
    person_id: int | None
    online: bool
    queued: int
    app_version: str
    last_seen_ms: int


class HelpView(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    name: str
    venue_id: int | None
    message: str


class StaffState(msgspec.Struct, tag="staff", kw_only=True):
    contest_id: int
    venues: dict[int, VenueState] = msgspec.field(default_factory=dict)
    presence: dict[str, PresenceView] = msgspec.field(default_factory=dict)
    """``"<account>:<device>"`` -> last heartbeat of a tablet."""
    help_calls: dict[int, HelpView] = msgspec.field(default_factory=dict)
    """Open help calls."""


State = VenueState | Leaderboard | StaffState


# ----------------------------------------------------------------------------------------- messages
class Hello(msgspec.Struct, tag="hello", tag_field="type", kw_only=True):
    feed: str
    server_ms: int
    heartbeat_s: float
    window: int
    """How many events back a client may resume from; older gaps get a snapshot."""


class Snapshot(msgspec.Struct, tag="snapshot", tag_field="type", kw_only=True):
    seq: int
    server_ms: int
    state: State


class Event(msgspec.Struct, tag="event", tag_field="type", kw_only=True):
    seq: int
    prev: int
    """Seq of the previous event on this feed: a client whose last seq is lower has missed something."""
    at_ms: int
    data: EventData


class Synced(msgspec.Struct, tag="synced", tag_field="type", kw_only=True):
    seq: int
    """The feed is complete up to this seq (end of a replay or snapshot); live events follow."""


class Ping(msgspec.Struct, tag="ping", tag_field="type", kw_only=True):
    t: int = 0


class Pong(msgspec.Struct, tag="pong", tag_field="type", kw_only=True):
    t: int
    server_ms: int


class Resume(msgspec.Struct, tag="resume", tag_field="type", kw_only=True):
    since: int


class Beat(msgspec.Struct, tag="beat", tag_field="type", kw_only=True):
    """A tablet's presence over its venue feed (what ``POST /api/judge/heartbeat`` carries, same limits): the
    device, its app version, how many sheets wait in its outbox, and whether the browser thinks it is online."""

    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    app_version: Annotated[str, msgspec.Meta(max_length=40)] = ""
    queued: Annotated[int, msgspec.Meta(ge=0, le=100000)] = 0
    online: bool = True


ServerMessage = Hello | Snapshot | Event | Synced | Ping | Pong
ClientMessage = Ping | Resume | Beat


URGENT_KINDS = frozenset({"result.released", "result.corrected"})
"""What a room waits for: the fan-out writes these at once instead of gathering events for its usual window."""


class _HeaderData(msgspec.Struct):
    kind: str = ""


class Header(msgspec.Struct):
    """What the fan-out needs, decoded once per message per process (not per subscriber): the two numbers, and
    the event's kind (an urgent one cuts the coalescing window short)."""

    seq: int = 0
    prev: int = 0
    data: _HeaderData | None = None

    @property
    def urgent(self) -> bool:
        return self.data is not None and self.data.kind in URGENT_KINDS


_encoder = msgspec.json.Encoder()
_server_decoder = msgspec.json.Decoder(ServerMessage)
_client_decoder = msgspec.json.Decoder(ClientMessage)
_header_decoder = msgspec.json.Decoder(Header)


def encode(message: ServerMessage | ClientMessage) -> bytes:
    return _encoder.encode(message)


def decode_server(data: bytes | str) -> ServerMessage:
    return _server_decoder.decode(data)


def decode_client(data: bytes | str) -> ClientMessage:
    return _client_decoder.decode(data)


def decode_header(data: bytes) -> Header:
    return _header_decoder.decode(data)


def kind_of(data: EventData) -> str:
    """The event kind of typed data (msgspec keeps the tag on the class, not the instance)."""
    return str(type(data).__struct_config__.tag)


def audience_sees(audience: str, data: EventData) -> bool:
    return kind_of(data) in KINDS_BY_AUDIENCE[audience]
