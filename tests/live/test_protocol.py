"""The protocol and projections without a database: properties over random event sequences, the fan-out's
slow-client policy and encode-once, the panel result."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from live.fanout import Hub, Listener
from live.projection import apply, copy_state, fold
from live.protocol import (
    RELEASED,
    EntryView,
    Event,
    JudgeMark,
    Leaderboard,
    PanelJudge,
    Snapshot,
    TimerState,
    TopicTypeView,
    VenueBrief,
    VenueState,
    audience_sees,
    decode_server,
    encode,
    parse_data,
)
from live.results import PanelMark, outliers, panel_outcome

VENUE = 1
ENTRIES = [10, 11, 12, 13]
PANEL = [100, 101, 102, 103, 104]
SECRET = 4242.125  # a "sheet value" a careless writer might put into a payload; must never reach a screen


def venue_state() -> VenueState:
    return VenueState(
        venue_id=VENUE, contest_id=1, code="V1", name="第一分会场", timer=TimerState(venue_id=VENUE),
        panel=[PanelJudge(person_id=p, name=f"评委{p}", is_chief=p == PANEL[0]) for p in PANEL],
        entries={e: EntryView(id=e, code=f"E{e}", title="t", team="team", organization="org", topic_type="innovation",
                              venue_id=VENUE, running_order=i) for i, e in enumerate(ENTRIES)},
    )


def board_state() -> Leaderboard:
    v = venue_state()
    return Leaderboard(contest_id=1, name="c", topic_types=[TopicTypeView(key="innovation", name_zh="创新型",
                                                                              name_en="Innovation")],
                       venues={VENUE: VenueBrief(id=VENUE, code="V1", name="v")}, entries=v.entries)


totals = st.decimals(min_value=Decimal(50), max_value=Decimal(100), places=1).map(lambda d: f"{d:.2f}")
entry_ids = st.sampled_from(ENTRIES)
leak = st.fixed_dictionaries({}, optional={"total": st.just(SECRET), "values": st.just({"a": SECRET}),
                                           "score": st.just(SECRET)})


def _result_payload(entry: int, marks: list[str]) -> dict[str, Any]:
    out = panel_outcome([PanelMark(p, f"评委{p}", Decimal(t)) for p, t in zip(PANEL, marks, strict=False)])
    return {"entry_id": entry, "venue_id": VENUE, **msgspec.to_builtins(out)}


raw_event = st.one_of(
    st.builds(lambda e, x: ("venue.current", {"venue_id": VENUE, "entry_id": e, **x}), st.none() | entry_ids, leak),
    st.builds(lambda e, s, x: ("entry.status", {"entry_id": e, "venue_id": VENUE, "status": s, **x}), entry_ids,
              st.sampled_from(["scheduled", "presenting", "scoring", "unofficial", "absent", "withdrawn"]), leak),
    st.builds(lambda r, t, x: ("timer", {"venue_id": VENUE, "running": r, "started_at_ms": t if r else None,
                                         "elapsed_ms": 1000, **x}), st.booleans(), st.integers(0, 10**13), leak),
    st.builds(lambda e, p, x: ("sheet.submitted", {"entry_id": e, "venue_id": VENUE, "person_id": p, "version": 1,
                                                   "stage": "onsite", **x}), entry_ids, st.sampled_from(PANEL), leak),
    st.builds(lambda e, m, c: ("result.corrected" if c else "result.released", _result_payload(e, m)),
              entry_ids, st.lists(totals, min_size=3, max_size=5), st.booleans()),
    st.builds(lambda es: ("grades.finalized", {"contest_id": 1, "entry_ids": es}), st.lists(entry_ids, max_size=2)),
    st.builds(lambda x: ("sheet.values", {"entry_id": 10, "person_id": 100, **x}), leak),
    st.builds(lambda x: ("presence", {"account_id": 7, "online": False, **x}), leak),
)


def _typed(raw: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, Any]]:
    out = []
    for n, (kind, payload) in enumerate(raw, start=1):
        data = parse_data(kind, payload)
        if data is not None:
            out.append((n, data))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(raw_event, max_size=40), st.data())
def test_snapshot_plus_events_equals_events_since_zero(raw: list[tuple[str, dict[str, Any]]], data: Any) -> None:
    events = _typed(raw)
    cut = data.draw(st.integers(0, len(events)))
    for initial in (venue_state(), board_state()):
        full = fold(initial, events)
        at_cut = fold(initial, events[:cut])
        # The snapshot travels as JSON (int dict keys become strings and back).
        wire = encode(Snapshot(seq=events[cut - 1][0] if cut else 0, server_ms=0, state=at_cut))
        snap = decode_server(wire)
        assert isinstance(snap, Snapshot)
        assert fold(snap.state, events[cut:]) == full


@settings(max_examples=150, deadline=None)
@given(st.lists(raw_event, max_size=40))
def test_no_unreleased_value_on_display_or_public_feeds(raw: list[tuple[str, dict[str, Any]]]) -> None:
    venue, board = venue_state(), board_state()
    for seq, data in _typed(raw):
        for audience, state in (("display", venue), ("public", board)):
            if not audience_sees(audience, data):
                continue
            wire = encode(Event(seq=seq, prev=seq - 1, at_ms=0, data=data))
            assert str(SECRET).encode() not in wire, wire
            apply(state, data, seq)
            snapshot = encode(Snapshot(seq=seq, server_ms=0, state=copy_state(state)))
            assert str(SECRET).encode() not in snapshot
            # Values appear only as released results, and only while their entry is released or official.
            for entry_id in state.results:
                assert state.entries[entry_id].status in RELEASED
            if data.__struct_config__.tag in ("sheet.submitted", "timer", "venue.current", "entry.status"):
                assert b'"total"' not in wire and b'"values"' not in wire
    assert not audience_sees("public", parse_data("sheet.submitted", {"entry_id": 10, "venue_id": 1,
                                                                        "person_id": 100}))  # type: ignore[arg-type]


def test_initial_review_sheets_are_not_venue_progress() -> None:
    assert parse_data("sheet.submitted", {"entry_id": 1, "venue_id": 1, "person_id": 2, "stage": "initial"}) is None


def test_panel_result_trims_one_high_one_low_from_five_and_ignores_recused() -> None:
    marks = [PanelMark(1, "a", Decimal("80")), PanelMark(2, "b", Decimal("85.5")), PanelMark(3, "c", Decimal("86")),
             PanelMark(4, "d", Decimal("87")), PanelMark(5, "e", Decimal("99"))]
    out = panel_outcome(marks)
    assert out.display == "86.17" and out.trimmed == 1 and out.n_valid == 5
    assert [j.dropped for j in out.judges] == ["low", None, None, None, "high"]
    out = panel_outcome([*marks[:4], PanelMark(5, "e", Decimal("99"), recused=True)])
    assert out.n_valid == 4 and out.trimmed == 0 and out.display == "84.63"  # 338.5 / 4 = 84.625 -> half up
    assert out.judges[-1] == JudgeMark(person_id=5, name="e", total="99", dropped=None, recused=True)
    tied = panel_outcome([PanelMark(i, str(i), Decimal("90")) for i in range(5)])
    assert sorted(j.dropped or "" for j in tied.judges) == ["", "", "", "high", "low"] and tied.display == "90.00"


def test_outlier_warning_names_the_far_judge_only() -> None:
    marks = [PanelMark(i, f"j{i}", Decimal(t)) for i, t in enumerate(["85", "86", "84.5", "87", "62"])]
    warned = outliers(marks)
    assert [w.person_id for w in warned] == [4] and warned[0].deviation < -20
    assert outliers(marks[:4]) == []


def test_slow_listener_is_cut_off_without_slowing_the_others() -> None:
    async def go() -> None:
        hub = Hub(channels=None, max_queue=8)  # type: ignore[arg-type]
        slow, fast = Listener("c", 8), Listener("c", 8)
        hub._listeners["c"] = {slow, fast}
        got: list[bytes] = []
        for seq in range(1, 21):
            message = encode(Event(seq=seq, prev=seq - 1, at_ms=0,
                                   data=TimerState(venue_id=1, elapsed_ms=seq)))  # type: ignore[arg-type]
            hub.deliver("c", message)
            item = await fast.get()
            assert item is not None
            got.append(item[2])
            assert item[2] is message  # the same bytes object: encoded once, not per subscriber
        assert slow.overflowed and await slow.get() is None
        assert not fast.overflowed and len(got) == 20
        assert hub.received == 20

    asyncio.run(go())


def test_results_become_official_and_a_later_correction_is_released_again() -> None:
    """released -> official when the grade list is approved; a correction after that is no longer the approved
    result (it outdated the approved list): the screens show it as released until a new list is approved."""
    from live.projection import apply_board
    from live.protocol import EntryView, GradesFinalized, Leaderboard, ResultCorrected, ResultReleased

    board = Leaderboard(contest_id=1, name="c", entries={
        i: EntryView(id=i, code=f"E{i}", title="t", team="", organization="", topic_type="x", venue_id=1,
                     running_order=i, status="scoring") for i in (1, 2, 3)})
    common = {"venue_id": 1, "judges": [], "n_valid": 5, "trimmed": 1}
    for i, score in ((1, 80.0), (2, 70.0)):
        apply_board(board, ResultReleased(entry_id=i, score=score, display=f"{score:.2f}", **common), seq=i)
    apply_board(board, GradesFinalized(contest_id=1, entry_ids=[1, 2]), seq=3)
    assert {i: e.status for i, e in board.entries.items()} == {1: "official", 2: "official", 3: "scoring"}
    apply_board(board, ResultCorrected(entry_id=2, score=75.0, display="75.00", version=2, reason="r", **common),
                seq=4)
    assert {i: e.status for i, e in board.entries.items()} == {1: "official", 2: "released", 3: "scoring"}
    assert board.results[2].display == "75.00"
