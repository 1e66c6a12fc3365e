"""The contest-day benchmark's own knobs: a scratch database next to the one given, and the day's tempo."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bench.contest_day import (
    BUSY_TICK_S,
    PROFILES,
    REAL_CYCLE_S,
    MachineBusy,
    day_profile,
    parse_args,
    scratch_database,
)


@pytest.mark.parametrize("url", [
    "postgresql+asyncpg://podium:s3cret@127.0.0.1:5432/podium",
    "postgresql+asyncpg://podium:s3cret@/podium?host=/var/run/postgresql",
])
def test_scratch_database_keeps_server_user_and_options(url: str) -> None:
    new, name = scratch_database(url, "podium_day_")
    a, b = make_url(url), make_url(new)
    assert name.startswith("podium_day_") and b.database == name != a.database
    assert (b.drivername, b.username, b.password, b.host, b.port, dict(b.query)) == \
        (a.drivername, a.username, a.password, a.host, a.port, dict(a.query))
    assert scratch_database(url, "podium_day_")[1] != name


def test_tempo_stretches_the_schedule_only() -> None:
    base = dict(PROFILES["national"])
    _, prof = day_profile(parse_args(["--profile", "national", "--tempo", "2.5", "--viewers", "10"]))
    for key in ("presentation_s", "scoring_s", "stagger_s"):
        assert prof[key] == pytest.approx(2.5 * base[key])
    assert prof["viewers"] == 10 and prof["venues"] == base["venues"]
    assert prof["compression"] == round(REAL_CYCLE_S / (2.5 * (base["presentation_s"] + base["scoring_s"])))
    _, same = day_profile(parse_args(["--profile", "national"]))
    assert same["compression"] > prof["compression"]
    assert PROFILES["national"] == base  # the table itself is not changed


def test_each_profile_has_its_own_tempo_and_the_command_line_overrides_it() -> None:
    base = PROFILES["national"]
    _, national = day_profile(parse_args(["--profile", "national"]))
    assert national["tempo"] == 2.0 and national["compression"] == 90  # an entry's turn: 1/90 of a real one
    assert national["scoring_s"] == pytest.approx(2.0 * base["scoring_s"])
    _, stress = day_profile(parse_args(["--profile", "national", "--tempo", "1"]))
    assert stress["tempo"] == 1.0 and stress["compression"] == 180
    for args in (["--profile", "provincial"], ["--quick"]):
        assert day_profile(parse_args(args))[1]["tempo"] == 1.0


def test_machine_busy_reads_the_whole_machine() -> None:
    import os
    import time

    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat on this system")
    busy = MachineBusy()
    busy.start()
    deadline = time.monotonic() + 20 * BUSY_TICK_S
    while len(busy.samples) < 3 and time.monotonic() < deadline:  # keep one core busy
        pass
    out = busy.stop()
    assert out is not None and out["n"] >= 3
    assert 0.0 <= out["saturated_share"] <= 1.0 and 0.0 < out["mean"] <= 1.0


def test_machine_busy_counts_idle_and_iowait_as_idle_and_steal_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripted /proc/stat counters (user nice system idle iowait irq softirq steal): 4 cores' ticks per step."""
    steps = iter([
        [0, 0, 0, 0, 0, 0, 0, 0],
        [100, 0, 0, 0, 0, 0, 0, 0],     # all busy (user)
        [100, 0, 0, 50, 50, 0, 0, 0],   # all idle (idle + iowait)
        [150, 0, 20, 50, 60, 0, 0, 20],  # 90 of 100 busy: 50 user, 20 system, 20 stolen; 10 iowait
    ])
    samples = [next(steps) for _ in range(4)]
    feed = iter((sum(v), v[3] + v[4]) for v in samples)
    monkeypatch.setattr(MachineBusy, "_times", staticmethod(lambda: next(feed, None)))
    monkeypatch.setattr("bench.contest_day.BUSY_TICK_S", 0.001)
    busy = MachineBusy()
    busy.start()
    busy._thread.join(timeout=5)  # it ends when the counters run out
    assert busy.samples == pytest.approx([1.0, 0.0, 0.9])
    out = busy.stop()
    assert out == {"mean": pytest.approx(0.633, abs=1e-3), "saturated_share": pytest.approx(0.333, abs=1e-3), "n": 3}


@pytest.mark.parametrize("tempo", ["0", "-1", "nan"])
def test_tempo_must_be_positive(tempo: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--tempo", tempo])


def test_board_viewers_get_a_process_of_their_own_on_the_national_day_or_when_asked() -> None:
    _, prof = day_profile(parse_args(["--profile", "national"]))
    assert prof["board_process"] is True and prof["loop"] == "uvloop"  # not pinned: a process of their own
    _, shared = day_profile(parse_args(["--profile", "national", "--no-board-process"]))
    assert shared["board_process"] is False
    for args in (["--profile", "provincial"], ["--quick"]):  # pinned to one core: one process
        assert day_profile(parse_args(args))[1]["board_process"] is False
    _, own = day_profile(parse_args(["--profile", "provincial", "--board-process", "--loop", "asyncio"]))
    assert own["board_process"] is True and own["loop"] == "asyncio"


def test_board_process_answers_its_protocol_and_ends() -> None:
    """The board process's round trip (start, mark, count, stop) with no socket to open: it answers each step
    and exits after ``stop`` (a real day runs in ``make bench-ci``, which fails on any missed screen receipt)."""
    import asyncio

    from bench.contest_day import BoardProcess

    async def go() -> tuple[int, int, dict[str, object], int | None]:
        board = BoardProcess("asyncio")
        opened = await board.call("start", [])
        await board.call("mark")
        count = await board.call("count")
        result = await board.call("stop")
        await board.close()
        return opened, count, result, board.proc.exitcode

    opened, count, result, code = asyncio.run(go())
    assert (opened, count, code) == (0, 0, 0)
    assert result["arrivals"] == {} and result["errors"] == [] and result["closed"] == 0
    assert isinstance(result["cpu_s"], float) and result["loop_lag"]["n"] >= 0


def test_consoles_skip_what_control_js_applies_itself() -> None:
    """The day's venue consoles re-read on every feed message but on-site sheets, the next entry on stage, "all
    sheets in", "released", released results and tablets' presence (``applies``), the rule of control.js
    ``applyLocally``; checked on frames as the server encodes them."""
    from bench.contest_day import applies
    from live.protocol import EntryStatus, Event, PresenceData, ResultReleased, SheetSubmitted, VenueCurrent, encode

    def frame(data: object) -> bytes:
        return encode(Event(seq=7, prev=6, at_ms=0, data=data))  # type: ignore[arg-type]

    assert applies(frame(SheetSubmitted(entry_id=3, venue_id=1, person_id=9, version=1, stage="onsite")))
    assert applies(frame(SheetSubmitted(entry_id=3, venue_id=1, person_id=9, version=2, stage="onsite")))
    assert not applies(frame(SheetSubmitted(entry_id=3, venue_id=1, person_id=9, version=1, stage="initial")))
    assert applies(frame(EntryStatus(entry_id=3, venue_id=1, status="unofficial")))
    assert applies(frame(EntryStatus(entry_id=3, venue_id=1, status="released")))
    assert applies(frame(EntryStatus(entry_id=3, venue_id=1, status="scoring")))
    for status in ("official", "absent", "scheduled"):
        assert not applies(frame(EntryStatus(entry_id=3, venue_id=1, status=status)))
    released = ResultReleased(entry_id=3, venue_id=1, score=88.5, display="88.50", judges=[], n_valid=7,
                              trimmed=2)
    assert applies(frame(released))
    assert applies(frame(VenueCurrent(venue_id=1, entry_id=3)))  # when a panel is shown (Console.frame checks)
    assert applies(frame(EntryStatus(entry_id=3, venue_id=1, status="presenting")))
    for online in (True, False):
        assert applies(frame(PresenceData(account_id=4, person_id=9, venue_id=1, device_id="pad", online=online)))


def test_console_reads_an_event_frames_seq() -> None:
    from bench.contest_day import event_seq
    from live.protocol import EntryStatus, Event, encode

    for seq in (1, 9, 123456):
        data = EntryStatus(entry_id=3, venue_id=1, status="scoring")
        assert event_seq(encode(Event(seq=seq, prev=seq - 1, at_ms=5, data=data))) == seq


def test_consoles_are_on_unless_left_out() -> None:
    _, prof = day_profile(parse_args(["--profile", "provincial"]))
    assert prof["consoles"] is True and prof["console_rereads_all"] is False
    _, none = day_profile(parse_args(["--profile", "provincial", "--no-consoles"]))
    assert none["consoles"] is False
    _, old = day_profile(parse_args(["--profile", "provincial", "--console-rereads-all"]))
    assert old["console_rereads_all"] is True
