"""Combination, grades, grade probabilities and diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring

from ._sim import simulate


def test_combine() -> None:
    a, b = np.array([80.0, 90.0]), np.array([70.0, np.nan])
    np.testing.assert_allclose(scoring.combine({"i": a, "o": b}, {"i": 0.4, "o": 0.6})[0], 74.0)
    assert np.isnan(scoring.combine({"i": a, "o": b}, {"i": 0.4, "o": 0.6})[1])
    with pytest.raises(ValueError, match="same stages"):
        scoring.combine({"i": a}, {"o": 1.0})
    with pytest.raises(ValueError, match="same length"):
        scoring.combine({"i": a, "o": np.ones(3)}, {"i": 1.0, "o": 1.0})


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_combine_weight_one_is_identity(xs: list[float]) -> None:
    x = np.array(xs)
    assert np.array_equal(scoring.combine({"onsite": x}, {"onsite": 1.0}), x)


def test_quota_grades_floor_nonpresenters_onward() -> None:
    final = np.array([95, 91, 88, 85, 84, 80, 75, 59, np.nan, 70.0])
    rule = scoring.Quotas(shares=(0.2, 0.3, 0.3), labels=("一等奖", "二等奖", "三等奖"), floor=60, onward=2)
    g = scoring.assign_grades(final, rule, presented=[1, 1, 1, 1, 1, 1, 1, 1, 0, 1])
    # 9 presenters: cumulative counts round_half_up(9*[.2,.5,.8]) = 2, 5, 7
    assert g.label == [
        "一等奖",
        "一等奖",
        "二等奖",
        "二等奖",
        "二等奖",
        "三等奖",
        "三等奖",
        "无等级",
        "优秀奖",
        "无等级",
    ]
    assert g.onward.tolist() == [True, True] + [False] * 8
    assert g.counts()["优秀奖"] == 1


def test_tie_rules_at_boundary() -> None:
    final = np.array([90.0, 85.004, 84.996, 80.0])  # entries 1 and 2 both display 85.00
    inc = scoring.assign_grades(final, scoring.Quotas(shares=(0.5,), labels=("A",), floor=None))
    exc = scoring.assign_grades(
        final, scoring.Quotas(shares=(0.5,), labels=("A",), floor=None, ties="exclude")
    )
    order = scoring.assign_grades(
        final,
        scoring.Quotas(shares=(0.25, 0.25), labels=("A", "B"), floor=None, ties="order"),
        tiebreak=[0, 1, 2, 0],
    )
    assert inc.label == ["A", "A", "A", "无等级"]
    assert exc.label == ["A", "无等级", "无等级", "无等级"]
    assert order.label == ["A", "无等级", "B", "无等级"]  # tiebreak puts entry 2 ahead of entry 1


def test_thresholds() -> None:
    rule = scoring.Thresholds(cuts=(90, 85, 80), labels=("I", "II", "III"), floor=None)
    g = scoring.assign_grades([90.0, 89.999, 85.0, 80.0, 79.995, 79.994], rule)
    assert g.label == ["I", "I", "II", "III", "III", "无等级"]  # compared as displayed (2 decimals)
    with pytest.raises(ValueError, match="strictly decreasing"):
        scoring.Thresholds(cuts=(80, 85))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=80, unique=True),
    st.lists(st.floats(0.0, 0.4), min_size=1, max_size=3),
    st.integers(1, 3),
)
def test_grade_counts_match_quota_rule(xs: list[float], shares: list[float], n_groups: int) -> None:
    if sum(shares) > 1:
        return
    x = np.array(xs)
    group = np.arange(x.size) % n_groups
    rule = scoring.Quotas(
        shares=shares,
        labels=tuple(f"g{k}" for k in range(len(shares))),
        floor=None,
        ties="order",
        decimals=None,
    )
    g = scoring.assign_grades(x, rule, group=group)
    for gid in range(n_groups):
        sel = group == gid
        n = int(sel.sum())
        cum = np.floor(n * np.cumsum(shares) + 0.5 + 1e-9).astype(int)
        want = np.diff(np.r_[0, cum])
        got = np.bincount(g.code[sel], minlength=len(shares) + 2)[: len(shares)]
        assert got.tolist() == want.tolist()
        # and graded entries are exactly the best ones
        if cum[-1]:
            best = np.sort(x[sel])[::-1][: cum[-1]]
            assert set(x[sel][g.code[sel] < len(shares)]) == set(best)


def test_grade_probabilities_and_boundary_list() -> None:
    obs, _ = simulate(2, n_venues=4, per_venue=20, k=5, shared=1)
    fit = scoring.calibrate(obs)
    rule = scoring.Quotas(shares=(0.1, 0.2, 0.3), floor=None)
    p1 = scoring.grade_probabilities(fit, None, rule, draws=300, seed=1)
    p2 = scoring.grade_probabilities(fit, None, rule, draws=300, seed=1)
    assert p1.shape == (obs.n_entries, len(scoring.grade_codes(rule)))
    np.testing.assert_allclose(p1.sum(axis=1), 1.0)
    assert np.array_equal(p1, p2)
    best = np.argmax(p1, axis=1)
    point = scoring.assign_grades(fit.score, rule).code
    assert np.mean(best == point) > 0.8
    review = scoring.boundary_review(p1)
    assert np.all(p1[review].max(axis=1) < 0.8)
    assert np.all(np.delete(p1, review, axis=0).max(axis=1) >= 0.8)
    # combined stages and a panel method (bootstrap)
    trimmed = scoring.calibrate(obs, "trimmed")
    pc = scoring.grade_probabilities({"a": fit, "b": trimmed}, {"a": 0.5, "b": 0.5}, rule, draws=200, seed=3)
    np.testing.assert_allclose(pc.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="same stages"):
        scoring.grade_probabilities({"a": fit}, {"b": 1.0}, rule)


def test_diagnose_flags_injected_erratic_and_compressing_judges() -> None:
    rng = np.random.default_rng(4)
    nv, per, k = 6, 40, 6
    ne = nv * per
    venue = np.arange(ne) // per
    q = 80 + 5 * rng.standard_normal(ne)
    ent = np.repeat(np.arange(ne), k)
    jud = (venue[:, None] * k + np.arange(k)).ravel()
    noise = np.where(jud == 3, 6.0, 1.5)
    slope = np.where(jud == 10, 0.3, 1.0)
    y = 80 + slope * (q[ent] - 80) + rng.normal(0, 1, ent.size) * noise
    y[(jud == 20) & (ent % 13 == 0)] += 12  # deviation cases
    obs = scoring.Scores(ent, jud, y, venue[ent])
    coi = (jud == 20) & (ent % 13 == 0)
    rep = scoring.diagnose(obs, scoring.calibrate(obs), coi=coi)
    kinds = {(f.id, f.kind) for f in rep.flags if f.subject == "judge"}
    assert (3, "erratic") in kinds
    assert (10, "compressing") in kinds
    assert (20, "deviation_cases") in kinds and (20, "conflict_of_interest") in kinds
    clean = set(range(nv * k)) - {3, 10, 20}
    assert len({j for j, _ in kinds} & clean) <= 1
    for f in rep.flags:
        assert f.meaning and (f.subject != "judge" or f.q_value <= 0.05)
    assert rep.venues is not None
    assert np.all((rep.venues.icc_1 > 0) & (rep.venues.icc_1 < rep.venues.icc_k))
    assert np.all((rep.venues.kendall_w > 0) & (rep.venues.kendall_w <= 1))


def test_icc_and_kendall_w_hand_computed() -> None:
    # 4 entries x 3 judges; judge 2 ties entries 0 and 1
    mat = np.array([[9, 8, 7], [7, 6, 7], [5, 5, 3], [2, 4, 1]], dtype=float)
    n, k = mat.shape
    ent = np.repeat(np.arange(n), k)
    jud = np.tile(np.arange(k), n)
    obs = scoring.Scores(ent, jud, mat.ravel(), np.zeros(n * k, dtype=int))
    rep = scoring.diagnose(obs, scoring.calibrate(obs, "mean"))
    assert rep.venues is not None
    g = mat.mean()
    msr = k * np.sum((mat.mean(1) - g) ** 2) / (n - 1)
    msc = n * np.sum((mat.mean(0) - g) ** 2) / (k - 1)
    mse = np.sum((mat - mat.mean(1)[:, None] - mat.mean(0)[None, :] + g) ** 2) / ((n - 1) * (k - 1))
    icc1 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    assert rep.venues.icc_1[0] == pytest.approx(icc1)
    # ranks (ascending): j0: 4,3,2,1  j1: 4,3,2,1  j2: 3.5,3.5,2,1 -> R = 11.5, 9.5, 6, 3
    R = np.array([11.5, 9.5, 6.0, 3.0])
    S = np.sum((R - R.mean()) ** 2)
    W = 12 * S / (k**2 * (n**3 - n) - k * 6)  # one tie group of 2: T = 2^3 - 2 = 6
    assert rep.venues.kendall_w[0] == pytest.approx(W)


def test_engine_version_and_imports_are_pure() -> None:
    import subprocess
    import sys

    assert isinstance(scoring.ENGINE_VERSION, str)
    code = (
        "import sys, scoring; "
        "print([m for m in ('litestar', 'sqlalchemy', 'judging', 'live', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
