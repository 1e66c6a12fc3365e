"""Projections: the state a screen shows, folded from events. Pure functions over the protocol Structs.

The same folding runs on the server (tests, ``podium watch``) and, in ``static/js/*.js``, in the browser: a
screen keeps a model, applies each event to it and renders the model — never the delta alone. The invariant
"only released values" is enforced here too: a result is kept only while its entry is released or official.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from live.protocol import (
    RELEASED,
    EntryStatus,
    EntryView,
    EventData,
    GradesFinalized,
    HelpCalled,
    HelpResolved,
    HelpView,
    Leaderboard,
    PresenceData,
    PresenceView,
    Result,
    ResultCorrected,
    ResultReleased,
    SheetSubmitted,
    StaffState,
    State,
    TimerState,
    VenueCurrent,
    VenueState,
)


def competition_ranks(results: dict[int, Result], among: list[int] | None = None) -> dict[int, int]:
    """Rank by displayed score, highest first; equal displayed scores share a rank (1, 2, 2, 4)."""
    ids = [i for i in (results if among is None else among) if i in results]
    ordered = sorted(ids, key=lambda i: (-Decimal(results[i].display), i))
    ranks: dict[int, int] = {}
    for pos, entry_id in enumerate(ordered):
        prev = ordered[pos - 1] if pos else None
        if prev is not None and results[prev].display == results[entry_id].display:
            ranks[entry_id] = ranks[prev]
        else:
            ranks[entry_id] = pos + 1
    return ranks


def result_of(data: ResultReleased | ResultCorrected, seq: int = 0) -> Result:
    return Result(entry_id=data.entry_id, score=data.score, display=data.display, judges=list(data.judges),
                  n_valid=data.n_valid, trimmed=data.trimmed, version=data.version,
                  corrected=isinstance(data, ResultCorrected), reason=data.reason, seq=seq)


def _apply_entries(entries: dict[int, EntryView], results: dict[int, Result], data: EventData, seq: int) -> bool:
    """Status and result changes shared by every projection; True when results changed (ranks are stale)."""
    if isinstance(data, EntryStatus):
        entry = entries.get(data.entry_id)
        if entry is None:
            return False
        entry.status = data.status
        if data.status not in RELEASED:
            return results.pop(data.entry_id, None) is not None
        return False
    if isinstance(data, ResultReleased | ResultCorrected):
        entry = entries.get(data.entry_id)
        if entry is None:
            return False
        # A correction after the grade list was approved is no longer the approved result: released again until a
        # new list is approved (the approved run is outdated by it).
        if entry.status != "official" or isinstance(data, ResultCorrected):
            entry.status = "released"
        results[data.entry_id] = result_of(data, seq)
        return True
    if isinstance(data, GradesFinalized):
        targets = data.entry_ids or list(entries)
        for entry_id in targets:
            entry = entries.get(entry_id)
            if entry is not None and entry.status == "released":
                entry.status = "official"
    return False


def apply_venue(state: VenueState, data: EventData, seq: int = 0) -> None:
    if isinstance(data, VenueCurrent):
        if data.venue_id == state.venue_id:
            state.current_entry_id = data.entry_id
            state.current_seq = seq
    elif isinstance(data, TimerState):
        if data.venue_id == state.venue_id:
            state.timer = msgspec.structs.replace(data)
    elif isinstance(data, SheetSubmitted):
        if data.entry_id in state.entries and any(j.person_id == data.person_id for j in state.panel):
            done = set(state.progress.get(data.entry_id, []))
            done.add(data.person_id)
            state.progress[data.entry_id] = sorted(done)
    elif _apply_entries(state.entries, state.results, data, seq):
        state.ranks = competition_ranks(state.results)


def apply_board(board: Leaderboard, data: EventData, seq: int = 0) -> None:
    """The public feed's events (``live.protocol.PUBLIC_KINDS``: results and the approved grade list)."""
    if _apply_entries(board.entries, board.results, data, seq):
        board.ranks = board_ranks(board)


def board_ranks(board: Leaderboard) -> dict[int, int]:
    ranks: dict[int, int] = {}
    for tt in board.topic_types:
        ranks.update(competition_ranks(board.results, [e.id for e in board.entries.values() if e.topic_type == tt.key]))
    return ranks


def apply_staff(state: StaffState, data: EventData, seq: int = 0) -> None:
    if isinstance(data, HelpCalled):
        state.help_calls[data.help_call_id] = HelpView(id=data.help_call_id, account_id=data.account_id,
                                                       name=data.name, venue_id=data.venue_id, message=data.message)
        return
    if isinstance(data, HelpResolved):
        state.help_calls.pop(data.help_call_id, None)
        return
    if isinstance(data, PresenceData):
        key = f"{data.account_id}:{data.device_id}"
        state.presence[key] = PresenceView(
            account_id=data.account_id, device_id=data.device_id, venue_id=data.venue_id, person_id=data.person_id,
            online=data.online, queued=data.queued, app_version=data.app_version, last_seen_ms=data.last_seen_ms,
        )
        return
    for venue in state.venues.values():
        apply_venue(venue, data, seq)


def apply(state: State, data: EventData, seq: int = 0) -> None:
    """Apply one event's data (logged at ``seq``) to any projection, in place."""
    if isinstance(state, VenueState):
        apply_venue(state, data, seq)
    elif isinstance(state, Leaderboard):
        apply_board(state, data, seq)
    else:
        apply_staff(state, data, seq)


def copy_state(state: State) -> State:
    return msgspec.convert(msgspec.to_builtins(state), type(state))


def fold(state: State, events: list[tuple[int, EventData]]) -> State:
    """A copy of ``state`` with ``(seq, data)`` events applied in order."""
    copy = copy_state(state)
    for seq, data in events:
        apply(copy, data, seq)
    return copy
