"""Scores validation, rubric sheets and panel aggregation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring

DATA = Path(__file__).parent / "data"


def test_scores_sizes_and_venues() -> None:
    obs = scoring.Scores(entry=[0, 0, 2], judge=[1, 0, 1], value=[80, 81.5, 90], venue=[0, 0, 1])
    assert (obs.n_entries, obs.n_judges, obs.n_venues) == (3, 2, 2)
    assert obs.entry_venue().tolist() == [0, -1, 1]
    assert obs.panel_size().tolist() == [2, 0, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(entry=[0, 1], judge=[0], value=[1.0, 2.0]), "same length"),
        (dict(entry=[0, 1], judge=[0, 0], value=[1.0, np.nan]), r"finite; row 1"),
        (dict(entry=[0, 0], judge=[3, 3], value=[1.0, 2.0]), r"duplicate score for \(entry 0, judge 3\)"),
        (dict(entry=[0, -1], judge=[0, 0], value=[1.0, 2.0]), "entry ids must be >= 0"),
        (dict(entry=[0.5], judge=[0], value=[1.0]), "integer ids"),
        (dict(entry=[[0]], judge=[0], value=[1.0]), "1-D"),
        (dict(entry=[0], judge=[0], value=[1.0], venue=[0, 1]), "venue must have one value"),
        (dict(entry=[3], judge=[0], value=[1.0], n_entries=2), r"n_entries=2"),
    ],
)
def test_scores_invalid(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scoring.Scores(**kwargs)  # type: ignore[arg-type]


def test_rubric_total_and_errors() -> None:
    r = scoring.Rubric({"选题": 15, "原因分析": 30, "对策": 30, "效果": 25}, step=0.5)
    assert r.total({"选题": 12.5, "原因分析": 27, "对策": 26, "效果": 20}) == 85.5
    assert r.total([15, 30, 30, 25]) == 100 == r.max_total
    with pytest.raises(ValueError, match="'效果' is missing"):
        r.total({"选题": 1, "原因分析": 1, "对策": 1})
    with pytest.raises(ValueError, match=r"'选题': 16\.0 is above its maximum 15"):
        r.total([16, 1, 1, 1])
    with pytest.raises(ValueError, match=r"'对策': 2\.3 is not a multiple of the step 0\.5"):
        r.total([1, 1, 2.3, 1])
    with pytest.raises(ValueError, match="below 0"):
        r.total([-1, 1, 1, 1])
    with pytest.raises(ValueError, match="unknown item 'x'"):
        r.total({"x": 1})
    with pytest.raises(ValueError, match="not a number"):
        r.total(["a", 1, 1, 1])  # type: ignore[list-item]
    assert r.totals([[1, 2, 3, 4], [15, 30, 30, 25]]).tolist() == [10, 100]
    with pytest.raises(ValueError, match="sheet row 1: item '原因分析'"):
        r.totals([[1, 2, 3, 4], [1, 31, 1, 1]])
    fine = scoring.Rubric([("a", 10, 0.1), ("b", 5)], step=1)
    assert fine.total([9.3, 5]) == pytest.approx(14.3)
    with pytest.raises(ValueError, match="appears twice"):
        scoring.Rubric([("a", 10), ("a", 5)])


def test_round_half_up() -> None:
    assert scoring.round_half_up([2.675, 2.665, -0.125, 84.285714, 0.005]).tolist() == [
        2.68,
        2.67,
        -0.13,
        84.29,
        0.01,
    ]
    assert np.isnan(scoring.round_half_up([np.nan])[0])
    assert scoring.round_half_up(8.785714285714286) == 8.79


def test_trimmed_hand_cases() -> None:
    assert scoring.trimmed_mean([80, 85, 86, 87, 99]) == 86.0
    assert scoring.trimmed_mean([80, 85, 86]) == pytest.approx(251 / 3)
    assert scoring.trimmed_mean([70, 80, 80, 90, 90, 90, 100], trim=2) == pytest.approx(260 / 3)
    assert scoring.trimmed_mean([80, np.nan, 85, 86, 87, 99]) == 86.0  # NaN (recused) ignored
    assert scoring.trimmed_mean([80, 85, 86, 87], min_for_trim=3) == 85.5


def test_panel_trimmed_vectorized_and_ties() -> None:
    # entry 0: tie at the top between judges 1 and 3 -> judge 3 (higher id) is dropped
    obs = scoring.Scores(
        entry=[0, 0, 0, 0, 0, 1, 1, 1],
        judge=[0, 1, 2, 3, 4, 0, 1, 2],
        value=[80, 90, 85, 90, 70, 60, 70, 80],
    )
    res = scoring.panel_trimmed(obs)
    assert res.score.tolist() == [85.0, 70.0]
    assert res.dropped.tolist() == [False, False, False, True, True, False, False, False]
    assert scoring.panel_median(obs).score.tolist() == [85.0, 70.0]
    assert scoring.panel_mean(obs).score.tolist() == [83.0, 70.0]


def test_recused_marks_never_count() -> None:
    base = dict(entry=[0, 0, 0, 0, 0, 0], judge=[0, 1, 2, 3, 4, 5], value=[80, 81, 82, 83, 84, 10])
    rec = scoring.Scores(**base, recused=[False] * 5 + [True])  # type: ignore[arg-type]
    assert scoring.panel_trimmed(rec).score[0] == 82.0
    assert scoring.panel_mean(rec).score[0] == 82.0
    assert scoring.calibrate(rec, "calibrated").score[0] == pytest.approx(82.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 100, allow_nan=False), st.integers(1, 11))
def test_trimmed_of_identical_scores_is_that_score(x: float, k: int) -> None:
    obs = scoring.Scores(entry=[0] * k, judge=list(range(k)), value=[x] * k)
    assert scoring.panel_trimmed(obs).score[0] == pytest.approx(x)
    assert scoring.trimmed_mean([x] * k) == pytest.approx(x)


def test_skating_official_trimmed_means_reproduced() -> None:
    """R4: ISU panel scores are the trimmed mean (drop 1 high, 1 low) of 9 marks, to 0.01."""
    rows = list(csv.DictReader((DATA / "skating_pcs_by_judge_subset.csv").open()))
    panel = {r["performance_id"]: r for r in csv.DictReader((DATA / "skating_pcs_panel_subset.csv").open())}
    perfs = sorted(panel)
    pidx = {p: i for i, p in enumerate(perfs)}
    judges = sorted({r["judge_pos"] for r in rows})
    jidx = {j: i for i, j in enumerate(judges)}
    for comp in ("SS", "TR", "PE", "CO", "IN"):
        obs = scoring.Scores(
            entry=[pidx[r["performance_id"]] for r in rows],
            judge=[jidx[r["judge_pos"]] for r in rows],
            value=[float(r[comp]) for r in rows],
        )
        got = scoring.round_half_up(scoring.panel_trimmed(obs, trim=1).score)
        want = np.array([float(panel[p][comp]) for p in perfs])
        assert np.array_equal(got, want), comp


def test_diagnose_survives_a_single_observation() -> None:
    obs = scoring.Scores(entry=np.array([0]), judge=np.array([0]), value=np.array([70.0]))
    report = scoring.diagnose(obs, scoring.calibrate(obs, method="trimmed"))
    assert report.flags == [] or all(f.subject in ("judge", "venue", "entry") for f in report.flags)
